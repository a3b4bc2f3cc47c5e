"""The numba backend's targets, measured side by side: epoch, activations, compile/load, accuracy.

- ``epoch``: one training epoch of the MLP 784-256-128-10 (ReLU, softmax, cross-entropy), batch
  128, Adam (lr 1e-3), float32, 60,000 synthetic samples, on the numba and numpy backends
  (``xpnet.network.training.run_epoch`` on a state built like ``NeuralNetwork._setup``) and in
  PyTorch (``nn.Linear``, ``ReLU``, ``CrossEntropyLoss``, ``torch.optim.Adam`` defaults, 2 threads).
- ``activation``: ``A = g(Z)`` and ``dZ = dA * g'(Z)`` on ``Z (1024, 4096)`` float32, with a
  ``floor`` row: a copy and a product on two threads, the least memory traffic such a kernel has.

As pytest-benchmark tests (one row each)::

    python -m pytest bench/bench_numba_epoch.py --benchmark-only

As a script, the rows run interleaved round by round, which keeps a shared machine's load
changes from favouring one row, and the ratios are printed (medians, with min-max). The full
run's activation rows run in fresh processes three times: glibc's default allocator, one that
keeps freed blocks, and that again in steady state (30 ms of calls before each timed one)::

    python bench/bench_numba_epoch.py [--rounds 7] [--quick]
    python bench/bench_numba_epoch.py --activations-only [--warm-ms 30]   # steady state
    python bench/bench_numba_epoch.py --compile     # fresh-process compile/load cost of a fit
    python bench/bench_numba_epoch.py --accuracy    # exhaustive float32 exp/tanh error bounds
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DIMS = (784, 256, 128, 10)
BATCH = 128
LR = 1e-3
SAMPLES = 60_000
ACT_SHAPE = (1024, 4096)
ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax")
TORCH_THREADS = 2
#: glibc settings under which freed 16 MB blocks are reused instead of returned to the system.
KEEP_BLOCKS = {"MALLOC_MMAP_THRESHOLD_": "67108864", "MALLOC_TRIM_THRESHOLD_": "536870912"}
#: Untimed calls (ms) before each timed activation call in the full run's steady-state pass.
STEADY_MS = 30.0


# ------------------------------------------------------------------------ workloads
def make_data(m=SAMPLES, seed=0, inputs="uniform"):
    """Synthetic MNIST-shaped data in course layout: ``X (784, m)``, one-hot ``Y (10, m)``.

    ``inputs="uniform"``: pixels in [0, 1), as ``xpnet bench`` draws them. With random labels
    most ReLUs die within an epoch, their Adam moments decay into subnormal numbers, and every
    implementation that does not flush them slows down (NumPy and PyTorch do not).
    ``"normal"``: standard-normal inputs, where that does not happen.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, DIMS[-1], size=m)
    Y = np.zeros((DIMS[-1], m), dtype=np.float32)
    Y[labels, np.arange(m)] = 1.0
    X = (rng.random((DIMS[0], m), dtype=np.float32) if inputs == "uniform"
         else rng.standard_normal((DIMS[0], m), dtype=np.float32))
    return {"X": X, "Y": Y, "labels": labels}


def xpnet_epoch(backend, data, dtype="float32", seed=0):
    """A callable running one ``run_epoch`` on ``backend`` (state built like ``_setup``)."""
    from xpnet.backends import resolve
    from xpnet.network.model import Architecture, initialize_bn_state, initialize_parameters
    from xpnet.network.optimizers import make_optimizer
    from xpnet.network.training import run_epoch

    bk = resolve(backend)
    arch = Architecture(DIMS, hidden_activation="relu", output_activation="softmax")
    params = initialize_parameters(arch, init="he", seed=seed, dtype=dtype, backend=bk)
    state = SimpleNamespace(bk=bk, arch=arch, params=params, grads=params.zeros_like(prefix="d"),
                            bn_state=initialize_bn_state(arch, params),
                            optimizer=make_optimizer("adam"), l2=0.0,
                            batch_size=min(BATCH, data["X"].shape[1]))
    state.optimizer.init(params)
    X, Y = bk.asarray(data["X"], dtype=dtype), bk.asarray(data["Y"], dtype=dtype)
    rng = np.random.default_rng(1)
    return lambda: run_epoch(state, X, Y, LR, rng)


