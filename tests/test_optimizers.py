"""Optimizers: each against a hand-written float64 reference, and how batch_size picks batch,
mini-batch or stochastic gradient descent."""

from __future__ import annotations

import math

import numpy as np
import pytest

import xpnet
from xpnet import backends
from xpnet.network import estimator as estimator_module
from xpnet.network import optimizers, training
from xpnet.network.optimizers import make_optimizer
from xpnet.network.params import FlatParams

LAYOUT = [("W1", (3, 2)), ("b1", (3, 1)), ("W2", (1, 3)), ("b2", (1, 1))]
ALL_BACKENDS = [pytest.param(n, marks=pytest.mark.gpu) if n == "cupy" else n
                for n in backends.available_backends()]


# ------------------------------------------------------------ hand-written references
def ref_gd(theta, grads, lr):
    for g in grads:
        theta = theta - lr * g
    return theta


def ref_momentum(theta, grads, lr, beta=0.9, bias_correction=False):
    v = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        v = beta * v + (1 - beta) * g
        v_used = v / (1 - beta ** t) if bias_correction else v
        theta = theta - lr * v_used
    return theta


def ref_rmsprop(theta, grads, lr, beta=0.9, eps=1e-8):
    s = np.zeros_like(theta)
    for g in grads:
        s = beta * s + (1 - beta) * g ** 2
        theta = theta - lr * g / (np.sqrt(s) + eps)
    return theta


def ref_adam(theta, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    v = np.zeros_like(theta)
    s = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        v = beta1 * v + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g ** 2
        v_hat = v / (1 - beta1 ** t)
        s_hat = s / (1 - beta2 ** t)
        theta = theta - lr * v_hat / (np.sqrt(s_hat) + eps)
    return theta


CASES = {
    "gd": (lambda: make_optimizer("gd"), lambda th, gs, lr: ref_gd(th, gs, lr)),
    "momentum": (lambda: make_optimizer("momentum"), lambda th, gs, lr: ref_momentum(th, gs, lr)),
    "momentum_corrected": (lambda: make_optimizer("momentum", bias_correction=True),
                           lambda th, gs, lr: ref_momentum(th, gs, lr, bias_correction=True)),
    "momentum_beta_0.5": (lambda: make_optimizer("momentum", beta=0.5),
                          lambda th, gs, lr: ref_momentum(th, gs, lr, beta=0.5)),
    "rmsprop": (lambda: make_optimizer("rmsprop"), lambda th, gs, lr: ref_rmsprop(th, gs, lr)),
    # A large epsilon tells "sqrt(S) + eps" (standard) from the seeds' "sqrt(S + eps)".
    "rmsprop_big_eps": (lambda: make_optimizer("rmsprop", beta=0.7, epsilon=0.3),
                        lambda th, gs, lr: ref_rmsprop(th, gs, lr, beta=0.7, eps=0.3)),
    "adam": (lambda: make_optimizer("adam"), lambda th, gs, lr: ref_adam(th, gs, lr)),
    "adam_custom": (lambda: make_optimizer("adam", beta1=0.8, beta2=0.99, epsilon=0.3),
                    lambda th, gs, lr: ref_adam(th, gs, lr, 0.8, 0.99, 0.3)),
}


def run_steps(backend, optimizer, theta0, grads, lr, dtype):
    bk = backends.resolve(backend)
    params = FlatParams(bk, LAYOUT, np.dtype(dtype))
    params.flat[...] = bk.asarray(theta0, dtype=dtype)
    grad_buf = params.zeros_like(prefix="d")
    optimizer.init(params)
    for g in grads:
        grad_buf.flat[...] = bk.asarray(g, dtype=dtype)
        optimizer.step(params, grad_buf, lr)
    return bk.to_numpy(params.flat).astype(np.float64)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_three_steps_match_reference_float64(case, backend):
    rng = np.random.default_rng(11)
    size = sum(int(np.prod(s)) for _, s in LAYOUT)
    theta0 = rng.standard_normal(size)
    grads = [rng.standard_normal(size) * scale for scale in (1.0, 0.1, 3.0)]
    make, ref = CASES[case]
    got = run_steps(backend, make(), theta0, grads, 0.05, "float64")
    expected = ref(theta0, grads, 0.05)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=0)
    assert not np.allclose(got, theta0)  # the steps moved the parameters


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_within_tolerance(case, vbackend):
    rng = np.random.default_rng(12)
    size = sum(int(np.prod(s)) for _, s in LAYOUT)
    theta0 = rng.standard_normal(size).astype(np.float32).astype(np.float64)
    grads = [rng.standard_normal(size).astype(np.float32).astype(np.float64) for _ in range(3)]
    make, ref = CASES[case]
    got = run_steps(vbackend, make(), theta0, grads, 0.01, "float32")
    np.testing.assert_allclose(got, ref(theta0, grads, 0.01), rtol=1.3e-6, atol=1e-5)


