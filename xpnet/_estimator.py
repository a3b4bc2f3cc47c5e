"""The scikit-learn estimator contract, kept without importing scikit-learn.

Every public estimator (``NeuralNetwork``, ``NeuralNetworkRegressor``, ``LogisticRegression``,
``Perceptron``, ``Adaline``) derives from ``Estimator``: its hyperparameters are one schema
(``xpnet.network.hyperparameters``), from which ``__init__``, ``get_params(deep=True)``,
``set_params`` and the repr (non-default parameters only, as scikit-learn prints them) follow.
``__sklearn_tags__`` imports scikit-learn only when scikit-learn itself asks, so ``import
xpnet`` never imports it; where it is installed the estimators work in ``clone``,
``Pipeline``, ``GridSearchCV``, ``cross_val_score`` and pass ``check_estimator``.

``NotFittedError`` is raised by every method that needs a fitted model; it is a ValueError and
an AttributeError, like scikit-learn's, so ``except`` clauses written for either catch it.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["Estimator", "NotFittedError", "DataConversionWarning", "not_fitted",
           "warn_column_vector"]


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before ``fit`` (or ``xpnet.load``)."""


class DataConversionWarning(UserWarning):
    """Input was converted to the shape or type the estimator needs (a column ``y``)."""


_twins = {}


def _twin(ours, module, name):
    """``ours``, or, once scikit-learn is loaded (someone imported it), a subclass of both
    ``ours`` and scikit-learn's class of ``name``, so that ``except`` clauses and warning
    filters written for either match. scikit-learn is never imported here."""
    if "sklearn" not in sys.modules:
        return ours
    if name not in _twins:
        try:
            theirs = getattr(__import__(module, fromlist=[name]), name)
        except (ImportError, AttributeError):
            return ours
        _twins[name] = type(name, (ours, theirs), {"__module__": ours.__module__,
                                                   "__doc__": ours.__doc__})
    return _twins[name]


def not_fitted(message):
    """The ``NotFittedError`` to raise (also scikit-learn's where it is loaded)."""
    return _twin(NotFittedError, "sklearn.exceptions", "NotFittedError")(message)


def warn_column_vector(name="y", stacklevel=4):
    """Warn, as scikit-learn does, that a column ``(n, 1)`` was given where ``(n,)`` is
    expected (the values are used as ``ravel()`` gives them)."""
    warnings.warn(f"A column-vector {name} was passed when a 1d array was expected. Please "
                  f"change the shape of {name} to (n_samples,), for example using ravel().",
                  _twin(DataConversionWarning, "sklearn.exceptions", "DataConversionWarning"),
                  stacklevel=stacklevel)


class Estimator:
    """Base of the public estimators. Subclasses set ``schema`` (their hyperparameters),
    ``_estimator_type`` (``"classifier"`` or ``"regressor"``) and ``_fitted_attribute`` (set by
    ``fit``; its presence means fitted)."""

    schema = None
    _estimator_type = None
    _fitted_attribute = None

    # ------------------------------------------------------------ hyperparameters
    @classmethod
    def _param_names(cls):
        return list(cls.schema.names())

    def get_params(self, deep=True):
        """The constructor arguments as a dict (scikit-learn's ``get_params``; no parameter is
        itself an estimator, so ``deep`` changes nothing)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments; an unknown name raises ValueError listing the valid ones.
        Returns the estimator. The values are checked when ``fit`` runs."""
        valid = set(self._param_names())
        for name in params:  # all names first: a bad one leaves the estimator unchanged
            if name not in valid:
                nested = " (none of its parameters is an estimator)" if "__" in name else ""
                raise ValueError(f"invalid parameter {name!r} for estimator "
                                 f"{type(self).__name__}{nested}; valid parameters: "
                                 f"{', '.join(sorted(valid))}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = self.schema.defaults()
        changed = []
        for name in self._param_names():
            value = getattr(self, name, defaults[name])
            if not _same(value, defaults[name]):
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    # ---------------------------------------------------------------- fitted
    def __sklearn_is_fitted__(self):
        return hasattr(self, self._fitted_attribute)

    def _check_fitted(self):
        if not self.__sklearn_is_fitted__():
            raise not_fitted(f"this {type(self).__name__} is not fitted yet; call fit(X, y) "
                             "first (or xpnet.load a saved model)")

    # ------------------------------------------------------------ scikit-learn
    def __sklearn_tags__(self):
        """scikit-learn's tags (imported here, when scikit-learn asks for them)."""
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        tags = Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=True))
        if self._estimator_type == "classifier":
            tags.classifier_tags = ClassifierTags(multi_class=self._multi_class())
        elif self._estimator_type == "regressor":
            tags.regressor_tags = RegressorTags()
            tags.target_tags.multi_output = self._multi_output()
        return tags

    def _multi_class(self):
        return True

    def _multi_output(self):
        return False


def _same(a, b):
    """Whether a parameter still has its default (numbers equal, tuples equal, same object)."""
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):  # arrays and other values without a plain ==
        return False
