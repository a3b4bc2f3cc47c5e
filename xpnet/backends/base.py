"""The Backend interface: the one op set that network code is written against.

Network code never imports numpy or cupy for math; it calls the backend object it was given.
Arrays in course notation: ``A_prev (n[l-1], m)``, ``W (n[l], n[l-1])``, ``b (n[l], 1)``.

The primitives are abstract here; ``ArrayBackend`` implements them once for any NumPy-compatible
array module (NumPy, CuPy) and ``LoopsBackend`` implements them with explicit Python loops.
Kernel backends (numba, cupy) subclass ``ArrayBackend`` and register fused kernels for the ops
of ``xpnet.ops`` in their ``fused`` table.
"""

from __future__ import annotations

import os

import numpy as np

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def env_flag(name, environ=None, default=False):
    """Read a boolean environment variable (1/0, true/false, yes/no, on/off; unset or empty
    is ``default``); anything else is a ValueError naming the variable."""
    raw = (os.environ if environ is None else environ).get(name, "")
    value = raw.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be 1 or 0 (also true/false, yes/no, on/off), got {raw!r}")


class RecordedStep:
    """Base of the ``step_runner`` results that record a static training step once and replay
    it (``cuda_graph.GraphStep``, ``cpu_replay.ReplayStep``): the first ``warmup`` calls run
    ``step()`` eagerly, the next records it, later ones replay. ``mode`` is ``"warming up"``,
    ``"replaying"`` or ``"eager"`` (recording failed for good; ``error`` says why)."""

    def __init__(self, step, warmup=1):
        if warmup < 1:
            raise ValueError(f"warmup must be at least 1 (the first call runs the step "
                             f"eagerly before it is recorded), got {warmup}")
        self.step = step
        self.warmup = int(warmup)
        self.calls = 0
        self.error = None

    @property
    def replaying(self):
        raise NotImplementedError

    @property
    def mode(self):
        if self.replaying:
            return "replaying"
        return "eager" if self.error is not None else "warming up"


