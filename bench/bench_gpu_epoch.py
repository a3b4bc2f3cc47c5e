"""One training epoch on a GPU: xpnet's cupy backend against PyTorch's strongest settings.

    python bench/bench_gpu_epoch.py                      # batch 128, 1024, 8192 on the GPU
    python bench/bench_gpu_epoch.py --batch-sizes 256 --hidden 1024 1024 --json out.json
    python bench/bench_gpu_epoch.py --device cpu --samples 2048 --features 32 --hidden 64
                                   # checks this script on a machine without a GPU

Both sides train the same network (``--hidden`` ReLU layers, softmax output, cross-entropy,
Adam with the same hyperparameters) from the same initial weights, on the same data, in the
same shuffled mini-batch order (the permutations come from one seeded NumPy Generator, moved to
the device once per epoch), accumulating the cost on the device and reading it once per epoch.
The time of an epoch includes that one read and a device synchronize. The first ``--warmup``
epochs (kernel compilation, cuBLAS start-up) are not counted; the median of the next
``--epochs`` is reported, with the ratio ``xpnet / torch`` (below 1: xpnet is faster) and the
final costs of both as a check that they computed the same thing.

PyTorch runs in four settings (``--peers``): ``eager`` (default Adam), ``fused`` (``Adam(
fused=True)``), ``graph`` (the whole step, forward, loss, backward and ``Adam(capturable=True,
fused=True)``, captured in one ``torch.cuda.CUDAGraph`` after PyTorch's side-stream warm-up, the
weights and Adam's state then put back to the initial ones; the last partial batch runs
eagerly, as on the xpnet side) and ``compile`` (``torch.compile(model,
mode="reduce-overhead")`` with the fused Adam). A setting that cannot run on the machine is
reported as ``n/a`` with its reason. ``xpnet/best`` is xpnet's time over the fastest PyTorch
setting at that batch size. With ``--keep-prob P`` below 1 (default 0.8) every side runs again
with dropout on the hidden layers (xpnet's ``keep_prob``, PyTorch's ``Dropout(1 - P)``; the
masks differ, so the costs do too) and xpnet's dropout epoch is compared with its plain one.

TF32 is off on both sides unless ``--tf32``. ``--device cpu`` runs the numpy backend against
PyTorch on the CPU: it only checks that the script works; its numbers say nothing about GPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import xpnet  # noqa: E402
from xpnet.backends import BackendUnavailable, resolve  # noqa: E402
from xpnet.network.model import Architecture, initialize_parameters  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 1024, 8192])
    p.add_argument("--samples", type=int, default=60000)
    p.add_argument("--features", type=int, default=784)
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 128])
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--epochs", type=int, default=3, help="timed epochs (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--tf32", action="store_true", help="allow TF32 matmuls on both sides")
    p.add_argument("--device", choices=["gpu", "cpu"], default="gpu")
    p.add_argument("--no-eager", action="store_true",
                   help="skip the xpnet row without CUDA graphs (XPNET_CUDA_GRAPH=0)")
    p.add_argument("--peers", nargs="+", choices=TORCH_PEERS, default=list(TORCH_PEERS),
                   help="the PyTorch settings to time (default: all)")
    p.add_argument("--keep-prob", type=float, default=0.8,
                   help="also time every side with dropout at this keep probability on the "
                        "hidden layers (1: no dropout rows)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    for name in ("samples", "features", "classes", "epochs"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if min(args.batch_sizes + args.hidden) < 1 or args.warmup < 0:
        p.error("batch sizes and hidden sizes must be positive; --warmup must be >= 0")
    if not 0 < args.keep_prob <= 1:
        p.error(f"--keep-prob must be in (0, 1], got {args.keep_prob}")
    return args


def make_data(args):
    """Gaussian class blobs, standardized: ``X (samples, features)``, ``y (samples,)``."""
    rng = np.random.default_rng(args.seed)
    centers = rng.standard_normal((args.classes, args.features))
    y = rng.integers(0, args.classes, args.samples)
    X = centers[y] + 2.0 * rng.standard_normal((args.samples, args.features))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, y


def setup_backends(args):
    """``(backends, torch, device)``: ``{"xpnet": bk, "eager": bk without CUDA graphs}`` (no
    "eager" on the CPU or with ``--no-eager``), or a clear reason why they cannot run here."""
    try:
        import torch
    except ImportError:
        sys.exit("bench_gpu_epoch: PyTorch is not installed (pip install torch)")
    if args.device == "cpu":
        return {"xpnet": resolve("numpy")}, torch, torch.device("cpu")
    try:
        from xpnet.backends import cupy_backend
        bks = {"xpnet": cupy_backend.create(tf32=args.tf32)}
        if not args.no_eager:
            bks["eager"] = cupy_backend.create(tf32=args.tf32, cuda_graph=False)
    except BackendUnavailable as exc:
        sys.exit(f"bench_gpu_epoch: {exc}")
    if not torch.cuda.is_available():
        sys.exit("bench_gpu_epoch: torch.cuda.is_available() is False; install a CUDA build of "
                 "PyTorch to compare on the GPU (or pass --device cpu to check the script)")
    torch.backends.cuda.matmul.allow_tf32 = bool(args.tf32)
    torch.backends.cudnn.allow_tf32 = bool(args.tf32)
    return bks, torch, torch.device("cuda")


def permutations(args):
    """The epochs' permutations, drawn exactly as the estimator's training loop draws them."""
    rng = np.random.default_rng(args.seed)
    return [rng.permutation(args.samples) for _ in range(args.warmup + args.epochs)]


def run_xpnet(bk, X, y, batch, args, keep_prob=1.0):
    model = xpnet.NeuralNetwork(
        hidden=tuple(args.hidden), activation="relu", init="he", optimizer="adam",
        learning_rate=args.learning_rate, batch_size=batch, epochs=args.warmup + args.epochs,
        normalize=False, seed=args.seed, dtype=args.dtype, backend=bk, keep_prob=keep_prob)
    model.fit(X, y)
    times = model.history_["epoch_time"][args.warmup:]
    return statistics.median(times), model.history_["cost"][-1]


#: PyTorch's settings compared, weakest first: eager with the default (foreach) Adam, eager
#: with the fused Adam kernel, the whole step (forward, loss, backward, Adam) captured in one
#: CUDA graph with capturable Adam, and torch.compile(mode="reduce-overhead") (CUDA graphs of
#: the compiled forward and backward) with the fused Adam.
TORCH_PEERS = ("eager", "fused", "graph", "compile")


class PeerUnavailable(RuntimeError):
    """This PyTorch setting cannot run here (the reason is the message)."""


def torch_model(torch, device, args, keep_prob):
    """The network in PyTorch with xpnet's initial weights (``Dropout`` after each hidden ReLU
    when ``keep_prob < 1``)."""
    arch = Architecture((args.features,) + tuple(args.hidden) + (args.classes,), "relu",
                        "softmax")
    params = initialize_parameters(arch, "he", args.seed, args.dtype, "numpy").to_numpy()
    dt = getattr(torch, args.dtype)
    layers = []
    for k in range(1, arch.L + 1):
        lin = torch.nn.Linear(arch.layer_dims[k - 1], arch.layer_dims[k], dtype=dt)
        with torch.no_grad():
            lin.weight.copy_(torch.as_tensor(params[f"W{k}"]))
            lin.bias.copy_(torch.as_tensor(params[f"b{k}"][:, 0]))
        layers.append(lin)
        if k < arch.L:
            layers.append(torch.nn.ReLU())
            if keep_prob < 1:
                layers.append(torch.nn.Dropout(1 - keep_prob))
    return torch.nn.Sequential(*layers).to(device)


def torch_adam(torch, model, args, peer, device):
    kw = {"lr": args.learning_rate, "betas": (0.9, 0.999), "eps": 1e-8}
    if peer in ("fused", "compile", "graph") and device.type == "cuda":
        kw["fused"] = True
    if peer == "graph":
        kw["capturable"] = True
    return torch.optim.Adam(model.parameters(), **kw)


def run_torch(torch, device, X, y, batch, args, peer="eager", keep_prob=1.0):
    """Median seconds per epoch and the final cost of PyTorch setting ``peer``; raises
    PeerUnavailable where that setting cannot run here."""
    if peer == "graph" and device.type != "cuda":
        raise PeerUnavailable("CUDA graphs need a CUDA device")
    model = torch_model(torch, device, args, keep_prob)
    opt = torch_adam(torch, model, args, peer, device)
    dt = getattr(torch, args.dtype)
    Xd = torch.as_tensor(X, dtype=dt, device=device)
    yd = torch.as_tensor(y, dtype=torch.long, device=device)
    loss_of = torch.nn.functional.cross_entropy
    forward = model
    if peer == "compile":
        try:
            forward = torch.compile(model, mode="reduce-overhead")
        except Exception as exc:  # no inductor/triton for this device
            raise PeerUnavailable(f"torch.compile: {type(exc).__name__}: {exc}") from None
    graph = _captured_step(torch, model, opt, Xd, yd, batch, loss_of) if peer == "graph" \
        else None
    m, times, cost = X.shape[0], [], None
    for perm in permutations(args):
        t0 = time.perf_counter()
        idx = torch.as_tensor(perm, device=device)
        Xs, ys = Xd[idx], yd[idx]
        total = torch.zeros((), dtype=dt, device=device) if graph is None else graph.total
        if graph is not None:
            total.zero_()
        for start in range(0, m, batch):
            stop = min(start + batch, m)
            if graph is not None and stop - start == batch:
                graph.x.copy_(Xs[start:stop])
                graph.y.copy_(ys[start:stop])
                graph.graph.replay()
                continue
            try:
                loss = loss_of(forward(Xs[start:stop]), ys[start:stop])
            except Exception as exc:  # torch.compile fails at the first call, not before
                if peer == "compile" and cost is None and start == 0:
                    raise PeerUnavailable(f"torch.compile: {type(exc).__name__}: "
                                          f"{str(exc).splitlines()[0][:200]}") from None
                raise
            opt.zero_grad(set_to_none=graph is None)
            loss.backward()
            opt.step()
            total += loss.detach() * (stop - start)
        cost = total.item() / m
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[args.warmup:]), cost


class _Graph:
    """The whole training step of one full batch captured as a CUDA graph: static input
    buffers ``x``, ``y`` and the epoch's cost accumulator ``total``, all written in place."""

    def __init__(self, graph, x, y, total):
        self.graph, self.x, self.y, self.total = graph, x, y, total


