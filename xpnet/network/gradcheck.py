"""Gradient checking, as the course does it: two-sided differences over theta.

All parameters ``W[1], b[1], ..., W[L], b[L]`` are already one flat vector ``theta`` (the
parameter buffer), so ``dtheta_approx[i] = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)``
and the check returns ``||dtheta_approx - dtheta|| / (||dtheta_approx|| + ||dtheta||)``.
Run in float64; below ``1e-7`` is great, above ``1e-3`` is a bug.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as V
from ..backends import resolve
from .model import backward, compute_cost, forward, initialize_parameters


def gradient_check(X, Y, arch, params=None, epsilon=1e-7, l2=0.0, seed=0, backend=None,
                   return_vectors=False, weights=None):
    """Relative difference between backprop and numerical gradients of ``arch`` on ``(X, Y)``.

    ``X (n[0], m)``, ``Y (n[L], m)`` (host or device arrays); ``weights (1, m)``: sample
    weights of the columns (the weighted cost and its gradient are checked). Dropout
    (``arch.keep_prob < 1``) runs with one frozen mask set; batch norm uses batch statistics.
    Everything is float64.
    """
    bk = resolve(backend)
    X = bk.asarray(X, dtype="float64")
    Y = bk.asarray(Y, dtype="float64")
    weights = None if weights is None else bk.asarray(weights, dtype="float64")
    if params is None:
        params = initialize_parameters(arch, init="xavier", seed=seed, dtype="float64",
                                       backend=bk)
    elif np.dtype(params.dtype) != np.float64:
        raise ValueError("gradient checking needs float64 parameters; initialize with "
                         "dtype='float64'")
    masks = {}
    rng = np.random.default_rng(seed)

    def cost_at():
        AL, caches = forward(X, params, arch, backend=bk, training=True, rng=rng, masks=masks)
        cost = compute_cost(AL, Y, caches, arch, params, l2=l2, backend=bk, weights=weights)
        return float(bk.item(cost)), caches

    _, caches = cost_at()
    grad = bk.to_numpy(backward(Y, caches, params, arch, l2=l2, backend=bk,
                                weights=weights).flat).copy()
    approx = numerical_gradient(lambda: cost_at()[0], params.flat, epsilon, backend=bk)
    diff = relative_difference(approx, grad)
    return (diff, approx, grad) if return_vectors else diff


def numerical_gradient(J, theta, epsilon=1e-7, backend=None):
    """Two-sided differences ``(J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)`` for each
    entry of the 1-D array ``theta``, which is nudged in place (and restored) while ``J()``,
    taking no argument, reads it. Returns a float64 NumPy vector."""
    bk = resolve(backend)
    epsilon = V.check_positive("epsilon", epsilon)
    approx = np.empty(theta.shape[0])
    for i in range(theta.shape[0]):
        original = float(bk.to_numpy(theta[i:i + 1])[0])
        theta[i] = original + epsilon
        plus = J()
        theta[i] = original - epsilon
        minus = J()
        theta[i] = original
        approx[i] = (plus - minus) / (2 * epsilon)
    return approx


def relative_difference(approx, grad):
    """``||approx - grad|| / (||approx|| + ||grad||)``; 0 when both are zero."""
    approx, grad = np.asarray(approx, dtype=np.float64), np.asarray(grad, dtype=np.float64)
    numerator = np.linalg.norm(grad - approx)
    denominator = np.linalg.norm(grad) + np.linalg.norm(approx)
    return float(numerator / denominator) if denominator else 0.0