class Backend:
    """Abstract backend: array primitives, plus optional fused kernels in ``fused``.

    ``name`` identifies it; ``device`` describes where arrays live. A new backend implements the
    primitives below that raise ``NotImplementedError`` (creation, transfer, matmul, elementwise
    with broadcasting and ``out=``, reductions) and gets every registered op: activations,
    losses and optimizers are defined once in ``xpnet.ops`` from these primitives.

    ``fused`` maps ``(op name, role)`` to a fused kernel for a registered op (the sigmoid's
    ``forward``, Adam's ``update``); the roles and call signatures are

    - activation ``forward(Z, slope) -> A``, ``backward(dA, Z, A, slope) -> dZ``,
      ``bias_forward(Z, b, slope) -> (Z, A)`` (``Z += b`` in place, then ``A = g(Z)``);
    - loss ``value(ZL, AL, Y, **params) -> 0-d cost``, ``delta(ZL, AL, Y, **params) -> dZ[L]``;
    - optimizer ``update(theta, grad, state, lr, t, hp) -> None`` (in place; ``state`` maps the
      definition's slots to flat buffers, ``hp`` its hyperparameters).

    A kernel returns ``NotImplemented`` for input it does not take (a layout, a dtype), and the
    definition's formula runs instead. Keys are checked against the registries when the backend
    is created (``xpnet.ops.check_kernel_table``).
    """

    name = "abstract"
    device = "cpu"
    fused = {}

    # ----------------------------------------------------------------- arrays
    def asarray(self, x, dtype=None):
        """Move ``x`` (any array-like, host or device) onto this backend's device."""
        raise NotImplementedError

    def to_numpy(self, x):
        """Return ``x`` as a host NumPy array."""
        raise NotImplementedError

    def zeros(self, shape, dtype="float32"):
        raise NotImplementedError

    def ones(self, shape, dtype="float32"):
        raise NotImplementedError

    def empty(self, shape, dtype="float32"):
        raise NotImplementedError

    def copy(self, x):
        """A copy of ``x`` on the same device."""
        raise NotImplementedError

    def astype(self, x, dtype):
        """``x`` as ``dtype`` (``x`` itself when it already is)."""
        raise NotImplementedError

    def stack(self, arrays):
        """0-d arrays (or scalars) gathered into one 1-D array, on the device."""
        raise NotImplementedError

    def scalar(self, value, like):
        """``value`` as a scalar of ``like``'s dtype (so float32 math stays float32)."""
        return np.dtype(like.dtype).type(value)

    def scratch(self, slot, like, dtype=None):
        """A temporary shaped like ``like`` (``dtype``: default ``like``'s) that the caller
        fills before reading; backends may hand out the same buffer for the same ``slot`` again
        (the formulas in ``xpnet.ops`` keep their temporaries there). Here: a new array."""
        return self.empty(like.shape, like.dtype if dtype is None else dtype)

    def normal(self, rng, shape, dtype="float32", scale=1.0):
        """Standard normal draws times ``scale`` from the host NumPy Generator ``rng``.

        Drawing on the host, then moving, makes seeded parameters identical on every backend.
        """
        host = rng.standard_normal(size=shape) * scale
        return self.asarray(host, dtype=dtype)

    def uniform(self, rng, shape, dtype="float32"):
        """Uniform [0, 1) draws from the host NumPy Generator ``rng``, moved to the device."""
        return self.asarray(rng.random(size=shape), dtype=dtype)

    def column_stats(self, X, weights=None):
        """``(mean, var) (n,)`` float64 per column of host rows ``X (m, n)``, sample-weighted
        with ``weights (m,)``: the estimators' input statistics. Here: NumPy, in row chunks."""
        from ..network.data import column_stats
        return column_stats(X, weights=weights)

    def standardize(self, X, mean, std, dtype):
        """Host rows ``(X - mean) / std`` of ``X (m, n)`` (``mean``, ``std (n,)`` float64) as a
        new C-contiguous host array of ``dtype``, computed in float64: the estimators' input
        scaling, before the rows go to the device. Here: NumPy, in row chunks."""
        from ..network.data import standardize
        return standardize(X, mean, std, dtype)

    def dropout_mask(self, rng, shape, keep_prob, dtype="float32"):
        """Inverted-dropout mask ``D`` of ``shape``: ``1 / keep_prob`` where a uniform draw from
        ``rng`` (``uniform``) is below ``keep_prob``, 0 elsewhere."""
        U = self.uniform(rng, shape, dtype)
        return self.astype(self.where(self.greater(keep_prob, U), 1.0 / keep_prob, 0.0), dtype)

    #: Whether ``step_runner`` takes steps that include the optimizer update (then the loop
    #: passes its ``clock``, a ``step_feed.StepClock``): the cupy backend's ``whole_step``.
    records_updates = False

    def step_runner(self, step, draws=False, clock=None):
        """A callable that runs ``step()``, a training step that reads and writes only fixed
        buffers and has the same shapes and scalars on every call; ``draws``: it also draws
        dropout masks (``dropout_mask``) from a host Generator; ``clock`` (only where
        ``records_updates``): the step also runs the optimizer update. Here: ``step`` itself;
        the cupy backend records a step once as a CUDA graph and replays that, the numba
        backend replays its kernel calls (draws included)."""
        return step

    def synchronize(self):
        """Wait for queued device work (a no-op on the CPU)."""

    def item(self, x):
        """A 0-d (or size-1) array as a Python float (forces a device sync on GPU)."""
        return float(self.to_numpy(x).reshape(-1)[0])

    def is_sample_major(self, X):
        """Whether ``X (n, m)`` keeps each column (example) contiguous in memory (read from the
        array's ``strides`` where it has them; False where it has none)."""
        strides = getattr(X, "strides", None)
        return strides is not None and X.ndim == 2 and (X.shape[0] <= 1 or
                                                        strides[0] == X.itemsize)

    # ------------------------------------------------------------ linear algebra
    def matmul(self, a, b, out=None):
        raise NotImplementedError

    def transpose(self, a):
        raise NotImplementedError

    def take_columns(self, X, idx, out=None):
        """``X[:, idx]``; ``X (n, m)``, ``idx`` a 1-D device integer array (negative counts from
        the end). With ``out`` (``(n, len(idx))``, ``X``'s dtype, not overlapping ``X``) the
        columns are written there and ``out`` is returned: the training loop keeps one such
        buffer per fit for its per-epoch shuffle instead of allocating a new copy each epoch."""
        raise NotImplementedError

    @staticmethod
    def _check_take_out(X, idx, out):
        """``ValueError``/``TypeError`` unless ``out`` can hold ``X[:, idx]``."""
        shape = (X.shape[0], idx.shape[0])
        if tuple(out.shape) != shape:
            raise ValueError(f"take_columns: out has shape {tuple(out.shape)}, expected {shape} "
                             "(rows of X, number of indices)")
        if out.dtype != X.dtype:
            raise TypeError(f"take_columns: out has dtype {out.dtype}, expected X's {X.dtype}")
        if (isinstance(X, np.ndarray) and isinstance(out, np.ndarray)
                and np.may_share_memory(X, out)):
            raise ValueError("take_columns: out overlaps X; pass a separate array")

    # ----------------------------------------- elementwise (broadcasting, optional out=)
    def add(self, a, b, out=None):
        raise NotImplementedError

    def subtract(self, a, b, out=None):
        raise NotImplementedError

    def multiply(self, a, b, out=None):
        raise NotImplementedError

    def divide(self, a, b, out=None):
        raise NotImplementedError

    def maximum(self, a, b, out=None):
        raise NotImplementedError

    def minimum(self, a, b, out=None):
        raise NotImplementedError

    def negative(self, x, out=None):
        raise NotImplementedError

    def exp(self, x, out=None):
        raise NotImplementedError

    def log(self, x, out=None):
        raise NotImplementedError

    def log1p(self, x, out=None):
        raise NotImplementedError

    def sqrt(self, x, out=None):
        raise NotImplementedError

    def square(self, x, out=None):
        raise NotImplementedError

    def abs(self, x, out=None):
        raise NotImplementedError

    def tanh(self, x, out=None):
        raise NotImplementedError

    def greater(self, a, b, out=None):
        raise NotImplementedError

    def greater_equal(self, a, b, out=None):
        raise NotImplementedError

    def where(self, cond, a, b):
        raise NotImplementedError

    def clip(self, x, low, high, out=None):
        raise NotImplementedError

    # ---------------------------------------------------------------- reductions
    def sum(self, x, axis=None, keepdims=False, out=None):
        raise NotImplementedError

    def mean(self, x, axis=None, keepdims=False, out=None):
        raise NotImplementedError

    def max(self, x, axis=None, keepdims=False, out=None):
        raise NotImplementedError

    def argmax(self, x, axis=0):
        raise NotImplementedError

    # ------------------------------------------------- layers (generic, from primitives)
    def linear_forward(self, W, A_prev, b):
        """``Z = W A_prev + b``; ``W (n[l], n[l-1])``, ``A_prev (n[l-1], m)``, ``b (n[l], 1)``."""
        Z = self.matmul(W, A_prev)
        if b is not None:
            Z = self.add(Z, b, out=Z)
        return Z

    def linear_backward(self, dZ, A_prev, W, dW_out, db_out, need_dA_prev=True):
        """``dW = dZ A_prev^T / m`` into ``dW_out``, ``db = sum(dZ, axis=1) / m`` into ``db_out``.

        Returns ``dA_prev = W^T dZ`` ``(n[l-1], m)`` or None when not needed.
        """
        m = dZ.shape[1]
        self.matmul(dZ, self.transpose(A_prev), out=dW_out)
        self.multiply(dW_out, self.scalar(1.0 / m, dW_out), out=dW_out)
        if db_out is not None:
            self.sum(dZ, axis=1, keepdims=True, out=db_out)
            self.multiply(db_out, self.scalar(1.0 / m, db_out), out=db_out)
        return self.matmul(self.transpose(W), dZ) if need_dA_prev else None

    def __repr__(self):
        return f"<xpnet backend {self.name!r} on {self.device}>"


def np_dtype(dtype):
    """Normalize a dtype spec (``"float32"``, ``np.float64``) to a NumPy dtype, floats only."""
    dt = np.dtype(dtype)
    if dt not in (np.dtype("float32"), np.dtype("float64")):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt
