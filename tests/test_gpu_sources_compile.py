"""Every CUDA source of ``xpnet.kernels.gpu`` compiles for the device, where CUDA's ``nvcc`` is
installed (no GPU needed; CI without CUDA skips those), and none relies on host headers.

The CPU emulation compiles the kernels with the host compiler, which cannot see device-only
errors. Here the raw kernels' sources go to ``nvcc --ptx`` as they are, and each elementwise
and reduction kernel is wrapped in a small device harness in CuPy's calling convention (``T``
bound to float and to double, inputs and outputs as references to element ``i``, ``raw``
parameters as pointers indexed by the operation, the reduction's ``a``/``b``), so its
operation, preamble and types meet the device compiler. It does not run NVRTC itself (CuPy's
headers and options are not here), so a GPU run stays the final word.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import types

import pytest

from xpnet.kernels import gpu

NVCC = shutil.which("nvcc")
NEEDS_NVCC = pytest.mark.skipif(NVCC is None, reason="CUDA's nvcc is not installed")
CTYPE = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long",
         "uint64": "unsigned long long", "bool": "bool"}


class Recorded:
    """Stands in for a CuPy kernel class: keeps the constructor's arguments."""

    made = []

    def __init__(self, kind, *args, **kwargs):
        self.kind, self.args, self.kwargs = kind, args, kwargs
        Recorded.made.append(self)


def recorded_kernels():
    Recorded.made = []
    cp = types.SimpleNamespace(
        ElementwiseKernel=lambda *a, **k: Recorded("elementwise", *a, **k),
        ReductionKernel=lambda *a, **k: Recorded("reduction", *a, **k),
        RawKernel=lambda *a, **k: Recorded("raw", *a, **k))
    gpu.GpuKernels(cp)
    return list(Recorded.made)


def params(text):
    out = []
    for p in filter(str.strip, text.split(",")):
        *mods, ctype, name = p.split()
        out.append(("raw" in mods, ctype, name))
    return out


def c_type(ctype, T):
    return T if len(ctype) == 1 else CTYPE[ctype]


def elementwise_source(k, index, T):
    in_params, out_params, operation = k.args[:3]
    decl, body = [], []
    for is_in, group in ((True, params(in_params)), (False, params(out_params))):
        for raw, ctype, name in group:
            ct = c_type(ctype, T)
            if raw:
                decl.append(f"const {ct}* {name}")
            elif is_in:
                decl.append(f"const {ct}* _in_{name}")
                body.append(f"const {ct} &{name} = _in_{name}[i];")
            else:
                decl.append(f"{ct}* _out_{name}")
                body.append(f"{ct} &{name} = _out_{name}[i];")
    return (f"namespace k{index} {{\ntypedef {T} T;\n{k.kwargs.get('preamble', '')}\n"
            f"__global__ void kernel({', '.join(decl)}, long long n) {{\n"
            "  const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;\n"
            "  if (i >= n) return;\n  " + "\n  ".join(body) + f"\n  {{ {operation} }}\n}}\n}}\n")


def reduction_source(k, index, T):
    in_params, out_params, map_expr, reduce_expr, post_map_expr, identity = k.args[:6]
    decl, body, outer = [], [], []
    for raw, ctype, name in params(in_params):
        ct = c_type(ctype, T)
        decl.append(f"const {ct}* _in_{name}")
        body.append(f"const {ct} &{name} = _in_{name}[_j];")
        outer.append(f"const {ct} &{name} = _in_{name}[0];")  # the post-map reads scalars
    (_, ctype, out), = params(out_params)
    decl.append(f"{c_type(ctype, T)}* _out_{out}")
    return (f"namespace r{index} {{\ntypedef {T} T;\n{k.kwargs.get('preamble', '')}\n"
            f"__global__ void kernel({', '.join(decl)}, long long n) {{\n  "
            + "\n  ".join(outer) +
            f"\n  T a = {identity};\n  for (long long _j = 0; _j < n; ++_j) {{\n    "
            + "\n    ".join(body) + f"\n    const T b = {map_expr};\n    a = {reduce_expr};\n"
            f"  }}\n  {c_type(ctype, T)} &{out} = _out_{out}[0];\n  {post_map_expr};\n}}\n}}\n")


def nvcc(tmp_path, source, name):
    path = tmp_path / f"{name}.cu"
    path.write_text(source)
    proc = subprocess.run([NVCC, "--ptx", "-arch=compute_90", "-std=c++17", "-o",
                           os.devnull, str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{name} failed to compile for the device:\n{proc.stderr}"


@NEEDS_NVCC
def test_the_harness_catches_a_device_compile_error(tmp_path):
    """The check can fail: an operation calling a function the device does not have."""
    bad = Recorded("elementwise", "T x", "T y", "y = host_only_function(x);", "bad")
    with pytest.raises(AssertionError, match="failed to compile"):
        nvcc(tmp_path, elementwise_source(bad, 0, "float"), "bad")


@NEEDS_NVCC
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_raw_kernels_compile_for_the_device(tmp_path, dtype):
    nvcc(tmp_path, gpu.column_source(dtype), f"column_{dtype}")
    raws = [k for k in recorded_kernels() if k.kind == "raw"]
    for k in raws:
        nvcc(tmp_path, k.args[0], k.args[1])


@NEEDS_NVCC
@pytest.mark.parametrize("T", ["float", "double"])
def test_every_elementwise_and_reduction_kernel_compiles_for_the_device(tmp_path, T):
    kernels = recorded_kernels()
    parts = [elementwise_source(k, i, T) if k.kind == "elementwise" else
             reduction_source(k, i, T) for i, k in enumerate(kernels) if k.kind != "raw"]
    names = {k.args[3] if k.kind == "elementwise" else k.kwargs.get("name", k.args[6])
             for k in kernels if k.kind != "raw"}
    assert {"xpnet_adam_fed", "xpnet_uniform_fed", "xpnet_momentum_fed"} <= names
    assert len(parts) > 20
    nvcc(tmp_path, "\n".join(parts), f"elementwise_{T}")


def test_no_source_relies_on_host_headers():
    """nvcc includes CUDA's runtime and math headers by itself; NVRTC, which CuPy uses, does
    not: a source must not need their macros or any #include."""
    sources = [gpu.column_source("float32"), gpu.ACTIVATION_PREAMBLE, gpu.RNG_PREAMBLE]
    sources += [k.args[2] if k.kind == "elementwise" else " ".join(map(str, k.args[2:6]))
                for k in recorded_kernels() if k.kind != "raw"]
    for word in ("INFINITY", "NAN", "M_PI", "HUGE_VAL", "FLT_MAX", "DBL_MAX", "#include"):
        assert not [s for s in sources if word in s], word