def torch_epoch(data, fused=False):
    """The same epoch in PyTorch on the CPU with ``TORCH_THREADS`` threads (the bench
    registry's implementation, with this script's learning rate, batch and shuffle seed)."""
    import torch

    from xpnet.benchmarks.network import torch_mlp_epoch

    torch.set_num_threads(TORCH_THREADS)
    return torch_mlp_epoch(data, "cpu", lr=LR, batch=BATCH, fused=fused or None,
                           generator=torch.Generator().manual_seed(1))


@functools.lru_cache(maxsize=None)
def _floor_kernels():
    """Two multi-threaded Numba kernels with the least memory traffic any fused forward +
    backward of an elementwise activation has: ``A = Z`` (read one array, write one) and ``dZ =
    dA * X`` (read two, write one), rows split across threads like the backend's kernels."""
    from numba import njit, prange

    @njit(parallel=True, nogil=True)
    def copy(Z, A):
        for i in prange(Z.shape[0]):
            for j in range(Z.shape[1]):
                A[i, j] = Z[i, j]

    @njit(parallel=True, nogil=True)
    def multiply(dA, X, dZ):
        for i in prange(dA.shape[0]):
            for j in range(dA.shape[1]):
                dZ[i, j] = dA[i, j] * X[i, j]

    return copy, multiply


def floor_work(shape=ACT_SHAPE):
    """The ``floor`` row: a copy then a product of float32 arrays of ``shape`` on Numba's
    threads, outputs allocated per call as the activation rows do, so its time is what memory
    alone costs a fused kernel here and ``numpy / floor`` the most speedup one can reach."""
    from xpnet.backends.numba_backend import start_threads

    start_threads()
    copy, multiply = _floor_kernels()
    rng = np.random.default_rng(0)
    Z = rng.standard_normal(shape, dtype=np.float32)
    dA = rng.standard_normal(shape, dtype=np.float32)

    def work():
        A = np.empty_like(Z)
        copy(Z, A)
        dZ = np.empty_like(dA)
        multiply(dA, A, dZ)
        return dZ
    return work


def activation_work(backend, name, shape=ACT_SHAPE):
    """A callable doing ``A = g(Z)`` then ``dZ = dA * g'(Z)`` on float32 ``Z`` of ``shape``.

    ``backend="numba-threads"``: the numba backend with its multi-threaded kernels on from
    2**20 elements (``XPNET_NUMBA_PARALLEL_MIN=1048576``); ``"floor"``: ``floor_work``.
    """
    from xpnet.backends import resolve
    from xpnet.ops import activations as xact

    if backend == "floor":
        return floor_work(shape)
    if backend == "numba-threads":
        from xpnet.backends.numba_backend import NumbaBackend
        bk = NumbaBackend(parallel_min=1 << 20)
    else:
        bk = resolve(backend)
    rng = np.random.default_rng(0)
    Z = bk.asarray(rng.standard_normal(shape, dtype=np.float32))
    dA = bk.asarray(rng.standard_normal(shape, dtype=np.float32))

    def work():
        A = xact.forward(bk, name, Z)
        return xact.backward(bk, name, dA, Z, A)
    return work


def _available(name):
    if name.startswith("torch"):
        try:
            import torch  # noqa: F401
        except ImportError:
            return False
        return True
    from xpnet.backends import available_backends
    backend = "numba" if name == "floor" else name.split("-")[0]
    return backend in available_backends()


# ------------------------------------------------------------- pytest-benchmark rows
try:
    import pytest
except ImportError:  # pragma: no cover - the script mode needs no pytest
    pytest = None

if pytest is not None:
    @pytest.mark.parametrize("impl", ["numba", "numpy", "torch", "torch-fused"])
    def test_epoch(benchmark, impl):
        if not _available(impl):
            pytest.skip(f"{impl} is not available here")
        data = make_data()
        work = torch_epoch(data, fused=impl == "torch-fused") if impl.startswith("torch") \
            else xpnet_epoch(impl, data)
        work()  # warm-up: JIT load, BLAS threads, first-touch pages
        benchmark.group = "numba-epoch"
        benchmark.pedantic(work, rounds=5, iterations=1, warmup_rounds=0)

    # After the epochs: the numba-threads rows start Numba's OpenMP pool, which PyTorch shares
    # (same libgomp) and which slows its epoch. In one pytest process these rows also pay page
    # faults the epochs' large allocations leave behind; the script mode runs them in a fresh
    # process and is the one to quote.
    @pytest.mark.parametrize("impl", ["numba", "numba-threads", "numpy", "floor"])
    @pytest.mark.parametrize("name", ACTIVATIONS)
    def test_activation(benchmark, impl, name):
        if not _available(impl):
            pytest.skip(f"{impl} is not available here")
        work = activation_work(impl, name)
        work()
        benchmark.group = f"numba-activation-{name}"
        benchmark.pedantic(work, rounds=15, iterations=1, warmup_rounds=1)


