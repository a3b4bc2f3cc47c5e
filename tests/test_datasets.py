"""Tests for xpnet.datasets: shipped data (iris, digits) and the synthetic generators."""

import hashlib
from importlib import resources

import numpy as np
import pytest

from xpnet import datasets
from xpnet.datasets import (DATASETS, Dataset, load, load_digits, load_iris, make_blobs,
                            make_moons, make_planar, make_spirals)

GENERATORS = [make_planar, make_moons, make_spirals, make_blobs]


# ---------------------------------------------------------------------------- shipped
def test_iris_shape_and_classes():
    ds = load_iris()
    assert isinstance(ds, Dataset)
    assert ds.X.shape == (150, 4) and ds.X.dtype == np.float64
    assert ds.y.shape == (150,) and ds.y.dtype.kind == "i"
    np.testing.assert_array_equal(np.bincount(ds.y), [50, 50, 50])
    np.testing.assert_array_equal(ds.y, np.repeat([0, 1, 2], 50))
    assert ds.target_names == ("setosa", "versicolor", "virginica")
    assert len(ds.feature_names) == 4 and "UCI" in ds.description


def test_iris_is_uci_iris_data():
    """Samples 35 and 38 (1-based) hold UCI's values, not Fisher's paper's."""
    X, _ = load_iris()
    np.testing.assert_array_equal(X[34], [4.9, 3.1, 1.5, 0.1])
    np.testing.assert_array_equal(X[37], [4.9, 3.1, 1.5, 0.1])
    np.testing.assert_array_equal(X[0], [5.1, 3.5, 1.4, 0.2])
    np.testing.assert_array_equal(X[149], [5.9, 3.0, 5.1, 1.8])


def test_iris_file_is_byte_identical_to_uci():
    raw = resources.files("xpnet.datasets").joinpath("data", "iris.data").read_bytes()
    assert len(raw) == 4551
    assert hashlib.md5(raw).hexdigest() == "42615765a885ddf54427f12c34a0a070"


def test_digits_shape_and_classes():
    ds = load_digits()
    assert ds.X.shape == (1797, 64) and ds.X.dtype == np.float64
    assert ds.y.shape == (1797,)
    np.testing.assert_array_equal(np.unique(ds.y), np.arange(10))
    assert ds.X.min() == 0 and ds.X.max() == 16
    assert len(ds.feature_names) == 64 and len(ds.target_names) == 10


def test_dataset_unpacks_and_repr():
    X, y = load_iris()
    assert X.shape == (150, 4) and y.shape == (150,)
    assert "n_samples=150" in repr(load_iris())


def test_loaders_return_fresh_copies():
    a = load_iris()
    a.X[0, 0] = -1.0
    assert load_iris().X[0, 0] == 5.1


def test_data_readme_is_shipped():
    text = resources.files("xpnet.datasets").joinpath("data", "README.md").read_text()
    assert "CC BY 4.0" in text and "BSD" in text


# ----------------------------------------------------------------------- generators
@pytest.mark.parametrize("make", GENERATORS)
def test_generator_shapes_and_dtypes(make):
    X, y = make(n_samples=101, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make", GENERATORS)
def test_generator_determinism(make):
    X1, y1 = make(seed=7)
    X2, y2 = make(seed=7)
    X3, _ = make(seed=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("make", GENERATORS)
def test_generator_accepts_a_generator_as_seed(make):
    X1, _ = make(seed=np.random.default_rng(3))
    X2, _ = make(seed=np.random.default_rng(3))
    np.testing.assert_array_equal(X1, X2)


@pytest.mark.parametrize("make", GENERATORS)
def test_generator_unseeded_runs(make):
    X, y = make()
    assert len(X) == len(y)


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("n", [0, -5])
def test_generator_rejects_non_positive_n_samples(make, n):
    with pytest.raises(ValueError, match="n_samples must be > 0"):
        make(n_samples=n)


@pytest.mark.parametrize("make", GENERATORS)
def test_generator_rejects_bad_types(make):
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        make(n_samples=10.5)
    with pytest.raises(TypeError, match="seed"):
        make(seed="abc")
    with pytest.raises(ValueError, match="seed"):
        make(seed=-1)


@pytest.mark.parametrize("make", [make_planar, make_moons, make_spirals])
def test_generator_rejects_negative_noise(make):
    with pytest.raises(ValueError, match="noise must be >= 0"):
        make(noise=-0.1)


def test_blobs_rejects_negative_std():
    with pytest.raises(ValueError, match="std must be >= 0"):
        make_blobs(std=-1.0)


@pytest.mark.parametrize("make", [make_spirals, make_blobs])
def test_multiclass_generators_class_counts(make):
    X, y = make(n_samples=100, n_classes=4, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [25, 25, 25, 25])
    X, y = make(n_samples=10, n_classes=3, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [4, 3, 3])


@pytest.mark.parametrize("make", [make_spirals, make_blobs])
def test_multiclass_generators_validate_n_classes(make):
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        make(n_classes=1)
    with pytest.raises(ValueError, match="too small for n_classes=5"):
        make(n_samples=3, n_classes=5)


def test_shuffle_flag():
    _, y = make_moons(n_samples=20, seed=0, shuffle=False)
    np.testing.assert_array_equal(y, np.repeat([0, 1], 10))
    _, y = make_moons(n_samples=20, seed=0)
    assert not np.array_equal(y, np.repeat([0, 1], 10))


def test_noise_free_moons_lie_on_arcs():
    X, y = make_moons(n_samples=50, noise=0.0, shuffle=False)
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0)


def test_blobs_centers():
    X, y = make_blobs(n_samples=3000, n_classes=4, std=0.1, seed=0)
    centers = np.array([X[y == k].mean(axis=0) for k in range(4)])
    np.testing.assert_allclose(centers, [[5, 0], [0, 5], [-5, 0], [0, -5]], atol=0.05)


def _course_load_planar_dataset():
    """The assignment's load_planar_dataset(), with its global seed as a local RandomState."""
    rs = np.random.RandomState(1)
    m = 400
    N = int(m / 2)
    D = 2
    X = np.zeros((m, D))
    Y = np.zeros((m, 1), dtype="uint8")
    a = 4
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rs.randn(N) * 0.2
        r = a * np.sin(4 * t) + rs.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def test_planar_legacy_reproduces_the_course_dataset():
    X_ref, Y_ref = _course_load_planar_dataset()
    X, y = make_planar(400, 0.2, seed=1, legacy=True)
    np.testing.assert_array_equal(X, X_ref.T)
    np.testing.assert_array_equal(y, Y_ref.ravel())


def test_planar_class_order_and_flower_radius():
    X, y = make_planar(n_samples=400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, np.repeat([0, 1], 200))
    assert np.abs(np.hypot(X[:, 0], X[:, 1])).max() <= 4.0 + 1e-12


# -------------------------------------------------------------------------- dispatcher
def test_datasets_names():
    assert DATASETS == ("iris", "digits", "planar", "moons", "spirals", "blobs")
    assert datasets.DATASETS is DATASETS


@pytest.mark.parametrize("name", DATASETS)
def test_load_by_name_unpacks(name):
    X, y = load(name)
    assert X.ndim == 2 and y.shape == (X.shape[0],)


def test_load_forwards_options_and_normalizes_name():
    X, _ = load(" Moons ", n_samples=30, seed=1)
    np.testing.assert_array_equal(X, make_moons(n_samples=30, seed=1)[0])


def test_load_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'; choose one of iris, digits"):
        load("mnist")
    with pytest.raises(TypeError):
        load(3)
    with pytest.raises(TypeError, match="takes no options"):
        load("iris", seed=0)
