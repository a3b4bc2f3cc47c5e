"""The training loop shared by the estimators: epochs of shuffled mini-batches on one backend.

Data moves to the device once. Each epoch draws a permutation from the seeded host Generator;
each mini-batch's columns are gathered on the device into one small batch buffer reused for
the whole fit. The gather reads the data sample-major: ``X (n[0], m)`` stored column-contiguous
(Fortran order, as the estimators put it on the device), so one example is one contiguous run
of memory. Course-layout (C-order) data is copied that way once per fit. Compared with
shuffling a full copy of the data each epoch this halves the data's memory and, on an
MNIST-sized epoch here, cut the shuffle from 0.05-0.07 s to 0.02-0.03 s (the batch is also
contiguous and still in cache for its matmuls). The cost accumulates on the device and is read
once per epoch.
"""

from __future__ import annotations

import math
import time
import weakref

import numpy as np

from ..backends.step_feed import StepClock
from .model import backward, compute_cost, forward


class TrainingDiverged(ValueError):
    """The cost became NaN or infinite."""


def batch_bounds(m, batch_size):
    """``[(start, stop)]`` covering ``m`` examples; the last partial batch is kept."""
    bs = m if batch_size is None else min(int(batch_size), m)
    return [(i, min(i + bs, m)) for i in range(0, m, bs)]


def run_epoch(state, X, Y, lr, rng, shuffle=True):
    """One epoch over ``X (n[0], m)``, ``Y (n[L], m)``; returns the mean training cost.

    ``state`` carries ``bk, arch, params, grads, bn_state, optimizer, l2, batch_size`` and,
    optionally, ``weights (1, m)``, the examples' sample weights (mean 1), gathered with them,
    and ``record_gradients`` (then ``state.epoch_grad_norms`` holds, per layer, the mean over
    the epoch's mini-batches of ``||dW[l]||_F``, and ``state.epoch_activation_std`` each
    layer's ``std(A[l])`` on the last batch at the epoch's end);
    the epoch also keeps its sample-major copies and batch buffers there (``state.batch_data``).
    Full gathered batches run through ``bk.step_runner``: the same forward, cost and backward
    on fixed buffers, which the cupy backend records once as a CUDA graph and the numba backend
    as a list of kernel and BLAS calls, and replay. With ``state.dist`` (an MPI context) the
    epoch is data-parallel: ``xpnet.distributed.mpi.run_epoch`` (plain steps, no replay).
    """
    dist = getattr(state, "dist", None)
    if dist is not None:
        from ..distributed.mpi import run_epoch as run_distributed
        return run_distributed(dist, state, X, Y, lr, rng, shuffle)
    bk = state.bk
    m = X.shape[1]
    S = getattr(state, "weights", None)
    bounds = batch_bounds(m, state.batch_size)
    gather = shuffle and len(bounds) > 1
    if gather:
        idx = bk.asarray(rng.permutation(m))
        (Xs, X_buf), (Ys, Y_buf) = batch_data(state, X), batch_data(state, Y)
        Ss, S_buf = batch_data(state, S) if S is not None else (None, None)
        state.step_rng, state.lr = rng, lr
        runner = full_batch_runner(state, X_buf, Y_buf, S_buf)
    whole = gather and state.bk.records_updates   # the runner's step runs the update too
    total = epoch_total(state, X.dtype)
    norms = bk.zeros((state.arch.L,), "float64") if getattr(state, "record_gradients", False) \
        else None
    for start, stop in bounds:
        Sb = None
        if gather:
            cols = idx[start:stop]
            Xb = bk.take_columns(Xs, cols, out=X_buf[:, :stop - start])
            Yb = bk.take_columns(Ys, cols, out=Y_buf[:, :stop - start])
            if S is not None:
                Sb = bk.take_columns(Ss, cols, out=S_buf[:, :stop - start])
        else:
            Xb, Yb = X[:, start:stop], Y[:, start:stop]
            Sb = None if S is None else S[:, start:stop]
        full = gather and stop - start == X_buf.shape[1]
        if full:
            runner()
        else:
            train_step(state, Xb, Yb, rng, total, Sb)
        if getattr(state, "initial_cost", None) is None:    # once per fit: one host read
            state.initial_cost = bk.item(total) / (stop - start)
        if norms is not None:
            add_grad_norms(bk, state, norms)
        if not (full and whole):
            state.optimizer.step(state.params, state.grads, lr)
    if norms is not None:
        state.epoch_grad_norms = [float(v) / len(bounds) for v in bk.to_numpy(norms)]
        state.epoch_activation_std = activation_spread(state, Xb)
    return bk.item(total) / m


def activation_spread(state, Xb):
    """``std(A[l])`` for l = 1..L over the epoch's last batch ``Xb (n[0], r)`` at the end of
    the epoch (inference mode: no dropout, running batch-norm statistics): one forward pass
    of one batch per epoch, the course's view of activations saturating or dying."""
    bk = state.bk
    _, caches = forward(Xb, state.params, state.arch, backend=bk, bn_state=state.bn_state)
    spread = []
    for cache in caches:
        A = cache["A"]
        mean = float(bk.item(bk.mean(A)))
        square = float(bk.item(bk.mean(bk.multiply(A, A))))
        spread.append(math.sqrt(max(square - mean * mean, 0.0)))
    return spread


def add_grad_norms(bk, state, norms):
    """``norms[l - 1] += ||dW[l]||_F`` for each layer, on the device (``norms (L,)``)."""
    for l in range(1, state.arch.L + 1):
        dW = state.grads[f"dW{l}"]
        bk.add(norms[l - 1:l], bk.sqrt(bk.sum(bk.multiply(dW, dW))), out=norms[l - 1:l])


