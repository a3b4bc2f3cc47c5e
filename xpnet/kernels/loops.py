"""Pure-Python for-loop kernels: the course's non-vectorized algorithms.

Every function walks the elements with explicit Python loops over NumPy arrays. They are slow
on purpose: the baseline the benchmark suite measures vectorization against, and the test
oracle the vectorized backends are checked against. Use tiny sizes only.
"""

from __future__ import annotations

import math

import numpy as np


def _index_into(shape, idx):
    """Map an index of the broadcast output onto an operand of ``shape`` (size-1 axes -> 0)."""
    offset = len(idx) - len(shape)
    return tuple(0 if n == 1 else idx[offset + k] for k, n in enumerate(shape))


def binary(f, a, b, out=None, dtype=None):
    """``out[i] = f(a[i], b[i])`` elementwise with NumPy broadcasting rules, one loop."""
    dtype = dtype or np.result_type(a, b)  # before asarray: Python scalars stay weak
    a = np.asarray(a)
    b = np.asarray(b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    if out is None:
        out = np.empty(shape, dtype=dtype)
    for idx in np.ndindex(*shape):
        out[idx] = f(a[_index_into(a.shape, idx)].item(), b[_index_into(b.shape, idx)].item())
    return out


def unary(f, x, dtype=None, out=None):
    """``out[i] = f(x[i])`` elementwise, one loop (into ``out`` when given)."""
    x = np.asarray(x)
    if out is None:
        out = np.empty(x.shape, dtype=dtype or x.dtype)
    for idx in np.ndindex(*x.shape):
        out[idx] = f(x[idx].item())
    return out


def matmul(a, b, out=None):
    """``C[i, j] = sum_k A[i, k] B[k, j]`` with three nested loops."""
    n, p = a.shape
    p2, m = b.shape
    if p != p2:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")
    if out is None:
        out = np.empty((n, m), dtype=np.result_type(a, b))
    for i in range(n):
        for j in range(m):
            acc = 0.0
            for k in range(p):
                acc += a[i, k].item() * b[k, j].item()
            out[i, j] = acc
    return out


def dot(u, v):
    """``sum_i u[i] v[i]`` with one loop (the course's non-vectorized dot product)."""
    acc = 0.0
    for i in range(len(u)):
        acc += u[i] * v[i]
    return acc


def reduce(x, axis, keepdims, start, combine, finish=None):
    """Reduce ``x`` over ``axis`` (None = all) with ``acc = combine(acc, value)``, explicitly."""
    x = np.asarray(x)
    if axis is None:
        acc = start
        for idx in np.ndindex(*x.shape):
            acc = combine(acc, x[idx].item())
        acc = finish(acc, x.size) if finish else acc
        res = np.asarray(acc, dtype=x.dtype)
        return res.reshape((1,) * x.ndim) if keepdims else res
    axis = axis % x.ndim
    out_shape = tuple(1 if k == axis else n for k, n in enumerate(x.shape))
    out = np.empty(out_shape, dtype=x.dtype)
    for oidx in np.ndindex(*out_shape):
        acc = start
        for j in range(x.shape[axis]):
            idx = oidx[:axis] + (j,) + oidx[axis + 1:]
            acc = combine(acc, x[idx].item())
        out[oidx] = finish(acc, x.shape[axis]) if finish else acc
    return out if keepdims else out.reshape(tuple(n for k, n in enumerate(x.shape) if k != axis))


def sigmoid_scalar(z):
    """Split-branch logistic function: never evaluates exp of a positive number."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def log1pexp_neg_abs(z):
    """``log(1 + exp(-|z|))``, the stable tail of the binary cross-entropy from logits."""
    return math.log1p(math.exp(-abs(z)))


def logreg_gradient_loops(X, Y, w, b, S=None):
    """The course's two-loop logistic-regression gradient.

    ``X (n_x, m)``, ``Y (1, m)``, ``w (n_x, 1)``, ``b`` scalar; ``S (1, m)`` optional sample
    weights (mean 1) scaling each example's cost and ``dz``. Returns ``(dw (n_x, 1), db, J)``.
    """
    n_x, m = X.shape
    dw = [0.0] * n_x
    db = 0.0
    J = 0.0
    for i in range(m):
        z = b
        for j in range(n_x):
            z += w[j, 0] * X[j, i]
        a = sigmoid_scalar(z)
        y = Y[0, i]
        s = 1.0 if S is None else S[0, i]
        J += s * (max(z, 0.0) - z * y + log1pexp_neg_abs(z))
        dz = s * (a - y)
        for j in range(n_x):
            dw[j] += X[j, i] * dz
        db += dz
    dw_arr = np.array([[d / m] for d in dw], dtype=X.dtype)
    return dw_arr, db / m, J / m
