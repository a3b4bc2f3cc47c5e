"""A CPU stand-in for the part of CuPy the cupy backend uses, for tests on machines without a GPU.

Arrays are NumPy arrays and every library call (``matmul``, ``sum``, ``take``, ...) is NumPy.
``ElementwiseKernel``, ``ReductionKernel`` and ``RawKernel`` take the very CUDA C++ source that
real CuPy compiles with NVRTC, wrap it in a small C++ harness that runs each GPU thread (or each
element) as one loop iteration, compile it with the host C++ compiler and call it through
ctypes. So the kernel bodies in ``xpnet/kernels/gpu.py`` really are compiled and run, only on
the CPU, with CuPy's calling conventions: type placeholders bound by the array arguments,
scalars cast to the bound type, inputs broadcast to the shape of the outputs, outputs read and
written in place, ``i`` as the element index, ``a``/``b`` in reductions, and raw kernels given
typed NumPy scalars (a Python scalar or a mismatched type raises, as it would corrupt a launch).

What it cannot check: NVRTC-only compile errors, cuBLAS, streams, CUDA graphs and speed. For
graphs it offers one invariant: with ``LAUNCHES`` a list, every kernel launch logs its scalar
arguments, so a test can check that a step to be recorded launches the same ones every step.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np

CXX = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
CXXFLAGS = ["-O1", "-std=c++14", "-shared", "-fPIC", "-w", "-pthread"]

PRELUDE = r"""
#include <cmath>
#include <cstddef>
#include <pthread.h>
#include <thread>
#include <vector>
using std::exp; using std::log; using std::log1p; using std::tanh; using std::sqrt;
using std::fabs;
#define __device__
#define __global__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __syncthreads() pthread_barrier_wait(&xpemu_barrier)
struct xpemu_dim3 { unsigned int x, y, z; };
static thread_local xpemu_dim3 threadIdx;
static xpemu_dim3 blockIdx, blockDim, gridDim;
static pthread_barrier_t xpemu_barrier;
"""

CTYPE = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long",
         "uint64": "unsigned long long", "bool": "bool"}
CTYPES_SCALAR = {"float": ctypes.c_float, "double": ctypes.c_double, "int": ctypes.c_int,
                 "long long": ctypes.c_longlong, "unsigned long long": ctypes.c_ulonglong,
                 "bool": ctypes.c_bool}
NUMPY_FOR_C = {"float": np.float32, "double": np.float64, "int": np.int32,
               "long long": np.int64, "unsigned long long": np.uint64, "bool": np.bool_}

_libs = {}

#: While a list: every kernel launch appends ``(kernel name, its scalar arguments)``. A CUDA
#: graph replays a launch with the arguments it was captured with, so a recorded step whose
#: launches differ from one step to the next in a scalar would replay a stale value.
LAUNCHES = None


def _log_launch(name, args):
    if LAUNCHES is not None:
        LAUNCHES.append((name, tuple(a.item() if isinstance(a, np.generic) else a
                                     for a in args if not isinstance(a, np.ndarray))))


def _cache_dir():
    user = getattr(os, "getuid", lambda: "user")()
    path = os.path.join(tempfile.gettempdir(), f"xpnet-cuda-emulation-{user}")
    os.makedirs(path, exist_ok=True)
    return path


def compile_source(source):
    """Compile C++ ``source`` into a shared library (cached by content); returns the CDLL."""
    if CXX is None:
        raise RuntimeError("no C++ compiler (g++, c++ or clang++) on PATH")
    key = hashlib.sha256((CXX + " ".join(CXXFLAGS) + source).encode()).hexdigest()[:24]
    if key in _libs:
        return _libs[key]
    lib_path = os.path.join(_cache_dir(), f"k{key}.so")
    if not os.path.exists(lib_path):
        src_path = os.path.join(_cache_dir(), f"k{key}.{os.getpid()}.cpp")
        with open(src_path, "w") as f:
            f.write(source)
        tmp = f"{lib_path}.{os.getpid()}.tmp"
        proc = subprocess.run([CXX, *CXXFLAGS, "-o", tmp, src_path], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise CompileError(f"kernel failed to compile:\n{proc.stderr}\n--- source ---\n"
                               f"{source}")
        os.replace(tmp, lib_path)
    _libs[key] = ctypes.CDLL(lib_path)
    return _libs[key]


class CompileError(RuntimeError):
    """The emulated NVRTC (the host compiler) rejected a kernel."""


class _Param:
    def __init__(self, text, is_input):
        tokens = text.split()
        if len(tokens) < 2:
            raise ValueError(f"syntax error in parameter {text!r}")
        self.type, self.name = tokens[-2:]
        self.raw = "raw" in tokens[:-2]
        self.is_input = is_input
        if self.raw and not is_input:
            raise NotImplementedError("raw output parameters are not emulated")
        self.placeholder = len(self.type) == 1
        if not self.placeholder and self.type not in CTYPE:
            raise ValueError(f"unsupported parameter type {self.type!r}")


def _parse(params, is_input):
    return [_Param(p, is_input) for p in params.split(",") if p.strip()]


def _bind_types(params, args):
    """Bind type placeholders from the array arguments, outputs first, like CuPy."""
    bound = {}
    order = [k for k, p in enumerate(params) if not p.is_input]
    order += [k for k, p in enumerate(params) if p.is_input]
    for k in order:
        p, a = params[k], args[k]
        if not isinstance(a, np.ndarray):
            continue
        if not p.placeholder:
            if a.dtype != np.dtype(p.type):
                raise TypeError(f"Type is mismatched. {p.name} {a.dtype} {p.type}")
        elif p.type in bound and bound[p.type] != a.dtype:
            raise TypeError(f"Type is mismatched. {p.name} {a.dtype} {bound[p.type]} {p.type}")
        else:
            bound.setdefault(p.type, a.dtype)
    return bound


def _dtype_of(p, bound):
    if not p.placeholder:
        return np.dtype(p.type)
    if p.type not in bound:
        raise TypeError(f"the type {p.type} of {p.name!r} is not bound by any array argument")
    return bound[p.type]


def _typedefs(bound):
    return "".join(f"typedef {CTYPE[dt.name]} {name};\n" for name, dt in sorted(bound.items()))


def _pass_scalar(value, dtype):
    return CTYPES_SCALAR[CTYPE[dtype.name]](dtype.type(value).item())


class ElementwiseKernel:
    """``cupy.ElementwiseKernel`` run element by element on the CPU."""

    def __init__(self, in_params, out_params, operation, name="kernel", reduce_dims=True,
                 preamble="", no_return=False, return_tuple=False, **kwargs):
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ValueError(f'Invalid kernel name: "{name}"')
        self.params = _parse(in_params, True) + _parse(out_params, False)
        self.nin = len(_parse(in_params, True))
        if "i" in [p.name for p in self.params]:
            raise ValueError("Can not use 'i' as a parameter name")
        self.operation, self.name, self.preamble = operation, name, preamble
        self.no_return, self.return_tuple = no_return, return_tuple
        self.calls = 0

    def __call__(self, *args, size=-1, block_size=128, stream=None):
        _log_launch(self.name, args)
        nargs = len(self.params)
        if len(args) not in (self.nin, nargs):
            raise TypeError(f"Wrong number of arguments for {self.name!r}")
        arrays = [a for p, a in zip(self.params, args) if isinstance(a, np.ndarray) and not p.raw]
        if not arrays:
            raise ValueError("Loop size is undecided.")
        shape = np.broadcast_shapes(*[a.shape for a in arrays])
        outs = list(args[self.nin:])
        for o in outs:
            if not isinstance(o, np.ndarray):
                raise TypeError("Output arguments type must be cupy.ndarray")
            if o.shape != shape:
                raise ValueError("Out shape is mismatched")
        bound = _bind_types(self.params, list(args) + [None] * (nargs - len(args)))
        if not outs:
            outs = [np.empty(shape, _dtype_of(p, bound)) for p in self.params[self.nin:]]
        self.calls += 1
        n = int(np.prod(shape, dtype=np.int64))
        if n:
            self._run(bound, list(args[:self.nin]) + outs, shape, n)
        if self.no_return:
            return None
        return outs[0] if len(outs) == 1 and not self.return_tuple else tuple(outs)

    def _source(self, bound, kinds):
        params, body = [], []
        for p, kind in zip(self.params, kinds):
            ct = CTYPE[_dtype_of(p, bound).name]
            if kind == "scalar":
                params.append(f"const {ct} {p.name}")
            elif p.raw:                      # indexed by the kernel itself: name[k]
                params.append(f"const {ct}* {p.name}")
            elif p.is_input:
                params.append(f"const {ct}* xpemu_{p.name}")
                body.append(f"const {ct} &{p.name} = xpemu_{p.name}[i];")
            else:
                params.append(f"{ct}* xpemu_{p.name}")
                body.append(f"{ct} &{p.name} = xpemu_{p.name}[i];")
        return (PRELUDE + _typedefs(bound) + self.preamble + "\n"
                + f'extern "C" void xpemu_{self.name}({", ".join(params)}, long long xpemu_n) {{\n'
                + "  for (long long i = 0; i < xpemu_n; ++i) {\n    "
                + "\n    ".join(body) + f"\n    {{ {self.operation} }}\n  }}\n}}\n")

    def _run(self, bound, args, shape, n):
        kinds = ["array" if isinstance(a, np.ndarray) else "scalar" for a in args]
        fn = getattr(compile_source(self._source(bound, kinds)), f"xpemu_{self.name}")
        c_args, writebacks, keep = [], [], []
        for p, a, kind in zip(self.params, args, kinds):
            dt = _dtype_of(p, bound)
            if kind == "scalar":
                c_args.append(_pass_scalar(a, dt))
                continue
            if p.raw:
                if a.dtype != dt or not a.flags.c_contiguous:
                    raise TypeError(f"raw {p.name}: a C-contiguous {dt} array is emulated")
                buf = a
            elif p.is_input:
                buf = np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dt)
            elif a.flags.c_contiguous and a.dtype == dt:
                buf = a
            else:
                buf = np.ascontiguousarray(a, dtype=dt)
                writebacks.append((a, buf))
            keep.append(buf)
            c_args.append(ctypes.c_void_p(buf.ctypes.data))
        fn(*c_args, ctypes.c_longlong(n))
        for a, buf in writebacks:
            a[...] = buf


class ReductionKernel:
    """``cupy.ReductionKernel`` run as a sequential loop per output element on the CPU."""

    def __init__(self, in_params, out_params, map_expr, reduce_expr, post_map_expr, identity,
                 name="reduce_kernel", reduce_type=None, reduce_dims=True, preamble="",
                 options=()):
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ValueError(f'Invalid kernel name: "{name}"')
        self.in_params = _parse(in_params, True)
        self.out_params = _parse(out_params, False)
        if len(self.out_params) != 1:
            raise NotImplementedError("one output only")
        self.map_expr, self.reduce_expr, self.post_map_expr = map_expr, reduce_expr, post_map_expr
        self.identity, self.name, self.preamble = identity, name, preamble
        self.reduce_type = reduce_type or self.out_params[0].type
        self.calls = 0

    def __call__(self, *args, out=None, axis=None, keepdims=False, stream=None):
        _log_launch(self.name, args)
        nin = len(self.in_params)
        if len(args) not in (nin, nin + 1):
            raise TypeError(f"Wrong number of arguments for {self.name}")
        if len(args) == nin + 1:
            out = args[nin]
        ins = list(args[:nin])
        shape = np.broadcast_shapes(*[a.shape for a in ins if isinstance(a, np.ndarray)])
        ndim = len(shape)
        axes = tuple(range(ndim)) if axis is None else tuple(
            sorted(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))))
        keep_axes = [d for d in range(ndim) if d not in axes]
        out_shape = tuple(1 if d in axes else shape[d] for d in range(ndim)) if keepdims \
            else tuple(shape[d] for d in keep_axes)
        params = self.in_params + self.out_params
        bound = _bind_types(params, ins + [out])
        out_dt = _dtype_of(self.out_params[0], bound)
        if out is not None and out.shape != out_shape:
            raise ValueError("Out shape is mismatched")
        n_out = int(np.prod([shape[d] for d in keep_axes], dtype=np.int64))
        n_red = int(np.prod([shape[d] for d in axes], dtype=np.int64))
        perm = keep_axes + list(axes)
        kinds = ["array" if isinstance(a, np.ndarray) else "scalar" for a in ins]
        fn = getattr(compile_source(self._source(bound, kinds)), f"xpemu_{self.name}")
        c_args, keep = [], []
        for p, a, kind in zip(self.in_params, ins, kinds):
            dt = _dtype_of(p, bound)
            if kind == "scalar":
                c_args.append(_pass_scalar(a, dt))
                continue
            buf = np.ascontiguousarray(
                np.broadcast_to(a, shape).transpose(perm).reshape(n_out, n_red), dtype=dt)
            keep.append(buf)
            c_args.append(ctypes.c_void_p(buf.ctypes.data))
        result = np.empty(n_out, dtype=out_dt)
        self.calls += 1
        fn(*c_args, ctypes.c_void_p(result.ctypes.data), ctypes.c_longlong(n_out),
           ctypes.c_longlong(n_red))
        result = result.reshape(out_shape)
        if out is None:
            return result
        out[...] = result
        return out

    def _source(self, bound, kinds):
        params, body = [], []
        for p, kind in zip(self.in_params, kinds):
            ct = CTYPE[_dtype_of(p, bound).name]
            if kind == "scalar":
                params.append(f"const {ct} {p.name}")
            else:
                params.append(f"const {ct}* xpemu_{p.name}")
                body.append(f"const {ct} {p.name} = xpemu_{p.name}[xpemu_j];")
        o = self.out_params[0]
        params.append(f"{CTYPE[_dtype_of(o, bound).name]}* xpemu_{o.name}")
        return (PRELUDE + _typedefs(bound) + self.preamble + "\n"
                + f"typedef {self.reduce_type} _type_reduce;\n"
                + f"#define REDUCE(a, b) ({self.reduce_expr})\n"
                + f"#define POST_MAP(a) ({self.post_map_expr})\n"
                + f'extern "C" void xpemu_{self.name}({", ".join(params)}, '
                + "long long xpemu_nout, long long xpemu_nred) {\n"
                + "  for (long long xpemu_o = 0; xpemu_o < xpemu_nout; ++xpemu_o) {\n"
                + f"    _type_reduce _s = _type_reduce({self.identity});\n"
                + "    for (long long xpemu_r = 0; xpemu_r < xpemu_nred; ++xpemu_r) {\n"
                + "      const long long xpemu_j = xpemu_o * xpemu_nred + xpemu_r;\n      "
                + "\n      ".join(body)
                + f"\n      _type_reduce _a = static_cast<_type_reduce>({self.map_expr});\n"
                + "      _s = REDUCE(_s, _a);\n    }\n"
                + f"    {CTYPE[_dtype_of(o, bound).name]} &{o.name} = xpemu_{o.name}[xpemu_o];\n"
                + "    POST_MAP(_s);\n  }\n}\n")


_KERNEL_RE = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')


class RawKernel:
    """``cupy.RawKernel`` with a 1-D grid run on the CPU, block after block.

    A kernel without ``__syncthreads`` runs its threads one after another. One that calls it
    runs each block's threads as real threads meeting at a barrier, with ``__shared__``
    variables shared by them (a function-level ``static``), so a block's cooperative
    reductions run as on the device; the threads of a block interleave in any order, which
    also shakes out a missing barrier now and then (run the test more than once)."""

    def __init__(self, code, name, options=(), backend="nvrtc", **kwargs):
        self.code, self.name = code, name
        signatures = {m.group(1): m.group(2) for m in _KERNEL_RE.finditer(code)}
        if name not in signatures:
            raise ValueError(f"no __global__ function named {name!r} in the source")
        self.params = []
        for text in signatures[name].split(","):
            m = re.fullmatch(r"\s*(.*?)\s*(\w+)\s*", text)
            ctype = m.group(1).replace("const", "").strip()
            self.params.append((" ".join(ctype.replace("*", " * ").split()), m.group(2)))
        self.calls = 0

    def _launcher(self):
        names = ", ".join(n for _, n in self.params)
        decl = ", ".join(f"{t} {n}" for t, n in self.params)
        if "__syncthreads" in self.code:
            return self._cooperative_launcher(names, decl)
        source = (PRELUDE + self.code + "\n"
                  + f'extern "C" void xpemu_launch_{self.name}(unsigned int xpemu_gx, '
                  + f"unsigned int xpemu_bx, {decl}) {{\n"
                  + "  gridDim.x = xpemu_gx; gridDim.y = gridDim.z = 1;\n"
                  + "  blockDim.x = xpemu_bx; blockDim.y = blockDim.z = 1;\n"
                  + "  blockIdx.y = blockIdx.z = threadIdx.y = threadIdx.z = 0;\n"
                  + "  for (unsigned int xpemu_b = 0; xpemu_b < xpemu_gx; ++xpemu_b)\n"
                  + "    for (unsigned int xpemu_t = 0; xpemu_t < xpemu_bx; ++xpemu_t) {\n"
                  + "      blockIdx.x = xpemu_b; threadIdx.x = xpemu_t;\n"
                  + f"      {self.name}({names});\n"
                  + "    }\n}\n")
        return getattr(compile_source(source), f"xpemu_launch_{self.name}")

    def _cooperative_launcher(self, names, decl):
        source = (PRELUDE + self.code + "\n"
                  + f'extern "C" void xpemu_launch_{self.name}(unsigned int xpemu_gx, '
                  + f"unsigned int xpemu_bx, {decl}) {{\n"
                  + "  gridDim.x = xpemu_gx; gridDim.y = gridDim.z = 1;\n"
                  + "  blockDim.x = xpemu_bx; blockDim.y = blockDim.z = 1;\n"
                  + "  blockIdx.y = blockIdx.z = 0;\n"
                  + "  for (unsigned int xpemu_b = 0; xpemu_b < xpemu_gx; ++xpemu_b) {\n"
                  + "    blockIdx.x = xpemu_b;\n"
                  + "    pthread_barrier_init(&xpemu_barrier, nullptr, xpemu_bx);\n"
                  + "    std::vector<std::thread> xpemu_threads;\n"
                  + "    for (unsigned int xpemu_t = 0; xpemu_t < xpemu_bx; ++xpemu_t)\n"
                  + "      xpemu_threads.emplace_back([=] {\n"
                  + "        threadIdx.x = xpemu_t; threadIdx.y = threadIdx.z = 0;\n"
                  + f"        {self.name}({names});\n"
                  + "      });\n"
                  + "    for (auto &xpemu_th : xpemu_threads) xpemu_th.join();\n"
                  + "    pthread_barrier_destroy(&xpemu_barrier);\n"
                  + "  }\n}\n")
        return getattr(compile_source(source), f"xpemu_launch_{self.name}")

    def __call__(self, grid, block, args, shared_mem=0, stream=None):
        _log_launch(self.name, (*grid, *block, *args) if isinstance(args, tuple) else grid)
        grid, block = tuple(grid), tuple(block)
        if any(g != 1 for g in grid[1:] + block[1:]):
            raise NotImplementedError("only 1-D grids and blocks are emulated")
        if grid[0] < 1 or block[0] < 1:
            raise ValueError("invalid configuration argument (a grid or block of size 0)")
        if not isinstance(args, tuple) or len(args) != len(self.params):
            raise TypeError(f"{self.name} takes a tuple of {len(self.params)} arguments")
        c_args = []
        for (ctype, pname), a in zip(self.params, args):
            if ctype.endswith("*"):
                base = NUMPY_FOR_C[ctype[:-1].strip()]
                if not isinstance(a, np.ndarray) or a.dtype != base:
                    raise TypeError(f"{self.name}: {pname} must be a {np.dtype(base)} array")
                c_args.append(ctypes.c_void_p(a.ctypes.data))
            else:
                want = NUMPY_FOR_C[ctype]
                if type(a) is not want:
                    raise TypeError(f"{self.name}: {pname} must be a numpy.{want.__name__} "
                                    f"scalar (a {type(a).__name__} would be passed with the "
                                    "wrong width)")
                c_args.append(CTYPES_SCALAR[ctype](a.item()))
        self.calls += 1
        self._launcher()(ctypes.c_uint(grid[0]), ctypes.c_uint(block[0]), *c_args)


# ------------------------------------------------------------------ the fake module
class CUDARuntimeError(RuntimeError):
    """Stands in for ``cupy_backends.cuda.api.runtime.CUDARuntimeError``."""


class _Stream:
    def __init__(self, counter):
        self._counter = counter

    def synchronize(self):
        self._counter["synchronize"] += 1


class _Device:
    id = 0
    compute_capability = "90"

    def __init__(self, device=None):
        pass


def make_linalg_module():
    """A stand-in for ``cupy._core._routines_linalg``'s compute-type switches."""
    linalg = types.ModuleType("cupy._core._routines_linalg")
    linalg.COMPUTE_TYPE_TBD, linalg.COMPUTE_TYPE_DEFAULT, linalg.COMPUTE_TYPE_TF32 = 0, 1, 7
    linalg.state = {}

    def set_compute_type(dtype, compute_type):
        linalg.state[np.dtype(dtype).char] = compute_type

    def get_compute_type(dtype):
        return linalg.state.get(np.dtype(dtype).char, 1)

    linalg.set_compute_type, linalg.get_compute_type = set_compute_type, get_compute_type
    return linalg


