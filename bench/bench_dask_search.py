"""Random search on a 2-worker Dask ``LocalCluster`` against the same search in one process.

The search: 8 trials (no fine round) of ``NeuralNetwork(hidden=(256, 128), batch_size=32,
epochs=200)`` on digits (1,437 train / 360 dev), sampling the learning rate, L2 and Adam's
beta1; about 2 s per trial on the numba backend here. Each measurement runs in a fresh process:

- ``serial, default threads``: ``random_search`` in one process, the BLAS left to its own
  threads (xpnet's ``auto`` policy);
- ``serial, 1 thread``: the same with ``XPNET_BLAS_THREADS=1`` and ``OPENBLAS_NUM_THREADS=
  OMP_NUM_THREADS=MKL_NUM_THREADS=1``, what each Dask worker gets;
- ``dask``: ``xpnet.distributed.dask.Cluster(("local", 2))`` (what ``xpnet tune --scheduler
  local:2`` starts), the data scattered and each worker warmed up, the 8 trials, timed from
  before the cluster starts; its closing is printed apart.

The serial times include the first trial's Numba compile, as the Dask time includes the
workers' warm-up. The dev scores of the three must be equal, trial for trial. Measurements run
interleaved, round by round, and the medians are printed::

    python bench/bench_dask_search.py [--rounds 3] [--workers 2] [--trials 8] [--epochs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

THREAD_VARS = ("XPNET_BLAS_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
               "MKL_NUM_THREADS")
MODES = ("serial, default threads", "serial, 1 thread", "dask")


def search(trials, epochs, backend, executor=None):
    """The benchmark's random search; returns its trials."""
    import xpnet
    from xpnet import datasets
    from xpnet.network.search import Beta, Real, random_search

    X, y = datasets.load("digits")
    model = xpnet.NeuralNetwork(hidden=(256, 128), batch_size=32, epochs=epochs,
                                backend=backend)
    space = {"learning_rate": Real(1e-4, 1e-2, log=True), "l2": Real(1e-4, 1.0, log=True),
             "beta1": Beta(0.8, 0.99)}
    return random_search(model, space, X, y, n_trials=trials, seed=0, refine=False,
                         stratify=True, executor=executor)


def child(mode, workers, trials, epochs, backend):
    """One measurement in this process: ``{"total", "start", "close", "scores"}``."""
    import xpnet.network.search  # noqa: F401 - imports are not the search's time
    t0 = time.perf_counter()
    if mode != "dask":
        found = search(trials, epochs, backend)
        start = close = 0.0
        total = time.perf_counter() - t0
    else:
        from xpnet.distributed.dask import Cluster
        cluster = Cluster(("local", workers))
        client = cluster.open()
        start = time.perf_counter() - t0
        found = search(trials, epochs, backend, executor=client.get_executor())
        total = time.perf_counter() - t0
        cluster.close()
        close = time.perf_counter() - t0 - total
    scores = {t["trial"]: t["dev_score"] for t in found}
    return {"total": total, "start": start, "close": close,
            "scores": [scores[i] for i in sorted(scores)],
            "fit": sum(t["fit_time"] for t in found), "load": os.getloadavg()[0]}


def run_child(mode, args):
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    if mode == "serial, 1 thread":
        env.update({name: "1" for name in THREAD_VARS})
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--workers",
           str(args.workers), "--trials", str(args.trials), "--epochs", str(args.epochs),
           "--backend", args.backend]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def report(results, args):
    keys = ("total", "start", "close", "fit")
    med = {mode: {k: statistics.median(r[k] for r in rows) for k in keys}
           for mode, rows in results.items()}
    print(f"{args.trials} trials of NeuralNetwork(hidden=(256, 128), batch_size=32, "
          f"epochs={args.epochs}, backend={args.backend}) on digits; medians of "
          f"{args.rounds} rounds; load before: {args.load}")
    for mode in MODES:
        m = med[mode]
        extra = (f"  (cluster start {m['start']:.2f} s, then warm-up and trials; close "
                 f"{m['close']:.2f} s not included)" if mode == "dask" else "")
        print(f"  {mode:<24} {m['total']:7.2f} s   sum of trial fit_time {m['fit']:6.2f} s"
              f"{extra}")
    best = {mode: min(r["total"] for r in rows) for mode, rows in results.items()}
    for mode in MODES[:2]:
        print(f"speed-up of {args.workers} Dask workers over {mode}: "
              f"{med[mode]['total'] / med['dask']['total']:.2f}x of the medians, "
              f"{best[mode] / best['dask']:.2f}x of the fastest runs")
    for i in range(args.rounds):
        print(f"  round {i + 1}: " + ", ".join(
            f"{mode} {results[mode][i]['total']:.2f} s (load {results[mode][i]['load']:.2f})"
            for mode in MODES))
    loads = [r["load"] for rows in results.values() for r in rows]
    print(f"1-minute load average at the end of the runs: {min(loads):.2f} to {max(loads):.2f}")
    same = all(r["scores"] == results[MODES[0]][0]["scores"] for rows in results.values()
               for r in rows)
    print(f"dev scores identical in every run: {same}")
    return same


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.workers, args.trials, args.epochs,
                               args.backend)))
        return 0
    args.load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    results = {mode: [] for mode in MODES}
    for _ in range(args.rounds):
        for mode in MODES:
            results[mode].append(run_child(mode, args))
    return 0 if report(results, args) else 1


if __name__ == "__main__":
    sys.exit(main())
