"""Error of the float32 approximations in ``cpu``, measured against float64 libm.

``exhaustive()`` walks every float32 input of each function's domain (6.4e9 evaluations, about
two minutes on 2 cores) and is what ``docs/numba.md`` quotes; ``sampled(n)`` checks ``n``
random inputs plus the edges, fast enough for the test suite. Both return
``{name: (max relative error, input where it occurs)}``.

Domains: ``exp_nonpos`` on ``[ln(FLT_MIN), 0]`` (below it the result is flushed to 0);
``tanh`` on ``[0, inf)`` (it is odd by construction); ``sigmoid`` on ``[ln(FLT_MIN), inf)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .cpu import _bits_as_float32, exp_nonpos, sigmoid, tanh

EXP, TANH, SIGMOID = 0, 1, 2
NAMES = {EXP: exp_nonpos.__name__, TANH: tanh.__name__, SIGMOID: sigmoid.__name__}
_TINY = float(np.finfo(np.float32).tiny)
_LN_TINY_BITS = int(np.array([-87.33654], np.float32).view(np.uint32)[0])
_NEG_ZERO_BITS = 0x80000000
_INF_BITS = 0x7F800000


@njit(nogil=True)
def _rel_error(kind, x):
    """Relative error of the approximation at float32 ``x`` (0 where the exact value is 0)."""
    xd = np.float64(x)
    if kind == EXP:
        got, ref = np.float64(exp_nonpos(x)), math.exp(xd)
    elif kind == TANH:
        got, ref = np.float64(tanh(x)), math.tanh(xd)
    else:
        got = np.float64(sigmoid(x))
        ref = 1.0 / (1.0 + math.exp(-xd)) if xd >= 0 else math.exp(xd) / (1.0 + math.exp(xd))
    if ref == 0.0:
        return 0.0
    return abs(got - ref) / abs(ref)


@njit(nogil=True, parallel=True)
def _worst_over_bits(kind, lo, hi):
    """Max relative error over the float32 whose bit patterns are ``lo..hi-1``."""
    chunks = 512
    worst = np.zeros(chunks)
    at = np.zeros(chunks, np.int64)
    span = hi - lo
    for c in prange(chunks):
        start = lo + span * c // chunks
        stop = lo + span * (c + 1) // chunks
        for k in range(start, stop):
            e = _rel_error(kind, _bits_as_float32(k))
            if e > worst[c]:
                worst[c] = e
                at[c] = k
    best = np.argmax(worst)
    return worst[best], at[best]


@njit(nogil=True)
def _worst_over_values(kind, xs):
    worst, at = 0.0, 0
    for i in range(xs.shape[0]):
        e = _rel_error(kind, xs[i])
        if e > worst:
            worst, at = e, i
    return worst, at


def _domains():
    return {EXP: [(_NEG_ZERO_BITS, _LN_TINY_BITS + 1)],
            TANH: [(0, _INF_BITS)],
            SIGMOID: [(0, _INF_BITS), (_NEG_ZERO_BITS, _LN_TINY_BITS + 1)]}


def _bits_to_float(k):
    return float(np.array([k], np.uint32).view(np.float32)[0])


def exhaustive(names=None):
    """Every float32 of each domain (of ``names``, default all); ``{name: (max rel error, x)}``."""
    out = {}
    for kind, ranges in _domains().items():
        if names is not None and NAMES[kind] not in names:
            continue
        results = [_worst_over_bits(kind, lo, hi) for lo, hi in ranges]
        err, k = max(results)
        out[NAMES[kind]] = (float(err), _bits_to_float(k))
    return out


def sampled(n=1 << 20, seed=0):
    """``n`` random inputs per function (uniform over bit patterns and over values) + edges."""
    rng = np.random.default_rng(seed)
    out = {}
    for kind, ranges in _domains().items():
        parts = []
        for lo, hi in ranges:
            parts.append(rng.integers(lo, hi, n // (2 * len(ranges))).astype(np.uint32)
                         .view(np.float32))
            edge = np.arange(max(lo, hi - 4096), hi, dtype=np.uint32).view(np.float32)
            parts.append(edge)
            parts.append(np.arange(lo, lo + 4096, dtype=np.uint32).view(np.float32))
        span = 20.0 if kind != EXP else 87.3
        values = rng.uniform(-span if kind != TANH else 0.0, 0.0 if kind == EXP else span,
                             n // 2).astype(np.float32)
        xs = np.concatenate(parts + [values])
        err, i = _worst_over_values(kind, xs)
        out[NAMES[kind]] = (float(err), float(xs[i]))
    return out
