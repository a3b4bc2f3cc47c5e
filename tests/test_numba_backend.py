"""The ``numba`` backend against the ``numpy`` backend: every op, both dtypes, the parallel
kernels, the extremes, the optimizer updates and 5-epoch training runs.

float64 within rtol 1e-7; float32 within rtol 1.3e-6, atol 1e-5 (``conftest.TOL``). Shapes stay
small: the kernels compile once (``cache=True``) and every test reuses them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

numba = pytest.importorskip("numba")
pytestmark = pytest.mark.numba

import xpnet  # noqa: E402
from conftest import ROOT, TOL, assert_close  # noqa: E402
from xpnet.backends import ACTIVATIONS, resolve  # noqa: E402
from xpnet.backends.numba_backend import NumbaBackend  # noqa: E402
from xpnet.datasets import load_digits  # noqa: E402
from xpnet.kernels import cpu as K  # noqa: E402
from xpnet.kernels import cpu_accuracy  # noqa: E402
from xpnet.ops import activations as xact, losses as xloss, optimizers as xopt  # noqa: E402

NP = resolve("numpy")
NB = resolve("numba")
NB_PARALLEL = NumbaBackend(parallel_min=0)  # every kernel through its prange twin
BACKENDS = [pytest.param(NB, id="serial"), pytest.param(NB_PARALLEL, id="parallel")]
SHAPE = (6, 9)


def pair(dtype, *host):
    """The same host arrays as numpy-backend arrays and as numba-backend arrays."""
    return ([NP.asarray(h, dtype=dtype) for h in host],
            [NB.asarray(h, dtype=dtype) for h in host])


@pytest.fixture
def data(rng):
    Z = rng.standard_normal(SHAPE) * 3
    Z[0, :4] = [0.0, -0.0, 1e-3, -1e-3]
    return Z, rng.standard_normal(SHAPE), rng.standard_normal((SHAPE[0], 1))


def test_registered_and_named():
    assert NB.name == "numba" and NB.device == "cpu"
    assert isinstance(NB, NumbaBackend)
    assert "numba" in xpnet.available_backends()


def test_inherited_ops_match_numpy(dtype, data):
    """The ops the numba backend takes from ArrayBackend unchanged: same answers as numpy."""
    Z, dA, b = data
    (nZ, ndA, nb), (kZ, kdA, kb) = pair(dtype, Z, np.abs(dA) + 0.5, b)
    for op in ("add", "subtract", "multiply", "divide", "maximum"):
        assert_close(getattr(NB, op)(kZ, kb), getattr(NP, op)(nZ, nb), dtype)
    for op in ("exp", "log", "log1p", "sqrt", "square", "abs"):
        x_nb, x_np = (kdA, ndA) if op in ("log", "log1p", "sqrt") else (kZ, nZ)
        assert_close(getattr(NB, op)(x_nb), getattr(NP, op)(x_np), dtype)
    for op in ("sum", "mean", "max"):
        for axis in (None, 0, 1):
            assert_close(getattr(NB, op)(kZ, axis=axis, keepdims=True),
                         getattr(NP, op)(nZ, axis=axis, keepdims=True), dtype)
    assert_close(NB.matmul(kZ, kdA.T), NP.matmul(nZ, ndA.T), dtype)
    assert_close(NB.clip(kZ, -1, 1), NP.clip(nZ, -1, 1), dtype)
    assert_close(NB.where(NB.greater(kZ, 0), kZ, kdA), NP.where(NP.greater(nZ, 0), nZ, ndA),
                 dtype)
    np.testing.assert_array_equal(NB.argmax(kZ), NP.argmax(nZ))
    assert NB.item(NB.sum(kZ)) == pytest.approx(NP.item(NP.sum(nZ)), rel=TOL[dtype]["rtol"])


@pytest.mark.parametrize("bk", BACKENDS)
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_forward_backward(bk, dtype, data, act):
    Z, dA, _ = data
    A_np = xact.forward(NP, act, NP.asarray(Z, dtype), 0.05)
    A_nb = xact.forward(bk, act, bk.asarray(Z, dtype), 0.05)
    assert A_nb.dtype == np.dtype(dtype) and A_nb.shape == SHAPE
    assert_close(A_nb, A_np, dtype)
    dZ_np = xact.backward(NP, act, NP.asarray(dA, dtype), NP.asarray(Z, dtype), A_np, 0.05)
    dZ_nb = xact.backward(bk, act, bk.asarray(dA, dtype), bk.asarray(Z, dtype), A_nb, 0.05)
    assert dZ_nb.dtype == np.dtype(dtype)
    assert_close(dZ_nb, dZ_np, dtype)


@pytest.mark.parametrize("bk", BACKENDS)
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_linear_activation_forward(bk, dtype, rng, act):
    W, A, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 11)), rng.standard_normal((5, 1))
    (nW, nA, nb), (kW, kA, kb) = pair(dtype, W, A, b)
    Z_np, A_np = xact.linear_activation_forward(NP, nW, nA, nb, act, 0.02)
    Z_nb, A_nb = xact.linear_activation_forward(bk, kW, kA, kb, act, 0.02)
    assert_close(Z_nb, Z_np, dtype)
    assert_close(A_nb, A_np, dtype)
    assert A_nb.dtype == np.dtype(dtype)


def test_softmax_with_large_biases(dtype, rng):
    """The column max is taken after the bias add: a row-0 bias of -1000 must not matter."""
    W, A = rng.standard_normal((3, 4)), np.abs(rng.standard_normal((4, 5))) + 1
    W[0] = 100.0  # row 0 of W A_prev is >= 400 before its bias, far below the others after
    for b in ([[-1000.0], [0.0], [0.0]], [[0.0], [0.0], [1000.0]], [[500.0], [-500.0], [0.0]]):
        (nW, nA, nb), (kW, kA, kb) = pair(dtype, W, A, np.array(b))
        _, expected = xact.linear_activation_forward(NP, nW, nA, nb, "softmax")
        _, actual = xact.linear_activation_forward(NB_PARALLEL, kW, kA, kb, "softmax")
        assert np.isfinite(actual).all()
        assert_close(actual, expected, dtype)
        _, actual = xact.linear_activation_forward(NB, kW, kA, kb, "softmax")
        assert_close(actual, expected, dtype)


def test_linear_activation_forward_strided_input_and_no_bias(dtype, rng):
    W, X = rng.standard_normal((4, 6)), rng.standard_normal((6, 20))
    (nW, nX), (kW, kX) = pair(dtype, W, X)
    Z_np, A_np = xact.linear_activation_forward(NP, nW, nX[:, 3:11], None, "tanh")
    Z_nb, A_nb = xact.linear_activation_forward(NB, kW, kX[:, 3:11], None, "tanh")
    assert_close(Z_nb, Z_np, dtype)
    assert_close(A_nb, A_np, dtype)


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_activation_any_layout_and_rank(dtype, rng, act):
    """Non-contiguous, 1-D and 3-D inputs give NumPy's answer (kernel or fallback)."""
    Z3, dA3 = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 4, 5))
    for Z, dA in ((Z3, dA3), (Z3[:, :, 0], dA3[:, :, 0]), (Z3[0, 0], dA3[0, 0]),
                  (Z3.reshape(12, 5).T, dA3.reshape(12, 5).T)):
        (nZ, ndA), (kZ, kdA) = pair(dtype, Z, dA)
        nA, kA = xact.forward(NP, act, nZ), xact.forward(NB, act, kZ)
        assert kA.shape == nA.shape
        assert_close(kA, nA, dtype)
        assert_close(xact.backward(NB, act, kdA, kZ, kA),
                     xact.backward(NP, act, ndA, nZ, nA), dtype)


