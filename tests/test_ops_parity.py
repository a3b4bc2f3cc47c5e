"""Every backend primitive against the ``loops`` oracle, on every available backend, in both
dtypes (the registered ops: tests/test_registries.py).

float64 within rtol 1e-7; float32 within rtol 1.3e-6, atol 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_close
from xpnet.backends import resolve

LOOPS = resolve("loops")
SHAPE = (5, 7)


def both(vb, dtype, *host):
    """The same host arrays on the loops backend and on ``vb``."""
    return ([LOOPS.asarray(h, dtype=dtype) for h in host],
            [vb.asarray(h, dtype=dtype) for h in host])


def host(vb, x):
    return vb.to_numpy(x)


@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "divide"])
@pytest.mark.parametrize("b_shape", [SHAPE, (5, 1), (1, 7)])
def test_binary_broadcast(vbackend, dtype, rng, op, b_shape):
    a = rng.standard_normal(SHAPE)
    b = rng.uniform(0.5, 2.0, b_shape)
    (la, lb), (va, vbb) = both(vbackend, dtype, a, b)
    expected = getattr(LOOPS, op)(la, lb)
    actual = getattr(vbackend, op)(va, vbb)
    assert actual.dtype == np.dtype(dtype)
    assert_close(host(vbackend, actual), expected, dtype)


@pytest.mark.parametrize("op", ["exp", "log", "log1p", "sqrt", "square", "abs"])
def test_unary(vbackend, dtype, rng, op):
    x = rng.uniform(0.1, 3.0, SHAPE) * (1 if op in ("log", "sqrt") else rng.choice([-1, 1], SHAPE))
    if op == "log1p":
        x = np.abs(x)
    (lx,), (vx,) = both(vbackend, dtype, x)
    assert_close(host(vbackend, getattr(vbackend, op)(vx)), getattr(LOOPS, op)(lx), dtype)


def test_maximum_where_greater_clip(vbackend, dtype, rng):
    a, b = rng.standard_normal(SHAPE), rng.standard_normal(SHAPE)
    (la, lb), (va, vbb) = both(vbackend, dtype, a, b)
    assert_close(host(vbackend, vbackend.maximum(va, vbb)), LOOPS.maximum(la, lb), dtype)
    assert_close(host(vbackend, vbackend.maximum(va, 0.0)), LOOPS.maximum(la, 0.0), dtype)
    g_v, g_l = vbackend.greater(va, vbb), LOOPS.greater(la, lb)
    np.testing.assert_array_equal(host(vbackend, g_v), g_l)
    assert_close(host(vbackend, vbackend.where(g_v, va, vbb)), LOOPS.where(g_l, la, lb), dtype)
    assert_close(host(vbackend, vbackend.clip(va, -0.5, 0.5)), LOOPS.clip(la, -0.5, 0.5), dtype)


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, True), (1, True), (1, False)])
def test_reductions(vbackend, dtype, rng, op, axis, keepdims):
    x = rng.standard_normal(SHAPE)
    (lx,), (vx,) = both(vbackend, dtype, x)
    expected = getattr(LOOPS, op)(lx, axis=axis, keepdims=keepdims)
    actual = host(vbackend, getattr(vbackend, op)(vx, axis=axis, keepdims=keepdims))
    assert actual.shape == expected.shape == np.sum(x, axis=axis, keepdims=keepdims).shape
    assert_close(actual, expected, dtype)


def test_argmax_transpose_take_copy(vbackend, dtype, rng):
    x = rng.standard_normal(SHAPE)
    (lx,), (vx,) = both(vbackend, dtype, x)
    np.testing.assert_array_equal(host(vbackend, vbackend.argmax(vx, axis=0)), LOOPS.argmax(lx))
    assert_close(host(vbackend, vbackend.transpose(vx)), LOOPS.transpose(lx), dtype)
    idx = np.array([6, 0, 3, 3, 1])
    assert_close(host(vbackend, vbackend.take_columns(vx, vbackend.asarray(idx))),
                 LOOPS.take_columns(lx, idx), dtype)
    c = vbackend.copy(vx)
    assert_close(host(vbackend, c), x.astype(dtype), dtype)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_take_columns_into_out(vbackend, dtype, rng, layout):
    """``take_columns(X, idx, out=...)`` from course-layout (C) and sample-major (F) data,
    into a buffer of the same layout, a column slice of a larger one, and without ``out``."""
    x = rng.standard_normal((6, 11))
    idx = np.array([10, 0, 3, 3, -1, 7])
    (lx,), _ = both(vbackend, dtype, x)
    expected = LOOPS.take_columns(lx, idx)
    vx = vbackend.asarray(np.asarray(x, dtype=dtype, order=layout))
    if layout == "F":
        vx = vbackend.transpose(vbackend.asarray(np.ascontiguousarray(x.T, dtype=dtype)))
    vidx = vbackend.asarray(idx)
    assert_close(host(vbackend, vbackend.take_columns(vx, vidx)), expected, dtype)
    assert_close(LOOPS.take_columns(lx, idx, out=np.empty((6, 6), dtype)), expected, dtype)
    wide = vbackend.empty((6, 9) if layout == "C" else (9, 6), dtype)
    wide = wide if layout == "C" else vbackend.transpose(wide)
    for out in (vbackend.empty((6, 6), dtype), wide[:, :6]):
        got = vbackend.take_columns(vx, vidx, out=out)
        assert got is out
        assert_close(host(vbackend, out), expected, dtype)


def test_take_columns_out_errors(vbackend):
    x = vbackend.asarray(np.arange(12.0).reshape(3, 4))
    idx = vbackend.asarray(np.array([0, 2]))
    with pytest.raises(ValueError, match=r"out has shape \(2, 2\), expected \(3, 2\)"):
        vbackend.take_columns(x, idx, out=vbackend.empty((2, 2), "float64"))
    with pytest.raises(TypeError, match="out has dtype float32, expected X's float64"):
        vbackend.take_columns(x, idx, out=vbackend.empty((3, 2), "float32"))
    if isinstance(x, np.ndarray):
        with pytest.raises(ValueError, match="out overlaps X"):
            vbackend.take_columns(x, idx, out=x[:, :2])
        with pytest.raises(IndexError, match="index 4 is out of bounds"):
            vbackend.take_columns(x, vbackend.asarray(np.array([0, 4])),
                                  out=vbackend.empty((3, 2), "float64"))


def test_matmul(vbackend, dtype, rng):
    a, b = rng.standard_normal((6, 9)), rng.standard_normal((9, 4))
    (la, lb), (va, vbb) = both(vbackend, dtype, a, b)
    assert_close(host(vbackend, vbackend.matmul(va, vbb)), LOOPS.matmul(la, lb), dtype)


def test_array_creation(vbackend, dtype):
    for fn in ("zeros", "ones"):
        actual = host(vbackend, getattr(vbackend, fn)((3, 2), dtype))
        np.testing.assert_array_equal(actual, getattr(LOOPS, fn)((3, 2), dtype))
        assert actual.dtype == np.dtype(dtype)
    assert vbackend.empty((3, 2), dtype).shape == (3, 2)


def test_random_draws_identical_across_backends(vbackend, dtype):
    a = vbackend.normal(np.random.default_rng(3), (4, 5), dtype, scale=0.5)
    b = LOOPS.normal(np.random.default_rng(3), (4, 5), dtype, scale=0.5)
    np.testing.assert_array_equal(host(vbackend, a), b)
    u = vbackend.uniform(np.random.default_rng(3), (4, 5), dtype)
    if getattr(vbackend, "uniform_on_device", False):
        # Dropout masks on the GPU come from a counter-based generator seeded by one host draw.
        from xpnet.kernels.gpu import uniform_reference
        seed = int(np.random.default_rng(3).integers(0, 2 ** 63))
        expected = uniform_reference(seed, (4, 5), dtype)
    else:
        expected = LOOPS.uniform(np.random.default_rng(3), (4, 5), dtype)
    np.testing.assert_array_equal(host(vbackend, u), expected)


# Every registered activation, loss and optimizer against this same oracle, on every backend:
# tests/test_registries.py (generated from the registries).


def test_linear_backward(vbackend, dtype, rng):
    dZ, A, W = rng.standard_normal((4, 8)), rng.standard_normal((6, 8)), rng.standard_normal((4, 6))
    (ldZ, lA, lW), (vdZ, vA, vW) = both(vbackend, dtype, dZ, A, W)
    ldW, ldb = LOOPS.zeros((4, 6), dtype), LOOPS.zeros((4, 1), dtype)
    vdW, vdb = vbackend.zeros((4, 6), dtype), vbackend.zeros((4, 1), dtype)
    l_prev = LOOPS.linear_backward(ldZ, lA, lW, ldW, ldb)
    v_prev = vbackend.linear_backward(vdZ, vA, vW, vdW, vdb)
    for actual, expected in ((vdW, ldW), (vdb, ldb), (v_prev, l_prev)):
        assert_close(host(vbackend, actual), expected, dtype)
