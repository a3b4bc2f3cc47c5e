"""Activations, each defined once: forward ``A = g(Z)`` and backward ``dZ = dA * g'(Z)``
together, written against the backend's array primitives (``bk.exp``, ``bk.multiply``, ...), so
every backend runs them; the ``loops`` backend runs the very same formulas through its
explicit-loop primitives. A backend may register fused kernels for a definition (roles
``forward``, ``backward``, ``bias_forward``: see ``xpnet.backends.base.Backend.fused``); where
it has none, or a kernel declines an input (it returns ``NotImplemented``), the formula here
runs. Shapes in course notation: ``Z, A, dA, dZ (n[l], m)``, ``b (n[l], 1)``.

Every definition is also the learner's function: ``sigmoid(Z)`` computes ``g(Z)`` on the current
backend (``backend=`` to choose), ``sigmoid.derivative(dA, Z)`` computes ``dA * g'(Z)``.

To add an activation, subclass ``Activation`` below with its ``name``, ``formula``,
``forward`` and ``backward`` and decorate it with ``@ACTIVATIONS.register``: estimators, the
CLI, the docs table and the tests pick it up from the registry (docs/extending.md).
"""

from __future__ import annotations

import math

from .registry import Registry, fused

ACTIVATIONS = Registry("activation", roles=("forward", "backward", "bias_forward"))


def _backend(backend):
    from ..backends import resolve  # lazily: xpnet.backends imports this package
    return resolve(backend)


class Activation:
    """Base of the definitions. ``slope`` is leaky ReLU's ``g'`` for ``z < 0``; every
    activation takes it so that layers call all of them alike.

    Flags read by the model code and the tools: ``identity`` (``g(z) = z``: ``A`` is ``Z``),
    ``columnwise`` (``g`` couples the rows of a column: softmax), ``kinked`` (``g'`` jumps at 0:
    gradient checks near 0 are inflated), ``hidden`` (offered for hidden layers).
    """

    name = None
    formula = ""          # "g(z) | g'(z)", for the docs table
    identity = False
    columnwise = False
    kinked = False
    hidden = True

    def forward(self, bk, Z, slope):
        raise NotImplementedError(f"activation {self.name!r} defines no forward formula")

    def backward(self, bk, dA, Z, A, slope):
        raise NotImplementedError(f"activation {self.name!r} defines no backward formula")

    # ------------------------------------------------------------ learner-facing view
    def __call__(self, Z, slope=0.01, backend=None):
        """``A = g(Z)`` on ``backend`` (default: the current one). ``Z``: a Python number, a
        0-d, 1-d or 2-d array-like of any numeric dtype; integers are computed as float64.
        Returns floats of ``Z``'s shape (a Python float for a Python number)."""
        bk = _backend(backend)
        Z2, restore, _ = _learner_input(bk, Z, "Z")
        return restore(forward(bk, self, Z2, slope))

    def derivative(self, dA, Z, A=None, slope=0.01, backend=None):
        """``dZ = dA * g'(Z)``; ``A`` (the forward output) is recomputed when not given.
        Takes the same inputs as the call, ``dA`` (and ``A``) of ``Z``'s shape."""
        bk = _backend(backend)
        Z2, restore, shape = _learner_input(bk, Z, "Z")
        dA2 = _learner_input(bk, dA, "dA", shape, Z2.dtype)[0]
        A2 = forward(bk, self, Z2, slope) if A is None else \
            _learner_input(bk, A, "A", shape, Z2.dtype)[0]
        return restore(backward(bk, self, dA2, Z2, A2, slope))

    def __repr__(self):
        return f"<activation {self.name}: {self.formula}>"


def _learner_input(bk, x, name, shape=None, dtype=None):
    """``(x2, restore, shape)``: ``x`` as a float array of at least one dimension (the primitives
    write into ``out=`` buffers, which 0-d results are not) and the function giving a result
    back the input's form: a Python float for a Python number, a 0-d array for a 0-d one.
    ``shape``/``dtype``: those ``x`` must have (``dA`` and ``A`` follow ``Z``)."""
    scalar = isinstance(x, (int, float)) and not isinstance(x, bool)
    x = _floats(bk, x, name)
    given = tuple(x.shape)
    if shape is not None and given != shape:
        raise ValueError(f"{name} has shape {tuple(x.shape)} but Z has shape {shape}; "
                         "give arrays of one shape")
    if dtype is not None and x.dtype != dtype:
        x = bk.astype(x, dtype)
    if x.ndim > 0:
        return x, lambda out: out, given
    x = bk.asarray(bk.to_numpy(x).reshape(1), dtype=x.dtype)
    if scalar:
        return x, lambda out: float(bk.item(out)), given
    return x, lambda out: bk.asarray(bk.to_numpy(out).reshape(()), dtype=out.dtype), given


