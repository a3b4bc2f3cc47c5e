"""Synthetic 2-D classification datasets for the course's experiments.

Every generator returns ``(X, y)`` with ``X (n_samples, 2)`` float64 and ``y (n_samples,)``
int64 labels ``0..n_classes-1``, and takes ``seed`` (None, a non-negative int or a
``numpy.random.Generator``): the same seed gives the same data.

- ``make_planar``: the course's "flower" (``load_planar_dataset`` of the planar-data
  assignment), two classes of four petals that no straight line separates;
- ``make_moons``: two interleaving half circles;
- ``make_spirals``: ``n_classes`` interleaved spiral arms (the classic softmax exercise);
- ``make_blobs``: ``n_classes`` Gaussian clusters.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_positive

__all__ = ["make_planar", "make_moons", "make_spirals", "make_blobs"]


# ----------------------------------------------------------------------------- helpers
def _rng(seed):
    """A ``numpy.random.Generator`` from ``seed`` (None, int >= 0 or a Generator)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, (bool, np.bool_))
                             or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be None, a non-negative int or a numpy Generator, got "
                        f"{seed!r} ({type(seed).__name__})")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return np.random.default_rng(seed)


def _check_sizes(n_samples, n_classes):
    """Validate ``n_samples >= n_classes >= 2`` (one sample per class at least)."""
    check_positive("n_samples", n_samples, integer=True)
    check_positive("n_classes", n_classes, integer=True)
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    if n_samples < n_classes:
        raise ValueError(f"n_samples={n_samples} is too small for n_classes={n_classes}; "
                         "each class needs at least one sample")


def _class_sizes(n_samples, n_classes):
    """Split ``n_samples`` as evenly as possible; the first classes get the remainder."""
    base, extra = divmod(int(n_samples), int(n_classes))
    return [base + (k < extra) for k in range(n_classes)]


def _labels(sizes):
    return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def _shuffled(X, y, rng, shuffle):
    if not shuffle:
        return X, y
    order = rng.permutation(len(y))
    return X[order], y[order]


# -------------------------------------------------------------------------- generators
def make_planar(n_samples=400, noise=0.2, seed=None, *, legacy=False):
    """The course's planar "flower": ``X (n_samples, 2)``, ``y (n_samples,)`` in {0, 1}.

    For class ``j`` with ``N`` points: ``t = linspace(3.12 j, 3.12 (j + 1), N) + noise * randn``,
    ``r = 4 sin(4 t) + noise * randn``, ``x = (r sin t, r cos t)``. Samples stay in class
    order (class 0 first), as in the assignment.

    ``legacy=True`` draws from ``np.random.RandomState(seed)`` in the assignment's order, so
    ``make_planar(400, 0.2, seed=1, legacy=True)`` is exactly ``load_planar_dataset()``
    (transposed to ``(n_samples, 2)``).
    """
    _check_sizes(n_samples, 2)
    noise = check_positive("noise", noise, allow_zero=True)
    randn = _legacy_randn(seed) if legacy else _rng(seed).standard_normal
    sizes = _class_sizes(n_samples, 2)
    parts = []
    for j, n in enumerate(sizes):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, n) + randn(n) * noise
        r = 4 * np.sin(4 * t) + randn(n) * noise
        parts.append(np.c_[r * np.sin(t), r * np.cos(t)])
    return np.vstack(parts).astype(np.float64), _labels(sizes)


def _legacy_randn(seed):
    if seed is not None and (isinstance(seed, (bool, np.bool_))
                             or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"legacy=True needs seed None or an int, got {type(seed).__name__}")
    return np.random.RandomState(seed).randn


def make_moons(n_samples=200, noise=0.1, seed=None, *, shuffle=True):
    """Two interleaving half circles: ``X (n_samples, 2)``, ``y (n_samples,)`` in {0, 1}.

    Class 0 is the upper arc ``(cos t, sin t)``, class 1 the lower arc
    ``(1 - cos t, 0.5 - sin t)``, ``t`` in ``[0, pi]``, plus Gaussian noise of std ``noise``.
    """
    _check_sizes(n_samples, 2)
    noise = check_positive("noise", noise, allow_zero=True)
    rng = _rng(seed)
    n_out, n_in = _class_sizes(n_samples, 2)
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    X = np.vstack([np.c_[np.cos(t_out), np.sin(t_out)],
                   np.c_[1.0 - np.cos(t_in), 0.5 - np.sin(t_in)]])
    X = X + noise * rng.standard_normal(X.shape)
    return _shuffled(X, _labels([n_out, n_in]), rng, shuffle)


def make_spirals(n_samples=300, n_classes=3, noise=0.2, seed=None, *, shuffle=True):
    """``n_classes`` spiral arms: ``X (n_samples, 2)``, ``y (n_samples,)`` in 0..n_classes-1.

    For class ``j`` with ``N`` points: ``r = linspace(0, 1, N)``,
    ``t = linspace(4 j, 4 (j + 1), N) + noise * randn``, ``x = (r sin t, r cos t)``.
    """
    _check_sizes(n_samples, n_classes)
    noise = check_positive("noise", noise, allow_zero=True)
    rng = _rng(seed)
    sizes = _class_sizes(n_samples, n_classes)
    parts = []
    for j, n in enumerate(sizes):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(4.0 * j, 4.0 * (j + 1), n) + noise * rng.standard_normal(n)
        parts.append(np.c_[r * np.sin(t), r * np.cos(t)])
    return _shuffled(np.vstack(parts), _labels(sizes), rng, shuffle)


def make_blobs(n_samples=300, n_classes=3, std=1.0, seed=None, *, shuffle=True):
    """Gaussian clusters: ``X (n_samples, 2)``, ``y (n_samples,)`` in 0..n_classes-1.

    Class ``k`` is centred at ``5 (cos 2 pi k / C, sin 2 pi k / C)`` (evenly spaced on a circle
    of radius 5), with isotropic standard deviation ``std``.
    """
    _check_sizes(n_samples, n_classes)
    std = check_positive("std", std, allow_zero=True)
    rng = _rng(seed)
    sizes = _class_sizes(n_samples, n_classes)
    angles = 2.0 * np.pi * np.arange(n_classes) / n_classes
    centers = 5.0 * np.c_[np.cos(angles), np.sin(angles)]
    y = _labels(sizes)
    X = centers[y] + std * rng.standard_normal((len(y), 2))
    return _shuffled(X, y, rng, shuffle)
