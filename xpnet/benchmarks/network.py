"""Benchmark groups over the network code itself, in float32 (the library's training default).

- ``activation-<name>``: ``A = g(Z)`` then ``dZ = dA * g'(Z)`` on ``Z (1024, 4096)``;
- ``matmul``: ``C = A B`` of two square matrices (the core of ``Z = W A_prev``);
- ``layers``: one forward pass, cost and backward pass of the course's L-layer model
  ``(12288, 20, 7, 5, 1)`` (64x64x3 images; ReLU hidden layers, sigmoid output) over ``m``
  examples;
- ``epoch``: one training epoch of the MLP 784-256-128-10 (ReLU, softmax) with mini-batches of
  128, Adam, on synthetic MNIST-shaped data (60,000 samples).

Every row runs the same xpnet code (``forward``, ``backward``, ``run_epoch``) on its backend;
the loops row runs it on the ``loops`` backend at a few examples.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..network.model import (Architecture, backward, compute_cost, forward,
                             initialize_bn_state, initialize_parameters)
from ..network.optimizers import make_optimizer
from ..network.training import run_epoch
from ..ops import ACTIVATIONS
from ..ops import activations as act
from ..ops.activations import ReLU, Softmax
from ..ops.initializers import He
from ..ops.losses import default_loss
from ..ops.optimizers import Adam
from .registry import Group, Sizes, register

DTYPE = "float32"
ACTIVATION_ROWS = 1024
#: Every registered activation that does work (the identity has none to time).
BENCH_ACTIVATIONS = ACTIVATIONS.names(lambda a: not a.identity)
LAYER_DIMS = (12288, 20, 7, 5, 1)
EPOCH_DIMS = (784, 256, 128, 10)
EPOCH_BATCH = 128
EPOCH_LR = 1e-3


# ------------------------------------------------------------------- activations
def _activation_inputs(m, rng):
    shape = (ACTIVATION_ROWS, m)
    return {"Z": rng.standard_normal(shape, dtype=np.float32),
            "dA": rng.standard_normal(shape, dtype=np.float32)}


def _activation_work(name):
    def backend_work(bk, inputs):
        Z = bk.asarray(inputs["Z"], dtype=DTYPE)
        dA = bk.asarray(inputs["dA"], dtype=DTYPE)

        def work():
            A = act.forward(bk, name, Z)
            return act.backward(bk, name, dA, Z, A)
        return work
    return backend_work


for _name in BENCH_ACTIVATIONS:
    register(Group(
        name=f"activation-{_name}", family="activation",
        title=f"{_name} forward A = g(Z) and backward dZ = dA * g'(Z)", unit="element",
        dtype=DTYPE, scales=Sizes(full=4096, quick=1024), loops_scales=Sizes(full=16, quick=4),
        items=lambda m: ACTIVATION_ROWS * m, make_inputs=_activation_inputs,
        backend_work=_activation_work(_name),
        describe=lambda m: f"Z, dA ({ACTIVATION_ROWS}, {m})"))


# ------------------------------------------------------------------------ matmul
def _matmul_inputs(n, rng):
    return {"A": rng.standard_normal((n, n), dtype=np.float32),
            "B": rng.standard_normal((n, n), dtype=np.float32)}


def _matmul_backend(bk, inputs):
    A = bk.asarray(inputs["A"], dtype=DTYPE)
    B = bk.asarray(inputs["B"], dtype=DTYPE)
    return lambda: bk.matmul(A, B)


def _matmul_torch(inputs, device):
    import torch

    A = torch.from_numpy(inputs["A"]).to(device)
    B = torch.from_numpy(inputs["B"]).to(device)
    return lambda: torch.mm(A, B)


register(Group(
    name="matmul", title="C = A B, square matrices", unit="multiply-add", dtype=DTYPE,
    scales=Sizes(full=1024, quick=512), loops_scales=Sizes(full=64, quick=32),
    items=lambda n: n ** 3, make_inputs=_matmul_inputs, backend_work=_matmul_backend,
    describe=lambda n: f"A, B ({n}, {n})", peers={"torch": _matmul_torch}))


# ------------------------------------------------------- L-layer forward + backward
def _layers_inputs(m, rng):
    return {"X": rng.standard_normal((LAYER_DIMS[0], m), dtype=np.float32),
            "Y": (rng.random((1, m)) < 0.5).astype(np.float32)}


def _layers_backend(bk, inputs):
    arch = Architecture(LAYER_DIMS, hidden_activation=ReLU.name,
                        output_activation=default_loss("binary").output)
    params = initialize_parameters(arch, init=He.name, seed=0, dtype=DTYPE, backend=bk)
    grads = params.zeros_like(prefix="d")
    X = bk.asarray(inputs["X"], dtype=DTYPE)
    Y = bk.asarray(inputs["Y"], dtype=DTYPE)

    def work():
        AL, caches = forward(X, params, arch, backend=bk)
        cost = compute_cost(AL, Y, caches, arch, params, backend=bk)
        backward(Y, caches, params, arch, grads=grads, backend=bk)
        return cost
    return work


register(Group(
    name="layers", title="forward + cost + backward of the L-layer model 12288-20-7-5-1",
    unit="example", dtype=DTYPE,
    scales=Sizes(full=1024, quick=256), loops_scales=Sizes(full=2, quick=1),
    make_inputs=_layers_inputs, backend_work=_layers_backend,
    describe=lambda m: f"X ({LAYER_DIMS[0]}, {m}), L = {len(LAYER_DIMS) - 1}",
    max_rounds=Sizes(full=20, quick=3)))


# ------------------------------------------------------------------ training epoch
def _epoch_inputs(m, rng):
    labels = rng.integers(0, EPOCH_DIMS[-1], size=m)
    Y = np.zeros((EPOCH_DIMS[-1], m), dtype=np.float32)
    Y[labels, np.arange(m)] = 1.0
    return {"X": rng.random((EPOCH_DIMS[0], m), dtype=np.float32), "Y": Y, "labels": labels}


def _epoch_backend(bk, inputs):
    """One ``run_epoch`` (shuffle, mini-batches, Adam) of the estimators' training loop."""
    m = inputs["X"].shape[1]
    arch = Architecture(EPOCH_DIMS, hidden_activation=ReLU.name,
                        output_activation=Softmax.name)
    params = initialize_parameters(arch, init=He.name, seed=0, dtype=DTYPE, backend=bk)
    state = SimpleNamespace(bk=bk, arch=arch, params=params, grads=params.zeros_like(prefix="d"),
                            bn_state=initialize_bn_state(arch, params),
                            optimizer=make_optimizer(Adam.name), batch_size=min(EPOCH_BATCH, m),
                            l2=0.0)
    state.optimizer.init(params)
    X = bk.asarray(inputs["X"], dtype=DTYPE)
    Y = bk.asarray(inputs["Y"], dtype=DTYPE)
    rng = np.random.default_rng(1)
    return lambda: run_epoch(state, X, Y, EPOCH_LR, rng)


