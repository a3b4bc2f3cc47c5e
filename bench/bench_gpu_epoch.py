"""One training epoch on a GPU: xpnet's cupy backend against PyTorch eager on the same GPU.

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
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    for name in ("samples", "features", "classes", "epochs"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if min(args.batch_sizes + args.hidden) < 1 or args.warmup < 0:
        p.error("batch sizes and hidden sizes must be positive; --warmup must be >= 0")
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


def run_xpnet(bk, X, y, batch, args):
    model = xpnet.NeuralNetwork(
        hidden=tuple(args.hidden), activation="relu", init="he", optimizer="adam",
        learning_rate=args.learning_rate, batch_size=batch, epochs=args.warmup + args.epochs,
        normalize=False, seed=args.seed, dtype=args.dtype, backend=bk)
    model.fit(X, y)
    times = model.history_["epoch_time"][args.warmup:]
    return statistics.median(times), model.history_["cost"][-1]


def run_torch(torch, device, X, y, batch, args):
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
        layers += [lin, torch.nn.ReLU()] if k < arch.L else [lin]
    model = torch.nn.Sequential(*layers).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.learning_rate, betas=(0.9, 0.999),
                           eps=1e-8)
    Xd = torch.as_tensor(X, dtype=dt, device=device)
    yd = torch.as_tensor(y, dtype=torch.long, device=device)
    m, times, cost = X.shape[0], [], None
    for perm in permutations(args):
        t0 = time.perf_counter()
        idx = torch.as_tensor(perm, device=device)
        Xs, ys = Xd[idx], yd[idx]
        total = torch.zeros((), dtype=dt, device=device)
        for start in range(0, m, batch):
            stop = min(start + batch, m)
            loss = torch.nn.functional.cross_entropy(model(Xs[start:stop]), ys[start:stop])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * (stop - start)
        cost = total.item() / m
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[args.warmup:]), cost


def describe(bk, torch, device):
    info = bk.info() if hasattr(bk, "info") else {"backend": bk.name, "device": bk.device}
    gpu = torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor()
    return {"xpnet": xpnet.__version__, "xpnet_backend": info, "torch": torch.__version__,
            "torch_device": gpu or device.type, "python": platform.python_version(),
            "numpy": np.__version__}


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
    eager = "eager" in bks
    print(f"{'batch':>6} {'xpnet ms':>9} {'eager ms':>9} {'torch ms':>9} {'xpnet/torch':>12} "
          f"{'eager/torch':>12} {'xpnet cost':>11} {'torch cost':>11}")
    rows = []
    for batch in args.batch_sizes:
        t_x, c_x = run_xpnet(bks["xpnet"], X, y, batch, args)
        t_e, c_e = run_xpnet(bks["eager"], X, y, batch, args) if eager else (None, None)
        t_t, c_t = run_torch(torch, device, X, y, batch, args)
        rows.append({"batch_size": batch, "xpnet_s_per_epoch": t_x,
                     "xpnet_eager_s_per_epoch": t_e, "torch_s_per_epoch": t_t,
                     "xpnet_over_torch": t_x / t_t,
                     "eager_over_torch": t_e / t_t if eager else None,
                     "xpnet_final_cost": c_x, "xpnet_eager_final_cost": c_e,
                     "torch_final_cost": c_t})
        e_ms = f"{t_e * 1e3:>9.2f}" if eager else f"{'-':>9}"
        e_ratio = f"{t_e / t_t:>12.3f}" if eager else f"{'-':>12}"
        print(f"{batch:>6} {t_x * 1e3:>9.2f} {e_ms} {t_t * 1e3:>9.2f} {t_x / t_t:>12.3f} "
              f"{e_ratio} {c_x:>11.4e} {c_t:>11.4e}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "environment": env, "results": rows}, f, indent=2,
                      default=str)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