def test_unknown_activation_raises():
    Z = NB.zeros((2, 3), "float32")
    for call in (lambda: xact.forward(NB, "swish", Z),
                 lambda: xact.backward(NB, "swish", Z, Z, Z),
                 lambda: xact.linear_activation_forward(NB, NB.ones((2, 2), "float32"), Z[:2],
                                                        NB.zeros((2, 1), "float32"), "swish")):
        with pytest.raises(ValueError, match="unknown activation 'swish'"):
            call()


@pytest.mark.parametrize("with_db", [True, False])
@pytest.mark.parametrize("need_dA_prev", [True, False])
def test_linear_backward(dtype, rng, with_db, need_dA_prev):
    dZ, A, W = rng.standard_normal((4, 9)), rng.standard_normal((6, 9)), rng.standard_normal((4, 6))
    (ndZ, nA, nW), (kdZ, kA, kW) = pair(dtype, dZ, A, W)
    outs = []
    for bk, args in ((NP, (ndZ, nA, nW)), (NB, (kdZ, kA, kW))):
        dW, db = bk.zeros((4, 6), dtype), bk.zeros((4, 1), dtype) if with_db else None
        prev = bk.linear_backward(*args, dW, db, need_dA_prev=need_dA_prev)
        outs.append((dW, db, prev))
    (dW_np, db_np, prev_np), (dW_nb, db_nb, prev_nb) = outs
    assert_close(dW_nb, dW_np, dtype)
    if with_db:
        assert_close(db_nb, db_np, dtype)
    if need_dA_prev:
        assert_close(prev_nb, prev_np, dtype)
    else:
        assert prev_nb is None


