"""The course layer's argument checks: every step refuses what it cannot compute with a
ValueError or TypeError that names the argument, before any arithmetic (no ZeroDivisionError,
AttributeError or silent NaN from deep inside a step).

Numbers that are hyperparameters of the estimators (``learning_rate``, ``beta1``, ``beta2``,
``epsilon``, ``lambd`` as ``l2``) are checked by their definitions in
``xpnet.network.hyperparameters.NETWORK``, so the course and the estimators accept the same
values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import _validation as V
from ..network.hyperparameters import NETWORK

#: Course argument names that are estimator hyperparameters under another name.
_SCHEMA_NAME = {"lambd": "l2"}


def hyper(name, value):
    """``value`` checked by the estimators' definition of the hyperparameter ``name`` (None is
    refused: a course step has no default to fall back on)."""
    if value is None:
        raise TypeError(f"{name} must be a number, got None")
    entry = NETWORK[_SCHEMA_NAME.get(name, name)]
    return entry.check(name, value)


def dtype(value):
    return V.check_dtype("dtype", value)


def legacy_rng(seed):
    """``np.random.RandomState(seed)``: the course's ``np.random.seed(seed)`` without touching
    the global state."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or not 0 <= int(seed) < 2 ** 32):
        raise ValueError(f"seed must be an integer in [0, 2**32) (np.random.seed's range) or "
                         f"None, got {seed!r}")
    return np.random.RandomState(None if seed is None else int(seed))


def mapping(name, value, example="{'W1': ..., 'b1': ...}"):
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict {example}, got {type(value).__name__}")
    return value


def n_layers(parameters):
    """``L``, the number of layers of ``parameters = {"W1", "b1", ..., "WL", "bL"}``."""
    mapping("parameters", parameters, "{'W1': ..., 'b1': ..., ...}")
    L = 0
    while f"W{L + 1}" in parameters:
        L += 1
    missing = [f"b{l}" for l in range(1, L + 1) if f"b{l}" not in parameters]
    if L == 0 or missing:
        raise ValueError(f"parameters must hold W1, b1, ..., WL, bL; got keys "
                         f"{sorted(parameters)}")
    return L


def gradients_for(grads, names, prefix="d", what="grads"):
    """Check that ``grads`` (or the moments ``what``) holds ``d<name>`` for every parameter."""
    mapping(what, grads, "{'dW1': ..., 'db1': ...}")
    missing = [f"{prefix}{n}" for n in names if f"{prefix}{n}" not in grads]
    if missing:
        raise ValueError(f"{what} lacks {', '.join(missing[:4])}"
                         f"{', ...' if len(missing) > 4 else ''}: give one {prefix}<name> per "
                         f"parameter (got keys {sorted(grads)[:6]})")
    return grads


def floats(bk, x, name):
    """``x`` as a 2-D float array on ``bk`` (integers and booleans become float64)."""
    if isinstance(x, (list, tuple)) or not hasattr(x, "dtype"):
        try:
            x = bk.asarray(np.asarray(x, dtype=np.float64))
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be an array of numbers, got "
                            f"{type(x).__name__}") from None
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be an array of numbers, got dtype {x.dtype}")
    if x.dtype.kind != "f":
        x = bk.asarray(x, dtype="float64")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D in course shapes (rows: units or features, "
                         f"columns: the m examples), got shape {tuple(x.shape)}")
    return x


def examples(x, name):
    """Refuse ``x (n, 0)``: costs and gradients average over the ``m`` columns."""
    if x.shape[1] == 0:
        raise ValueError(f"{name} has no examples (shape {tuple(x.shape)}): costs and "
                         "gradients are averages over the m columns; give at least one")
    return x


def arrays(bk, A, W, b):
    """``A``, ``W``, ``b`` as 2-D float arrays in ``W``'s dtype (a 1-D ``b`` as a column)."""
    A, W = floats(bk, A, "A"), floats(bk, W, "W")
    if hasattr(b, "ndim") and b.ndim == 1 or isinstance(b, (list, tuple)) and \
            np.ndim(b) == 1:
        b = bk.asarray(np.asarray(bk.to_numpy(bk.asarray(b)), dtype=np.float64)
                       .reshape(-1, 1))
    b = floats(bk, b, "b")
    dt = W.dtype
    A = bk.astype(A, dt) if A.dtype != dt else A
    return A, W, (bk.astype(b, dt) if b.dtype != dt else b)


def check_linear(A, W, b):
    if W.shape[1] != A.shape[0] or tuple(b.shape) != (W.shape[0], 1):
        raise ValueError(f"shapes do not fit Z = W A + b: W {tuple(W.shape)} needs A of "
                         f"{W.shape[1]} rows and b of shape ({W.shape[0]}, 1); got A "
                         f"{tuple(A.shape)}, b {tuple(b.shape)}")


def linear_cache(bk, cache, dZ):
    """``(A_prev, W, b)`` of a ``linear_forward`` cache, checked against ``dZ (n[l], m)``."""
    if not isinstance(cache, (tuple, list)) or len(cache) != 3:
        raise ValueError("the linear cache must be linear_forward's (A_prev, W, b), got "
                         f"{_describe(cache)}")
    A_prev, W, b = arrays(bk, *cache)
    check_linear(A_prev, W, b)
    if tuple(dZ.shape) != (W.shape[0], A_prev.shape[1]):
        raise ValueError(f"dZ has shape {tuple(dZ.shape)} but the cache's W {tuple(W.shape)} "
                         f"and A_prev {tuple(A_prev.shape)} need ({W.shape[0]}, "
                         f"{A_prev.shape[1]})")
    return A_prev, W, b


def activation_cache(bk, cache, dA):
    """``(linear_cache, Z, D or None)`` of a ``linear_activation_forward`` cache (with a
    dropout mask ``D`` when it has three entries), ``Z`` and ``D`` shaped like ``dA``."""
    if not isinstance(cache, (tuple, list)) or len(cache) not in (2, 3):
        raise ValueError("the cache must be linear_activation_forward's ((A_prev, W, b), Z) "
                         f"or ((A_prev, W, b), Z, D), got {_describe(cache)}")
    Z = floats(bk, cache[1], "Z")
    D = floats(bk, cache[2], "D") if len(cache) == 3 else None
    for name, x in (("Z", Z), ("D", D)):
        if x is not None and tuple(x.shape) != tuple(dA.shape):
            raise ValueError(f"dA has shape {tuple(dA.shape)} but the cache's {name} has "
                             f"{tuple(x.shape)}; they must match")
    return cache[0], bk.astype(Z, dA.dtype) if Z.dtype != dA.dtype else Z, D


def targets(bk, Y, AL):
    """``Y`` as ``(n[L], m)`` floats shaped like ``AL`` (a 1-D ``Y`` of labels as one row)."""
    if not hasattr(Y, "dtype") or Y.ndim == 1:
        try:
            Y = np.asarray(bk.to_numpy(bk.asarray(Y)) if hasattr(Y, "dtype") else Y,
                           dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"Y must be an array of numbers, got {type(Y).__name__}") from None
        Y = bk.asarray(Y.reshape(1, -1) if Y.ndim == 1 else Y)
    Y = floats(bk, Y, "Y")
    if tuple(Y.shape) != tuple(AL.shape):
        raise ValueError(f"Y has shape {tuple(Y.shape)} but AL has shape {tuple(AL.shape)}; "
                         "give Y as (n[L], m), one column per example")
    return bk.astype(Y, AL.dtype) if Y.dtype != AL.dtype else Y


def _describe(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__