def train_step(state, Xb, Yb, rng, total, Sb=None):
    """Forward, cost and backward on one batch ``Xb (n[0], r)`` (``Sb (1, r)``: its sample
    weights); adds ``r * cost`` to the 0-d ``total`` in place and writes the gradients into
    ``state.grads`` (no host reads)."""
    bk, arch, params = state.bk, state.arch, state.params
    AL, caches = forward(Xb, params, arch, backend=bk, training=True, rng=rng,
                         bn_state=state.bn_state)
    cost = compute_cost(AL, Yb, caches, arch, params, l2=state.l2, backend=bk, weights=Sb)
    bk.add(total, bk.multiply(cost, float(Xb.shape[1])), out=total)
    backward(Yb, caches, params, arch, grads=state.grads, l2=state.l2, backend=bk, weights=Sb)


def epoch_total(state, dtype):
    """The fit's 0-d cost accumulator (one fixed buffer, so a recorded step can add to it),
    set to zero."""
    total = getattr(state, "epoch_cost", None)
    if total is None or total.dtype != dtype:
        total = state.epoch_cost = state.bk.zeros((), dtype)
    else:
        total[...] = 0
    return total


def full_batch_runner(state, X_buf, Y_buf, S_buf=None):
    """``bk.step_runner`` of the training step on the full batch buffers (``S_buf``: the
    batch's sample weights, when there are any), made once per fit.

    Steps with dropout draw new masks from ``state.step_rng`` each time: the runner is told
    (``draws``), so a backend that cannot redo the draws runs them as plain calls. Where the
    backend ``records_updates``, the step also runs the optimizer update at ``state.lr`` and
    the runner gets the loop's clock (``step_feed.StepClock``: that learning rate, the step
    count, and ``Optimizer.advance`` for a step the replay updated). The step holds the state
    weakly, so a finished fit's state (its data copies, batch buffers and recorded steps) is
    freed at once, not when the cyclic collector runs.
    """
    key = (id(X_buf), id(Y_buf), id(S_buf))
    cached = getattr(state, "step_runners", None)
    if cached is None:
        cached = state.step_runners = {}
    entry = cached.get(key)
    if entry is None or not all(a is b for a, b in zip(entry[:3], (X_buf, Y_buf, S_buf))):
        Xb, Yb = X_buf[:, :], Y_buf[:, :]
        Sb = None if S_buf is None else S_buf[:, :]
        total = epoch_total(state, X_buf.dtype)
        owner = _weak(state)  # the runner lives on the state: no cycle through its step

        whole = state.bk.records_updates

        def step():
            st = owner()
            train_step(st, Xb, Yb, st.step_rng, total, Sb)
            if whole:
                st.optimizer.step(st.params, st.grads, st.lr)

        draws = any(kp < 1.0 for kp in state.arch.keep_probs)
        if whole:
            clock = StepClock(lr=lambda: owner().lr, t=lambda: owner().optimizer.t,
                              advance=lambda: owner().optimizer.advance())
            runner = state.bk.step_runner(step, draws=draws, clock=clock)
        else:
            runner = state.bk.step_runner(step, draws=draws)
        entry = cached[key] = (X_buf, Y_buf, S_buf, runner)
    return entry[3]


def _weak(state):
    """A weak reference to ``state``, or a strong one for an object that takes none (a
    ``SimpleNamespace`` built by hand, as the benchmarks do)."""
    try:
        return weakref.ref(state)
    except TypeError:
        return lambda: state


def sample_major(bk, X):
    """``X (n, m)`` with each column contiguous: ``X`` itself when it already is, else a copy."""
    if bk.is_sample_major(X):
        return X
    return bk.transpose(bk.copy(bk.transpose(X)))


def batch_data(state, X):
    """``(X_sample_major, batch_buffer)`` for ``X (n, m)``, made once per fit and kept in
    ``state.batch_data`` (keyed by the array itself); the buffer is ``(n, batch_size)``,
    column-contiguous like the data it is gathered from."""
    cache = getattr(state, "batch_data", None)
    if cache is None:
        cache = state.batch_data = {}
    entry = cache.get(id(X))
    if entry is None or entry[0] is not X:
        bk = state.bk
        buf = bk.transpose(bk.empty((state.batch_size, X.shape[0]), X.dtype))
        entry = cache[id(X)] = (X, sample_major(bk, X), buf)
    return entry[1], entry[2]


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


#: A training cost this many times its value at the initial weights is divergence.
RISE_FACTOR = 100.0


def check_finite(cost, epoch, lr, initial=None, hints=None):
    """Raise ``TrainingDiverged`` when the epoch's ``cost`` is not finite or, with the cost
    ``initial`` at the initial weights (the first mini-batch's), above ``RISE_FACTOR`` times
    it (Adam or RMSprop at far too large a rate drift up without ever overflowing).
    ``hints()``: sentences naming other causes (large inputs or targets), said first."""
    finite = bool(np.isfinite(cost))
    if finite and (initial is None or not cost > RISE_FACTOR * max(initial, 1e-3)):
        return
    what = (f"the cost is {cost}" if not finite else
            f"the cost rose to {cost:.4g}, over {RISE_FACTOR:g} times its {initial:.4g} at the "
            "initial weights")
    causes = " ".join(hints()) if hints is not None else ""
    advice = (f"lower learning_rate (it was {lr:g}), normalize the inputs, or add L2 "
              "regularization.")
    raise TrainingDiverged(f"training diverged at epoch {epoch + 1}: {what}. " + (
        f"{causes} Otherwise {advice}" if causes else advice[0].upper() + advice[1:]))


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
