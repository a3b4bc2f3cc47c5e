"""The ``loops`` backend: every op an explicit Python loop over elements.

This is the course's non-vectorized baseline and the test oracle for the vectorized backends.
Arrays are NumPy arrays, but no NumPy math routine is called on them: each value is computed by
a Python loop in ``xpnet.kernels.loops``. It is thousands of times slower; use tiny sizes.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..kernels import loops as K
from .base import Backend, check_activation


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

    # --------------------------------------------------------------- elementwise
    def add(self, a, b, out=None):
        return K.binary(operator.add, a, b, out=out)

    def subtract(self, a, b, out=None):
        return K.binary(operator.sub, a, b, out=out)

    def multiply(self, a, b, out=None):
        return K.binary(operator.mul, a, b, out=out)

    def divide(self, a, b, out=None):
        return K.binary(operator.truediv, a, b, out=out)

    def exp(self, x):
        return K.unary(_safe_exp, x)

    def log(self, x):
        return K.unary(_safe_log, x)

    def log1p(self, x):
        return K.unary(math.log1p, x)

    def sqrt(self, x):
        return K.unary(math.sqrt, x)

    def square(self, x):
        return K.unary(lambda v: v * v, x)

    def abs(self, x):
        return K.unary(abs, x)

    def maximum(self, a, b):
        return K.binary(max, a, b)

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

    def greater(self, a, b):
        return K.binary(operator.gt, a, b, dtype=bool)

    def clip(self, x, low, high):
        return K.unary(lambda v: min(max(v, low), high), x)

    # ---------------------------------------------------------------- reductions
    def sum(self, x, axis=None, keepdims=False):
        return K.reduce(x, axis, keepdims, 0.0, operator.add)

    def mean(self, x, axis=None, keepdims=False):
        return K.reduce(x, axis, keepdims, 0.0, operator.add, lambda acc, n: acc / n)

    def max(self, x, axis=None, keepdims=False):
        return K.reduce(x, axis, keepdims, -math.inf, max)

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

    # --------------------------------------------------------------- activations
    def activation_forward(self, name, Z, slope=0.01):
        check_activation(name)
        if name == "sigmoid":
            return K.unary(K.sigmoid_scalar, Z)
        if name == "tanh":
            return K.unary(math.tanh, Z)
        if name == "relu":
            return K.unary(lambda z: z if z > 0 else 0.0, Z)
        if name == "leaky_relu":
            return K.unary(lambda z: z if z > 0 else slope * z, Z)
        if name == "softmax":
            return self._softmax(Z)
        return Z

    def _softmax(self, Z):
        n, m = Z.shape
        out = np.empty_like(Z)
        for j in range(m):
            zmax = max(Z[i, j].item() for i in range(n))
            total = 0.0
            for i in range(n):
                out[i, j] = math.exp(Z[i, j].item() - zmax)
                total += math.exp(Z[i, j].item() - zmax)
            for i in range(n):
                out[i, j] = math.exp(Z[i, j].item() - zmax) / total
        return out

    def activation_backward(self, name, dA, Z, A, slope=0.01):
        check_activation(name)
        if name == "sigmoid":
            return K.binary(lambda d, a: d * a * (1.0 - a), dA, A)
        if name == "tanh":
            return K.binary(lambda d, a: d * (1.0 - a * a), dA, A)
        if name == "relu":
            return K.binary(lambda d, z: d if z > 0 else 0.0, dA, Z)
        if name == "leaky_relu":
            return K.binary(lambda d, z: d if z > 0 else slope * d, dA, Z)
        if name == "softmax":
            return self._softmax_backward(dA, A)
        return dA

    @staticmethod
    def _softmax_backward(dA, A):
        n, m = A.shape
        out = np.empty_like(A)
        for j in range(m):
            s = 0.0
            for i in range(n):
                s += dA[i, j].item() * A[i, j].item()
            for i in range(n):
                out[i, j] = A[i, j].item() * (dA[i, j].item() - s)
        return out

    def linear_backward(self, dZ, A_prev, W, dW_out, db_out, need_dA_prev=True):
        n, m = dZ.shape
        k = A_prev.shape[0]
        for i in range(n):
            for j in range(k):
                acc = 0.0
                for t in range(m):
                    acc += dZ[i, t].item() * A_prev[j, t].item()
                dW_out[i, j] = acc / m
            if db_out is not None:
                acc = 0.0
                for t in range(m):
                    acc += dZ[i, t].item()
                db_out[i, 0] = acc / m
        return K.matmul(self.transpose(W), dZ) if need_dA_prev else None

    def loss(self, loss, ZL, AL, Y):
        n, m = ZL.shape
        total = 0.0
        for j in range(m):
            if loss == "binary_crossentropy":
                for i in range(n):
                    z, y = ZL[i, j].item(), Y[i, j].item()
                    total += max(z, 0.0) - z * y + K.log1pexp_neg_abs(z)
            elif loss == "categorical_crossentropy":
                zmax = max(ZL[i, j].item() for i in range(n))
                lse = math.log(sum(math.exp(ZL[i, j].item() - zmax) for i in range(n))) + zmax
                total += lse - sum(ZL[i, j].item() * Y[i, j].item() for i in range(n))
            elif loss == "mse":
                total += sum((AL[i, j].item() - Y[i, j].item()) ** 2 for i in range(n)) / 2
            else:
                raise ValueError(f"unknown loss {loss!r}; choose binary_crossentropy, "
                                 "categorical_crossentropy or mse")
        return np.asarray(total / m, dtype=ZL.dtype)

    # ------------------------------------------------ optimizer updates (flat buffers)
    def sgd_update(self, theta, grad, lr):
        for i in range(theta.shape[0]):
            theta[i] -= lr * grad[i]

    def momentum_update(self, theta, grad, v, lr, beta, t, bias_correction=False):
        step = lr / (1 - beta ** t) if bias_correction else lr
        for i in range(theta.shape[0]):
            v[i] = beta * v[i] + (1 - beta) * grad[i]
            theta[i] -= step * v[i]

    def rmsprop_update(self, theta, grad, s, lr, beta, eps):
        for i in range(theta.shape[0]):
            g = grad[i].item()
            s[i] = beta * s[i] + (1 - beta) * g * g
            theta[i] -= lr * g / (math.sqrt(s[i]) + eps)

    def adam_update(self, theta, grad, m, v, lr, beta1, beta2, eps, t):
        c1 = 1 - beta1 ** t
        c2 = 1 - beta2 ** t
        for i in range(theta.shape[0]):
            g = grad[i].item()
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            theta[i] -= lr * (m[i] / c1) / (math.sqrt(v[i] / c2) + eps)


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
