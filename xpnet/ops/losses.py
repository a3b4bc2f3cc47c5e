"""Losses, each defined once: the mean cost over the ``m`` columns and the output gradient
``dZ[L]``, both written against the backend's array primitives. A loss pairs with the output
activation it is computed through (``output``): the value is taken from the logits ``Z[L]``
where that matters (stable for any ``z``) and ``dZ[L]`` is the gradient with respect to
``Z[L]`` in course scaling (``m dJ/dZ[L]``; ``A[L] - Y`` for each classic pair).

Fused kernels: roles ``value`` and ``delta`` (``xpnet.backends.base.Backend.fused``). Shapes:
``ZL, AL, Y (n[L], m)``; the value is a 0-d array (read it with ``bk.item`` once per epoch).

Sample weights: ``weights (1, m)``, one per column with mean 1 over the training set, turn
the mean into ``1/m sum_j s_j l_j`` (each formula multiplies its per-element terms by them
before summing) and the output gradient into ``s_j dZ[:, j]`` (the dispatch scales it, for
every loss: a column's loss depends on that column only). Without weights the formulas and
fused kernels run exactly as they always did.

To add a loss, subclass ``Loss`` with ``name``, ``output``, ``targets``, ``formula``, its
``params`` (name -> default), ``value`` and ``delta``, and decorate it with
``@LOSSES.register`` (docs/extending.md).
"""

from __future__ import annotations

from .registry import Registry, fused

LOSSES = Registry("loss", roles=("value", "delta"))
#: The kinds of target a loss can fit; the estimators pick ``default_loss(kind)``.
TARGET_KINDS = ("binary", "multiclass", "regression")


class Loss:
    """Base of the definitions. ``targets``: the target kinds it fits; ``default``: the kinds
    it is the default for; ``params``: its settings with defaults (``delta`` for Huber)."""

    name = None
    output = None         # the output activation it is computed through
    targets = ()
    default = ()
    formula = ""
    params = {}

    def value(self, bk, ZL, AL, Y, weights=None, **params):
        raise NotImplementedError(f"loss {self.name!r} defines no value")

    def delta(self, bk, ZL, AL, Y, **params):
        raise NotImplementedError(f"loss {self.name!r} defines no output gradient")

    def options(self, given=None):
        """This loss's settings: its ``params`` defaults updated with ``given`` (only keys it
        has; an unknown key is a ValueError)."""
        out = dict(self.params)
        for key, val in (given or {}).items():
            if key not in out:
                raise ValueError(f"loss {self.name!r} has no setting {key!r} (it has: "
                                 f"{', '.join(out) or 'none'})")
            out[key] = val
        return out

    def __repr__(self):
        return f"<loss {self.name}: {self.formula}>"


def _residual_delta(bk, ZL, AL, Y):
    return bk.subtract(AL, Y)


def _weighted(bk, terms, weights):
    """``terms (n, m)`` times the column weights ``(1, m)`` (unchanged without weights)."""
    return terms if weights is None else bk.multiply(terms, weights)


@LOSSES.register
class BinaryCrossEntropy(Loss):
    """``J = -1/m sum (y log a + (1 - y) log(1 - a))`` with ``a = sigmoid(z)``, from the logit:
    ``max(z, 0) - z y + log(1 + e^-|z|)``, finite for any ``z``; ``dZ = A - Y``."""

    name = "binary_crossentropy"
    output = "sigmoid"
    targets = ("binary",)
    default = ("binary",)
    formula = "1/m sum max(z, 0) - z y + log(1 + e^-|z|) | A - Y"

    def value(self, bk, ZL, AL, Y, weights=None, **params):
        m = ZL.shape[1]
        tail = bk.log1p(bk.exp(bk.negative(bk.abs(ZL))))
        per = bk.add(bk.subtract(bk.maximum(ZL, 0), bk.multiply(ZL, Y)), tail)
        return bk.divide(bk.sum(_weighted(bk, per, weights)), m)

    def delta(self, bk, ZL, AL, Y, **params):
        return _residual_delta(bk, ZL, AL, Y)


