"""Tests for xpnet.network.linear: Perceptron and Adaline against the seeds' own code."""

import numpy as np
import pytest

from xpnet.datasets import load_iris, make_blobs
from xpnet.network.linear import Adaline, Perceptron


# --------------------------------------------------- the seeds' code, as reference oracles
class SeedPerceptron(object):
    def __init__(self, eta=0.01, epochs=50):
        self.eta = eta
        self.epochs = epochs

    def train(self, X, y):
        self.w_ = np.zeros(1 + X.shape[1])
        self.errors_ = []
        for _ in range(self.epochs):
            errors = 0
            for xi, target in zip(X, y):
                update = self.eta * (target - self.predict(xi))
                self.w_[1:] += update * xi
                self.w_[0] += update
                errors += int(update != 0.0)
            self.errors_.append(errors)
        return self

    def net_input(self, X):
        return np.dot(X, self.w_[1:]) + self.w_[0]

    def predict(self, X):
        return np.where(self.net_input(X) >= 0.0, 1, -1)


class SeedAdalineGD(object):
    def __init__(self, alpha=0.01, epochs=50):
        self.alpha = alpha
        self.epochs = epochs

    def train(self, X, y):
        self.w_ = np.zeros(1 + X.shape[1])
        self.cost_ = []
        for i in range(self.epochs):
            output = self.net_input(X)
            errors = (y - output)
            self.w_[1:] += self.alpha * X.T.dot(errors)
            self.w_[0] += self.alpha * errors.sum()
            cost = (errors**2).sum() / 2.0
            self.cost_.append(cost)
        return self

    def net_input(self, X):
        return np.dot(X, self.w_[1:]) + self.w_[0]

    def activation(self, X):
        return self.net_input(X)

    def predict(self, X):
        return np.where(self.activation(X) >= 0.0, 1, -1)


class SeedAdalineSGD(object):
    def __init__(self, alpha=0.01, epochs=50):
        self.alpha = alpha
        self.epochs = epochs

    def train(self, X, y, reinitialize_weights=True):
        if reinitialize_weights:
            self.w_ = np.zeros(1 + X.shape[1])
        self.cost_ = []
        for i in range(self.epochs):
            for xi, target in zip(X, y):
                output = self.net_input(xi)
                error = (target - output)
                self.w_[1:] += self.alpha * xi.dot(error)
                self.w_[0] += self.alpha * error
            cost = ((y - self.activation(X))**2).sum() / 2.0
            self.cost_.append(cost)
        return self

    def net_input(self, X):
        return np.dot(X, self.w_[1:]) + self.w_[0]

    def activation(self, X):
        return self.net_input(X)

    def predict(self, X):
        return np.where(self.activation(X) >= 0.0, 1, -1)


# ------------------------------------------------------------------------------ data
def course_iris():
    """The seeds' setup: rows 0:100 (setosa, versicolor), sepal and petal length, y in ±1."""
    X, y = load_iris()
    return X[0:100, [0, 2]], np.where(y[0:100] == 0, -1, 1)


def standardized(X):
    X_std = np.copy(X)
    X_std[:, 0] = (X[:, 0] - X[:, 0].mean()) / X[:, 0].std()
    X_std[:, 1] = (X[:, 1] - X[:, 1].mean()) / X[:, 1].std()
    return X_std


# ------------------------------------------------------------------------ Perceptron
def test_perceptron_reproduces_the_course_iris_result():
    X, y = course_iris()
    ppn = Perceptron(eta=0.1, epochs=10).fit(X, y)
    assert np.allclose(ppn.w_, [-0.4, -0.68, 1.82])
    assert ppn.errors_ == [2, 2, 3, 2, 1, 0, 0, 0, 0, 0]   # converged after the 6th epoch
    ref = SeedPerceptron(eta=0.1, epochs=10).train(X, y)
    np.testing.assert_array_equal(ppn.w_, ref.w_)
    assert ppn.errors_ == ref.errors_
    np.testing.assert_array_equal(ppn.predict(X), ref.predict(X))
    assert ppn.score(X, y) == 1.0


def test_perceptron_matches_seed_on_non_separable_data():
    X, y = load_iris()
    X, y = X[50:150], np.where(y[50:150] == 1, -1, 1)     # versicolor vs virginica
    ppn = Perceptron(eta=0.01, epochs=25).fit(X, y)
    ref = SeedPerceptron(eta=0.01, epochs=25).train(X, y)
    np.testing.assert_array_equal(ppn.w_, ref.w_)
    assert ppn.errors_ == ref.errors_
    assert min(ppn.errors_) > 0


