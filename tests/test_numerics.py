"""Stable forms at the extremes: sigmoid, softmax and cross-entropy at z = +-1000."""

from __future__ import annotations

import numpy as np
import pytest

from xpnet.backends import resolve
from xpnet.ops import activations as xact, losses as xloss

Z_EXT = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])


def backends_all():
    return [resolve("loops"), resolve("numpy")]


def test_sigmoid_extremes(dtype, vbackend):
    for bk in backends_all() + [vbackend]:
        A = bk.to_numpy(xact.forward(bk, "sigmoid", bk.asarray(Z_EXT, dtype=dtype)))
        assert np.all(np.isfinite(A))
        np.testing.assert_allclose(A[0, [0, 2, 4]], [0.0, 0.5, 1.0], atol=1e-12)


def test_softmax_extremes(dtype, vbackend):
    Z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [0.0, 999.0]])
    for bk in backends_all() + [vbackend]:
        A = bk.to_numpy(xact.forward(bk, "softmax", bk.asarray(Z, dtype=dtype)))
        assert np.all(np.isfinite(A))
        np.testing.assert_allclose(A.sum(axis=0), 1.0, rtol=1e-6)
        np.testing.assert_allclose(A[:, 0], [1.0, 0.0, 0.0], atol=1e-6)
        np.testing.assert_allclose(A[1, 1], 1 / (1 + np.exp(-1.0)), rtol=1e-5)


def test_binary_crossentropy_extremes(dtype, vbackend):
    # Confidently right costs ~0; confidently wrong costs |z| (not inf, not nan).
    Y = np.array([[0.0, 1.0, 1.0, 1.0, 1.0]])
    expected = np.mean([0.0, 30.0 + np.log1p(np.exp(-30.0)), np.log(2), np.log1p(np.exp(-30.0)),
                        0.0])
    for bk in backends_all() + [vbackend]:
        Zd, Yd = bk.asarray(Z_EXT, dtype=dtype), bk.asarray(Y, dtype=dtype)
        A = xact.forward(bk, "sigmoid", Zd)
        cost = bk.item(xloss.value(bk, "binary_crossentropy", Zd, A, Yd))
        assert np.isfinite(cost)
        np.testing.assert_allclose(cost, expected, rtol=1e-6)
        wrong = bk.item(xloss.value(bk, "binary_crossentropy", Zd, A,
                                    bk.asarray(1 - Y, dtype=dtype)))
        assert np.isfinite(wrong) and wrong > 200  # 1000 + ... / 5


def test_categorical_crossentropy_extremes(dtype, vbackend):
    Z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    Y_right = np.eye(2)
    for bk in backends_all() + [vbackend]:
        Zd = bk.asarray(Z, dtype=dtype)
        A = xact.forward(bk, "softmax", Zd)
        right = bk.item(xloss.value(bk, "categorical_crossentropy", Zd, A,
                                    bk.asarray(Y_right, dtype)))
        wrong = bk.item(xloss.value(bk, "categorical_crossentropy", Zd, A,
                                    bk.asarray(Y_right[::-1], dtype)))
        assert right == 0.0
        np.testing.assert_allclose(wrong, 2000.0, rtol=1e-6)


def test_tanh_and_gradients_finite(dtype, vbackend):
    for bk in backends_all() + [vbackend]:
        Zd = bk.asarray(Z_EXT, dtype=dtype)
        for act in ("sigmoid", "tanh", "softmax"):
            A = xact.forward(bk, act, Zd)
            dZ = xact.backward(bk, act, bk.ones(Z_EXT.shape, dtype), Zd, A)
            assert np.all(np.isfinite(bk.to_numpy(A))) and np.all(np.isfinite(bk.to_numpy(dZ)))


# --------------------------------------------------------- scale-safe standardization
@pytest.mark.parametrize("scale", [1e155, 1e200, 1e306, 1e-160, 1e-300])
def test_standardization_is_exact_at_any_finite_scale(scale):
    """Inputs whose squares overflow (or underflow) give the same statistics and the same
    fit as the unscaled data, with no warning."""
    import warnings

    import xpnet
    from xpnet.network.data import Normalizer, column_mean_std
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 3))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, std = column_mean_std(X * scale + 2 * scale)
        np.testing.assert_allclose(mean, (X.mean(0) + 2) * scale, rtol=1e-13)
        np.testing.assert_allclose(std, X.std(0) * scale, rtol=1e-13)
        norm = Normalizer().fit(X * scale)
        np.testing.assert_allclose(norm.transform(X * scale), Normalizer().fit_transform(X),
                                   rtol=1e-12, atol=1e-15)
        for backend in ("numpy", "numba"):
            kw = dict(hidden=(8,), epochs=30, seed=0, dtype="float64", backend=backend)
            big = xpnet.NeuralNetwork(**kw).fit(X * scale, y)
            ref = xpnet.NeuralNetwork(**kw).fit(X, y)
            np.testing.assert_allclose(big.parameters_["W1"], ref.parameters_["W1"],
                                       rtol=1e-9, atol=1e-12)
            assert big.score(X * scale, y) == ref.score(X, y)


