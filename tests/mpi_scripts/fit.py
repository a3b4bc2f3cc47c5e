"""``mpiexec -n N python -m mpi4py tests/mpi_scripts/fit.py SPEC_JSON OUT.npz``: one
data-parallel fit of ``cases.spec``; rank 0 writes its parameters, its history and the largest
difference of any rank's parameters from its own to ``OUT.npz``."""

import json
import sys

import numpy as np
from mpi4py import MPI

import cases


def main():
    s, out = json.loads(sys.argv[1]), sys.argv[2]
    net = cases.fit(s, distributed="mpi")
    mine = cases.flat(net)
    comm = MPI.COMM_WORLD
    every = comm.gather(mine, root=0)
    if comm.Get_rank() == 0:
        spread = max(float(np.max(np.abs(p - mine))) for p in every)
        np.savez(out, params=mine, cost=np.asarray(net.history_["cost"]), spread=spread,
                 size=comm.Get_size(), n_epochs=net.n_epochs_)


main()
