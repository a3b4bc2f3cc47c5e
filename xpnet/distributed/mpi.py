"""Data-parallel training over MPI (mpi4py), with results that do not depend on the ranks.

Every rank holds the whole training set and the same seed, so it draws the same permutation
each epoch and the same initial weights. Each global mini-batch of ``B`` columns is split into
contiguous shards (``numpy.array_split`` sizes: rank ``r`` takes ``m_r`` columns, uneven shards
allowed, 0 in a last batch smaller than the number of ranks). A rank runs forward and backward
on its shard without L2, scales its flat gradient by ``m_r / B`` and joins one in-place
``Allreduce`` (SUM) of the flat gradient buffer; the L2 gradient ``l2 / B * W`` is then added to
the summed gradient and every rank takes the same optimizer step. The result is the 1-rank
step at batch ``B`` up to rounding:

- dropout masks: the shared Generator is wrapped (:class:`ShardDraws`) so a rank's
  ``random(size=(n, m_r))`` draws the whole batch's ``(n, B)`` and keeps its own columns;
- batch norm: ``mu``, ``var`` and the backward sums are over the global batch
  (:class:`BatchSync`: two ``(n, 1)`` allreduces forward, one ``(2n, 1)`` backward per layer);
- a rank with no columns computes on a stand-in column, draws what the others draw, sends
  zeros to every sum and contributes a zero gradient;
- the cost: each rank sums ``m_r * cost_r``, reduced once per epoch (the L2 term, the same
  on every rank, is added once per batch).

Only this module imports mpi4py (``xpnet.distributed.context`` imports it on demand).
"""

from __future__ import annotations

import sys
import traceback
import zlib

import numpy as np

from . import INSTALL, MPIUnavailable, RankMismatch

_WORLD = []


def _import_mpi(why=None):
    """``mpi4py.MPI``, or MPIUnavailable saying how to install it."""
    reason = f"{why}, but " if why else "distributed='mpi' needs mpi4py and an MPI library: "
    try:
        from mpi4py import MPI
    except ImportError as exc:
        if getattr(exc, "name", None) == "mpi4py":
            raise MPIUnavailable(f"{reason}mpi4py is not installed; {INSTALL} (mpi4py with "
                                 "MPICH), or on a cluster pip install mpi4py against its MPI; "
                                 "or run without MPI: distributed=None, xpnet train "
                                 "--distributed none") from None
        raise MPIUnavailable(f"{reason}mpi4py finds no MPI library ({exc}); {INSTALL} installs "
                             "MPICH with it, or load the cluster's MPI module") from None
    except RuntimeError as exc:
        raise MPIUnavailable(f"{reason}MPI failed to start ({exc}); {INSTALL}") from None
    return MPI


def world(why=None):
    """The :class:`Context` of ``MPI.COMM_WORLD`` (made once per process), or None when it has
    one rank (the serial code then runs, exactly)."""
    if not _WORLD:
        MPI = _import_mpi(why)
        _WORLD.append(Context(MPI.COMM_WORLD, MPI))
    ctx = _WORLD[0]
    return ctx if ctx.size > 1 else None


