"""Numba CPU kernels of the ``numba`` backend: fused, compiled once, cached on disk.

Each kernel does in one pass what the NumPy backend does in several: bias add + activation,
``dA * g'(Z)``, softmax (+ its Jacobian-vector product), the losses from logits, ``dW /= m`` with
the ``db`` row sums, and each optimizer update over the one flat buffer that holds every layer.
Matmuls stay with BLAS (the backend calls ``numpy.matmul``).

Conventions: 2-D arrays are C-contiguous ``(n, m)`` in course notation (``Z (n[l], m)``), flat
buffers are 1-D; every array of a call has one dtype (float32 or float64) and scalar arguments
arrive already cast to it, so float32 kernels compute in float32 like NumPy does. A serial kernel
named ``*_rows``/``*_range`` does the part ``[lo, hi)``; its ``*_parallel`` twin splits the whole
range over Numba's threads (``prange``). The backend chooses between them by size. Flat kernels
slice before looping: a loop from a runtime ``lo`` keeps negative-index checks that stop LLVM
from vectorizing.

Compiled with ``cache=True`` (a second process loads machine code instead of compiling),
``nogil=True``, ``error_model="numpy"`` (no zero-division checks, which would also stop
vectorizing) and ``FASTMATH`` (no ``nnan``/``ninf``: NaN still reaches the divergence check).
Numba's cache checks only the timestamp of the file a function is defined in, so everything
compiled here, scalar helpers included, lives in this one file.

Scalar math. This Numba build has no SVML, so ``math.exp`` in a loop is a scalar libm call that
keeps the loop from vectorizing. In float32 the kernels use the approximations below, made of
selects, polynomials and an integer bit-cast only, so LLVM turns a loop of them into SIMD code;
float64 keeps libm (``math.exp``, ``math.tanh``). Maximum relative errors against float64 libm,
every float32 input checked (``cpu_accuracy.exhaustive``, ``docs/numba.md``):

``exp_nonpos(x)``, ``x <= 0``: Cody-Waite reduction ``x = n ln2 + r`` and the Cephes ``expf``
    polynomial; 8.4e-8 (1.4 ulp) on ``[ln(FLT_MIN), 0] = [-87.3365, 0]``. Below, where the exact
    value is subnormal, it returns 0 (absolute error < 1.2e-38). ``exp_nonpos(0) == 1``,
    ``exp_nonpos(-inf) == 0``, NaN propagates.
``tanh(x)``: Eigen's rational minimax form ``a P(a^2) / Q(a^2)`` (odd) on ``a``, ``x`` clamped
    to ``[-7.932197, 7.932197]``; 2.95e-7 (5 ulp) on every float32, exactly +-1 for ``|x| >=
    7.932197``, never above 1 in magnitude, NaN propagates.
``sigmoid(z)``: split-branch ``1 / (1 + e)`` or ``e / (1 + e)`` with ``e = exp_nonpos(-|z|)``;
    1.8e-7 for ``z >= ln(FLT_MIN)``; below, absolute error < 1.2e-38.

The helpers are compiled without ``reassoc``: it would let LLVM fold the two Cody-Waite
constants back into one and lose the extra precision the split exists for.

Vector width. The activation and softmax kernels, which compute more than they move, call
``_wide_vectors()``: an LLVM function attribute that lets them use 512-bit vectors where the CPU
has them (LLVM prefers 256 bits on Intel's AVX-512 CPUs); elsewhere it changes nothing.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

#: Fast-math flags safe for every kernel: no ``nnan``/``ninf`` (NaN must reach the divergence
#: check and +-inf must stay +-inf), no ``afn`` (libm calls stay exact).
FASTMATH = {"nsz", "arcp", "contract"}
#: Kernels that sum add ``reassoc`` so their reductions vectorize (summation order changes).
FASTMATH_REDUCE = FASTMATH | {"reassoc"}
_HELPER = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
_OVERLOAD = {"jit_options": {"fastmath": FASTMATH, "error_model": "numpy"}}

F32 = np.float32
_LOG2E = F32(1.4426950408889634)
_LN2_HI = F32(0.693359375)           # ln 2 = _LN2_HI + _LN2_LO; _LN2_HI has 9 significant bits
_LN2_LO = F32(-2.12194440e-4)
_EXP_P = (F32(1.9875691500e-4), F32(1.3981999507e-3), F32(8.3334519073e-3),
          F32(4.1665795894e-2), F32(1.6666665459e-1), F32(5.0000001201e-1))
_EXP_LO = F32(-87.33654)              # ln(FLT_MIN): below it the result is subnormal
# tanh = x P(x^2) / Q(x^2), the rational minimax form of Eigen's generic_fast_tanh_float.
_TANH_P = (F32(-2.76076847742355e-16), F32(2.00018790482477e-13), F32(-8.60467152213735e-11),
           F32(5.12229709037114e-08), F32(1.48572235717979e-05), F32(6.37261928875436e-04),
           F32(4.89352455891786e-03))
_TANH_Q = (F32(1.19825839466702e-06), F32(1.18534705686654e-04), F32(2.26843463243900e-03),
           F32(4.89352518554385e-03))
# |x| is clamped to the smallest float32 at which the rational (float32, FMA-contracted) rounds to
# exactly 1; up to it, it stays <= 1 (Eigen's clamp, 7.9053, gives 1 - 2.4e-7, and beyond 8.5 the
# rational exceeds 1).
_TANH_CLAMP = F32(7.932197)
_TANH_NCLAMP = F32(-7.932197)


@intrinsic
def _bits_as_float32(typingctx, bits):
    """Reinterpret the low 32 bits of an integer as a float32 (a register move, no memory)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = args[0]
        if value.type.width != 32:
            value = builder.trunc(value, ir.IntType(32))
        return builder.bitcast(value, ir.FloatType())

    return types.float32(bits), codegen


