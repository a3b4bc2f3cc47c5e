"""A fit leaves nothing for the cyclic garbage collector: its training state (the device data,
batch buffers, recorded steps) is freed when the fit returns, and a dropped model at once, so
memory stays flat over many fits without ``gc.collect()``."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import xpnet
from xpnet.backends import available_backends
from xpnet.network import estimator

CPU = [b for b in available_backends() if b not in ("cupy", "loops")]
CONFIGS = [{}, {"keep_prob": 0.8}, {"batch_norm": True}, {"early_stopping": True},
           {"batch_size": None}, {"record_gradients": True}]


@pytest.fixture
def no_gc():
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    if was:
        gc.enable()


@pytest.fixture
def states(monkeypatch):
    made = []

    class Probe(estimator._State):
        def __init__(self):
            super().__init__()
            made.append(weakref.ref(self))

    monkeypatch.setattr(estimator, "_State", Probe)
    return made


@pytest.mark.parametrize("backend", CPU)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(c) or "default")
def test_a_fits_state_and_a_dropped_model_need_no_cyclic_collector(backend, config, no_gc,
                                                                   states):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 8))
    y = (X[:, 0] > 0).astype(int)
    model = xpnet.NeuralNetwork(epochs=2, batch_size=config.get("batch_size", 32),
                                backend=backend, **{k: v for k, v in config.items()
                                                    if k != "batch_size"}).fit(X, y)
    if not config.get("early_stopping"):
        model.partial_fit(X, y)
    model.predict(X)
    assert states and all(r() is None for r in states), "a fit's state outlived the fit"
    ref = weakref.ref(model)
    del model
    assert ref() is None, "a dropped model waits for the cyclic collector"


def test_rss_stays_flat_over_many_fits_without_gc(no_gc):
    """Twenty fits on 20,000 x 100 (16 MB of float64 each): without the cycle each fit's
    device copy was kept until a collection, and RSS grew by hundreds of MB."""
    resource = pytest.importorskip("resource")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 100))
    y = (X[:, 0] > 0).astype(int)

    def fit():
        xpnet.NeuralNetwork(hidden=(16,), epochs=1, batch_size=256, backend="numpy").fit(X, y)

    for _ in range(3):
        fit()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(20):
        fit()
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 40, f"peak RSS grew by {grown_mb:.0f} MB over 20 fits"
