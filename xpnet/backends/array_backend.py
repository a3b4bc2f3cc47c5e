"""One vectorized implementation of the Backend op set for any NumPy-compatible module ``xp``.

It serves the ``numpy`` backend directly and is the base of the ``numba`` and ``cupy`` backends,
which override only what they fuse. Shapes in course notation: ``Z (n[l], m)``.
"""

from __future__ import annotations

import numpy as np

from .base import Backend, check_activation


class ArrayBackend(Backend):
    """Vectorized backend over the array module ``xp`` (numpy or cupy)."""

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

    # ------------------------------------------------------------ linear algebra
    def matmul(self, a, b, out=None):
        return self.xp.matmul(a, b, out=out)

    def transpose(self, a):
        return a.T

    def take_columns(self, X, idx):
        return self.xp.take(X, idx, axis=1)

    def copy(self, x):
        return x.copy()

    # --------------------------------------------------------------- elementwise
    def add(self, a, b, out=None):
        return self.xp.add(a, b, out=out)

    def subtract(self, a, b, out=None):
        return self.xp.subtract(a, b, out=out)

    def multiply(self, a, b, out=None):
        return self.xp.multiply(a, b, out=out)

    def divide(self, a, b, out=None):
        return self.xp.divide(a, b, out=out)

    def exp(self, x):
        return self.xp.exp(x)

    def log(self, x):
        return self.xp.log(x)

    def log1p(self, x):
        return self.xp.log1p(x)

    def sqrt(self, x):
        return self.xp.sqrt(x)

    def square(self, x):
        return self.xp.square(x)

    def abs(self, x):
        return self.xp.abs(x)

    def maximum(self, a, b):
        return self.xp.maximum(a, b)

    def where(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def greater(self, a, b):
        return self.xp.greater(a, b)

    def clip(self, x, low, high):
        return self.xp.clip(x, low, high)

    # ---------------------------------------------------------------- reductions
    def sum(self, x, axis=None, keepdims=False):
        return self.xp.sum(x, axis=axis, keepdims=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return self.xp.mean(x, axis=axis, keepdims=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return self.xp.max(x, axis=axis, keepdims=keepdims)

    def argmax(self, x, axis=0):
        return self.xp.argmax(x, axis=axis)

    # --------------------------------------------------------------- activations
    def _sigmoid(self, Z):
        # Split-branch form: exp of a non-positive number only, so no overflow at z = +-1000.
        xp = self.xp
        e = xp.exp(-xp.abs(Z))
        return xp.where(Z >= 0, 1 / (1 + e), e / (1 + e))

    def _softmax(self, Z):
        xp = self.xp
        E = xp.exp(Z - xp.max(Z, axis=0, keepdims=True))
        E /= xp.sum(E, axis=0, keepdims=True)
        return E

    def activation_forward(self, name, Z, slope=0.01):
        xp = self.xp
        if name == "sigmoid":
            return self._sigmoid(Z)
        if name == "tanh":
            return xp.tanh(Z)
        if name == "relu":
            return xp.maximum(Z, 0)
        if name == "leaky_relu":
            return xp.where(Z > 0, Z, Z * Z.dtype.type(slope))
        if name == "softmax":
            return self._softmax(Z)
        if name == "linear":
            return Z
        check_activation(name)

    def activation_backward(self, name, dA, Z, A, slope=0.01):
        xp = self.xp
        if name == "sigmoid":
            return dA * A * (1 - A)
        if name == "tanh":
            return dA * (1 - A * A)
        if name == "relu":
            return xp.where(Z > 0, dA, 0).astype(dA.dtype, copy=False)
        if name == "leaky_relu":
            return xp.where(Z > 0, dA, dA * dA.dtype.type(slope))
        if name == "softmax":
            return A * (dA - xp.sum(dA * A, axis=0, keepdims=True))
        if name == "linear":
            return dA
        check_activation(name)

    def linear_backward(self, dZ, A_prev, W, dW_out, db_out, need_dA_prev=True):
        m = dZ.shape[1]
        xp = self.xp
        xp.matmul(dZ, A_prev.T, out=dW_out)
        dW_out *= dW_out.dtype.type(1.0 / m)
        if db_out is not None:
            xp.sum(dZ, axis=1, keepdims=True, out=db_out)
            db_out *= db_out.dtype.type(1.0 / m)
        return xp.matmul(W.T, dZ) if need_dA_prev else None

    def loss(self, loss, ZL, AL, Y):
        xp = self.xp
        m = ZL.shape[1]
        if loss == "binary_crossentropy":
            # From logits: max(z, 0) - z y + log(1 + exp(-|z|)), finite for any z.
            per = xp.maximum(ZL, 0) - ZL * Y + xp.log1p(xp.exp(-xp.abs(ZL)))
            return xp.sum(per) / m
        if loss == "categorical_crossentropy":
            zmax = xp.max(ZL, axis=0, keepdims=True)
            lse = xp.log(xp.sum(xp.exp(ZL - zmax), axis=0, keepdims=True)) + zmax
            return (xp.sum(lse) - xp.sum(ZL * Y)) / m
        if loss == "mse":
            D = AL - Y
            return xp.sum(D * D) / (2 * m)
        raise ValueError(f"unknown loss {loss!r}; choose binary_crossentropy, "
                         "categorical_crossentropy or mse")

    # ------------------------------------------------ optimizer updates (flat buffers)
    def sgd_update(self, theta, grad, lr):
        theta -= theta.dtype.type(lr) * grad

    def momentum_update(self, theta, grad, v, lr, beta, t, bias_correction=False):
        f = theta.dtype.type
        v *= f(beta)
        v += f(1 - beta) * grad
        step = lr / (1 - beta ** t) if bias_correction else lr
        theta -= f(step) * v

    def rmsprop_update(self, theta, grad, s, lr, beta, eps):
        f = theta.dtype.type
        s *= f(beta)
        s += f(1 - beta) * (grad * grad)
        theta -= f(lr) * grad / (self.xp.sqrt(s) + f(eps))

    def adam_update(self, theta, grad, m, v, lr, beta1, beta2, eps, t):
        xp = self.xp
        f = theta.dtype.type
        m *= f(beta1)
        m += f(1 - beta1) * grad
        v *= f(beta2)
        v += f(1 - beta2) * (grad * grad)
        # theta -= lr * m_hat / (sqrt(v_hat) + eps), with the corrections folded into scalars.
        c1 = 1 - beta1 ** t
        c2 = 1 - beta2 ** t
        denom = xp.sqrt(v)
        denom *= f(1 / np.sqrt(c2))
        denom += f(eps)
        theta -= f(lr / c1) * m / denom
