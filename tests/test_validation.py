"""Tests for xpnet._validation: array checks, label encoding, hyperparameter checks."""

import math

import numpy as np
import pytest

from xpnet import _validation as V


class FakeFrame:
    """Stands in for a pandas DataFrame (pandas is optional): has ``to_numpy``."""

    def __init__(self, data):
        self._data = data

    def to_numpy(self):
        return np.asarray(self._data)


# --------------------------------------------------------------------------- check_X
@pytest.mark.parametrize("data", [[[1, 2], [3, 4]], np.array([[1, 2], [3, 4]]),
                                  ((1, 2), (3, 4)), FakeFrame([[1, 2], [3, 4]])])
def test_check_X_converts_array_likes_to_2d_float64(data):
    X = V.check_X(data)
    assert X.shape == (2, 2) and X.dtype == np.float64
    np.testing.assert_array_equal(X, [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_check_X_keeps_float32_and_float64(dtype):
    assert V.check_X(np.ones((3, 2), dtype=dtype)).dtype == dtype


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_, np.float16])
def test_check_X_other_dtypes_become_float64(dtype):
    assert V.check_X(np.ones((3, 2), dtype=dtype)).dtype == np.float64


def test_check_X_object_array_of_numbers_is_accepted():
    X = V.check_X(np.array([[1, 2.5], [True, 4]], dtype=object))
    assert X.dtype == np.float64 and X[1, 0] == 1.0


def test_check_X_none():
    with pytest.raises(ValueError, match="X is None"):
        V.check_X(None)


@pytest.mark.parametrize("data", [{"a": [1, 2]}, {1, 2}, "abc", (x for x in range(3))])
def test_check_X_not_array_like_is_type_error(data):
    with pytest.raises(TypeError, match="array-like"):
        V.check_X(data)


@pytest.mark.parametrize("data", [[[1.0, "a"], [2.0, 3.0]], [["1", "2"]],
                                  np.array([[1, "x"]], dtype=object)])
def test_check_X_strings_are_rejected(data):
    with pytest.raises(ValueError, match="non-numeric"):
        V.check_X(data)


def test_check_X_complex_rejected():
    with pytest.raises(ValueError, match="complex"):
        V.check_X(np.ones((2, 2), dtype=complex))


def test_check_X_1d_suggests_reshape():
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\).*reshape\(1, -1\)"):
        V.check_X([1.0, 2.0, 3.0])


def test_check_X_scalar():
    with pytest.raises(ValueError, match="scalar"):
        V.check_X(3.0)


def test_check_X_3d():
    with pytest.raises(ValueError, match="3-D"):
        V.check_X(np.zeros((2, 2, 2)))


def test_check_X_zero_samples():
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        V.check_X(np.zeros((0, 3)))


def test_check_X_zero_features():
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):
        V.check_X(np.zeros((3, 0)))


def test_check_X_ragged():
    with pytest.raises(ValueError, match="ragged"):
        V.check_X([[1, 2], [3]])


def test_check_X_nan_inf_counted_with_first_position():
    X = np.ones((4, 3))
    X[1, 2] = np.nan
    X[3, 0] = np.inf
    with pytest.raises(ValueError, match=r"2 NaN or infinite value\(s\), the first at row 1, "
                                         r"column 2"):
        V.check_X(X)


def test_check_X_n_features_mismatch():
    with pytest.raises(ValueError, match="X has 5 features, but the model is expecting 4 "
                                         "features as input"):
        V.check_X(np.ones((2, 5)), n_features=4)
    assert V.check_X(np.ones((2, 4)), n_features=4).shape == (2, 4)


def test_check_X_custom_name():
    with pytest.raises(ValueError, match="X_val is None"):
        V.check_X(None, name="X_val")


# --------------------------------------------------------------------------- check_y
def test_check_y_ravels_column_and_keeps_dtype():
    with pytest.warns(UserWarning, match="A column-vector y was passed when a 1d array was "
                                         "expected"):
        y = V.check_y([[1], [2], [3]], 3)
    assert y.shape == (3,) and y.dtype.kind == "i"
    assert V.check_y(np.array(["a", "b"]), 2).dtype.kind == "U"


def test_check_y_bad_shape():
    with pytest.raises(ValueError, match=r"got shape \(4, 2\)"):
        V.check_y(np.zeros((4, 2)), 4)


def test_check_y_length_mismatch():
    with pytest.raises(ValueError, match="y has 3 labels but X has 4 samples"):
        V.check_y([0, 1, 0], 4)


def test_check_y_nan_and_inf():
    with pytest.raises(ValueError, match="NaN or infinite"):
        V.check_y([0.0, np.nan, 1.0], 3)
    with pytest.raises(ValueError, match="index 2"):
        V.check_y([0.0, 1.0, -np.inf], 3)


def test_check_y_missing_object_label():
    with pytest.raises(ValueError, match="missing or non-finite label"):
        V.check_y(np.array(["a", None], dtype=object), 2)


def test_check_y_none_and_type():
    with pytest.raises(ValueError, match="y is None"):
        V.check_y(None, 3)
    with pytest.raises(TypeError):
        V.check_y({"a": 1}, 1)


def test_check_y_empty_without_length():
    with pytest.raises(ValueError, match="empty"):
        V.check_y([], None)


