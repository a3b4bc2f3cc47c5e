"""Activations in course notation, forward and backward side by side: the learner-facing view
of the ``ACTIVATIONS`` registry (``xpnet.ops.activations`` holds each definition once).

Each registered activation is available here under its name as a function of
``Z (n[l], m)`` (any array-like; ``backend=`` picks the backend, default the current one):
``sigmoid(Z)``, ``tanh(Z)``, ``relu(Z)``, ``leaky_relu(Z, slope=0.01)``, ``softmax(Z)``,
``linear(Z)``, ``gelu(Z)``, ...; ``relu.derivative(dA, Z)`` gives ``dZ = dA * g'(Z)``.
``forward(name, Z)`` and ``backward(name, dA, Z)`` take the name instead.

The table of names and formulas: ``formulas()`` (also in docs/extending.md).
"""

from __future__ import annotations

from ..ops.activations import ACTIVATIONS

__all__ = ["ACTIVATIONS", "forward", "backward", "formulas", *ACTIVATIONS]


def forward(name, Z, slope=0.01, backend=None):
    """``A = g(Z)`` for the registered activation ``name``."""
    return ACTIVATIONS[name](Z, slope=slope, backend=backend)


def backward(name, dA, Z, A=None, slope=0.01, backend=None):
    """``dZ = dA * g'(Z)``; ``A`` (the forward output) is recomputed when not given."""
    return ACTIVATIONS[name].derivative(dA, Z, A=A, slope=slope, backend=backend)


def formulas():
    """``[(name, "g(z) | g'(z)")]`` of every registered activation."""
    return [(name, act.formula) for name, act in ACTIVATIONS.items()]


globals().update(ACTIVATIONS)  # sigmoid, tanh, relu, ...: the definitions themselves