def torch_mlp_epoch(inputs, device="cpu", lr=EPOCH_LR, batch=EPOCH_BATCH, fused=None,
                    generator=None):
    """The epoch in PyTorch: nn.Linear layers, CrossEntropyLoss from logits, Adam; shuffled
    each epoch, the cost accumulated on the device and read once (like ``run_epoch``)."""
    import torch

    torch.manual_seed(0)
    d = EPOCH_DIMS
    model = torch.nn.Sequential(
        torch.nn.Linear(d[0], d[1]), torch.nn.ReLU(), torch.nn.Linear(d[1], d[2]),
        torch.nn.ReLU(), torch.nn.Linear(d[2], d[3])).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=fused)
    loss_fn = torch.nn.CrossEntropyLoss()
    X = torch.from_numpy(np.ascontiguousarray(inputs["X"].T)).to(device)
    y = torch.from_numpy(inputs["labels"]).to(device)
    m = X.shape[0]
    bs = min(batch, m)

    def work():
        perm = torch.randperm(m, device=device, generator=generator)
        Xs, ys = X[perm], y[perm]
        total = torch.zeros((), device=device)
        for start in range(0, m, bs):
            xb, yb = Xs[start:start + bs], ys[start:start + bs]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.detach() * xb.shape[0]
        return float(total) / m
    return work


def _epoch_torch(inputs, device):
    return torch_mlp_epoch(inputs, device)


register(Group(
    name="epoch", title="one training epoch, MLP 784-256-128-10, batch 128, Adam",
    unit="sample", dtype=DTYPE,
    scales=Sizes(full=60_000, quick=6_000), loops_scales=Sizes(full=8, quick=2),
    make_inputs=_epoch_inputs, backend_work=_epoch_backend,
    describe=lambda m: f"X ({EPOCH_DIMS[0]}, {m}), batch {min(EPOCH_BATCH, m)}",
    peers={"torch": _epoch_torch}, max_rounds=Sizes(full=3, quick=1)))
