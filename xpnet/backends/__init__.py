"""Backend registry and selection.

``XPNET_BACKEND=loops|numpy|numba|cupy|auto`` is read at first use, not at import. ``auto`` (and
unset) picks the fastest available: cupy with a visible GPU, else numba, else numpy.
``set_backend(name)``, the ``use_backend(name)`` context manager and a per-model ``backend=``
argument override it. Backends are imported lazily, so ``import xpnet`` needs neither numba
nor cupy.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading

from ..ops import ACTIVATIONS
from .base import Backend

__all__ = ["Backend", "ACTIVATIONS", "BACKENDS", "BackendUnavailable", "get_backend",
           "set_backend", "use_backend", "available_backends", "resolve", "auto_choice"]

#: name -> (module path, install hint). Each module defines ``create()``.
BACKENDS = {
    "loops": ("xpnet.backends.loops_backend", None),
    "numpy": ("xpnet.backends.numpy_backend", None),
    "numba": ("xpnet.backends.numba_backend", 'pip install numba'),
    "cupy": ("xpnet.backends.cupy_backend",
             'pip install "xpnet[cuda]"  (CuPy for CUDA 13; or "xpnet[cuda12]" for CUDA 12)'),
}
AUTO_ORDER = ("cupy", "numba", "numpy")
CHOICES = tuple(BACKENDS) + ("auto",)

_lock = threading.RLock()
_instances = {}
_state = {"current": None, "auto_reason": None}


class BackendUnavailable(RuntimeError, ValueError):
    """A named backend cannot load here (missing package or device). Subclasses ValueError."""


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"backend must be a name (str) or a Backend, got {type(name).__name__}")
    key = name.strip().lower()
    if key not in CHOICES:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(CHOICES)}")
    return key


def _load(name):
    """Create (once) and return the backend ``name``; raise BackendUnavailable if it can't."""
    with _lock:
        if name in _instances:
            return _instances[name]
        module_path, hint = BACKENDS[name]
        try:
            module = importlib.import_module(module_path)
            backend = module.create()
        except ImportError as exc:
            missing = getattr(exc, "name", None) or str(exc)
            raise BackendUnavailable(
                f"backend {name!r} cannot load: the package {missing!r} is missing. "
                f"Install it with: {hint}") from exc
        except BackendUnavailable:
            raise
        _instances[name] = backend
        return backend


def auto_choice():
    """Pick the fastest available backend; returns ``(name, reason)``."""
    reasons = []
    for name in AUTO_ORDER:
        try:
            _load(name)
        except (BackendUnavailable, ImportError) as exc:
            reasons.append(f"{name}: {exc}")
            continue
        why = "; ".join(reasons) if reasons else "it is the first choice and it loads"
        return name, (f"picked {name!r} (order: {', '.join(AUTO_ORDER)}); skipped: {why}"
                      if reasons else f"picked {name!r}: {why}")
    raise BackendUnavailable("no backend could load: " + "; ".join(reasons))  # pragma: no cover


def resolve(backend=None):
    """Turn ``None`` (the current default), a name, or a Backend instance into a Backend."""
    if isinstance(backend, Backend):
        return backend
    if backend is None:
        return get_backend()
    name = _check_name(backend)
    if name == "auto":
        name, reason = auto_choice()
        _state["auto_reason"] = reason
    return _load(name)


def get_backend():
    """The current default backend: ``set_backend``'s, else ``XPNET_BACKEND``'s, else auto."""
    with _lock:
        if _state["current"] is None:
            _state["current"] = resolve(os.environ.get("XPNET_BACKEND", "auto") or "auto")
        return _state["current"]


def set_backend(name):
    """Make ``name`` (or a Backend) the default; returns the Backend. Raises if unavailable."""
    backend = resolve(name if name is not None else "auto")
    with _lock:
        _state["current"] = backend
    return backend


@contextlib.contextmanager
def use_backend(name):
    """Context manager: use ``name`` as the default inside the block, then restore."""
    backend = resolve(name)
    with _lock:
        previous = _state["current"]
        _state["current"] = backend
    try:
        yield backend
    finally:
        with _lock:
            _state["current"] = previous


def available_backends():
    """Names of the backends that load on this machine, in registry order."""
    names = []
    for name in BACKENDS:
        try:
            _load(name)
        except (BackendUnavailable, ImportError):
            continue
        names.append(name)
    return names


def auto_reason():
    """Why ``auto`` picked what it picked (None before ``auto`` was resolved)."""
    if _state["auto_reason"] is None:
        _state["auto_reason"] = auto_choice()[1]
    return _state["auto_reason"]


def _reset_for_tests():
    """Forget the current default and loaded instances (tests simulate fresh processes)."""
    with _lock:
        _state["current"] = None
        _state["auto_reason"] = None
        _instances.clear()
