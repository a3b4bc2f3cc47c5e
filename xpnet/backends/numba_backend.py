"""The ``numba`` backend: NumPy arrays, fused Numba kernels, BLAS matmuls.

It subclasses the ``numpy`` backend and registers what ``xpnet.kernels.cpu`` fuses in its
``fused`` table, keyed by the registered ops: bias + activation forward, activation backward,
the losses and the optimizer updates over the flat parameter buffer; it overrides the ``dW``/``db``
scaling of ``linear_backward`` and the column gather of each epoch's shuffle. Anything the
kernels do not take (mixed dtypes, non-contiguous or integer arrays, empty arrays) declines
(``NotImplemented``) and the op's formula runs on NumPy, so results never depend on layout.

Threads: by default every kernel runs serially on the calling thread and only the BLAS matmuls
use threads (OpenBLAS's). With ``XPNET_NUMBA_PARALLEL_MIN=<elements>`` (or the
``parallel_min`` attribute) kernels on at least that many elements split across Numba's threads
(``NUMBA_NUM_THREADS``, ``numba.set_num_threads``): twice as fast away from matmuls, but right
after a matmul OpenBLAS's still-spinning workers hold the other cores and the parallel kernels
lose a little, so serial is the default. Numba's thread pool is started with OpenMP's passive
wait policy unless the user chose one: spinning OpenMP workers made training with parallel
kernels up to 2.8x slower here. The OpenMP runtime is one per process, shared with other
libraries that use it (PyTorch's CPU wheels do). Measured in docs/numba.md.

Importing this module imports numba; ``xpnet.backends`` imports it only when the backend is
first asked for.
"""

from __future__ import annotations

import functools
import os
import threading

import numba
import numpy as np

from ..kernels import cpu as K
from ..ops import ACTIVATIONS, LOSSES, OPTIMIZERS, check_kernel_table
from ..ops.activations import Softmax
from .array_backend import gathers_rows
from .base import env_flag, np_dtype
from .cpu_replay import ReplayStep
from .numpy_backend import NumpyBackend

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: ``dW = (dZ / m) A_prev^T`` of at most this many multiply-adds gets ``dZ / m`` column-major:
#: OpenBLAS (0.3.31) multiplies two transposed operands faster than ``C @ C.T`` at these sizes
#: (10 x 128 x 128: 6.0 against 13.5 us; 64 x 64 x 128: 7.6 against 21.8 us), and slower above.
_SMALL_DW = 1 << 19
#: Scratch arrays ``linear_backward`` keeps per thread (one per layer and batch shape).
_MAX_SCRATCH = 32


def _linear_backward_op(dZ, A_prev, W, dW_out, db_out, scaled, dA_prev):
    """``linear_backward``'s work redone into the same arrays (for ``ReplayStep``)."""
    inv_m = 1.0 / dZ.shape[1]
    A_prev_T, W_T = A_prev.T, W.T

    def op():
        K.scale_rowsum(dZ, inv_m, scaled, db_out)
        np.matmul(scaled, A_prev_T, out=dW_out)
        if dA_prev is not None:
            np.matmul(W_T, dZ, out=dA_prev)

    return op


_THREADS_LOCK = threading.Lock()
_threads_started = False


def _parallel_min_from_env():
    """``XPNET_NUMBA_PARALLEL_MIN``: elements from which kernels go multi-threaded; None = never."""
    raw = os.environ.get("XPNET_NUMBA_PARALLEL_MIN", "").strip().lower()
    if raw in ("", "off", "none"):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"XPNET_NUMBA_PARALLEL_MIN must be a whole number of elements (or "
                         f"'off'), got {raw!r}") from None
    if value < 0:
        raise ValueError(f"XPNET_NUMBA_PARALLEL_MIN must be >= 0, got {value}")
    return value


