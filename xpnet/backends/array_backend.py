"""One vectorized implementation of the Backend primitives for any NumPy-compatible module ``xp``.

It serves the ``numpy`` backend and is the base of the ``numba`` and ``cupy`` backends, which
add fused kernels (their ``fused`` tables) for the ops of ``xpnet.ops``. Shapes in course
notation: ``Z (n[l], m)``.
"""

from __future__ import annotations

import threading

import numpy as np

from .base import Backend


def column_contiguous(x):
    """True for a 2-D array whose columns are contiguous and that is not also row-contiguous
    (Fortran order: ``x.T`` is C-contiguous)."""
    return (x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous)


def gathers_rows(X, out):
    """True when ``take_columns(X, idx, out)`` should copy whole rows of ``X.T`` into ``out.T``:
    ``X`` is sample-major (column-contiguous) and so is ``out`` (or there is none yet)."""
    return column_contiguous(X) and (out is None or column_contiguous(out))


class ArrayBackend(Backend):
    """The primitives over the array module ``xp`` (numpy or cupy); the ops of ``xpnet.ops``
    run on them unchanged."""

    def __init__(self, xp):
        self.xp = xp

    # ----------------------------------------------------------------- arrays
    def asarray(self, x, dtype=None):
        return self.xp.asarray(x, dtype=dtype)

    def to_numpy(self, x):
        return np.asarray(x)

    def zeros(self, shape, dtype="float32"):
        return self.xp.zeros(shape, dtype=dtype)

    def ones(self, shape, dtype="float32"):
        return self.xp.ones(shape, dtype=dtype)

    def empty(self, shape, dtype="float32"):
        return self.xp.empty(shape, dtype=dtype)

    def copy(self, x):
        return x.copy()

    def astype(self, x, dtype):
        return x.astype(dtype, copy=False)

    def stack(self, arrays):
        return self.xp.stack([self.xp.asarray(a) for a in arrays])

    def scalar(self, value, like):
        return like.dtype.type(value)

    def scratch(self, slot, like, dtype=None):
        """A reusable temporary shaped like ``like`` (per thread, per ``slot`` and dtype).

        Hot-loop temporaries live here instead of being allocated each call: large fresh
        arrays cost page faults. A scratch array is never returned to the caller.
        """
        tls = self.__dict__.get("_tls") or self.__dict__.setdefault("_tls", threading.local())
        pool = getattr(tls, "pool", None)
        if pool is None:
            pool = tls.pool = {}
        dt = np.dtype(like.dtype if dtype is None else dtype)
        buf = pool.get((slot, dt))
        if buf is None or buf.size < like.size:
            buf = pool[(slot, dt)] = self.xp.empty(like.size, dtype=dt)
        return buf[:like.size].reshape(like.shape)

    # ------------------------------------------------------------ linear algebra
    def matmul(self, a, b, out=None):
        return self.xp.matmul(a, b, out=out)

    def transpose(self, a):
        return a.T

    def take_columns(self, X, idx, out=None):
        by_rows = gathers_rows(X, out)
        if out is None:
            return self.xp.take(X.T, idx, axis=0).T if by_rows else self.xp.take(X, idx, axis=1)
        self._check_take_out(X, idx, out)
        idx, options = self._take_into_options(X, idx)
        if by_rows:
            self.xp.take(X.T, idx, axis=0, out=out.T, **options)
            return out
        return self.xp.take(X, idx, axis=1, out=out, **options)

    def _take_into_options(self, X, idx):
        """``(idx, take keyword arguments)`` for a gather into ``out``: none here (the NumPy
        backend checks bounds once and takes unbuffered)."""
        return idx, {}

    # --------------------------------------------------------------- elementwise
    def add(self, a, b, out=None):
        return self.xp.add(a, b, out=out)

    def subtract(self, a, b, out=None):
        return self.xp.subtract(a, b, out=out)

    def multiply(self, a, b, out=None):
        return self.xp.multiply(a, b, out=out)

    def divide(self, a, b, out=None):
        return self.xp.divide(a, b, out=out)

    def maximum(self, a, b, out=None):
        return self.xp.maximum(a, b, out=out)

    def minimum(self, a, b, out=None):
        return self.xp.minimum(a, b, out=out)

    def negative(self, x, out=None):
        return self.xp.negative(x, out=out)

    def exp(self, x, out=None):
        return self.xp.exp(x, out=out)

    def log(self, x, out=None):
        return self.xp.log(x, out=out)

    def log1p(self, x, out=None):
        return self.xp.log1p(x, out=out)

    def sqrt(self, x, out=None):
        return self.xp.sqrt(x, out=out)

    def square(self, x, out=None):
        return self.xp.square(x, out=out)

    def abs(self, x, out=None):
        return self.xp.abs(x, out=out)

    def tanh(self, x, out=None):
        return self.xp.tanh(x, out=out)

    def greater(self, a, b, out=None):
        return self.xp.greater(a, b, out=out)

    def greater_equal(self, a, b, out=None):
        return self.xp.greater_equal(a, b, out=out)

    def where(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def clip(self, x, low, high, out=None):
        return self.xp.clip(x, low, high, out=out)

    # ---------------------------------------------------------------- reductions
    def sum(self, x, axis=None, keepdims=False, out=None):
        return self.xp.sum(x, axis=axis, keepdims=keepdims, out=out)

    def mean(self, x, axis=None, keepdims=False, out=None):
        return self.xp.mean(x, axis=axis, keepdims=keepdims, out=out)

    def max(self, x, axis=None, keepdims=False, out=None):
        return self.xp.max(x, axis=axis, keepdims=keepdims, out=out)

    def argmax(self, x, axis=0):
        return self.xp.argmax(x, axis=axis)
