"""Single-layer linear classifiers of the course: Rosenblatt's perceptron and Adaline.

Both follow the seeds' code exactly: weights start at zero, ``w_`` holds the bias first and
then one weight per feature (shape ``(1 + n_features,)``), the net input is
``z = X w_[1:] + w_[0]`` and the prediction is ``+1`` where ``z >= 0``, else ``-1``.

Any two distinct labels are accepted: sorted, ``classes_[0]`` is coded ``-1`` and
``classes_[1]`` is coded ``+1``, and ``predict`` returns the original labels.

These models learn one sample at a time (the perceptron rule, Adaline's stochastic gradient
descent), which is inherently sequential, so they run on host NumPy in float64 and take no
``backend``; the backend machinery serves the neural networks.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as V
from .._estimator import Estimator
from .hyperparameters import ADALINE, PERCEPTRON

__all__ = ["Perceptron", "Adaline"]


class _LinearUnit(Estimator):
    """Shared plumbing: validation, label coding, ``net_input``, ``predict``, ``score``."""

    _estimator_type = "classifier"
    _fitted_attribute = "w_"

    def _multi_class(self):
        return False

    def _prepare(self, X, y):
        """Validated ``X (n_samples, n_features)`` float64 and targets ``(n_samples,)`` in ±1."""
        names = V.feature_names(X)
        X, y = V.check_X_y(X, y)
        classes, y_index = V.encode_classes(y)
        if len(classes) > 2:
            raise ValueError(f"Only binary classification is supported: "
                             f"{type(self).__name__} is a binary classifier, but y has "
                             f"{len(classes)} classes; train one model per class "
                             "(one-vs-rest) or use xpnet.NeuralNetwork")
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        V.set_feature_names(self, names)
        return X.astype(np.float64), np.where(y_index == 1, 1, -1)

    def net_input(self, X):
        """``z = X w_[1:] + w_[0]``: ``X (n_samples, n_features)`` -> ``(n_samples,)``."""
        self._check_fitted()
        X = V.check_fitted_X(self, X)
        return np.dot(X, self.w_[1:]) + self.w_[0]

    def predict(self, X):
        """Labels ``(n_samples,)`` from ``classes_``: ``classes_[1]`` where ``z >= 0``."""
        z = self.net_input(X)
        return self.classes_[np.where(z >= 0.0, 1, 0)]

    def score(self, X, y):
        """Accuracy (fraction of correct labels) on ``X (n_samples, n_features)``, ``y``."""
        self._check_fitted()
        X = V.check_fitted_X(self, X)
        y = V.check_y(y, X.shape[0])
        return float(np.mean(self.predict(X) == y))

    def train(self, X, y):
        """Alias of ``fit`` (the seeds' name)."""
        return self.fit(X, y)

    def _check_common(self):
        """Every hyperparameter checked by its schema entry (``self._hp``)."""
        self._hp = self.schema.check(self)

    def _diverged(self, epoch, value):
        raise ValueError(f"{type(self).__name__} diverged at epoch {epoch}: the {value} became "
                         f"non-finite with eta={self.eta!r}; lower eta (e.g. {self.eta / 10:g}) "
                         "and/or standardize the features: X = (X - X.mean(0)) / X.std(0)")


class Perceptron(_LinearUnit):
    """Rosenblatt's perceptron (1957), trained with the perceptron rule.

    Parameters
    ----------
    eta : float > 0
        Learning rate.
    epochs : int > 0
        Passes over the training set.
    seed : None or int
        Accepted for a uniform estimator API; training is deterministic (zero initial weights,
        samples in data order), so it has no effect.

    Attributes (after ``fit``)
    --------------------------
    w_ : ndarray ``(1 + n_features,)``
        Bias ``w_[0]``, then the feature weights ``w_[1:]``.
    errors_ : list of int, one per epoch
        Number of updates (misclassified samples) in each epoch; 0 once converged.
    classes_ : ndarray ``(2,)``
        The sorted labels, coded ``-1`` and ``+1``.
    n_features_in_ : int

    Notes
    -----
    For each sample ``x`` (in data order) with coded target ``t``:
    ``update = eta (t - predict(x))``, ``w_[1:] += update x``, ``w_[0] += update``.
    Sequential by nature, so it runs on host NumPy (float64) for any backend setting.
    """

    schema = PERCEPTRON
    __init__ = PERCEPTRON.make_init("Perceptron")

    def fit(self, X, y):
        """Train on ``X (n_samples, n_features)`` and two-class ``y (n_samples,)``; returns self."""
        self._check_common()
        X, target = self._prepare(X, y)
        w = np.zeros(1 + X.shape[1])
        errors_ = []
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(1, self.epochs + 1):
                errors_.append(self._epoch(X, target, w))
                if not np.all(np.isfinite(w)):
                    self._diverged(epoch, "weights")
        self.w_, self.errors_ = w, errors_
        return self

    def _epoch(self, X, target, w):
        """One pass of the perceptron rule, updating ``w`` in place; returns the update count."""
        eta = self.eta
        errors = 0
        for xi, t in zip(X, target):
            update = eta * (t - np.where(np.dot(xi, w[1:]) + w[0] >= 0.0, 1, -1))
            w[1:] += update * xi
            w[0] += update
            errors += int(update != 0.0)
        return errors


class Adaline(_LinearUnit):
    """ADAptive LInear NEuron (Widrow and Hoff, 1960): the delta rule on a linear unit.

    The cost is the sum of squared errors ``J(w) = 1/2 sum_i (t_i - z_i)^2`` with targets
    ``t`` in ±1 and linear activation ``z = X w_[1:] + w_[0]``; prediction thresholds ``z`` at 0.

    Parameters
    ----------
    eta : float > 0
        Learning rate. SSE is not averaged, so unstandardized features need a small one.
    epochs : int > 0
        Passes over the training set.
    solver : gd or sgd
        ``gd``: batch gradient descent, one update per epoch,
        ``w_[1:] += eta X^T (t - z)``, ``w_[0] += eta sum(t - z)``.
        ``sgd``: stochastic gradient descent, one such update per sample.
    shuffle : bool
        ``sgd`` only: reshuffle the samples every epoch (a ``numpy.random.Generator`` seeded
        with ``seed``); ``False`` keeps data order.
    seed : None or int
        Seeds the shuffling.

    Attributes (after ``fit``)
    --------------------------
    w_ : ndarray ``(1 + n_features,)``
        Bias ``w_[0]``, then the feature weights ``w_[1:]``.
    cost_ : list of float, one per epoch
        ``gd``: SSE/2 at the start of the epoch (before its update), as in the seeds;
        ``sgd``: SSE/2 over all samples after the epoch.
    classes_ : ndarray ``(2,)``
        The sorted labels, coded ``-1`` and ``+1``.
    n_features_in_ : int

    A cost that becomes non-finite (too large ``eta``) raises ValueError rather than leaving
    NaN weights. The SGD loop is sequential, so both solvers run on host NumPy (float64).
    """

    schema = ADALINE
    SOLVERS = ADALINE["solver"].parse.choices
    __init__ = ADALINE.make_init("Adaline")

    def activation(self, X):
        """Linear activation ``g(z) = z``: ``(n_samples, n_features)`` -> ``(n_samples,)``."""
        return self.net_input(X)

    def fit(self, X, y):
        """Train on ``X (n_samples, n_features)`` and two-class ``y (n_samples,)``; returns self."""
        self._check_common()
        X, target = self._prepare(X, y)
        w = np.zeros(1 + X.shape[1])
        with np.errstate(over="ignore", invalid="ignore"):
            if self.solver == self.SOLVERS[0]:
                cost_ = self._fit_gd(X, target, w)
            else:
                cost_ = self._fit_sgd(X, target, w, np.random.default_rng(self.seed))
        self.w_, self.cost_ = w, cost_
        return self

    def _fit_gd(self, X, y, w):
        """Batch delta rule, updating ``w`` in place; returns the per-epoch costs."""
        cost_ = []
        for epoch in range(1, self.epochs + 1):
            output = np.dot(X, w[1:]) + w[0]
            errors = (y - output)
            w[1:] += self.eta * X.T.dot(errors)
            w[0] += self.eta * errors.sum()
            cost_.append(self._checked_cost(epoch, (errors ** 2).sum() / 2.0, w))
        return cost_

    def _fit_sgd(self, X, y, w, rng):
        """Per-sample delta rule, updating ``w`` in place; returns the per-epoch costs."""
        cost_ = []
        for epoch in range(1, self.epochs + 1):
            order = rng.permutation(len(y)) if self.shuffle else slice(None)
            for xi, target in zip(X[order], y[order]):
                error = (target - (np.dot(xi, w[1:]) + w[0]))
                w[1:] += self.eta * xi.dot(error)
                w[0] += self.eta * error
            cost = ((y - (np.dot(X, w[1:]) + w[0])) ** 2).sum() / 2.0
            cost_.append(self._checked_cost(epoch, cost, w))
        return cost_

    def _checked_cost(self, epoch, cost, w):
        if not (np.isfinite(cost) and np.all(np.isfinite(w))):
            self._diverged(epoch, "cost")
        return float(cost)
