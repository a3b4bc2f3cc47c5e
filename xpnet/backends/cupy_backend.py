"""The ``cupy`` backend: arrays on an NVIDIA GPU, fused CUDA kernels, cuBLAS matrix products.

``ArrayBackend(cupy)`` already runs every op's formula on the GPU; this backend registers what
it fuses (see ``xpnet.kernels.gpu``) in its ``fused`` table, keyed by the registered ops: bias +
activation, activation backward, softmax + cross-entropy loss and gradient, the optimizer
updates over the flat parameter buffers; and it overrides the bias-gradient reduction of
``linear_backward`` and dropout's uniform draws (made on the device, so no per-batch host
transfer).

Arrays stay on the device for a whole fit: the estimator moves ``X`` and ``Y`` once, the
training loop gathers each epoch's permutation on the device, slices batches there and reads
the accumulated cost once per epoch. Nothing in this module reads a device value back per batch.

``create()`` imports CuPy and checks for a GPU; where either is missing it raises
``BackendUnavailable`` saying which and how to install. ``import xpnet.backends.cupy_backend``
itself does not import CuPy. Settings: ``XPNET_TF32=1`` (or ``create(tf32=True)``,
``backend.set_tf32(True)``) lets cuBLAS use TF32 tensor cores for float32 matmuls; off by
default. ``create(device_rng=False)`` draws dropout masks on the host like the CPU backends.
``XPNET_CUDA_GRAPH=0`` (or ``create(cuda_graph=False)``) turns off replaying the training step
as a CUDA graph (on by default; see ``xpnet.backends.cuda_graph``).
"""

from __future__ import annotations

import functools
import os
import warnings

import numpy as np

from ..kernels import gpu
from ..kernels.cublas import Gemm
from . import BackendUnavailable
from ..ops import ACTIVATIONS, LOSSES, OPTIMIZERS, check_kernel_table
from ..ops.activations import Softmax
from . import step_feed
from .cuda_graph import GraphStep
from .array_backend import ArrayBackend
from .base import env_flag, np_dtype

INSTALL_HINT = ('pip install "xpnet[cuda]" (CuPy for CUDA 13 drivers) or '
                'pip install "xpnet[cuda12]" (CuPy for CUDA 12 drivers)')
NVRTC_HINT = ("CuPy compiles kernels with NVRTC from the CUDA Toolkit: install the toolkit "
              "matching the CuPy wheel (CUDA 12 or 13), or its libraries from PyPI with the "
              "[ctk] extra of recent CuPy wheels, e.g. pip install \"cupy-cuda13x[ctk]\"")


def import_cupy():
    """``import cupy``, or BackendUnavailable saying whether it is missing or broken."""
    try:
        import cupy
    except ModuleNotFoundError as exc:
        if exc.name == "cupy":
            raise BackendUnavailable(
                f"backend 'cupy' cannot load: CuPy is not installed. Install it with: "
                f"{INSTALL_HINT}") from exc
        raise BackendUnavailable(
            f"backend 'cupy' cannot load: CuPy is installed but its dependency "
            f"{exc.name!r} is missing ({exc}). Reinstall with: {INSTALL_HINT}") from exc
    except (ImportError, OSError, RuntimeError) as exc:  # e.g. a missing libcudart/libnvrtc
        raise BackendUnavailable(
            f"backend 'cupy' cannot load: CuPy is installed but `import cupy` failed ({exc}). "
            f"Usually the CuPy wheel does not match the CUDA version of the driver "
            f"(see nvidia-smi); install the matching one: {INSTALL_HINT}") from exc
    return cupy


