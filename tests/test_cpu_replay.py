"""The numba backend's ``step_runner``: a static training step recorded once and replayed as
bare kernel and BLAS calls (``xpnet.backends.cpu_replay``). A replayed fit must equal the
same fit without replay bit for bit, in every configuration a static step can take, dropout
(masks drawn afresh on every replay) included."""

from __future__ import annotations

import numpy as np
import pytest

from xpnet import NeuralNetwork, NeuralNetworkRegressor
from xpnet.backends.cpu_replay import ReplayStep

numba_backend = pytest.importorskip("xpnet.backends.numba_backend",
                                    reason="numba is not installed")
pytest.importorskip("numba", reason="numba is not installed")


def _fit(replay, task, **config):
    bk = numba_backend.NumbaBackend(replay=replay)
    runners = []
    original = bk.step_runner
    bk.step_runner = lambda step, **kw: runners.append(original(step, **kw)) or runners[-1]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((700, 5))
    y = rng.integers(0, 3, 700)
    kwargs = dict(batch_size=64, epochs=3, seed=1, backend=bk, **config)
    if task == "regression":
        model = NeuralNetworkRegressor(**kwargs).fit(X, X @ [1.0, 2.0, 0.0, -1.0, 0.5])
    elif task == "binary":
        model = NeuralNetwork(**kwargs).fit(X, (y == 0).astype(int))
    else:
        model = NeuralNetwork(**kwargs).fit(X, y)
    return model, runners


CONFIGS = {
    "relu-adam": dict(hidden=(16, 8), activation="relu", optimizer="adam"),
    "tanh-momentum-l2": dict(hidden=(12,), activation="tanh", optimizer="momentum", l2=0.01),
    "sigmoid-rmsprop-bn": dict(hidden=(12,), activation="sigmoid", optimizer="rmsprop",
                               batch_norm=True),
    "leaky-gd-float64": dict(hidden=(10, 6), activation="leaky_relu", optimizer="gd",
                             dtype="float64"),
    "linear-hidden": dict(hidden=(7,), activation="linear", optimizer="adam"),
    "relu-adam-dropout": dict(hidden=(16, 8), activation="relu", optimizer="adam",
                              keep_prob=0.8),
    "tanh-bn-dropout-float64": dict(hidden=(12, 6), activation="tanh", optimizer="rmsprop",
                                    batch_norm=True, keep_prob=(0.6, 1.0), dtype="float64"),
}


@pytest.mark.parametrize("task", ["multiclass", "binary", "regression"])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_a_replayed_fit_equals_the_plain_fit(config, task):
    replayed, runners = _fit(True, task, **CONFIGS[config])
    plain, _ = _fit(False, task, **CONFIGS[config])
    assert len(runners) == 1 and isinstance(runners[0], ReplayStep)
    assert runners[0].mode == "replaying", runners[0].error
    assert replayed.history_["cost"] == plain.history_["cost"]
    for name, value in plain.parameters_.items():
        np.testing.assert_array_equal(replayed.parameters_[name], value, err_msg=name)


def test_replay_off_by_setting(monkeypatch):
    monkeypatch.setenv("XPNET_NUMBA_REPLAY", "0")
    bk = numba_backend.NumbaBackend()
    assert bk.replay is False
    step = object()
    assert bk.step_runner(step) is step
    monkeypatch.setenv("XPNET_NUMBA_REPLAY", "maybe")
    with pytest.raises(ValueError, match="XPNET_NUMBA_REPLAY must be 1 or 0"):
        numba_backend.NumbaBackend()


def _accumulating_step(bk, x, total, use=("multiply", "add")):
    def step():
        y = bk.multiply(x, 2.0)              # generic ufunc, new array
        s = bk.sum(y)                        # reduction to a NumPy scalar -> kept as 0-d
        bk.add(total, bk.multiply(s, 0.5), out=total)
        if "argmax" in use:
            bk.argmax(x)  # no replay form: recording gives up
    return step


def test_replay_redoes_generic_ops_including_scalar_results():
    bk = numba_backend.NumbaBackend()
    x = np.arange(6.0).reshape(2, 3)
    total = np.zeros(())
    runner = ReplayStep(bk, _accumulating_step(bk, x, total))
    for _ in range(5):
        runner()
    assert runner.mode == "replaying" and float(total) == 5 * 15.0
    x += 1.0  # a replay reads the arrays' current contents
    runner()
    assert float(total) == 5 * 15.0 + 21.0
    assert "multiply" not in vars(bk) and bk._replay is None  # the wrappers are gone


def test_replay_gives_up_on_a_call_it_cannot_redo():
    bk = numba_backend.NumbaBackend()
    x = np.arange(6.0).reshape(2, 3)
    total = np.zeros(())
    runner = ReplayStep(bk, _accumulating_step(bk, x, total, use=("argmax",)))
    for _ in range(4):
        runner()
    assert runner.mode == "eager" and "argmax() has no replay" in runner.error
    assert float(total) == 4 * 15.0  # every call still did the step's work
    with pytest.raises(ValueError, match="warmup must be at least 1"):
        ReplayStep(bk, lambda: None, warmup=0)


def test_recording_in_one_thread_leaves_other_threads_calls_alone():
    """A search fits trials in threads on one shared backend object: while one thread records,
    the others' calls pass through unrecorded and unchanged."""
    import threading

    bk = numba_backend.NumbaBackend()
    x = np.arange(6.0).reshape(2, 3)
    total = np.zeros(())
    started, release = threading.Event(), threading.Event()
    seen = []

    def step():
        bk.add(total, bk.sum(bk.multiply(x, 2.0)), out=total)
        if runner.calls == 2 and not started.is_set():  # recording: let the other thread in
            started.set()
            release.wait(5)

    def other():
        started.wait(5)
        seen.append(bk.multiply(x, 3.0))  # goes through the recording's wrapper
        release.set()

    runner = ReplayStep(bk, step)
    worker = threading.Thread(target=other)
    worker.start()
    runner()
    runner()
    worker.join(5)
    runner()
    assert runner.mode == "replaying" and len(runner.ops) == 3
    np.testing.assert_array_equal(seen[0], 3.0 * x)
    assert float(total) == 3 * 30.0