def start_threads():
    """Start Numba's thread pool (once), with idle OpenMP workers sleeping instead of spinning.

    The OpenMP runtime reads ``OMP_WAIT_POLICY`` once, when Numba loads it at the first
    parallel launch; so unless the user set it (or ``GOMP_SPINCOUNT``), it is set to PASSIVE
    for that launch only and removed from the environment again. The runtime, and so the
    policy, is the process's: a library using the same libgomp afterwards (PyTorch's CPU
    wheels) runs passive too. If the process had loaded libgomp already, its setting stands.
    Only the opt-in parallel kernels get here (``parallel_min``).
    """
    global _threads_started
    with _THREADS_LOCK:
        if _threads_started:
            return
        chosen = any(k in os.environ for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"))
        if not chosen:
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        try:
            numba.get_num_threads()  # loads the threading layer and launches the pool
        finally:
            if not chosen:
                os.environ.pop("OMP_WAIT_POLICY", None)
        _threads_started = True


def _kernel_ready(*arrays, strided=()):
    """True when every array is a non-empty float32/float64 NumPy array of one dtype, each
    C-contiguous except those in ``strided`` (any layout)."""
    first = arrays[0]
    if type(first) is not np.ndarray or first.dtype not in _FLOATS or first.size == 0:
        return False
    dtype = first.dtype
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dtype or not a.flags.c_contiguous:
            return False
    for a in strided:
        if type(a) is not np.ndarray or a.dtype != dtype:
            return False
    return True


def _raise_bad_index(idx, bad, m):
    if bad >= 0:
        raise IndexError(f"index {idx[bad]} is out of bounds for axis 1 with size {m}")


def _as_2d(x):
    """A view of ``x`` as ``(rows, cols)`` for the row kernels (2-D arrays unchanged)."""
    if x.ndim == 2:
        return x
    return x.reshape(x.shape[0] if x.ndim > 2 else 1, -1)


class NumbaBackend(NumpyBackend):
    """NumPy arrays with fused, cached Numba kernels for the training hot loop."""

    name = "numba"
    device = "cpu"
    _replay = None  # the Recording of a ReplayStep while it records (see ``cpu_replay``)

    def __init__(self, parallel_min="env", replay=None):
        super().__init__()
        #: Arrays of at least this many elements use the multi-threaded kernels; None: never.
        self.parallel_min = _parallel_min_from_env() if parallel_min == "env" else parallel_min
        #: Replay static training steps (``ReplayStep``); None: ``XPNET_NUMBA_REPLAY``, on.
        if replay is None:
            replay = env_flag("XPNET_NUMBA_REPLAY", default=True)
        self.replay = bool(replay)
        self.fused = self._kernel_table()
        check_kernel_table(self.fused, (ACTIVATIONS, LOSSES, OPTIMIZERS), self.name)

    def _kernel_table(self):
        """The fused kernels, keyed by the registered ops they accelerate (``Backend.fused``):
        the elementwise activations of ``K.CODES`` and softmax (forward, backward, bias +
        forward), the losses from the logits and the optimizer updates."""
        table = {}
        for name, code in K.CODES.items():
            if code == K.LINEAR:
                continue  # the identity: its formula does no work
            table[(name, "forward")] = functools.partial(self._act_forward, code)
            table[(name, "backward")] = functools.partial(self._act_backward, code)
            table[(name, "bias_forward")] = functools.partial(self._bias_forward, code)
        softmax = Softmax.name
        table[(softmax, "forward")] = self._softmax_forward
        table[(softmax, "backward")] = self._softmax_backward_op
        table[(softmax, "bias_forward")] = self._softmax_bias_forward
        for name, (kernel, reads_logits) in LOSS_KERNELS.items():
            table[(name, "value")] = functools.partial(self._loss_value, kernel, reads_logits)
        for name, update in OPTIMIZER_KERNELS.items():
            table[(name, "update")] = functools.partial(update, self)
        return table

    def _parallel(self, size):
        if self.parallel_min is None or size < self.parallel_min:
            return False
        if not _threads_started:
            start_threads()
        return numba.get_num_threads() > 1

    # ------------------------------------------------------------ linear algebra
    def take_columns(self, X, idx, out=None):
        idx = np.asarray(idx)
        outs = () if out is None else (out,)
        if X.ndim != 2 or idx.ndim != 1 or idx.dtype.kind not in "iu":
            return super().take_columns(X, idx, out)
        if gathers_rows(X, out):
            # Sample-major X: whole rows of X.T into out.T, one contiguous copy per example.
            XT = X.T
            outT = None if out is None else out.T
            if not (_kernel_ready(XT) if out is None else _kernel_ready(XT, outT)):
                return super().take_columns(X, idx, out)
            if out is None:
                outT = np.empty((idx.shape[0], X.shape[0]), X.dtype)
            else:
                self._check_take_out(X, idx, out)
            _raise_bad_index(idx, K.take_rows(XT, idx, outT), X.shape[1])
            return outT.T if out is None else out
        if not _kernel_ready(X, *outs):
            return super().take_columns(X, idx, out)
        out = self._take_out(X, idx, out, "C")
        cols, bad = K.column_indices(idx, X.shape[1])
        _raise_bad_index(idx, bad, X.shape[1])
        if self._parallel(out.size):
            K.take_columns_parallel(X, cols, out)
        else:
            K.take_columns_rows(X, cols, out, 0, X.shape[0])
        return out

    def _take_out(self, X, idx, out, order):
        if out is None:
            return np.empty((X.shape[0], idx.shape[0]), dtype=X.dtype, order=order)
        self._check_take_out(X, idx, out)
        return out

    # ------------------------------------------------------- fused activation kernels
    def _act_forward(self, code, Z, slope):
        if not _kernel_ready(Z):
            return NotImplemented
        A = np.empty_like(Z)
        Z2, A2 = _as_2d(Z), _as_2d(A)
        self._forward(code, Z2, None, A2, slope)
        self._record(lambda: self._forward(code, Z2, None, A2, slope))
        return A

    def _softmax_forward(self, Z, slope):
        if not _kernel_ready(Z) or Z.ndim != 2:
            return NotImplemented
        A = np.empty_like(Z)
        self._softmax_into(Z, None, A)
        self._record(lambda: self._softmax_into(Z, None, A))
        return A

    def column_stats(self, X, weights=None):
        """One fused pass each for the means and the variances (``K.column_stats``), the same
        bits as the NumPy chunks; weighted statistics go to NumPy."""
        from ..network.data import CHUNK_ROWS  # lazily: the network imports backends
        if (weights is not None or type(X) is not np.ndarray or X.ndim != 2
                or X.dtype not in _FLOATS or not X.flags.c_contiguous or X.size == 0):
            return super().column_stats(X, weights)
        mean, var = np.empty(X.shape[1]), np.empty(X.shape[1])
        K.column_stats(X, CHUNK_ROWS, mean, var)
        return mean, var

    def standardize(self, X, mean, std, dtype):
        """One pass per row (``K.standardize_rows``), the same bits as the NumPy chunks; rows
        split across threads from ``parallel_min`` elements."""
        from ..network.data import needs_safe_form  # lazily: the network imports backends
        out_dtype = np_dtype(dtype)
        if (type(X) is not np.ndarray or X.ndim != 2 or X.dtype not in _FLOATS
                or out_dtype not in _FLOATS or not X.flags.c_contiguous or X.size == 0):
            return super().standardize(X, mean, std, dtype)
        mean = np.ascontiguousarray(mean, dtype=np.float64)
        std = np.ascontiguousarray(std, dtype=np.float64)
        if mean.shape != (X.shape[1],) or std.shape != mean.shape or needs_safe_form(mean):
            return super().standardize(X, mean, std, dtype)
        out = np.empty(X.shape, dtype=out_dtype)
        if self._parallel(X.size):
            K.standardize_parallel(X, mean, std, out, numba.get_num_threads())
        else:
            K.standardize_rows(X, mean, std, out, 0, X.shape[0])
        return out

    def dropout_mask(self, rng, shape, keep_prob, dtype="float32"):
        """One pass from the host draws to the mask (``K.dropout_mask``), the same bits as the
        generic cast, compare, ``where`` and cast; recorded with its draw, so a replayed step
        draws fresh masks from the same Generator."""
        out_dtype = np_dtype(dtype)
        if (out_dtype not in _FLOATS or not isinstance(rng, np.random.Generator)
                or 0 in tuple(shape)):
            return super().dropout_mask(rng, shape, keep_prob, dtype)
        D = np.empty(shape, dtype=out_dtype)
        U, flat = np.empty(D.size), D.reshape(-1)
        kp = float(keep_prob)

        def draw():
            rng.random(out=U)
            K.dropout_mask(U, kp, flat)

        draw()
        self._record(draw)
        return D

    def _record(self, op):
        """Hand ``op`` (this call's work redone into the same arrays) to a recording
        ``ReplayStep``, if one is recording (see ``cpu_replay``)."""
        if self._replay is not None:
            self._replay.record(op)

    def step_runner(self, step, draws=False, clock=None):
        """``step`` recorded once and replayed as bare kernel and BLAS calls (``ReplayStep``;
        dropout masks are drawn afresh on each replay), unless ``XPNET_NUMBA_REPLAY=0``."""
        return ReplayStep(self, step) if self.replay else step

    def _softmax_into(self, Z, b, A):
        if self._parallel(Z.size):
            K.softmax_parallel(Z, b, A, K.column_chunks(Z.shape[1]))
        else:
            K.softmax_cols(Z, b, A, 0, Z.shape[1])

    def _forward(self, code, Z, b, A, slope):
        # A Python float slope costs less to pass than a NumPy scalar; the kernel casts it.
        if self._parallel(Z.size):
            K.forward_parallel(code, Z, b, A, float(slope))
        else:
            K.forward_rows(code, Z, b, A, float(slope), 0, Z.shape[0])

    def _bias_ready(self, Z, b):
        return _kernel_ready(Z, b) and Z.ndim == 2 and b.shape == (Z.shape[0], 1)

    def _bias_forward(self, code, Z, b, slope):
        """``Z += b; A = g(Z)`` in one pass over the matmul's output ``Z``."""
        if not self._bias_ready(Z, b):
            return NotImplemented
        A = np.empty_like(Z)
        self._forward(code, Z, b, A, slope)
        self._record(lambda: self._forward(code, Z, b, A, slope))
        return Z, A

    def _softmax_bias_forward(self, Z, b, slope):
        if not self._bias_ready(Z, b):
            return NotImplemented
        A = np.empty_like(Z)
        self._softmax_into(Z, b, A)
        self._record(lambda: self._softmax_into(Z, b, A))
        return Z, A

    def _act_backward(self, code, dA, Z, A, slope):
        if not _kernel_ready(dA, Z, A) or not dA.shape == Z.shape == A.shape:
            return NotImplemented
        dZ = np.empty_like(dA)
        if dA.ndim == 2:
            dA2, Z2, A2, dZ2 = dA, Z, A, dZ
        else:
            dA2, Z2, A2, dZ2 = _as_2d(dA), _as_2d(Z), _as_2d(A), _as_2d(dZ)
        self._backward(code, dA2, Z2, A2, dZ2, slope)
        self._record(lambda: self._backward(code, dA2, Z2, A2, dZ2, slope))
        return dZ

    def _softmax_backward_op(self, dA, Z, A, slope):
        if (not _kernel_ready(dA, Z, A) or not dA.shape == Z.shape == A.shape
                or dA.ndim != 2):
            return NotImplemented
        dZ = np.empty_like(dA)
        self._softmax_backward(dA, A, dZ)
        self._record(lambda: self._softmax_backward(dA, A, dZ))
        return dZ

    def _softmax_backward(self, dA, A, dZ):
        if self._parallel(dA.size):
            K.softmax_backward_parallel(dA, A, dZ, K.column_chunks(dA.shape[1]))
        else:
            K.softmax_backward_cols(dA, A, dZ, 0, dA.shape[1])

    def _backward(self, code, dA, Z, A, dZ, slope):
        if self._parallel(dA.size):
            K.backward_parallel(code, dA, Z, A, dZ, float(slope))
        else:
            K.backward_rows(code, dA, Z, A, dZ, float(slope), 0, dA.shape[0])

    def linear_backward(self, dZ, A_prev, W, dW_out, db_out, need_dA_prev=True):
        arrays = (dZ, dW_out) if db_out is None else (dZ, dW_out, db_out)
        if (dZ.ndim != 2 or not _kernel_ready(*arrays)
                or (db_out is not None and db_out.shape != (dZ.shape[0], 1))):
            return super().linear_backward(dZ, A_prev, W, dW_out, db_out, need_dA_prev)
        n, m = dZ.shape
        column_major = n * m * A_prev.shape[0] <= _SMALL_DW and A_prev.flags.c_contiguous
        scaled = self._scaled_buffer(dZ, column_major)
        K.scale_rowsum(dZ, 1.0 / m, scaled, db_out)
        np.matmul(scaled, A_prev.T, out=dW_out)       # dW = (dZ / m) A_prev^T
        dA_prev = np.matmul(W.T, dZ) if need_dA_prev else None
        if self._replay is not None:
            self._record(_linear_backward_op(dZ, A_prev, W, dW_out, db_out, scaled, dA_prev))
        return dA_prev

    def _scaled_buffer(self, dZ, column_major):
        """The scratch ``(n, m)`` array ``linear_backward`` writes ``dZ / m`` into: one per
        shape, dtype and layout, per thread, kept for the next mini-batch (at most
        ``_MAX_SCRATCH`` of them; a cheaper lookup than ``_scratch``'s reshaped views)."""
        local = self.__dict__.get("_tls") or self.__dict__.setdefault("_tls", threading.local())
        pool = getattr(local, "scaled", None)
        if pool is None:
            pool = local.scaled = {}
        key = (dZ.shape, dZ.dtype, column_major)
        buf = pool.get(key)
        if buf is None:
            if len(pool) >= _MAX_SCRATCH:
                pool.clear()
            shape = dZ.shape[::-1] if column_major else dZ.shape
            buf = np.empty(shape, dZ.dtype)
            buf = pool[key] = buf.T if column_major else buf
        return buf

    def _loss_value(self, kernel, reads_logits, ZL, AL, Y, **params):
        # Y is usually a column slice of the epoch's targets: any layout is fine.
        if not (_kernel_ready(ZL, AL, strided=(Y,)) and ZL.ndim == 2
                and ZL.shape == AL.shape == Y.shape):
            return NotImplemented
        args = (ZL if reads_logits else AL, Y)
        cost = np.asarray(kernel(*args), dtype=ZL.dtype)
        self._record(lambda: cost.fill(kernel(*args)))
        return cost

    # ------------------------------------------------ optimizer updates (flat buffers)
    def _flat_ready(self, *arrays):
        return (_kernel_ready(*arrays) and arrays[0].ndim == 1
                and all(a.shape == arrays[0].shape for a in arrays))


def _sgd(bk, theta, grad, state, lr, t, hp):
    if not bk._flat_ready(theta, grad):
        return NotImplemented
    f = theta.dtype.type
    if bk._parallel(theta.size):
        K.sgd_parallel(theta, grad, f(lr))
    else:
        K.sgd_range(theta, grad, f(lr), 0, theta.shape[0])
    return None


def _momentum(bk, theta, grad, state, lr, t, hp):
    v = state["v"]
    if not bk._flat_ready(theta, grad, v):
        return NotImplemented
    f, beta = theta.dtype.type, hp["beta"]
    step = lr / (1 - beta ** t) if hp["bias_correction"] else lr
    v_min = K.optimizer_floors(theta.dtype, step, 1 - beta)[1]
    args = (theta, grad, v, f(beta), f(1 - beta), f(step), f(v_min))
    if bk._parallel(theta.size):
        K.momentum_parallel(*args)
    else:
        K.momentum_range(*args, 0, theta.shape[0])
    return None


def _rmsprop(bk, theta, grad, state, lr, t, hp):
    s = state["s"]
    if not bk._flat_ready(theta, grad, s):
        return NotImplemented
    f, beta = theta.dtype.type, hp["beta"]
    g_min, _, s_min = K.optimizer_floors(theta.dtype, lr, 1 - beta)
    args = (theta, grad, s, f(beta), f(1 - beta), f(lr), f(hp["epsilon"]), f(g_min), f(s_min))
    if bk._parallel(theta.size):
        K.rmsprop_parallel(*args)
    else:
        K.rmsprop_range(*args, 0, theta.shape[0])
    return None


def _adam(bk, theta, grad, state, lr, t, hp):
    m, v = state["m"], state["v"]
    if not bk._flat_ready(theta, grad, m, v):
        return NotImplemented
    beta1, beta2 = hp["beta1"], hp["beta2"]
    step = float(lr / (1 - beta1 ** t))
    scale = float(1 / np.sqrt(1 - beta2 ** t))
    g_min, m_min, v_min = K.optimizer_floors(theta.dtype, step, 1 - beta2)
    # Python floats: the kernel casts them to theta's dtype (ten NumPy scalars cost 3 us).
    args = (theta, grad, m, v, float(beta1), float(1 - beta1), float(beta2),
            float(1 - beta2), step, scale, float(hp["epsilon"]), g_min, m_min, v_min)
    if bk._parallel(theta.size):
        K.adam_parallel(*args)
    else:
        K.adam_range(*args, 0, theta.shape[0])
    return None


#: Loss name -> (kernel, whether it reads the logits ``Z[L]`` rather than ``A[L]``).
LOSS_KERNELS = {"categorical_crossentropy": (K.categorical_crossentropy, True),
                "binary_crossentropy": (K.binary_crossentropy, True),
                "mse": (K.mean_squared_error, False)}
#: Optimizer name -> its fused update (the flat-buffer kernels of ``xpnet.kernels.cpu``).
OPTIMIZER_KERNELS = {"gd": _sgd, "momentum": _momentum, "rmsprop": _rmsprop, "adam": _adam}


def create():
    return NumbaBackend()