def make_fake_cupy(device_count=1, device_error=None):
    """A module that passes for ``cupy``: NumPy arrays plus the emulated kernels.

    ``device_count`` is what ``cuda.runtime.getDeviceCount()`` returns; ``device_error`` an
    exception it raises instead. ``module.counters`` counts syncs and device-to-host copies.
    """
    cp = types.ModuleType("cupy")
    cp.__version__ = "13.6.0+cpu-emulation"
    cp.counters = {"synchronize": 0, "asnumpy": 0}

    def __getattr__(name):
        return getattr(np, name)

    def asnumpy(x):
        cp.counters["asnumpy"] += 1
        return np.array(x, copy=True)

    def take(a, indices, axis=None, out=None):
        # cupy.take has no ``mode`` argument (indices wrap); refuse one as CuPy would.
        return np.take(a, np.asarray(indices) % (a.size if axis is None else a.shape[axis]),
                       axis=axis, out=out)

    def get_device_count():
        if device_error is not None:
            raise device_error
        return device_count

    runtime = types.SimpleNamespace(
        getDeviceCount=get_device_count, CUDARuntimeError=CUDARuntimeError,
        getDeviceProperties=lambda i: {"name": b"CPU emulation of a CUDA device"},
        runtimeGetVersion=lambda: 12080, driverGetVersion=lambda: 12080)
    cp.__getattr__ = __getattr__
    cp.asnumpy = asnumpy
    cp.take = take
    cp.ndarray = np.ndarray
    cp.cuda = types.SimpleNamespace(runtime=runtime, Device=_Device,
                                    get_current_stream=lambda: _Stream(cp.counters))
    cp.ElementwiseKernel, cp.ReductionKernel, cp.RawKernel = (
        ElementwiseKernel, ReductionKernel, RawKernel)
    cp._core = types.ModuleType("cupy._core")
    cp._core._routines_linalg = make_linalg_module()
    return cp


def install(monkeypatch, cp):
    """Make ``import cupy`` (and its compute-type module) return the fake ``cp``."""
    monkeypatch.setitem(sys.modules, "cupy", cp)
    monkeypatch.setitem(sys.modules, "cupy._core", cp._core)
    monkeypatch.setitem(sys.modules, "cupy._core._routines_linalg", cp._core._routines_linalg)
