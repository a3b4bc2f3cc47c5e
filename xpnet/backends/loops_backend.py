"""The ``loops`` backend: every op an explicit Python loop over elements.

This is the course's non-vectorized baseline and the test oracle for the vectorized backends.
Arrays are NumPy arrays, but no NumPy math routine is called on them: each value is computed by
a Python loop in ``xpnet.kernels.loops``. It has no fused kernels: the ops of ``xpnet.ops``
run their formulas through these loop primitives, so every registered op runs here with no
code of its own, and the kernel backends' fused kernels are checked against it. It is
thousands of times slower; use tiny sizes.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..kernels import loops as K
from .base import Backend


class LoopsBackend(Backend):
    """Explicit-loop backend over NumPy arrays."""

    name = "loops"
    device = "cpu"

    # ----------------------------------------------------------------- arrays
    def asarray(self, x, dtype=None):
        return np.array(x, dtype=dtype, copy=True) if not isinstance(x, np.ndarray) or (
            dtype is not None and np.dtype(dtype) != x.dtype) else x

    def to_numpy(self, x):
        return np.asarray(x)

    def zeros(self, shape, dtype="float32"):
        return self._filled(shape, dtype, 0.0)

    def ones(self, shape, dtype="float32"):
        return self._filled(shape, dtype, 1.0)

    def empty(self, shape, dtype="float32"):
        return np.empty(shape, dtype=dtype)

    @staticmethod
    def _filled(shape, dtype, value):
        out = np.empty(shape, dtype=dtype)
        for idx in np.ndindex(*out.shape):
            out[idx] = value
        return out

    # ------------------------------------------------------------ linear algebra
    def matmul(self, a, b, out=None):
        return K.matmul(a, b, out=out)

    def transpose(self, a):
        n, m = a.shape
        out = np.empty((m, n), dtype=a.dtype)
        for i in range(n):
            for j in range(m):
                out[j, i] = a[i, j]
        return out

    def take_columns(self, X, idx, out=None):
        n = X.shape[0]
        if out is None:
            out = np.empty((n, len(idx)), dtype=X.dtype)
        else:
            self._check_take_out(X, np.asarray(idx), out)
        for j, src in enumerate(idx):
            for i in range(n):
                out[i, j] = X[i, src]
        return out

    def copy(self, x):
        out = np.empty_like(x)
        for idx in np.ndindex(*x.shape):
            out[idx] = x[idx]
        return out

    def astype(self, x, dtype):
        x = np.asarray(x)
        if x.dtype == np.dtype(dtype):
            return x
        out = np.empty(x.shape, dtype=dtype)
        for idx in np.ndindex(*x.shape):
            out[idx] = x[idx]
        return out

    def stack(self, arrays):
        out = np.empty(len(arrays), dtype=np.result_type(*arrays))
        for i, a in enumerate(arrays):
            out[i] = np.asarray(a).reshape(-1)[0]
        return out

    # --------------------------------------------------------------- elementwise
    def add(self, a, b, out=None):
        return K.binary(operator.add, a, b, out=out)

    def subtract(self, a, b, out=None):
        return K.binary(operator.sub, a, b, out=out)

    def multiply(self, a, b, out=None):
        return K.binary(operator.mul, a, b, out=out)

    def divide(self, a, b, out=None):
        return K.binary(operator.truediv, a, b, out=out)

    def maximum(self, a, b, out=None):
        return K.binary(_max, a, b, out=out)

    def minimum(self, a, b, out=None):
        return K.binary(_min, a, b, out=out)

    def negative(self, x, out=None):
        return K.unary(operator.neg, x, out=out)

    def exp(self, x, out=None):
        return K.unary(_safe_exp, x, out=out)

    def log(self, x, out=None):
        return K.unary(_safe_log, x, out=out)

    def log1p(self, x, out=None):
        return K.unary(math.log1p, x, out=out)

    def sqrt(self, x, out=None):
        return K.unary(math.sqrt, x, out=out)

    def square(self, x, out=None):
        return K.unary(lambda v: v * v, x, out=out)

    def abs(self, x, out=None):
        return K.unary(abs, x, out=out)

    def tanh(self, x, out=None):
        return K.unary(math.tanh, x, out=out)

    def greater(self, a, b, out=None):
        return K.binary(operator.gt, a, b, out=out, dtype=bool)

    def greater_equal(self, a, b, out=None):
        return K.binary(operator.ge, a, b, out=out, dtype=bool)

    def where(self, cond, a, b):
        dtype = np.result_type(a, b)
        cond, a, b = np.asarray(cond), np.asarray(a), np.asarray(b)
        shape = np.broadcast_shapes(cond.shape, a.shape, b.shape)
        out = np.empty(shape, dtype=dtype)
        for idx in np.ndindex(*shape):
            pick = cond[K._index_into(cond.shape, idx)]
            src = a if pick else b
            out[idx] = src[K._index_into(src.shape, idx)]
        return out

    def clip(self, x, low, high, out=None):
        return K.unary(lambda v: min(max(v, low), high), x, out=out)

    # ---------------------------------------------------------------- reductions
    def sum(self, x, axis=None, keepdims=False, out=None):
        return _into(K.reduce(x, axis, keepdims, 0.0, operator.add), out)

    def mean(self, x, axis=None, keepdims=False, out=None):
        return _into(K.reduce(x, axis, keepdims, 0.0, operator.add, lambda acc, n: acc / n),
                     out)

    def max(self, x, axis=None, keepdims=False, out=None):
        return _into(K.reduce(x, axis, keepdims, -math.inf, _max), out)

    def argmax(self, x, axis=0):
        x = np.asarray(x)
        if axis != 0 or x.ndim != 2:
            raise ValueError("loops.argmax supports 2-D arrays over axis 0")
        out = np.empty(x.shape[1], dtype=np.int64)
        for j in range(x.shape[1]):
            best = 0
            for i in range(1, x.shape[0]):
                if x[i, j] > x[best, j]:
                    best = i
            out[j] = best
        return out


def _max(a, b):
    """``max`` that propagates NaN like ``numpy.maximum``."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


def _min(a, b):
    """``min`` that propagates NaN like ``numpy.minimum``."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a <= b else b


def _into(result, out):
    """``result`` copied element by element into ``out`` (when given), else ``result``."""
    if out is None:
        return result
    result = result.reshape(out.shape)
    for idx in np.ndindex(*out.shape):
        out[idx] = result[idx]
    return out


def _safe_exp(v):
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


def _safe_log(v):
    if v == 0:
        return -math.inf
    return math.log(v) if v > 0 else math.nan


def create():
    return LoopsBackend()
