"""Batch normalization: the course's formulas, its gradients, running statistics at inference,
and training with every optimizer on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet
from xpnet import backends
from xpnet.network import Architecture, gradient_check
from xpnet.network import batchnorm as bn
from xpnet.network.model import forward, initialize_bn_state, initialize_parameters

CPU_BACKENDS = [n for n in backends.available_backends() if n != "cupy"]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_forward_train_matches_the_course_formulas(backend, rng):
    bk = backends.resolve(backend)
    Z = rng.normal(3.0, 2.0, (4, 9))
    gamma = rng.uniform(0.5, 2.0, (4, 1))
    beta = rng.standard_normal((4, 1))
    eps = 1e-5
    Zt, _, mu, var = bn.forward_train(bk, bk.asarray(Z, "float64"), bk.asarray(gamma, "float64"),
                                      bk.asarray(beta, "float64"), eps)
    mu_ref = Z.mean(axis=1, keepdims=True)
    var_ref = ((Z - mu_ref) ** 2).mean(axis=1, keepdims=True)
    Z_norm = (Z - mu_ref) / np.sqrt(var_ref + eps)
    np.testing.assert_allclose(bk.to_numpy(mu), mu_ref, rtol=1e-12)
    np.testing.assert_allclose(bk.to_numpy(var), var_ref, rtol=1e-12)
    np.testing.assert_allclose(bk.to_numpy(Zt), gamma * Z_norm + beta, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_gradient_check_with_batch_norm(backend, rng):
    X = rng.standard_normal((3, 6))
    Y = np.eye(3)[:, rng.integers(0, 3, 6)]
    arch = Architecture((3, 4, 3, 3), "relu", "softmax", batch_norm=True)
    assert gradient_check(X, Y, arch, seed=6, backend=backend) < 1e-7


def test_gradient_check_with_batch_norm_l2_and_dropout(rng):
    X = rng.standard_normal((3, 8))
    Y = (rng.random((1, 8)) > 0.5).astype(float)
    arch = Architecture((3, 5, 4, 1), "tanh", "sigmoid", batch_norm=True, keep_prob=0.7)
    assert gradient_check(X, Y, arch, l2=0.4, seed=7, backend="numpy") < 1e-7


def test_gamma_and_beta_replace_b_in_hidden_layers():
    arch = Architecture((5, 4, 3, 2), "relu", "softmax", batch_norm=True)
    names = [name for name, _ in arch.layout()]
    assert names == ["W1", "gamma1", "beta1", "W2", "gamma2", "beta2", "W3", "b3"]
    params = initialize_parameters(arch, seed=0, dtype="float64", backend="numpy")
    np.testing.assert_array_equal(params["gamma1"], np.ones((4, 1)))
    np.testing.assert_array_equal(params["beta2"], np.zeros((3, 1)))
    assert [name for name, _ in arch.bn_layout()] == ["mean1", "var1", "mean2", "var2"]


def test_running_statistics_are_exponentially_weighted(rng):
    arch = Architecture((3, 4, 1), "relu", "sigmoid", batch_norm=True, bn_momentum=0.8)
    params = initialize_parameters(arch, seed=0, dtype="float64", backend="numpy")
    state = initialize_bn_state(arch, params)
    batches = [rng.normal(2.0, 3.0, (3, 16)) for _ in range(3)]
    mean, var = np.zeros((4, 1)), np.ones((4, 1))
    for Xb in batches:
        Z = params["W1"] @ Xb
        mean = 0.8 * mean + 0.2 * Z.mean(axis=1, keepdims=True)
        var = 0.8 * var + 0.2 * Z.var(axis=1, keepdims=True)
        forward(Xb, params, arch, training=True, bn_state=state)
    np.testing.assert_allclose(state["mean1"], mean, rtol=1e-12)
    np.testing.assert_allclose(state["var1"], var, rtol=1e-12)


def test_inference_uses_running_statistics(rng):
    """One sample predicted alone equals it predicted inside a batch; batch statistics would
    give a different answer."""
    X = rng.normal(1.0, 2.0, (200, 4))
    y = (X[:, 0] + X[:, 1] > 2).astype(int)
    model = xpnet.NeuralNetwork(hidden=(8, 6), batch_norm=True, epochs=5, seed=0,
                                backend="numpy", dtype="float64").fit(X, y)
    all_rows = model.predict_proba(X)
    for i in (0, 17, 199):
        # Equal up to rounding: BLAS may take another path for one column than for many.
        np.testing.assert_allclose(model.predict_proba(X[i:i + 1]), all_rows[i:i + 1],
                                   rtol=1e-12, atol=1e-15)
    Xn = ((X[:10] - model.mean_) / model.std_).T
    with_batch_stats, _ = forward(Xn, model._params, model.arch_, training=True)
    assert not np.allclose(with_batch_stats[0], all_rows[:10, 1], rtol=1e-3)


def test_inference_formula_with_eps(rng):
    bk = backends.resolve("numpy")
    Z = rng.standard_normal((3, 5))
    gamma, beta = rng.uniform(1, 2, (3, 1)), rng.standard_normal((3, 1))
    mean, var = rng.standard_normal((3, 1)), rng.uniform(0.1, 1, (3, 1))
    out = bn.forward_infer(bk, Z, gamma, beta, mean, var, 0.05)
    np.testing.assert_allclose(out, gamma * (Z - mean) / np.sqrt(var + 0.05) + beta, rtol=1e-12)


def test_inference_without_running_statistics_is_an_error(rng):
    arch = Architecture((3, 4, 1), "relu", "sigmoid", batch_norm=True)
    params = initialize_parameters(arch, seed=0, dtype="float64", backend="numpy")
    with pytest.raises(ValueError, match="running statistics"):
        forward(rng.standard_normal((3, 2)), params, arch)


@pytest.mark.parametrize("optimizer,lr", [("gd", 0.3), ("momentum", 0.3), ("rmsprop", 0.01),
                                          ("adam", 0.01)])
def test_batch_norm_trains_with_every_optimizer(optimizer, lr, rng):
    X = rng.standard_normal((160, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = xpnet.NeuralNetwork(hidden=(16, 8), batch_norm=True, optimizer=optimizer,
                                learning_rate=lr, epochs=40, batch_size=32, seed=0,
                                backend="numpy").fit(X, y)
    cost = model.history_["cost"]
    assert cost[-1] < 0.6 * cost[0]
    assert model.score(X, y) > 0.85


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_batch_norm_agrees_across_backends(optimizer, rng):
    X = rng.standard_normal((12, 3))
    y = rng.integers(0, 3, 12)
    kw = dict(hidden=(4, 3), batch_norm=True, epochs=2, batch_size=5, seed=1, dtype="float64",
              optimizer=optimizer, keep_prob=0.8)
    ref = xpnet.NeuralNetwork(backend="numpy", **kw).fit(X, y)
    for name in CPU_BACKENDS:
        got = xpnet.NeuralNetwork(backend=name, **kw).fit(X, y)
        np.testing.assert_allclose(got.history_["cost"], ref.history_["cost"], rtol=1e-7)
        np.testing.assert_allclose(got.predict_proba(X), ref.predict_proba(X), rtol=1e-7,
                                   atol=1e-12)


def test_batch_norm_float32_on_vectorized_backends(vbackend, rng):
    X = rng.standard_normal((64, 5))
    y = rng.integers(0, 4, 64)
    kw = dict(hidden=(8,), batch_norm=True, epochs=3, batch_size=16, seed=2, dtype="float32")
    ref = xpnet.NeuralNetwork(backend="numpy", **kw).fit(X, y)
    got = xpnet.NeuralNetwork(backend=vbackend, **kw).fit(X, y)
    np.testing.assert_allclose(got.predict_proba(X), ref.predict_proba(X), rtol=1.3e-6, atol=1e-5)
