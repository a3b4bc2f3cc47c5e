"""Effective memory bandwidth of the cupy backend's fused kernels on one GPU.

    python bench/bench_gpu_kernels.py                    # (4096, 8192) float32
    python bench/bench_gpu_kernels.py --shape 8192 8192 --dtype float64 --json out.json

Each kernel runs on arrays of ``--shape``; its time is the median of ``--repeat`` CUDA-event
timings of ``--inner`` back-to-back launches (after ``--warmup`` untimed ones, which also
compile). Effective bandwidth counts each array the kernel must read or write once:
``bytes = (arrays read + arrays written) * size * itemsize`` (the ``(n, 1)`` bias is not
counted). A device-to-device copy (``cupy.copyto``, 1 read + 1 write) is the reference line.
The softmax rows show the backend's paths: the per-column kernels (one thread per column, used
up to ``column_kernel_rows`` classes), the column-group kernels (one block per 32 columns, used
above) and CuPy's reductions down the columns (the fallback); ``--softmax-sweep`` compares the
three over class counts and batch sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from xpnet.backends import BackendUnavailable  # noqa: E402
from xpnet.ops import activations as xact, losses as xloss  # noqa: E402

ELEMENTWISE = ("relu", "leaky_relu", "sigmoid", "tanh")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", type=int, nargs=2, default=[4096, 8192], metavar=("N", "M"))
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--inner", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--softmax-sweep", action="store_true",
                   help="also time softmax forward + backward + cross-entropy per column vs "
                        "by reductions over a range of class counts and batch sizes")
    args = p.parse_args(argv)
    if min(args.shape) < 1 or min(args.repeat, args.inner, args.warmup + 1) < 1:
        p.error("--shape, --repeat and --inner must be positive and --warmup >= 0")
    return args


def cases(bk, shape, dtype):
    """``[(name, arrays moved, callable)]`` for every fused kernel on ``shape``."""
    cp, k = bk.xp, bk.kernels
    rng = cp.random.default_rng(0)
    Z = rng.standard_normal(shape, dtype=dtype)
    dA = rng.standard_normal(shape, dtype=dtype)
    A = cp.tanh(Z)
    out = cp.empty_like(Z)
    b = rng.standard_normal((shape[0], 1), dtype=dtype)
    flat = [rng.standard_normal(Z.size, dtype=dtype) for _ in range(4)]
    theta, grad, m1, m2 = flat
    m2 **= 2
    rows = [("copy (reference)", 2, lambda: cp.copyto(out, Z))]
    for name in ELEMENTWISE:
        rows.append((f"{name} bias+forward", 3, lambda n=name: k.bias_activation(n, Z, b, 0.01)))
        rows.append((f"{name} backward", 3,
                     lambda n=name: k.activation_backward(n, dA, Z, A, 0.01)))
    rows += [("adam update (flat)", 7,
              lambda: k.adam(theta, grad, m1, m2, 0.9, 0.999, 1e-9, 1.0, 1e-8)),
             ("sgd update (flat)", 3, lambda: k.sgd(theta, grad, 1e-9)),
             ("softmax forward (per column)", 2, lambda: k.softmax(Z)),
             ("softmax backward (per column)", 3, lambda: k.softmax_backward(dA, A)),
             ("softmax forward (column groups)", 2, lambda: k.softmax(Z, groups=True)),
             ("softmax backward (column groups)", 3,
              lambda: k.softmax_backward(dA, A, groups=True)),
             ("softmax + cross-entropy (column groups)", 4,
              lambda: k.softmax_xent(Z, A, dA, groups=True)),
             ("softmax forward (reductions)", 2, lambda: bk._softmax(Z)),
             ("softmax backward (reductions)", 3,
              lambda: super(type(bk), bk).activation_backward("softmax", dA, Z, A))]
    return rows


def time_kernel(cp, fn, repeat, inner, warmup):
    """Median seconds per launch, timed with CUDA events around ``inner`` launches."""
    for _ in range(warmup):
        fn()
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    times = []
    for _ in range(repeat):
        start.record()
        for _ in range(inner):
            fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3 / inner)
    return statistics.median(times), min(times), max(times)


def softmax_sweep(bk, dtype, args):
    """Rows: per-column kernels, column-group kernels and CuPy's reductions for softmax
    forward, backward and loss."""
    cp = bk.xp
    rng = cp.random.default_rng(1)
    print(f"\nsoftmax forward + backward + cross-entropy, {np.dtype(dtype).name}: us per set")
    print(f"{'classes':>8} {'batch':>6} {'per column':>11} {'col groups':>11} "
          f"{'reductions':>11}")
    rows = []
    for n in (10, 32, 64, 128, 256, 1024, 4096):
        for m in (128, 1024, 8192):
            Z = rng.standard_normal((n, m), dtype=dtype)
            dA = rng.standard_normal((n, m), dtype=dtype)
            Y = cp.zeros((n, m), dtype=dtype)
            Y[0] = 1
            times = []
            for threshold, groups in ((n, True), (n - 1, True), (n - 1, False)):
                bk.column_kernel_rows, bk.group_kernels = threshold, groups

                def work():
                    A = xact.forward(bk, "softmax", Z)
                    xact.backward(bk, "softmax", dA, Z, A)
                    xloss.value(bk, "categorical_crossentropy", Z, A, Y)
                    xloss.delta(bk, "categorical_crossentropy", None, A, Y)

                times.append(time_kernel(cp, work, args.repeat, args.inner, args.warmup)[0])
            rows.append({"classes": n, "batch": m, "per_column_s": times[0],
                         "column_groups_s": times[1], "reductions_s": times[2]})
            print(f"{n:>8} {m:>6} " + " ".join(f"{t * 1e6:>11.1f}" for t in times), flush=True)
    bk.column_kernel_rows = type(bk).column_kernel_rows
    bk.group_kernels = type(bk).group_kernels
    return rows


def main(argv=None):
    args = parse_args(argv)
    try:
        from xpnet.backends import cupy_backend
        bk = cupy_backend.create()
    except BackendUnavailable as exc:
        sys.exit(f"bench_gpu_kernels: {exc}")
    shape, dt = tuple(args.shape), np.dtype(args.dtype)
    nbytes = int(np.prod(shape)) * dt.itemsize
    print(f"{bk!r}; shape {shape} {args.dtype} ({nbytes / 1e6:.0f} MB per array); median "
          f"[min-max] of {args.repeat} x {args.inner} launches")
    print(f"{'kernel':<32} {'arrays':>6} {'us/launch':>22} {'TB/s':>6} {'of copy':>8}")
    rows, copy_bw = [], None
    for name, arrays, fn in cases(bk, shape, dt):
        med, lo, hi = time_kernel(bk.xp, fn, args.repeat, args.inner, args.warmup)
        bw = arrays * nbytes / med / 1e12
        copy_bw = bw if copy_bw is None else copy_bw
        rows.append({"kernel": name, "arrays": arrays, "seconds": med, "min": lo, "max": hi,
                     "tb_per_s": bw, "of_copy": bw / copy_bw})
        span = f"{med * 1e6:.1f} [{lo * 1e6:.1f}-{hi * 1e6:.1f}]"
        print(f"{name:<32} {arrays:>6} {span:>22} {bw:>6.2f} {bw / copy_bw:>8.2f}",
              flush=True)
    sweep = softmax_sweep(bk, dt, args) if args.softmax_sweep else None
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "backend": bk.info(), "results": rows,
                       "softmax_sweep": sweep}, f, indent=2, default=str)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
