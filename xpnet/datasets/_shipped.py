"""Small real datasets shipped inside the package (see ``data/README.md`` for sources).

``load_iris()`` and ``load_digits()`` return a :class:`Dataset`, which unpacks as
``X, y = load_iris()``. The files are parsed once per process; every call returns fresh copies.
"""

from __future__ import annotations

import functools
import gzip
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = ["Dataset", "load_iris", "load_digits"]

_IRIS_CLASSES = ("Iris-setosa", "Iris-versicolor", "Iris-virginica")
_IRIS_FEATURES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                  "petal width (cm)")

_IRIS_DESCR = """Iris plants (Fisher, 1936), UCI Machine Learning Repository file iris.data.

150 samples, 50 per class (setosa, versicolor, virginica), in that order; 4 features in cm:
sepal length, sepal width, petal length, petal width. This is UCI's file, which differs from
Fisher's paper (and from scikit-learn's and R's copies) in samples 35 and 38 (1-based):
UCI has 35 = 4.9, 3.1, 1.5, 0.1 (Fisher: petal width 0.2) and 38 = 4.9, 3.1, 1.5, 0.1
(Fisher: 4.9, 3.6, 1.4, 0.1). The course reads the UCI file, so its results are reproduced here.
License: CC BY 4.0 (UCI)."""

_DIGITS_DESCR = """Optical recognition of handwritten digits (Alpaydin & Kaynak, 1998), UCI.

1797 samples (the UCI test set, as distributed by scikit-learn), 10 classes (digits 0-9).
Each sample is an 8x8 image flattened row-major into 64 features, pixel counts 0..16;
use X.reshape(-1, 8, 8) to view the images. License: CC BY 4.0 (UCI); packaging BSD-3
(scikit-learn)."""


@dataclass(repr=False)
class Dataset:
    """A labeled dataset: ``X (n_samples, n_features)`` float64, ``y (n_samples,)`` int64.

    ``target_names[k]`` names class ``k``; ``feature_names[j]`` names column ``j``.
    Iterating yields ``X`` then ``y``, so ``X, y = load_iris()`` works.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple = ()
    target_names: tuple = ()
    description: str = ""
    name: str = ""

    def __iter__(self):
        yield self.X
        yield self.y

    def __repr__(self):
        n, d = self.X.shape
        return (f"Dataset(name={self.name!r}, n_samples={n}, n_features={d}, "
                f"n_classes={len(self.target_names)})")


def _data_file(filename):
    return resources.files(__package__).joinpath("data", filename)


@functools.lru_cache(maxsize=None)
def _iris_arrays():
    text = _data_file("iris.data").read_text(encoding="ascii")
    rows = [line.split(",") for line in text.splitlines() if line.strip()]
    X = np.array([[float(v) for v in row[:4]] for row in rows], dtype=np.float64)
    y = np.array([_IRIS_CLASSES.index(row[4]) for row in rows], dtype=np.int64)
    return X, y


@functools.lru_cache(maxsize=None)
def _digits_arrays():
    raw = gzip.decompress(_data_file("digits.csv.gz").read_bytes())
    data = np.loadtxt(io.StringIO(raw.decode("ascii")), delimiter=",", dtype=np.int64)
    return data[:, :-1].astype(np.float64), data[:, -1].astype(np.int64)


def load_iris():
    """Iris: ``X (150, 4)`` float64 in cm, ``y (150,)`` int64 in {0, 1, 2}.

    Classes 0 setosa, 1 versicolor, 2 virginica, 50 each in that order (rows 0:100 are
    setosa and versicolor, as the course's perceptron uses them). UCI ``iris.data`` values;
    see ``description`` for how they differ from Fisher's paper.
    """
    X, y = _iris_arrays()
    return Dataset(X.copy(), y.copy(), _IRIS_FEATURES, ("setosa", "versicolor", "virginica"),
                   _IRIS_DESCR, "iris")


def load_digits():
    """Handwritten digits: ``X (1797, 64)`` float64 pixel counts 0..16, ``y (1797,)`` 0..9."""
    X, y = _digits_arrays()
    features = tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
    targets = tuple(str(k) for k in range(10))
    return Dataset(X.copy(), y.copy(), features, targets, _DIGITS_DESCR, "digits")