@LOSSES.register
class CategoricalCrossEntropy(Loss):
    """``J = -1/m sum_j sum_i y_ij log a_ij`` with ``a = softmax(z)``, from the logits:
    ``log sum_i e^z_ij - sum_i z_ij y_ij`` (max-shifted log-sum-exp); ``dZ = A - Y``."""

    name = "categorical_crossentropy"
    output = "softmax"
    targets = ("multiclass",)
    default = ("multiclass",)
    formula = "1/m sum logsumexp(z) - z . y | A - Y"

    def value(self, bk, ZL, AL, Y, weights=None, **params):
        m = ZL.shape[1]
        zmax = bk.max(ZL, axis=0, keepdims=True)
        lse = bk.add(bk.log(bk.sum(bk.exp(bk.subtract(ZL, zmax)), axis=0, keepdims=True)),
                     zmax)
        zy = bk.multiply(ZL, Y)
        return bk.divide(bk.subtract(bk.sum(_weighted(bk, lse, weights)),
                                     bk.sum(_weighted(bk, zy, weights))), m)

    def delta(self, bk, ZL, AL, Y, **params):
        return _residual_delta(bk, ZL, AL, Y)


@LOSSES.register
class MeanSquaredError(Loss):
    """``J = 1/(2m) sum ||a - y||^2`` (the 1/2 makes ``dZ = A - Y``) through a linear output."""

    name = "mse"
    output = "linear"
    targets = ("regression",)
    default = ("regression",)
    formula = "1/(2m) sum (a - y)^2 | A - Y"

    def value(self, bk, ZL, AL, Y, weights=None, **params):
        m = ZL.shape[1]
        D = bk.subtract(AL, Y)
        return bk.divide(bk.sum(_weighted(bk, bk.multiply(D, D), weights)), 2 * m)

    def delta(self, bk, ZL, AL, Y, **params):
        return _residual_delta(bk, ZL, AL, Y)


@LOSSES.register
class Huber(Loss):
    """Huber loss through a linear output, robust to outliers: with ``r = a - y``,
    ``h(r) = r^2 / 2`` for ``|r| <= delta``, else ``delta (|r| - delta / 2)``;
    ``J = 1/m sum h(r)`` (equal to ``mse`` while every ``|r| <= delta``) and
    ``dZ = clip(r, -delta, delta)``."""

    name = "huber"
    output = "linear"
    targets = ("regression",)
    formula = "1/m sum (r^2/2 if |r| <= delta else delta (|r| - delta/2)) | clip(r, +-delta)"
    params = {"delta": 1.0}

    def value(self, bk, ZL, AL, Y, weights=None, delta=1.0):
        m = ZL.shape[1]
        r = bk.subtract(AL, Y)
        c = bk.clip(r, -delta, delta)                       # h(r) = c (r - c/2), both cases
        h = bk.multiply(c, bk.subtract(r, bk.multiply(c, bk.scalar(0.5, c))))
        return bk.divide(bk.sum(_weighted(bk, h, weights)), m)

    def delta(self, bk, ZL, AL, Y, delta=1.0):
        return bk.clip(bk.subtract(AL, Y), -delta, delta)


# --------------------------------------------------------------------------- dispatch
def value(bk, loss, ZL, AL, Y, weights=None, **params):
    """The mean loss (0-d array) on ``bk``: its fused ``value`` kernel, else the formula (with
    column ``weights (1, m)``: the weighted mean, by the formula)."""
    definition = LOSSES.resolve(loss)
    cost = NotImplemented
    if weights is None:
        cost = fused(bk, definition.name, "value", ZL, AL, Y, **params)
    if cost is NotImplemented:  # weights only when given: a loss written without them still runs
        cost = definition.value(bk, ZL, AL, Y, **params) if weights is None else \
            definition.value(bk, ZL, AL, Y, weights=weights, **params)
    return cost


def delta(bk, loss, ZL, AL, Y, weights=None, **params):
    """The output gradient ``dZ[L] (n[L], m)`` on ``bk`` (each column times its weight)."""
    definition = LOSSES.resolve(loss)
    dZ = fused(bk, definition.name, "delta", ZL, AL, Y, **params)
    if dZ is NotImplemented:
        dZ = definition.delta(bk, ZL, AL, Y, **params)
    return dZ if weights is None else bk.multiply(dZ, weights, out=dZ)


def default_loss(kind):
    """The loss a target of ``kind`` (binary, multiclass, regression) trains with."""
    for name, definition in LOSSES.items():
        if kind in definition.default:
            return definition
    raise ValueError(f"no default loss for targets of kind {kind!r}")


def losses_for(kind):
    """Names of the losses that fit a target of ``kind``."""
    return LOSSES.names(lambda d: kind in d.targets)


def for_output(output):
    """The default loss computed through the output activation ``output``."""
    for kind in TARGET_KINDS:
        definition = default_loss(kind)
        if definition.output == output:
            return definition
    for definition in LOSSES.values():
        if definition.output == output:
            return definition
    raise ValueError(f"no loss pairs with output activation {output!r}; outputs with a loss: "
                     f"{', '.join(sorted({d.output for d in LOSSES.values()}))}")
