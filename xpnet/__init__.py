"""xpnet: the deep-learning course as a small, fast, transparent library.

One network code path runs on interchangeable array backends (``loops``, ``numpy``, ``numba``,
``cupy``), chosen with ``XPNET_BACKEND`` or ``xpnet.set_backend``. This module imports neither
numba nor cupy.
"""

from ._estimator import NotFittedError
from ._version import __version__
from .backends import available_backends, get_backend, set_backend, use_backend
from .network import (Architecture, LogisticRegression, NeuralNetwork, NeuralNetworkRegressor,
                      backward, compute_cost, forward, gradient_check, initialize_parameters,
                      update_parameters)
from .network.linear import Adaline, Perceptron
from .network.training import TrainingDiverged


def load(path, backend=None):
    """Load a model saved with ``save(path)``; see ``xpnet.network.persistence``."""
    from .network.persistence import load_model
    return load_model(path, backend=backend)


__all__ = ["__version__", "NeuralNetwork", "NeuralNetworkRegressor", "LogisticRegression",
           "Perceptron", "Adaline", "Architecture", "initialize_parameters", "forward",
           "compute_cost", "backward", "update_parameters", "gradient_check", "load",
           "get_backend", "set_backend", "use_backend", "available_backends", "NotFittedError",
           "TrainingDiverged"]
