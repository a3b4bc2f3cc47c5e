"""The Backend interface: the one op set that network code is written against.

Network code never imports numpy or cupy for math; it calls the backend object it was given.
Arrays in course notation: ``A_prev (n[l-1], m)``, ``W (n[l], n[l-1])``, ``b (n[l], 1)``.

Every method is abstract here; ``ArrayBackend`` implements them once for any NumPy-compatible
array module (NumPy, CuPy) and ``LoopsBackend`` implements them with explicit Python loops.
Kernel backends (numba, cupy) subclass ``ArrayBackend`` and override only what they fuse.
"""

from __future__ import annotations

import os

import numpy as np

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softmax", "linear")
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
    """Abstract backend. ``name`` identifies it; ``device`` describes where arrays live."""

    name = "abstract"
    device = "cpu"

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

    def normal(self, rng, shape, dtype="float32", scale=1.0):
        """Standard normal draws times ``scale`` from the host NumPy Generator ``rng``.

        Drawing on the host, then moving, makes seeded parameters identical on every backend.
        """
        host = rng.standard_normal(size=shape) * scale
        return self.asarray(host, dtype=dtype)

    def uniform(self, rng, shape, dtype="float32"):
        """Uniform [0, 1) draws from the host NumPy Generator ``rng``, moved to the device."""
        return self.asarray(rng.random(size=shape), dtype=dtype)

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
        return self.where(self.greater(keep_prob, U), 1.0 / keep_prob, 0.0).astype(
            dtype, copy=False)

    def step_runner(self, step, draws=False):
        """A callable that runs ``step()``, a training step that reads and writes only fixed
        buffers and has the same shapes and scalars on every call; ``draws``: it also draws
        dropout masks (``dropout_mask``) from a host Generator. Here: ``step`` itself; the cupy
        backend records a step without draws once as a CUDA graph and replays that, the numba
        backend replays its kernel calls (draws included)."""
        return step

    def synchronize(self):
        """Wait for queued device work (a no-op on the CPU)."""

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

    def copy(self, x):
        """A copy of ``x`` on the same device."""
        raise NotImplementedError

    # --------------------------------------------------- elementwise (broadcasting)
    def add(self, a, b, out=None):
        raise NotImplementedError

    def subtract(self, a, b, out=None):
        raise NotImplementedError

    def multiply(self, a, b, out=None):
        raise NotImplementedError

    def divide(self, a, b, out=None):
        raise NotImplementedError

    def exp(self, x):
        raise NotImplementedError

    def log(self, x):
        raise NotImplementedError

    def log1p(self, x):
        raise NotImplementedError

    def sqrt(self, x):
        raise NotImplementedError

    def square(self, x):
        raise NotImplementedError

    def abs(self, x):
        raise NotImplementedError

    def maximum(self, a, b):
        raise NotImplementedError

    def where(self, cond, a, b):
        raise NotImplementedError

    def greater(self, a, b):
        raise NotImplementedError

    def clip(self, x, low, high):
        raise NotImplementedError

    # ---------------------------------------------------------------- reductions
    def sum(self, x, axis=None, keepdims=False):
        raise NotImplementedError

    def mean(self, x, axis=None, keepdims=False):
        raise NotImplementedError

    def max(self, x, axis=None, keepdims=False):
        raise NotImplementedError

    def argmax(self, x, axis=0):
        raise NotImplementedError

    def item(self, x):
        """A 0-d (or size-1) array as a Python float (forces a device sync on GPU)."""
        return float(self.to_numpy(x).reshape(-1)[0])

    # --------------------------------------------------------------- activations
    def activation_forward(self, name, Z, slope=0.01):
        """``A = g(Z)`` for the activation ``name``; ``Z (n[l], m)``."""
        raise NotImplementedError

    def activation_backward(self, name, dA, Z, A, slope=0.01):
        """``dZ = dA * g'(Z)`` (softmax: the Jacobian-vector product over axis 0)."""
        raise NotImplementedError

    # ------------------------------------------------------------- fused kernels
    def linear_forward(self, W, A_prev, b):
        """``Z = W A_prev + b``; ``W (n[l], n[l-1])``, ``A_prev (n[l-1], m)``, ``b (n[l], 1)``."""
        Z = self.matmul(W, A_prev)
        if b is not None:
            Z = self.add(Z, b, out=Z)
        return Z

    def linear_activation_forward(self, W, A_prev, b, activation, slope=0.01):
        """``Z = W A_prev + b``, ``A = g(Z)``; returns ``(Z, A)``."""
        Z = self.linear_forward(W, A_prev, b)
        return Z, self.activation_forward(activation, Z, slope)

    def linear_backward(self, dZ, A_prev, W, dW_out, db_out, need_dA_prev=True):
        """``dW = dZ A_prev^T / m`` into ``dW_out``, ``db = sum(dZ, axis=1) / m`` into ``db_out``.

        Returns ``dA_prev = W^T dZ`` ``(n[l-1], m)`` or None when not needed.
        """
        raise NotImplementedError

    def output_delta(self, loss, AL, Y):
        """``dZ[L] = A[L] - Y`` for each loss paired with its canonical output activation."""
        return self.subtract(AL, Y)

    def loss(self, loss, ZL, AL, Y):
        """Mean loss over the ``m`` columns, computed from the logits ``ZL`` where it matters.

        ``binary_crossentropy``: sigmoid output, ``Y (1, m)`` in {0, 1}.
        ``categorical_crossentropy``: softmax output, ``Y (C, m)`` one-hot.
        ``mse``: linear output, ``1/(2m) sum ||A - Y||^2`` so that ``dZ = A - Y``.
        Returns a 0-d device array (read it with ``item`` once per epoch).
        """
        raise NotImplementedError

    # ------------------------------------------------ optimizer updates (flat buffers)
    def sgd_update(self, theta, grad, lr):
        """``theta -= lr * grad`` in place, over one flat buffer holding every parameter."""
        raise NotImplementedError

    def momentum_update(self, theta, grad, v, lr, beta, t, bias_correction=False):
        """``v = beta v + (1 - beta) grad``; ``theta -= lr * v_hat`` (in place)."""
        raise NotImplementedError

    def rmsprop_update(self, theta, grad, s, lr, beta, eps):
        """``s = beta s + (1 - beta) grad^2``; ``theta -= lr * grad / (sqrt(s) + eps)``."""
        raise NotImplementedError

    def adam_update(self, theta, grad, m, v, lr, beta1, beta2, eps, t):
        """Adam with bias correction at step ``t`` (1-based), in place on flat buffers."""
        raise NotImplementedError

    def __repr__(self):
        return f"<xpnet backend {self.name!r} on {self.device}>"


def check_activation(name):
    """Raise a ValueError naming the valid activations if ``name`` is not one."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return name


def np_dtype(dtype):
    """Normalize a dtype spec (``"float32"``, ``np.float64``) to a NumPy dtype, floats only."""
    dt = np.dtype(dtype)
    if dt not in (np.dtype("float32"), np.dtype("float64")):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt
