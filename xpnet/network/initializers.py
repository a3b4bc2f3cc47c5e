"""Weight initializers, drawn on the host from a seeded NumPy Generator, then moved.

Drawing on the host makes parameters from one seed identical on every backend.

- ``zeros``: every weight 0 (fails to break symmetry; kept for the course's demonstration).
- ``random``: ``N(0, 1) * 0.01``, the course's small random initialization.
- ``xavier``: ``N(0, 1) * sqrt(1 / n[l-1])`` (suits tanh).
- ``he``: ``N(0, 1) * sqrt(2 / n[l-1])`` (suits ReLU).
Biases start at zero; batch-norm ``gamma`` at one and ``beta`` at zero.
"""

from __future__ import annotations

import math

import numpy as np

INITIALIZERS = ("zeros", "random", "xavier", "he")


def weight_scale(init, n_prev):
    """The standard deviation the initializer ``init`` uses for a layer with ``n_prev`` inputs."""
    if init == "zeros":
        return 0.0
    if init == "random":
        return 0.01
    if init == "xavier":
        return math.sqrt(1.0 / n_prev)
    if init == "he":
        return math.sqrt(2.0 / n_prev)
    raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITIALIZERS)}")


def draw_weights(init, layer_dims, rng):
    """Host arrays ``{"W1": (n[1], n[0]), ...}`` drawn in layer order from ``rng``."""
    out = {}
    for l in range(1, len(layer_dims)):
        scale = weight_scale(init, layer_dims[l - 1])
        shape = (layer_dims[l], layer_dims[l - 1])
        out[f"W{l}"] = (rng.standard_normal(size=shape) * scale if scale
                        else np.zeros(shape))
    return out
