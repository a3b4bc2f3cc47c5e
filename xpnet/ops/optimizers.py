"""Optimizers, each defined once: its state layout (``slots``: flat buffers shaped like the
parameters), the hyperparameters it reads (``uses``) and one in-place update over the flat
parameter buffer, written against the backend's array primitives. A backend may register a
fused ``update`` kernel for a definition (``xpnet.backends.base.Backend.fused``).

The seeds write RMSprop as ``S = beta * V + ...`` and Adam's second moment as
``S = beta2 * V + ...``; those are typos. The standard algorithms are implemented:
``S = beta * S + (1 - beta) * dW^2``. The seeds also put epsilon inside the root
(``sqrt(S + eps)``) and overwrite Adam's moments with their bias-corrected values; here, as in
the standard algorithms, ``eps`` is added to ``sqrt(S)`` and the corrected ``V / (1 - beta1^t)``,
``S / (1 - beta2^t)`` are used for the step only (the running moments stay uncorrected).

Each update keeps the operations and order of the textbook formula with its temporaries in two
reusable scratch buffers (``bk.scratch``), so no full-size array is allocated per step.

To add an optimizer, subclass ``OptimizerDef`` with ``name``, ``slots``, ``uses``,
``default_learning_rate`` and ``update`` and decorate it with ``@OPTIMIZERS.register``; a new
hyperparameter it uses is one entry of the estimators' schema (docs/extending.md).
"""

from __future__ import annotations

import math

from .registry import Registry, fused

OPTIMIZERS = Registry("optimizer", roles=("update",))


class OptimizerDef:
    """Base of the definitions: ``update(bk, theta, grad, state, lr, t, hp)`` applies step
    ``t`` (1-based) in place; ``state`` maps each slot to its flat buffer, ``hp`` each name of
    ``uses`` to its value."""

    name = None
    slots = ()
    uses = ()
    default_learning_rate = 0.001
    formula = ""

    def update(self, bk, theta, grad, state, lr, t, hp):
        raise NotImplementedError(f"optimizer {self.name!r} defines no update")

    def __repr__(self):
        return f"<optimizer {self.name}: {self.formula}>"


def _tmp(bk, theta):
    return bk.scratch("opt1", theta), bk.scratch("opt2", theta)


@OPTIMIZERS.register
class GradientDescent(OptimizerDef):
    """``theta -= lr * dtheta``."""

    name = "gd"
    default_learning_rate = 0.1
    formula = "theta -= lr dtheta"

    def update(self, bk, theta, grad, state, lr, t, hp):
        f = bk.scalar
        bk.subtract(theta, bk.multiply(grad, f(lr, theta), out=bk.scratch("opt1", theta)),
                    out=theta)


@OPTIMIZERS.register
class Momentum(OptimizerDef):
    """``v = beta v + (1 - beta) dtheta``; ``theta -= lr * v`` (``v / (1 - beta^t)`` with
    ``bias_correction``)."""

    name = "momentum"
    slots = ("v",)
    uses = ("beta", "bias_correction")
    default_learning_rate = 0.1
    formula = "v = beta v + (1 - beta) dtheta; theta -= lr v"

    def update(self, bk, theta, grad, state, lr, t, hp):
        f, v, beta = bk.scalar, state["v"], hp["beta"]
        tmp, _ = _tmp(bk, theta)
        bk.multiply(v, f(beta, v), out=v)
        bk.add(v, bk.multiply(grad, f(1 - beta, v), out=tmp), out=v)
        step = lr / (1 - beta ** t) if hp["bias_correction"] else lr
        bk.subtract(theta, bk.multiply(v, f(step, v), out=tmp), out=theta)


