"""Optimizers behind one seam: each updates the flat parameter buffer in one backend call.

The definitions live once in ``xpnet.ops.optimizers`` (the ``OPTIMIZERS`` registry, with the
seeds' typos and the standard algorithms explained there); this module is the network's view:
``make_optimizer(name, **settings)`` creates one fit's ``Optimizer``.
"""

from __future__ import annotations

from ..ops.optimizers import (DEFAULTS, OPTIMIZERS, Optimizer, OptimizerDef,
                              default_learning_rate, make_optimizer, update)

__all__ = ["OPTIMIZERS", "DEFAULTS", "Optimizer", "OptimizerDef", "make_optimizer",
           "default_learning_rate", "update"]
