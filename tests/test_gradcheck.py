"""Gradient checking: backprop against two-sided differences, in float64, for every layer kind."""

from __future__ import annotations

import numpy as np
import pytest

from xpnet import backends
from xpnet.network import Architecture, gradient_check
from xpnet.ops import ACTIVATIONS
from xpnet.network.model import backward, forward, initialize_parameters

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"]


def data(rng, out, m=6, n_x=4):
    X = rng.standard_normal((n_x, m))
    if out == "sigmoid":
        return X, (rng.random((1, m)) > 0.5).astype(float)
    if out == "softmax":
        return X, np.eye(3)[:, rng.integers(0, 3, m)]
    return X, rng.standard_normal((2, m))


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("out", ["sigmoid", "softmax", "linear"])
def test_every_activation_and_loss(hidden, out, rng):
    X, Y = data(rng, out)
    arch = Architecture((4, 5, 3, Y.shape[0]), hidden, out, slope=0.05)
    assert gradient_check(X, Y, arch, seed=1, backend="numpy") < 1e-7


@pytest.mark.parametrize("kind", ["l2", "batch_norm", "dropout", "all"])
def test_regularized_networks(kind, rng):
    X, Y = data(rng, "softmax", m=8)
    arch = Architecture((4, 6, 5, 3), "tanh", "softmax", batch_norm=kind in ("batch_norm", "all"),
                        keep_prob=0.6 if kind in ("dropout", "all") else 1.0)
    l2 = 0.7 if kind in ("l2", "all") else 0.0
    assert gradient_check(X, Y, arch, l2=l2, seed=2, backend="numpy") < 1e-7


def test_same_on_every_backend(rng):
    X, Y = data(rng, "sigmoid", m=4, n_x=3)
    arch = Architecture((3, 3, 1), "relu", "sigmoid")
    for name in backends.available_backends():
        if name == "cupy":
            continue  # covered by the GPU suite
        assert gradient_check(X, Y, arch, seed=3, backend=name) < 1e-7


def test_detects_a_wrong_gradient(rng, monkeypatch):
    """A broken backward must fail the check (the check is not vacuous)."""
    X, Y = data(rng, "sigmoid")
    arch = Architecture((4, 5, 1), "tanh", "sigmoid")
    bk = backends.resolve("numpy")
    tanh = ACTIVATIONS["tanh"]
    orig = tanh.backward

    def broken(bk, dA, Z, A, slope):
        return orig(bk, dA, Z, A, slope) * 1.1

    monkeypatch.setattr(tanh, "backward", broken)
    assert gradient_check(X, Y, arch, seed=1, backend=bk) > 1e-3


def test_rejects_float32_params(rng):
    X, Y = data(rng, "sigmoid")
    arch = Architecture((4, 2, 1), "tanh", "sigmoid")
    params = initialize_parameters(arch, seed=0, dtype="float32", backend="numpy")
    with pytest.raises(ValueError, match="float64"):
        gradient_check(X, Y, arch, params=params)


def test_backward_shapes_follow_course_notation(rng):
    X, Y = data(rng, "softmax", m=7)
    arch = Architecture((4, 6, 3), "relu", "softmax")
    params = initialize_parameters(arch, seed=0, dtype="float64", backend="numpy")
    AL, caches = forward(X, params, arch)
    grads = backward(Y, caches, params, arch)
    assert AL.shape == (3, 7)
    for name, shape in [("dW1", (6, 4)), ("db1", (6, 1)), ("dW2", (3, 6)), ("db2", (3, 1))]:
        assert grads[name].shape == shape
    np.testing.assert_allclose(AL.sum(axis=0), 1.0)
