"""``xpnet info``: version, backends (which load, what ``auto`` picks and why), devices, BLAS
and thread settings."""

from __future__ import annotations

import os
import platform
import sys


def add_parser(subparsers):
    return subparsers.add_parser(
        "info", help="version, backends, devices, BLAS and threads",
        description="Print the xpnet version, the backends that load here (and why the others "
                    "do not), what XPNET_BACKEND=auto picks and why, the devices, the BLAS "
                    "library NumPy uses and the thread settings.")


def run(args):
    """Print the report; exit 2 when ``XPNET_BACKEND`` names a backend that does not exist or
    cannot load here (every xpnet command would fail on it), after saying why."""
    for line in info_lines():
        print(line)
    problem = env_backend_problem()
    if problem:
        from ..cli import CLIError
        raise CLIError(problem)
    return 0


def env_backend_problem():
    """Why ``XPNET_BACKEND`` cannot be used here, or None (unset, or a backend that loads)."""
    from ..backends import BackendUnavailable, resolve
    env = os.environ.get("XPNET_BACKEND", "").strip()
    if not env:
        return None
    try:
        resolve(env)
    except (BackendUnavailable, ValueError, TypeError) as exc:
        return f"XPNET_BACKEND={env!r} cannot be used: {exc}"
    return None


def info_lines():
    import numpy as np

    from .._version import __version__
    lines = [f"xpnet {__version__}",
             f"python {platform.python_version()} ({platform.python_implementation()}) on "
             f"{platform.system()} {platform.machine()}",
             f"numpy {np.__version__}; BLAS: {_blas()}", "", "backends:"]
    backend_lines, loaded = _backends()
    lines += backend_lines
    lines += ["", "devices:"] + _device_lines(loaded)
    lines += ["", "threads:"] + _thread_lines()
    return lines


def _backends():
    """``(lines, loaded)``: one line per registered backend, then auto's pick; the backends
    that load as ``{name: Backend}``."""
    from ..backends import AUTO_ORDER, BACKENDS, BackendUnavailable, auto_choice, resolve

    def auto_order():
        return list(AUTO_ORDER)
    lines, loaded = [], {}
    for name in BACKENDS:
        try:
            loaded[name] = resolve(name)
        except (BackendUnavailable, ImportError) as exc:
            lines.append(f"  {name:<6} unavailable: {exc}")
            continue
        lines.append(f"  {name:<6} available (device: {loaded[name].device})")
    picked, _ = auto_choice()
    env = os.environ.get("XPNET_BACKEND")
    order = auto_order()
    skipped = [n for n in order[:order.index(picked)]]
    lines.append(f"  auto -> {picked}: picked {picked!r} (order: {', '.join(order)})"
                 + (f"; skipped {', '.join(skipped)}: unavailable, see above" if skipped else ""))
    problem = env_backend_problem()
    if env and problem:
        lines.append(f"  XPNET_BACKEND={env}: NOT USABLE (see the error below)")
    else:
        lines.append(f"  XPNET_BACKEND={env}" if env else "  XPNET_BACKEND is not set (so: auto)")
    return lines, loaded


def _device_lines(loaded):
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    lines = [f"  cpu: {platform.processor() or platform.machine()}, {cpus} logical cores "
             f"({usable} usable by this process)"]
    for name, backend in sorted(loaded.items()):
        if str(backend.device).lower() != "cpu":
            lines.append(f"  {name}: {backend.device}")
            lines += _settings_lines(backend)
    if len(lines) == 1:
        lines.append("  gpu: none in use (the cupy backend needs CuPy and a visible CUDA GPU)")
    return lines


def _settings_lines(backend):
    """The device backend's versions and settings from its ``info()`` (e.g. cupy: CUDA
    versions, TF32, CUDA graphs, how matrix products are made), one indented line."""
    if not callable(getattr(backend, "info", None)):
        return []
    try:
        info = backend.info()
    except Exception as exc:  # a driver call failed: say so rather than stop `xpnet info`
        return [f"    (settings unavailable: {type(exc).__name__}: {exc})"]
    items = [f"{key}={value}" for key, value in info.items() if key not in ("backend", "device")]
    return [f"    {', '.join(items)}"] if items else []


def _blas():
    import numpy as np
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
    except (TypeError, KeyError, AttributeError):
        return "unknown (numpy.show_config() gives no details)"
    return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()


def _thread_lines():
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
             "NUMBA_THREADING_LAYER")
    given = [f"{n}={os.environ[n]}" for n in names if os.environ.get(n)]
    lines = [f"  {', '.join(given)}" if given else
             f"  none of {', '.join(names[:4])} is set (libraries use their defaults)"]
    lines += _threadpool_lines()
    numba = sys.modules.get("numba")     # only when the numba backend already loaded it
    if numba is not None:
        try:
            layer = numba.threading_layer()
            threads = numba.get_num_threads()
        except ValueError:               # no parallel kernel has run yet: do not start the pool
            layer, threads = "not chosen yet", numba.config.NUMBA_NUM_THREADS
        lines.append(f"  numba {numba.__version__}: {threads} threads, "
                     f"threading layer {layer}")
    return lines


def _threadpool_lines():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["  (install threadpoolctl to see the BLAS/OpenMP thread pools)"]
    lines = []
    for pool in threadpool_info():
        lines.append(f"  {pool.get('internal_api', '?')} {pool.get('version') or ''}: "
                     f"{pool.get('num_threads')} threads ({pool.get('user_api', '?')}, "
                     f"{os.path.basename(pool.get('filepath', ''))})")
    return lines or ["  no BLAS/OpenMP thread pools loaded"]
