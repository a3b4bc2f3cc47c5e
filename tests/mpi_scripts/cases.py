"""The fits the MPI tests run on N ranks (``fit.py``) and in one process (``test_mpi.py``):
the same data and model from one spec, so the two can be compared."""

from __future__ import annotations

import json

import numpy as np

#: The settings every case starts from (float64 on numpy: the comparison is to rtol 1e-10).
BASE = {"n_samples": 50, "n_features": 5, "n_classes": 2, "hidden": [8, 6], "batch_size": 16,
        "epochs": 3, "keep_prob": 1.0, "batch_norm": False, "l2": 0.0, "weights": False,
        "optimizer": "adam", "learning_rate": None, "seed": 3, "early_stopping": False,
        "patience": 10}


def spec(**changes):
    unknown = set(changes) - set(BASE)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}")
    return {**BASE, **changes}


def data(s):
    """``(X, y, sample_weight)``: the same on every rank (a fixed seed)."""
    rng = np.random.default_rng(12345)
    X = rng.normal(size=(s["n_samples"], s["n_features"]))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int) if s["n_classes"] == 2 else \
        np.argmax(X[:, :s["n_classes"]], axis=1)
    w = rng.uniform(0.2, 3.0, size=s["n_samples"]) if s["weights"] else None
    return X, y, w


def model(s, distributed=None):
    from xpnet import NeuralNetwork
    return NeuralNetwork(hidden=tuple(s["hidden"]), batch_size=s["batch_size"],
                         epochs=s["epochs"], keep_prob=s["keep_prob"],
                         batch_norm=s["batch_norm"], l2=s["l2"], optimizer=s["optimizer"],
                         learning_rate=s["learning_rate"], seed=s["seed"],
                         early_stopping=s["early_stopping"], patience=s["patience"],
                         dtype="float64", backend="numpy", distributed=distributed)


def fit(s, distributed=None):
    X, y, w = data(s)
    return model(s, distributed).fit(X, y, sample_weight=w)


def flat(net):
    """Every parameter and batch-norm statistic, in one float64 vector."""
    parts = [net._params.backend.to_numpy(net._params.flat)]
    if net._bn_state.size:
        parts.append(net._bn_state.backend.to_numpy(net._bn_state.flat))
    return np.concatenate(parts).astype(np.float64)


def dumps(s):
    return json.dumps(s, separators=(",", ":"))