@OPTIMIZERS.register
class RMSprop(OptimizerDef):
    """``s = beta s + (1 - beta) dtheta^2``; ``theta -= lr * dtheta / (sqrt(s) + eps)``."""

    name = "rmsprop"
    slots = ("s",)
    uses = ("beta", "epsilon")
    formula = "s = beta s + (1 - beta) dtheta^2; theta -= lr dtheta / (sqrt(s) + eps)"

    def update(self, bk, theta, grad, state, lr, t, hp):
        f, s, beta = bk.scalar, state["s"], hp["beta"]
        tmp, denom = _tmp(bk, theta)
        bk.multiply(s, f(beta, s), out=s)
        bk.multiply(grad, grad, out=tmp)
        bk.add(s, bk.multiply(tmp, f(1 - beta, s), out=tmp), out=s)
        bk.sqrt(s, out=denom)
        bk.add(denom, f(hp["epsilon"], s), out=denom)
        bk.multiply(grad, f(lr, s), out=tmp)
        bk.subtract(theta, bk.divide(tmp, denom, out=tmp), out=theta)


def _adam_moments(bk, grad, m, v, beta1, beta2, tmp):
    f = bk.scalar
    bk.multiply(m, f(beta1, m), out=m)
    bk.add(m, bk.multiply(grad, f(1 - beta1, m), out=tmp), out=m)
    bk.multiply(v, f(beta2, v), out=v)
    bk.multiply(grad, grad, out=tmp)
    bk.add(v, bk.multiply(tmp, f(1 - beta2, v), out=tmp), out=v)


def bias_corrections(beta1, beta2, t):
    """Adam's ``(1 - beta1^t, 1 - beta2^t)`` at step ``t`` (1-based)."""
    return 1 - beta1 ** t, 1 - beta2 ** t


def _adam_step(bk, theta, m, v, lr, t, beta1, beta2, eps, tmp, denom):
    """``theta -= lr * m_hat / (sqrt(v_hat) + eps)``, the corrections folded into scalars."""
    f = bk.scalar
    c1, c2 = bias_corrections(beta1, beta2, t)
    bk.sqrt(v, out=denom)
    bk.multiply(denom, f(1 / math.sqrt(c2), v), out=denom)
    bk.add(denom, f(eps, v), out=denom)
    bk.multiply(m, f(lr / c1, m), out=tmp)
    bk.subtract(theta, bk.divide(tmp, denom, out=tmp), out=theta)


def _corrected(self, bk, state, t, hp):
    """The bias-corrected moments after step ``t``: ``{"m": m / (1 - beta1^t), "v": v /
    (1 - beta2^t)}`` (new arrays; the running moments stay uncorrected)."""
    c1, c2 = bias_corrections(hp["beta1"], hp["beta2"], t)
    return {"m": bk.divide(state["m"], c1), "v": bk.divide(state["v"], c2)}


@OPTIMIZERS.register
class Adam(OptimizerDef):
    """Adam: momentum and RMSprop moments, both bias-corrected at step ``t``:
    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2``,
    ``theta -= lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)``."""

    name = "adam"
    slots = ("m", "v")
    uses = ("beta1", "beta2", "epsilon")
    formula = "m, v moments; theta -= lr m_hat / (sqrt(v_hat) + eps)"

    def update(self, bk, theta, grad, state, lr, t, hp):
        m, v = state["m"], state["v"]
        tmp, denom = _tmp(bk, theta)
        _adam_moments(bk, grad, m, v, hp["beta1"], hp["beta2"], tmp)
        _adam_step(bk, theta, m, v, lr, t, hp["beta1"], hp["beta2"], hp["epsilon"], tmp, denom)

    corrected = _corrected


@OPTIMIZERS.register
class AdamW(OptimizerDef):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019, as PyTorch's ``AdamW``):
    ``theta *= 1 - lr * weight_decay``, then the Adam step. Unlike L2 (``l2``), the decay is
    not scaled by Adam's adaptive denominators. Every parameter decays, biases included."""

    name = "adamw"
    slots = ("m", "v")
    uses = ("beta1", "beta2", "epsilon", "weight_decay")
    formula = "theta *= 1 - lr wd; then the Adam step"

    def update(self, bk, theta, grad, state, lr, t, hp):
        m, v = state["m"], state["v"]
        tmp, denom = _tmp(bk, theta)
        if hp["weight_decay"]:
            bk.multiply(theta, bk.scalar(1 - lr * hp["weight_decay"], theta), out=theta)
        _adam_moments(bk, grad, m, v, hp["beta1"], hp["beta2"], tmp)
        _adam_step(bk, theta, m, v, lr, t, hp["beta1"], hp["beta2"], hp["epsilon"], tmp, denom)

    corrected = _corrected