# ------------------------------------------------------------------ script mode
def interleaved(rows, rounds, settle=0.2, warm=False, warm_s=0.0):
    """Time each ``(name, callable)`` once per round, rows interleaved; ``{name: [seconds]}``.

    With ``warm`` each timed call follows an untimed one of the same row (repeated until
    ``warm_s`` seconds have passed), so it measures the steady state of a multi-epoch fit. (On
    this VM the first epoch after a second or more of other work pays up to 0.3 s more to fault
    in its fresh 188 MB shuffled copy of ``X``: memory freed a while ago costs far more to touch
    again than memory freed just now.)
    """
    times = {name: [] for name, _ in rows}
    for _ in range(rounds):
        for name, fn in rows:
            if warm:
                begin = time.perf_counter()
                fn()
                while time.perf_counter() - begin < warm_s:
                    fn()
            time.sleep(settle)  # let the previous row's BLAS/OpenMP threads go idle
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def _fmt(ts, unit=1.0, digits=3):
    ts = np.asarray(ts) * unit
    return f"{np.median(ts):.{digits}f} [{ts.min():.{digits}f}-{ts.max():.{digits}f}]"


def run_epochs(rounds, samples, inputs="uniform"):
    data = make_data(samples, inputs=inputs)
    rows = [(name, xpnet_epoch(name, data)) for name in ("numba", "numpy") if _available(name)]
    if _available("torch"):
        rows += [("torch", torch_epoch(data)), ("torch-fused", torch_epoch(data, fused=True))]
    for _, fn in rows:
        fn()  # warm-up
    times = interleaved(rows, rounds, settle=0.05, warm=True)
    print(f"\nepoch: MLP {DIMS}, batch {BATCH}, Adam, float32, {samples} samples ({inputs} "
          f"inputs), {rounds} interleaved rounds of warm-up + timed epoch; seconds, median "
          "[min-max]")
    for name, ts in times.items():
        print(f"  {name:12s} {_fmt(ts)}")
    med = {name: float(np.median(ts)) for name, ts in times.items()}
    for a, b in (("numba", "numpy"), ("numba", "torch"), ("numba", "torch-fused"),
                 ("numpy", "torch")):
        if a in med and b in med:
            print(f"  {a} / {b} = {med[a] / med[b]:.2f}")
    return times


def run_activations(rounds, shape=ACT_SHAPE, warm_ms=0.0):
    """Each call allocates its outputs (``A``, ``dZ`` and NumPy's temporaries), as in training.

    The ``floor`` row (``floor_work``) moves the least memory any fused kernel must, so
    ``numpy/floor`` is the most speedup memory allows and ``numba-threads/floor`` how far a
    kernel is from it. ``warm_ms``: untimed calls of a row for that long before its timed one
    (default: one call). On this VM the multi-threaded rows run their compute-bound parts
    slower for a few ms after the second core idled through the serial rows.

    ``main`` runs this in fresh processes, with glibc's defaults and with ``KEEP_BLOCKS``:
    whether a fresh 16 MB output costs about 4,000 page faults depends on what the process
    allocated before (after the epochs it does, and the rows are 2-4 ms slower per call), and
    page faults do not scale with threads. And the ``numba-threads`` rows start Numba's OpenMP
    pool, which PyTorch in the same process shares.
    """
    warm = f"{warm_ms:g} ms of warm-up calls" if warm_ms else "warm-up"
    print(f"\nactivation forward + backward on {shape} float32, {rounds} interleaved rounds of "
          f"{warm} + timed call; ms, median [min-max]")
    for name in ACTIVATIONS:
        rows = [(impl, activation_work(impl, name, shape))
                for impl in ("numba", "numba-threads", "numpy", "floor") if _available(impl)]
        for _, fn in rows:
            fn()
        times = interleaved(rows, rounds, settle=0.0, warm=True, warm_s=warm_ms / 1e3)
        med = {impl: float(np.median(ts)) for impl, ts in times.items()}
        line = "  ".join(f"{impl} {_fmt(ts, 1e3, 2)}" for impl, ts in times.items())
        ratios = "  ".join(f"numpy/{impl} = {med['numpy'] / med[impl]:.1f}x"
                           for impl in ("numba", "numba-threads", "floor")
                           if impl in med and "numpy" in med)
        if "floor" in med and "numba-threads" in med:
            ratios += f"  numba-threads/floor = {med['numba-threads'] / med['floor']:.2f}"
        print(f"  {name:8s} {line}  {ratios}")


