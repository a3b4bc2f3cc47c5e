"""``mpiexec -n N python -m mpi4py tests/mpi_scripts/mismatch.py WHAT OUT.txt``: the last rank
holds different data (WHAT = data: one changed value; rows: two rows swapped; seed: another
seed); every rank's fit must raise RankMismatch at the start, none hang. Rank 0 writes the
message (and each rank's exception type) to OUT.txt."""

import sys

from mpi4py import MPI

import cases
from xpnet.distributed import RankMismatch

comm = MPI.COMM_WORLD
what, out = sys.argv[1], sys.argv[2]
last = comm.Get_rank() == comm.Get_size() - 1
s = cases.spec(seed=4 if what == "seed" and last else 3)
X, y, w = cases.data(s)
if last and what == "data":
    X[17, 2] += 1e-3
if last and what == "rows":
    X[[5, 6]] = X[[6, 5]]
try:
    cases.model(s, distributed="mpi").fit(X, y)
    result = "no error"
except RankMismatch as exc:
    result = f"RankMismatch: {exc}"
every = comm.gather(result, root=0)
if comm.Get_rank() == 0:
    with open(out, "w") as f:
        f.write("\n".join(every) + "\n")