#: Each hyperparameter an optimizer may read, with its default (the estimators' schema holds
#: the same defaults and checks them; this is for ``make_optimizer`` used on its own).
DEFAULTS = {"beta": 0.9, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
            "bias_correction": False, "weight_decay": 0.01}


# ------------------------------------------------------------------------ runtime object
def update(bk, optimizer, theta, grad, state, lr, t, **hp):
    """One update of ``optimizer`` on ``bk``: its fused ``update`` kernel, else the formula.
    ``hp`` may omit settings (their ``DEFAULTS`` apply)."""
    definition = OPTIMIZERS.resolve(optimizer)
    _apply(bk, definition, theta, grad, state, lr, t,
           {name: hp.get(name, DEFAULTS[name]) for name in definition.uses})


def _apply(bk, definition, theta, grad, state, lr, t, hp):
    """The fused ``update`` kernel of ``definition`` on ``bk``, else its formula."""
    if fused(bk, definition.name, "update", theta, grad, state, lr, t, hp) is NotImplemented:
        definition.update(bk, theta, grad, state, lr, t, hp)


class Optimizer:
    """One fit's optimizer: a definition, its hyperparameter values and state.

    ``init(params)`` allocates the state as flat buffers shaped like the parameters and
    ``step(params, grads, lr)`` applies one update with the learning rate of the current epoch
    (batch, mini-batch or stochastic gradient descent is decided by the batch size, not here).
    ``t`` counts steps (1-based, as Adam's bias correction needs).
    """

    def __init__(self, definition, **hp):
        self.definition = OPTIMIZERS.resolve(definition)
        unknown = set(hp) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown optimizer setting(s) {sorted(unknown)}; settings: "
                             f"{', '.join(DEFAULTS)}")
        self.hp = {name: hp.get(name, DEFAULTS[name]) for name in self.definition.uses}
        self.t = 0
        self.slots = {}

    @property
    def name(self):
        return self.definition.name

    def __getattr__(self, key):  # opt.beta1, opt.v (state) for inspection
        hp, slots = self.__dict__.get("hp", {}), self.__dict__.get("slots", {})
        if key in hp:
            return hp[key]
        if key in slots:
            return slots[key]
        raise AttributeError(f"{type(self).__name__} {self.name!r} has no attribute {key!r}")

    def init(self, params):
        self.t = 0
        self._backend = params.backend
        self.slots = {slot: params.zeros_like(prefix=f"{slot}_")
                      for slot in self.definition.slots}
        self._state = {slot: p.flat for slot, p in self.slots.items()}

    def step(self, params, grads, lr):
        self.t += 1
        _apply(params.backend, self.definition, params.flat, grads.flat, self._state, lr,
               self.t, self.hp)

    def advance(self):
        """Count one step whose update ran without this object (inside a recorded step that a
        backend replays: ``Backend.records_updates``)."""
        self.t += 1

    def state(self):
        """``{slot: flat array}`` of the optimizer's buffers (for inspection and tests)."""
        return dict(getattr(self, "_state", {}))

    def corrected(self):
        """``{slot: flat array}`` of the bias-corrected moments after the last step (Adam's
        ``m_hat``, ``v_hat``); the plain state for an optimizer without corrections."""
        corrected = getattr(self.definition, "corrected", None)
        if corrected is None or self.t == 0:
            return self.state()
        return corrected(self._backend, self._state, self.t, self.hp)

    def __repr__(self):
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hp.items())
        return f"Optimizer({self.name!r}{', ' if settings else ''}{settings})"


def make_optimizer(name, **hp):
    """The optimizer ``name`` (one of ``OPTIMIZERS``) with the settings it uses taken from
    ``hp`` (others ignored, so one set of estimator settings serves every optimizer); an
    ``Optimizer`` passes through."""
    if isinstance(name, Optimizer):
        return name
    definition = OPTIMIZERS.resolve(name)
    return Optimizer(definition, **{k: v for k, v in hp.items() if k in definition.uses})


def default_learning_rate(name):
    return OPTIMIZERS.resolve(name).default_learning_rate
