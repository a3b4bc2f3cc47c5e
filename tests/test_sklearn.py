"""xpnet inside scikit-learn: the estimator checks, cloning, pickling and the model-selection
tools, used for real (scikit-learn is a test dependency, the ``dev`` extra; these tests skip
where it is not installed, and ``import xpnet`` never imports it).

No check is expected to fail: ``EXPECTED_FAILED_CHECKS`` is empty on purpose. The instances
use a few non-default settings, for reasons of the models, not of the checks: the networks run
with 16 hidden units (the default 64 is only slower), ``learning_rate=0.01`` (the class-weight
check trains about 100 steps on very noisy blobs; at Adam's 0.001 they are too few) and float64
(the sample-weight check compares weighted fits with fits on repeated rows at rtol 1e-7, and
float32 rounding differs by 2e-7); Adaline runs with ``eta=1e-4``: its cost is the seeds'
unaveraged sum of squared errors, so a stable ``eta`` shrinks with the number of samples, and
the checks' 200-300 unscaled samples diverge at the seeds' 0.01 (which Adaline reports as an
error, as it should).
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from conftest import ROOT  # noqa: E402
from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.exceptions import NotFittedError as SklearnNotFittedError  # noqa: E402
from sklearn.model_selection import (GridSearchCV, RandomizedSearchCV,  # noqa: E402
                                     cross_val_score)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

import xpnet  # noqa: E402
from xpnet import backends  # noqa: E402
from xpnet._estimator import NotFittedError  # noqa: E402

#: The checks warn that the estimators do not inherit from scikit-learn's BaseEstimator: they
#: keep its contract without it, so that ``import xpnet`` needs no scikit-learn.
pytestmark = pytest.mark.filterwarnings("ignore:Estimator .* does not inherit from "
                                        "`sklearn.base.BaseEstimator`:UserWarning")
CPU_BACKENDS = [n for n in backends.available_backends() if n != "cupy"]
FAST = [n for n in CPU_BACKENDS if n != "loops"]
EXPECTED_FAILED_CHECKS = {}


def estimators(backend="numpy"):
    net = dict(hidden=(16,), learning_rate=0.01, dtype="float64", seed=0, backend=backend)
    return [xpnet.NeuralNetwork(**net), xpnet.NeuralNetworkRegressor(**net),
            xpnet.LogisticRegression(iterations=200),
            xpnet.Perceptron(),
            xpnet.Adaline(eta=1e-4)]


@parametrize_with_checks(estimators(), expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.numba
@pytest.mark.skipif("numba" not in CPU_BACKENDS, reason="numba is not installed")
@parametrize_with_checks(estimators("numba")[:2],
                         expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_scikit_learn_estimator_checks_on_numba(estimator, check):
    check(estimator)


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])
    y = rng.integers(0, 3, 150)
    return centers[y] + rng.standard_normal((150, 2)) * 0.7, y


# ---------------------------------------------------------------- the estimator contract
def test_importing_xpnet_does_not_import_scikit_learn():
    code = "import sys, xpnet; xpnet.NeuralNetwork(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("est", estimators(), ids=lambda e: type(e).__name__)
def test_clone_repr_and_tags(est):
    twin = clone(est)
    assert twin is not est and twin.get_params(deep=True) == est.get_params(deep=False)
    assert repr(twin) == repr(est) and "(" in repr(est)
    assert is_classifier(est) != is_regressor(est)
    assert is_regressor(est) == isinstance(est, xpnet.NeuralNetworkRegressor)


def test_repr_shows_only_non_default_parameters():
    assert repr(xpnet.NeuralNetwork()) == "NeuralNetwork()"
    assert repr(xpnet.NeuralNetwork(hidden=(8, 4), optimizer="adamw", l2=0.1)) == \
        "NeuralNetwork(hidden=(8, 4), optimizer='adamw', l2=0.1)"
    assert repr(xpnet.NeuralNetworkRegressor(loss="huber")) == \
        "NeuralNetworkRegressor(loss='huber')"


@pytest.mark.parametrize("est", estimators(), ids=lambda e: type(e).__name__)
def test_unfitted_use_raises_not_fitted_error(est):
    X = np.zeros((3, 2))
    with pytest.raises(NotFittedError) as info:
        est.predict(X)
    assert isinstance(info.value, (ValueError, AttributeError, SklearnNotFittedError))
    assert "not fitted yet" in str(info.value)
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(est)


def test_set_params_is_atomic_and_names_the_valid_ones():
    model = xpnet.NeuralNetwork()
    with pytest.raises(ValueError, match="invalid parameter 'hidden__size'.*valid parameters"):
        model.set_params(epochs=3, hidden__size=2)
    assert model.epochs == 100


def test_a_classifier_does_not_become_a_regressor(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="Unknown label type"):
        xpnet.NeuralNetwork(epochs=1).fit(X, X[:, 0] * 0.3)


def test_the_regressor_has_no_predict_proba(blobs):
    X, _ = blobs
    model = xpnet.NeuralNetworkRegressor(hidden=(4,), epochs=2).fit(X, X[:, 0])
    assert not hasattr(model, "predict_proba")
    assert model.predict(X).dtype == np.float64


# --------------------------------------------------------------------------- pickling
@pytest.mark.parametrize("backend", FAST)
def test_fitted_networks_pickle_deepcopy_and_joblib_with_identical_predictions(backend, blobs,
                                                                               tmp_path):
    import joblib

    X, y = blobs
    model = xpnet.NeuralNetwork(hidden=(8,), epochs=5, seed=0, backend=backend,
                                batch_norm=True).fit(X, y)
    expected = model.predict_proba(X)
    joblib.dump(model, tmp_path / "model.joblib")
    for twin in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model),
                 joblib.load(tmp_path / "model.joblib")):
        np.testing.assert_array_equal(twin.predict_proba(X), expected)
        assert twin.backend_ == backend and twin._bk is backends.resolve(backend)
        twin.fit(X, y)  # a copy trains on as a fresh model of the same settings
        np.testing.assert_array_equal(twin.predict_proba(X), expected)


def test_a_backend_instance_is_pickled_by_name(blobs):
    X, y = blobs
    model = xpnet.NeuralNetwork(hidden=(4,), epochs=1, backend=backends.resolve("numpy"))
    twin = pickle.loads(pickle.dumps(model.fit(X, y)))
    assert twin.backend == "numpy"
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))


# ----------------------------------------------------------- the model-selection tools
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_grid_search_with_two_jobs(backend, blobs):
    X, y = blobs
    if backend == "loops":
        X, y = X[:24], y[:24]  # the loops run every number in Python
    base = xpnet.NeuralNetwork(hidden=(4,), epochs=3 if backend == "loops" else 20, seed=0,
                               backend=backend)
    search = GridSearchCV(base, {"learning_rate": [0.003, 0.03], "optimizer": ["adam", "gd"]},
                          cv=2, n_jobs=2)
    search.fit(X, y)
    assert set(search.best_params_) == {"learning_rate", "optimizer"}
    assert search.best_estimator_.backend_ == backend
    assert len(search.cv_results_["mean_test_score"]) == 4
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))


def _sized(backend, X, y, epochs):
    """The data and epochs for ``backend``: a small slice for the loops (every number in
    Python), the whole set otherwise."""
    return (X[:24], y[:24], 3) if backend == "loops" else (X, y, epochs)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_randomized_search_on_a_log_scale(backend, blobs):
    from scipy.stats import loguniform

    X, y, epochs = _sized(backend, *blobs, 20)
    base = xpnet.NeuralNetwork(hidden=(8,), epochs=epochs, seed=0, backend=backend)
    search = RandomizedSearchCV(base, {"learning_rate": loguniform(1e-4, 1e-1)}, n_iter=3,
                                cv=2, random_state=0).fit(X, y)
    rates = search.cv_results_["param_learning_rate"]
    assert all(1e-4 <= r <= 1e-1 for r in rates)
    assert search.best_estimator_.backend_ == backend
    if backend != "loops":
        assert search.best_score_ > 0.5


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_cross_val_score_and_a_pipeline(backend, blobs):
    X, y, epochs = _sized(backend, *blobs, 30)
    net = xpnet.NeuralNetwork(hidden=(8,), epochs=epochs, learning_rate=0.01, seed=0,
                              backend=backend)
    scores = cross_val_score(net, X, y, cv=3)
    pipe = make_pipeline(StandardScaler(), clone(net).set_params(normalize=False))
    pipe_score = pipe.fit(X * 100 + 5, y).score(X * 100 + 5, y)
    reg = make_pipeline(StandardScaler(), xpnet.NeuralNetworkRegressor(
        hidden=(8,), epochs=epochs * 10 // 3, learning_rate=0.01, seed=0, backend=backend))
    reg_scores = cross_val_score(reg, X, (X[:, 0] - 2 * X[:, 1]) / 5, cv=3)
    assert scores.shape == reg_scores.shape == (3,)
    if backend != "loops":  # the loops run too few epochs to learn; they check the plumbing
        assert scores.mean() > 0.9 and pipe_score > 0.9 and reg_scores.mean() > 0.9


def test_the_course_models_in_a_grid_search(blobs):
    X, y = blobs
    Xb, yb = X[y < 2], y[y < 2]
    for est, grid in ((xpnet.Perceptron(), {"eta": [0.01, 0.1]}),
                      (xpnet.Adaline(epochs=20), {"eta": [1e-4, 1e-3], "solver": ["gd", "sgd"]}),
                      (xpnet.LogisticRegression(iterations=100), {"learning_rate": [0.1, 1.0]})):
        search = GridSearchCV(est, grid, cv=3).fit(Xb, yb)
        assert search.best_score_ > 0.9
