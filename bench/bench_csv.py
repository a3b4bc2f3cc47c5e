"""Reading a numeric CSV with ``xpnet.io.load_table``: seconds and peak memory.

The file: ``rows`` x ``cols`` columns, ``cols - 1`` standard-normal features written with six
decimals and an integer class label last (200,000 x 50 is about 94 MB), generated once per
size into the temporary folder.

As a pytest-benchmark test (20,000 x 50)::

    python -m pytest bench/bench_csv.py --benchmark-only

As a script, each read runs in a fresh process started by a fresh process, which reports the
reader's peak RSS from ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (a process that only
imports ``xpnet.io`` is measured too, the floor). With several ``--root`` checkouts (e.g. a
worktree of the previous commit) the reads run interleaved, round by round, so a shared
machine's load changes favour none of them::

    python bench/bench_csv.py --rows 200000 [--cols 50] [--rounds 3] [--root DIR ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

#: The child's work: import xpnet.io from a checkout, optionally read the file, print seconds.
READER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from xpnet.io import load_table
t0 = time.perf_counter()
if sys.argv[2] != "-":
    table = load_table(sys.argv[2])
    assert table.X.shape[0] == int(sys.argv[3]), table.X.shape
print(time.perf_counter() - t0)
"""


def make_csv(rows, cols=50, seed=0, folder=None):
    """The benchmark file (written once, then reused); returns its path."""
    folder = folder or tempfile.gettempdir()
    path = os.path.join(folder, f"xpnet-bench-{rows}x{cols}-{seed}.csv")
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(seed)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(",".join([f"x{j}" for j in range(cols - 1)] + ["label"]) + "\n")
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            X = rng.standard_normal((n, cols - 1))
            y = rng.integers(0, 3, n)
            fh.write("".join(",".join(map("{:.6f}".format, row)) + f",{label}\n"
                             for row, label in zip(X.tolist(), y.tolist())))
    os.replace(tmp, path)
    return path


def measure(root, path, rows):
    """``(seconds, peak RSS in MiB)`` of one read (``path="-"``: import only) in a child."""
    proc = subprocess.run([sys.executable, "-c", READER, root, path, str(rows)],
                          capture_output=True, text=True, check=True)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return float(proc.stdout), peak_kib / 1024


def _measure_in_fresh_parent(root, path, rows):
    """RUSAGE_CHILDREN is the largest child so far: ask a fresh process for each read."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import bench_csv; "
            "print(json.dumps(bench_csv.measure(sys.argv[2], sys.argv[3], int(sys.argv[4]))))")
    proc = subprocess.run([sys.executable, "-c", code, os.path.dirname(__file__), root, path,
                           str(rows)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", action="append", help="a checkout to import xpnet from "
                        "(repeatable; default: this one)")
    args = parser.parse_args(argv)
    roots = [os.path.abspath(r) for r in (args.root or [ROOT])]
    path = make_csv(args.rows, args.cols)
    size_mb = os.path.getsize(path) / 2 ** 20
    print(f"{path}: {args.rows} x {args.cols}, {size_mb:.1f} MiB; load {os.getloadavg()[0]:.2f}")
    results = {root: [] for root in roots}
    floor = {root: _measure_in_fresh_parent(root, "-", 0)[1] for root in roots}
    for _ in range(args.rounds):
        for root in roots:
            results[root].append(_measure_in_fresh_parent(root, path, args.rows))
    for root in roots:
        seconds = [s for s, _ in results[root]]
        peak = max(p for _, p in results[root])
        print(f"{root}: {statistics.median(seconds):.2f} s median ({min(seconds):.2f}-"
              f"{max(seconds):.2f}), peak RSS {peak:.0f} MiB = {peak / size_mb:.2f}x the file "
              f"(import alone {floor[root]:.0f} MiB)")
    print(f"load {os.getloadavg()[0]:.2f}")


# ------------------------------------------------------------------ pytest-benchmark
def test_read_csv(benchmark, tmp_path_factory):
    from xpnet.io import load_table
    rows, cols = 20_000, 50
    path = make_csv(rows, cols, folder=str(tmp_path_factory.mktemp("csv")))
    benchmark.group = "read csv"
    benchmark.extra_info.update(rows=rows, cols=cols, bytes=os.path.getsize(path))
    table = benchmark(load_table, path)
    assert table.X.shape == (rows, cols - 1)


if __name__ == "__main__":
    main()
