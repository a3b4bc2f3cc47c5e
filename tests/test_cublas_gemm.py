"""``xpnet.kernels.cublas``: the row-major to column-major mapping of every operand layout.

A stand-in for libcublas runs the column-major ``gemm`` contract in NumPy on host memory (the
"device pointers" are host addresses), so the op codes, leading dimensions and the operand
swap are checked here on the CPU; the real library runs in the GPU tests.
"""

from __future__ import annotations

import ctypes
import types

import numpy as np
import pytest

from conftest import require_cupy_gpu
from xpnet.kernels import cublas


class HostArray(np.ndarray):
    """A NumPy array with CuPy's ``.data.ptr``."""

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data)


def host(x):
    return np.asarray(x).view(HostArray)


def _colmajor(ptr, rows, cols, ld, dtype):
    """The column-major ``rows x cols`` matrix with leading dimension ``ld`` at ``ptr``."""
    item = np.dtype(dtype).itemsize
    n = ld * (cols - 1) + rows
    buf = (ctypes.c_char * (n * item)).from_address(ptr)
    flat = np.frombuffer(buf, dtype=dtype)
    return np.lib.stride_tricks.as_strided(flat, (rows, cols), (item, ld * item))


def fake_lib(calls):
    def gemm(dtype):
        def run(handle, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
            calls.append((ta, tb, m, n, k, lda, ldb, ldc))
            assert lda >= max(1, m if ta == cublas.OP_N else k)
            assert ldb >= max(1, k if tb == cublas.OP_N else n)
            assert ldc >= max(1, m)
            a = _colmajor(A, *((m, k) if ta == cublas.OP_N else (k, m)), lda, dtype)
            b = _colmajor(B, *((k, n) if tb == cublas.OP_N else (n, k)), ldb, dtype)
            a = a if ta == cublas.OP_N else a.T
            b = b if tb == cublas.OP_N else b.T
            c = _colmajor(C, m, n, ldc, dtype)
            c[...] = alpha._obj.value * (a.astype(np.float64) @ b) + beta._obj.value * 0
            return 0
        return run

    def ok(*args):
        return 0

    lib = types.SimpleNamespace(
        cublasCreate_v2=ok, cublasDestroy_v2=ok, cublasSetStream_v2=ok,
        cublasSetWorkspace_v2=ok, cublasSetMathMode=ok,
        cublasSgemm_v2=gemm(np.float32), cublasDgemm_v2=gemm(np.float64))
    return lib


def fake_cp():
    stream = types.SimpleNamespace(ptr=0)
    cuda = types.SimpleNamespace(get_current_stream=lambda: stream)
    return types.SimpleNamespace(cuda=cuda, empty=lambda shape, dtype: host(
        np.empty(shape, dtype)))


def operand(rng, shape, kind, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    if kind == "C":
        return host(x), x
    if kind == "F":
        return host(np.asfortranarray(x)), x
    if kind == "row-slice":  # rows contiguous, row pitch wider than the row
        big = np.zeros((shape[0], shape[1] + 3), dtype)
        big[:, :shape[1]] = x
        return host(big)[:, :shape[1]], x
    big = np.zeros((shape[1], shape[0] + 5), dtype).T  # columns contiguous, wider pitch
    big[:shape[0], :] = x
    return host(big)[:shape[0], :], x


KINDS = ("C", "F", "row-slice", "col-slice")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ka", KINDS)
@pytest.mark.parametrize("kb", KINDS)
def test_every_operand_layout_gives_a_at_b(dtype, ka, kb):
    rng = np.random.default_rng(0)
    calls = []
    gemm = cublas.Gemm(fake_cp(), fake_lib(calls))
    a, a_ref = operand(rng, (5, 7), ka, dtype)
    b, b_ref = operand(rng, (7, 3), kb, dtype)
    assert gemm.supports(a, b)
    out = gemm.matmul(a, b, alpha=0.5)
    assert out.shape == (5, 3) and out.flags.c_contiguous and len(calls) == 1
    tol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out, 0.5 * (a_ref @ b_ref), rtol=tol, atol=tol)
    into = host(np.full((5, 3), np.nan, dtype))
    assert gemm.matmul(a, b, out=into) is into
    np.testing.assert_allclose(into, a_ref @ b_ref, rtol=tol, atol=tol)


def test_vectors_and_degenerate_shapes():
    gemm = cublas.Gemm(fake_cp(), fake_lib([]))
    rng = np.random.default_rng(1)
    for sa, sb in [((1, 4), (4, 6)), ((3, 1), (1, 2)), ((4, 5), (5, 1)), ((1, 1), (1, 1))]:
        a, b = rng.standard_normal(sa), rng.standard_normal(sb)
        for x, y in [(a, b), (np.asfortranarray(a), b), (a, np.asfortranarray(b)), (a.T.T, b)]:
            out = gemm.matmul(host(x), host(y))
            np.testing.assert_allclose(out, a @ b, rtol=1e-12)
    assert (gemm.matmul(host(np.ones((2, 0))), host(np.ones((0, 3)))) == 0).all()


def test_what_it_refuses():
    gemm = cublas.Gemm(fake_cp(), fake_lib([]))
    a = host(np.ones((4, 6)))
    assert not gemm.supports(a[:, ::2], host(np.ones((3, 2))))       # neither axis contiguous
    assert not gemm.supports(a, host(np.ones((6, 2), np.float32)))   # mixed dtypes
    assert not gemm.supports(host(np.ones((4, 6), np.int64)), host(np.ones((6, 2), np.int64)))
    assert not gemm.supports(a, host(np.ones((6, 2))), out=host(np.ones((2, 4))).T)
    with pytest.raises(ValueError, match="do not match"):
        gemm.matmul(a, host(np.ones((5, 2))))


def test_find_library_reads_the_process_map(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text(
        "7f00-7f01 r-xp 0 08:01 1 /usr/lib/libcublasLt.so.13.1.0\n"
        "7f02-7f03 r-xp 0 08:01 2 /opt/venv/nvidia/cu13/lib/libcublas.so.13\n")
    assert cublas.find_library(str(maps)) == "/opt/venv/nvidia/cu13/lib/libcublas.so.13"
    maps.write_text("7f00-7f01 r-xp 0 08:01 1 /usr/lib/libc.so.6\n")
    assert cublas.find_library(str(maps)) is None
    assert cublas.find_library(str(tmp_path / "absent")) is None


# ------------------------------------------------------------------------- GPU only
@pytest.fixture(scope="module")
def gpu_gemm():
    cupy = require_cupy_gpu()
    gemm = cublas.Gemm.load(cupy)
    assert gemm is not None, "libcublas could not be loaded next to CuPy"
    return cupy, gemm


def on_device(cupy, x, kind):
    """``x`` on the device in the layout ``kind`` (see ``operand``)."""
    r, c = x.shape
    if kind == "C":
        return cupy.asarray(x)
    if kind == "F":
        return cupy.asfortranarray(cupy.asarray(x))
    if kind == "row-slice":
        big = cupy.zeros((r, c + 3), x.dtype)
        big[:, :c] = cupy.asarray(x)
        return big[:, :c]
    big = cupy.zeros((c, r + 5), x.dtype).T
    big[:r, :] = cupy.asarray(x)
    return big[:r, :]


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gpu_gemm_matches_numpy_in_every_layout(gpu_gemm, dtype):
    cupy, gemm = gpu_gemm
    rng = np.random.default_rng(2)
    a_ref = rng.standard_normal((65, 130)).astype(dtype)
    b_ref = rng.standard_normal((130, 33)).astype(dtype)
    tight = {"rtol": 1e-12, "atol": 1e-12}
    tol = {"rtol": 1e-5, "atol": 1e-4} if dtype == "float32" else tight
    for ka in KINDS:
        for kb in KINDS:
            da, db = on_device(cupy, a_ref, ka), on_device(cupy, b_ref, kb)
            assert gemm.supports(da, db), (ka, kb)
            got = cupy.asnumpy(gemm.matmul(da, db, alpha=0.25))
            np.testing.assert_allclose(got, 0.25 * (a_ref @ b_ref), err_msg=str((ka, kb)),
                                       **tol)


@pytest.mark.gpu
def test_gpu_gemm_is_captured_in_a_cuda_graph(gpu_gemm):
    cupy, gemm = gpu_gemm
    a = cupy.asarray(np.random.default_rng(3).standard_normal((64, 96)), dtype=cupy.float32)
    b = cupy.asarray(np.random.default_rng(4).standard_normal((96, 32)), dtype=cupy.float32)
    out = cupy.zeros((64, 32), cupy.float32)
    stream = cupy.cuda.Stream()
    with stream:
        stream.begin_capture()
        gemm.matmul(a, b, out=out)
        graph = stream.end_capture()
    stream.synchronize()
    assert float(abs(out).max()) == 0.0  # recorded, not run
    graph.launch(stream=stream)
    stream.synchronize()
    np.testing.assert_allclose(cupy.asnumpy(out), cupy.asnumpy(a @ b), rtol=1e-5, atol=1e-5)
    b *= 2  # a replay reads the buffers' current contents
    graph.launch(stream=stream)
    stream.synchronize()
    np.testing.assert_allclose(cupy.asnumpy(out), cupy.asnumpy(a @ b), rtol=1e-5, atol=1e-5)
