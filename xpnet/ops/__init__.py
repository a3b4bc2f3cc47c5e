"""The op registries: every activation, loss, optimizer and initializer, defined once.

``ACTIVATIONS``, ``LOSSES``, ``OPTIMIZERS`` and ``INITIALIZERS`` map names to definitions; the
dispatch functions (``activations.forward``, ``losses.value``, ``optimizers.update``, ...) run
a backend's fused kernel for a definition where it registered one, else the definition's
formula. This package imports neither numba nor cupy, nor the backends at import time.
"""

from . import activations, initializers, losses, optimizers
from .activations import ACTIVATIONS
from .initializers import INITIALIZERS
from .losses import LOSSES
from .optimizers import OPTIMIZERS
from .registry import Registry, check_kernel_table

REGISTRIES = (ACTIVATIONS, LOSSES, OPTIMIZERS, INITIALIZERS)

__all__ = ["ACTIVATIONS", "LOSSES", "OPTIMIZERS", "INITIALIZERS", "REGISTRIES", "Registry",
           "check_kernel_table", "activations", "losses", "optimizers", "initializers"]
