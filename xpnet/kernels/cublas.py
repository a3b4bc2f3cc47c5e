"""Matrix products straight from cuBLAS (through ``ctypes``), for the ``cupy`` backend.

Why not ``cupy.matmul``: CuPy refuses every cuBLAS call while a stream is being captured into a
CUDA graph (``NotImplementedError: calling cuBLAS API during stream capture is currently
unsupported``), although cuBLAS itself supports capture; and its general ``matmul`` spends tens
of microseconds of Python and Cython per call, which is most of a small batch's step. ``Gemm``
owns one cuBLAS handle with a fixed workspace (so nothing is allocated inside a capture), sets
the handle's stream to CuPy's current stream on every call, and runs ``sgemm``/``dgemm`` on the
device pointers of 2-D arrays whose rows or columns are contiguous (the transposed views the
network passes, batch-buffer slices included), writing into a C-contiguous output.

The library is the ``libcublas`` CuPy itself loaded (found in ``/proc/self/maps`` after CuPy
created its handle), else the first of ``libcublas.so.{13,12,11}`` that loads. ``Gemm.load``
returns None where none can be found (HIP, no Linux ``/proc``): the backend then keeps
``cupy.matmul`` and trains without CUDA graphs.
"""

from __future__ import annotations

import ctypes
import re

import numpy as np

OP_N, OP_T = 0, 1
DEFAULT_MATH, TF32_MATH = 0, 3            # cublasMath_t
WORKSPACE_BYTES = 32 * 1024 * 1024         # NVIDIA's recommendation for Hopper
_SONAMES = ("libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so")
_MAPPED = re.compile(r"\s(/\S*/libcublas\.so[.\d]*)$")


def find_library(maps_path="/proc/self/maps"):
    """Path of the ``libcublas`` mapped into this process, or None."""
    try:
        with open(maps_path) as f:
            for line in f:
                match = _MAPPED.search(line.rstrip("\n"))
                if match:
                    return match.group(1)
    except OSError:
        return None
    return None


def open_library(cp):
    """``ctypes.CDLL`` of CuPy's cuBLAS, or None."""
    try:
        cp.cuda.device.get_cublas_handle()  # makes CuPy load its libcublas now
    except Exception:  # no such attribute on an old CuPy, or no device: try the sonames
        pass
    for name in (find_library(),) + _SONAMES:
        if name is None:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def layout(x):
    """``(op, ld)`` of the column-major matrix cuBLAS sees for the row-major ``x (r, c)``:
    ``(OP_N, ld)`` when rows are contiguous (memory holds ``x^T``), ``(OP_T, ld)`` when
    columns are; None when neither (the caller copies)."""
    r, c = x.shape
    size = x.itemsize
    s0, s1 = x.strides
    if (c == 1 or s1 == size) and s0 % size == 0 and (r == 1 or s0 // size >= c):
        return OP_N, max(s0 // size if r > 1 else c, c, 1)
    if (r == 1 or s0 == size) and s1 % size == 0 and (c == 1 or s1 // size >= r):
        return OP_T, max(s1 // size if c > 1 else r, r, 1)
    return None


class Gemm:
    """``C = alpha * A @ B`` on one cuBLAS handle of the current device."""

    def __init__(self, cp, lib):
        self.cp = cp
        self.lib = lib
        self._declare(lib)
        handle = ctypes.c_void_p()
        self._check(lib.cublasCreate_v2(ctypes.byref(handle)), "cublasCreate")
        self.handle = handle
        self.workspace = cp.empty(WORKSPACE_BYTES, dtype=np.uint8)
        self._check(lib.cublasSetWorkspace_v2(handle, ctypes.c_void_p(self.workspace.data.ptr),
                                              ctypes.c_size_t(WORKSPACE_BYTES)),
                    "cublasSetWorkspace")
        self.tf32 = False
        self.set_tf32(False)
        self._scalars = {np.dtype(np.float32): ctypes.c_float,
                         np.dtype(np.float64): ctypes.c_double}
        self._fn = {np.dtype(np.float32): lib.cublasSgemm_v2,
                    np.dtype(np.float64): lib.cublasDgemm_v2}
        self._stream = None

    @classmethod
    def load(cls, cp):
        """A ``Gemm`` for CuPy ``cp``, or None where cuBLAS cannot be reached this way."""
        if getattr(getattr(cp.cuda, "runtime", None), "is_hip", False):
            return None
        lib = open_library(cp)
        if lib is None or not hasattr(lib, "cublasSetWorkspace_v2"):
            return None
        return cls(cp, lib)

    @staticmethod
    def _declare(lib):
        vp, i, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
        lib.cublasCreate_v2.argtypes = [ctypes.POINTER(vp)]
        lib.cublasDestroy_v2.argtypes = [vp]
        lib.cublasSetStream_v2.argtypes = [vp, vp]
        lib.cublasSetWorkspace_v2.argtypes = [vp, vp, sz]
        lib.cublasSetMathMode.argtypes = [vp, i]
        for name in ("cublasSgemm_v2", "cublasDgemm_v2"):
            getattr(lib, name).argtypes = [vp, i, i, i, i, i, vp, vp, i, vp, i, vp, vp, i]

    @staticmethod
    def _check(status, what):
        if status != 0:
            raise RuntimeError(f"{what} failed with cuBLAS status {status}")

    def set_tf32(self, enabled):
        """TF32 tensor cores for float32 products (this handle only)."""
        mode = TF32_MATH if enabled else DEFAULT_MATH
        self._check(self.lib.cublasSetMathMode(self.handle, mode), "cublasSetMathMode")
        self.tf32 = bool(enabled)

    def supports(self, a, b, out=None):
        """Whether ``matmul`` takes these operands without a copy."""
        dt = a.dtype
        return (a.ndim == 2 and b.ndim == 2 and dt in self._fn and b.dtype == dt
                and (out is None or (out.dtype == dt and out.flags.c_contiguous))
                and layout(a) is not None and layout(b) is not None)

    def matmul(self, a, b, out=None, alpha=1.0):
        """``out = alpha * a @ b``; ``a (n, k)``, ``b (k, m)``, ``out (n, m)`` C-contiguous
        (allocated when None). Call ``supports`` first."""
        n, k = a.shape
        m = b.shape[1]
        if b.shape[0] != k or (out is not None and out.shape != (n, m)):
            raise ValueError(f"matmul: shapes {a.shape} @ {b.shape} -> "
                             f"{None if out is None else out.shape} do not match")
        if out is None:
            out = self.cp.empty((n, m), dtype=a.dtype)
        if out.size == 0:
            return out
        if k == 0:
            out.fill(0)
            return out
        op_b, ldb = layout(b)
        op_a, lda = layout(a)
        stream = self.cp.cuda.get_current_stream().ptr
        if stream != self._stream:
            self._check(self.lib.cublasSetStream_v2(self.handle, stream), "cublasSetStream")
            self._stream = stream
        scalar = self._scalars[a.dtype]
        one, zero = scalar(alpha), scalar(0.0)
        # Row-major C = A B is column-major C^T = B^T A^T (see ``layout``).
        status = self._fn[a.dtype](self.handle, op_b, op_a, m, n, k, ctypes.byref(one),
                                   b.data.ptr, ldb, a.data.ptr, lda, ctypes.byref(zero),
                                   out.data.ptr, m)
        self._check(status, "cublas gemm")
        return out

    def __del__(self):
        handle, lib = getattr(self, "handle", None), getattr(self, "lib", None)
        if handle is not None and lib is not None:
            try:
                lib.cublasDestroy_v2(handle)
            except Exception:  # interpreter shutdown
                pass
