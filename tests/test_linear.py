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


# ------------------------------------------------------- Adaline: partial_fit, minibatch
def _reference_pass(X, y, w, eta, order, batch_size=1):
    """The delta rule as a NumPy for-loop over the samples in ``order``, one update per
    ``batch_size`` of them (the seed's SGD loop for batch_size=1); returns the new weights and
    the running SSE/2 (each batch's errors before its update)."""
    w = w.copy()
    running = 0.0
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        grad_w, grad_b = np.zeros(len(w) - 1), 0.0
        for i in batch:
            error = y[i] - (np.dot(X[i], w[1:]) + w[0])
            grad_w += X[i] * error
            grad_b += error
            running += error ** 2 / 2.0
        w[1:] += eta * grad_w
        w[0] += eta * grad_b
    return w, running


def _sse(X, y, w):
    return ((y - (X @ w[1:] + w[0])) ** 2).sum() / 2.0


def test_partial_fit_on_an_unfitted_model_is_one_sgd_epoch():
    X, y = course_iris()
    X = standardized(X)
    part = Adaline(eta=0.01, solver="sgd", seed=4).partial_fit(X, y)
    one = Adaline(eta=0.01, epochs=1, solver="sgd", seed=4).fit(X, y)
    np.testing.assert_array_equal(part.w_, one.w_)
    assert part.cost_ == one.cost_ and len(part.cost_) == 1
    np.testing.assert_array_equal(part.classes_, [-1, 1])
    assert part.n_features_in_ == 2
    order = np.random.default_rng(4).permutation(len(y))
    w, _ = _reference_pass(X, y, np.zeros(3), 0.01, order)
    np.testing.assert_allclose(part.w_, w, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shuffle", [True, False])
def test_partial_fit_continues_from_fit(shuffle):
    X, y = course_iris()
    X = standardized(X)
    ada = Adaline(eta=0.01, epochs=1, solver="sgd", shuffle=shuffle, seed=7).fit(X, y)
    first = ada.w_.copy()
    ada.partial_fit(X, y)
    rng = np.random.default_rng(7)
    orders = [rng.permutation(len(y)) if shuffle else np.arange(len(y)) for _ in range(2)]
    w1, _ = _reference_pass(X, y, np.zeros(3), 0.01, orders[0])
    w2, _ = _reference_pass(X, y, w1, 0.01, orders[1])   # the manual second pass
    np.testing.assert_allclose(first, w1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ada.w_, w2, rtol=0, atol=1e-12)
    assert ada.cost_[1] == pytest.approx(_sse(X, y, w2), rel=1e-12)
    two = Adaline(eta=0.01, epochs=2, solver="sgd", shuffle=shuffle, seed=7).fit(X, y)
    np.testing.assert_array_equal(ada.w_, two.w_)            # fit(1) + partial_fit == fit(2)
    assert ada.cost_ == two.cost_


def test_partial_fit_does_not_reinitialize_the_weights():
    X, y = course_iris()
    X = standardized(X)
    ada = Adaline(eta=0.01, epochs=5, solver="sgd", seed=0).fit(X, y)
    before, costs = ada.w_.copy(), list(ada.cost_)
    ada.partial_fit(X[:1], y[:1])                      # one sample: one delta-rule step
    error = y[0] - (X[0] @ before[1:] + before[0])
    np.testing.assert_allclose(ada.w_, before + 0.01 * error * np.r_[1.0, X[0]], atol=1e-15)
    fresh = Adaline(eta=0.01, solver="sgd", seed=0).partial_fit(X[:1], y[:1], classes=[-1, 1])
    assert not np.allclose(ada.w_, fresh.w_)
    assert ada.cost_[:5] == costs and len(ada.cost_) == 6
    assert ada.cost_[5] == pytest.approx(_sse(X[:1], y[:1], ada.w_))


def test_partial_fit_streams_chunks_with_any_labels():
    X, y = course_iris()
    X = standardized(X)
    labels = np.where(y == -1, "setosa", "versicolor")
    ada = Adaline(eta=0.01, solver="sgd", shuffle=False)
    for chunk in np.array_split(np.arange(100), 10):      # chunk 0 holds setosa only
        ada.partial_fit(X[chunk], labels[chunk], classes=["setosa", "versicolor"])
    np.testing.assert_array_equal(ada.classes_, ["setosa", "versicolor"])
    assert len(ada.cost_) == 10
    epoch = Adaline(eta=0.01, epochs=1, solver="sgd", shuffle=False).fit(X, labels)
    np.testing.assert_array_equal(ada.w_, epoch.w_)    # the chunks in order: one sgd epoch
    for _ in range(2):
        ada.partial_fit(X, labels)
    assert ada.score(X, labels) == 1.0


@pytest.mark.parametrize("solver", ["gd", "minibatch"])
def test_partial_fit_runs_one_epoch_of_the_solver(solver):
    X, y = course_iris()
    X = standardized(X)
    kw = dict(eta=0.001, solver=solver, batch_size=16, seed=2)
    ada = Adaline(**kw).partial_fit(X, y).partial_fit(X, y)
    two = Adaline(epochs=2, **kw).fit(X, y)
    np.testing.assert_array_equal(ada.w_, two.w_)
    assert ada.cost_ == two.cost_


def test_adaline_cost_decreases_on_the_course_iris():
    X, y = course_iris()
    X = standardized(X)
    kw = dict(eta=0.01, epochs=15, solver="minibatch", batch_size=10)
    mini = Adaline(shuffle=False, **kw).fit(X, y)
    assert np.all(np.diff(mini.cost_) < 0) and mini.score(X, y) == 1.0
    shuffled = Adaline(seed=1, **kw).fit(X, y)           # noisier, still going down
    assert shuffled.cost_[-1] < shuffled.cost_[0] / 4 and shuffled.score(X, y) == 1.0
    ada = Adaline(eta=0.01, solver="sgd", seed=1)
    for _ in range(15):
        ada.partial_fit(X, y)
    assert ada.cost_[-1] < ada.cost_[0] and np.all(np.diff(ada.cost_[:5]) < 0)
    assert ada.score(X, y) == 1.0


def test_partial_fit_errors():
    X, y = course_iris()
    ada = Adaline(eta=0.001, solver="sgd").partial_fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but Adaline is expecting 2"):
        ada.partial_fit(np.ones((4, 3)), y[:4])
    with pytest.raises(ValueError, match=r"y has labels not seen in fit: \[7\].*classes"):
        ada.partial_fit(X[:2], [1, 7])
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] differs from the fitted"):
        ada.partial_fit(X, y, classes=[0, 1])
    ada.partial_fit(X, y, classes=[1, -1])             # the same classes, in any order
    with pytest.raises(ValueError, match="first call needs both classes.*classes="):
        Adaline().partial_fit(X[:10], np.ones(10))
    with pytest.raises(ValueError, match="binary classifier, but classes has 3 classes"):
        Adaline().partial_fit(X[:3], [0, 1, 1], classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"y has labels not seen in fit: \[5\]"):
        Adaline().partial_fit(X[:2], [0, 5], classes=[0, 1])
    one = Adaline(eta=0.001).partial_fit(X[:10], np.ones(10), classes=[-1, 1])
    np.testing.assert_array_equal(one.classes_, [-1, 1])
    assert one.predict(X[:1]).item() == 1