def _captured_step(torch, model, opt, Xd, yd, batch, loss_of):
    """PyTorch's recipe for whole-network capture: a few warm-up steps on a side stream (they
    allocate the optimizer state and the gradients), the weights and Adam's state put back to
    their initial values in place, then forward, loss, backward and ``opt.step()`` captured."""
    x, y = Xd[:batch].clone(), yd[:batch].clone()
    total = torch.zeros((), dtype=Xd.dtype, device=Xd.device)
    initial = [p.detach().clone() for p in model.parameters()]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            loss_of(model(x), y).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(side)
    with torch.no_grad():
        for p, value in zip(model.parameters(), initial):
            p.copy_(value)
        for state in opt.state.values():
            for value in state.values():
                value.zero_()
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss = loss_of(model(x), y)
        loss.backward()
        opt.step()
        total.add_(loss.detach() * batch)
    return _Graph(graph, x, y, total)


def describe(bk, torch, device):
    info = bk.info() if hasattr(bk, "info") else {"backend": bk.name, "device": bk.device}
    gpu = torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor()
    return {"xpnet": xpnet.__version__, "xpnet_backend": info, "torch": torch.__version__,
            "torch_device": gpu or device.type, "python": platform.python_version(),
            "numpy": np.__version__}


def time_row(bks, torch, device, X, y, batch, args, keep_prob):
    """``{side: (seconds per epoch, final cost) or the reason it could not run}``."""
    row = {name: run_xpnet(bk, X, y, batch, args, keep_prob) for name, bk in bks.items()}
    for peer in args.peers:
        try:
            row[f"torch {peer}"] = run_torch(torch, device, X, y, batch, args, peer, keep_prob)
        except PeerUnavailable as exc:
            row[f"torch {peer}"] = str(exc)
    return row


