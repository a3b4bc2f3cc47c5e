"""The cupy backend: fused kernels, parity with numpy, training, and clear errors without a GPU.

Three kinds of tests:

- plain: backend selection and its errors with CuPy absent, broken or without a GPU (each
  simulated, so they run in CI), and the pure-Python parts of ``xpnet.kernels.gpu``;
- ``emulated``: the real backend and kernel sources on ``tests/cupy_emulation.py`` (the CUDA
  C++ compiled by the host C++ compiler, NumPy for the rest); skipped without a C++ compiler;
- ``gpu`` (marker): the same parity suite, TF32 and ``auto`` on a real GPU; skipped without
  CuPy or a visible GPU.

Parity tolerances: kernels float64 rtol 1e-7, float32 rtol 1.3e-6 / atol 1e-5 (conftest);
a 5-epoch training run float64 rtol 1e-7, float32 within 1e-5.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import cupy_emulation as emu
from conftest import ROOT, assert_close, require_cupy_gpu
from xpnet import NeuralNetwork, NeuralNetworkRegressor, backends
from xpnet.backends import BackendUnavailable, cupy_backend
from xpnet.kernels import gpu
from xpnet.network import Architecture, gradient_check
from xpnet.ops import ACTIVATIONS
from xpnet.backends.step_feed import StepFeed, capturing
from xpnet.ops import activations as xact, losses as xloss, optimizers as xopt

NUMPY = backends.resolve("numpy")
ACTS = tuple(ACTIVATIONS)


@pytest.fixture(autouse=True)
def fresh_registry():
    backends._reset_for_tests()
    yield
    backends._reset_for_tests()


# ------------------------------------------------------------------ backends to test
@pytest.fixture(scope="module")
def emulated():
    """The cupy backend over the CPU emulation of CuPy."""
    if emu.CXX is None:
        pytest.skip("no C++ compiler (g++/clang++) to emulate the CUDA kernels")
    cp = emu.make_fake_cupy()
    with pytest.MonkeyPatch.context() as mp:
        emu.install(mp, cp)
        return cupy_backend.create()


@pytest.fixture(scope="module")
def real_gpu():
    """The cupy backend on a real GPU."""
    require_cupy_gpu()
    return cupy_backend.create()


@pytest.fixture(params=["emulated", pytest.param("real_gpu", marks=pytest.mark.gpu)])
def bk(request):
    return request.getfixturevalue(request.param)


def pair(backend, dtype, *host):
    """The same host arrays on numpy and on ``backend``."""
    return ([NUMPY.asarray(h, dtype=dtype) for h in host],
            [backend.asarray(h, dtype=dtype) for h in host])


# ------------------------------------------------------- no CuPy, broken CuPy, no GPU
def test_importing_xpnet_and_the_backend_module_does_not_import_cupy():
    code = ("import sys, xpnet, xpnet.kernels.gpu, xpnet.backends.cupy_backend\n"
            "print('cupy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_missing_cupy_says_so_and_names_both_install_commands(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ModuleNotFoundError
    with pytest.raises(BackendUnavailable) as err:
        backends.set_backend("cupy")
    msg = str(err.value)
    assert "CuPy is not installed" in msg
    assert 'pip install "xpnet[cuda]"' in msg and 'pip install "xpnet[cuda12]"' in msg
    assert "cupy" not in backends.available_backends()


def test_broken_cupy_install_is_not_reported_as_missing(monkeypatch, tmp_path):
    pkg = tmp_path / "cupy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "raise ImportError('libnvrtc.so.13: cannot open shared object file')\n")
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BackendUnavailable) as err:
        backends.resolve("cupy")
    msg = str(err.value)
    assert "CuPy is installed but `import cupy` failed" in msg and "libnvrtc" in msg
    assert "xpnet[cuda12]" in msg


@pytest.mark.parametrize("failure", ["zero devices", "runtime error"])
def test_no_gpu_names_what_is_missing(monkeypatch, failure):
    if failure == "zero devices":
        cp, expected = emu.make_fake_cupy(device_count=0), "getDeviceCount() returned 0"
    else:
        cp = emu.make_fake_cupy(device_error=emu.CUDARuntimeError(
            "cudaErrorNoDevice: no CUDA-capable device is detected"))
        expected = "CUDARuntimeError: cudaErrorNoDevice"
    emu.install(monkeypatch, cp)
    with pytest.raises(BackendUnavailable) as err:
        backends.resolve("cupy")
    msg = str(err.value)
    assert "CuPy 13.6.0+cpu-emulation is installed but no CUDA GPU is visible" in msg
    assert expected in msg and "nvidia-smi" in msg


@pytest.mark.parametrize("absence", ["no cupy", "no gpu"])
def test_auto_falls_back_and_says_why(monkeypatch, absence):
    if absence == "no cupy":
        monkeypatch.setitem(sys.modules, "cupy", None)
        why = "CuPy is not installed"
    else:
        emu.install(monkeypatch, emu.make_fake_cupy(device_count=0))
        why = "no CUDA GPU is visible"
    name, reason = backends.auto_choice()
    assert name in ("numba", "numpy")
    assert "cupy:" in reason and why in reason


def test_named_cupy_never_falls_back_silently(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setenv("XPNET_BACKEND", "cupy")
    with pytest.raises(BackendUnavailable, match="CuPy is not installed"):
        backends.get_backend()
    with pytest.raises(BackendUnavailable):
        NeuralNetwork(epochs=1, backend="cupy").fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_xpnet_backend_cupy_without_cupy_exits_with_the_clear_error():
    code = ("import sys\nsys.modules['cupy'] = None  # simulate a machine without CuPy\n"
            "import xpnet\nxpnet.get_backend()\n")
    env = {**os.environ, "PYTHONPATH": ROOT, "XPNET_BACKEND": "cupy"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("xpnet.backends.BackendUnavailable: backend 'cupy' cannot load")
    assert "CuPy is not installed" in last and 'pip install "xpnet[cuda]"' in last


def test_a_kernel_that_cannot_compile_reports_nvrtc(monkeypatch):
    cp = emu.make_fake_cupy()

    class NoNvrtc(emu.ElementwiseKernel):
        def __call__(self, *args, **kwargs):
            raise RuntimeError("CuPy failed to load libnvrtc.so.13")

    cp.ElementwiseKernel = NoNvrtc
    emu.install(monkeypatch, cp)
    with pytest.raises(BackendUnavailable) as err:
        backends.resolve("cupy")
    msg = str(err.value)
    assert "compiling or running a CUDA kernel failed" in msg and "libnvrtc" in msg
    assert "NVRTC" in msg and "[ctk]" in msg


# ------------------------------------------------------------------------ settings
@pytest.mark.parametrize("raw,expected", [("1", True), ("on", True), ("TRUE", True),
                                          ("0", False), ("", False), ("no", False)])
def test_env_flag(raw, expected):
    assert cupy_backend.env_flag("XPNET_TF32", {"XPNET_TF32": raw}) is expected
    assert cupy_backend.env_flag("XPNET_TF32", {}) is False


def test_env_flag_rejects_other_values():
    with pytest.raises(ValueError, match="XPNET_TF32 must be 1 or 0.*'maybe'"):
        cupy_backend.env_flag("XPNET_TF32", {"XPNET_TF32": "maybe"})


def test_tf32_is_off_by_default_and_selectable(monkeypatch):
    cp = emu.make_fake_cupy()
    emu.install(monkeypatch, cp)
    linalg = cp._core._routines_linalg
    monkeypatch.delenv("XPNET_TF32", raising=False)
    bk_ = cupy_backend.CupyBackend(cp)
    assert bk_.tf32 is False and linalg.state["f"] == linalg.COMPUTE_TYPE_DEFAULT
    assert bk_.set_tf32(True) is True and linalg.state["f"] == linalg.COMPUTE_TYPE_TF32
    assert "tf32=on" in repr(bk_)
    assert bk_.set_tf32(False) is False and linalg.state["f"] == linalg.COMPUTE_TYPE_DEFAULT
    with pytest.raises(TypeError, match="True or False"):
        bk_.set_tf32("yes")
    monkeypatch.setenv("XPNET_TF32", "1")
    assert cupy_backend.CupyBackend(cp).tf32 is True
    assert cupy_backend.CupyBackend(cp, tf32=False).tf32 is False
    monkeypatch.setenv("XPNET_TF32", "sometimes")
    with pytest.raises(ValueError, match="XPNET_TF32"):
        cupy_backend.CupyBackend(cp)


# ------------------------------------------------------------ pure-Python kernel parts
def test_column_kernels_reject_other_dtypes():
    with pytest.raises(TypeError, match="float32 or float64 arrays, got float16"):
        gpu.column_source("float16")


def test_uniform_reference_is_a_seeded_uniform_stream():
    a = gpu.uniform_reference(7, (300, 400), "float32")
    assert a.shape == (300, 400) and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() < 1.0
    assert np.all(a * 2 ** 24 == np.floor(a * 2 ** 24))  # 24-bit grid
    assert abs(a.mean() - 0.5) < 0.005 and abs(a.var() - 1 / 12) < 0.002
    np.testing.assert_array_equal(a, gpu.uniform_reference(7, (300, 400), "float32"))
    assert np.mean(a == gpu.uniform_reference(8, (300, 400), "float32")) < 0.001
    d = gpu.uniform_reference(2 ** 63 - 1, (1000,), "float64")
    assert d.dtype == np.float64 and 0.0 <= d.min() and d.max() < 1.0
    # The first SplitMix64 output from state 0 (the published test vector).
    assert gpu.uniform_reference(0, (1,), "float64")[0] == (0xE220A8397B1DCDAF >> 11) * 2.0 ** -53


@pytest.mark.parametrize("dtype,ctype", [("float32", "float"), ("float64", "double")])
def test_column_sources_are_complete_for_each_dtype(dtype, ctype):
    src = gpu.column_source(dtype)
    assert "$" not in src and f"const {ctype}* A" in src
    suffix = {"float32": "f32", "float64": "f64"}[dtype]
    for name in gpu.COLUMN_KERNELS:
        assert f'extern "C" __global__ void {name}_{suffix}(' in src


# ----------------------------------------------------- kernels (emulated and GPU)
@pytest.mark.parametrize("act", ACTS)
def test_activation_forward_backward_match_numpy(bk, dtype, rng, act):
    Z, dA = rng.standard_normal((5, 9)) * 3, rng.standard_normal((5, 9))
    (nZ, ndA), (vZ, vdA) = pair(bk, dtype, Z, dA)
    nA, vA = xact.forward(NUMPY, act, nZ, 0.02), xact.forward(bk, act, vZ, 0.02)
    assert_close(bk.to_numpy(vA), nA, dtype)
    dZ = xact.backward(bk, act, vdA, vZ, vA, 0.02)
    assert bk.to_numpy(dZ).dtype == np.dtype(dtype)
    assert_close(bk.to_numpy(dZ), xact.backward(NUMPY, act, ndA, nZ, nA, 0.02), dtype)


@pytest.mark.parametrize("act", ACTS)
def test_bias_is_fused_into_the_activation(bk, dtype, rng, act):
    W, A, b = rng.standard_normal((4, 6)), rng.standard_normal((6, 11)), rng.standard_normal((4, 1))
    (nW, nA, nb), (vW, vA, vb) = pair(bk, dtype, W, A, b)
    nZ, nOut = xact.linear_activation_forward(NUMPY, nW, nA, nb, act, 0.03)
    vZ, vOut = xact.linear_activation_forward(bk, vW, vA, vb, act, 0.03)
    assert_close(bk.to_numpy(vZ), nZ, dtype)
    assert_close(bk.to_numpy(vOut), nOut, dtype)
    vZ2, vOut2 = xact.linear_activation_forward(bk, vW, vA, None, act, 0.03)
    nZ2, nOut2 = xact.linear_activation_forward(NUMPY, nW, nA, None, act, 0.03)
    assert_close(bk.to_numpy(vZ2), nZ2, dtype)
    assert_close(bk.to_numpy(vOut2), nOut2, dtype)


def test_unknown_activation_is_a_clear_error(bk):
    x = bk.zeros((2, 3), "float64")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        xact.forward(bk, "swish", x)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        xact.linear_activation_forward(bk, bk.zeros((2, 2), "float64"), x, None, "swish")


def test_extreme_logits_stay_finite(bk, dtype):
    Z = np.array([[-1000.0, 0.0, 1000.0, 30.0], [1000.0, 0.0, -1000.0, -30.0]])
    vZ = bk.asarray(Z, dtype)
    for act in ("sigmoid", "softmax"):
        A = bk.to_numpy(xact.forward(bk, act, vZ))
        assert np.all(np.isfinite(A)) and A.min() >= 0.0 and A.max() <= 1.0
    A = bk.to_numpy(xact.forward(bk, "softmax", vZ))
    assert_close(A.sum(axis=0), np.ones(4), dtype)
    Y = bk.asarray(np.array([[1.0, 0.0, 0.0, 1.0]]), dtype)
    z = vZ[:1]
    cost = bk.item(xloss.value(bk, "binary_crossentropy", z, xact.forward(bk, "sigmoid", z), Y))
    assert_close(cost, (1000.0 + np.log(2) + 1000.0 + np.log1p(np.exp(-30.0))) / 4, dtype)


def test_linear_backward_matches_numpy(bk, dtype, rng):
    dZ, X = rng.standard_normal((4, 8)), rng.standard_normal((6, 20))
    W = rng.standard_normal((4, 6))
    (ndZ, nX, nW), (vdZ, vX, vW) = pair(bk, dtype, dZ, X, W)
    nA, vA = nX[:, 5:13], vX[:, 5:13]  # a batch: a non-contiguous column slice
    flat_n, flat_v = NUMPY.zeros((28,), dtype), bk.zeros((28,), dtype)
    views = [(f[:24].reshape(4, 6), f[24:].reshape(4, 1)) for f in (flat_n, flat_v)]
    n_prev = NUMPY.linear_backward(ndZ, nA, nW, *views[0])
    v_prev = bk.linear_backward(vdZ, vA, vW, *views[1])
    assert_close(bk.to_numpy(flat_v), flat_n, dtype)
    assert_close(bk.to_numpy(v_prev), n_prev, dtype)
    assert bk.linear_backward(vdZ, vA, vW, *views[1], need_dA_prev=False) is None


@pytest.mark.parametrize("loss", ["binary_crossentropy", "categorical_crossentropy", "mse"])
def test_losses_and_output_delta_match_numpy(bk, dtype, rng, loss):
    n, act = {"binary_crossentropy": (1, "sigmoid"), "categorical_crossentropy": (4, "softmax"),
              "mse": (2, "linear")}[loss]
    Z = rng.standard_normal((n, 30)) * 4
    if loss == "categorical_crossentropy":
        Y = np.eye(n)[:, rng.integers(0, n, 30)]
    elif loss == "binary_crossentropy":
        Y = (rng.random((1, 30)) > 0.5).astype(float)
    else:
        Y = rng.standard_normal((n, 30))
    (nZ, nY), (vZ, vYfull) = pair(bk, dtype, Z, Y)
    nY, vY = nY[:, 3:17], vYfull[:, 3:17]  # the batch slice the training loop passes
    nZ, vZ = nZ[:, 3:17].copy(), bk.copy(vZ[:, 3:17])
    nA, vA = xact.forward(NUMPY, act, nZ), xact.forward(bk, act, vZ)
    assert_close(bk.item(xloss.value(bk, loss, vZ, vA, vY)),
                 NUMPY.item(xloss.value(NUMPY, loss, nZ, nA, nY)), dtype)
    assert_close(bk.to_numpy(xloss.delta(bk, loss, None, vA, vY)),
                 xloss.delta(NUMPY, loss, None, nA, nY),
                 dtype)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        xloss.value(bk, "hinge", vZ, vA, vY)


@pytest.mark.parametrize("n, threshold, groups", [
    (5, 2, True), (600, None, True), (1030, None, True), (600, None, False), (64, None, True),
    (3, 2, True)])
def test_softmax_of_many_classes_matches_numpy(bk, dtype, rng, monkeypatch, n, threshold,
                                               groups):
    """Above ``column_kernel_rows`` rows the softmax paths use the column-group kernels (or,
    with ``group_kernels`` off, CuPy's reductions); at or below it, the per-column kernels.
    All agree with NumPy, extreme logits included, for row counts that leave the 8 lanes of a
    block uneven and a last block of 19 % 32 columns."""
    if threshold is not None:
        monkeypatch.setattr(bk, "column_kernel_rows", threshold)
    monkeypatch.setattr(bk, "group_kernels", groups)
    calls = []
    for name in ("softmax", "softmax_backward", "softmax_xent"):
        original = getattr(bk.kernels, name)
        monkeypatch.setattr(bk.kernels, name, lambda *a, _f=original, _n=name, **kw:
                            calls.append((_n, kw.get("groups", False))) or _f(*a, **kw))
    W, A_prev = rng.standard_normal((n, 6)), rng.standard_normal((6, 19))
    b = rng.standard_normal((n, 1))
    W[0] *= 400  # logits around +-1000 in the first row
    Y = np.eye(n)[:, rng.integers(0, n, 19)]
    dA = rng.standard_normal((n, 19))
    (nW, nP, nb, nY, ndA), (vW, vP, vb, vY, vdA) = pair(bk, dtype, W, A_prev, b, Y, dA)
    # Logits near +-1000 make values near the subnormals and cancellation in the backward pass
    # (dA - sum(dA A)): compare those with an absolute floor as well.
    tol = {"rtol": 1e-7, "atol": 1e-12} if dtype == "float64" else {"rtol": 1.3e-6, "atol": 1e-5}

    def close(actual, expected):
        np.testing.assert_allclose(bk.to_numpy(actual), expected, **tol)

    nZ, nA = xact.linear_activation_forward(NUMPY, nW, nP, nb, "softmax")
    vZ, vA = xact.linear_activation_forward(bk, vW, vP, vb, "softmax")
    assert np.all(np.isfinite(bk.to_numpy(vA)))
    assert_close(bk.to_numpy(vZ), nZ, dtype)
    close(vA, nA)
    close(xact.forward(bk, "softmax", vZ), nA)
    close(xact.backward(bk, "softmax", vdA, vZ, vA),
          xact.backward(NUMPY, "softmax", ndA, nZ, nA))
    loss = "categorical_crossentropy"
    assert_close(bk.item(xloss.value(bk, loss, vZ, vA, vY)),
                 NUMPY.item(xloss.value(NUMPY, loss, nZ, nA, nY)),
                 dtype)
    close(xloss.delta(bk, loss, None, vA, vY), xloss.delta(NUMPY, loss, None, nA, nY))
    per_column = n <= bk.column_kernel_rows
    kernels = ["softmax", "softmax", "softmax_backward", "softmax_xent"]
    if per_column or groups:
        assert calls == [(k, not per_column) for k in kernels]
    else:
        assert calls == []


def test_a_column_group_kernel_that_fails_warns_once_and_falls_back(bk, monkeypatch, rng):
    monkeypatch.setattr(bk, "group_kernels", True)
    original = bk.kernels.softmax

    def broken(*args, groups=False):
        if groups:
            raise RuntimeError("NVRTC_ERROR_COMPILATION")
        return original(*args)

    monkeypatch.setattr(bk.kernels, "softmax", broken)
    Z = rng.standard_normal((600, 9))
    with pytest.warns(RuntimeWarning, match="column-group softmax kernels failed"):
        A = xact.forward(bk, "softmax", bk.asarray(Z, "float64"))
    np.testing.assert_allclose(bk.to_numpy(A), xact.forward(NUMPY, "softmax", Z), rtol=1e-12)
    assert bk.group_kernels is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xact.forward(bk, "softmax", bk.asarray(Z, "float64"))


@pytest.mark.parametrize("n", [700, 4])
def test_the_softmax_kernels_keep_numpys_nan_and_inf_columns(bk, monkeypatch, n):
    """A NaN in a column makes that column NaN and leaves the others alone; -inf logits get
    probability 0; a column of -inf alone is NaN, as in NumPy's max-shifted softmax."""
    monkeypatch.setattr(bk, "column_kernel_rows", 512 if n > 4 else 2)
    Z = np.random.default_rng(3).standard_normal((n, 40))
    Z[n // 2, 3] = np.nan
    Z[1:, 5] = -np.inf
    Z[:, 7] = -np.inf
    Y = np.eye(n)[:, np.arange(40) % n]
    with np.errstate(all="ignore"):
        nA = xact.forward(NUMPY, "softmax", Z)
        nloss = xloss.value(NUMPY, "categorical_crossentropy", Z, nA, Y)
    vZ, vY = bk.asarray(Z, "float64"), bk.asarray(Y, "float64")
    vA = xact.forward(bk, "softmax", vZ)
    np.testing.assert_allclose(bk.to_numpy(vA), nA, rtol=1e-12, atol=1e-300)
    assert np.isnan(bk.to_numpy(vA)[:, [3, 7]]).all()
    assert np.isfinite(bk.to_numpy(vA)[:, [0, 1, 2, 4, 5, 6]]).all()
    value = bk.item(xloss.value(bk, "categorical_crossentropy", vZ, vA, vY))
    assert np.isnan(value) and np.isnan(NUMPY.item(nloss))


def test_the_fused_cross_entropy_gradient_is_used_only_for_the_same_arrays(bk, rng):
    Z = rng.standard_normal((3, 7))
    Y = np.eye(3)[:, rng.integers(0, 3, 7)]
    vZ, vY = bk.asarray(Z, "float64"), bk.asarray(Y, "float64")
    vA = xact.forward(bk, "softmax", vZ)
    xloss.value(bk, "categorical_crossentropy", vZ, vA, vY)
    other = bk.asarray(np.full((3, 7), 0.25), "float64")
    delta = xloss.delta(bk, "categorical_crossentropy", None, other, vY)
    np.testing.assert_allclose(bk.to_numpy(delta), 0.25 - Y)
    xloss.value(bk, "categorical_crossentropy", vZ, vA, vY)
    fused = xloss.delta(bk, "categorical_crossentropy", None, vA, vY)
    np.testing.assert_allclose(bk.to_numpy(fused), bk.to_numpy(vA) - Y, rtol=1e-15)
    again = xloss.delta(bk, "categorical_crossentropy", None, vA, vY)  # not kept twice
    assert again is not fused
    np.testing.assert_array_equal(bk.to_numpy(again), bk.to_numpy(fused))


def _run_updates(backend, dtype, method, n=37, steps=4, **hp):
    rng = np.random.default_rng(5)
    theta = backend.asarray(rng.standard_normal(n), dtype=dtype)
    states = [backend.zeros((n,), dtype) for _ in range({"sgd": 0, "momentum": 1,
                                                         "rmsprop": 1, "adam": 2}[method])]
    for t in range(1, steps + 1):
        grad = backend.asarray(rng.standard_normal(n) * 10.0 ** rng.integers(-9, 1), dtype=dtype)
        if method == "sgd":
            xopt.update(backend, "gd", theta, grad, {}, 0.1, 1)
        elif method == "momentum":
            xopt.update(backend, "momentum", theta, grad, {"v": states[0]}, 0.1, t, beta=0.9, **hp)
        elif method == "rmsprop":
            xopt.update(backend, "rmsprop", theta, grad, {"s": states[0]}, 0.01, 1, beta=0.9,
                        epsilon=1e-8)
        else:
            xopt.update(backend, "adam", theta, grad, {"m": states[0], "v": states[1]}, 0.01, t,
                        beta1=0.9, beta2=0.999, epsilon=1e-8)
    return [backend.to_numpy(a) for a in [theta] + states]


@pytest.mark.parametrize("method,hp", [("sgd", {}), ("momentum", {}),
                                       ("momentum", {"bias_correction": True}),
                                       ("rmsprop", {}), ("adam", {})])
def test_fused_optimizer_updates_match_numpy(bk, dtype, method, hp):
    for actual, expected in zip(_run_updates(bk, dtype, method, **hp),
                                _run_updates(NUMPY, dtype, method, **hp)):
        assert_close(actual, expected, dtype)


@pytest.mark.parametrize("name, hp", [
    ("gd", {}), ("momentum", {"beta": 0.9, "bias_correction": False}),
    ("momentum", {"beta": 0.9, "bias_correction": True}),
    ("rmsprop", {"beta": 0.9, "epsilon": 1e-8}),
    ("adam", {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8})])
def test_a_recorded_update_computes_the_eager_one_bit_for_bit(bk, dtype, monkeypatch, name, hp):
    """While the whole step is captured, an update takes its scalars (made on the host by the
    eager update's own function, from the clock) into the feed; its kernel, reading them from
    there, writes exactly what the eager kernel writes. A clock that disagrees with the
    update's arguments is refused (the capture then fails and the step runs eagerly)."""
    from xpnet.backends.step_feed import StepClock, StepFeed, capturing
    slots = {"gd": (), "momentum": ("v",), "rmsprop": ("s",), "adam": ("m", "v")}[name]
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(41) for _ in range(2 + len(slots))]
    if name in ("rmsprop", "adam"):
        arrays[-1] = arrays[-1] ** 2                       # a second moment is >= 0
    lr, t = 0.03, 7
    eager = [bk.asarray(a, dtype) for a in arrays]
    xopt.update(bk, name, eager[0], eager[1], dict(zip(slots, eager[2:])), lr, t, **hp)
    fed = [bk.asarray(a, dtype) for a in arrays]
    clock = StepClock(lr=lambda: lr, t=lambda: t, advance=None)
    feed = StepFeed(bk.xp, clock)
    monkeypatch.setattr(capturing, "feed", feed, raising=False)

    def copies():
        return bk.copy(fed[0]), fed[1], {k: bk.copy(v) for k, v in zip(slots, fed[2:])}

    xopt.update(bk, name, *copies(), lr, t, **hp)
    with pytest.raises(RuntimeError, match="clock .* does not match"):
        xopt.update(bk, name, *copies(), lr, t + 1, **hp)
    monkeypatch.setattr(capturing, "feed", None)
    feed.upload()                                           # what a replay finds there
    bk.kernels.update_fed({"gd": "sgd"}.get(name, name), fed[0], fed[1],
                          dict(zip(slots, fed[2:])), {**xopt.DEFAULTS, **hp}, feed.scalars, 0)
    for got, want in zip(fed, eager):
        np.testing.assert_array_equal(bk.to_numpy(got), bk.to_numpy(want))


def test_device_uniform_matches_its_reference_bit_for_bit(bk, dtype):
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(11)
    u = bk.to_numpy(bk.uniform(rng_a, (33, 65), dtype))
    seed = int(rng_b.integers(0, 2 ** 63))
    np.testing.assert_array_equal(u, gpu.uniform_reference(seed, (33, 65), dtype))
    assert u.dtype == np.dtype(dtype) and bk.uniform_on_device
    assert bk.to_numpy(bk.uniform(rng_a, (0, 4), dtype)).shape == (0, 4)


def test_a_recorded_dropout_draw_reads_its_seed_from_the_device(bk, dtype, monkeypatch):
    """While a step is captured, ``uniform`` takes a slot of the feed (the seed drawn from the
    host Generator as an eager draw would) and its kernel reads the seed from the device when
    it runs: with the seed copied there, the draws are the eager ones, bit for bit."""
    from xpnet.backends.step_feed import StepFeed, capturing
    feed = StepFeed(bk.xp)
    rng, reference = np.random.default_rng(4), np.random.default_rng(4)
    monkeypatch.setattr(capturing, "feed", feed, raising=False)
    bk.uniform(rng, (7, 9), dtype)                  # recorded: the seed is not there yet
    bk.uniform(rng, (3, 2), dtype)
    monkeypatch.setattr(capturing, "feed", None)
    seeds = [int(reference.integers(0, 2 ** 63)) for _ in range(2)]
    assert feed.seed_values == seeds and feed.rngs == [rng, rng]
    feed.upload()
    for slot, shape in enumerate([(7, 9), (3, 2)]):
        np.testing.assert_array_equal(
            bk.to_numpy(bk.kernels.uniform_fed(feed.seeds, slot, shape, dtype)),
            gpu.uniform_reference(seeds[slot], shape, dtype))
    feed.next_step()                                 # the next step's seeds, same order
    assert feed.seed_values == [int(reference.integers(0, 2 ** 63)) for _ in range(2)]


def test_recording_the_whole_step_is_opt_in_and_needs_graphs(bk, monkeypatch):
    assert bk.info()["cuda_graph_whole_step"] is False and not bk.records_updates
    with pytest.raises(TypeError, match="whole_step takes True, False or None"):
        cupy_backend.CupyBackend(bk.xp, whole_step="yes")
    monkeypatch.setenv("XPNET_CUDA_GRAPH_WHOLE", "1")
    again = cupy_backend.CupyBackend(bk.xp)
    assert again.whole_step is again.cuda_graph      # on only where graphs are (no cuBLAS here)
    step = object()
    assert again.step_runner(step, draws=True) is step


def test_host_rng_option_gives_the_cpu_backends_draws(bk, dtype):
    host = cupy_backend.CupyBackend(bk.xp, tf32=bk.tf32, device_rng=False)
    assert not host.uniform_on_device
    np.testing.assert_array_equal(
        host.to_numpy(host.uniform(np.random.default_rng(3), (4, 5), dtype)),
        NUMPY.uniform(np.random.default_rng(3), (4, 5), dtype))


# --------------------------------------------------------------- whole-network runs
def _blobs(rng, m=150, n_x=4, classes=3):
    centers = rng.standard_normal((classes, n_x)) * 2.5
    y = rng.integers(0, classes, m)
    return centers[y] + rng.standard_normal((m, n_x)), y


CONFIGS = {
    "softmax-adam": dict(hidden=(8, 6), activation="tanh", optimizer="adam", batch_size=32),
    "sigmoid-momentum-bn-l2": dict(hidden=(10,), activation="relu", optimizer="momentum",
                                   batch_size=16, batch_norm=True, l2=0.01),
    "regression-rmsprop": dict(hidden=(8,), activation="leaky_relu", optimizer="rmsprop",
                               batch_size=64),
}


def _fit(config, backend, dtype, rng):
    X, y = _blobs(rng)
    kwargs = dict(CONFIGS[config], epochs=5, seed=3, dtype=dtype, backend=backend)
    if config.startswith("sigmoid"):
        y = (y == 0).astype(int)
    if config.startswith("regression"):
        return NeuralNetworkRegressor(**kwargs).fit(X, X @ [0.5, -1.0, 0.2, 0.1] + 0.3 * y)
    return NeuralNetwork(**kwargs).fit(X, y)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_five_epoch_training_matches_numpy(bk, dtype, config):
    ours = _fit(config, bk, dtype, np.random.default_rng(1))
    ref = _fit(config, NUMPY, dtype, np.random.default_rng(1))
    tol = {"rtol": 1e-7, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-5, "atol": 1e-6}
    assert ours.backend_ == "cupy" and len(ours.history_["cost"]) == 5
    np.testing.assert_allclose(ours.history_["cost"], ref.history_["cost"], **tol)
    for name, value in ref.parameters_.items():
        np.testing.assert_allclose(ours.parameters_[name], value, err_msg=name, **tol)


@pytest.mark.parametrize("sample_major", [False, True])
def test_take_columns_into_a_batch_buffer(bk, dtype, rng, sample_major):
    x = rng.standard_normal((5, 40)).astype(dtype)
    idx = np.array([39, 0, 7, 7, 21, 3])
    dx = bk.transpose(bk.asarray(np.ascontiguousarray(x.T))) if sample_major else bk.asarray(x)
    buf = bk.transpose(bk.empty((8, 5), dtype)) if sample_major else bk.empty((5, 8), dtype)
    out = bk.take_columns(dx, bk.asarray(idx), out=buf[:, :6])
    np.testing.assert_array_equal(bk.to_numpy(out), x[:, idx])
    np.testing.assert_array_equal(bk.to_numpy(bk.take_columns(dx, bk.asarray(idx))), x[:, idx])
    with pytest.raises(ValueError, match="out has shape"):
        bk.take_columns(dx, bk.asarray(idx), out=buf)


def test_one_host_read_and_one_transfer_per_epoch(bk, monkeypatch):
    counts = {"to_numpy": 0, "asarray": 0, "synchronize": 0}
    for method in counts:
        original = getattr(bk, method)

        def counted(*args, _original=original, _name=method, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(bk, method, counted)
    X, y = _blobs(np.random.default_rng(0), m=96)
    totals = []
    for epochs in (1, 3):
        for key in counts:
            counts[key] = 0
        NeuralNetwork(hidden=(12, 8), keep_prob=0.8, batch_size=16, epochs=epochs, seed=0,
                      backend=bk).fit(X, y)
        totals.append(dict(counts))
    per_epoch = {k: (totals[1][k] - totals[0][k]) / 2 for k in counts}
    # 6 batches per epoch, dropout on: still one device->host read (the epoch's cost), one
    # host->device copy (the epoch's permutation) and one synchronize (the epoch timer).
    assert per_epoch == {"to_numpy": 1, "asarray": 1, "synchronize": 1}


def test_dropout_training_is_reproducible_on_the_device(bk):
    X, y = _blobs(np.random.default_rng(2))
    fits = [NeuralNetwork(hidden=(16,), keep_prob=0.7, epochs=3, seed=4, batch_size=32,
                          backend=bk).fit(X, y) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].history_["cost"], fits[1].history_["cost"])
    no_drop = NeuralNetwork(hidden=(16,), epochs=3, seed=4, batch_size=32, backend=bk).fit(X, y)
    assert fits[0].history_["cost"] != no_drop.history_["cost"]


class _WriteThroughFeed(StepFeed):
    """A feed whose values reach the device the moment they are taken: the emulation runs
    each kernel at once, so a recorded kernel reads them at once."""

    def take_seed(self, rng):
        slot = super().take_seed(rng)
        self.upload()
        return slot

    def take_scalars(self, producer):
        slot = super().take_scalars(producer)
        self.upload()
        return slot


@pytest.mark.parametrize("kw", [dict(optimizer="adam", lr_decay="inverse_time", keep_prob=0.8),
                                dict(optimizer="momentum", bias_correction=True,
                                     keep_prob=[0.7, 0.9], dtype="float64"),
                                dict(optimizer="rmsprop", batch_norm=True, keep_prob=0.6)])
def test_the_whole_step_launches_the_same_arguments_every_step(emulated, monkeypatch, kw):
    """A CUDA graph replays each launch with the arguments it was captured with. In feed mode
    (the whole step, dropout and update, as recorded) every kernel launch of a step has the
    same scalar arguments at every step: all that changes comes from the feed. And the fit,
    each step fed its seeds and scalars, equals the eager fit bit for bit."""
    bk, logs = emulated, []

    def runner_for(step, draws=False, clock=None):
        calls = []

        def runner():
            calls.append(1)
            if len(calls) == 1:
                return step()                       # the warm-up call: eager
            emu.LAUNCHES = []
            capturing.feed = _WriteThroughFeed(bk.xp, clock)
            try:
                step()
            finally:
                capturing.feed = None
                logs.append(emu.LAUNCHES)
                emu.LAUNCHES = None

        return runner

    X, y = _blobs(np.random.default_rng(6))
    args = dict(hidden=(12, 8), epochs=3, seed=3, batch_size=32, **kw)
    eager = NeuralNetwork(backend=bk, **args).fit(X, y)
    monkeypatch.setattr(bk, "whole_step", True)
    monkeypatch.setattr(bk, "step_runner", runner_for)
    whole = NeuralNetwork(backend=bk, **args).fit(X, y)
    assert len(logs) > 5 and all(log == logs[0] for log in logs), \
        [sorted(set(logs[0]) ^ set(log)) for log in logs if log != logs[0]][:1]
    assert {name for name, _ in logs[0]} >= {"xpnet_uniform_fed", f"xpnet_{kw['optimizer']}_fed"}
    assert whole.history_["cost"] == eager.history_["cost"]
    for name, value in eager.parameters_.items():
        np.testing.assert_array_equal(whole.parameters_[name], value, err_msg=name)


@pytest.mark.parametrize("out,hidden,kp,batch_norm", [("sigmoid", "relu", 1.0, False),
                                                      ("softmax", "tanh", 0.7, True),
                                                      ("linear", "softmax", 1.0, False)])
def test_gradient_check(bk, rng, out, hidden, kp, batch_norm):
    n_out = {"sigmoid": 1, "softmax": 3, "linear": 2}[out]
    X = rng.standard_normal((4, 6))
    if out == "softmax":
        Y = np.eye(3)[:, rng.integers(0, 3, 6)]
    else:
        Y = (rng.random((n_out, 6)) > 0.5).astype(float)
    arch = Architecture((4, 5, n_out), hidden, out, keep_prob=kp, batch_norm=batch_norm)
    assert gradient_check(X, Y, arch, seed=1, backend=bk) < 1e-7


def test_repr_and_info(bk):
    info = bk.info()
    assert info["backend"] == "cupy" and info["device"].startswith("cuda")
    assert info["tf32"] is False and info["device_rng"] is True
    assert repr(bk).startswith("<xpnet backend 'cupy' on cuda")


# ------------------------------------------------------------------------- GPU only
@pytest.mark.gpu
def test_auto_picks_cupy_on_a_gpu_machine(real_gpu):
    name, reason = backends.auto_choice()
    assert name == "cupy", reason


@pytest.mark.gpu
def test_fit_keeps_its_arrays_on_the_device(real_gpu):
    import cupy
    X, y = _blobs(np.random.default_rng(0), m=64)
    model = NeuralNetwork(hidden=(8,), epochs=2, backend=real_gpu).fit(X, y)
    assert isinstance(model._params.flat, cupy.ndarray)


@pytest.mark.gpu
def test_tf32_is_off_by_default_and_changes_float32_matmuls_when_on(real_gpu):
    import cupy
    # 1.0004 is exact to ~1e-7 in float32 but rounds to 1.0 in TF32 (10 mantissa bits).
    a, b = np.full((256, 512), 1.0004, dtype=np.float32), np.ones((512, 256), dtype=np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    da, db = cupy.asarray(a), cupy.asarray(b)

    def rel_err():
        got = cupy.asnumpy(real_gpu.matmul(da, db)).astype(np.float64)
        return np.abs(got - exact).max() / np.abs(exact).max()

    assert real_gpu.tf32 is False
    assert rel_err() < 1e-5
    if int(cupy.cuda.Device().compute_capability) < 80:
        pytest.skip("TF32 needs compute capability 8.0 or newer")
    try:
        assert real_gpu.set_tf32(True) is True
        assert rel_err() > 2e-4  # 512 * 1.0 instead of 512 * 1.0004
    finally:
        real_gpu.set_tf32(False)
    assert rel_err() < 1e-5
