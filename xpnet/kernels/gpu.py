"""CuPy GPU kernels: fused elementwise, reduction and per-column kernels for the cupy backend.

The CUDA C++ sources below are plain strings; ``GpuKernels(cupy)`` turns them into
``cupy.ElementwiseKernel``, ``cupy.ReductionKernel`` and ``cupy.RawKernel`` objects (compiled by
NVRTC on first call and cached by CuPy on disk). The ``cupy`` module is passed in rather than
imported here, so this module imports without CuPy and its pure-Python parts (the sources, the
NumPy reference of the device random generator) are testable on any machine.

What is fused (shapes in course notation, ``Z (n[l], m)``, ``b (n[l], 1)``):

- bias + activation forward: ``Z += b; A = g(Z)`` in one pass (sigmoid, tanh, relu, leaky relu);
  bias + softmax in one per-column kernel (max-shifted, one thread per example column)
- activation backward: ``dZ = dA * g'(.)`` reading only what ``g'`` needs (``A`` or ``Z``);
  softmax backward (the Jacobian-vector product) in one per-column kernel
- softmax + cross-entropy: per-column loss from the logits (log-sum-exp) and the gradient
  ``dZ = A - Y`` in one pass; binary cross-entropy from logits and MSE as map-reduce kernels
- ``db = sum(dZ, axis=1) / m`` as one reduction written straight into the gradient buffer
- optimizer updates (SGD, momentum, RMSprop, Adam) as one kernel over the flat buffers
- dropout's uniform draws on the device from a counter-based generator (SplitMix64 of
  ``seed + (i + 1) * golden``), seeded once per call from the host Generator: no host transfer

Matrix products are cuBLAS (``cupy.matmul``); ``set_matmul_tf32`` selects its float32 mode.
Every kernel mirrors the operation order of ``ArrayBackend`` so float64 results agree with the
NumPy backend to rounding.
"""

from __future__ import annotations

import importlib
import string

import numpy as np

#: Threads per block of the per-column kernels (one thread per example column).
COLUMN_BLOCK = 128

#: Activations with an elementwise forward/backward kernel (softmax is per column, linear is
#: the identity and needs none).
ELEMENTWISE_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")

# SplitMix64 constants (Steele, Lea, Flood 2014): the golden-ratio increment and the mixer.
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB

# ----------------------------------------------------------------------- device functions
ACTIVATION_PREAMBLE = r"""
template <typename T> __device__ __forceinline__ T xpnet_sigmoid(const T z) {
    // Split-branch form: exp of a non-positive number only, finite for any z.
    const T e = exp(-fabs(z));
    return z >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}
template <typename T> __device__ __forceinline__ T xpnet_relu(const T z) {
    return z < T(0) ? T(0) : z;
}
template <typename T> __device__ __forceinline__ T xpnet_leaky_relu(const T z, const T slope) {
    return z > T(0) ? z : z * slope;
}
template <typename T> __device__ __forceinline__ T xpnet_bce(const T z, const T y) {
    // Binary cross-entropy from the logit: max(z, 0) - z y + log(1 + exp(-|z|)).
    return (z > T(0) ? z : T(0)) - z * y + log1p(exp(-fabs(z)));
}
"""

RNG_PREAMBLE = string.Template(r"""
__device__ __forceinline__ unsigned long long xpnet_splitmix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * ${mix1}ULL;
    z = (z ^ (z >> 27)) * ${mix2}ULL;
    return z ^ (z >> 31);
}
template <typename T>
__device__ __forceinline__ T xpnet_uniform01(const unsigned long long seed, const long long i) {
    // The (i + 1)-th SplitMix64 output from state ``seed``; 24 (float) or 53 (double) bits.
    const unsigned long long h =
        xpnet_splitmix64(seed + (unsigned long long)(i + 1) * ${golden}ULL);
    if (sizeof(T) == 4) {
        return T((double)(h >> 40) * ${inv24});
    }
    return T((double)(h >> 11) * ${inv53});
}
""").substitute(mix1=hex(MIX1), mix2=hex(MIX2), golden=hex(GOLDEN), inv24=repr(2.0 ** -24),
                inv53=repr(2.0 ** -53))