def _floats(bk, x, name="Z"):
    """``x`` on ``bk``; float arrays keep their dtype, other numbers become float64."""
    try:
        x = bk.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number or an array of numbers, got "
                        f"{type(x).__name__}: {exc}") from None
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if kind == "f":
        return x
    if kind not in ("i", "u", "b"):
        raise TypeError(f"{name} must be a number or an array of numbers, got an array of "
                        f"dtype {getattr(x, 'dtype', type(x).__name__)}")
    return bk.asarray(x, dtype="float64")


def _same(dA, Z, A):
    """One shape and dtype for all three: the in-place, scratch-buffer paths apply."""
    return dA.shape == Z.shape == A.shape and dA.dtype == A.dtype


# ------------------------------------------------------------------------ definitions
@ACTIVATIONS.register
class Sigmoid(Activation):
    """``g(z) = 1 / (1 + e^-z)``, split-branch; ``g'(z) = a (1 - a)``.

    Split-branch form: exp of a non-positive number only, so no overflow at z = +-1000.
    ``A = n / (1 + e)`` with ``e = exp(-|z|)`` and ``n = 1`` where ``z >= 0``, else ``e``; since
    ``e <= 1``, ``n = max(e, z >= 0)`` selects without a (slow, branchy) ``where``.
    """

    name = "sigmoid"
    formula = "1 / (1 + e^-z) (split-branch) | a (1 - a)"

    def forward(self, bk, Z, slope):
        e = bk.scratch("e", Z)
        bk.abs(Z, out=e)
        bk.negative(e, out=e)
        bk.exp(e, out=e)
        A = bk.add(e, 1)
        bk.maximum(e, bk.greater_equal(Z, 0, out=bk.scratch("mask", Z, "bool")), out=e)
        return bk.divide(e, A, out=A)

    def backward(self, bk, dA, Z, A, slope):
        if not _same(dA, Z, A):
            return bk.multiply(bk.multiply(dA, A), bk.subtract(1, A))
        dZ = bk.multiply(dA, A)
        return bk.multiply(dZ, bk.subtract(1, A, out=bk.scratch("e", A)), out=dZ)


@ACTIVATIONS.register
class Tanh(Activation):
    """``g(z) = tanh z``; ``g'(z) = 1 - a^2``."""

    name = "tanh"
    formula = "tanh z | 1 - a^2"

    def forward(self, bk, Z, slope):
        return bk.tanh(Z)

    def backward(self, bk, dA, Z, A, slope):
        if not _same(dA, Z, A):
            return bk.multiply(dA, bk.subtract(1, bk.multiply(A, A)))
        dZ = bk.multiply(A, A)
        bk.subtract(1, dZ, out=dZ)
        return bk.multiply(dA, dZ, out=dZ)


@ACTIVATIONS.register
class ReLU(Activation):
    """``g(z) = max(0, z)``; ``g'(z) = 1 if z > 0 else 0``."""

    name = "relu"
    formula = "max(0, z) | 1 if z > 0 else 0"
    kinked = True

    def forward(self, bk, Z, slope):
        return bk.maximum(Z, 0)

    def backward(self, bk, dA, Z, A, slope):
        if not _same(dA, Z, A):
            return bk.astype(bk.where(bk.greater(Z, 0), dA, 0), dA.dtype)
        # dA * (Z > 0): branch-free, several times faster than where on random signs.
        return bk.multiply(dA, bk.greater(Z, 0, out=bk.scratch("mask", Z, "bool")))


@ACTIVATIONS.register
class LeakyReLU(Activation):
    """``g(z) = z if z > 0 else slope z``; ``g'(z) = 1 if z > 0 else slope``."""

    name = "leaky_relu"
    formula = "z if z > 0 else slope z | 1 if z > 0 else slope"
    kinked = True

    def forward(self, bk, Z, slope):
        A = bk.multiply(Z, bk.scalar(slope, Z))
        if 0 <= slope <= 1:
            return bk.maximum(Z, A, out=A)  # = where(Z > 0, Z, slope Z) for 0 <= slope <= 1
        return bk.where(bk.greater(Z, 0), Z, A)

    def backward(self, bk, dA, Z, A, slope):
        s = bk.scalar(slope, dA)
        if not _same(dA, Z, A) or not 0 <= slope <= 1:
            return bk.where(bk.greater(Z, 0), dA, bk.multiply(dA, s))
        # The factor max(Z > 0, slope) is exactly 1 or slope.
        mask = bk.greater(Z, 0, out=bk.scratch("mask", Z, "bool"))
        return bk.multiply(dA, bk.maximum(mask, s, out=bk.scratch("e", dA)))


