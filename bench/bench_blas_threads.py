"""The BLAS thread policy (``xpnet._blas``) measured: fit times with the policy (``auto``) and
without it (``default``: OpenBLAS's own threads), idle and beside busy processes, and the
set-up time of a big fit.

- ``small``: the MNIST-1D-sized fit of issue 16, 4,000 x 40, hidden 100-100, 10 classes,
  batch 100, 10 epochs, Adam, float32, numpy backend. Its products are 2 MFLOP: ``auto``
  trains it on one BLAS thread.
- ``mlp``: one epoch of 784-256-128-10 at batch 128 on 60,000 samples (51 MFLOP products:
  ``auto`` keeps the library's threads, so it must be no slower).
- ``setup``: the seconds of that one-epoch fit before its first mini-batch (validation,
  statistics, standardization, the move to the backend), ``fit`` minus the epoch.

Each row runs in a fresh process (the setting is read when a fit starts, the busy processes
are started around it); rows run interleaved round by round and the medians and ratios are
printed::

    python bench/bench_blas_threads.py [--rounds 5] [--busy 1] [--quick]

As pytest-benchmark tests (idle only), grouped so the report reads as ratios::

    python -m pytest bench/bench_blas_threads.py --benchmark-only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SETTINGS = ("default", "auto")
_CHILD = r"""
import json, sys, time
import numpy as np
import xpnet
work, quick = sys.argv[1], sys.argv[2] == "1"
rng = np.random.default_rng(0)
if work == "small":
    X = rng.standard_normal((4000, 40), dtype=np.float32); y = rng.integers(0, 10, 4000)
    model = xpnet.NeuralNetwork(hidden=(100, 100), epochs=3 if quick else 10, batch_size=100,
                                backend="numpy", seed=0)
else:
    m = 10_000 if quick else 60_000
    X = rng.random((m, 784), dtype=np.float32); y = rng.integers(0, 10, m)
    model = xpnet.NeuralNetwork(hidden=(256, 128), epochs=1, batch_size=128, backend="numpy",
                                seed=0)
model.fit(X[:500], y[:500])                       # imports and first-call costs, untimed
t = time.perf_counter(); model.fit(X, y); total = time.perf_counter() - t
print(json.dumps({"fit": total, "epochs": sum(model.history_["epoch_time"])}))
"""


def run_child(work, setting, quick, busy, root=ROOT):
    """``{"fit", "epochs"}`` seconds of one fit in a fresh process beside ``busy`` spinners,
    with the xpnet of the tree ``root`` (another checkout for a before/after comparison)."""
    env = dict(os.environ, XPNET_BLAS_THREADS=setting,
               PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(busy)]
    try:
        out = subprocess.run([sys.executable, "-c", _CHILD, work, "1" if quick else "0"],
                             env=env, capture_output=True, text=True, check=True)
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(rounds, busy, quick, before=None):
    """Medians over ``rounds`` interleaved rounds of every (work, setting, load) row; with
    ``before`` (a checkout of an earlier commit) its rows too, as setting ``before``."""
    settings = SETTINGS + (("before",) if before else ())
    rows = [(w, s, b) for w in ("small", "mlp") for s in settings
            for b in ((0, busy) if w == "small" else (0,))]
    times = {row: [] for row in rows}
    for _ in range(rounds):
        for row in rows:
            root = before if row[1] == "before" else ROOT
            setting = "default" if row[1] == "before" else row[1]
            times[row].append(run_child(row[0], setting, quick, row[2], root))
    return {row: {k: statistics.median(t[k] for t in ts) for k in ("fit", "epochs")}
            for row, ts in times.items()}


def report(med, busy):
    settings = sorted({row[1] for row in med}, key=(("before",) + SETTINGS).index)
    small = {(s, b): med[("small", s, b)]["fit"] for s in settings for b in (0, busy)}
    print("small fit (4000 x 40, 100-100-10, batch 100), seconds:")
    for s in settings:
        idle, loaded = small[(s, 0)], small[(s, busy)]
        print(f"  {s:8s} idle {idle:.3f}  beside {busy} busy {loaded:.3f}  "
              f"(busy / idle {loaded / idle:.2f}x)")
    mlp = {s: med[("mlp", s, 0)] for s in settings}
    print("784-256-128-10, one epoch at batch 128, idle, seconds:")
    for s in settings:
        setup = mlp[s]["fit"] - mlp[s]["epochs"]
        print(f"  {s:8s} fit {mlp[s]['fit']:.3f}  epoch {mlp[s]['epochs']:.3f}  "
              f"set-up {setup:.3f}")
    print(f"auto / default: small idle {small[('auto', 0)] / small[('default', 0)]:.2f}x, "
          f"small busy {small[('auto', busy)] / small[('default', busy)]:.2f}x, mlp epoch "
          f"{mlp['auto']['epochs'] / mlp['default']['epochs']:.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--busy", type=int, default=1, help="busy processes beside the fit")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--before", metavar="TREE", help="also time the xpnet of this "
                        "checkout (e.g. git worktree add /tmp/before <commit>)")
    args = parser.parse_args(argv)
    print(f"load before: {os.getloadavg()[0]:.2f}")
    report(measure(args.rounds, args.busy, args.quick, args.before), args.busy)


# ------------------------------------------------------------- pytest-benchmark rows
def _bench(benchmark, work, setting):
    benchmark.group = f"blas threads: {work}"
    benchmark.extra_info.update(setting=setting)
    benchmark.pedantic(lambda: run_child(work, setting, True, 0), rounds=3, iterations=1)


def test_small_fit_default(benchmark):
    _bench(benchmark, "small", "default")


def test_small_fit_auto(benchmark):
    _bench(benchmark, "small", "auto")


def test_mlp_epoch_default(benchmark):
    _bench(benchmark, "mlp", "default")


def test_mlp_epoch_auto(benchmark):
    _bench(benchmark, "mlp", "auto")


if __name__ == "__main__":
    main()