@intrinsic
def _prefetch(typingctx, X, i, j):
    """Ask the CPU to bring the cache line holding ``X[i, j]`` in (``llvm.prefetch``: read,
    keep in all levels); no effect on results. ``X`` 2-D, indices in range."""
    if not (isinstance(X, types.Array) and X.ndim == 2):
        return None

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        arr = context.make_array(arrty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, arrty, arr, [args[1], args[2]],
                                       wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.none(X, i, j), codegen


#: LLVM function attributes that let a kernel use 512-bit vectors (see ``_wide_vectors``).
WIDE_VECTOR_ATTRIBUTES = ('"prefer-vector-width"="512"', '"min-legal-vector-width"="512"')


@intrinsic
def _wide_vectors(typingctx):
    """Called first in a kernel: LLVM may vectorize that function with 512-bit registers.

    LLVM tunes Intel's AVX-512 CPUs to prefer 256-bit vectors; the ``prefer-vector-width``
    function attribute overrides that for the calling function only, so no process-wide setting
    (``NUMBA_CPU_FEATURES``) is needed and the machine code Numba caches keeps it. On CPUs
    without AVX-512 the widest vectors there are stay the limit. llvmlite's ``add`` accepts only
    its list of keyword attributes, hence ``set.add`` for these string attributes.
    """
    def codegen(context, builder, signature, args):
        for attribute in WIDE_VECTOR_ATTRIBUTES:
            set.add(builder.function.attributes, attribute)
        return context.get_dummy_value()

    return types.none(), codegen


@njit(**_HELPER)
def _exp_nonpos_f32(x):
    p0, p1, p2, p3, p4, p5 = _EXP_P
    xc = _EXP_LO if x < _EXP_LO else x                     # NaN passes through
    n = np.floor(xc * _LOG2E + F32(0.5))                   # x = n ln2 + r, |r| <= ln2 / 2
    r = xc - n * _LN2_HI
    r = r - n * _LN2_LO
    p = ((((p0 * r + p1) * r + p2) * r + p3) * r + p4) * r + p5
    p = p * (r * r) + r + F32(1.0)
    n = n if n >= F32(-126.0) else F32(-126.0)            # also keeps NaN out of the int cast
    scale = _bits_as_float32((np.int32(n) + np.int32(127)) << np.int32(23))   # 2^n
    return F32(0.0) if x < _EXP_LO else p * scale


@njit(**_HELPER)
def _tanh_f32(x):
    p6, p5, p4, p3, p2, p1, p0 = _TANH_P
    q3, q2, q1, q0 = _TANH_Q
    # The rational is odd, so clamping x to [-c, c] (two selects; NaN passes through) gives the
    # same bits as evaluating it on min(|x|, c) and copying the sign back, one vector op less.
    a = _TANH_CLAMP if x > _TANH_CLAMP else x
    a = _TANH_NCLAMP if a < _TANH_NCLAMP else a
    z = a * a
    p = (((((p6 * z + p5) * z + p4) * z + p3) * z + p2) * z + p1) * z + p0
    q = ((q3 * z + q2) * z + q1) * z + q0
    # a * (p / q), not (a * p) / q: for tiny a, p / q rounds to p0 / q0 = 1 - 1.3e-7, so the
    # result stays within 1.4e-7 of a, subnormal a included, where a * p would lose a's bits
    # (no branch for |x| < 4e-4 needed).
    return a * (p / q)


def exp_nonpos(x):
    """``exp(x)`` for ``x <= 0`` (float32: the approximation above; float64: libm)."""
    return math.exp(x)


def tanh(x):
    """``tanh(x)`` (float32: the approximation above; float64: libm)."""
    return math.tanh(x)


@overload(exp_nonpos, **_OVERLOAD)
def _exp_nonpos_impl(x):
    if x == types.float32:
        return lambda x: _exp_nonpos_f32(x)
    if isinstance(x, types.Float):
        return lambda x: math.exp(x)
    return None


@overload(tanh, **_OVERLOAD)
def _tanh_impl(x):
    if x == types.float32:
        return lambda x: _tanh_f32(x)
    if isinstance(x, types.Float):
        return lambda x: math.tanh(x)
    return None


def sigmoid(z):
    """Split-branch logistic ``1 / (1 + exp(-z))``: ``exp`` of ``-|z|`` only, finite for any z."""
    e = math.exp(-abs(z))
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


@overload(sigmoid, **_OVERLOAD)
def _sigmoid_impl(z):
    if not isinstance(z, types.Float):
        return None
    zero, one = (F32(0.0), F32(1.0)) if z == types.float32 else (0.0, 1.0)

    def impl(z):
        e = exp_nonpos(-abs(z))
        d = one + e
        return one / d if z >= zero else e / d

    return impl


# ------------------------------------------------------------------------ kernels
_SERIAL = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
_REDUCE = dict(_SERIAL, fastmath=FASTMATH_REDUCE)
_PARALLEL = dict(_SERIAL, parallel=True)
_CHUNK = 16384  # elements per parallel work item of the flat-buffer kernels

SIGMOID, TANH, RELU, LEAKY_RELU, LINEAR = range(5)
#: Activation name -> kernel code (softmax has its own column-wise kernels).
CODES = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU, "leaky_relu": LEAKY_RELU,
         "linear": LINEAR}


