"""Logistic regression as a tiny neural network (one sigmoid unit), the course's first model.

``vectorized=False`` runs the course's for-loop algorithm (a loop over the ``m`` examples and an
inner loop over the ``n_x`` features); ``vectorized=True`` runs the matrix form on a backend:
``Z = w^T X + b``, ``A = sigmoid(Z)``, ``dZ = A - Y``, ``dw = X dZ^T / m``, ``db = sum(dZ) / m``.
Both start from zero weights and give the same ``cost_`` history.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as V
from .._estimator import Estimator
from ..backends import resolve
from ..kernels.loops import logreg_gradient_loops
from ..ops import LOSSES, losses
from ..ops.activations import Sigmoid, linear_activation_forward
from ..ops.activations import forward as activation_forward
from .hyperparameters import LOGISTIC
from .weights import check_sample_weight

#: The course's cost: the binary cross-entropy through a sigmoid unit.
BCE = LOSSES.resolve(losses.default_loss("binary"))


def propagate(bk, w, b, X, Y, S=None):
    """One forward and backward pass of the sigmoid unit on ``bk``: ``Z = w^T X + b``,
    ``A = sigmoid(Z)``, ``J`` the cross-entropy (from ``Z``), ``dZ = (A - Y) s``,
    ``dw = X dZ^T / m``, ``db = sum(dZ) / m``. ``w (n_x, 1)``, ``b (1, 1)``, ``X (n_x, m)``,
    ``Y (1, m)``, ``S (1, m)`` sample weights or None. Returns ``(dw, db (1, 1), J)``, ``J``
    a 0-d array."""
    m = X.shape[1]
    Z, A = linear_activation_forward(bk, bk.transpose(w), X, b, BCE.output)
    cost = losses.value(bk, BCE, Z, A, Y, weights=S)
    dZ = losses.delta(bk, BCE, Z, A, Y, weights=S)            # (A - Y) s
    dw = bk.multiply(bk.matmul(X, bk.transpose(dZ)), 1.0 / m)
    db = bk.multiply(bk.sum(dZ, keepdims=True), 1.0 / m)
    return dw, db, cost


class LogisticRegression(Estimator):
    """Binary logistic regression by batch gradient descent.

    ``learning_rate`` (alpha), ``iterations``, ``vectorized``, ``backend`` (vectorized only),
    ``dtype``. After fit: ``w_ (n_x, 1)``, ``b_``, ``cost_`` (one entry per iteration),
    ``classes_``.
    """

    schema = LOGISTIC
    _estimator_type = "classifier"
    _fitted_attribute = "w_"
    __init__ = LOGISTIC.make_init("LogisticRegression")

    def _multi_class(self):
        return False

    def fit(self, X, y, sample_weight=None):
        """``X (n_samples, n_x)``, ``y`` with two distinct labels; ``sample_weight
        (n_samples,)`` weighs each example's cost, ``J = sum_i w_i l_i / sum_i w_i``."""
        self._hp = self.schema.check(self)
        names = V.feature_names(X)
        X, y = V.check_X_y(X, y)
        self.classes_, idx = V.encode_classes(y, max_classes=2)
        self.n_features_in_ = X.shape[1]
        V.set_feature_names(self, names)
        Xc = np.ascontiguousarray(X.T, dtype=self.dtype)       # (n_x, m)
        Y = idx.reshape(1, -1).astype(self.dtype)               # (1, m)
        w = check_sample_weight(sample_weight, X.shape[0])
        S = None if w is None else (w * (len(w) / w.sum())).reshape(1, -1).astype(self.dtype)
        fit = self._fit_vectorized if self.vectorized else self._fit_loops
        self.w_, self.b_, self.cost_ = fit(Xc, Y, S)
        if not np.all(np.isfinite(self.cost_)):
            raise ValueError("training diverged (non-finite cost); lower learning_rate or "
                             "standardize the features")
        return self

    def _fit_loops(self, X, Y, S):
        w = np.zeros((X.shape[0], 1), dtype=X.dtype)
        b = 0.0
        costs = []
        for _ in range(int(self.iterations)):
            dw, db, J = logreg_gradient_loops(X, Y, w, b, S)
            for j in range(w.shape[0]):
                w[j, 0] -= self._hp["learning_rate"] * dw[j, 0]
            b -= self._hp["learning_rate"] * db
            costs.append(float(J))
        return w, float(b), costs

    def _fit_vectorized(self, X, Y, S):
        bk = resolve(self.backend)
        Xd = bk.asarray(X, dtype=self.dtype)
        Yd = bk.asarray(Y, dtype=self.dtype)
        Sd = None if S is None else bk.asarray(S, dtype=self.dtype)
        w = bk.zeros((X.shape[0], 1), dtype=self.dtype)
        b = bk.zeros((1, 1), dtype=self.dtype)
        costs = []
        for _ in range(int(self.iterations)):
            dw, db, cost = propagate(bk, w, b, Xd, Yd, Sd)
            costs.append(cost)
            w = bk.subtract(w, bk.multiply(dw, self._hp["learning_rate"]))
            b = bk.subtract(b, bk.multiply(db, self._hp["learning_rate"]))
        costs = [float(c) for c in bk.to_numpy(bk.stack(costs))]
        return bk.to_numpy(w), float(bk.item(b)), costs

    def _z(self, X):
        self._check_fitted()
        X = V.check_fitted_X(self, X)
        return X @ self.w_[:, 0] + self.b_

    def predict_proba(self, X):
        """``(n_samples, 2)`` probabilities of ``classes_[0]`` and ``classes_[1]``."""
        z = self._z(X)
        p = activation_forward(resolve("numpy"), Sigmoid.name, z)   # split-branch, stable
        return np.column_stack([1 - p, p])

    def predict(self, X):
        z = self._z(X)  # first: it says so when the model is not fitted
        return self.classes_[(z >= 0).astype(int)]

    def score(self, X, y):
        pred = self.predict(X)  # checks the model is fitted and X's width and column names
        return float(np.mean(pred == V.check_y(y, pred.shape[0])))