def check_device(cp):
    """Raise BackendUnavailable unless CuPy sees at least one CUDA GPU; returns the count."""
    version = getattr(cp, "__version__", "?")
    try:
        count = int(cp.cuda.runtime.getDeviceCount())
    except Exception as exc:  # CUDARuntimeError, or a missing/old driver library
        raise BackendUnavailable(
            f"backend 'cupy' cannot load: CuPy {version} is installed but no CUDA GPU is "
            f"visible (cupy.cuda.runtime.getDeviceCount() raised {type(exc).__name__}: {exc}). "
            f"Check nvidia-smi and CUDA_VISIBLE_DEVICES; if the driver is older than the CUDA "
            f"of the CuPy wheel, install the matching one: {INSTALL_HINT}") from exc
    if count < 1:
        raise BackendUnavailable(
            f"backend 'cupy' cannot load: CuPy {version} is installed but no CUDA GPU is "
            f"visible (cupy.cuda.runtime.getDeviceCount() returned {count}). Check nvidia-smi "
            f"and CUDA_VISIBLE_DEVICES.")
    return count


def describe_device(cp):
    """``"cuda:0 (NVIDIA H100 80GB HBM3, compute capability 9.0)"`` for the current device."""
    try:
        dev = cp.cuda.Device()
        name = cp.cuda.runtime.getDeviceProperties(dev.id)["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        cc = str(dev.compute_capability)
        return f"cuda:{dev.id} ({name}, compute capability {cc[:-1]}.{cc[-1:]})"
    except (AttributeError, KeyError, RuntimeError):
        return "cuda"


def graphs_supported(cp):
    """Whether this CuPy can capture CUDA graphs (CUDA, not HIP, and a Stream with capture)."""
    cuda = getattr(cp, "cuda", None)
    stream = getattr(cuda, "Stream", None)
    if stream is None or not hasattr(stream, "begin_capture"):
        return False
    if not hasattr(cuda, "using_allocator") or not hasattr(cuda, "MemoryPool"):
        return False
    return not getattr(getattr(cuda, "runtime", None), "is_hip", False)


def _cuda_version(v):
    return f"{v // 1000}.{(v % 1000) // 10}"


class CupyBackend(ArrayBackend):
    """CuPy arrays on the current CUDA device, with the fused kernels of ``xpnet.kernels.gpu``.

    ``tf32``: let cuBLAS use TF32 for float32 matmuls (None: ``XPNET_TF32``, default off).
    ``device_rng``: draw ``uniform`` (dropout masks) on the device from a counter-based
    generator seeded by the host Generator (default); False draws on the host, giving the same
    masks as the CPU backends at the cost of one host-to-device copy per mask.
    ``cuda_graph``: replay static training steps as CUDA graphs (None: ``XPNET_CUDA_GRAPH``,
    default on where CuPy supports capture). ``whole_step``: record the whole step, dropout
    draws and the optimizer update included, their seeds and scalars fed to the device before
    each replay (``step_feed``; None: ``XPNET_CUDA_GRAPH_WHOLE``, default off until it has run
    on a GPU).
    """

    name = "cupy"

    #: Softmax arrays with up to this many rows (classes) use the per-column kernels (one
    #: thread per example column, one launch); taller ones the column-group kernels (one block
    #: per 32 columns, the rows split among 8 lanes that meet in shared memory). On the H100
    #: the per-column kernels won over CuPy's reductions up to 256 classes, the reductions from
    #: 1024 (``bench/bench_gpu_kernels.py --softmax-sweep``, docs/gpu.md).
    column_kernel_rows = 512
    #: Use the column-group kernels above ``column_kernel_rows`` (False: CuPy's reductions,
    #: also the fallback, with one warning, where they fail to compile or launch).
    group_kernels = True

    def __init__(self, cp, tf32=None, device_rng=True, cuda_graph=None, whole_step=None):
        super().__init__(cp)
        self.kernels = gpu.GpuKernels(cp)
        self.device = describe_device(cp)
        self.device_rng = bool(device_rng)
        wanted = env_flag("XPNET_CUDA_GRAPH", default=True) if cuda_graph is None else cuda_graph
        if not isinstance(wanted, (bool, np.bool_)):
            raise TypeError(f"cuda_graph takes True, False or None, got {wanted!r}")
        self.gemm = _load_gemm(cp)
        self.cuda_graph = bool(wanted) and self.gemm is not None and graphs_supported(cp)
        whole = env_flag("XPNET_CUDA_GRAPH_WHOLE", default=False) if whole_step is None \
            else whole_step
        if not isinstance(whole, (bool, np.bool_)):
            raise TypeError(f"whole_step takes True, False or None, got {whole!r}")
        self.whole_step = bool(whole) and self.cuda_graph and self.device_rng
        self.tf32 = False
        self._pending_delta = None
        self.set_tf32(env_flag("XPNET_TF32") if tf32 is None else tf32)
        self.fused = self._kernel_table()
        check_kernel_table(self.fused, (ACTIVATIONS, LOSSES, OPTIMIZERS), self.name)

    def _kernel_table(self):
        """The fused kernels of ``xpnet.kernels.gpu``, keyed by the registered ops they
        accelerate (``Backend.fused``)."""
        table = {}
        for name in gpu.ELEMENTWISE_ACTIVATIONS:
            table[(name, "forward")] = functools.partial(self._act_forward, name)
            table[(name, "backward")] = functools.partial(self._act_backward, name)
            table[(name, "bias_forward")] = functools.partial(self._bias_forward, name)
        softmax = Softmax.name
        table[(softmax, "forward")] = self._softmax_forward
        table[(softmax, "backward")] = self._softmax_backward
        table[(softmax, "bias_forward")] = self._softmax_bias_forward
        table.update({(name, "value"): getattr(self, method)
                      for name, method in LOSS_VALUE_KERNELS.items()})
        table[(CROSS_ENTROPY_DELTA, "delta")] = self._cross_entropy_delta
        table.update({(name, "update"): getattr(self, method)
                      for name, method in UPDATE_KERNELS.items()})
        return table

    @property
    def uniform_on_device(self):
        """True when ``uniform`` draws on the device (not identical to the host draws)."""
        return self.device_rng

    def set_tf32(self, enabled):
        """Turn TF32 for float32 matmuls on or off (CuPy-wide); returns whether it is on."""
        if not isinstance(enabled, (bool, np.bool_)):
            raise TypeError(f"set_tf32 takes True or False, got {enabled!r}")
        try:
            self.tf32 = gpu.set_matmul_tf32(bool(enabled))
        except (ImportError, AttributeError) as exc:  # CuPy moved its private compute-type API
            if enabled:
                raise RuntimeError(
                    f"cannot select TF32 on CuPy {getattr(self.xp, '__version__', '?')} ({exc}); "
                    "set CUPY_TF32=1 in the environment before starting Python instead") from exc
            self.tf32 = os.environ.get("CUPY_TF32", "0").strip() not in ("", "0")
        if self.gemm is not None:  # the backend's own cuBLAS handle follows CuPy's setting
            self.gemm.set_tf32(self.tf32)
        return self.tf32

    def info(self):
        """Versions and settings, for ``xpnet info`` and bug reports."""
        rt = self.xp.cuda.runtime
        return {"backend": self.name, "device": self.device,
                "cupy": getattr(self.xp, "__version__", "?"),
                "cuda_runtime": _cuda_version(int(rt.runtimeGetVersion())),
                "cuda_driver": _cuda_version(int(rt.driverGetVersion())),
                "tf32": self.tf32, "device_rng": self.device_rng,
                "matmul": "cupy.matmul" if self.gemm is None else "cuBLAS gemm (ctypes)",
                "cuda_graph": self.cuda_graph, "cuda_graph_whole_step": self.whole_step}

    def __repr__(self):
        return (f"<xpnet backend 'cupy' on {self.device}, tf32={'on' if self.tf32 else 'off'}, "
                f"rng={'device' if self.device_rng else 'host'}, "
                f"cuda_graph={'on' if self.cuda_graph else 'off'}>")

    # ----------------------------------------------------------------- arrays
    def to_numpy(self, x):
        return self.xp.asnumpy(x)

    def synchronize(self):
        self.xp.cuda.get_current_stream().synchronize()

    def uniform(self, rng, shape, dtype="float32"):
        """Uniform [0, 1) draws; on the device from one seed drawn from the host ``rng`` (read
        from the device by the kernel while the whole step is recorded: ``step_feed``)."""
        if not self.device_rng:
            return super().uniform(rng, shape, dtype)
        feed = step_feed.current()
        if feed is not None:
            return self.kernels.uniform_fed(feed.seeds, feed.take_seed(rng), shape,
                                            np_dtype(dtype))
        seed = int(rng.integers(0, 2 ** 63))
        return self.kernels.uniform(seed, shape, np_dtype(dtype))

    def matmul(self, a, b, out=None):
        """``a @ b`` by ``Gemm`` (one cuBLAS call, capturable) where the operands allow it."""
        if self.gemm is not None and self.gemm.supports(a, b, out):
            return self.gemm.matmul(a, b, out)
        return self.xp.matmul(a, b, out=out)

    @property
    def records_updates(self):
        """Whether ``step_runner`` takes steps that include the optimizer update (with the
        training loop's ``clock``): the whole step in one replay (``whole_step``)."""
        return self.whole_step

    def step_runner(self, step, draws=False, clock=None):
        """``step`` recorded once as a CUDA graph and replayed (``GraphStep``) when
        ``cuda_graph`` is on; ``step`` itself otherwise. With ``whole_step`` the step may draw
        dropout masks and run the update (``clock``: the loop's ``step_feed.StepClock``), its
        seeds and scalars fed before each replay; without it a step with draws runs as plain
        calls (a graph would replay the same masks)."""
        if not self.cuda_graph or (draws and not self.whole_step):
            return step
        feed = step_feed.StepFeed(self.xp, clock) if self.whole_step else None
        return GraphStep(self.xp, step, feed=feed)

    def _take_into_options(self, X, idx):
        """``cupy.take`` has no ``mode`` and wraps out-of-range indices instead of raising; no
        host sync to check them (the training loop's permutations are valid by construction)."""
        return idx, {}

    def _like(self, x, ref):
        """``x`` on the device with ``ref``'s dtype (no copy when it already is)."""
        return self.xp.asarray(x, dtype=ref.dtype)

    # ------------------------------------------------------- fused activation kernels
    def _per_column(self, Z):
        return Z.shape[0] <= self.column_kernel_rows

    def _softmax_kernel(self, name, *args):
        """``kernels.<name>(*args)``: the per-column kernels up to ``column_kernel_rows`` rows
        of ``args[0]``, the column-group kernels above, or NotImplemented (then the generic
        path: CuPy's reductions)."""
        if self._per_column(args[0]):
            return getattr(self.kernels, name)(*args)
        if not self.group_kernels:
            return NotImplemented
        try:
            return getattr(self.kernels, name)(*args, groups=True)
        except Exception as exc:  # NVRTC/driver errors share no base class
            self.group_kernels = False
            warnings.warn(f"the column-group softmax kernels failed ({type(exc).__name__}: "
                          f"{exc}); softmax of more than {self.column_kernel_rows} classes "
                          "uses CuPy's reductions instead", RuntimeWarning, stacklevel=3)
            return NotImplemented

    def _act_forward(self, name, Z, slope):
        return self.kernels.activation(name, Z, slope)

    def _act_backward(self, name, dA, Z, A, slope):
        return self.kernels.activation_backward(name, dA, Z, A, slope)

    def _bias_forward(self, name, Z, b, slope):
        """``Z += b`` and ``A = g(Z)`` in one fused kernel after the cuBLAS matmul."""
        return Z, self.kernels.bias_activation(name, Z, self._like(b, Z), slope)

    def _softmax_forward(self, Z, slope):
        out = self._softmax_kernel("softmax", Z)
        return out if out is NotImplemented else out[1]

    def _softmax_backward(self, dA, Z, A, slope):
        return self._softmax_kernel("softmax_backward", dA, A)

    def _softmax_bias_forward(self, Z, b, slope):
        return self._softmax_kernel("softmax", Z, self._like(b, Z))

    def linear_backward(self, dZ, A_prev, W, dW_out, db_out, need_dA_prev=True):
        """``dW = dZ A_prev^T / m`` (cuBLAS), ``db`` by one reduction into ``db_out``."""
        m = dZ.shape[1]
        gemm = self.gemm
        if gemm is not None and gemm.supports(dZ, A_prev.T, dW_out):
            gemm.matmul(dZ, A_prev.T, out=dW_out, alpha=1.0 / m)  # the 1/m in the epilogue
        else:
            self.xp.matmul(dZ, A_prev.T, out=dW_out)
            dW_out *= dW_out.dtype.type(1.0 / m)
        if db_out is not None:
            self.kernels.row_sum_scaled(dZ, 1.0 / m, db_out)
        return self.matmul(W.T, dZ) if need_dA_prev else None

    # ------------------------------------------------------------------ losses
    # Mean losses from the logits, as 0-d device arrays. For the softmax cross-entropy the same
    # kernel also computes dZ = A - Y; it is kept for the next ``delta`` call with these very
    # AL and Y objects (the training step asks for the value, then the gradient, of one batch),
    # so the gradient costs no extra pass. Any other call computes A - Y afresh.
    def _bce_value(self, ZL, AL, Y, **params):
        self._pending_delta = None
        return self.kernels.bce_mean(ZL, self._like(Y, ZL), ZL.shape[1])

    def _cross_entropy_value(self, ZL, AL, Y, **params):
        self._pending_delta = None
        out = self._softmax_kernel("softmax_xent", ZL, self._like(AL, ZL), self._like(Y, ZL))
        if out is NotImplemented:
            return NotImplemented
        per_column, dZ = out
        self._pending_delta = (AL, Y, dZ)
        return self.kernels.sum_div(per_column, ZL.shape[1])

    def _squared_error_value(self, ZL, AL, Y, **params):
        self._pending_delta = None
        return self.kernels.sq_err_mean(AL, self._like(Y, AL), 2 * ZL.shape[1])

    def _cross_entropy_delta(self, ZL, AL, Y, **params):
        """``dZ[L] = A[L] - Y``, reusing the one the value kernel computed for these arrays."""
        pending, self._pending_delta = self._pending_delta, None
        if pending is not None and pending[0] is AL and pending[1] is Y:
            return pending[2]
        return NotImplemented

    # ------------------------------------------------ optimizer updates (flat buffers)
    # Each computes its per-step scalars on the host (``_update_scalars``) and passes them as
    # launch arguments; while the whole step is captured it hands the same computation, on the
    # loop's live learning rate and step count, to the feed and its kernel reads them from there.
    def _sgd(self, theta, grad, state, lr, t, hp):
        if not self._fed_update("sgd", theta, grad, state, lr, t, hp):
            self.kernels.sgd(theta, grad, *_update_scalars("sgd", lr, t, hp))

    def _momentum(self, theta, grad, state, lr, t, hp):
        if not self._fed_update("momentum", theta, grad, state, lr, t, hp):
            step, = _update_scalars("momentum", lr, t, hp)
            self.kernels.momentum(theta, grad, state["v"], hp["beta"], step)

    def _rmsprop(self, theta, grad, state, lr, t, hp):
        if not self._fed_update("rmsprop", theta, grad, state, lr, t, hp):
            self.kernels.rmsprop(theta, grad, state["s"], lr, hp["beta"], hp["epsilon"])

    def _adam(self, theta, grad, state, lr, t, hp):
        if not self._fed_update("adam", theta, grad, state, lr, t, hp):
            step, inv_sqrt_c2 = _update_scalars("adam", lr, t, hp)
            self.kernels.adam(theta, grad, state["m"], state["v"], hp["beta1"], hp["beta2"],
                              step, inv_sqrt_c2, hp["epsilon"])

    def _fed_update(self, name, theta, grad, state, lr, t, hp):
        """While the whole step is captured: the update ``name`` reading its scalars from the
        feed (True); else False. The loop's clock must agree with the arguments."""
        feed = step_feed.current()
        if feed is None or feed.clock is None:
            return False
        clock = feed.clock
        if (clock.lr(), clock.t()) != (lr, t):
            raise RuntimeError(f"the step's clock (lr {clock.lr()!r}, t {clock.t()!r}) does not "
                               f"match the update's arguments (lr {lr!r}, t {t!r})")
        k = feed.take_scalars(lambda: _update_scalars(name, clock.lr(), clock.t(), hp))
        self.kernels.update_fed(name, theta, grad, state, hp, feed.scalars, k)
        return True


def _update_scalars(name, lr, t, hp):
    """The per-step scalars of the fused update ``name`` at learning rate ``lr``, step ``t``:
    sgd and rmsprop ``(lr,)``, momentum ``(lr / (1 - beta^t),)`` with bias correction (else
    ``(lr,)``), adam ``(lr / (1 - beta1^t), 1 / sqrt(1 - beta2^t))``."""
    if name == "adam":
        c1 = 1 - hp["beta1"] ** t
        c2 = 1 - hp["beta2"] ** t
        return lr / c1, 1 / np.sqrt(c2)
    if name == "momentum" and hp["bias_correction"]:
        return (lr / (1 - hp["beta"] ** t),)
    return (lr,)


#: Loss name -> the method computing its value in one kernel.
LOSS_VALUE_KERNELS = {"binary_crossentropy": "_bce_value",
                      "categorical_crossentropy": "_cross_entropy_value",
                      "mse": "_squared_error_value"}
#: The loss whose value kernel also computes the output gradient.
CROSS_ENTROPY_DELTA = "categorical_crossentropy"
#: Optimizer name -> the method running its fused update kernel.
UPDATE_KERNELS = {"gd": "_sgd", "momentum": "_momentum", "rmsprop": "_rmsprop", "adam": "_adam"}


def _load_gemm(cp):
    """``Gemm`` on CuPy's cuBLAS, or None (then ``cupy.matmul``, and no CUDA graphs)."""
    try:
        return Gemm.load(cp)
    except (OSError, AttributeError, RuntimeError, TypeError):
        return None


def _smoke_test(backend):
    """Compile and run one kernel, so a missing NVRTC shows up now, not in the middle of fit."""
    try:
        theta = backend.zeros((4,), "float32")
        backend._sgd(theta, backend.ones((4,), "float32"), {}, 0.5, 1, {})
        value = backend.item(theta)
    except Exception as exc:  # NVRTC/driver/architecture errors have no common base class
        raise BackendUnavailable(
            f"backend 'cupy' cannot load: a GPU is visible on {backend.device} but compiling "
            f"or running a CUDA kernel failed ({type(exc).__name__}: {exc}). {NVRTC_HINT}."
        ) from exc
    if value != -0.5:
        raise BackendUnavailable(
            f"backend 'cupy' cannot load: a test kernel on {backend.device} returned {value} "
            f"instead of -0.5; the GPU or driver is not working correctly")


def create(tf32=None, device_rng=True, cuda_graph=None, whole_step=None):
    """The cupy backend on the current CUDA device; BackendUnavailable if it cannot run here."""
    cp = import_cupy()
    check_device(cp)
    backend = CupyBackend(cp, tf32=tf32, device_rng=device_rng, cuda_graph=cuda_graph,
                          whole_step=whole_step)
    _smoke_test(backend)
    return backend
