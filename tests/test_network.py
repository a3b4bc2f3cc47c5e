"""The NeuralNetwork estimator: contract, tasks, determinism, backends agreeing, accuracy."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet
from xpnet.datasets import load_digits


def split(X, y, seed=0, test=0.2):
    perm = np.random.default_rng(seed).permutation(len(y))
    n = int(len(y) * (1 - test))
    return X[perm[:n]], y[perm[:n]], X[perm[n:]], y[perm[n:]]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return split(X, y)


def test_digits_reaches_95_percent(digits):
    X_tr, y_tr, X_te, y_te = digits
    model = xpnet.NeuralNetwork(hidden=(64,), epochs=30, seed=0, backend="numpy")
    model.fit(X_tr, y_tr)
    assert model.score(X_te, y_te) >= 0.95
    assert len(model.history_["cost"]) == 30
    assert model.history_["cost"][-1] < model.history_["cost"][0]


def test_parameters_in_course_shapes(digits):
    X_tr, y_tr, _, _ = digits
    model = xpnet.NeuralNetwork(hidden=(16, 8), epochs=1, seed=0).fit(X_tr[:100], y_tr[:100])
    shapes = {k: v.shape for k, v in model.parameters_.items()}
    assert shapes == {"W1": (16, 64), "b1": (16, 1), "W2": (8, 16), "b2": (8, 1),
                      "W3": (10, 8), "b3": (10, 1)}
    assert all(isinstance(v, np.ndarray) for v in model.parameters_.values())


def test_loops_and_numpy_follow_same_cost_history(rng):
    X = rng.standard_normal((24, 3))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int)
    kw = dict(hidden=(4, 3), activation="tanh", epochs=4, batch_size=8, seed=7, dtype="float64")
    h_loops = xpnet.NeuralNetwork(backend="loops", **kw).fit(X, y).history_["cost"]
    h_numpy = xpnet.NeuralNetwork(backend="numpy", **kw).fit(X, y).history_["cost"]
    np.testing.assert_allclose(h_loops, h_numpy, rtol=1e-7)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_every_backend_agrees_in_float64(rng, optimizer, vbackend):
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)
    kw = dict(hidden=(6,), epochs=5, batch_size=16, seed=1, dtype="float64", optimizer=optimizer)
    ref = xpnet.NeuralNetwork(backend="numpy", **kw).fit(X, y).history_["cost"]
    got = xpnet.NeuralNetwork(backend=vbackend, **kw).fit(X, y).history_["cost"]
    np.testing.assert_allclose(got, ref, rtol=1e-7)


def test_same_seed_same_result(rng):
    X = rng.standard_normal((50, 4))
    y = (X[:, 0] > 0).astype(int)
    a = xpnet.NeuralNetwork(hidden=(5,), epochs=5, seed=3, keep_prob=0.8).fit(X, y)
    b = xpnet.NeuralNetwork(hidden=(5,), epochs=5, seed=3, keep_prob=0.8).fit(X, y)
    assert a.history_["cost"] == b.history_["cost"]
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_binary_labels_are_returned_as_given(rng):
    X = rng.standard_normal((60, 2))
    y = np.where(X[:, 0] > 0, "yes", "no")
    model = xpnet.NeuralNetwork(hidden=(4,), epochs=40, learning_rate=0.05, seed=0).fit(X, y)
    assert list(model.classes_) == ["no", "yes"]
    assert set(model.predict(X)) <= {"no", "yes"}
    proba = model.predict_proba(X)
    assert proba.shape == (60, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert model.score(X, y) > 0.9


def test_regression_task(rng):
    X = rng.uniform(-1, 1, (200, 2))
    y = 2 * X[:, 0] - X[:, 1] + 0.5
    model = xpnet.NeuralNetworkRegressor(hidden=(16,), epochs=60, seed=0, learning_rate=0.01)
    model.fit(X, y)
    assert model.task_ == "regression"
    assert model.predict(X).shape == (200,)
    assert model.score(X, y) > 0.95
    assert not hasattr(model, "predict_proba")  # a regressor has none (scikit-learn's rule)
    with pytest.raises(AttributeError, match="has no predict_proba"):
        model.predict_proba(X)


def test_continuous_targets_are_detected_as_regression_only_with_task_auto(rng):
    """A classifier never turns into a regressor by itself: with the default task a continuous
    target is an error (scikit-learn's "Unknown label type"); ``task="auto"`` detects it."""
    X = rng.standard_normal((30, 2))
    with pytest.raises(ValueError, match="Unknown label type: y looks continuous"):
        xpnet.NeuralNetwork(hidden=(3,), epochs=2, seed=0).fit(X, X[:, 0] * 0.37)
    model = xpnet.NeuralNetwork(hidden=(3,), epochs=2, seed=0, task="auto")
    assert model.fit(X, X[:, 0] * 0.37).task_ == "regression"


def test_divergence_is_a_clear_error(rng):
    X = rng.standard_normal((64, 3)) * 1e3
    y = X @ np.array([1.0, 2.0, 3.0]) * 1e3
    model = xpnet.NeuralNetworkRegressor(hidden=(8,), optimizer="gd", learning_rate=10.0,
                                         normalize=False, epochs=50, seed=0)
    with pytest.raises(ValueError, match="diverged"):
        model.fit(X, y)


@pytest.mark.parametrize("X,y,message", [
    ([[1.0, np.nan], [0.0, 1.0]], [0, 1], "NaN"),
    ([[1.0, np.inf], [0.0, 1.0]], [0, 1], "inf"),
    (np.empty((0, 3)), [], r"0 sample\(s\)|empty|zero"),
    ([1.0, 2.0, 3.0], [0, 1, 0], "2-D|1-D"),
    ([[1.0], [2.0], [3.0]], [0, 1], "3 samples|length|labels"),
    ([[1.0], [2.0], [3.0]], [1, 1, 1], "one class|at least 2"),
])
def test_fit_validation_errors(X, y, message):
    with pytest.raises(ValueError, match=message):
        xpnet.NeuralNetwork(epochs=1).fit(X, y)


def test_predict_validation_errors(rng):
    X = rng.standard_normal((20, 3))
    model = xpnet.NeuralNetwork(hidden=(2,), epochs=1, seed=0).fit(X, X[:, 0] > 0)
    with pytest.raises(ValueError, match="3"):
        model.predict(rng.standard_normal((5, 4)))
    with pytest.raises(ValueError, match="NaN"):
        model.predict([[np.nan, 0.0, 0.0]])
    with pytest.raises(ValueError, match="not fitted"):
        xpnet.NeuralNetwork().predict(X)


@pytest.mark.parametrize("param,value,error", [
    ("hidden", (0,), ValueError), ("hidden", "wide", ValueError),
    ("activation", "swish", ValueError),
    ("optimizer", "lbfgs", ValueError), ("learning_rate", -1.0, ValueError),
    ("epochs", 0, ValueError), ("batch_size", 0, ValueError), ("keep_prob", 1.5, ValueError),
    ("init", "lecun", ValueError), ("dtype", "int8", ValueError), ("backend", "tpu", ValueError),
    ("l2", -0.1, ValueError),
])
def test_hyperparameter_errors(rng, param, value, error):
    X = rng.standard_normal((10, 2))
    with pytest.raises(error):
        xpnet.NeuralNetwork(**{"epochs": 1, param: value}).fit(X, X[:, 0] > 0)


def test_dev_set_is_tracked_and_drives_early_stopping(rng):
    X = rng.standard_normal((120, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    X_dev = rng.standard_normal((40, 4))
    y_dev = (X_dev[:, 0] - X_dev[:, 1] > 0).astype(int)
    model = xpnet.NeuralNetwork(hidden=(8,), epochs=6, seed=0, learning_rate=0.01)
    model.fit(X, y, dev=(X_dev, y_dev))
    assert len(model.history_["dev_cost"]) == len(model.history_["dev_score"]) == 6
    assert model.history_["dev_score"][-1] == pytest.approx(model.score(X_dev, y_dev))
    stopper = xpnet.NeuralNetwork(hidden=(8,), epochs=200, seed=0, learning_rate=0.5,
                                  early_stopping=True, patience=3)
    stopper.fit(X, y, dev=(X_dev, y_dev))
    assert stopper.n_epochs_ < 200
    best = int(np.argmin(stopper.history_["dev_cost"]))
    assert stopper.best_epoch_ == best + 1
    with pytest.raises(ValueError, match="not seen"):
        model.fit(X, y, dev=(X_dev, y_dev + 5))
    with pytest.raises(ValueError, match="features"):
        model.fit(X, y, dev=(X_dev[:, :3], y_dev))


class Frame:
    """The part of a pandas DataFrame the estimators look at: ``columns`` and ``to_numpy``."""

    def __init__(self, data, columns):
        self.data, self.columns = np.asarray(data, dtype=np.float64), list(columns)

    def to_numpy(self):
        return self.data

    def __getitem__(self, names):
        return Frame(self.data[:, [self.columns.index(n) for n in names]], names)


def test_column_names_from_fit_are_checked_at_predict_time():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    frame = Frame(X, ["age", "height", "weight"])
    net = xpnet.NeuralNetwork(hidden=(4,), epochs=2, seed=0, backend="numpy").fit(frame, y)
    assert net.feature_names_in_.tolist() == ["age", "height", "weight"]
    expected = net.predict(X)
    np.testing.assert_array_equal(net.predict(frame), expected)
    with pytest.raises(ValueError, match=r"another order; .*\['age', 'height', 'weight'\]"):
        net.predict(frame[["weight", "age", "height"]])
    np.testing.assert_array_equal(
        net.predict(frame[["weight", "age", "height"]][["age", "height", "weight"]]), expected)
    with pytest.raises(ValueError, match=r"missing \['weight'\]; not seen in fit \['mass'\]"):
        net.predict(Frame(X, ["age", "height", "mass"]))
    with pytest.raises(ValueError, match="X_dev's columns"):
        net.fit(frame, y, dev=(Frame(X, ["a", "b", "c"]), y))
    net.fit(X, y)  # a plain array: no names any more
    assert not hasattr(net, "feature_names_in_")
    net.predict(Frame(X, ["a", "b", "c"]))


def test_column_names_are_saved_with_the_model(tmp_path):
    X = np.random.default_rng(1).standard_normal((30, 2))
    y = (X[:, 1] > 0).astype(int)
    net = xpnet.NeuralNetwork(hidden=(3,), epochs=1, seed=0, backend="numpy")
    net.fit(Frame(X, ["left", "right"]), y).save(tmp_path / "named.npz")
    loaded = xpnet.load(tmp_path / "named.npz")
    assert loaded.feature_names_in_.tolist() == ["left", "right"]
    with pytest.raises(ValueError, match="another order"):
        loaded.predict(Frame(X[:, ::-1], ["right", "left"]))
    net.fit(X, y).save(tmp_path / "plain.npz")
    assert not hasattr(xpnet.load(tmp_path / "plain.npz"), "feature_names_in_")


@pytest.mark.parametrize("make", [
    lambda: xpnet.LogisticRegression(iterations=20),
    lambda: xpnet.Perceptron(epochs=3),
    lambda: xpnet.Adaline(epochs=3, eta=0.01),
])
def test_the_linear_models_keep_column_names_too(make):
    X = np.random.default_rng(2).standard_normal((30, 2))
    y = (X[:, 0] > 0).astype(int)
    model = make().fit(Frame(X, ["u", "v"]), y)
    assert model.feature_names_in_.tolist() == ["u", "v"]
    assert model.score(Frame(X, ["u", "v"]), y) == model.score(X, y)
    with pytest.raises(ValueError, match="another order"):
        model.predict(Frame(X[:, ::-1], ["v", "u"]))
    with pytest.raises(ValueError, match="another order"):
        model.score(Frame(X[:, ::-1], ["v", "u"]), y)
    assert not hasattr(make().fit(X, y), "feature_names_in_")
    with pytest.raises(ValueError, match="not fitted"):
        make().score(X, y)
