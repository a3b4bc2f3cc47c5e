"""Beyond one machine: data-parallel training over MPI and hyperparameter search on Dask.

Nothing here imports mpi4py or dask at import time; each engine is imported where it is used.

MPI (``xpnet.distributed.mpi``): ``NeuralNetwork(distributed="mpi")`` (or ``"auto"``: MPI when
this process was launched by ``mpiexec``/``srun`` with more than one rank) trains one model on
every rank of ``MPI.COMM_WORLD``; ``xpnet train --distributed auto`` (its default) does the same
under ``mpiexec -n N python -m mpi4py -m xpnet train ...``. With one rank the serial code runs.
See docs/distributed.md.
"""

from __future__ import annotations

import os

#: ``NeuralNetwork(distributed=...)``: None (or ``"none"``) trains in this process alone;
#: ``"auto"`` over MPI when launched with more than one rank; ``"mpi"`` over MPI, required.
CHOICES = ("auto", "mpi", "none")

#: What a missing MPI asks for.
INSTALL = "pip install 'xpnet[mpi]'"

#: Environment variables MPI launchers set in each rank: ``*_SIZE`` holds the number of ranks
#: (MPICH's Hydra and Slurm's PMI/PMI2: ``PMI_SIZE``; Open MPI: ``OMPI_COMM_WORLD_SIZE``);
#: PMIx launchers (``srun --mpi=pmix``, ``prterun``) set ``PMIX_RANK`` and tell the size only
#: through MPI itself.
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
RANK_VARIABLES = ("PMIX_RANK",)


class MPIUnavailable(RuntimeError, ValueError):
    """``distributed="mpi"`` (or an MPI launch under ``"auto"``) without a working mpi4py."""


class RankMismatch(ValueError):
    """The ranks of one distributed fit disagree on their data, version or hyperparameters.
    Raised on every rank at once (``collective``), so none is left waiting."""

    collective = True


def check_distributed(name, value):
    """The schema check: None, ``"none"``, ``"auto"`` or ``"mpi"`` (any case); returns None,
    ``"auto"`` or ``"mpi"``."""
    if value is None:
        return None
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in CHOICES:
        raise ValueError(f"{name} must be None, 'none', 'auto' or 'mpi', got {value!r}")
    return None if text == "none" else text


def launched_ranks(environ=None):
    """The number of ranks an MPI launcher says it started (1 when none did; 2 for a PMIx
    launch, meaning "more than one, maybe": MPI itself tells the size)."""
    env = os.environ if environ is None else environ
    for var in SIZE_VARIABLES:
        if var in env:
            try:
                return max(int(env[var]), 1)
            except ValueError:
                return 1
    return 2 if any(var in env for var in RANK_VARIABLES) else 1


def context(distributed):
    """The MPI context of a fit or a command (``xpnet.distributed.mpi.Context``), or None to
    run the serial code: ``distributed`` None/"none", "auto" outside an MPI launch, or one
    rank. "mpi" without mpi4py (or its MPI library), and "auto" in an MPI launch of several
    ranks without it (N ranks would each train and write alone), raise MPIUnavailable."""
    mode = check_distributed("distributed", distributed)
    if mode is None or (mode == "auto" and launched_ranks() < 2):
        return None
    from . import mpi
    why = None if mode == "mpi" else (
        f"this process was launched by MPI with {launched_ranks()} ranks (distributed='auto')")
    return mpi.world(why)


def rank():
    """This process's rank in ``MPI.COMM_WORLD`` (0 outside an MPI launch, without importing
    mpi4py): e.g. ``if xpnet.distributed.rank() == 0: net.save(path)`` after a data-parallel
    fit, which leaves the same model on every rank."""
    if launched_ranks() < 2:
        return 0
    from . import mpi
    ctx = mpi.world("xpnet.distributed.rank() runs in an MPI launch")
    return 0 if ctx is None else ctx.rank
