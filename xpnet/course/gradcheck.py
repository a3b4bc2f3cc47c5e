"""Gradient checking as the course's assignment does it: a 1-D check of any ``J(theta)`` and
the N-dimensional check of the deep network's parameters, through the same two-sided
differences and relative difference as ``xpnet.gradient_check``.

``difference = ||grad - gradapprox|| / (||grad|| + ||gradapprox||)``; below ``1e-7`` is great,
above ``1e-3`` a bug (the notebook flags ``> 2e-7``).
"""

from __future__ import annotations

import numpy as np

from ..backends import resolve
from ..network.gradcheck import numerical_gradient, relative_difference
from . import _checks as C
from .deep import HIDDEN, OUTPUT, L_model_forward, compute_cost

__all__ = ["gradient_check", "gradient_check_n", "dictionary_to_vector", "vector_to_dictionary"]


def gradient_check(J, theta, grad, epsilon=1e-7, return_approx=False):
    """The difference between ``grad`` and the two-sided differences of ``J`` at ``theta``.

    ``J``: a function of ``theta`` (a number or a 1-D array) returning a number; ``grad``:
    the gradient to check, an array like ``theta`` or a function of ``theta`` returning one.
    The notebook's example: ``J = lambda t: t * x`` with ``x = 2`` at ``theta = 4``, ``grad =
    lambda t: x`` gives about ``2.9e-10``. ``return_approx``: also return ``gradapprox``."""
    if not callable(J):
        raise TypeError(f"J must be a function of theta returning a number, got "
                        f"{type(J).__name__}")
    scalar = np.ndim(theta) == 0
    vec = _finite_vector(theta, "theta")
    value = (lambda: J(float(vec[0]))) if scalar else (lambda: J(vec.copy()))
    approx = numerical_gradient(lambda: float(value()), vec, epsilon, backend="numpy")
    exact = grad(float(vec[0]) if scalar else vec.copy()) if callable(grad) else grad
    exact = _finite_vector(exact, "grad")
    if exact.shape != approx.shape:
        raise ValueError(f"grad has {exact.size} entries but theta has {approx.size}")
    diff = relative_difference(approx, exact)
    return (diff, approx if not scalar else float(approx[0])) if return_approx else diff


def _finite_vector(x, name):
    """``x`` (a number or an array of numbers) as a 1-D float64 vector of finite values."""
    try:
        vec = np.array(x, dtype=np.float64).reshape(-1)
    except OverflowError:
        raise ValueError(f"{name} holds a number too large for a float") from None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got "
                        f"{type(x).__name__}") from None
    if x is None or not np.all(np.isfinite(vec)):
        raise ValueError(f"{name} must hold finite numbers, got {str(x)[:60]}")
    return vec


def dictionary_to_vector(parameters):
    """``(theta (n, 1), keys)``: every parameter flattened in the order ``W1, b1, W2, ...``,
    and for each entry the name it came from."""
    L = C.n_layers(parameters)
    parts, keys = [], []
    for name in (n for l in range(1, L + 1) for n in (f"W{l}", f"b{l}")):
        a = np.asarray(_host(parameters[name]), dtype=np.float64).reshape(-1, 1)
        parts.append(a)
        keys += [name] * a.shape[0]
    return np.concatenate(parts, axis=0), keys


def vector_to_dictionary(theta, shapes):
    """The inverse of ``dictionary_to_vector``: ``shapes`` maps each name, in order, to its
    shape (e.g. ``{k: v.shape for k, v in parameters.items()}``)."""
    C.mapping("shapes", shapes, "{name: shape} (e.g. {'W1': (4, 3), 'b1': (4, 1)})")
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    total = sum(int(np.prod(s)) for s in shapes.values())
    if theta.size != total:
        raise ValueError(f"theta has {theta.size} entries but the shapes hold {total}")
    out, at = {}, 0
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        out[name] = theta[at:at + n].reshape(shape).copy()
        at += n
    return out


def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, hidden_activation=HIDDEN,
                     output_activation=OUTPUT, print_msg=False):
    """The N-dimensional check of the course: ``gradients`` (``dW1``, ``db1``, ...) against the
    two-sided differences of ``compute_cost(L_model_forward(X, theta), Y)`` over every entry of
    ``theta = dictionary_to_vector(parameters)``. Returns the difference (float64 on NumPy)."""
    theta, _ = dictionary_to_vector(parameters)
    shapes = {n: np.shape(_host(parameters[n])) for n in _names(parameters)}
    C.gradients_for(gradients, shapes, what="gradients")
    grad = np.concatenate([np.asarray(_host(gradients[f"d{n}"]), dtype=np.float64).reshape(-1)
                           for n in shapes])
    X = np.asarray(_host(X), dtype=np.float64)

    def J(vec):
        AL, _ = L_model_forward(X, vector_to_dictionary(vec, shapes), hidden_activation,
                                output_activation, backend="numpy")
        return compute_cost(AL, Y, backend="numpy")

    diff = gradient_check(J, theta.reshape(-1), grad, epsilon)
    if print_msg:
        verdict = "There is a mistake in the backward propagation!" if diff > 2e-7 else \
            "Your backward propagation works perfectly fine!"
        print(f"{verdict} difference = {diff}")
    return diff


def _host(x):
    """``x`` as a host array: device arrays through their backend, the rest as they are."""
    if hasattr(x, "shape") and not isinstance(x, np.ndarray):
        return resolve("cupy").to_numpy(x) if type(x).__module__.startswith("cupy") else x
    return x


def _names(parameters):
    return [n for l in range(1, C.n_layers(parameters) + 1) for n in (f"W{l}", f"b{l}")]
