"""Weight initializers: the network's view of ``xpnet.ops.initializers`` (the ``INITIALIZERS``
registry, each initializer defined once by the scale of its draw)."""

from __future__ import annotations

from ..ops.initializers import DEFAULT_INIT, INITIALIZERS, draw_weights, weight_scale

__all__ = ["INITIALIZERS", "DEFAULT_INIT", "draw_weights", "weight_scale"]