_FIT_SNIPPET = r"""
import time
t0 = time.perf_counter()
import numpy as np, xpnet
t1 = time.perf_counter()
import numba
t2 = time.perf_counter()
rng = np.random.default_rng(0)
X = rng.standard_normal((2000, 784)).astype(np.float32); y = rng.integers(0, 10, 2000)
fits = []
for _ in range(2):
    net = xpnet.NeuralNetwork(hidden=(256, 128), batch_size=128, epochs=1, seed=0,
                              backend="numba")
    s = time.perf_counter(); net.fit(X, y); fits.append(time.perf_counter() - s)
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {fits[0]:.3f} {fits[1]:.3f}")
"""


def run_compile(repeats=3):
    """First-fit overhead (first fit minus second fit) in fresh processes, cold and warm cache."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    print("\ncompile/load cost of the first numba fit in a fresh process (2,000 samples, 1 "
          "epoch); seconds")
    with tempfile.TemporaryDirectory() as cache:
        env["NUMBA_CACHE_DIR"] = cache
        for label in ["cold cache"] + ["warm cache"] * repeats:
            out = subprocess.run([sys.executable, "-c", _FIT_SNIPPET], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            imp, numba_imp, first, second = map(float, out)
            print(f"  {label:10s} import xpnet {imp:.3f}  import numba {numba_imp:.3f}  "
                  f"first fit {first:.3f}  second fit {second:.3f}  "
                  f"-> compile/load {first - second:.3f} (+ numba import {numba_imp:.3f})")


def run_accuracy():
    """Exhaustive float32 error of ``exp_nonpos`` and ``tanh`` against float64 libm."""
    from xpnet.kernels import cpu_accuracy
    print("\nfloat32 approximations, every float32 input checked against float64 libm")
    for name, (rel, where) in cpu_accuracy.exhaustive().items():
        print(f"  {name:10s} max relative error {rel:.3e} (at x = {where!r})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="6,000 samples, 3 rounds")
    parser.add_argument("--compile", action="store_true", help="only the compile/load check")
    parser.add_argument("--accuracy", action="store_true", help="only the exhaustive error check")
    parser.add_argument("--no-activations", action="store_true")
    parser.add_argument("--activations-only", action="store_true",
                        help="only the activation rows (the full run starts them in a fresh "
                             "process)")
    parser.add_argument("--warm-ms", type=float, default=0.0,
                        help="activation rows: untimed calls for this long before each timed "
                             "one (default: one call)")
    parser.add_argument("--inputs", choices=("uniform", "normal", "both"), default="both",
                        help="epoch data: uniform [0, 1) pixels, standard normal, or both")
    args = parser.parse_args(argv)
    if args.compile:
        return run_compile()
    if args.accuracy:
        return run_accuracy()
    rounds = 3 if args.quick else args.rounds
    if args.activations_only:
        run_activations(max(rounds, 9), warm_ms=args.warm_ms)
        return 0
    for inputs in (("uniform", "normal") if args.inputs == "both" else (args.inputs,)):
        run_epochs(rounds, 6_000 if args.quick else SAMPLES, inputs)
    if not args.no_activations:
        # Fresh processes (see run_activations): glibc's default, then an allocator that keeps
        # freed blocks, so that the rows time the kernels rather than the VM's page faults.
        # And, unless --warm-ms chose one protocol, once more in steady state (STEADY_MS of
        # calls before each timed one), where the rows can be compared with the floor.
        runs = [("default allocator", {}, args.warm_ms),
                ("glibc keeps freed blocks", KEEP_BLOCKS, args.warm_ms)]
        if not args.warm_ms:
            runs.append(("glibc keeps freed blocks, steady state", KEEP_BLOCKS, STEADY_MS))
        for label, env, warm_ms in runs:
            print(f"\n[{label}{': ' if env else ''}"
                  f"{' '.join(f'{k}={v}' for k, v in env.items())}]", flush=True)
            subprocess.run([sys.executable, os.path.abspath(__file__), "--activations-only",
                            "--rounds", str(rounds), "--warm-ms", str(warm_ms)],
                           check=True, env=dict(os.environ, **env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
