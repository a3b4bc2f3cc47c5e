"""Activations in course notation, forward and backward side by side.

Each function takes ``Z (n[l], m)`` (and ``dA``) as arrays of ``backend`` (default: the current
one) and returns an array of the same shape. The math lives in the backend so that kernel
backends can fuse it; this module is the learner-facing, functional view.

==========  ==========================  =====================================
name        g(z)                        g'(z)
==========  ==========================  =====================================
sigmoid     1 / (1 + e^-z)  (split)     a (1 - a)
tanh        tanh z                      1 - a^2
relu        max(0, z)                   1 if z > 0 else 0
leaky_relu  z if z > 0 else slope z     1 if z > 0 else slope
softmax     e^(z - max z) / sum         Jacobian-vector product over axis 0
linear      z                           1
==========  ==========================  =====================================
"""

from __future__ import annotations

from ..backends import ACTIVATIONS, resolve

__all__ = ["ACTIVATIONS", "forward", "backward", "sigmoid", "tanh", "relu", "leaky_relu",
           "softmax", "linear"]


def forward(name, Z, slope=0.01, backend=None):
    """``A = g(Z)``."""
    return resolve(backend).activation_forward(name, Z, slope)


def backward(name, dA, Z, A=None, slope=0.01, backend=None):
    """``dZ = dA * g'(Z)``; ``A`` (the forward output) is recomputed when not given."""
    bk = resolve(backend)
    if A is None:
        A = bk.activation_forward(name, Z, slope)
    return bk.activation_backward(name, dA, Z, A, slope)


def sigmoid(Z, backend=None):
    return forward("sigmoid", Z, backend=backend)


def tanh(Z, backend=None):
    return forward("tanh", Z, backend=backend)


def relu(Z, backend=None):
    return forward("relu", Z, backend=backend)


def leaky_relu(Z, slope=0.01, backend=None):
    return forward("leaky_relu", Z, slope=slope, backend=backend)


def softmax(Z, backend=None):
    return forward("softmax", Z, backend=backend)


def linear(Z, backend=None):
    return forward("linear", Z, backend=backend)
