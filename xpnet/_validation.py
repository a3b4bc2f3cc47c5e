"""Input and hyperparameter validation shared by every public estimator.

Estimators accept the ecosystem's layout at their boundary: ``X`` of shape
``(n_samples, n_features)`` (NumPy arrays, nested lists, pandas frames) and ``y`` of shape
``(n_samples,)``. The helpers here turn such input into clean NumPy arrays or raise an error
that names the problem and how to fix it:

- ``check_X``, ``check_y``, ``check_X_y``: shapes, numeric content, NaN/inf, feature counts;
- ``encode_classes``: class labels to indices ``0..C-1``; ``check_regression_targets``;
- ``check_positive``, ``check_in_range``, ``check_choice``: hyperparameters.

Shape and content problems raise ``ValueError``; input of the wrong kind altogether (a dict,
a string where a number belongs) raises ``TypeError``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._estimator import warn_column_vector

__all__ = ["check_X", "check_y", "check_X_y", "encode_classes", "check_regression_targets",
           "check_positive", "check_in_range", "check_choice"]

_FLOATS = (np.float32, np.float64)


# ------------------------------------------------------------------------ array conversion
def to_numpy(data, name):
    """``np.asarray`` with clear errors for None, mappings, sets and ragged sequences."""
    if data is None:
        if name == "y":
            raise ValueError("this estimator requires y to be passed, but the target y is None")
        raise ValueError(f"{name} is None; pass an array-like of numbers")
    if _is_sparse(data):
        raise TypeError(f"{name} is a sparse matrix ({type(data).__name__}); sparse input is "
                        f"not supported: pass a dense array, e.g. {name}.toarray()")
    if isinstance(data, (dict, set, frozenset, str, bytes)) or not _is_array_like(data):
        raise TypeError(f"{name} must be array-like (a NumPy array, a list of lists or a "
                        f"pandas DataFrame), got {type(data).__name__}")
    if hasattr(data, "to_numpy") and not isinstance(data, np.ndarray):
        data = data.to_numpy()                          # pandas DataFrame / Series
    try:
        return np.asarray(data)
    except ValueError as exc:
        raise ValueError(f"{name} is ragged or malformed: rows must all have the same "
                         f"length ({exc})") from None


def _is_sparse(data):
    """A SciPy sparse matrix or array (or anything shaped like one), without importing SciPy."""
    return (not isinstance(data, np.ndarray) and hasattr(data, "nnz")
            and hasattr(data, "toarray"))


def _is_array_like(data):
    return (isinstance(data, (np.ndarray, np.generic, numbers.Number, list, tuple))
            or hasattr(data, "__array__") or hasattr(data, "to_numpy"))


def _as_float(arr, name, hint="encode categorical features as numbers first (e.g. one-hot)"):
    """``arr`` as float32/float64 (kept if already one of them), else float64."""
    if arr.dtype in _FLOATS:
        return arr
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has complex values; pass real "
                         "numbers")
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64)
    bad = _first_non_numeric(arr)
    if bad is not _NUMERIC:
        if not isinstance(bad, (str, bytes)):  # a dict or list cell: not a number of any kind
            raise TypeError(f"{name} contains non-numeric values (e.g. {bad!r}): each value "
                            f"must be a number (float() argument must be a string or a real "
                            f"number, not {type(bad).__name__!r}); {hint}")
        raise ValueError(f"{name} contains non-numeric values (e.g. {bad!r}); {hint}")
    return arr.astype(np.float64)


_NUMERIC = object()


def _first_non_numeric(arr):
    """An element that is not a real number (preferably one that does not even parse as
    one), or ``_NUMERIC`` when all elements are real numbers."""
    flat = [v.item() if isinstance(v, np.generic) else v for v in arr.ravel()]
    others = [v for v in flat if not isinstance(v, numbers.Real)]
    for value in others:
        try:
            float(value)
        except (TypeError, ValueError):
            return value
    return others[0] if others else _NUMERIC


def _check_finite(arr, name):
    """Raise if a float array holds NaN or inf, saying how many and where the first one is."""
    finite = np.isfinite(arr)
    if finite.all():
        return
    bad = np.argwhere(~finite)
    first = tuple(int(i) for i in bad[0])
    where = f"row {first[0]}, column {first[1]}" if len(first) == 2 else f"index {first[0]}"
    raise ValueError(f"{name} contains {len(bad)} NaN or infinite value(s), the first at "
                     f"{where}; impute or drop them before fitting")


# ----------------------------------------------------------------------------- X and y
def feature_names(X):
    """The column names of a table-like ``X`` (a pandas DataFrame's ``columns``) when every
    one is a string, else None (arrays have none)."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = tuple(columns)
    return names if names and all(isinstance(n, str) for n in names) else None


def check_feature_names(X, fitted, name="X"):
    """A table-like ``X`` with named columns must have exactly ``fitted`` (the names the model
    was fitted with), in that order; arrays, or a model fitted without names, pass."""
    names = feature_names(X)
    if names is None or fitted is None:
        return
    fitted = tuple(str(n) for n in fitted)
    if names == fitted:
        return
    missing = [n for n in fitted if n not in names]
    extra = [n for n in names if n not in fitted]
    if not missing and not extra:
        raise ValueError(f"{name} has the model's columns in another order; select them in the "
                         f"order it was fitted with: X[{list(fitted)!r}]")
    parts = ([f"missing {missing[:6]}"] if missing else []) + (
        [f"not seen in fit {extra[:6]}"] if extra else [])
    raise ValueError(f"{name}'s columns are not the ones the model was fitted with "
                     f"({'; '.join(parts)}); pass the columns {list(fitted)[:12]!r}")


def set_feature_names(estimator, names):
    """In ``fit``, once the data passed validation: ``estimator.feature_names_in_`` from
    ``names`` (``feature_names(X)`` of the raw ``X``; a unicode array, checked at predict time,
    saved with a network), or no such attribute when None (a plain array)."""
    if names is None:
        estimator.__dict__.pop("feature_names_in_", None)
    else:
        estimator.feature_names_in_ = np.asarray(names, dtype=str)


def check_fitted_X(estimator, X, name="X"):
    """``check_X`` against a fitted estimator's width and, if it has them, column names."""
    return check_X(X, n_features=estimator.n_features_in_, name=name,
                   names=getattr(estimator, "feature_names_in_", None),
                   estimator=type(estimator).__name__)


def check_X(X, *, n_features=None, name="X", names=None, estimator=None):
    """Validate features; return a 2-D float array ``(n_samples, n_features)``.

    float32 and float64 input keeps its dtype; anything else numeric becomes float64. With
    ``n_features`` given (a fitted model), the column count must match it; with ``names`` (its
    ``feature_names_in_``), a table's named columns must match those (``check_feature_names``).
    """
    check_feature_names(X, names, name)
    arr = to_numpy(X, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features), got a scalar")
    if arr.ndim == 1:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got a 1-D array of "
                         f"shape {arr.shape}. Reshape your data: X.reshape(-1, 1) for a "
                         "single feature or X.reshape(1, -1) for a single sample")
    if arr.ndim > 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got {arr.ndim}-D shape "
                         f"{arr.shape}; flatten each sample, e.g. X.reshape(len(X), -1)")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has 0 sample(s) (shape={arr.shape}) while a minimum of 1 is "
                         "required.")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 "
                         "is required.")
    arr = _as_float(arr, name)
    _check_finite(arr, name)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but {estimator or 'the model'} "
                         f"is expecting {n_features} features as input (the number it was "
                         f"fitted with)")
    return arr