def test_a_diverging_partial_fit_leaves_the_model_as_it_was():
    X, y = course_iris()
    ada = Adaline(eta=0.001, solver="sgd", shuffle=False).partial_fit(X, y)
    ada.set_params(eta=1.0)
    with pytest.raises(ValueError, match=r"diverged at epoch \d+: .*lower eta"):
        for _ in range(50):
            last_w, last_cost = ada.w_.copy(), list(ada.cost_)
            ada.partial_fit(X * 100, y)
    np.testing.assert_array_equal(ada.w_, last_w)
    assert ada.cost_ == last_cost and np.all(np.isfinite(ada.w_))
    fresh = Adaline(eta=1.0, solver="sgd")
    with pytest.raises(ValueError, match="diverged at epoch 1"):
        fresh.partial_fit(X * 1e150, y)
    assert not hasattr(fresh, "w_")


@pytest.mark.parametrize("batch_size", [100, 101, 1000])
@pytest.mark.parametrize("shuffle", [True, False])
def test_minibatch_with_one_batch_is_gd(batch_size, shuffle):
    X, y = course_iris()
    for data in (X, standardized(X)):
        eta = 0.0001 if data is X else 0.01
        gd = Adaline(eta=eta, epochs=10, solver="gd").fit(data, y)
        mini = Adaline(eta=eta, epochs=10, solver="minibatch", batch_size=batch_size,
                       shuffle=shuffle, seed=3).fit(data, y)
        np.testing.assert_allclose(mini.w_, gd.w_, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(mini.cost_, gd.cost_, rtol=1e-12)   # SSE/2 before update
        if not shuffle:
            np.testing.assert_array_equal(mini.w_, gd.w_)


@pytest.mark.parametrize("shuffle", [True, False])
def test_minibatch_of_one_sample_is_sgd(shuffle):
    X, y = course_iris()
    X = standardized(X)
    sgd = Adaline(eta=0.01, epochs=10, solver="sgd", shuffle=shuffle, seed=5).fit(X, y)
    mini = Adaline(eta=0.01, epochs=10, solver="minibatch", batch_size=1, shuffle=shuffle,
                   seed=5).fit(X, y)
    np.testing.assert_allclose(mini.w_, sgd.w_, rtol=0, atol=1e-12)


def test_minibatch_matches_the_for_loop_reference():
    X, y = course_iris()
    X = standardized(X)
    ada = Adaline(eta=0.005, epochs=4, solver="minibatch", batch_size=7, seed=9).fit(X, y)
    rng, w = np.random.default_rng(9), np.zeros(3)
    for epoch in range(4):                       # 100 = 14 batches of 7 + one of 2
        w, running = _reference_pass(X, y, w, 0.005, rng.permutation(100), batch_size=7)
        assert ada.cost_[epoch] == pytest.approx(running, rel=1e-12)
    np.testing.assert_allclose(ada.w_, w, rtol=0, atol=1e-12)


def test_adaline_batch_size_validated():
    X, y = course_iris()
    assert Adaline().batch_size == 32 and Adaline().get_params()["batch_size"] == 32
    with pytest.raises(ValueError, match="batch_size must be > 0"):
        Adaline(solver="minibatch", batch_size=0).fit(X, y)
    for bad in (2.5, 32.0, True):
        with pytest.raises(TypeError, match="batch_size must be an integer"):
            Adaline(solver="minibatch", batch_size=bad).fit(X, y)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        Adaline(batch_size=True).partial_fit(X, y)
    assert Adaline(solver="minibatch", batch_size=np.int64(8), eta=1e-4).fit(X, y).w_.shape \
        == (3,)


def test_every_adaline_solver_has_an_epoch():
    for solver in Adaline.SOLVERS:
        assert callable(getattr(Adaline, f"_epoch_{solver}"))
    assert Adaline.SOLVERS == ("gd", "sgd", "minibatch")


def test_partial_fit_checks_the_column_names_of_the_first_call():
    pd = pytest.importorskip("pandas")
    X, y = course_iris()
    frame = pd.DataFrame(X, columns=["sepal", "petal"])
    ada = Adaline(eta=0.001, solver="sgd").partial_fit(frame, y)
    np.testing.assert_array_equal(ada.feature_names_in_, ["sepal", "petal"])
    ada.partial_fit(frame, y)
    with pytest.raises(ValueError, match="another order"):
        ada.partial_fit(frame[["petal", "sepal"]], y)
