"""Regularization and data handling: L2, inverted dropout, early stopping, input normalization
and the train/dev/test split."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet
from xpnet import backends
from xpnet.network import Architecture, gradient_check
from xpnet.network.data import Normalizer, column_stats, standardize, train_dev_test_split
from xpnet.network.model import backward, compute_cost, forward, initialize_parameters
from xpnet.network.training import EarlyStopper

CPU_BACKENDS = [n for n in backends.available_backends() if n != "cupy"]


def softmax_data(rng, m=7, n_x=4, C=3):
    return rng.standard_normal((n_x, m)), np.eye(C)[:, rng.integers(0, C, m)]


# -------------------------------------------------------------------------------- L2
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_l2_cost_term_and_gradient_follow_the_course(backend, rng):
    X, Y = softmax_data(rng)
    arch = Architecture((4, 5, 3), "tanh", "softmax")
    params = initialize_parameters(arch, init="he", seed=0, dtype="float64", backend=backend)
    lam, m = 0.7, X.shape[1]
    AL, caches = forward(X, params, arch)
    plain = float(compute_cost(AL, Y, caches, arch, params))
    reg = float(compute_cost(AL, Y, caches, arch, params, l2=lam))
    host = params.to_numpy()
    frobenius = sum(np.sum(host[f"W{l}"] ** 2) for l in (1, 2))
    assert reg == pytest.approx(plain + lam / (2 * m) * frobenius, rel=1e-12)
    g0 = backward(Y, caches, params, arch).to_numpy()
    g1 = backward(Y, caches, params, arch, l2=lam).to_numpy()
    for l in (1, 2):
        np.testing.assert_allclose(g1[f"dW{l}"], g0[f"dW{l}"] + lam / m * host[f"W{l}"],
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(g1[f"db{l}"], g0[f"db{l}"])  # biases are not penalized


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_gradient_check_with_l2(backend, rng):
    X, Y = softmax_data(rng, m=5, n_x=3)
    arch = Architecture((3, 4, 3), "relu", "softmax")
    assert gradient_check(X, Y, arch, l2=1.3, seed=4, backend=backend) < 1e-7


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_gradient_check_with_dropout_under_a_frozen_mask(backend, rng):
    X, Y = softmax_data(rng, m=6, n_x=3)
    arch = Architecture((3, 5, 4, 3), "tanh", "softmax", keep_prob=[0.5, 0.7])
    assert gradient_check(X, Y, arch, seed=5, backend=backend) < 1e-7


def test_l2_shrinks_the_weights(rng):
    X = rng.standard_normal((80, 5))
    y = (X[:, 0] > 0).astype(int)
    kw = dict(hidden=(16,), epochs=30, seed=0, backend="numpy", learning_rate=0.01)
    free = xpnet.NeuralNetwork(**kw).fit(X, y).parameters_
    tied = xpnet.NeuralNetwork(l2=5.0, **kw).fit(X, y).parameters_
    assert np.linalg.norm(tied["W1"]) < 0.8 * np.linalg.norm(free["W1"])


# --------------------------------------------------------------------------- dropout
def test_inverted_dropout_keeps_the_expected_activation():
    """E[A * D] = A: masks keep a fraction keep_prob and scale the kept units by 1/keep_prob."""
    rng = np.random.default_rng(0)
    m, keep = 20000, 0.8
    X = rng.standard_normal((3, m))
    arch = Architecture((3, 4, 1), "sigmoid", "sigmoid", keep_prob=keep)
    params = initialize_parameters(arch, seed=1, dtype="float64", backend="numpy")
    _, caches = forward(X, params, arch, training=True, rng=np.random.default_rng(2))
    A, D = caches[0]["A"], caches[0]["D"]
    assert set(np.unique(D)) == {0.0, 1.0 / keep}
    kept = np.mean(D > 0)
    sigma = np.sqrt(keep * (1 - keep) / D.size)
    assert abs(kept - keep) < 5 * sigma
    # Per unit: mean of the dropped activation vs the undropped one, within 5 standard errors.
    dropped = A * D
    se = np.std(dropped, axis=1) / np.sqrt(m)
    assert np.all(np.abs(dropped.mean(axis=1) - A.mean(axis=1)) < 5 * se)
    assert "D" not in caches[1]  # the output layer never drops


def test_keep_prob_is_set_per_layer():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3, 5000))
    arch = Architecture((3, 6, 6, 2), "relu", "softmax", keep_prob=[0.5, 0.9])
    assert arch.keep_probs == [0.5, 0.9, 1.0]
    params = initialize_parameters(arch, seed=0, dtype="float64", backend="numpy")
    _, caches = forward(X, params, arch, training=True, rng=np.random.default_rng(4))
    assert np.mean(caches[0]["D"] > 0) == pytest.approx(0.5, abs=0.02)
    assert np.mean(caches[1]["D"] > 0) == pytest.approx(0.9, abs=0.02)
    with pytest.raises(ValueError, match="one per hidden layer"):
        Architecture((3, 6, 6, 2), "relu", "softmax", keep_prob=[0.5])


def test_dropout_is_off_at_predict(rng):
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    model = xpnet.NeuralNetwork(hidden=(8,), keep_prob=0.5, epochs=3, seed=0,
                                backend="numpy", dtype="float64").fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(X))
    # Same parameters without dropout in the architecture give the same outputs.
    arch = Architecture(model.arch_.layer_dims, "relu", "sigmoid")
    Xn = ((X - model.mean_) / model.std_).T
    AL, _ = forward(Xn, model._params, arch)
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], AL[0], rtol=1e-12)


# -------------------------------------------------------------------- early stopping
class _FakeState:
    def __init__(self):
        self.bk = backends.resolve("numpy")
        from xpnet.network.params import FlatParams
        self.params = FlatParams(self.bk, [("W1", (2, 2))], np.dtype("float64"))
        self.bn_state = FlatParams(self.bk, [("mean1", (2, 1))], np.dtype("float64"))


def test_early_stopper_stops_after_patience_and_restores_the_best():
    state = _FakeState()
    stopper = EarlyStopper(patience=3)
    costs = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 2.0]
    stopped_at = None
    for epoch, cost in enumerate(costs):
        state.params.flat[...] = epoch
        state.bn_state.flat[...] = 10 * epoch
        if stopper.update(epoch, cost, state):
            stopped_at = epoch
            break
    assert stopped_at == 5 and stopper.best_epoch == 2
    stopper.restore(state)
    np.testing.assert_array_equal(state.params.flat, 2.0)
    np.testing.assert_array_equal(state.bn_state.flat, 20.0)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_early_stopping_stops_and_restores_the_best_weights(batch_norm):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 10))
    y = rng.integers(0, 2, 60)  # pure noise: the dev cost soon rises
    snapshots = []
    model = xpnet.NeuralNetwork(hidden=(64,), epochs=300, learning_rate=0.01, early_stopping=True,
                                patience=4, validation_fraction=0.25, seed=0, backend="numpy",
                                batch_norm=batch_norm, dtype="float64")

    def callback(epoch, logs):
        snapshots.append((model._params.to_numpy(), model._bn_state.to_numpy()))

    model.fit(X, y, callback=callback)
    dev = model.history_["dev_cost"]
    assert model.n_epochs_ < 300
    assert model.best_epoch_ == int(np.argmin(dev)) + 1
    assert model.n_epochs_ == model.best_epoch_ + 4
    best_params, best_bn = snapshots[model.best_epoch_ - 1]
    last_params, _ = snapshots[-1]
    for name, value in model.parameters_.items():
        np.testing.assert_array_equal(value, best_params[name])
    assert any(not np.array_equal(last_params[k], best_params[k]) for k in best_params)
    for name, value in model._bn_state.to_numpy().items():
        np.testing.assert_array_equal(value, best_bn[name])


# --------------------------------------------------------------------- normalization
def test_normalizer_uses_training_statistics_for_every_set(rng):
    X_train = rng.normal(5.0, 3.0, (200, 3))
    X_dev = rng.normal(-2.0, 0.5, (20, 3))
    norm = Normalizer().fit(X_train)
    mu = X_train.mean(axis=0)
    var = ((X_train - mu) ** 2).mean(axis=0)
    np.testing.assert_allclose(norm.mean_, mu)
    np.testing.assert_allclose(norm.var_, var)
    np.testing.assert_allclose(norm.std_, np.sqrt(var))
    Z = norm.transform(X_train)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.var(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(norm.transform(X_dev), (X_dev - mu) / np.sqrt(var))
    assert abs(norm.transform(X_dev).mean()) > 1.0  # not the dev set's own statistics
    np.testing.assert_allclose(norm.inverse_transform(norm.transform(X_dev)), X_dev)
    np.testing.assert_allclose(Normalizer().fit_transform(X_train), Z)


def test_normalizer_handles_a_constant_feature(rng):
    X = np.column_stack([rng.standard_normal(10), np.full(10, 7.0)])
    Z = Normalizer().fit_transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_array_equal(Z[:, 1], 0.0)


def test_normalizer_errors(rng):
    with pytest.raises(ValueError, match="not fitted"):
        Normalizer().transform([[1.0]])
    norm = Normalizer().fit(rng.standard_normal((5, 3)))
    with pytest.raises(ValueError, match="3"):
        norm.transform(rng.standard_normal((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        Normalizer().fit([[1.0, np.nan]])


def test_estimator_normalizes_with_training_statistics(rng):
    X = rng.normal(100.0, 20.0, (50, 2))
    y = (X[:, 0] > 100).astype(int)
    model = xpnet.NeuralNetwork(hidden=(3,), epochs=2, seed=0, backend="numpy",
                                dtype="float64").fit(X, y)
    np.testing.assert_allclose(model.mean_, X.mean(axis=0))
    np.testing.assert_allclose(model.std_, X.std(axis=0))
    # One sample predicted alone equals it predicted inside the set (fixed statistics).
    np.testing.assert_allclose(model.predict_proba(X[:1]), model.predict_proba(X)[:1],
                               rtol=1e-12)


# ------------------------------------------------------------------------- splitting
def test_split_is_disjoint_complete_and_reproducible(rng):
    X = np.arange(100, dtype=float).reshape(50, 2)
    y = np.arange(50) % 3
    s = train_dev_test_split(X, y, dev=0.2, test=0.1, seed=7)
    assert (len(s.y_train), len(s.y_dev), len(s.y_test)) == (35, 10, 5)
    ids = np.concatenate([s.X_train[:, 0], s.X_dev[:, 0], s.X_test[:, 0]]) / 2
    np.testing.assert_array_equal(np.sort(ids), np.arange(50))
    np.testing.assert_array_equal(s.y_dev, y[(s.X_dev[:, 0] / 2).astype(int)])
    again = train_dev_test_split(X, y, dev=0.2, test=0.1, seed=7)
    for a, b in zip(s, again):
        np.testing.assert_array_equal(a, b)
    other = train_dev_test_split(X, y, dev=0.2, test=0.1, seed=8)
    assert not np.array_equal(s.X_dev, other.X_dev)
    X_train, X_dev, X_test, y_train, y_dev, y_test = s  # unpacks in scikit-learn order
    assert X_test.shape == (5, 2)


def test_split_sizes_as_counts_and_empty_parts(rng):
    X = rng.standard_normal((20, 2))
    y = np.arange(20)
    s = train_dev_test_split(X, y, dev=3, test=0, seed=0)
    assert (len(s.y_train), len(s.y_dev), len(s.y_test)) == (17, 3, 0)
    assert s.X_test.shape == (0, 2)


def test_stratified_split_keeps_class_proportions():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    X = np.arange(100, dtype=float).reshape(100, 1)
    s = train_dev_test_split(X, y, dev=0.2, test=0.2, seed=0, stratify=True)
    for part, n in ((s.y_dev, 20), (s.y_test, 20), (s.y_train, 60)):
        assert len(part) == n
        np.testing.assert_array_equal(np.bincount(part, minlength=3), np.array([6, 3, 1]) * n // 10)
    assert len(np.unique(s.y_dev[:5])) > 1  # classes are interleaved, not grouped


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(dev=0.6, test=0.5), ValueError, "leaving none"),
    (dict(dev=-0.1), ValueError, r"\[0, 1\)"),
    (dict(dev=1.5), ValueError, r"\[0, 1\)"),
    (dict(test=-2), ValueError, ">= 0"),
    (dict(dev="half"), TypeError, "fraction"),
    (dict(dev=10, test=0), ValueError, "leaving none"),
])
def test_split_errors(kwargs, error, message, rng):
    X = rng.standard_normal((10, 2))
    with pytest.raises(error, match=message):
        train_dev_test_split(X, np.arange(10), **kwargs)


def test_split_checks_lengths(rng):
    with pytest.raises(ValueError, match="labels"):
        train_dev_test_split(rng.standard_normal((10, 2)), np.arange(9))


@pytest.mark.parametrize("chunk_rows", [1, 7, 50, 1024])
def test_chunked_statistics_and_standardize_match_the_whole_array_forms(chunk_rows):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((50, 6)) * [1, 10, 1e-3, 1, 5, 1] + [0, 3, -2, 1e6, 0, 0]
    mean, var = column_stats(X, chunk_rows=chunk_rows)
    np.testing.assert_array_equal(mean, X.mean(axis=0))
    np.testing.assert_allclose(var, X.var(axis=0), rtol=1e-12)
    std = np.sqrt(var)
    for dtype in (np.float64, np.float32):
        got = standardize(X, mean, std, dtype, chunk_rows=chunk_rows)
        assert got.dtype == dtype and got.flags.c_contiguous
        np.testing.assert_array_equal(got, ((X - mean) / std).astype(dtype))
    ints = rng.integers(0, 9, (13, 3))
    np.testing.assert_array_equal(standardize(ints, 1.0, 2.0, chunk_rows=chunk_rows),
                                  (ints - 1.0) / 2.0)
