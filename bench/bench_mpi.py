"""Per-step compute and Allreduce time of data-parallel training over MPI.

The canonical MLP, 784-256-128-10 (235,146 float32 parameters), softmax, Adam, at a fixed batch
per rank (weak scaling: the global batch is ranks x per-rank batch). For each per-rank batch,
every rank times ``steps`` steps of:

- compute: forward, cost and backward on its shard (what ``xpnet.distributed.mpi`` runs);
- allreduce: the one in-place ``Allreduce`` of the flat gradient buffer, after a barrier, so
  it is the communication alone, not the wait for a slower rank;
- step: the whole library step as a fit runs it (compute, scaling, Allreduce, optimizer).

Rank 0 prints the medians over the steps (the slowest rank's) as a table; with several
launches (``--ranks``) it also prints the weak-scaling efficiency, step(1 rank) / step(N).

Two ways to run it::

    python bench/bench_mpi.py --ranks 1 2 4            # launches mpiexec for each count
    mpiexec -n 4 python -m mpi4py bench/bench_mpi.py   # one count, as launched

BLAS runs one thread per rank (ranks are the parallelism; ``--threads`` changes it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

LAYERS = (784, 256, 128, 10)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ranks", type=int, nargs="+", default=None,
                   help="launch mpiexec with each of these rank counts and print one table "
                        "(default: measure in this launch)")
    p.add_argument("--batch", type=int, nargs="+", default=[128, 1024],
                   help="per-rank batch sizes (default: 128 1024)")
    p.add_argument("--steps", type=int, default=40, help="timed steps per batch size")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--backend", default="numpy", help="xpnet backend (default: numpy)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads per rank (default 1)")
    p.add_argument("--json", action="store_true", help="print rank 0's rows as JSON")
    return p.parse_args(argv)


# ------------------------------------------------------------------------- one launch
def _state(bk, b, comm_size):
    """A fit's state for the MLP at global batch ``b * comm_size`` (float32, Adam)."""
    from xpnet.network.model import Architecture, initialize_bn_state, initialize_parameters
    from xpnet.network.optimizers import make_optimizer

    class State:
        pass

    st = State()
    st.bk, st.arch = bk, Architecture(LAYERS, "relu", "softmax")
    st.params = initialize_parameters(st.arch, "he", 0, "float32", bk)
    st.grads = st.params.zeros_like(prefix="d")
    st.bn_state = initialize_bn_state(st.arch, st.params)
    st.optimizer = make_optimizer("adam")
    st.optimizer.init(st.params)
    st.l2, st.weights = 0.0, None
    return st


def _batch(bk, b, seed):
    rng = np.random.default_rng(seed)
    X = rng.random((LAYERS[0], b), dtype=np.float32)
    Y = np.zeros((LAYERS[-1], b), np.float32)
    Y[rng.integers(0, LAYERS[-1], b), np.arange(b)] = 1.0
    return bk.asarray(X), bk.asarray(Y)


def measure(comm, MPI, args):
    """Rows ``{ranks, batch, params, compute_ms, allreduce_ms, step_ms}`` (slowest rank's
    medians) for each per-rank batch."""
    from xpnet.backends import resolve
    from xpnet.distributed.mpi import Context, ShardDraws, _step
    from xpnet.network.model import backward, compute_cost, forward
    bk = resolve(args.backend)
    ctx = Context(comm, MPI)
    rows = []
    for b in args.batch:
        st = _state(bk, b, ctx.size)
        X, Y = _batch(bk, b, ctx.rank)
        B = b * ctx.size
        total, penalty = bk.zeros((), "float32"), bk.zeros((), "float32")
        times = {"compute": [], "allreduce": [], "step": []}
        for i in range(args.warmup + args.steps):
            comm.Barrier()
            t0 = time.perf_counter()
            AL, caches = forward(X, st.params, st.arch, backend=bk, training=True)
            compute_cost(AL, Y, caches, st.arch, st.params, backend=bk)
            backward(Y, caches, st.params, st.arch, grads=st.grads, backend=bk)
            bk.synchronize()
            t1 = time.perf_counter()
            comm.Barrier()
            t2 = time.perf_counter()
            ctx.allreduce_flat(bk, st.grads.flat)
            t3 = time.perf_counter()
            comm.Barrier()
            t4 = time.perf_counter()
            c0, c1 = ctx.shard(B)
            _step(ctx, st, X, Y, None, ShardDraws(None, B, c0, c1), total, penalty, B, False)
            st.optimizer.step(st.params, st.grads, 1e-3)
            bk.synchronize()
            t5 = time.perf_counter()
            if i >= args.warmup:
                times["compute"].append(t1 - t0)
                times["allreduce"].append(t3 - t2)
                times["step"].append(t5 - t4)
        med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
        every = comm.allgather(med)
        slowest = {k: max(m[k] for m in every) for k in med}
        rows.append({"ranks": ctx.size, "batch": b, "global_batch": B,
                     "params": int(st.params.size), "backend": bk.name,
                     **{f"{k}_ms": v for k, v in slowest.items()}})
    return rows


def worker(args):
    from threadpoolctl import threadpool_limits
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    with threadpool_limits(args.threads):
        rows = measure(comm, MPI, args)
    if comm.Get_rank() == 0:
        print(json.dumps(rows) if args.json else table(rows), flush=True)


# ------------------------------------------------------------------------- the driver
def driver(args):
    rows = []
    for n in args.ranks:
        cmd = ["mpiexec", "-n", str(n), sys.executable, "-m", "mpi4py", os.path.abspath(__file__),
               "--json", "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--backend", args.backend, "--threads", str(args.threads), "--batch",
               *map(str, args.batch)]
        env = dict(os.environ, OMPI_MCA_mpi_yield_when_idle="1")
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if out.returncode:
            sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
        rows += json.loads(out.stdout.strip().splitlines()[-1])
    print(table(rows))


def table(rows):
    one = {r["batch"]: r["step_ms"] for r in rows if r["ranks"] == 1}
    head = (f"{'ranks':>5} {'batch/rank':>10} {'global':>7} {'compute ms':>10} "
            f"{'allreduce ms':>12} {'step ms':>8} {'samples/s':>10} {'weak eff.':>9}")
    lines = [f"MLP {'-'.join(map(str, LAYERS))}, {rows[0]['params']:,} float32 parameters, "
             f"backend {rows[0]['backend']}, median of each rank, slowest rank", head]
    for r in sorted(rows, key=lambda r: (r["batch"], r["ranks"])):
        eff = f"{one[r['batch']] / r['step_ms']:.0%}" if r["batch"] in one else "-"
        rate = r["global_batch"] / r["step_ms"] * 1e3
        lines.append(f"{r['ranks']:>5} {r['batch']:>10} {r['global_batch']:>7} "
                     f"{r['compute_ms']:>10.2f} {r['allreduce_ms']:>12.3f} "
                     f"{r['step_ms']:>8.2f} {rate:>10,.0f} {eff:>9}")
    return "\n".join(lines)


def main(argv=None):
    args = parse(argv)
    if args.ranks:
        driver(args)
    else:
        worker(args)


if __name__ == "__main__":
    main()
