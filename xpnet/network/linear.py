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
from .estimator import _class_indices
from .hyperparameters import ADALINE, PERCEPTRON
from .training import TrainingDiverged

__all__ = ["Perceptron", "Adaline"]


class _LinearUnit(Estimator):
    """Shared plumbing: validation, label coding, ``net_input``, ``predict``, ``score``."""

    _estimator_type = "classifier"
    _fitted_attribute = "w_"

    def _multi_class(self):
        return False

    def _prepare(self, X, y, classes=None, partial=False):
        """Validated ``X (n_samples, n_features)`` float64 and targets ``(n_samples,)`` in ±1;
        sets ``classes_`` (``classes`` when given, else the labels of ``y``), the feature count
        and names. ``partial``: the first ``partial_fit`` call (its error names ``classes``)."""
        names = V.feature_names(X)
        X, y = V.check_X_y(X, y)
        if classes is None:
            classes, y_index = V.encode_classes(y, min_classes=1 if partial else 2)
            if len(classes) < 2:
                raise ValueError(f"partial_fit's first call needs both classes, but y has only "
                                 f"{classes.tolist()[0]!r}; pass both labels as classes=[...] "
                                 "(as in scikit-learn) or include both in y")
            self._check_binary(classes, "y")
        else:
            classes, _ = V.encode_classes(V.check_y(classes, None, name="classes"),
                                          name="classes")
            self._check_binary(classes, "classes")
            y_index = _class_indices(classes, y, "y")
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        V.set_feature_names(self, names)
        return X.astype(np.float64), np.where(y_index == 1, 1, -1)

    def _check_binary(self, classes, name):
        if len(classes) > 2:
            raise ValueError(f"Only binary classification is supported: "
                             f"{type(self).__name__} is a binary classifier, but {name} has "
                             f"{len(classes)} classes; train one model per class "
                             "(one-vs-rest) or use xpnet.NeuralNetwork")

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
        raise TrainingDiverged(f"{type(self).__name__} diverged at epoch {epoch}: the {value} "
                               f"became non-finite with eta={self.eta!r}; lower eta (e.g. "
                               f"{self.eta / 10:g}) and/or standardize the features: "
                               "X = (X - X.mean(0)) / X.std(0)")


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
        eta = float(self._hp["eta"])
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
    solver : gd, sgd or minibatch
        All three apply one delta rule to a batch of ``k`` samples ``X_B (k, n_features)``:
        ``e = t_B - z_B``, ``w_[1:] += eta X_B^T e``, ``w_[0] += eta sum(e)``, the gradient
        step of the batch's SSE/2 (summed over the batch, not averaged, like the cost).
        ``gd``: the batch is the whole training set, one update per epoch;
        ``sgd``: one sample, one update per sample;
        ``minibatch``: ``batch_size`` consecutive samples of the epoch's order (the last batch
        takes the rest), so ``batch_size >= n_samples`` is ``gd`` (up to the order of the
        sums) and ``batch_size=1`` is ``sgd``.
    shuffle : bool
        ``sgd`` and ``minibatch``: reshuffle the samples every epoch (a
        ``numpy.random.Generator`` seeded with ``seed``); ``False`` keeps data order.
    seed : None or int
        Seeds the shuffling.
    batch_size : int > 0
        ``minibatch`` only: samples per update.

    Attributes (after ``fit`` or ``partial_fit``)
    ---------------------------------------------
    w_ : ndarray ``(1 + n_features,)``
        Bias ``w_[0]``, then the feature weights ``w_[1:]``.
    cost_ : list of float, one per epoch (and one per ``partial_fit`` call)
        ``gd``: SSE/2 at the start of the epoch (before its update), as in the seeds;
        ``sgd``: SSE/2 over all samples after the epoch, as in the seeds;
        ``minibatch``: the epoch's running SSE/2, each batch's squared errors taken before its
        update, summed over the batches: on ``gd``'s scale (with one batch it is ``gd``'s cost
        exactly) for any ``batch_size``; ``cost_[i] / n_samples`` is the average cost per
        sample.
    classes_ : ndarray ``(2,)``
        The sorted labels, coded ``-1`` and ``+1``.
    n_features_in_ : int

    A cost that becomes non-finite (too large ``eta``) raises ``TrainingDiverged`` (a
    ValueError; the searches record such a trial and rank it last) rather than leaving NaN
    weights. The SGD loop is sequential, so every solver runs on host NumPy (float64).
    """

    schema = ADALINE
    SOLVERS = ADALINE["solver"].parse.choices
    __init__ = ADALINE.make_init("Adaline")

    def activation(self, X):
        """Linear activation ``g(z) = z``: ``(n_samples, n_features)`` -> ``(n_samples,)``."""
        return self.net_input(X)

    def fit(self, X, y):
        """Train on ``X (n_samples, n_features)`` and two-class ``y (n_samples,)`` from zero
        weights, ``epochs`` epochs of ``solver``; returns self."""
        self._check_common()
        X, target = self._prepare(X, y)
        w, cost_ = self._initialize_weights(X.shape[1]), []
        rng = np.random.default_rng(self.seed)
        for epoch in range(1, self.epochs + 1):
            cost_.append(self._epoch(epoch, X, target, w, rng))
        self.w_, self.cost_, self._rng = w, cost_, rng
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch of ``solver`` over ``X (n_samples, n_features)``, ``y (n_samples,)``,
        appending its cost to ``cost_``; returns self.

        On an unfitted model it starts as ``fit`` does (zero weights, shuffling seeded with
        ``seed``), so the first call equals ``fit`` with ``epochs=1``; ``classes`` (both
        labels) is needed there when ``y`` holds only one of them. A fitted model (by ``fit``
        or ``partial_fit``) trains on from ``w_`` and its shuffling generator without
        re-initializing, so ``fit(X, y)`` with ``epochs=1`` then ``partial_fit(X, y)`` equals
        ``fit`` with ``epochs=2``. ``X`` must have the fitted number of features and ``y``
        only labels of ``classes_``.
        """
        self._check_common()
        if self.__sklearn_is_fitted__():
            X, target = self._continued(X, y, classes)
            w, cost_, rng = self.w_.copy(), list(self.cost_), self._rng
        else:
            X, target = self._prepare(X, y, classes, partial=True)
            w, cost_ = self._initialize_weights(X.shape[1]), []
            rng = np.random.default_rng(self.seed)
        cost_.append(self._epoch(len(cost_) + 1, X, target, w, rng))
        self.w_, self.cost_, self._rng = w, cost_, rng
        return self

    def _continued(self, X, y, classes):
        """``partial_fit`` on a fitted model: ``X`` of its width, ``y`` among ``classes_``."""
        if classes is not None and not np.array_equal(np.unique(np.asarray(classes)),
                                                      self.classes_):
            raise ValueError(f"classes={np.asarray(classes).tolist()!r} differs from the "
                             f"fitted classes_ {self.classes_.tolist()!r}; leave classes=None "
                             "after the first partial_fit call, or fit again")
        X = V.check_fitted_X(self, X)
        y = V.check_y(y, X.shape[0])
        y_index = _class_indices(self.classes_, y, "y")
        return X.astype(np.float64), np.where(y_index == 1, 1, -1)

    def _initialize_weights(self, n_features):
        """The seeds' start: ``w_`` of zeros, ``(1 + n_features,)``."""
        return np.zeros(1 + n_features)

    # ---------------------------------------------------------------- one epoch
    def _epoch(self, epoch, X, t, w, rng):
        """One epoch of ``solver`` on ``X (n_samples, n_features)``, targets ``t (n_samples,)``
        in ±1, updating ``w (1 + n_features,)`` in place; returns its cost (see ``cost_``)."""
        with np.errstate(over="ignore", invalid="ignore"):
            cost = getattr(self, f"_epoch_{self.solver}")(X, t, w, rng)
        return self._checked_cost(epoch, cost, w)

    def _epoch_gd(self, X, t, w, rng):
        return self._delta_rule(X, t, w)

    def _epoch_sgd(self, X, t, w, rng):
        order = self._order(len(t), rng)
        for xi, ti in zip(X[order], t[order]):
            self._delta_rule(xi, ti, w)
        return ((t - (np.dot(X, w[1:]) + w[0])) ** 2).sum() / 2.0

    def _epoch_minibatch(self, X, t, w, rng):
        order = self._order(len(t), rng)
        X, t, size = X[order], t[order], self.batch_size
        return sum(self._delta_rule(X[i:i + size], t[i:i + size], w)
                   for i in range(0, len(t), size))

    def _order(self, n, rng):
        """The epoch's sample order: a permutation from ``rng`` with ``shuffle``, else all."""
        return rng.permutation(n) if self.shuffle else slice(None)

    def _delta_rule(self, X, t, w):
        """One update of ``w (1 + n_features,)`` in place on a batch ``X (k, n_features)``,
        ``t (k,)`` (or one sample ``(n_features,)``, a scalar target); returns the batch's
        SSE/2 before the update."""
        errors = t - (np.dot(X, w[1:]) + w[0])
        w[1:] += float(self._hp["eta"]) * X.T.dot(errors)
        w[0] += float(self._hp["eta"]) * errors.sum()
        return (errors ** 2).sum() / 2.0

    def _checked_cost(self, epoch, cost, w):
        if not (np.isfinite(cost) and np.all(np.isfinite(w))):
            self._diverged(epoch, "cost")
        return float(cost)
