"""Random search on Dask: start a local cluster or join one for ``xpnet tune --scheduler``,
and send a search's data to every worker once, warming each worker up before trials are timed.

``random_search(..., executor=client.get_executor())`` calls :func:`share` by itself; the rest
serves the command line. Dask (``pip install 'xpnet[dask]'``) is imported inside these
functions only, so ``import xpnet`` works without it.

``--scheduler`` reads:

- ``none`` (or absent): no Dask, the trials run in this process;
- ``local`` or ``local:N``: a ``LocalCluster`` of ``N`` worker processes with one thread each
  (default ``N``: the machine's cores; ``XPNET_BLAS_THREADS=1`` in each, Dask's own
  ``OMP_NUM_THREADS=1``; logs below ERROR silenced), closed when the search ends;
- an address, ``tcp://host:8786`` (or any ``scheme://...``, or ``host:port``): a running
  scheduler, joined within ``CONNECT_TIMEOUT`` seconds; its workers need xpnet installed.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import warnings

__all__ = ["INSTALL", "CONNECT_TIMEOUT", "parse_scheduler", "Cluster", "describe",
           "share"]

#: What to install when Dask is missing.
INSTALL = "pip install 'xpnet[dask]'"
#: Seconds to wait for a scheduler at an address.
CONNECT_TIMEOUT = 5
_ADDRESS = re.compile(r"^(?:[a-z][a-z0-9+.-]*://\S+|[\w.-]+:\d+)$", re.IGNORECASE)


def distributed():
    """The ``distributed`` module, or an ImportError that says what to install."""
    try:
        import distributed as module
    except ImportError as exc:
        raise ImportError(f"Dask is not installed ({exc}): {INSTALL}") from None
    return module


def parse_scheduler(text):
    """``None`` (no Dask), ``("local", n_workers)`` or ``("address", address)`` from the
    text of ``--scheduler``; a ValueError names the forms it reads."""
    value = "none" if text is None else str(text).strip()
    key = value.lower()
    if key in ("", "none"):
        return None
    if key == "local":
        return "local", os.cpu_count() or 1
    if key.startswith("local:"):
        return "local", _positive(value[len("local:"):], value)
    if _ADDRESS.match(value):
        return "address", value
    raise ValueError(f"--scheduler {value!r}: give none, local, local:N (N worker processes) "
                     "or a Dask scheduler address such as tcp://host:8786")


def _positive(count, value):
    if not re.fullmatch(r"\s*\d+\s*", count) or int(count) < 1:
        raise ValueError(f"--scheduler {value!r}: local:N needs N, the number of worker "
                         f"processes, as a positive integer, got {count.strip()!r}")
    return int(count)


class Cluster:
    """The Dask cluster ``parse_scheduler``'s ``scheduler`` names: ``open()`` starts it (or
    joins it) and returns a ``distributed.Client``; ``close()`` closes the client and the local
    cluster it started, if any. Also a context manager (closed on Ctrl-C too)."""

    def __init__(self, scheduler):
        self.scheduler, self.client, self.local = scheduler, None, None

    def open(self):
        kind, where = self.scheduler
        module = distributed()
        try:
            if kind == "local":
                self.local = _start_local(module, where)
                self.client = module.Client(self.local)
            else:
                self.client = _connect(module, where)
        except BaseException:
            self.close()
            raise
        return self.client

    def close(self):
        client, local, self.client, self.local = self.client, self.local, None, None
        try:
            if client is not None:
                client.close()
        finally:
            if local is not None:
                local.close()

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()


#: The Dask settings of a local cluster's workers: no statistical profiler (it samples every
#: thread's stack 100 times a second, under the GIL the training loop needs).
LOCAL_CONFIG = {"distributed.worker.profile.enabled": False}


def _start_local(module, n_workers):
    import dask
    env = {"XPNET_BLAS_THREADS": os.environ.get("XPNET_BLAS_THREADS", "1")}
    with warnings.catch_warnings(), dask.config.set(LOCAL_CONFIG):
        warnings.filterwarnings("ignore", message="Port .* is already in use")  # it moves
        try:
            return module.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                       processes=True, env=env, silence_logs=logging.ERROR)
        except (OSError, RuntimeError) as exc:
            raise OSError(f"could not start a local Dask cluster of {n_workers} workers: "
                          f"{exc}") from None


def _connect(module, address):
    try:
        return module.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise OSError(f"could not reach the Dask scheduler at {address}: {exc} (is `dask "
                      "scheduler` running there? Its log prints the address to give)") from None


def describe(client, scheduler):
    """One line: the workers the client sees and the dashboard link."""
    kind, where = scheduler
    workers = client.nthreads()
    what = (f"a local Dask cluster of {len(workers)} worker processes" if kind == "local"
            else f"the Dask cluster at {where} ({len(workers)} workers, "
                 f"{sum(workers.values())} threads)")
    link = client.dashboard_link
    if kind == "local" and importlib.util.find_spec("bokeh") is None:
        link += " (served once bokeh is installed: pip install bokeh)"
    return f"{what}; dashboard {link}"


def share(client, data, warm_up, *args):
    """``data`` on every worker once (``client.scatter(..., broadcast=True)``): the future a
    trial takes in its place. Then each worker runs ``warm_up(data, *args)`` once, and this
    waits for all of them, so that no trial's time includes a worker's Numba compile."""
    [sent] = client.scatter([data], broadcast=True, hash=False)
    warm = [client.submit(warm_up, sent, *args, workers=[worker], allow_other_workers=False,
                          pure=False)
            for worker in client.nthreads()]
    client.gather(warm)
    return sent