def check_y(y, n_samples, *, name="y"):
    """Validate targets; return a 1-D array of length ``n_samples`` (dtype kept).

    Accepts ``(n,)`` or a column ``(n, 1)``. Numeric ``y`` must be finite; labels may also be
    strings. ``n_samples=None`` skips the length check.
    """
    arr = to_numpy(y, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        warn_column_vector(name)
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,) or a column (n_samples, 1), got "
                         f"shape {arr.shape}")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} labels but X has {n_samples} samples")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; at least 1 label is required")
    if arr.dtype.kind in "fc":
        _check_finite(arr, name)
    elif arr.dtype.kind == "O":
        _check_object_labels(arr, name)
    return arr


def _check_object_labels(arr, name):
    for i, value in enumerate(arr):
        if value is None or (isinstance(value, numbers.Real) and not np.isfinite(value)):
            raise ValueError(f"{name} has a missing or non-finite label ({value!r}) at index "
                             f"{i}; drop or fill it")


def check_X_y(X, y, *, n_features=None):
    """``check_X`` then ``check_y`` with the matching sample count; returns ``(X, y)``."""
    X = check_X(X, n_features=n_features)
    return X, check_y(y, X.shape[0])


# ----------------------------------------------------------------------------- targets
def encode_classes(y, *, min_classes=2, max_classes=None, name="y"):
    """Map class labels to indices; return ``(classes, y_index)``.

    ``classes`` is ``np.unique(y)`` (sorted), ``y_index`` the int64 position of each label in
    it, so ``classes[y_index]`` gives ``y`` back.
    """
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,), got shape {arr.shape}")
    if arr.dtype.kind in "fc":
        _check_finite(arr, name)
        _reject_continuous(arr, name)
    try:
        classes, y_index = np.unique(arr, return_inverse=True)
    except TypeError:
        raise ValueError(f"{name} mixes label types (e.g. numbers and strings); use one "
                         "type for all labels") from None
    _check_class_count(classes, min_classes, max_classes, name)
    return classes, y_index.reshape(-1).astype(np.int64)