def test_state_buffers_follow_the_parameters():
    bk = backends.resolve("numpy")
    params = FlatParams(bk, LAYOUT, np.dtype("float64"))
    grads = params.zeros_like(prefix="d")
    grads.flat[...] = 1.0
    adam = make_optimizer("adam")
    adam.init(params)
    assert set(adam.state()) == {"m", "v"}
    assert all(buf.shape == params.flat.shape for buf in adam.state().values())
    adam.step(params, grads, 0.1)
    adam.step(params, grads, 0.1)
    assert adam.t == 2
    np.testing.assert_allclose(adam.state()["m"], 0.1 + 0.9 * 0.1)
    adam.init(params)  # a new fit starts from zero state
    assert adam.t == 0 and not adam.state()["m"].any()


def test_unknown_optimizer_names_the_choices():
    with pytest.raises(ValueError, match="unknown optimizer 'nesterov'; choose one of "
                                         "gd, momentum, rmsprop, adam, adamw"):
        make_optimizer("nesterov")
    assert tuple(optimizers.OPTIMIZERS) == ("gd", "momentum", "rmsprop", "adam", "adamw")


def test_the_seeds_typos_are_documented():
    """RMSprop and Adam use the standard S update, not the seeds' ``beta * V`` typo."""
    doc = xpnet.ops.optimizers.__doc__
    assert "typo" in doc and "S = beta * S + (1 - beta) * dW^2" in doc


# ------------------------------------------------------------- batch, mini-batch, stochastic
@pytest.mark.parametrize("m,bs,expected", [
    (10, None, [(0, 10)]),
    (10, 4, [(0, 4), (4, 8), (8, 10)]),
    (10, 5, [(0, 5), (5, 10)]),
    (3, 1, [(0, 1), (1, 2), (2, 3)]),
    (5, 64, [(0, 5)]),
])
def test_batch_bounds_keep_the_last_partial_batch(m, bs, expected):
    assert training.batch_bounds(m, bs) == expected


def test_default_batch_size_is_a_power_of_two():
    bs = xpnet.NeuralNetwork().batch_size
    assert bs >= 2 and bs & (bs - 1) == 0


@pytest.fixture
def captured_optimizer(monkeypatch):
    made = []
    original = estimator_module.make_optimizer

    def spy(*args, **kwargs):
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(estimator_module, "make_optimizer", spy)
    return made


@pytest.mark.parametrize("batch_size,steps_per_epoch", [(None, 1), (64, 1), (8, 3), (1, 20)])
def test_batch_size_selects_batch_minibatch_or_stochastic(batch_size, steps_per_epoch,
                                                          captured_optimizer, rng):
    X = rng.standard_normal((20, 3))
    y = (X[:, 0] > 0).astype(int)
    model = xpnet.NeuralNetwork(hidden=(4,), epochs=3, batch_size=batch_size, seed=0,
                                optimizer="gd", backend="numpy").fit(X, y)
    assert captured_optimizer[-1].t == 3 * steps_per_epoch
    assert model.n_epochs_ == 3