def test_perceptron_train_alias_and_attributes():
    X, y = course_iris()
    ppn = Perceptron(eta=0.1, epochs=10)
    assert ppn.train(X, y) is ppn
    assert ppn.w_.shape == (3,) and ppn.n_features_in_ == 2
    assert ppn.net_input(X).shape == (100,)
    assert repr(ppn) == "Perceptron(eta=0.1, epochs=10)"  # non-default parameters only


def test_perceptron_maps_any_two_labels():
    X, y = course_iris()
    names = np.where(y == -1, "setosa", "versicolor")
    ppn = Perceptron(eta=0.1, epochs=10).fit(X, names)
    np.testing.assert_array_equal(ppn.classes_, ["setosa", "versicolor"])
    assert np.allclose(ppn.w_, [-0.4, -0.68, 1.82])       # setosa -> -1, versicolor -> +1
    np.testing.assert_array_equal(ppn.predict(X), names)
    ppn01 = Perceptron(eta=0.1, epochs=10).fit(X, (y + 1) // 2)
    np.testing.assert_array_equal(ppn01.w_, ppn.w_)
    np.testing.assert_array_equal(ppn01.predict(X[:3]), [0, 0, 0])


def test_perceptron_accepts_lists_and_float32():
    X, y = course_iris()
    ppn = Perceptron(eta=0.1, epochs=10).fit(X.tolist(), y.tolist())
    assert np.allclose(ppn.w_, [-0.4, -0.68, 1.82])
    Perceptron(eta=0.1, epochs=10).fit(X.astype(np.float32), y)


# --------------------------------------------------------------------------- Adaline
@pytest.mark.parametrize("eta, epochs, std", [(0.01, 15, True), (0.0001, 10, False),
                                              (0.01, 10, False)])
def test_adaline_gd_matches_seed(eta, epochs, std):
    X, y = course_iris()
    X = standardized(X) if std else X
    ada = Adaline(eta=eta, epochs=epochs, solver="gd").fit(X, y)
    ref = SeedAdalineGD(alpha=eta, epochs=epochs).train(X, y)
    np.testing.assert_array_equal(ada.w_, ref.w_)
    assert ada.cost_ == ref.cost_
    np.testing.assert_array_equal(ada.predict(X), ref.predict(X))


def test_adaline_gd_course_learning_rate_demo():
    """eta=0.01 on raw features overshoots (cost grows), eta=0.0001 decreases slowly."""
    X, y = course_iris()
    big = Adaline(eta=0.01, epochs=10).fit(X, y)
    small = Adaline(eta=0.0001, epochs=10).fit(X, y)
    assert np.all(np.diff(big.cost_) > 0)
    assert np.all(np.diff(small.cost_) < 0)


def test_adaline_gd_standardized_converges():
    X, y = course_iris()
    ada = Adaline(eta=0.01, epochs=15).fit(standardized(X), y)
    assert ada.score(standardized(X), y) == 1.0
    assert ada.cost_[-1] < ada.cost_[0]


@pytest.mark.parametrize("eta, epochs, std", [(0.01, 15, True), (0.001, 10, False)])
def test_adaline_sgd_without_shuffle_matches_seed(eta, epochs, std):
    X, y = course_iris()
    X = standardized(X) if std else X
    ada = Adaline(eta=eta, epochs=epochs, solver="sgd", shuffle=False).fit(X, y)
    ref = SeedAdalineSGD(alpha=eta, epochs=epochs).train(X, y)
    np.testing.assert_array_equal(ada.w_, ref.w_)
    assert ada.cost_ == ref.cost_


def _reference_sgd_shuffled(X, y, eta, epochs, seed):
    """The seed's SGD loop with a per-epoch permutation from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    w = np.zeros(1 + X.shape[1])
    cost_ = []
    for _ in range(epochs):
        r = rng.permutation(len(y))
        for xi, target in zip(X[r], y[r]):
            error = target - (np.dot(xi, w[1:]) + w[0])
            w[1:] += eta * xi.dot(error)
            w[0] += eta * error
        cost_.append(((y - (np.dot(X, w[1:]) + w[0])) ** 2).sum() / 2.0)
    return w, cost_


def test_adaline_sgd_shuffle_is_seeded():
    X, y = course_iris()
    X = standardized(X)
    a = Adaline(eta=0.01, epochs=15, solver="sgd", seed=1).fit(X, y)
    b = Adaline(eta=0.01, epochs=15, solver="sgd", seed=1).fit(X, y)
    c = Adaline(eta=0.01, epochs=15, solver="sgd", seed=2).fit(X, y)
    np.testing.assert_array_equal(a.w_, b.w_)
    assert a.cost_ == b.cost_
    assert not np.array_equal(a.w_, c.w_)
    w, cost_ = _reference_sgd_shuffled(X, y, 0.01, 15, seed=1)
    np.testing.assert_array_equal(a.w_, w)
    assert a.cost_ == cost_
    assert a.score(X, y) == 1.0


def test_adaline_labels_and_activation():
    X, y = course_iris()
    X = standardized(X)
    labels = np.where(y == -1, 10, 20)
    ada = Adaline(eta=0.01, epochs=15).fit(X, labels)
    np.testing.assert_array_equal(ada.classes_, [10, 20])
    np.testing.assert_array_equal(ada.predict(X), labels)
    np.testing.assert_array_equal(ada.activation(X), ada.net_input(X))
    assert repr(ada) == "Adaline(epochs=15)"  # non-default parameters only


def test_adaline_separates_two_blobs():
    X, y = make_blobs(n_samples=200, n_classes=2, std=0.5, seed=0)
    ada = Adaline(eta=0.001, epochs=20, solver="sgd", seed=0).fit(X, y)
    assert ada.score(X, y) == 1.0


# ------------------------------------------------------------------------ divergence
@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_adaline_divergence_raises_instead_of_nan(solver):
    X, y = course_iris()
    with pytest.raises(ValueError, match="diverged.*lower eta.*standardize"):
        Adaline(eta=1.0, epochs=200, solver=solver, shuffle=False).fit(X * 100, y)


def test_perceptron_divergence_raises():
    X, y = course_iris()
    with pytest.raises(ValueError, match="diverged"):
        Perceptron(eta=1e300, epochs=3).fit(X * 1e10, y)


# ------------------------------------------------------------------------ validation
MODELS = [Perceptron, Adaline]


@pytest.mark.parametrize("model", MODELS)
def test_fit_rejects_bad_input(model):
    X, y = course_iris()
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model().fit(bad, y)
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        model().fit(np.zeros((0, 2)), [])
    with pytest.raises(ValueError, match="reshape"):
        model().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="y has 99 labels but X has 100 samples"):
        model().fit(X, y[:99])
    with pytest.raises(ValueError, match="one class"):
        model().fit(X, np.ones(100))
    with pytest.raises(ValueError, match="binary classifier, but y has 3 classes"):
        model().fit(X[:3], [0, 1, 2])
    with pytest.raises(ValueError, match="continuous"):
        model().fit(X[:3], [0.5, 1.0, 0.0])


@pytest.mark.parametrize("model", MODELS)
def test_predict_rejects_bad_input(model):
    X, y = course_iris()
    clf = model(eta=0.1, epochs=2).fit(X, y)
    with pytest.raises(ValueError, match=f"X has 3 features, but {model.__name__} is expecting 2 "
                                         "features as input"):
        clf.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match="reshape"):
        clf.predict(X[0])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict([[np.nan, 1.0]])
    with pytest.raises(ValueError, match="y has 2 labels but X has 100 samples"):
        clf.score(X, y[:2])
    assert clf.predict(X[:1]).shape == (1,)


@pytest.mark.parametrize("model", MODELS)
def test_not_fitted(model):
    with pytest.raises(ValueError, match="not fitted"):
        model().predict([[1.0, 2.0]])


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(eta=0), ValueError, "eta must be > 0"),
    (dict(eta=-0.1), ValueError, "eta must be > 0"),
    (dict(eta="fast"), TypeError, "eta must be a number"),
    (dict(epochs=0), ValueError, "epochs must be > 0"),
    (dict(epochs=2.5), TypeError, "epochs must be an integer"),
])
def test_hyperparameters_validated_at_fit(model, kwargs, error, match):
    X, y = course_iris()
    clf = model(**kwargs)                    # construction never fails
    with pytest.raises(error, match=match):
        clf.fit(X, y)


def test_adaline_solver_and_shuffle_validated():
    X, y = course_iris()
    with pytest.raises(ValueError, match="solver must be one of 'gd', 'sgd'"):
        Adaline(solver="adam").fit(X, y)
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        Adaline(solver="sgd", shuffle="yes").fit(X, y)
