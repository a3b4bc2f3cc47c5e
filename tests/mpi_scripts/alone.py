"""``mpiexec -n N python -m mpi4py tests/mpi_scripts/alone.py``: the Python default
(``distributed=None``) keeps an MPI-launched script's fits independent: each rank trains alone
and never loads xpnet's MPI module. Each rank prints "alone" when it did."""

import sys

import cases

net = cases.fit(cases.spec())
if "xpnet.distributed.mpi" not in sys.modules and net.n_epochs_ == cases.BASE["epochs"]:
    print("alone", flush=True)