# ------------------------------------------------------------------------ forward
@njit(**_SERIAL)
def forward_rows(code, Z, b, A, slope, lo, hi):
    """Rows ``lo:hi``: ``Z += b`` in place (when ``b`` is not None), then ``A = g(Z)``.

    ``Z, A (n, m)``, ``b (n, 1)`` or None, ``code`` from ``CODES`` (``LINEAR`` writes no ``A``);
    ``slope`` (leaky ReLU) may be a Python float: it is cast to the dtype here.
    """
    _wide_vectors()
    m = Z.shape[1]
    zero = A.dtype.type(0.0)
    s = A.dtype.type(slope)
    for i in range(lo, hi):
        if b is not None:
            bi = b[i, 0]
            for j in range(m):
                Z[i, j] += bi
        if code == RELU:
            for j in range(m):
                z = Z[i, j]
                A[i, j] = zero if z <= zero else z      # NaN stays NaN, like np.maximum
        elif code == LEAKY_RELU:
            for j in range(m):
                z = Z[i, j]
                A[i, j] = z if z > zero else z * s
        elif code == SIGMOID:
            for j in range(m):
                A[i, j] = sigmoid(Z[i, j])
        elif code == TANH:
            for j in range(m):
                A[i, j] = tanh(Z[i, j])


@njit(**_PARALLEL)
def forward_parallel(code, Z, b, A, slope):
    """``forward_rows`` over all rows, rows split across threads."""
    for i in prange(Z.shape[0]):
        forward_rows(code, Z, b, A, slope, i, i + 1)


