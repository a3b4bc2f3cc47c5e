"""Optimizers behind one seam: each updates the flat parameter buffer in one backend call.

An optimizer is created once per fit (``make_optimizer``), ``init(params)`` allocates its state
as flat buffers shaped like the parameters, and ``step(params, grads, lr)`` applies one update
with the learning rate of the current epoch. Whether that is batch, mini-batch or stochastic
gradient descent is decided by the batch size, not here.

The seeds write RMSprop as ``S = beta * V + ...`` and Adam's second moment as
``S = beta2 * V + ...``; those are typos. The standard algorithms are implemented:
``S = beta * S + (1 - beta) * dW^2``. The seeds also put epsilon inside the root
(``sqrt(S + eps)``) and overwrite Adam's moments with their bias-corrected values; here, as in
the standard algorithms, ``eps`` is added to ``sqrt(S)`` and the corrected ``V / (1 - beta1^t)``,
``S / (1 - beta2^t)`` are used for the step only (the running moments stay uncorrected).
"""

from __future__ import annotations

OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")
DEFAULT_LEARNING_RATE = {"gd": 0.1, "momentum": 0.1, "rmsprop": 0.001, "adam": 0.001}


class Optimizer:
    """Base: counts steps ``t`` (1-based, as Adam's bias correction needs)."""

    name = "base"

    def __init__(self):
        self.t = 0

    def init(self, params):
        self.t = 0

    def step(self, params, grads, lr):
        self.t += 1
        self._update(params.backend, params.flat, grads.flat, lr)

    def _update(self, bk, theta, grad, lr):
        raise NotImplementedError

    def state(self):
        """``{name: flat array}`` of the optimizer's buffers (for inspection and tests)."""
        return {}


class GradientDescent(Optimizer):
    """``theta -= lr * dtheta``."""

    name = "gd"

    def _update(self, bk, theta, grad, lr):
        bk.sgd_update(theta, grad, lr)


class Momentum(Optimizer):
    """``v = beta v + (1 - beta) dtheta``; ``theta -= lr * v`` (``v / (1 - beta^t)`` when
    ``bias_correction``)."""

    name = "momentum"

    def __init__(self, beta=0.9, bias_correction=False):
        super().__init__()
        self.beta = beta
        self.bias_correction = bias_correction

    def init(self, params):
        super().init(params)
        self.v = params.zeros_like(prefix="v_")

    def _update(self, bk, theta, grad, lr):
        bk.momentum_update(theta, grad, self.v.flat, lr, self.beta, self.t, self.bias_correction)

    def state(self):
        return {"v": self.v.flat}


class RMSprop(Optimizer):
    """``s = beta s + (1 - beta) dtheta^2``; ``theta -= lr * dtheta / (sqrt(s) + eps)``."""

    name = "rmsprop"

    def __init__(self, beta=0.9, epsilon=1e-8):
        super().__init__()
        self.beta = beta
        self.epsilon = epsilon

    def init(self, params):
        super().init(params)
        self.s = params.zeros_like(prefix="s_")

    def _update(self, bk, theta, grad, lr):
        bk.rmsprop_update(theta, grad, self.s.flat, lr, self.beta, self.epsilon)

    def state(self):
        return {"s": self.s.flat}


class Adam(Optimizer):
    """Adam: momentum and RMSprop moments, both bias-corrected at step ``t``."""

    name = "adam"

    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__()
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def init(self, params):
        super().init(params)
        self.m = params.zeros_like(prefix="m_")
        self.v = params.zeros_like(prefix="v_")

    def _update(self, bk, theta, grad, lr):
        bk.adam_update(theta, grad, self.m.flat, self.v.flat, lr, self.beta1, self.beta2,
                       self.epsilon, self.t)

    def state(self):
        return {"m": self.m.flat, "v": self.v.flat}


def make_optimizer(name, beta=0.9, beta1=0.9, beta2=0.999, epsilon=1e-8,
                   bias_correction=False):
    """Create the optimizer ``name`` (one of ``OPTIMIZERS``) or pass an Optimizer through."""
    if isinstance(name, Optimizer):
        return name
    if name == "gd":
        return GradientDescent()
    if name == "momentum":
        return Momentum(beta=beta, bias_correction=bias_correction)
    if name == "rmsprop":
        return RMSprop(beta=beta, epsilon=epsilon)
    if name == "adam":
        return Adam(beta1=beta1, beta2=beta2, epsilon=epsilon)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