class Context:
    """One communicator's ranks training one model: sharding, sums, agreement, failure."""

    def __init__(self, comm, MPI):
        self.comm, self.MPI = comm, MPI
        self.rank, self.size = comm.Get_rank(), comm.Get_size()

    @property
    def is_root(self):
        return self.rank == 0

    # ------------------------------------------------------------------ sharding
    def shard(self, B):
        """``(c0, c1)``: this rank's columns of a batch of ``B`` (``numpy.array_split``)."""
        q, r = divmod(int(B), self.size)
        c0 = self.rank * q + min(self.rank, r)
        return c0, c0 + q + (1 if self.rank < r else 0)

    # ---------------------------------------------------------------------- sums
    def allreduce_flat(self, bk, flat):
        """``flat`` (a contiguous device array) summed over the ranks, in place: one
        ``Allreduce(IN_PLACE, SUM)``; a non-NumPy (GPU) array goes through the host."""
        if isinstance(flat, np.ndarray) and flat.flags.c_contiguous:
            self.comm.Allreduce(self.MPI.IN_PLACE, flat, op=self.MPI.SUM)
            return flat
        host = np.ascontiguousarray(bk.to_numpy(flat))
        self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM)
        flat[...] = bk.asarray(host, dtype=host.dtype)
        return flat

    def allreduce_sum(self, bk, *arrays):
        """The sums over the ranks of small arrays, in one Allreduce (new arrays; one array
        for one given, else a list)."""
        host = [np.asarray(bk.to_numpy(a)) for a in arrays]
        buf = np.concatenate([h.reshape(-1) for h in host]) if len(host) > 1 else \
            np.array(host[0], copy=True).reshape(-1)
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        out, start = [], 0
        for h in host:
            part = buf[start:start + h.size].reshape(h.shape)
            out.append(bk.asarray(part, dtype=h.dtype))
            start += h.size
        return out[0] if len(out) == 1 else out

    def total(self, value):
        """A float summed over the ranks (float64)."""
        buf = np.array([float(value)])
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return float(buf[0])

    def any(self, flag):
        """True on every rank when ``flag`` is true on any (a stop asked by one rank's
        callback stops all of them together)."""
        buf = np.array([1 if flag else 0], dtype=np.int64)
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.MAX)
        return bool(buf[0])

    def agreed_seed(self, seed):
        """``seed``, or for None a fresh one drawn on rank 0 and sent to all."""
        if seed is not None:
            return seed
        fresh = int(np.random.SeedSequence().entropy % (2 ** 63)) if self.is_root else None
        return self.comm.bcast(fresh, root=0)

    # ---------------------------------------------------------------- agreement
    def fit_guard(self):
        """The context a data-parallel fit runs in: see :class:`FitGuard`."""
        return FitGuard(self)

    def check_same(self, items, what="fit"):
        """Every rank's ``items`` (``{name: value}``; a float compared to 1e-12 relative) equal
        rank 0's, else RankMismatch on every rank naming what differs and where. A rank that
        failed before it got here sends its error instead (:class:`FitGuard`): the others
        raise RankMismatch naming it, and it raises its own."""
        every = self.comm.allgather(items)
        self.checked = True
        failed = [(r, e[_ERROR]) for r, e in enumerate(every) if _ERROR in e]
        if _ERROR in items:
            return failed
        if failed:
            r, message = failed[0]
            raise RankMismatch(
                f"MPI rank {r} of {self.size} failed before training: {message}"
                + (f" (also ranks {[f for f, _ in failed[1:]]})" if len(failed) > 1 else ""))
        differ = []
        for name, mine in every[0].items():
            ranks = [r for r, other in enumerate(every) if not _same(other.get(name), mine)]
            if ranks:
                differ.append(f"{name} (rank 0: {_show(mine)}; rank {ranks[0]}: "
                              f"{_show(every[ranks[0]].get(name))}"
                              + (f"; also ranks {ranks[1:]}" if len(ranks) > 1 else "") + ")")
        if differ:
            raise RankMismatch(
                f"the {self.size} MPI ranks of this {what} disagree: " + "; ".join(differ[:4])
                + ". Every rank must run the same xpnet with the same data, settings and "
                "seed (each reads the whole data set); check the file paths and the seed")
        return []

    # ------------------------------------------------------------------ failure
    def fail(self, exc, prefix, debug=False):
        """End a command after ``exc`` on this rank. A collective error (every rank raised
        it) is said once, by rank 0, and every rank returns 2; any other error is said with
        this rank's number and ends the whole job now (``MPI_Abort``), so no rank hangs."""
        if getattr(exc, "collective", False):
            if self.is_root:
                print(f"{prefix}: error: {_one_line(exc)}", file=sys.stderr, flush=True)
            self.comm.Barrier()   # rank 0 has said it before any rank ends the job
            return 2
        if debug:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        print(f"{prefix}: {_kind(exc)} on MPI rank {self.rank} of {self.size}: "
              f"{_one_line(exc) or type(exc).__name__}; ending all ranks", file=sys.stderr,
              flush=True)
        self.abort(_exit_code(exc))

    def abort(self, code=1):
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(int(code))


_ERROR = "__error__"


class FitGuard:
    """Around a data-parallel fit: one rank's error must not leave the others waiting.

    Before the ranks' check of their inputs (``Context.check_same``), a rank that raises still
    joins that check with its error, so every rank raises at once (the others RankMismatch
    naming the rank and its message, itself its own error): a script can catch it. After it,
    an error that every rank raises together (RankMismatch, a divergence: the cost is the same
    on all) propagates; any other (a callback's, memory, Ctrl-C on one rank) is printed with
    the rank's number and ends the whole job (``MPI_Abort``), since the others are inside a
    collective call that can no longer complete."""

    def __init__(self, ctx):
        self.ctx = ctx

    def __enter__(self):
        self.ctx.checked = False
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or not isinstance(exc, (Exception, KeyboardInterrupt)):
            return False
        if not self.ctx.checked:
            failed = self.ctx.check_same({_ERROR: f"{type(exc).__name__}: {_one_line(exc)}"})
            if len(failed) == self.ctx.size and len({m for _, m in failed}) == 1:
                try:  # the same error on every rank: said once (Context.fail)
                    exc.collective = True
                except AttributeError:
                    pass
            return False
        from ..network.training import TrainingDiverged
        if getattr(exc, "collective", False) or isinstance(exc, TrainingDiverged):
            return False
        traceback.print_exception(kind, exc, tb, file=sys.stderr)
        print(f"xpnet: {_kind(exc)} on MPI rank {self.ctx.rank} of {self.ctx.size} during a "
              f"data-parallel fit: {_one_line(exc) or kind.__name__}; ending all ranks",
              file=sys.stderr, flush=True)
        self.ctx.abort(_exit_code(exc))


