"""Weight initializers, each defined once by the standard deviation of its draw, drawn on the
host from a seeded NumPy Generator and then moved, which makes parameters from one seed
identical on every backend. Biases start at zero; batch-norm ``gamma`` at one, ``beta`` at 0.

To add one, subclass ``Initializer`` with ``name``, ``formula`` and ``scale(n_prev, n)`` and
decorate it with ``@INITIALIZERS.register`` (docs/extending.md).
"""

from __future__ import annotations

import math

import numpy as np

from .registry import Registry

INITIALIZERS = Registry("initializer")


class Initializer:
    """``W[l] = N(0, 1) * scale(n[l-1], n[l])`` of shape ``(n[l], n[l-1])``."""

    name = None
    formula = ""

    def scale(self, n_prev, n):
        raise NotImplementedError

    def __repr__(self):
        return f"<initializer {self.name}: {self.formula}>"


@INITIALIZERS.register
class Zeros(Initializer):
    """Every weight 0: fails to break symmetry (kept for the course's demonstration)."""

    name = "zeros"
    formula = "0"

    def scale(self, n_prev, n):
        return 0.0


@INITIALIZERS.register
class SmallRandom(Initializer):
    """``N(0, 1) * 0.01``, the course's small random initialization."""

    name = "random"
    formula = "N(0, 1) * 0.01"

    def scale(self, n_prev, n):
        return 0.01


@INITIALIZERS.register
class Large(Initializer):
    """``N(0, 1) * 10``, the course's too-large initialization (its cost starts huge and the
    sigmoid output saturates; kept for the demonstration)."""

    name = "large"
    formula = "N(0, 1) * 10"

    def scale(self, n_prev, n):
        return 10.0


@INITIALIZERS.register
class Xavier(Initializer):
    """``N(0, 1) * sqrt(1 / n[l-1])`` (suits tanh)."""

    name = "xavier"
    formula = "N(0, 1) * sqrt(1 / n[l-1])"

    def scale(self, n_prev, n):
        return math.sqrt(1.0 / n_prev)


@INITIALIZERS.register
class He(Initializer):
    """``N(0, 1) * sqrt(2 / n[l-1])`` (He et al. 2015; suits ReLU)."""

    name = "he"
    formula = "N(0, 1) * sqrt(2 / n[l-1])"

    def scale(self, n_prev, n):
        return math.sqrt(2.0 / n_prev)


@INITIALIZERS.register
class Glorot(Initializer):
    """``N(0, 1) * sqrt(2 / (n[l-1] + n[l]))`` (Glorot & Bengio 2010, the course's third
    variant: the mean of the fan-in and fan-out variances)."""

    name = "glorot"
    formula = "N(0, 1) * sqrt(2 / (n[l-1] + n[l]))"

    def scale(self, n_prev, n):
        return math.sqrt(2.0 / (n_prev + n))


#: The initializer the estimators and ``initialize_parameters`` use by default.
DEFAULT_INIT = He.name


def weight_scale(init, n_prev, n):
    """The standard deviation the initializer ``init`` uses for a layer with ``n_prev`` inputs
    and ``n`` units."""
    return INITIALIZERS.resolve(init).scale(n_prev, n)


def draw_weights(init, layer_dims, rng):
    """Host arrays ``{"W1": (n[1], n[0]), ...}`` drawn in layer order from ``rng`` (a NumPy
    ``Generator``, or a legacy ``RandomState``: ``RandomState(s).standard_normal(shape)`` is
    the course's ``np.random.seed(s); np.random.randn(*shape)``)."""
    definition = INITIALIZERS.resolve(init)
    out = {}
    for l in range(1, len(layer_dims)):
        scale = definition.scale(layer_dims[l - 1], layer_dims[l])
        shape = (layer_dims[l], layer_dims[l - 1])
        out[f"W{l}"] = (rng.standard_normal(size=shape) * scale if scale
                        else np.zeros(shape))
    return out