def test_check_X_y():
    X, y = V.check_X_y([[1, 2], [3, 4]], [0, 1])
    assert X.shape == (2, 2) and y.shape == (2,)
    with pytest.raises(ValueError, match="y has 1 labels but X has 2 samples"):
        V.check_X_y([[1, 2], [3, 4]], [0])


# ----------------------------------------------------------------------- encode_classes
def test_encode_classes_sorted_and_inverse():
    classes, idx = V.encode_classes(np.array(["b", "a", "c", "a"]))
    np.testing.assert_array_equal(classes, ["a", "b", "c"])
    np.testing.assert_array_equal(idx, [1, 0, 2, 0])
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(classes[idx], ["b", "a", "c", "a"])


def test_encode_classes_integral_floats_are_labels():
    classes, idx = V.encode_classes(np.array([1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(classes, [0.0, 1.0])
    np.testing.assert_array_equal(idx, [1, 0, 1])


def test_encode_classes_single_class():
    with pytest.raises(ValueError, match=r"y has one class \(3\); a classifier needs at "
                                         "least 2"):
        V.encode_classes([3, 3, 3])


def test_encode_classes_min_and_max():
    with pytest.raises(ValueError, match="at least 3"):
        V.encode_classes([0, 1, 0], min_classes=3)
    with pytest.raises(ValueError, match="y has 3 classes .*at most 2"):
        V.encode_classes([0, 1, 2], max_classes=2)


def test_encode_classes_continuous():
    with pytest.raises(ValueError, match=r"looks continuous \(e.g. 0.37\).*task='regression'"):
        V.encode_classes([0.37, 1.0, 2.0])


def test_encode_classes_mixed_types():
    with pytest.raises(ValueError, match="mixes label types"):
        V.encode_classes(np.array([1, "a"], dtype=object))


def test_encode_classes_nan():
    with pytest.raises(ValueError, match="NaN"):
        V.encode_classes([0.0, np.nan])


# ------------------------------------------------------------- check_regression_targets
def test_check_regression_targets():
    y = V.check_regression_targets([1, 2, 3])
    assert y.dtype == np.float64 and y.shape == (3,)
    assert V.check_regression_targets(np.ones((4, 2), np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="non-numeric"):
        V.check_regression_targets(["a", "b"])
    with pytest.raises(ValueError, match="NaN"):
        V.check_regression_targets([1.0, np.nan])
    with pytest.raises(ValueError, match="shape"):
        V.check_regression_targets(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="is None"):
        V.check_regression_targets(None)


# ----------------------------------------------------------------------- hyperparameters
def test_check_positive_accepts_and_returns():
    assert V.check_positive("eta", 0.1) == 0.1
    assert V.check_positive("eta", np.float32(0.5)) == 0.5
    assert V.check_positive("epochs", np.int64(10), integer=True) == 10
    assert V.check_positive("l2", 0, allow_zero=True) == 0


@pytest.mark.parametrize("value", [0, -1, -0.5])
def test_check_positive_non_positive(value):
    with pytest.raises(ValueError, match="eta must be > 0"):
        V.check_positive("eta", value)


def test_check_positive_allow_zero_message():
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        V.check_positive("l2", -1, allow_zero=True)


@pytest.mark.parametrize("value", ["0.1", None, True, [1]])
def test_check_positive_type_errors(value):
    with pytest.raises(TypeError, match="eta must be a number"):
        V.check_positive("eta", value)


@pytest.mark.parametrize("value", [10.0, "10", True])
def test_check_positive_integer_type_errors(value):
    with pytest.raises(TypeError, match="epochs must be an integer"):
        V.check_positive("epochs", value, integer=True)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_check_positive_non_finite(value):
    with pytest.raises(ValueError, match="finite"):
        V.check_positive("eta", value)


def test_check_in_range():
    assert V.check_in_range("keep_prob", 1.0, 0.0, 1.0, low_open=True) == 1.0
    assert V.check_in_range("beta", 0.0, 0.0, 1.0, high_open=True) == 0.0
    with pytest.raises(ValueError, match=r"keep_prob must be in \(0, 1\], got 0.0"):
        V.check_in_range("keep_prob", 0.0, 0.0, 1.0, low_open=True)
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\), got 1.0"):
        V.check_in_range("beta", 1.0, 0.0, 1.0, high_open=True)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        V.check_in_range("p", 1.5, 0, 1)
    with pytest.raises(TypeError):
        V.check_in_range("p", "0.5", 0, 1)


def test_check_in_range_unbounded_side():
    assert V.check_in_range("x", 1e9, 0.0, None) == 1e9
    with pytest.raises(ValueError, match=r"\[0, inf\)"):
        V.check_in_range("x", -1.0, 0.0, None)


def test_check_choice():
    assert V.check_choice("solver", "sgd", ("gd", "sgd")) == "sgd"
    with pytest.raises(ValueError, match="solver must be one of 'gd', 'sgd', got 'adam'"):
        V.check_choice("solver", "adam", ("gd", "sgd"))
    with pytest.raises(TypeError, match="solver must be one of"):
        V.check_choice("solver", 1, ("gd", "sgd"))
    assert V.check_choice("decay", None, (None, "exponential")) is None