def _one_line(exc):
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _kind(exc):
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return "error" if _exit_code(exc) == 2 else f"internal error: {type(exc).__name__}"


def _exit_code(exc):
    from ..cli import CLIError, interrupt_exit_code
    if isinstance(exc, KeyboardInterrupt):
        return interrupt_exit_code(exc)
    return 2 if isinstance(exc, (CLIError, ValueError, TypeError, OSError)) else 1


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return a == b


def _show(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------------ what ranks compare
def fingerprint(name, a):
    """``{name.shape, name.dtype, name.crc, name.sum}`` of an array: its shape and dtype, a
    CRC-32 of up to 64 evenly spaced rows (catches a reordering) and its float64 sum (catches
    a change anywhere); labels (any dtype) are hashed whole."""
    if a is None:
        return {name: None}
    a = np.asarray(a)
    out = {f"{name}.shape": tuple(a.shape), f"{name}.dtype": str(a.dtype)}
    if a.ndim and a.shape[0]:
        rows = a[np.unique(np.linspace(0, a.shape[0] - 1, min(a.shape[0], 64)).astype(int))]
        out[f"{name}.crc"] = _crc(rows)
    if a.dtype.kind in "biuf" and a.size:
        out[f"{name}.sum"] = float(np.sum(a, dtype=np.float64))
    return out


def _crc(a):
    if a.dtype.kind in "biufc":
        return zlib.crc32(np.ascontiguousarray(a).tobytes())
    return zlib.crc32("\x1f".join(map(repr, a.reshape(-1).tolist())).encode("utf-8"))


def labels_fingerprint(name, y):
    """``{name.crc}`` of every label (labels are small; a single changed one is caught)."""
    if y is None:
        return {name: None}
    y = np.asarray(y)
    return {f"{name}.shape": tuple(y.shape), f"{name}.crc": _crc(y)}


# ---------------------------------------------------------------- the step's helpers
class ShardDraws:
    """A Generator stand-in for one rank's dropout masks: ``random(size=(n, m_r))`` draws the
    global batch's ``(n, B)`` from the shared Generator (the draws the 1-rank fit makes, in
    the same order) and returns this rank's columns ``[c0:c1]``."""

    def __init__(self, rng, B, c0, c1):
        self.rng, self.B, self.c0, self.c1 = rng, B, c0, c1

    def random(self, size=None, dtype=np.float64, out=None):
        n, cols = size
        if cols != self.c1 - self.c0:
            raise ValueError(f"ShardDraws: asked for {cols} columns, the shard has "
                             f"{self.c1 - self.c0}")
        full = self.rng.random(size=(n, self.B), dtype=dtype)
        part = full[:, self.c0:self.c1]
        if out is None:
            return part
        out[...] = part
        return out

    def integers(self, *args, **kwargs):
        """Device-side draws (cupy) take one seed: the same on every rank (not the 1-rank
        masks; see docs/distributed.md)."""
        return self.rng.integers(*args, **kwargs)


class BatchSync:
    """Batch-norm statistics over the global batch: ``allreduce_sum(bk, *arrays)`` sums each
    rank's partial sums (zeros from a rank computing on a stand-in column) and ``total`` is the
    global batch size ``B``."""

    def __init__(self, ctx, B, empty=False):
        self.ctx, self.total, self.empty = ctx, B, empty

    def allreduce_sum(self, bk, *arrays):
        if self.empty:
            arrays = [bk.multiply(a, 0.0) for a in arrays]
        return self.ctx.allreduce_sum(bk, *arrays)


# --------------------------------------------------------------------------- epoch
def run_epoch(ctx, state, X, Y, lr, rng, shuffle=True):
    """``xpnet.network.training.run_epoch`` over the ranks of ``ctx``: the same epoch as one
    rank at the same global batch (see the module docstring); returns the mean training cost,
    the same on every rank."""
    from ..network.training import batch_bounds, batch_data, epoch_total
    bk = state.bk
    m = X.shape[1]
    S = getattr(state, "weights", None)
    bounds = batch_bounds(m, state.batch_size)
    gather = shuffle and len(bounds) > 1
    data = (X, Y, S)
    if gather:
        idx = bk.asarray(rng.permutation(m))
        data = [None if A is None else batch_data(state, A) for A in (X, Y, S)]
    local = epoch_total(state, X.dtype)
    penalty = bk.zeros((), X.dtype)
    norms = bk.zeros((state.arch.L,), "float64") if getattr(state, "record_gradients", False) \
        else None
    for start, stop in bounds:
        B = stop - start
        c0, c1 = ctx.shard(B)
        empty = c0 == c1
        if empty:  # a stand-in column: computed, then weighted 0 everywhere
            c0, c1 = 0, 1
        cols = idx[start + c0:start + c1] if gather else None
        Xb, Yb, Sb = (_columns(bk, d, cols, start + c0, start + c1) for d in data)
        _step(ctx, state, Xb, Yb, Sb, ShardDraws(rng, B, c0, c1), local, penalty, B, empty)
        if getattr(state, "initial_cost", None) is None:    # once per fit
            state.initial_cost = (ctx.total(bk.item(local)) + bk.item(penalty)) / B
        if norms is not None:
            from ..network.training import add_grad_norms
            add_grad_norms(bk, state, norms)
        state.optimizer.step(state.params, state.grads, lr)
    if norms is not None:
        state.epoch_grad_norms = [float(v) / len(bounds) for v in bk.to_numpy(norms)]
        state.epoch_activation_std = activation_spread(ctx, state, Xb, empty)
    return (ctx.total(bk.item(local)) + bk.item(penalty)) / m


def _columns(bk, data, cols, a, b):
    """The shard's columns ``[a:b]`` of the epoch (``cols``: their gathered indices)."""
    if data is None:
        return None
    if cols is None:
        return data[:, a:b]
    source, buf = data
    return bk.take_columns(source, cols, out=buf[:, :b - a])


def _step(ctx, state, Xb, Yb, Sb, draws, local, penalty, B, empty):
    """One rank's part of a step on the global batch of ``B``: forward and backward on the
    shard (BN synchronized, no L2), ``m_r / B`` times the gradient, one Allreduce of the flat
    gradient, then L2's ``l2 / B * W``. Adds ``m_r * cost`` to ``local`` and ``B`` times the
    L2 term to ``penalty``."""
    from ..network.model import add_l2_gradient, backward, compute_cost, forward, l2_penalty
    bk, arch, params, grads = state.bk, state.arch, state.params, state.grads
    sync = BatchSync(ctx, B, empty) if arch.batch_norm else None
    AL, caches = forward(Xb, params, arch, backend=bk, training=True, rng=draws,
                         bn_state=state.bn_state, bn_sync=sync)
    mr = 0 if empty else Xb.shape[1]
    if mr:
        cost = compute_cost(AL, Yb, caches, arch, params, backend=bk, weights=Sb)
        bk.add(local, bk.multiply(cost, float(mr)), out=local)
    backward(Yb, caches, params, arch, grads=grads, backend=bk, weights=Sb, bn_sync=sync)
    if mr:
        bk.multiply(grads.flat, mr / B, out=grads.flat)
    else:
        grads.flat[...] = 0
    ctx.allreduce_flat(bk, grads.flat)
    if state.l2:
        Ws = [params[f"W{l}"] for l in range(1, arch.L + 1)]
        bk.add(penalty, bk.multiply(l2_penalty(bk, Ws, state.l2, B), float(B)), out=penalty)
        for l in range(1, arch.L + 1):
            add_l2_gradient(bk, grads[f"dW{l}"], params[f"W{l}"], state.l2, B)


def activation_spread(ctx, state, Xb, empty):
    """``std(A[l])`` over the epoch's last global batch (inference mode), from each rank's
    sums of ``A`` and ``A^2`` and its count, one Allreduce."""
    from ..network.model import forward
    bk = state.bk
    _, caches = forward(Xb, state.params, state.arch, backend=bk, bn_state=state.bn_state)
    sums = []
    for cache in caches:
        A = cache["A"]
        sums += [float(bk.item(bk.sum(A))), float(bk.item(bk.sum(bk.multiply(A, A)))),
                 float(A.size)]
    sums = np.asarray(sums) * (0.0 if empty else 1.0)
    ctx.comm.Allreduce(ctx.MPI.IN_PLACE, sums, op=ctx.MPI.SUM)
    spread = []
    for s, sq, n in sums.reshape(-1, 3):
        mean = s / n
        spread.append(float(np.sqrt(max(sq / n - mean * mean, 0.0))))
    return spread
