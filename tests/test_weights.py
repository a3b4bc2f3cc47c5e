"""Sample and class weights, ``partial_fit`` and ``warm_start``.

The weighted cost is ``sum_i w_i l_i / sum_i w_i``: gradient-checked for every loss, and
checked against its meaning (an integer weight is that many copies of the example, weight 0
is the example removed). ``partial_fit`` and ``warm_start`` continue the same parameters,
optimizer state and random stream, so three ``partial_fit`` calls are one ``fit`` of three
epochs, bit for bit.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import xpnet
from xpnet import backends
from xpnet.network import Architecture, gradient_check
from xpnet.ops import LOSSES

CPU_BACKENDS = [n for n in backends.available_backends() if n != "cupy"]
FAST = [n for n in CPU_BACKENDS if n != "loops"]


def data(kind, m=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 3))
    if kind == "regression":
        return X, X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(m)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5 if kind == "multiclass" else 0)
    return X, y


def network(kind, **kw):
    cls = xpnet.NeuralNetworkRegressor if kind == "regression" else xpnet.NeuralNetwork
    settings = dict(hidden=(5,), epochs=6, batch_size=None, seed=1, dtype="float64",
                    backend="numpy")
    return cls(**{**settings, **kw})


# ------------------------------------------------------------------ the weighted cost
@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("loss", list(LOSSES))
def test_weighted_cost_gradient_check(backend, loss, rng):
    definition = LOSSES[loss]
    kind = definition.targets[0]
    n_out = 1 if kind != "multiclass" else 3
    arch = Architecture((3, 4, n_out), "tanh", definition.output, loss=loss)
    X = rng.standard_normal((3, 7))
    if kind == "multiclass":
        Y = np.eye(3)[:, rng.integers(0, 3, 7)]
    elif kind == "binary":
        Y = (rng.random((1, 7)) > 0.5).astype(float)
    else:
        Y = rng.standard_normal((1, 7)) * 2
    weights = rng.uniform(0.0, 3.0, (1, 7))
    assert gradient_check(X, Y, arch, seed=2, backend=backend, weights=weights) < 1e-7


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_integer_weights_are_repeated_examples_and_zero_is_removed(kind):
    X, y = data(kind)
    w = np.random.default_rng(5).integers(0, 4, len(y))
    w[:3] = (0, 2, 3)
    weighted = network(kind).fit(X, y, sample_weight=w)
    repeated = network(kind).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    for name, value in weighted.parameters_.items():
        np.testing.assert_allclose(value, repeated.parameters_[name], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.history_["cost"], repeated.history_["cost"], rtol=1e-10)
    np.testing.assert_allclose(weighted.mean_, repeated.mean_, rtol=1e-12)


@pytest.mark.parametrize("backend", FAST)
def test_uniform_weights_train_as_no_weights(backend):
    X, y = data("binary")
    plain = network("binary", backend=backend, batch_size=16).fit(X, y)
    ones = network("binary", backend=backend, batch_size=16).fit(X, y, sample_weight=np.ones(48))
    for name, value in plain.parameters_.items():
        np.testing.assert_allclose(value, ones.parameters_[name], rtol=1e-12, atol=1e-14)


def test_balanced_class_weight_is_inverse_class_frequency():
    X, y = data("multiclass")
    counts = np.bincount(y)
    expected_w = len(y) / (len(counts) * counts[y])
    balanced = network("multiclass", class_weight="balanced").fit(X, y)
    by_hand = network("multiclass").fit(X, y, sample_weight=expected_w)
    for name, value in balanced.parameters_.items():
        np.testing.assert_allclose(value, by_hand.parameters_[name], rtol=1e-12)
    both = network("multiclass", class_weight={0: 2.0}).fit(X, y, sample_weight=np.full(48, 3))
    factor = np.where(y == 0, 2.0, 1.0) * 3
    np.testing.assert_allclose(both.parameters_["W1"], network("multiclass").fit(
        X, y, sample_weight=factor).parameters_["W1"], rtol=1e-12)


def test_class_weight_tilts_the_decision():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2))
    y = (X[:, 0] + 0.8 * rng.standard_normal(200) > 0).astype(int)
    kw = dict(hidden=(4,), epochs=60, learning_rate=0.05, seed=0, backend="numpy")
    plain = xpnet.NeuralNetwork(**kw).fit(X, y)
    tilted = xpnet.NeuralNetwork(class_weight={1: 10.0}, **kw).fit(X, y)
    assert tilted.predict(X).mean() > plain.predict(X).mean() + 0.1


@pytest.mark.parametrize("bad, error, match", [
    (-np.ones(48), ValueError, "must be >= 0"),
    (np.zeros(48), ValueError, "zero for every sample"),
    (np.ones(47), ValueError, "one weight per sample"),
    (np.full(48, np.nan), ValueError, "NaN"),
    (np.array(["a"] * 48), TypeError, "numbers"),
])
def test_bad_sample_weights_are_clear_errors(bad, error, match):
    X, y = data("binary")
    with pytest.raises(error, match=match):
        network("binary").fit(X, y, sample_weight=bad)
    with pytest.raises(error, match=match):
        xpnet.LogisticRegression(iterations=2).fit(X, y, sample_weight=bad)


def test_bad_class_weight_is_a_clear_error():
    X, y = data("binary")
    with pytest.raises(ValueError, match="class_weight names the label 7"):
        network("binary", class_weight={7: 1.0}).fit(X, y)
    with pytest.raises(TypeError, match="class_weight must be None, 'balanced' or a dict"):
        network("binary", class_weight="heavy").fit(X, y)


@pytest.mark.parametrize("vectorized", [True, False])
def test_logistic_regression_weights_are_repeated_examples(vectorized):
    X, y = data("binary")
    w = np.random.default_rng(2).integers(0, 3, len(y))
    a = xpnet.LogisticRegression(iterations=30, vectorized=vectorized).fit(X, y, sample_weight=w)
    b = xpnet.LogisticRegression(iterations=30, vectorized=vectorized).fit(
        np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.w_, b.w_, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(a.cost_, b.cost_, rtol=1e-10)


# ------------------------------------------------------------ partial_fit, warm_start
@pytest.mark.parametrize("backend", FAST)
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_partial_fit_calls_are_the_epochs_of_one_fit(backend, kind):
    X, y = data(kind)
    fit = network(kind, epochs=3, batch_size=16, backend=backend, dtype="float32").fit(X, y)
    parts = network(kind, epochs=3, batch_size=16, backend=backend, dtype="float32")
    for _ in range(3):
        parts.partial_fit(X, y)
    assert parts.n_epochs_ == 3 and parts.history_["cost"] == fit.history_["cost"]
    for name, value in fit.parameters_.items():
        np.testing.assert_array_equal(parts.parameters_[name], value)


@pytest.mark.parametrize("backend", FAST)
def test_warm_start_trains_on_as_if_never_stopped(backend):
    X, y = data("multiclass")
    long = network("multiclass", epochs=5, batch_size=16, backend=backend).fit(X, y)
    model = network("multiclass", epochs=2, batch_size=16, backend=backend).fit(X, y)
    model.set_params(warm_start=True, epochs=3).fit(X, y)
    assert model.history_["cost"] == long.history_["cost"] and model.n_epochs_ == 5
    for name, value in long.parameters_.items():
        np.testing.assert_array_equal(model.parameters_[name], value)
    cold = network("multiclass", epochs=3, batch_size=16, backend=backend).fit(X, y)
    assert model.set_params(warm_start=False).fit(X, y).history_["cost"] == \
        cold.history_["cost"]


def test_partial_fit_classes_and_its_errors():
    X, y = data("binary")
    model = network("binary").partial_fit(X[y == 0][:5], y[y == 0][:5], classes=[0, 1])
    assert list(model.classes_) == [0, 1]
    model.partial_fit(X, y)
    with pytest.raises(ValueError, match=r"labels not seen in fit: \[5\]"):
        model.partial_fit(X[:3], [0, 1, 5])
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        network("binary", early_stopping=True).partial_fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but NeuralNetwork is expecting 3"):
        model.partial_fit(X[:, :2], y)


def test_warm_start_with_another_architecture_says_to_start_over():
    X, y = data("binary")
    model = network("binary").fit(X, y)
    with pytest.raises(ValueError, match="cannot train on from the fitted network.*"
                                         "warm_start=False"):
        model.set_params(warm_start=True, hidden=(7,)).fit(X, y)


def test_an_unpickled_model_trains_on_with_a_fresh_optimizer_state():
    X, y = data("binary")
    model = network("binary", optimizer="adam").fit(X, y)
    twin = pickle.loads(pickle.dumps(model))
    assert not hasattr(twin, "_optimizer")
    twin.partial_fit(X, y)
    assert twin.n_epochs_ == model.n_epochs_ + 1 and np.isfinite(twin.history_["cost"][-1])