@pytest.mark.parametrize("shape", [(10, 128, 128), (64, 128, 256)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_linear_backward_scratch_layouts(dtype, rng, shape, order):
    """``dZ / m`` goes column-major for small products (``_SMALL_DW``) and row-major above, and
    a sample-major ``A_prev`` (the gathered batch) keeps it row-major; each layout and shape
    keeps its own scratch array, so alternating shapes cannot mix results."""
    n, p, m = shape
    host = [(rng.standard_normal((n, m)), rng.standard_normal((p, m)),
             rng.standard_normal((n, p))) for _ in range(2)]
    for dZ, A, W in host + host[:1]:
        (ndZ, nA, nW), (kdZ, kA, kW) = pair(dtype, dZ, A, W)
        kA = np.asarray(kA, order=order)
        outs = []
        for bk, args in ((NP, (ndZ, nA, nW)), (NB, (kdZ, kA, kW))):
            dW, db = bk.zeros((n, p), dtype), bk.zeros((n, 1), dtype)
            outs.append((dW, db, bk.linear_backward(*args, dW, db)))
        for got, expected in zip(outs[1], outs[0]):
            assert_close(got, expected, dtype)


@pytest.mark.parametrize("loss", ["binary_crossentropy", "categorical_crossentropy", "mse"])
def test_loss_and_output_delta(dtype, rng, loss):
    n = 1 if loss == "binary_crossentropy" else 4
    Z = rng.standard_normal((n, 40)) * 4
    if loss == "categorical_crossentropy":
        Y, act = np.eye(n)[:, rng.integers(0, n, 40)], "softmax"
    elif loss == "binary_crossentropy":
        Y, act = (rng.random((1, 40)) > 0.5).astype(float), "sigmoid"
    else:
        Y, act = rng.standard_normal((n, 40)), "linear"
    big_Y = np.concatenate([Y, Y], axis=1)   # the loss sees a column slice, like in training
    (nZ, nY), (kZ, kY) = pair(dtype, Z, big_Y)
    nY, kY = nY[:, 40:], kY[:, 40:]
    nA, kA = xact.forward(NP, act, nZ), xact.forward(NB, act, kZ)
    cost = xloss.value(NB, loss, kZ, kA, kY)
    assert cost.shape == () and cost.dtype == np.dtype(dtype)
    assert_close(NB.item(cost), NP.item(xloss.value(NP, loss, nZ, nA, nY)), dtype)
    assert_close(xloss.delta(NB, loss, None, kA, kY), xloss.delta(NP, loss, None, nA, nY), dtype)


def test_unknown_loss_raises():
    Z = NB.zeros((2, 3), "float64")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        xloss.value(NB, "hinge", Z, Z, Z)


@pytest.mark.parametrize("bk", BACKENDS)
def test_take_columns(bk, dtype, rng):
    X = rng.standard_normal((5, 30))
    idx = rng.permutation(30)
    idx[:3] = [-1, -30, 29]
    (nX,), (kX,) = pair(dtype, X)
    out = bk.take_columns(kX, bk.asarray(idx))
    np.testing.assert_array_equal(out, NP.take_columns(nX, NP.asarray(idx)))
    strided = bk.take_columns(kX[:, ::2], bk.asarray(np.array([0, 14, 3])))
    np.testing.assert_array_equal(strided, nX[:, ::2][:, [0, 14, 3]])
    for bad in (30, -31):
        with pytest.raises(IndexError, match=f"index {bad} is out of bounds"):
            bk.take_columns(kX, np.array([0, bad]))


def _run_updates(bk, dtype, method, n=50, steps=4, **hp):
    rng = np.random.default_rng(5)
    theta = bk.asarray(rng.standard_normal(n), dtype=dtype)
    states = [bk.zeros((n,), dtype) for _ in range({"sgd": 0, "momentum": 1, "rmsprop": 1,
                                                    "adam": 2}[method])]
    for t in range(1, steps + 1):
        grad = bk.asarray(rng.standard_normal(n) * 0.1, dtype=dtype)
        if method == "sgd":
            xopt.update(bk, "gd", theta, grad, {}, 0.1, 1)
        elif method == "momentum":
            xopt.update(bk, "momentum", theta, grad, {"v": states[0]}, 0.1, t, beta=0.9, **hp)
        elif method == "rmsprop":
            xopt.update(bk, "rmsprop", theta, grad, {"s": states[0]}, 0.01, 1, beta=0.9,
                        epsilon=1e-8)
        else:
            xopt.update(bk, "adam", theta, grad, {"m": states[0], "v": states[1]}, 0.01, t,
                        beta1=0.9, beta2=0.999, epsilon=1e-8)
    return [np.array(a) for a in [theta] + states]


@pytest.mark.parametrize("bk", BACKENDS)
@pytest.mark.parametrize("method,hp", [("sgd", {}), ("momentum", {}),
                                       ("momentum", {"bias_correction": True}),
                                       ("rmsprop", {}), ("adam", {})])
def test_optimizer_updates(bk, dtype, method, hp):
    for actual, expected in zip(_run_updates(bk, dtype, method, **hp),
                                _run_updates(NP, dtype, method, **hp)):
        assert_close(actual, expected, dtype)


def test_optimizer_update_over_a_flat_params_buffer(dtype):
    """One kernel call updates every layer: the views of FlatParams see the new values."""
    arch = xpnet.Architecture((3, 4, 2), output_activation="softmax")
    got = {}
    for bk in (NP, NB):
        params = xpnet.initialize_parameters(arch, seed=0, dtype=dtype, backend=bk)
        grads = params.zeros_like(prefix="d")
        grads.flat[...] = bk.asarray(np.linspace(-1, 1, params.size), dtype=dtype)
        opt = xpnet.network.optimizers.make_optimizer("adam")
        opt.init(params)
        for _ in range(3):
            opt.step(params, grads, 0.01)
        got[bk.name] = params.to_numpy()
    for name in got["numpy"]:
        assert_close(got["numba"][name], got["numpy"][name], dtype)


@pytest.mark.parametrize("dtype_", ["float32", "float64"])
def test_adam_flushes_subnormal_moments(dtype_):
    """A dead unit's m decays into subnormals: stored as 0, parameters as NumPy's."""
    f = np.dtype(dtype_).type
    tiny = np.finfo(dtype_).tiny
    theta = np.full(4, 0.5, dtype_)
    m = np.array([tiny * 100, tiny * 2, 1e-3, -tiny * 5], dtype_)  # floor: tiny / step ~ 650 tiny
    v = np.full(4, 1e-6, dtype_)
    grad = np.zeros(4, dtype_)
    theta_np, m_np, v_np = theta.copy(), m.copy(), v.copy()
    xopt.update(NB, "adam", theta, grad, {"m": m, "v": v}, 1e-3, 10)
    xopt.update(NP, "adam", theta_np, grad, {"m": m_np, "v": v_np}, 1e-3, 10)
    assert m[0] == 0 and m[1] == 0 and m[3] == 0 and m[2] == f(m_np[2])
    np.testing.assert_allclose(theta, theta_np, **TOL[dtype_])
    np.testing.assert_allclose(v, v_np, **TOL[dtype_])


def test_optimizer_nan_propagates():
    theta, grad = np.zeros(5, np.float32), np.array([0, np.nan, 1, 2, 3], np.float32)
    m, v = np.zeros(5, np.float32), np.zeros(5, np.float32)
    xopt.update(NB, "adam", theta, grad, {"m": m, "v": v}, 1e-3, 1)
    assert np.isnan(theta[1]) and np.isfinite(theta[[0, 2, 3, 4]]).all()


# ------------------------------------------------------------------------- extremes
Z_EXT = np.array([[-1000.0, -88.0, -30.0, 0.0, 30.0, 88.0, 1000.0]])


@pytest.mark.parametrize("bk", BACKENDS)
@pytest.mark.parametrize("act", ["sigmoid", "tanh", "softmax", "relu", "leaky_relu"])
def test_extremes_finite_and_match_numpy(bk, dtype, act):
    Z = np.concatenate([Z_EXT, -Z_EXT, np.zeros_like(Z_EXT)])
    (nZ,), (kZ,) = pair(dtype, Z)
    A = xact.forward(bk, act, kZ)
    dZ = xact.backward(bk, act, bk.ones(Z.shape, dtype), kZ, A)
    assert np.isfinite(A).all() and np.isfinite(dZ).all()
    nA = xact.forward(NP, act, nZ)
    assert_close(A, nA, dtype)
    assert_close(dZ, xact.backward(NP, act, NP.ones(Z.shape, dtype), nZ, nA), dtype)


def test_extreme_losses(dtype):
    Z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    kZ = NB.asarray(Z, dtype)
    A = xact.forward(NB, "softmax", kZ)
    cce = "categorical_crossentropy"
    assert NB.item(xloss.value(NB, cce, kZ, A, NB.asarray(np.eye(2), dtype))) == 0
    wrong = NB.item(xloss.value(NB, cce, kZ, A, NB.asarray(np.eye(2)[::-1], dtype)))
    np.testing.assert_allclose(wrong, 2000.0, rtol=1e-6)
    Zb = NB.asarray(Z_EXT, dtype)
    Ab = xact.forward(NB, "sigmoid", Zb)
    for Y in (np.ones_like(Z_EXT), np.zeros_like(Z_EXT)):
        cost = NB.item(xloss.value(NB, "binary_crossentropy", Zb, Ab, NB.asarray(Y, dtype)))
        assert np.isfinite(cost)
        expected = xloss.value(NP, "binary_crossentropy", Zb, Ab, NB.asarray(Y, dtype))
        assert_close(cost, NP.item(expected), dtype)


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu", "softmax"])
def test_nan_propagates_through_activations(act):
    Z = np.array([[0.5, np.nan], [1.0, 2.0]], np.float32)
    A = xact.forward(NB, act, Z)
    assert np.isnan(A[:, 1]).any() and np.isfinite(A[:, 0]).all()


def test_nan_propagates_through_losses():
    Z = np.array([[0.5, np.nan], [1.0, 2.0]], np.float32)
    Y = np.eye(2, dtype=np.float32)
    A = xact.forward(NB, "softmax", Z)
    assert np.isnan(NB.item(xloss.value(NB, "categorical_crossentropy", Z, A, Y)))
    assert np.isnan(NB.item(xloss.value(NB, "binary_crossentropy", Z[:1], Z[:1], Y[:1])))


# ------------------------------------------------------------------ approximations
# The bounds docs/numba.md quotes (exhaustive, every float32 input) with a little headroom.
BOUNDS = {"exp_nonpos": 8.5e-8, "tanh": 3.0e-7, "sigmoid": 1.8e-7}


def test_float32_approximations_within_documented_bounds():
    for name, (err, x) in cpu_accuracy.sampled(1 << 18).items():
        assert err <= BOUNDS[name], f"{name} relative error {err:.3e} at x = {x!r}"


def test_tanh_approximation_edges():
    """Constant +-1 from the clamp on (exactly, where FMA contracts the rational; never above
    1 below it), odd, within the bound for tiny and subnormal x, NaN propagates."""
    below = np.arange(np.float32(7.5).view(np.uint32), K._TANH_CLAMP.view(np.uint32),
                      dtype=np.uint32).view(np.float32)
    big = np.array([K._TANH_CLAMP, 8.0, 9.0, 20.0, 1e30, np.inf], np.float32)
    tiny = np.array([1e-45, 1e-38, 1e-20, 1e-5], np.float32)
    x = np.concatenate([below, big, tiny, [0.0, np.nan]]).astype(np.float32)
    t = xact.forward(NB, "tanh", np.stack([x, -x]))
    assert (t[0, :below.size] <= 1).all() and (t[0, :below.size] >= 0.9999).all()
    k = below.size
    sat = t[0, k:k + big.size]
    assert (sat == sat[0]).all() and 1 - 1.2e-7 <= sat[0] <= 1   # exactly 1 with FMA
    k += big.size
    np.testing.assert_allclose(t[0, k:k + tiny.size], tiny, rtol=BOUNDS["tanh"], atol=0)
    np.testing.assert_array_equal(t[1], -t[0])
    assert np.isnan(t[:, -1]).all() and t[0, -2] == 0


def test_exp_approximation_edges():
    x = np.array([[0.0, -0.0, -1e-30, -87.3, -87.4, -1000.0, -np.inf, np.nan]], np.float32)
    A = xact.forward(NB, "softmax", np.concatenate([x, np.zeros_like(x)]))
    np.testing.assert_allclose(A[0, :2], [0.5, 0.5], rtol=1e-7)
    assert np.isnan(A[:, -1]).all()
    sig = xact.forward(NB, "sigmoid", x)
    assert sig[0, 0] == 0.5 and sig[0, 5] == 0.0 and sig[0, 6] == 0.0
    assert 0 < sig[0, 3] < 1e-37


# --------------------------------------------------------------------- training runs
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X[:600], y[:600]


CASES = [  # (hidden activation, optimizer, task)
    ("relu", "adam", "multiclass"), ("tanh", "rmsprop", "binary"),
    ("sigmoid", "momentum", "regression"), ("leaky_relu", "gd", "multiclass")]


@pytest.mark.parametrize("activation,optimizer,task", CASES)
def test_five_epoch_training_matches_numpy_float64(digits, activation, optimizer, task):
    X, y = digits
    if task == "binary":
        y = (y >= 5).astype(int)
    histories, params = [], []
    for backend in ("numpy", "numba"):
        cls = xpnet.NeuralNetworkRegressor if task == "regression" else xpnet.NeuralNetwork
        target = y.astype(float) / 9 if task == "regression" else y
        model = cls(hidden=(32, 16), activation=activation, optimizer=optimizer,
                    batch_size=64, epochs=5, seed=3, dtype="float64", backend=backend)
        model.fit(X, target)
        histories.append(model.history_["cost"])
        params.append(model.parameters_)
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-7, atol=0)
    for name in params[0]:
        np.testing.assert_allclose(params[1][name], params[0][name], rtol=1e-7, atol=1e-12)


def test_float32_training_close_to_numpy(digits):
    X, y = digits
    costs = [xpnet.NeuralNetwork(hidden=(32,), batch_size=64, epochs=5, seed=0,
                                 backend=b).fit(X, y).history_["cost"] for b in ("numpy", "numba")]
    np.testing.assert_allclose(costs[1], costs[0], rtol=1e-4)


# ------------------------------------------------------------- threads, cache, import
def test_parallel_min_setting(monkeypatch):
    monkeypatch.setenv("XPNET_NUMBA_PARALLEL_MIN", "12345")
    assert NumbaBackend().parallel_min == 12345
    monkeypatch.setenv("XPNET_NUMBA_PARALLEL_MIN", "off")
    assert NumbaBackend().parallel_min is None
    monkeypatch.setenv("XPNET_NUMBA_PARALLEL_MIN", "lots")
    with pytest.raises(ValueError, match="XPNET_NUMBA_PARALLEL_MIN must be a whole number"):
        NumbaBackend()
    monkeypatch.setenv("XPNET_NUMBA_PARALLEL_MIN", "-1")
    with pytest.raises(ValueError, match=">= 0"):
        NumbaBackend()


@pytest.mark.parametrize("user_policy", [None, "ACTIVE"])
def test_thread_pool_starts_with_passive_openmp_wait(monkeypatch, user_policy):
    """The pool is launched (by ``numba.get_num_threads``) with OMP_WAIT_POLICY=PASSIVE in the
    environment unless the user chose a policy; the variable is gone again afterwards."""
    from xpnet.backends import numba_backend
    seen = []

    def launch():
        seen.append(os.environ.get("OMP_WAIT_POLICY"))
        return 2

    monkeypatch.setattr(numba_backend, "_threads_started", False)
    monkeypatch.setattr(numba_backend.numba, "get_num_threads", launch)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    if user_policy is None:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    else:
        monkeypatch.setenv("OMP_WAIT_POLICY", user_policy)
    bk = NumbaBackend(parallel_min=100)
    assert not bk._parallel(99) and seen == []       # small arrays never start the pool
    assert bk._parallel(100)
    assert seen[0] == (user_policy or "PASSIVE")
    assert os.environ.get("OMP_WAIT_POLICY") == user_policy
    bk._parallel(100)
    assert seen[1:] == [user_policy] * 2              # launched once; later calls only ask


def test_kernels_are_cached_on_disk():
    for kernel in (K.forward_rows, K.backward_rows, K.softmax_cols, K.adam_range, K.adam_parallel,
                   K.take_columns_rows, K.categorical_crossentropy):
        assert type(kernel._cache).__name__ == "FunctionCache", kernel


_CACHE_SNIPPET = """
import numpy as np
from xpnet.kernels import cpu as K
theta, grad = np.zeros(3), np.ones(3)
K.sgd_range(theta, grad, 0.5, 0, 3)
assert theta.tolist() == [-0.5] * 3
s = K.sgd_range.stats
print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))
"""


def test_second_process_loads_from_cache(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)
    runs = [subprocess.run([sys.executable, "-c", _CACHE_SNIPPET], env=env, cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
            for _ in range(2)]
    assert [int(x) for x in runs[0]] == [0, 1]  # compiled and saved
    assert [int(x) for x in runs[1]] == [1, 0]  # loaded, not compiled


def test_import_xpnet_does_not_import_numba():
    code = ("import sys, xpnet; xpnet.NeuralNetwork(); "
            "print('numba' in sys.modules, 'xpnet.kernels.cpu' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=ROOT),
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


# ------------------------------------------------- the numpy backend's scratch buffers
@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_numpy_results_never_alias_scratch(act):
    rng = np.random.default_rng(1)
    Z, dA = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    A1 = xact.forward(NP, act, Z)
    dZ1 = xact.backward(NP, act, dA, Z, A1)
    keep = A1.copy(), dZ1.copy()
    A2 = xact.forward(NP, act, -Z)
    dZ2 = xact.backward(NP, act, -dA, -Z, A2)
    assert not np.shares_memory(A1, A2) and not np.shares_memory(dZ1, dZ2)
    np.testing.assert_array_equal(A1, keep[0])
    np.testing.assert_array_equal(dZ1, keep[1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_mask_matches_numpy_bit_for_bit(dtype):
    """One fused pass from the host draws gives the generic path's mask, and a recorded draw
    redone takes the next draws of the same Generator."""
    from xpnet.backends.cpu_replay import ReplayStep

    for kp in (0.5, 0.8, 1 / 3, 0.999):
        ref_rng, rng = np.random.default_rng(7), np.random.default_rng(7)
        masks = []
        runner = ReplayStep(NB, lambda: masks.append(NB.dropout_mask(rng, (33, 17), kp, dtype)))
        for _ in range(4):
            runner()
            expected = NP.dropout_mask(ref_rng, (33, 17), kp, dtype)
            assert masks[-1].dtype == expected.dtype
            np.testing.assert_array_equal(masks[-1], expected)
        assert runner.mode == "replaying"
        kept = masks[-1] != 0
        assert set(np.unique(masks[-1]).tolist()) <= {0.0, float(np.dtype(dtype).type(1 / kp))}
        assert 0 < kept.mean() <= 1


@pytest.mark.parametrize("bk", BACKENDS)
@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("out_dtype", [np.float32, np.float64])
def test_standardize_matches_numpy_bit_for_bit(bk, x_dtype, out_dtype):
    """The estimators' input scaling: one pass per row in float64, the same bits as NumPy's
    chunked subtract and divide (no reciprocal, no FMA), extremes included."""
    from xpnet.network.data import standardize

    rng = np.random.default_rng(3)
    X = (rng.standard_normal((37, 11)) * 1e3).astype(x_dtype)
    X[0, :3] = [3e38, -3e38, 1e-30]
    mean = X.astype(np.float64).mean(axis=0)
    std = np.abs(rng.standard_normal(11)) * 7 + 1e-3
    for rows in (X, X[:1], X[5:9]):
        got = bk.standardize(rows, mean, std, out_dtype)
        expected = standardize(rows, mean, std, out_dtype)
        assert got.dtype == out_dtype and got.flags.c_contiguous
        np.testing.assert_array_equal(got, expected)
    fortran = np.asfortranarray(X)  # not a kernel layout: the NumPy chunks
    np.testing.assert_array_equal(bk.standardize(fortran, mean, std, out_dtype),
                                  standardize(X, mean, std, out_dtype))


def test_column_stats_kernel_has_numpys_bits():
    """The estimators' input statistics: one fused pass each on numba, the same bits as the
    NumPy row chunks (row order, chunk sums), at chunk boundaries and in both dtypes."""
    from xpnet.network.data import CHUNK_ROWS, column_stats
    rng = np.random.default_rng(3)
    for m in (1, CHUNK_ROWS - 1, CHUNK_ROWS, 2 * CHUNK_ROWS + 5):
        for dtype in (np.float32, np.float64):
            X = (rng.standard_normal((m, 13)) * 100 + 7).astype(dtype)
            mean, var = NB.column_stats(X)
            ref_mean, ref_var = column_stats(X)
            np.testing.assert_array_equal(mean, ref_mean)
            np.testing.assert_array_equal(var, ref_var)
    w = rng.random(50)
    X = rng.standard_normal((50, 4))
    np.testing.assert_array_equal(NB.column_stats(X, w)[1], column_stats(X, weights=w)[1])