@ACTIVATIONS.register
class Softmax(Activation):
    """``g(z)_i = e^(z_i - max z) / sum_k e^(z_k - max z)`` down each column (max-shifted);
    backward is the Jacobian-vector product ``dZ = A * (dA - sum(dA * A, axis=0))``."""

    name = "softmax"
    formula = "e^(z - max z) / sum e^(z - max z) (per column) | Jacobian-vector product"
    columnwise = True
    hidden = False

    def forward(self, bk, Z, slope):
        E = bk.exp(bk.subtract(Z, bk.max(Z, axis=0, keepdims=True)))
        return bk.divide(E, bk.sum(E, axis=0, keepdims=True), out=E)

    def backward(self, bk, dA, Z, A, slope):
        return bk.multiply(A, bk.subtract(dA, bk.sum(bk.multiply(dA, A), axis=0,
                                                     keepdims=True)))


@ACTIVATIONS.register
class Linear(Activation):
    """``g(z) = z``; ``g'(z) = 1`` (the regression output)."""

    name = "linear"
    formula = "z | 1"
    identity = True

    def forward(self, bk, Z, slope):
        return Z

    def backward(self, bk, dA, Z, A, slope):
        return dA


_GELU_C = math.sqrt(2.0 / math.pi)


@ACTIVATIONS.register
class GELU(Activation):
    """Gaussian error linear unit, tanh form (Hendrycks & Gimpel 2016; PyTorch's
    ``approximate="tanh"``): ``g(z) = z/2 (1 + tanh u)``, ``u = c (z + 0.044715 z^3)``,
    ``c = sqrt(2 / pi)``; ``g'(z) = (1 + tanh u) / 2 + z/2 (1 - tanh^2 u) c (1 + 3 0.044715 z^2)``.
    """

    name = "gelu"
    formula = "z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) | product rule through tanh"

    def _tanh_u(self, bk, Z):
        Z2 = bk.multiply(Z, Z)
        u = bk.multiply(Z, bk.add(bk.multiply(Z2, bk.scalar(0.044715, Z)), 1))
        return bk.tanh(bk.multiply(u, bk.scalar(_GELU_C, Z))), Z2

    def forward(self, bk, Z, slope):
        t, _ = self._tanh_u(bk, Z)
        return bk.multiply(bk.multiply(Z, bk.scalar(0.5, Z)), bk.add(t, 1))

    def backward(self, bk, dA, Z, A, slope):
        t, Z2 = self._tanh_u(bk, Z)
        half = bk.scalar(0.5, Z)
        du = bk.multiply(bk.add(bk.multiply(Z2, bk.scalar(3 * 0.044715, Z)), 1),
                         bk.scalar(_GELU_C, Z))
        sech2 = bk.subtract(1, bk.multiply(t, t))
        g = bk.add(bk.multiply(bk.add(t, 1), half),
                   bk.multiply(bk.multiply(bk.multiply(Z, half), sech2), du))
        return bk.multiply(dA, g)


# --------------------------------------------------------------------------- dispatch
def forward(bk, activation, Z, slope=0.01):
    """``A = g(Z)`` on ``bk``: its fused ``forward`` kernel, else the definition's formula."""
    act = ACTIVATIONS.resolve(activation)
    A = fused(bk, act.name, "forward", Z, slope)
    return act.forward(bk, Z, slope) if A is NotImplemented else A


def backward(bk, activation, dA, Z, A, slope=0.01):
    """``dZ = dA * g'(Z)`` on ``bk`` (``A = g(Z)`` from the forward pass)."""
    act = ACTIVATIONS.resolve(activation)
    dZ = fused(bk, act.name, "backward", dA, Z, A, slope)
    return act.backward(bk, dA, Z, A, slope) if dZ is NotImplemented else dZ


def linear_activation_forward(bk, W, A_prev, b, activation, slope=0.01):
    """``Z = W A_prev + b``, ``A = g(Z)``; returns ``(Z, A)``. ``W (n[l], n[l-1])``,
    ``A_prev (n[l-1], m)``, ``b (n[l], 1)`` or None. A fused ``bias_forward`` kernel adds the
    bias and applies ``g`` in one pass after the matmul."""
    act = ACTIVATIONS.resolve(activation)
    Z = bk.matmul(W, A_prev)
    if b is None:
        return Z, forward(bk, act, Z, slope)
    ZA = fused(bk, act.name, "bias_forward", Z, b, slope)
    if ZA is not NotImplemented:
        return ZA
    Z = bk.add(Z, b, out=Z)
    return Z, forward(bk, act, Z, slope)


def hidden_activations():
    """Names offered for hidden layers (the estimators' and the CLI's choices)."""
    return ACTIVATIONS.names(lambda a: a.hidden)
