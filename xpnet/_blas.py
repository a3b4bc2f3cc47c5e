"""The BLAS thread policy of training: threads only where a matrix product gains from them.

A training step multiplies the same few shapes thousands of times. For small products (a
100 x 100 layer on a batch of 100) OpenBLAS's threads cost more in hand-offs than they save,
and on a machine with other work they fight for the cores: a small fit ran 3.8x slower beside
one busy process with two BLAS threads and not at all slower with one. So a fit whose largest
per-step product is below ``SMALL_PRODUCT_FLOPS`` trains with one BLAS thread; bigger ones keep
the library's threads. Prediction and everything outside ``fit`` are left alone.

Override with the environment variable ``XPNET_BLAS_THREADS`` or ``set_blas_threads``:
``auto`` (the policy, default), ``default`` (never touch the BLAS threads), or a number (that
many threads in every fit). The limit is set through threadpoolctl (a dependency) for the
BLAS libraries NumPy loaded; without it nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import threading

#: Below this many floating-point operations (2 m n k) a product runs on one BLAS thread.
SMALL_PRODUCT_FLOPS = 2.0e7
_ENV = "XPNET_BLAS_THREADS"
_state = {"setting": None, "controller": None}
_lock = threading.Lock()

__all__ = ["set_blas_threads", "blas_setting", "threads_for", "training_threads",
           "SMALL_PRODUCT_FLOPS"]


def _parse(value, source):
    text = str(value).strip().lower()
    if text in ("auto", "default"):
        return text
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1 or str(n) != text:
        raise ValueError(f"{source} must be 'auto', 'default' or a positive integer (BLAS "
                         f"threads during training), got {value!r}")
    return n


def set_blas_threads(setting):
    """``"auto"`` (one thread for small products), ``"default"`` (leave BLAS alone) or an
    integer (that many BLAS threads in every fit); ``None`` returns to the environment
    variable ``XPNET_BLAS_THREADS`` (default ``auto``). Returns the setting in force."""
    _state["setting"] = None if setting is None else _parse(setting, "set_blas_threads")
    return blas_setting()


def blas_setting():
    """The setting in force: ``set_blas_threads``'s, else ``XPNET_BLAS_THREADS``'s, else
    ``"auto"``."""
    if _state["setting"] is not None:
        return _state["setting"]
    return _parse(os.environ.get(_ENV, "auto"), _ENV)


def threads_for(layer_dims, batch_size):
    """The BLAS threads a fit of ``layer_dims (n[0], ..., n[L])`` at ``batch_size`` gets:
    None (the library's own) or a number."""
    setting = blas_setting()
    if setting == "default":
        return None
    if isinstance(setting, int):
        return setting
    flops = max(2.0 * batch_size * a * b for a, b in zip(layer_dims[:-1], layer_dims[1:]))
    return 1 if flops < SMALL_PRODUCT_FLOPS else None


def _controller():
    """A fresh ``ThreadpoolController`` (about 1 ms: it lists the BLAS libraries loaded now,
    so one loaded since the last fit, SciPy's say, is limited too), or False without
    threadpoolctl."""
    if _state["controller"] is False:
        return False
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        _state["controller"] = False
        return False
    return ThreadpoolController()


@contextlib.contextmanager
def training_threads(layer_dims, batch_size):
    """Run the block (a fit's epochs) with ``threads_for``'s BLAS threads, restored after.
    BLAS threads are a process-wide setting: fits running at once in threads (``n_jobs``
    searches) share one limit, set by the first to enter and restored by the last to leave."""
    n = threads_for(layer_dims, batch_size)
    controller = _controller() if n is not None else None
    if not controller:
        yield n
        return
    _enter(controller, n)
    try:
        yield n
    finally:
        _leave()


def _enter(controller, n):
    with _lock:
        if _state.get("users", 0) == 0:
            _state["limit"] = controller.limit(limits=n, user_api="blas")
        _state["users"] = _state.get("users", 0) + 1


def _leave():
    with _lock:
        _state["users"] -= 1
        if _state["users"] == 0:
            _state.pop("limit").restore_original_limits()
