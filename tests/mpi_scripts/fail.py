"""``mpiexec -n N python -m mpi4py tests/mpi_scripts/fail.py``: rank 1's callback raises in the
second epoch while the other ranks go on to their next Allreduce; ``-m mpi4py`` turns the
uncaught exception into ``MPI_Abort``, so the whole job ends at once with the message."""

from mpi4py import MPI

import cases

RANK = MPI.COMM_WORLD.Get_rank()


def callback(epoch, logs):
    if RANK == 1 and epoch == 1:
        raise RuntimeError("rank 1's callback failed on purpose")
    return False


s = cases.spec(epochs=50, n_samples=400)
X, y, w = cases.data(s)
cases.model(s, distributed="mpi").fit(X, y, callback=callback)
