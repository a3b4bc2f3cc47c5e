"""``mpiexec -n N python tests/mpi_scripts/setup_error.py OUT.txt`` (plain python: nothing
aborts for us): the last rank's data holds a NaN, so its fit fails in validation before the
ranks compare their inputs. Every rank must raise at once (the others RankMismatch naming it);
rank 0 writes each rank's exception to OUT.txt. Then every rank fits again, all with the same
bad value, and each must raise the same ValueError."""

import sys

import numpy as np
from mpi4py import MPI

import cases

comm = MPI.COMM_WORLD
last = comm.Get_rank() == comm.Get_size() - 1
s = cases.spec()
X, y, w = cases.data(s)
bad = X.copy()
bad[3, 1] = np.nan
results = []
for data in ((bad if last else X), bad):
    try:
        cases.model(s, distributed="mpi").fit(data, y)
        results.append("no error")
    except ValueError as exc:
        results.append(f"{type(exc).__name__}: {exc}")
every = comm.gather(results, root=0)
if comm.Get_rank() == 0:
    with open(sys.argv[1], "w") as f:
        f.write("\n".join(line for rank in every for line in rank) + "\n")