FORWARD_EXPR = {
    "sigmoid": "xpnet_sigmoid(Z)",
    "tanh": "tanh(Z)",
    "relu": "xpnet_relu(Z)",
    "leaky_relu": "xpnet_leaky_relu(Z, slope)",
}

#: name -> (inputs, operation) of ``dZ = dA * g'(.)``: each kernel reads only what ``g'``
#: needs, in the same operation order as ``ArrayBackend.activation_backward``.
BACKWARD_SPEC = {
    "sigmoid": (("dA", "A"), "dZ = dA * A * (T(1) - A)"),
    "tanh": (("dA", "A"), "dZ = dA * (T(1) - A * A)"),
    "relu": (("dA", "Z"), "dZ = Z > T(0) ? dA : T(0)"),
    "leaky_relu": (("dA", "Z", "slope"), "dZ = Z > T(0) ? dA : dA * slope"),
}

# --------------------------------------------------------------- per-column raw kernels
# One thread per example column j; it walks the n rows of that column, so each row access is
# coalesced across the threads of a warp. Matrices are row-major with a row pitch (ld) in
# elements, which lets a column slice Y[:, start:stop] of a larger array be read in place.
COLUMN_SOURCE = string.Template(r"""
extern "C" __global__ void xpnet_softmax_fwd_${S}(
        ${T}* Z, const int ldz, const ${T}* b, const int has_bias, ${T}* A,
        const int n, const int m) {
    // Z += b (when has_bias); A = exp(Z - max) / sum(exp(Z - max)) down column j.
    const int j = blockDim.x * blockIdx.x + threadIdx.x;
    if (j >= m) return;
    ${T} zmax = 0;
    for (int i = 0; i < n; ++i) {
        const long long o = (long long)i * ldz + j;
        ${T} z = Z[o];
        if (has_bias) {
            z = z + b[i];
            Z[o] = z;
        }
        if (i == 0 || z > zmax || z != z) zmax = z;  // NaN propagates like numpy.max
    }
    ${T} s = 0;
    for (int i = 0; i < n; ++i) {
        const ${T} e = exp(Z[(long long)i * ldz + j] - zmax);
        A[(long long)i * m + j] = e;
        s += e;
    }
    for (int i = 0; i < n; ++i) A[(long long)i * m + j] /= s;
}

extern "C" __global__ void xpnet_softmax_bwd_${S}(
        const ${T}* dA, const int ldd, const ${T}* A, const int lda, ${T}* dZ,
        const int n, const int m) {
    // dZ = A * (dA - sum(dA * A)) down column j.
    const int j = blockDim.x * blockIdx.x + threadIdx.x;
    if (j >= m) return;
    ${T} s = 0;
    for (int i = 0; i < n; ++i) s += dA[(long long)i * ldd + j] * A[(long long)i * lda + j];
    for (int i = 0; i < n; ++i) {
        const ${T} a = A[(long long)i * lda + j];
        dZ[(long long)i * m + j] = a * (dA[(long long)i * ldd + j] - s);
    }
}

extern "C" __global__ void xpnet_softmax_xent_${S}(
        const ${T}* Z, const int ldz, const ${T}* A, const int lda, const ${T}* Y,
        const int ldy, ${T}* loss, ${T}* dZ, const int n, const int m) {
    // loss[j] = logsumexp(Z[:, j]) - sum_i Z[i, j] Y[i, j]  and  dZ = A - Y, in one pass.
    const int j = blockDim.x * blockIdx.x + threadIdx.x;
    if (j >= m) return;
    ${T} zmax = 0;
    for (int i = 0; i < n; ++i) {
        const ${T} z = Z[(long long)i * ldz + j];
        if (i == 0 || z > zmax || z != z) zmax = z;
    }
    ${T} s = 0;
    ${T} zy = 0;
    for (int i = 0; i < n; ++i) {
        const ${T} z = Z[(long long)i * ldz + j];
        const ${T} y = Y[(long long)i * ldy + j];
        s += exp(z - zmax);
        zy += z * y;
        dZ[(long long)i * m + j] = A[(long long)i * lda + j] - y;
    }
    loss[j] = (log(s) + zmax) - zy;
}

// ---------------------------------------------------------------- column-group kernels
// For many classes (rows): one block per group of GROUP_COLS consecutive example columns,
// its GROUP_COLS * GROUP_LANES threads as (column cx, row lane ry). Thread (cx, ry) walks
// rows ry, ry + GROUP_LANES, ... of column j = group * GROUP_COLS + cx, so each row's
// GROUP_COLS elements are read by consecutive threads (coalesced); the lanes' partial results
// meet in shared memory. The maximum and the sum of exponentials come from one online pass
// (a running maximum rescales the running sum).
#define XPNET_GROUP_COLS ${COLS}
#define XPNET_GROUP_LANES ${LANES}

__device__ __forceinline__ void xpnet_online_${S}(${T}& mx, ${T}& s, int& seen, ${T}& bad,
                                                 const ${T} z) {
    // One more z of this lane: the running maximum, the sum of exp(z - max), and NaN kept in
    // ``bad`` (0 or NaN: ``x + bad`` is x or NaN, so a NaN poisons the column as in NumPy).
    if (z != z) {
        bad = z;
    } else if (!seen) {
        mx = z;
        s = ${T}(1);
        seen = 1;
    } else if (z > mx) {
        s = s * exp(mx - z) + ${T}(1);
        mx = z;
    } else {
        s += z == mx ? ${T}(1) : exp(z - mx);  // z == mx == -inf: exp(0), not exp(NaN)
    }
}

__device__ __forceinline__ void xpnet_group_stats_${S}(
        ${T} (*red_mx)[XPNET_GROUP_COLS], ${T} (*red_s)[XPNET_GROUP_COLS],
        int (*red_seen)[XPNET_GROUP_COLS], const int cx, const int ry,
        ${T}& mx, ${T}& s, int seen, const ${T} bad) {
    // Combine the lanes' running (max, sum) of column cx; every thread of the block gets the
    // column's totals, NaN in ``mx`` when a lane saw one. Has two __syncthreads: call it from
    // every thread of the block.
    red_mx[ry][cx] = mx + bad;
    red_s[ry][cx] = s;
    red_seen[ry][cx] = seen || bad != bad;
    __syncthreads();
    if (ry == 0) {
        int first = 1;
        ${T} M = 0;
        for (int k = 0; k < XPNET_GROUP_LANES; ++k) {
            if (!red_seen[k][cx]) continue;
            const ${T} v = red_mx[k][cx];
            if (first || v > M || v != v) M = v;
            first = 0;
        }
        ${T} S = 0;
        for (int k = 0; k < XPNET_GROUP_LANES; ++k) {
            if (!red_seen[k][cx]) continue;
            S += red_mx[k][cx] == M ? red_s[k][cx] : red_s[k][cx] * exp(red_mx[k][cx] - M);
        }
        red_mx[0][cx] = M;
        red_s[0][cx] = S;
    }
    __syncthreads();
    mx = red_mx[0][cx];
    s = red_s[0][cx];
}

extern "C" __global__ void xpnet_softmax_fwd_groups_${S}(
        ${T}* Z, const int ldz, const ${T}* b, const int has_bias, ${T}* A,
        const int n, const int m) {
    // Z += b (when has_bias); A = exp(Z - max) / sum(exp(Z - max)) down each column.
    __shared__ ${T} red_mx[XPNET_GROUP_LANES][XPNET_GROUP_COLS];
    __shared__ ${T} red_s[XPNET_GROUP_LANES][XPNET_GROUP_COLS];
    __shared__ int red_seen[XPNET_GROUP_LANES][XPNET_GROUP_COLS];
    const int cx = threadIdx.x % XPNET_GROUP_COLS, ry = threadIdx.x / XPNET_GROUP_COLS;
    const int j = blockIdx.x * XPNET_GROUP_COLS + cx;
    const bool live = j < m;
    ${T} mx = 0, s = 0, bad = 0;
    int seen = 0;
    for (int i = ry; live && i < n; i += XPNET_GROUP_LANES) {
        const long long o = (long long)i * ldz + j;
        ${T} z = Z[o];
        if (has_bias) {
            z = z + b[i];
            Z[o] = z;
        }
        xpnet_online_${S}(mx, s, seen, bad, z);
    }
    xpnet_group_stats_${S}(red_mx, red_s, red_seen, cx, ry, mx, s, seen, bad);
    for (int i = ry; live && i < n; i += XPNET_GROUP_LANES) {
        A[(long long)i * m + j] = exp(Z[(long long)i * ldz + j] - mx) / s;
    }
}

extern "C" __global__ void xpnet_softmax_bwd_groups_${S}(
        const ${T}* dA, const int ldd, const ${T}* A, const int lda, ${T}* dZ,
        const int n, const int m) {
    // dZ = A * (dA - sum(dA * A)) down each column.
    __shared__ ${T} red[XPNET_GROUP_LANES][XPNET_GROUP_COLS];
    const int cx = threadIdx.x % XPNET_GROUP_COLS, ry = threadIdx.x / XPNET_GROUP_COLS;
    const int j = blockIdx.x * XPNET_GROUP_COLS + cx;
    const bool live = j < m;
    ${T} s = 0;
    for (int i = ry; live && i < n; i += XPNET_GROUP_LANES) {
        s += dA[(long long)i * ldd + j] * A[(long long)i * lda + j];
    }
    red[ry][cx] = s;
    __syncthreads();
    if (ry == 0) {
        for (int k = 1; k < XPNET_GROUP_LANES; ++k) s += red[k][cx];
        red[0][cx] = s;
    }
    __syncthreads();
    s = red[0][cx];
    for (int i = ry; live && i < n; i += XPNET_GROUP_LANES) {
        const ${T} a = A[(long long)i * lda + j];
        dZ[(long long)i * m + j] = a * (dA[(long long)i * ldd + j] - s);
    }
}

extern "C" __global__ void xpnet_softmax_xent_groups_${S}(
        const ${T}* Z, const int ldz, const ${T}* A, const int lda, const ${T}* Y,
        const int ldy, ${T}* loss, ${T}* dZ, const int n, const int m) {
    // loss[j] = logsumexp(Z[:, j]) - sum_i Z[i, j] Y[i, j]  and  dZ = A - Y, in one pass.
    __shared__ ${T} red_mx[XPNET_GROUP_LANES][XPNET_GROUP_COLS];
    __shared__ ${T} red_s[XPNET_GROUP_LANES][XPNET_GROUP_COLS];
    __shared__ int red_seen[XPNET_GROUP_LANES][XPNET_GROUP_COLS];
    __shared__ ${T} red_zy[XPNET_GROUP_LANES][XPNET_GROUP_COLS];
    const int cx = threadIdx.x % XPNET_GROUP_COLS, ry = threadIdx.x / XPNET_GROUP_COLS;
    const int j = blockIdx.x * XPNET_GROUP_COLS + cx;
    const bool live = j < m;
    ${T} mx = 0, s = 0, bad = 0, zy = 0;
    int seen = 0;
    for (int i = ry; live && i < n; i += XPNET_GROUP_LANES) {
        const ${T} z = Z[(long long)i * ldz + j];
        const ${T} y = Y[(long long)i * ldy + j];
        xpnet_online_${S}(mx, s, seen, bad, z);
        zy += z * y;
        dZ[(long long)i * m + j] = A[(long long)i * lda + j] - y;
    }
    red_zy[ry][cx] = zy;
    xpnet_group_stats_${S}(red_mx, red_s, red_seen, cx, ry, mx, s, seen, bad);
    if (ry == 0 && live) {
        for (int k = 1; k < XPNET_GROUP_LANES; ++k) zy += red_zy[k][cx];
        loss[j] = (log(s) + mx) - zy;
    }
}
""")