def print_table(title, rows, sides):
    """One line per batch size: ms per epoch of each side, xpnet over the best PyTorch."""
    print(f"\n{title}")
    print(f"{'batch':>6} " + " ".join(f"{s:>14}" for s in sides)
          + f" {'xpnet/best':>11} {'best torch':>14}")
    for batch, row in rows:
        cells = [f"{row[s][0] * 1e3:>14.2f}" if isinstance(row[s], tuple) else f"{'n/a':>14}"
                 for s in sides]
        best = best_torch(row)
        ratio = f"{row['xpnet'][0] / row[best][0]:>11.3f}" if best else f"{'-':>11}"
        print(f"{batch:>6} " + " ".join(cells) + f" {ratio} {best or '-':>14}", flush=True)
    for batch, row in rows:
        for side in sides:
            if not isinstance(row[side], tuple):
                print(f"  batch {batch}, {side}: not run: {row[side]}")


def best_torch(row):
    timed = [(v[0], k) for k, v in row.items() if k.startswith("torch") and isinstance(v, tuple)]
    return min(timed)[1] if timed else None


def as_json(rows):
    out = []
    for batch, row in rows:
        entry = {"batch_size": batch}
        for side, value in row.items():
            key = side.replace(" ", "_")
            if isinstance(value, tuple):
                entry[f"{key}_s_per_epoch"], entry[f"{key}_final_cost"] = value
            else:
                entry[f"{key}_unavailable"] = value
        best = best_torch(row)
        entry["best_torch"] = best
        entry["xpnet_over_best_torch"] = row["xpnet"][0] / row[best][0] if best else None
        out.append(entry)
    return out


