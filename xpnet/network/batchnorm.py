"""Batch normalization of ``Z[l]`` before the activation (the course's placement).

``mu = mean(Z, axis=1)``, ``var = mean((Z - mu)^2, axis=1)``,
``Z_norm = (Z - mu) / sqrt(var + eps)``, ``Z_tilde = gamma * Z_norm + beta``;
``gamma, beta (n[l], 1)`` are learned and replace ``b[l]``. At inference the running averages
``running_mean, running_var`` (exponentially weighted, ``momentum``) stand in for ``mu, var``.

Written with generic backend ops, so every backend (loops included) runs it.
"""

from __future__ import annotations


def forward_train(bk, Z, gamma, beta, eps, sync=None):
    """Normalize with the batch statistics. Returns ``(Z_tilde, cache, mu, var)``.

    ``sync`` (data-parallel training, ``xpnet.distributed.mpi.BatchSync``): ``Z`` is this
    rank's part of a global batch of ``sync.total`` columns; ``mu`` and ``var`` are the global
    batch's, from ``sync.allreduce_sum(bk, partial_sums)`` of ``Z`` and then of
    ``(Z - mu)^2`` (two passes, as accurate as one rank's)."""
    if sync is None:
        mu = bk.mean(Z, axis=1, keepdims=True)
        centered = bk.subtract(Z, mu)
        var = bk.mean(bk.square(centered), axis=1, keepdims=True)
    else:
        mu = _global_mean(bk, Z, sync)
        centered = bk.subtract(Z, mu)
        var = _global_mean(bk, bk.square(centered), sync)
    inv_std = bk.divide(1.0, bk.sqrt(bk.add(var, eps)))
    Z_norm = bk.multiply(centered, inv_std)
    Z_tilde = bk.add(bk.multiply(gamma, Z_norm), beta)
    return Z_tilde, (Z_norm, inv_std, gamma), mu, var


def forward_infer(bk, Z, gamma, beta, running_mean, running_var, eps):
    """Normalize with the running statistics (one sample gives the same as inside a batch)."""
    inv_std = bk.divide(1.0, bk.sqrt(bk.add(running_var, eps)))
    scale = bk.multiply(gamma, inv_std)
    shift = bk.subtract(beta, bk.multiply(running_mean, scale))
    return bk.add(bk.multiply(Z, scale), shift)


def backward(bk, dZ_tilde, cache, dgamma_out, dbeta_out, sync=None):
    """Gradients through batch norm in course scaling (``dZ`` is ``m dJ/dZ``).

    Writes ``dgamma = sum(dZ_tilde * Z_norm, axis=1) / m`` and ``dbeta = sum(dZ_tilde, axis=1)
    / m`` into the given views and returns ``dZ (n[l], m)``. With ``sync`` (see
    ``forward_train``) both sums and ``m`` are the global batch's (one allreduce): ``dgamma``
    and ``dbeta`` are then the global batch's gradients on every rank.
    """
    Z_norm, inv_std, gamma = cache
    m = dZ_tilde.shape[1] if sync is None else sync.total
    sum_d = bk.sum(dZ_tilde, axis=1, keepdims=True)
    sum_dn = bk.sum(bk.multiply(dZ_tilde, Z_norm), axis=1, keepdims=True)
    if sync is not None:
        sum_d, sum_dn = sync.allreduce_sum(bk, sum_d, sum_dn)
    bk.multiply(sum_dn, 1.0 / m, out=dgamma_out)
    bk.multiply(sum_d, 1.0 / m, out=dbeta_out)
    # dZ = gamma * inv_std * (dZt - mean(dZt) - Z_norm * mean(dZt * Z_norm))
    mean_d = bk.multiply(sum_d, 1.0 / m)
    mean_dn = bk.multiply(sum_dn, 1.0 / m)
    inner = bk.subtract(bk.subtract(dZ_tilde, mean_d), bk.multiply(Z_norm, mean_dn))
    return bk.multiply(inner, bk.multiply(gamma, inv_std))


def _global_mean(bk, A, sync):
    """``mean(A, axis=1)`` over the global batch: the ranks' row sums, summed, over ``B``."""
    return bk.divide(sync.allreduce_sum(bk, bk.sum(A, axis=1, keepdims=True)), float(sync.total))


def update_running(bk, running_mean, running_var, mu, var, momentum):
    """``running = momentum * running + (1 - momentum) * batch`` in place."""
    bk.add(bk.multiply(running_mean, momentum), bk.multiply(mu, 1 - momentum), out=running_mean)
    bk.add(bk.multiply(running_var, momentum), bk.multiply(var, 1 - momentum), out=running_var)