COLUMN_KERNELS = ("xpnet_softmax_fwd", "xpnet_softmax_bwd", "xpnet_softmax_xent")
#: The column-group kernels (many classes): one block per GROUP_COLS columns.
GROUP_KERNELS = ("xpnet_softmax_fwd_groups", "xpnet_softmax_bwd_groups",
                 "xpnet_softmax_xent_groups")
#: Columns per block of the column-group kernels, and threads per column (row lanes).
GROUP_COLS, GROUP_LANES = 32, 8
_CTYPES = {"f": ("float", "f32"), "d": ("double", "f64")}


def _ctype(dtype):
    dt = np.dtype(dtype)
    if dt.char not in _CTYPES:
        raise TypeError(f"the cupy softmax kernels take float32 or float64 arrays, got {dt}")
    return _CTYPES[dt.char]


def column_source(dtype):
    """The per-column CUDA source for ``dtype`` (float32 or float64)."""
    ctype, suffix = _ctype(dtype)
    return COLUMN_SOURCE.substitute(T=ctype, S=suffix, COLS=GROUP_COLS, LANES=GROUP_LANES)


# ------------------------------------------------------------------- random numbers
def uniform_reference(seed, shape, dtype="float32"):
    """NumPy twin of the device generator: what ``GpuKernels.uniform`` draws, bit for bit.

    Element ``i`` (C order) is the ``(i + 1)``-th SplitMix64 output from state ``seed``, turned
    into a float in [0, 1) from its top 24 (float32) or 53 (float64) bits.
    """
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(1, n + 1, dtype=np.uint64)
    z = np.uint64(seed) + i * np.uint64(GOLDEN)  # uint64 arithmetic wraps mod 2**64
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    h = z ^ (z >> np.uint64(31))
    if dt == np.float32:
        u = (h >> np.uint64(40)).astype(np.float64) * 2.0 ** -24
    else:
        u = (h >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return u.astype(dt).reshape(shape)


# --------------------------------------------------------------------------- TF32
def _linalg_module():
    return importlib.import_module("cupy._core._routines_linalg")


def set_matmul_tf32(enabled):
    """Make cuBLAS float32 matmuls use TF32 tensor cores (True) or full float32 (False).

    This is CuPy's process-wide float32 compute type (what ``CUPY_TF32=1`` sets at startup);
    it overrides ``CUPY_TF32``. TF32 needs compute capability >= 8.0; on older GPUs CuPy warns
    and keeps full float32. Returns whether TF32 is now in effect.
    """
    linalg = _linalg_module()
    tf32 = getattr(linalg, "COMPUTE_TYPE_TF32", 7)
    default = getattr(linalg, "COMPUTE_TYPE_DEFAULT", 1)
    linalg.set_compute_type(np.float32, tf32 if enabled else default)
    return matmul_tf32_enabled()


def matmul_tf32_enabled():
    """Whether cuBLAS float32 matmuls currently run in TF32."""
    linalg = _linalg_module()
    tf32 = getattr(linalg, "COMPUTE_TYPE_TF32", 7)
    return int(linalg.get_compute_type(np.float32)) == int(tf32)


# ------------------------------------------------------------------------ kernels
class GpuKernels:
    """The compiled-on-demand kernels for the CuPy module ``cp``; methods take device arrays."""

    def __init__(self, cp):
        self.cp = cp
        ek, rk = cp.ElementwiseKernel, cp.ReductionKernel
        pre = ACTIVATION_PREAMBLE
        self._bias_act = {
            name: ek("T b, T slope", "T Z, T A", f"Z = Z + b; A = {expr};",
                     f"xpnet_bias_{name}", preamble=pre)
            for name, expr in FORWARD_EXPR.items()}
        self._act = {
            name: ek("T Z, T slope", "T A", f"A = {expr};", f"xpnet_{name}", preamble=pre)
            for name, expr in FORWARD_EXPR.items()}
        self._act_backward = {
            name: ek(", ".join(f"T {p}" for p in inputs), "T dZ", op + ";",
                     f"xpnet_{name}_backward")
            for name, (inputs, op) in BACKWARD_SPEC.items()}
        self._bias_add = ek("T b", "T Z", "Z = Z + b;", "xpnet_bias_add")
        self._sum_scale = rk("T x, T scale", "T y", "x", "a + b", "y = a * scale", "0",
                             "xpnet_sum_scale")
        self._sum_div = rk("T x, T denom", "T y", "x", "a + b", "y = a / denom", "0",
                           "xpnet_sum_div")
        self._bce_mean = rk("T z, T label, T denom", "T y", "xpnet_bce(z, label)", "a + b",
                            "y = a / denom", "0", "xpnet_bce_mean", preamble=pre)
        self._sq_err_mean = rk("T p, T label, T denom", "T y", "(p - label) * (p - label)",
                               "a + b", "y = a / denom", "0", "xpnet_sq_err_mean")
        self._uniform = ek("uint64 seed", "T u", "u = xpnet_uniform01<T>(seed, i);",
                           "xpnet_uniform", preamble=RNG_PREAMBLE)
        self._uniform_fed = ek("raw uint64 seeds, int32 slot", "T u",
                               "u = xpnet_uniform01<T>(seeds[slot], i);", "xpnet_uniform_fed",
                               preamble=RNG_PREAMBLE)
        self._sgd = ek("T grad, T lr", "T theta", "theta -= lr * grad;", "xpnet_sgd")
        self._momentum = ek(
            "T grad, T beta, T one_minus_beta, T step", "T theta, T v",
            "v = v * beta + one_minus_beta * grad; theta -= step * v;", "xpnet_momentum")
        self._rmsprop = ek(
            "T grad, T beta, T one_minus_beta, T lr, T eps", "T theta, T s",
            "s = s * beta + one_minus_beta * (grad * grad);"
            " theta -= lr * grad / (sqrt(s) + eps);", "xpnet_rmsprop")
        self._adam = ek(
            "T grad, T beta1, T one_minus_beta1, T beta2, T one_minus_beta2, T step,"
            " T inv_sqrt_c2, T eps", "T theta, T m, T v",
            "m = m * beta1 + one_minus_beta1 * grad;"
            " v = v * beta2 + one_minus_beta2 * (grad * grad);"
            " theta -= step * m / (sqrt(v) * inv_sqrt_c2 + eps);", "xpnet_adam")
        self._fed = self._fed_updates(ek)
        self._column = {}

    @staticmethod
    def _fed_updates(ek):
        """The optimizer updates reading their per-step scalars from ``fed[k], fed[k + 1]``
        (a float64 device array, ``step_feed.StepFeed.scalars``) instead of launch arguments:
        the same operations, the scalars cast to ``T`` as a launch argument is."""
        fed = "raw float64 fed, int32 k"
        return {
            "sgd": ek(f"T grad, {fed}", "T theta", "theta -= (T)fed[k] * grad;",
                      "xpnet_sgd_fed"),
            "momentum": ek(f"T grad, T beta, T one_minus_beta, {fed}", "T theta, T v",
                           "v = v * beta + one_minus_beta * grad; theta -= (T)fed[k] * v;",
                           "xpnet_momentum_fed"),
            "rmsprop": ek(f"T grad, T beta, T one_minus_beta, {fed}, T eps", "T theta, T s",
                          "s = s * beta + one_minus_beta * (grad * grad);"
                          " theta -= (T)fed[k] * grad / (sqrt(s) + eps);", "xpnet_rmsprop_fed"),
            "adam": ek(f"T grad, T beta1, T one_minus_beta1, T beta2, T one_minus_beta2, {fed},"
                       " T eps", "T theta, T m, T v",
                       "m = m * beta1 + one_minus_beta1 * grad;"
                       " v = v * beta2 + one_minus_beta2 * (grad * grad);"
                       " theta -= (T)fed[k] * m / (sqrt(v) * (T)fed[k + 1] + eps);",
                       "xpnet_adam_fed")}

    # -------------------------------------------------------------- helpers
    def _column_kernel(self, name, dtype):
        key = (name, np.dtype(dtype).char)
        if key not in self._column:
            suffix = _ctype(dtype)[1]
            self._column[key] = self.cp.RawKernel(column_source(dtype), f"{name}_{suffix}")
        return self._column[key]

    def _launch_columns(self, name, dtype, m, args, groups=False):
        """One thread per column (``groups=False``), or one block of ``GROUP_COLS *
        GROUP_LANES`` threads per ``GROUP_COLS`` columns (the ``*_groups`` kernels)."""
        if groups:
            grid = ((m + GROUP_COLS - 1) // GROUP_COLS,)
            self._column_kernel(f"{name}_groups", dtype)(grid, (GROUP_COLS * GROUP_LANES,), args)
            return
        grid = ((m + COLUMN_BLOCK - 1) // COLUMN_BLOCK,)
        self._column_kernel(name, dtype)(grid, (COLUMN_BLOCK,), args)

    def rows(self, x):
        """``(x, ld)``: ``x`` with unit stride along axis 1 (a copy if not) and its row pitch."""
        if x.ndim != 2:
            raise ValueError(f"expected a 2-D array (n, m), got shape {x.shape}")
        n, m = x.shape
        size = x.itemsize
        unit_cols = m <= 1 or x.strides[1] == size
        pitch_ok = n <= 1 or (x.strides[0] > 0 and x.strides[0] % size == 0
                              and x.strides[0] // size < 2 ** 31)
        if not (unit_cols and pitch_ok):
            x = self.cp.ascontiguousarray(x)
        ld = x.strides[0] // size if n > 1 else max(m, 1)
        return x, ld

    # ------------------------------------------------------------ activations
    def bias_activation(self, name, Z, b, slope):
        """``Z += b`` in place and ``A = g(Z)``; ``Z (n, m)`` C-contiguous, ``b (n, 1)``."""
        A = self.cp.empty(Z.shape, dtype=Z.dtype)
        self._bias_act[name](b, slope, Z, A)
        return A

    def bias_add(self, Z, b):
        """``Z += b`` in place (the linear output layer)."""
        self._bias_add(b, Z)
        return Z

    def activation(self, name, Z, slope):
        """``A = g(Z)`` for an elementwise activation."""
        A = self.cp.empty(Z.shape, dtype=Z.dtype)
        self._act[name](Z, slope, A)
        return A

    def activation_backward(self, name, dA, Z, A, slope):
        """``dZ = dA * g'(.)`` for an elementwise activation."""
        args = {"dA": dA, "A": A, "Z": Z, "slope": slope}
        return self._act_backward[name](*[args[p] for p in BACKWARD_SPEC[name][0]])

    def softmax(self, Z, b=None, groups=False):
        """Column softmax of ``Z (n, m)`` (``Z += b`` first when ``b`` is given); ``groups``:
        the column-group kernel (for many classes) instead of one thread per column.

        Returns ``(Z, A)``: ``Z`` is the array that holds the biased logits (a contiguous copy
        when the given ``Z`` had to be copied).
        """
        Z, ldz = self.rows(Z)
        n, m = Z.shape
        A = self.cp.empty((n, m), dtype=Z.dtype)
        if n == 0 or m == 0:
            return Z, A
        bias = Z if b is None else self.cp.ascontiguousarray(b, dtype=Z.dtype)
        i32 = np.int32
        self._launch_columns("xpnet_softmax_fwd", Z.dtype, m,
                             (Z, i32(ldz), bias, i32(b is not None), A, i32(n), i32(m)), groups)
        return Z, A

    def softmax_backward(self, dA, A, groups=False):
        """``dZ = A * (dA - sum(dA * A, axis=0))`` (the softmax Jacobian-vector product)."""
        dA, ldd = self.rows(dA)
        A, lda = self.rows(A)
        n, m = A.shape
        dZ = self.cp.empty((n, m), dtype=A.dtype)
        if n and m:
            i32 = np.int32
            self._launch_columns("xpnet_softmax_bwd", A.dtype, m,
                                 (dA, i32(ldd), A, i32(lda), dZ, i32(n), i32(m)), groups)
        return dZ

    # ------------------------------------------------------------------ losses
    def softmax_xent(self, Z, A, Y, groups=False):
        """Per-column cross-entropy from the logits and ``dZ = A - Y``; returns both.

        ``Z, A, Y (C, m)``; the losses are ``(m,)`` and ``dZ`` is ``(C, m)``, both contiguous.
        """
        Z, ldz = self.rows(Z)
        A, lda = self.rows(A)
        Y, ldy = self.rows(Y)
        n, m = Z.shape
        loss = self.cp.empty((m,), dtype=Z.dtype)
        dZ = self.cp.empty((n, m), dtype=Z.dtype)
        if n and m:
            i32 = np.int32
            self._launch_columns("xpnet_softmax_xent", Z.dtype, m,
                                 (Z, i32(ldz), A, i32(lda), Y, i32(ldy), loss, dZ, i32(n),
                                  i32(m)), groups)
        return loss, dZ

    def bce_mean(self, Z, Y, denom):
        """``sum(max(z, 0) - z y + log1p(exp(-|z|))) / denom`` as a 0-d array."""
        return self._bce_mean(Z, Y, denom)

    def sq_err_mean(self, P, Y, denom):
        """``sum((P - Y)^2) / denom`` as a 0-d array."""
        return self._sq_err_mean(P, Y, denom)

    def sum_div(self, x, denom):
        """``sum(x) / denom`` as a 0-d array."""
        return self._sum_div(x, denom)

    def row_sum_scaled(self, x, scale, out):
        """``out = sum(x, axis=1, keepdims=True) * scale``; ``x (n, m)``, ``out (n, 1)``."""
        return self._sum_scale(x, scale, axis=1, keepdims=True, out=out)

    # ----------------------------------------------------------------- random
    def uniform(self, seed, shape, dtype):
        """Uniform [0, 1) draws of ``shape`` on the device; see ``uniform_reference``."""
        u = self.cp.empty(shape, dtype=dtype)
        if u.size:
            self._uniform(np.uint64(seed), u)
        return u

    def uniform_fed(self, seeds, slot, shape, dtype):
        """``uniform(seeds[slot], shape, dtype)`` with the seed read from the device array
        ``seeds (k,) uint64`` when the kernel runs, not passed at launch: a CUDA graph that
        records it draws afresh on each replay once new seeds are copied there."""
        u = self.cp.empty(shape, dtype=dtype)
        if u.size:
            self._uniform_fed(seeds, np.int32(slot), u)
        return u

    # ------------------------------------------------------- optimizer updates
    def sgd(self, theta, grad, lr):
        self._sgd(grad, lr, theta)

    def momentum(self, theta, grad, v, beta, step):
        self._momentum(grad, beta, 1 - beta, step, theta, v)

    def rmsprop(self, theta, grad, s, lr, beta, eps):
        self._rmsprop(grad, beta, 1 - beta, lr, eps, theta, s)

    def adam(self, theta, grad, m, v, beta1, beta2, step, inv_sqrt_c2, eps):
        self._adam(grad, beta1, 1 - beta1, beta2, 1 - beta2, step, inv_sqrt_c2, eps,
                   theta, m, v)

    def update_fed(self, name, theta, grad, slots, hp, fed, k):
        """The update ``name`` (sgd, momentum, rmsprop, adam) with its per-step scalars read
        from ``fed[k:]`` when it runs: sgd and rmsprop the learning rate, momentum its step,
        adam ``lr / (1 - beta1^t)`` and ``1 / sqrt(1 - beta2^t)``."""
        kernel, k = self._fed[name], np.int32(k)
        if name == "sgd":
            kernel(grad, fed, k, theta)
        elif name == "momentum":
            kernel(grad, hp["beta"], 1 - hp["beta"], fed, k, theta, slots["v"])
        elif name == "rmsprop":
            kernel(grad, hp["beta"], 1 - hp["beta"], fed, k, hp["epsilon"], theta, slots["s"])
        else:
            b1, b2 = hp["beta1"], hp["beta2"]
            kernel(grad, b1, 1 - b1, b2, 1 - b2, fed, k, hp["epsilon"], theta, slots["m"],
                   slots["v"])