def main(argv=None):
    args = parse_args(argv)
    bks, torch, device = setup_backends(args)
    X, y = make_data(args)
    env = describe(bks["xpnet"], torch, device)
    print(f"xpnet {env['xpnet']} on {bks['xpnet']!r}; torch {env['torch']} on "
          f"{env['torch_device']}")
    print(f"{args.samples} samples x {args.features} features, hidden {args.hidden}, "
          f"{args.classes} classes, {args.dtype}, Adam, tf32={'on' if args.tf32 else 'off'}; "
          f"median of {args.epochs} epochs after {args.warmup} warm-up")
    if args.device == "cpu":
        print("--device cpu: a check of this script; these times say nothing about GPUs")
    sides = list(bks) + [f"torch {p}" for p in args.peers]
    plain = [(b, time_row(bks, torch, device, X, y, b, args, 1.0)) for b in args.batch_sizes]
    print_table("ms per epoch, no dropout (same initial weights, batch order and cost)", plain,
                sides)
    for batch, row in plain:
        costs = ", ".join(f"{k} {v[1]:.6e}" for k, v in row.items() if isinstance(v, tuple))
        print(f"  batch {batch} final costs: {costs}")
    dropout = []
    if args.keep_prob < 1:
        dropout = [(b, time_row(bks, torch, device, X, y, b, args, args.keep_prob))
                   for b in args.batch_sizes]
        print_table(f"ms per epoch, dropout keep_prob={args.keep_prob:g} on the hidden layers",
                    dropout, sides)
        for (batch, row), (_, base) in zip(dropout, plain):
            print(f"  batch {batch}: xpnet dropout / no dropout = "
                  f"{row['xpnet'][0] / base['xpnet'][0]:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "environment": env, "results": as_json(plain),
                       "dropout": as_json(dropout)}, f, indent=2, default=str)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