@njit(**_SERIAL)
def softmax_cols(Z, b, A, lo, hi):
    """Columns ``lo:hi``: ``Z += b`` (when given), then the max-shifted softmax ``A = g(Z)``.

    ``Z, A (n, m)``, ``b (n, 1)`` or None; each column is one example's logits. Three passes
    down the rows (max, exp and sum, scale by the reciprocal), each vectorized along a row.
    """
    _wide_vectors()
    n = Z.shape[0]
    colmax = np.full(hi - lo, -np.inf, A.dtype)
    total = np.zeros(hi - lo, A.dtype)
    for i in range(n):
        z, a = Z[i, lo:hi], A[i, lo:hi]
        if b is not None:
            bi = b[i, 0]
            for j in range(z.shape[0]):
                z[j] += bi
        for j in range(z.shape[0]):
            if z[j] > colmax[j]:
                colmax[j] = z[j]
    for i in range(n):
        z, a = Z[i, lo:hi], A[i, lo:hi]
        for j in range(z.shape[0]):
            e = exp_nonpos(z[j] - colmax[j])
            a[j] = e
            total[j] += e
    for j in range(total.shape[0]):
        total[j] = A.dtype.type(1.0) / total[j]
    for i in range(n):
        a = A[i, lo:hi]
        for j in range(a.shape[0]):
            a[j] *= total[j]