def _reject_continuous(arr, name):
    frac = arr != np.round(arr)
    if frac.any():
        example = arr[np.argmax(frac)]
        raise ValueError(f"Unknown label type: {name} looks continuous (e.g. {example:.6g}); "
                         "classifiers need discrete labels; use NeuralNetworkRegressor (or "
                         "task='regression') for real-valued targets")


def _check_class_count(classes, min_classes, max_classes, name):
    n = len(classes)
    if n == 0:
        raise ValueError(f"{name} is empty; at least 1 label is required")
    if n < min_classes:
        found = (f"one class ({_item(classes[0])!r})" if n == 1
                 else f"{n} classes {_show(classes)}")
        raise ValueError(f"{name} has {found}; a classifier needs at least {min_classes}")
    if max_classes is not None and n > max_classes:
        lead = "Only binary classification is supported: " if max_classes == 2 else ""
        raise ValueError(f"{lead}{name} has {n} classes {_show(classes)}; this model supports "
                         f"at most {max_classes}")


def _item(value):
    return value.item() if isinstance(value, np.generic) else value


def _show(classes, limit=10):
    items = [repr(_item(c)) for c in classes[:limit]]
    more = ", ..." if len(classes) > limit else ""
    return "[" + ", ".join(items) + more + "]"


def check_regression_targets(y, *, name="y"):
    """Validate real-valued targets; return a float array of the same shape.

    float32/float64 is kept, other numeric input becomes float64. Accepts ``(n,)`` or
    ``(n, k)`` (multi-output); values must be finite.
    """
    arr = to_numpy(y, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be (n_samples,) or (n_samples, n_outputs), got shape "
                         f"{arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; at least 1 target is required")
    arr = _as_float(arr, name, hint="regression targets must be numbers")
    _check_finite(arr, name)
    return arr


# --------------------------------------------------------------------- hyperparameters
def _check_real(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    try:
        x = float(value)            # Fractions, huge Python ints: a float or an OverflowError
    except OverflowError:
        raise ValueError(f"{name} must be finite, got a number too large for a float "
                         f"({str(value)[:20]}...)") from None
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")


def check_positive(name, value, *, integer=False, allow_zero=False):
    """Check ``value > 0`` (``>= 0`` with ``allow_zero``); return it as int or float.

    ``integer=True`` requires an integer type (``10.0`` is rejected with TypeError).
    """
    if integer:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {value!r} "
                            f"({type(value).__name__})")
        value = int(value)
    else:
        _check_real(name, value)
        value = float(value)
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value


def check_in_range(name, value, low, high, *, low_open=False, high_open=False):
    """Check ``low <= value <= high`` (strict on an open side); return ``float(value)``.

    ``low`` or ``high`` may be None for an unbounded side.
    """
    _check_real(name, value)
    value = float(value)
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}")
    return value


def check_dtype(name, value):
    """Check that ``value`` names float32 or float64 (``"float32"``, ``np.float64``); return it.

    A string NumPy reads as a structured spec (``","``, ``"1e-3"``) is refused the same way."""
    try:
        dt = None if value is None else np.dtype(value)
    except (TypeError, ValueError, SyntaxError):
        dt = None
    if dt is None or dt.name not in ("float32", "float64"):  # (np.dtype == None: float64)
        raise ValueError(f"{name} must be 'float32' or 'float64', got {value!r}")
    return value


def check_choice(name, value, choices):
    """Check that ``value`` is one of ``choices``; return it.

    TypeError when the choices are strings and ``value`` is not one (e.g. a number).
    """
    choices = tuple(choices)
    all_str = bool(choices) and all(isinstance(c, str) for c in choices)
    if all_str and not isinstance(value, str):
        raise TypeError(f"{name} must be one of {_list(choices)}, got {value!r} "
                        f"({type(value).__name__})")
    if value not in choices:
        raise ValueError(f"{name} must be one of {_list(choices)}, got {value!r}")
    return value


def _list(choices):
    return ", ".join(repr(c) for c in choices)
