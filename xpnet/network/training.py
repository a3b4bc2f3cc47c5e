"""The training loop shared by the estimators: epochs of shuffled mini-batches on one backend.

Data moves to the device once; each epoch draws a permutation from the seeded host Generator,
gathers the columns on the device and walks batches as slices. The cost accumulates on the
device and is read once per epoch.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .model import backward, compute_cost, forward


class TrainingDiverged(ValueError):
    """The cost became NaN or infinite."""


def batch_bounds(m, batch_size):
    """``[(start, stop)]`` covering ``m`` examples; the last partial batch is kept."""
    bs = m if batch_size is None else min(int(batch_size), m)
    return [(i, min(i + bs, m)) for i in range(0, m, bs)]


def run_epoch(state, X, Y, lr, rng, shuffle=True):
    """One epoch over ``X (n[0], m)``, ``Y (n[L], m)``; returns the mean training cost."""
    bk, arch, params, grads = state.bk, state.arch, state.params, state.grads
    m = X.shape[1]
    if shuffle and state.batch_size is not None and state.batch_size < m:
        idx = bk.asarray(rng.permutation(m))
        X = bk.take_columns(X, idx)
        Y = bk.take_columns(Y, idx)
    total = None
    for start, stop in batch_bounds(m, state.batch_size):
        Xb, Yb = X[:, start:stop], Y[:, start:stop]
        AL, caches = forward(Xb, params, arch, backend=bk, training=True, rng=rng,
                             bn_state=state.bn_state)
        cost = compute_cost(AL, Yb, caches, arch, params, l2=state.l2, backend=bk)
        weighted = bk.multiply(cost, float(stop - start))
        total = weighted if total is None else bk.add(total, weighted)
        backward(Yb, caches, params, arch, grads=grads, l2=state.l2, backend=bk)
        state.optimizer.step(params, grads, lr)
    return bk.item(total) / m


class EarlyStopper:
    """Tracks the dev cost; keeps a copy of the best parameters; says when to stop."""

    def __init__(self, patience, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = math.inf
        self.best_epoch = None
        self.best_params = None
        self.best_bn = None
        self.wait = 0

    def update(self, epoch, dev_cost, state):
        """Record ``dev_cost`` of ``epoch``; returns True when training should stop."""
        if dev_cost < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = dev_cost, epoch, 0
            self.best_params = state.bk.copy(state.params.flat)
            self.best_bn = state.bk.copy(state.bn_state.flat) if state.bn_state.size else None
            return False
        self.wait += 1
        return self.wait >= self.patience

    def restore(self, state):
        """Copy the best parameters (and batch-norm statistics) back."""
        if self.best_params is not None:
            state.params.flat[...] = self.best_params
            if self.best_bn is not None:
                state.bn_state.flat[...] = self.best_bn


def check_finite(cost, epoch, lr):
    if not np.isfinite(cost):
        raise TrainingDiverged(
            f"training diverged at epoch {epoch + 1}: the cost is {cost}. Lower learning_rate "
            f"(it was {lr:g}), normalize the inputs, or add L2 regularization.")


class Timer:
    """Wall-clock seconds of each epoch (synchronizing the device first)."""

    def __init__(self, bk):
        self.bk = bk
        self.t0 = time.perf_counter()

    def reset(self):
        self.t0 = time.perf_counter()

    def lap(self):
        self.bk.synchronize()
        now = time.perf_counter()
        elapsed, self.t0 = now - self.t0, now
        return elapsed