def column_chunks(m):
    """How many column ranges the parallel softmax kernels split ``m`` columns into: one
    contiguous range of at least 64 columns per thread, so that each thread streams down its
    rows (blocks of 128-512 columns were slower: every row of a block sits on its own page)."""
    return max(1, min(get_num_threads(), m // 64))


@njit(**_PARALLEL)
def softmax_parallel(Z, b, A, chunks):
    """``softmax_cols`` over all columns in ``chunks`` ranges split across threads."""
    m = Z.shape[1]
    for k in prange(chunks):
        softmax_cols(Z, b, A, k * m // chunks, (k + 1) * m // chunks)


# ----------------------------------------------------------------------- backward
@njit(**_SERIAL)
def backward_rows(code, dA, Z, A, dZ, slope, lo, hi):
    """Rows ``lo:hi`` of ``dZ = dA * g'(Z)``; sigmoid and tanh read ``A``, the ReLUs ``Z``."""
    m = dA.shape[1]
    zero = dZ.dtype.type(0.0)
    one = dZ.dtype.type(1.0)
    s = dZ.dtype.type(slope)
    for i in range(lo, hi):
        if code == RELU:
            for j in range(m):
                dZ[i, j] = dA[i, j] if Z[i, j] > zero else zero
        elif code == LEAKY_RELU:
            for j in range(m):
                d = dA[i, j]
                dZ[i, j] = d if Z[i, j] > zero else d * s
        elif code == SIGMOID:
            for j in range(m):
                a = A[i, j]
                dZ[i, j] = dA[i, j] * a * (one - a)
        elif code == TANH:
            for j in range(m):
                a = A[i, j]
                dZ[i, j] = dA[i, j] * (one - a * a)
        else:
            for j in range(m):
                dZ[i, j] = dA[i, j]


@njit(**_PARALLEL)
def backward_parallel(code, dA, Z, A, dZ, slope):
    """``backward_rows`` over all rows, rows split across threads."""
    for i in prange(dA.shape[0]):
        backward_rows(code, dA, Z, A, dZ, slope, i, i + 1)


@njit(**_SERIAL)
def softmax_backward_cols(dA, A, dZ, lo, hi):
    """Columns ``lo:hi`` of the softmax Jacobian-vector product ``A * (dA - sum(dA * A, 0))``."""
    n = A.shape[0]
    s = np.zeros(hi - lo, A.dtype)
    for i in range(n):
        d, a = dA[i, lo:hi], A[i, lo:hi]
        for j in range(a.shape[0]):
            s[j] += d[j] * a[j]
    for i in range(n):
        d, a, out = dA[i, lo:hi], A[i, lo:hi], dZ[i, lo:hi]
        for j in range(a.shape[0]):
            out[j] = a[j] * (d[j] - s[j])


@njit(**_PARALLEL)
def softmax_backward_parallel(dA, A, dZ, chunks):
    """``softmax_backward_cols`` over all columns in ``chunks`` ranges split across threads."""
    m = A.shape[1]
    for k in prange(chunks):
        softmax_backward_cols(dA, A, dZ, k * m // chunks, (k + 1) * m // chunks)


@njit(**_REDUCE)
def scale_rowsum(dZ, scale, out, db):
    """``out = scale * dZ`` and ``db = scale * sum(dZ, axis=1)``, one pass; ``scale = 1 / m``.

    The backend then has BLAS compute ``dW = out A_prev^T``: scaling ``dZ (n[l], m)`` costs
    ``m`` per row where scaling ``dW (n[l], n[l-1])`` after the product costs ``n[l-1]``.
    ``db (n[l], 1)`` or None; ``out`` C- or column-major; ``scale`` cast to the dtype here.
    """
    n, m = dZ.shape
    s = dZ.dtype.type(scale)
    for i in range(n):
        acc = dZ.dtype.type(0.0)
        for j in range(m):
            d = dZ[i, j]
            out[i, j] = d * s
            acc += d
        if db is not None:
            db[i, 0] = acc * s


# ------------------------------------------------------------------------- losses
@njit(**_REDUCE)
def categorical_crossentropy(Z, Y):
    """``sum_j (logsumexp(Z[:, j]) - Z[:, j] . Y[:, j]) / m`` from the logits ``Z (C, m)``."""
    n, m = Z.shape
    colmax = Z[0].copy()
    for i in range(1, n):
        for j in range(m):
            if Z[i, j] > colmax[j]:
                colmax[j] = Z[i, j]
    total = np.zeros(m, Z.dtype)
    dot = np.zeros(m, Z.dtype)
    for i in range(n):
        for j in range(m):
            total[j] += exp_nonpos(Z[i, j] - colmax[j])
            dot[j] += Z[i, j] * Y[i, j]
    cost = 0.0
    for j in range(m):
        cost += (math.log(total[j]) + colmax[j]) - dot[j]
    return cost / m


@njit(**_REDUCE)
def binary_crossentropy(Z, Y):
    """``sum(max(z, 0) - z y + log(1 + exp(-|z|))) / m`` from the logits ``Z (1, m)``."""
    n, m = Z.shape
    zero = Z.dtype.type(0.0)
    cost = 0.0
    for i in range(n):
        for j in range(m):
            z = Z[i, j]
            cost += (max(z, zero) - z * Y[i, j]) + math.log1p(exp_nonpos(-abs(z)))
    return cost / m


@njit(**_REDUCE)
def mean_squared_error(A, Y):
    """``sum((A - Y)^2) / (2 m)`` for the linear output ``A (n, m)``."""
    n, m = A.shape
    cost = 0.0
    for i in range(n):
        for j in range(m):
            d = A[i, j] - Y[i, j]
            cost += d * d
    return cost / (2 * m)


# ------------------------------------------------------------------- input scaling
_EXACT = dict(cache=True, nogil=True, error_model="numpy")  # no fast-math: x / y stays exact


@njit(**_EXACT)
def standardize_rows(X, mean, std, out, lo, hi):
    """Rows ``lo:hi`` of ``out = (X - mean) / std``: ``X (m, n)`` float32 or float64,
    ``mean``, ``std (n,)`` float64, computed in float64 and rounded to ``out``'s dtype once,
    the same bits as NumPy's float64 subtract and divide then cast (no reciprocal, no FMA)."""
    f = out.dtype.type
    for i in range(lo, hi):
        x, o = X[i], out[i]
        for j in range(x.shape[0]):
            o[j] = f((np.float64(x[j]) - mean[j]) / std[j])


@njit(**_EXACT)
def column_stats(X, chunk_rows, mean, var):
    """``mean``, ``var (n,)`` float64 of ``X (m, n)`` (float32 or float64, C-contiguous), the
    same bits as ``xpnet.network.data.column_stats``: the rows summed in order into float64
    and divided by ``m``; then, per chunk of ``chunk_rows`` rows, the squared deviations
    summed in order from zero and each chunk's sum added to the total, divided by ``m``. One
    fused pass each, no temporaries."""
    m, n = X.shape
    total = np.zeros(n)
    for i in range(m):
        x = X[i]
        for j in range(n):
            total[j] += np.float64(x[j])
    for j in range(n):
        mean[j] = total[j] / m
        var[j] = 0.0
    part = np.zeros(n)
    for lo in range(0, m, chunk_rows):
        part[:] = 0.0
        for i in range(lo, min(lo + chunk_rows, m)):
            x = X[i]
            for j in range(n):
                d = np.float64(x[j]) - mean[j]
                part[j] += d * d
        for j in range(n):
            var[j] += part[j]
    for j in range(n):
        var[j] = var[j] / m


@njit(**dict(_EXACT, parallel=True))
def standardize_parallel(X, mean, std, out, chunks):
    """``standardize_rows`` over all rows in ``chunks`` row ranges split across threads."""
    m = X.shape[0]
    for k in prange(chunks):
        standardize_rows(X, mean, std, out, k * m // chunks, (k + 1) * m // chunks)


# ------------------------------------------------------------------------ dropout
@njit(**_SERIAL)
def dropout_mask(U, keep_prob, D):
    """Inverted-dropout mask from uniform draws: ``D = 1 / keep_prob`` where ``U < keep_prob``
    (compared in ``D``'s dtype, ``U`` rounded to it first), else 0. ``U`` float64 and ``D``
    flat; the same bits as ``where(greater(keep_prob, U.astype(D.dtype)), 1 / keep_prob, 0)``
    cast to ``D.dtype``, the NumPy backend's mask."""
    f = D.dtype.type
    kp, scale, zero = f(keep_prob), f(1.0 / keep_prob), f(0.0)
    for i in range(D.shape[0]):
        D[i] = scale if f(U[i]) < kp else zero


# -------------------------------------------------- optimizer updates (flat buffers)
@njit(**_SERIAL)
def sgd_range(theta, grad, lr, lo, hi):
    """``theta -= lr * grad`` on ``[lo, hi)``."""
    theta, grad = theta[lo:hi], grad[lo:hi]
    for i in range(theta.shape[0]):
        theta[i] -= lr * grad[i]


# Subnormal numbers make x86 take a microcode assist per instruction (about 20x slower here).
# With ReLUs that died, m decays by beta1 each step through the subnormal range, and while
# step * m is subnormal every Adam update pays for it. The kernels therefore store 0 for a moment
# whose value, or whose term in the update, would be subnormal (the ``*_min`` thresholds, from
# ``optimizer_floors``); a parameter loses at most ``tiny / eps`` (1.2e-30 in float32) per step.
@njit(**_SERIAL)
def momentum_range(theta, grad, v, beta, one_minus_beta, step, v_min, lo, hi):
    """``v = beta v + (1 - beta) grad``; ``theta -= step * v`` on ``[lo, hi)``."""
    theta, grad, v = theta[lo:hi], grad[lo:hi], v[lo:hi]
    zero = theta.dtype.type(0.0)
    for i in range(theta.shape[0]):
        vi = v[i] * beta + one_minus_beta * grad[i]
        vi = zero if abs(vi) < v_min else vi
        v[i] = vi
        theta[i] -= step * vi


@njit(**_SERIAL)
def rmsprop_range(theta, grad, s, beta, one_minus_beta, lr, eps, g_min, s_min, lo, hi):
    """``s = beta s + (1 - beta) grad^2``; ``theta -= lr grad / (sqrt(s) + eps)``."""
    theta, grad, s = theta[lo:hi], grad[lo:hi], s[lo:hi]
    zero = theta.dtype.type(0.0)
    for i in range(theta.shape[0]):
        g = grad[i]
        gs = zero if abs(g) < g_min else g          # keeps (1 - beta) g^2 out of subnormals
        si = s[i] * beta + one_minus_beta * (gs * gs)
        si = zero if si < s_min else si
        s[i] = si
        theta[i] -= lr * g / (np.sqrt(si) + eps)


@njit(**_SERIAL)
def adam_range(theta, grad, m, v, beta1, omb1, beta2, omb2, step, scale, eps, g_min, m_min,
               v_min, lo, hi):
    """Adam on ``[lo, hi)``: ``theta -= step * m / (sqrt(v) * scale + eps)``.

    ``step = lr / (1 - beta1^t)`` and ``scale = 1 / sqrt(1 - beta2^t)`` fold the bias
    corrections into scalars; ``omb1 = 1 - beta1``, ``omb2 = 1 - beta2``. The scalars may come
    as Python floats (cheaper to pass than ten NumPy scalars): they are cast to the dtype here.
    """
    f = theta.dtype.type
    b1, c1, b2, c2, st, sc, ep = f(beta1), f(omb1), f(beta2), f(omb2), f(step), f(scale), f(eps)
    gmin, mmin, vmin = f(g_min), f(m_min), f(v_min)
    theta, grad, m, v = theta[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi]
    zero = f(0.0)
    for i in range(theta.shape[0]):
        g = grad[i]
        gs = zero if abs(g) < gmin else g
        mi = m[i] * b1 + c1 * g
        mi = zero if abs(mi) < mmin else mi
        vi = v[i] * b2 + c2 * (gs * gs)
        vi = zero if vi < vmin else vi
        m[i] = mi
        v[i] = vi
        theta[i] -= st * mi / (np.sqrt(vi) * sc + ep)


_TINY = {np.dtype(t): float(np.finfo(t).tiny) for t in (np.float32, np.float64)}


def optimizer_floors(dtype, step, one_minus_beta):
    """``(g_min, state_min, v_min)`` for ``dtype``: below them the kernels store 0.

    ``g_min``: gradients whose ``(1 - beta) g^2`` would be subnormal add 0 to the second
    moment; ``state_min``: a first moment (or momentum velocity) under ``tiny / step`` would make
    ``step * m`` subnormal; ``v_min``: the smallest normal number.
    """
    tiny = _TINY[np.dtype(dtype)]
    g_min = math.sqrt(tiny / one_minus_beta) if one_minus_beta > 0 else 0.0
    state_min = max(tiny, tiny / abs(step)) if step else tiny
    return g_min, state_min, tiny


@njit(**_PARALLEL)
def sgd_parallel(theta, grad, lr):
    n = theta.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        sgd_range(theta, grad, lr, c * _CHUNK, min(n, (c + 1) * _CHUNK))


@njit(**_PARALLEL)
def momentum_parallel(theta, grad, v, beta, one_minus_beta, step, v_min):
    n = theta.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        momentum_range(theta, grad, v, beta, one_minus_beta, step, v_min, c * _CHUNK,
                       min(n, (c + 1) * _CHUNK))


@njit(**_PARALLEL)
def rmsprop_parallel(theta, grad, s, beta, one_minus_beta, lr, eps, g_min, s_min):
    n = theta.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        rmsprop_range(theta, grad, s, beta, one_minus_beta, lr, eps, g_min, s_min, c * _CHUNK,
                      min(n, (c + 1) * _CHUNK))


@njit(**_PARALLEL)
def adam_parallel(theta, grad, m, v, beta1, omb1, beta2, omb2, step, scale, eps, g_min, m_min,
                  v_min):
    n = theta.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        adam_range(theta, grad, m, v, beta1, omb1, beta2, omb2, step, scale, eps, g_min, m_min,
                   v_min, c * _CHUNK, min(n, (c + 1) * _CHUNK))


# ------------------------------------------------------------------------- gather
@njit(**_SERIAL)
def column_indices(idx, m):
    """``idx`` wrapped like NumPy (``-1`` is the last column) as intp; ``(cols, bad)``.

    ``bad`` is the position of the first index outside ``[-m, m)``, or -1 when all are valid.
    """
    cols = np.empty(idx.shape[0], np.intp)
    for j in range(idx.shape[0]):
        c = idx[j]
        if c < 0:
            c += m
        if c < 0 or c >= m:
            return cols, j
        cols[j] = c
    return cols, -1


@njit(**_SERIAL)
def take_columns_rows(X, cols, out, lo, hi):
    """Rows ``lo:hi`` of ``out = X[:, cols]``; ``cols`` already valid (``column_indices``)."""
    for i in range(lo, hi):
        for j in range(cols.shape[0]):
            out[i, j] = X[i, cols[j]]


@njit(**_SERIAL)
def take_rows(X, idx, out):
    """``out = X[idx, :]``: row copies (the sample-major gather), negative indices from the end.

    Returns the position of the first index outside ``[-m, m)`` (then nothing is written), or
    -1. An explicit inner loop: Numba's slice assignment ``out[j, :] = X[r, :]`` took twice as
    long. While it copies one example it prefetches the next one's cache lines: the rows are
    scattered over the data, so each one otherwise starts with a wait on memory (MNIST-sized
    epoch: 21.7 -> 17 ms of gathering).
    """
    m, n = X.shape
    for j in range(idx.shape[0]):
        if idx[j] < -m or idx[j] >= m:
            return j
    line = max(1, 64 // X.itemsize)
    for j in range(idx.shape[0]):
        if j + 1 < idx.shape[0]:
            nxt = idx[j + 1] + m if idx[j + 1] < 0 else idx[j + 1]
            for k in range(0, n, line):
                _prefetch(X, nxt, k)
        r = idx[j]
        if r < 0:
            r += m
        for k in range(n):
            out[j, k] = X[r, k]
    return -1


@njit(**_PARALLEL)
def take_columns_parallel(X, cols, out):
    for i in prange(X.shape[0]):
        take_columns_rows(X, cols, out, i, i + 1)