def test_minibatches_are_reshuffled_each_epoch_from_the_seed(monkeypatch, rng):
    """Each epoch visits every example once, in a new order; the same seed repeats the orders."""
    X = np.arange(12, dtype=np.float64).reshape(12, 1) * np.ones((1, 2))
    y = np.arange(12) % 2

    def orders(seed):
        seen = []
        original = training.forward

        def spy(Xb, *args, **kwargs):
            seen.append(np.asarray(Xb)[0].copy())
            return original(Xb, *args, **kwargs)

        monkeypatch.setattr(training, "forward", spy)
        xpnet.NeuralNetwork(hidden=(2,), epochs=3, batch_size=5, seed=seed, normalize=False,
                            backend="numpy", dtype="float64").fit(X, y)
        monkeypatch.setattr(training, "forward", original)
        assert [len(b) for b in seen] == [5, 5, 2] * 3  # the last partial batch is kept
        return [np.concatenate(seen[i:i + 3]) for i in (0, 3, 6)]

    first = orders(seed=4)
    for epoch in first:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(12))
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    again = orders(seed=4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    other = orders(seed=5)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def _epoch_state(bk, dims=(6, 5, 3), batch_size=8, seed=0):
    from types import SimpleNamespace

    from xpnet.network.model import Architecture, initialize_bn_state, initialize_parameters
    arch = Architecture(dims, hidden_activation="tanh", output_activation="softmax")
    params = initialize_parameters(arch, init="he", seed=seed, dtype="float64", backend=bk)
    state = SimpleNamespace(bk=bk, arch=arch, params=params, grads=params.zeros_like(prefix="d"),
                            bn_state=initialize_bn_state(arch, params), l2=0.0,
                            optimizer=make_optimizer("adam"), batch_size=batch_size)
    state.optimizer.init(params)
    return state


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_course_layout_and_sample_major_data_train_identically(backend, rng):
    """run_epoch gathers each batch from a sample-major copy of C-order data (made once per fit)
    or from sample-major data itself: the same batches, so bit-for-bit the same training."""
    bk = backends.resolve(backend)
    X = rng.standard_normal((6, 43))
    Y = np.eye(3)[:, rng.integers(0, 3, 43)]
    runs = []
    for layout in ("C", "F"):
        state = _epoch_state(bk)
        Xd = bk.asarray(X) if layout == "C" else bk.transpose(bk.asarray(X.T.copy()))
        Yd = bk.asarray(Y)
        g = np.random.default_rng(7)
        costs = [training.run_epoch(state, Xd, Yd, 0.01, g) for _ in range(3)]
        copy, buf = state.batch_data[id(Xd)][1:]
        if layout == "F" and backend != "loops":
            assert copy is Xd                     # no copy of sample-major data
        assert tuple(buf.shape) == (6, 8)         # one batch buffer, reused every step
        runs.append((costs, bk.to_numpy(state.params.flat)))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_each_batch_is_gathered_into_the_same_buffer(monkeypatch, rng):
    """The estimator's device copy of X is sample-major, and every step's X batch is a view of
    one (n[0], batch_size) buffer; no full-size shuffled copy of the data is made."""
    seen = []
    original = training.forward

    def spy(Xb, *args, **kwargs):
        seen.append(Xb)
        return original(Xb, *args, **kwargs)

    monkeypatch.setattr(training, "forward", spy)
    X = rng.standard_normal((50, 4))
    xpnet.NeuralNetwork(hidden=(3,), epochs=2, batch_size=16, seed=0, backend="numpy",
                        dtype="float64").fit(X, (X[:, 0] > 0).astype(int))
    assert [b.shape[1] for b in seen] == [16, 16, 16, 2] * 2
    base = seen[0].base if seen[0].base is not None else seen[0]
    assert all(np.shares_memory(b, base) for b in seen)
    assert base.size == 4 * 16
    assert all(b.flags.f_contiguous for b in seen)


@pytest.mark.parametrize("optimizer,lr", [("gd", 0.5), ("momentum", 0.5), ("rmsprop", 0.01),
                                          ("adam", 0.01)])
def test_every_optimizer_lowers_the_cost(optimizer, lr, rng):
    X = rng.standard_normal((120, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    model = xpnet.NeuralNetwork(hidden=(8,), epochs=20, batch_size=32, optimizer=optimizer,
                                learning_rate=lr, seed=0, backend="numpy").fit(X, y)
    cost = model.history_["cost"]
    assert cost[-1] < 0.7 * cost[0]
    assert model.score(X, y) > 0.9


def test_momentum_settings_reach_the_estimator(captured_optimizer, rng):
    X = rng.standard_normal((16, 2))
    y = (X[:, 0] > 0).astype(int)
    kw = dict(hidden=(2,), epochs=2, optimizer="momentum", beta=0.8, seed=0, backend="numpy",
              dtype="float64")
    plain = xpnet.NeuralNetwork(**kw).fit(X, y)
    assert math.isclose(captured_optimizer[-1].beta, 0.8)
    assert captured_optimizer[-1].bias_correction is False
    corrected = xpnet.NeuralNetwork(bias_correction=True, **kw).fit(X, y)
    assert captured_optimizer[-1].bias_correction is True
    assert corrected.history_["cost"][0] == plain.history_["cost"][0]
    assert corrected.history_["cost"][1] != plain.history_["cost"][1]
    with pytest.raises(TypeError, match="bias_correction"):
        xpnet.NeuralNetwork(bias_correction="yes", **kw).fit(X, y)
