"""Datasets for the course: small real ones shipped with the package, and 2-D generators.

Real (no download; sources and licenses in ``data/README.md``):

- ``load_iris()``: Fisher's iris, UCI ``iris.data`` (150 x 4, 3 classes);
- ``load_digits()``: 8x8 handwritten digits, UCI (1797 x 64, 10 classes).

Synthetic (``X (n_samples, 2)``, ``y (n_samples,)``, seeded with ``seed``):
``make_planar``, ``make_moons``, ``make_spirals``, ``make_blobs``.

``load(name, **kwargs)`` reaches all of them by name; ``X, y = load(name)`` works for each,
since a shipped :class:`Dataset` unpacks as ``X, y`` too.
"""

from __future__ import annotations

from ._shipped import Dataset, load_digits, load_iris
from .augment import augment_images
from .synthetic import make_blobs, make_moons, make_planar, make_spirals

__all__ = ["DATASETS", "Dataset", "load", "load_iris", "load_digits", "make_planar",
           "make_moons", "make_spirals", "make_blobs", "augment_images"]

_LOADERS = {
    "iris": load_iris,
    "digits": load_digits,
    "planar": make_planar,
    "moons": make_moons,
    "spirals": make_spirals,
    "blobs": make_blobs,
}

#: Names accepted by :func:`load`.
DATASETS = tuple(_LOADERS)


def load(name, **kwargs):
    """Load or generate the dataset ``name`` (one of ``DATASETS``).

    ``kwargs`` go to the generator (e.g. ``load("moons", n_samples=500, seed=0)``); the
    shipped datasets take none. Returns a :class:`Dataset` for ``"iris"``/``"digits"`` and an
    ``(X, y)`` tuple for the generators; ``X, y = load(name)`` works for all.
    """
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    key = name.strip().lower()
    if key not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if key in ("iris", "digits") and kwargs:
        raise TypeError(f"load({key!r}) takes no options, got {', '.join(sorted(kwargs))}")
    return _LOADERS[key](**kwargs)