def test_inputs_at_the_edge_of_float64_standardize_without_overflow():
    import xpnet
    X = np.full((10, 2), 1.7e308)
    X[::2] = -1.7e308
    y = np.arange(10) % 2
    model = xpnet.NeuralNetwork(epochs=200, backend="numpy").fit(X, y)
    assert np.all(np.isfinite(model.std_)) and model.score(X, y) == 1.0


# ------------------------------------------------------------------ divergence named
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("optimizer, lr", [("adam", 1e6), ("rmsprop", 1e4), ("gd", 1e3),
                                           ("momentum", 1e3), ("adamw", 1e6)])
def test_every_optimizer_reports_divergence_even_when_the_cost_stays_finite(backend, optimizer,
                                                                            lr):
    import xpnet
    from xpnet.network.training import TrainingDiverged
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 5))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(TrainingDiverged, match="Lower learning_rate") as exc:
        xpnet.NeuralNetwork(epochs=5, optimizer=optimizer, learning_rate=lr, seed=0,
                            backend=backend).fit(X, y)
    assert "at epoch 1" in str(exc.value)


def test_a_healthy_fit_is_not_called_divergent():
    import xpnet
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    for opt in ("gd", "momentum", "rmsprop", "adam", "adamw"):
        xpnet.NeuralNetwork(epochs=30, optimizer=opt, keep_prob=0.8, l2=0.5, seed=0,
                            backend="numpy").fit(X, y)


def test_divergence_from_large_inputs_names_them():
    import xpnet
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3)) * 1e150
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=r"inputs are large \(max \|x\| = "):
        xpnet.NeuralNetwork(normalize=False, dtype="float64", epochs=2, optimizer="gd",
                            backend="numpy").fit(X, y)
    with pytest.raises(ValueError, match="beyond float32's range"):
        xpnet.NeuralNetwork(normalize=False, epochs=2, backend="numpy").fit(X, y)


# --------------------------------------------------------------- target standardization
@pytest.mark.parametrize("scale, dtype", [(1e20, "float32"), (1e20, "float64"),
                                          (1e-20, "float64"), (1.0, "float32")])
def test_regression_targets_are_standardized_and_restored(scale, dtype, tmp_path):
    import xpnet
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    y = X @ rng.standard_normal(4) + 0.1 * rng.standard_normal(300)
    kw = dict(epochs=60, seed=0, dtype=dtype, backend="numpy")
    ref = xpnet.NeuralNetworkRegressor(**kw).fit(X, y)
    big = xpnet.NeuralNetworkRegressor(**kw).fit(X, y * scale + 2 * scale)
    assert ref.score(X, y) > 0.9
    assert big.score(X, y * scale + 2 * scale) == pytest.approx(ref.score(X, y), rel=1e-5)
    np.testing.assert_allclose(big.predict(X), ref.predict(X) * scale + 2 * scale,
                               rtol=1e-5, atol=1e-4 * scale)
    np.testing.assert_allclose(big.target_std_, [np.std(y) * scale], rtol=1e-12)
    big.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(xpnet.load(tmp_path / "m.npz").predict(X), big.predict(X))


def test_targets_keep_their_scale_without_normalize_and_per_column_with_it():
    import xpnet
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = X[:, 0] - X[:, 1]
    raw = xpnet.NeuralNetworkRegressor(normalize=False, epochs=5, backend="numpy").fit(X, y)
    assert raw.target_mean_ is None and raw.target_std_ is None
    Y = np.column_stack([y, 1e6 * y + 5])
    two = xpnet.NeuralNetworkRegressor(epochs=40, seed=0, backend="numpy").fit(X, Y)
    np.testing.assert_allclose(two.target_std_, [np.std(y), 1e6 * np.std(y)], rtol=1e-10)
    pred = two.predict(X)
    assert pred.shape == (200, 2) and np.corrcoef(pred[:, 1], Y[:, 1])[0, 1] > 0.95
    w = np.where(np.arange(200) < 100, 3.0, 1.0)
    wt = xpnet.NeuralNetworkRegressor(epochs=1, backend="numpy").fit(X, y, sample_weight=w)
    assert wt.target_mean_[0] == pytest.approx(np.average(y, weights=w))


def test_a_divergence_from_a_large_initialization_names_it_without_warnings():
    import warnings

    import xpnet
    from xpnet.datasets import load_digits
    X, y = load_digits()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(xpnet.TrainingDiverged, match="init='large' draws weights") as exc:
            xpnet.NeuralNetwork(hidden=(32,) * 8, init="large", optimizer="gd",
                                learning_rate=0.1, epochs=5, seed=0, backend="numpy").fit(X, y)
    assert "Otherwise lower learning_rate" in str(exc.value)
    assert issubclass(xpnet.TrainingDiverged, ValueError)
