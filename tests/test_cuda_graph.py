"""The training step as a replayable unit: ``Backend.step_runner`` and the CUDA-graph runner.

On the CPU: ``GraphStep``'s sequence (eager warm-up, one capture, replays; eager for good when
capture fails) against a stand-in for CuPy's streams, pools and graphs, the training loop's use
of ``step_runner`` (full batches through the runner, told when they draw dropout masks, the last
partial batch eagerly, one runner per fit), the dropout seeds fed to a recorded step (the eager
step's seeds, in its order; the Generator rewound when capture fails) and the settings. On a
GPU: a fit with CUDA graphs equals the same fit without them, bit for bit, dropout included, and
really replays.
"""

from __future__ import annotations

import contextlib
import types
import warnings

import numpy as np
import pytest

from conftest import require_cupy_gpu
from xpnet import NeuralNetwork, backends
from xpnet.backends import cupy_backend
from xpnet.backends.cuda_graph import GraphStep
from xpnet.backends.step_feed import SEED_SLOTS, StepClock, StepFeed, capturing
from xpnet.backends.numpy_backend import NumpyBackend
from xpnet.ops import optimizers as xopt


# ------------------------------------------------------------- a stand-in for CuPy
class FakeGraph:
    def __init__(self, log, recorded):
        self.log, self.recorded = log, recorded

    def launch(self, stream=None):
        self.log.append(("launch", stream.name))
        for fn in self.recorded:  # a real graph replays device work, not Python
            fn()


class FakeStream:
    def __init__(self, log, fail_end=False, name="side"):
        self.log, self.fail_end, self.name = log, fail_end, name
        self.capturing = False

    def record(self):
        assert not self.capturing, "an event recorded during capture would be captured"
        self.log.append(("record", self.name))
        return self.name

    def wait_event(self, event):
        assert not self.capturing
        self.log.append(("wait", self.name, event))

    def __enter__(self):
        self.log.append("enter stream")
        return self

    def __exit__(self, *exc):
        self.log.append("exit stream")
        return False

    def begin_capture(self):
        assert not self.capturing
        self.capturing = True
        self.log.append("begin")

    def end_capture(self):
        assert self.capturing
        self.capturing = False
        self.log.append("end")
        if self.fail_end:
            raise RuntimeError("operation not permitted when stream is capturing")
        return FakeGraph(self.log, [self.replay])


def fake_cupy(log, fail_end=False):
    pool = types.SimpleNamespace(malloc="private pool")
    stream = FakeStream(log, fail_end)

    @contextlib.contextmanager
    def using_allocator(malloc):
        log.append(("allocator", malloc))
        yield

    current = FakeStream(log, name="current")
    cuda = types.SimpleNamespace(Stream=lambda: stream, MemoryPool=lambda: pool,
                                 using_allocator=using_allocator,
                                 get_current_stream=lambda: current)
    return types.SimpleNamespace(cuda=cuda), stream


def test_graph_step_warms_up_captures_once_then_replays():
    log, runs = [], []
    cp, stream = fake_cupy(log)
    stream.replay = lambda: runs.append("replayed")

    def step():
        runs.append("capturing" if stream.capturing else "eager")

    g = GraphStep(cp, step)
    assert g.mode == "warming up"
    g()
    assert runs == ["eager"]
    # The side stream waits for the caller's stream, runs in the private pool, and the caller's
    # stream waits for it in turn.
    assert log == [("record", "current"), ("wait", "side", "current"),
                   ("allocator", "private pool"), "enter stream", "exit stream",
                   ("record", "side"), ("wait", "current", "side")]
    g()  # captured (recording runs no device work), then launched once for this call
    assert runs == ["eager", "capturing", "replayed"] and g.mode == "replaying"
    assert log.count("begin") == 1 and log.count("end") == 1
    g()
    g()
    assert runs[3:] == ["replayed", "replayed"]
    # Replays go on the caller's current stream: ordered with its gather and optimizer.
    assert log.count("begin") == 1 and log.count(("launch", "current")) == 3


def test_graph_step_runs_eagerly_for_good_when_the_capture_is_refused():
    log, runs = [], []
    cp, stream = fake_cupy(log, fail_end=True)
    g = GraphStep(cp, lambda: runs.append("capturing" if stream.capturing else "eager"))
    g()
    with pytest.warns(RuntimeWarning, match="CUDA graph failed.*XPNET_CUDA_GRAPH=0"):
        g()
    assert g.mode == "eager" and isinstance(g.error, RuntimeError)
    assert runs == ["eager", "capturing", "eager"]  # the failed call's work still happens
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g()
    assert runs[-1] == "eager" and log.count("begin") == 1


def test_graph_step_ends_the_capture_when_the_step_raises_during_it():
    log, calls = [], []
    cp, stream = fake_cupy(log)

    def step():
        calls.append(stream.capturing)
        if stream.capturing:
            raise RuntimeError("cudaErrorStreamCaptureUnsupported")

    g = GraphStep(cp, step)
    g()
    with pytest.warns(RuntimeWarning, match="cudaErrorStreamCaptureUnsupported"):
        g()
    assert not stream.capturing and log.count("end") == 1
    assert calls == [False, True, False] and g.mode == "eager"


def test_graph_step_needs_a_warm_up_call():
    with pytest.raises(ValueError, match="warmup must be at least 1"):
        GraphStep(fake_cupy([])[0], lambda: None, warmup=0)


# ------------------------------------------------------------ the training loop's side
class SpyBackend(NumpyBackend):
    """numpy, with a step runner that counts its calls."""

    def __init__(self):
        super().__init__()
        self.runners = []

    def step_runner(self, step, draws=False):
        def runner():
            runner.calls += 1
            step()

        runner.calls, runner.draws = 0, draws
        self.runners.append(runner)
        return runner


def _data(m=100):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, m)
    return rng.standard_normal((m, 4)) + y[:, None], y


def test_full_batches_go_through_one_runner_per_fit():
    bk = SpyBackend()
    X, y = _data()
    model = NeuralNetwork(hidden=(6,), batch_size=32, epochs=3, seed=0, backend=bk).fit(X, y)
    assert len(bk.runners) == 1 and bk.runners[0].calls == 3 * 3  # 100 = 3 x 32 + 4
    ref = NeuralNetwork(hidden=(6,), batch_size=32, epochs=3, seed=0, backend="numpy").fit(X, y)
    assert model.history_["cost"] == ref.history_["cost"]
    for name, value in ref.parameters_.items():
        np.testing.assert_array_equal(model.parameters_[name], value)


def test_dropout_steps_reach_the_runner_marked_as_drawing():
    bk = SpyBackend()
    X, y = _data()
    model = NeuralNetwork(hidden=(6,), keep_prob=0.8, batch_size=32, epochs=2, seed=0,
                          backend=bk).fit(X, y)
    assert len(bk.runners) == 1 and bk.runners[0].draws and bk.runners[0].calls == 2 * 3
    ref = NeuralNetwork(hidden=(6,), keep_prob=0.8, batch_size=32, epochs=2, seed=0,
                        backend="numpy").fit(X, y)
    assert model.history_["cost"] == ref.history_["cost"]
    # A CUDA graph would replay the first step's masks: unless its seeds are fed to the
    # device (whole_step, opt-in), the cupy backend runs such steps as plain calls.
    fake = types.SimpleNamespace(cuda_graph=True, whole_step=False, xp=None)
    step = object()
    assert cupy_backend.CupyBackend.step_runner(fake, step, draws=True) is step
    fake.xp = fake_cupy([])[0]
    assert cupy_backend.CupyBackend.step_runner(fake, step, draws=False).feed is None
    fake.whole_step = True
    fake.xp.zeros = np.zeros
    runner = cupy_backend.CupyBackend.step_runner(fake, step, draws=True)
    assert isinstance(runner, GraphStep) and isinstance(runner.feed, StepFeed)


def _dropout_step(cp, stream, rng, used, masks=2):
    """A stand-in for a training step drawing ``masks`` dropout masks: eagerly it draws each
    seed itself; while captured it takes a slot of the feed, and the recorded "kernel" (run
    by the fake graph's replay) reads the seed from the device array when it runs."""
    slots = []

    def step():
        feed = capturing.feed if stream.capturing else None
        if feed is None:
            used.extend(int(rng.integers(0, 2 ** 63)) for _ in range(masks))
        else:
            slots[:] = [feed.take_seed(rng) for _ in range(masks)]

    def replay():
        used.extend(int(runner.feed.seeds[k]) for k in slots)

    stream.replay = replay
    runner = GraphStep(cp, step, feed=StepFeed(cp))
    return runner


def test_a_recorded_dropout_step_uses_the_seeds_an_eager_step_would_draw():
    log, used = [], []
    cp, stream = fake_cupy(log)
    cp.zeros = np.zeros
    rng = np.random.default_rng(7)
    runner = _dropout_step(cp, stream, rng, used)
    for _ in range(5):
        runner()
    assert runner.mode == "replaying"
    reference = np.random.default_rng(7)
    assert used == [int(reference.integers(0, 2 ** 63)) for _ in range(10)]
    assert capturing.feed is None                   # only while the step is captured


def test_a_recorded_update_reads_the_scalars_of_the_clocks_step():
    """The whole step: each replay first advances the loop's clock, then its scalars are made
    from the live learning rate and step count, as the eager update would compute them."""
    log, seen = [], []
    cp, stream = fake_cupy(log)
    cp.zeros = np.zeros
    live = {"lr": 0.5, "t": 0}
    clock = StepClock(lr=lambda: live["lr"], t=lambda: live["t"],
                      advance=lambda: live.__setitem__("t", live["t"] + 1))
    slot = []

    def step():                     # the Python of a step: it counts its own update
        live["t"] += 1
        if stream.capturing:
            slot[:] = [capturing.feed.take_scalars(lambda: (live["lr"] / live["t"],))]
        else:
            seen.append(live["lr"] / live["t"])

    stream.replay = lambda: seen.append(float(runner.feed.scalars[slot[0]]))
    runner = GraphStep(cp, step, feed=StepFeed(cp, clock))
    for epoch_lr in (0.5, 0.25):
        live["lr"] = epoch_lr
        for _ in range(3):
            runner()
    assert live["t"] == 6 and runner.mode == "replaying"
    assert seen == [0.5 / 1, 0.5 / 2, 0.5 / 3, 0.25 / 4, 0.25 / 5, 0.25 / 6]


def test_a_failed_dropout_capture_rewinds_the_generator():
    log, used = [], []
    cp, stream = fake_cupy(log, fail_end=True)
    cp.zeros = np.zeros
    rng = np.random.default_rng(3)
    runner = _dropout_step(cp, stream, rng, used)
    runner()
    with pytest.warns(RuntimeWarning, match="CUDA graph failed"):
        runner()
    runner()
    assert runner.mode == "eager"
    reference = np.random.default_rng(3)
    assert used == [int(reference.integers(0, 2 ** 63)) for _ in range(6)]


def test_a_step_drawing_more_masks_than_the_feed_holds_runs_eagerly():
    log, used = [], []
    cp, stream = fake_cupy(log)
    cp.zeros = np.zeros
    rng = np.random.default_rng(5)
    runner = _dropout_step(cp, stream, rng, used, masks=SEED_SLOTS + 1)
    runner()
    with pytest.warns(RuntimeWarning, match=f"at most {SEED_SLOTS} dropout masks"):
        runner()
    assert runner.mode == "eager"
    reference = np.random.default_rng(5)
    assert used == [int(reference.integers(0, 2 ** 63)) for _ in range(2 * (SEED_SLOTS + 1))]


class WholeStepBackend(NumpyBackend):
    """numpy, with a runner standing in for a whole-step CUDA graph: the first two calls run
    the step's Python (the update included); later ones do what a replay does: advance the
    loop's clock, then the step's work with the update at the clock's learning rate and step
    count (the optimizer's own Python, which would count the step again, does not run)."""

    records_updates = True

    def __init__(self):
        super().__init__()
        self.replays = 0

    def step_runner(self, step, draws=False, clock=None):
        assert clock is not None
        calls = []

        def replayed_update(opt, params, grads, lr):
            xopt.update(self, opt.name, params.flat, grads.flat, opt.state(), clock.lr(),
                        clock.t(), **opt.hp)

        def runner():
            calls.append(1)
            if len(calls) <= 2:
                return step()
            self.replays += 1
            clock.advance()
            real, xopt.Optimizer.step = xopt.Optimizer.step, replayed_update
            try:
                step()
            finally:
                xopt.Optimizer.step = real

        return runner


@pytest.mark.parametrize("kw", [dict(optimizer="adam", lr_decay="inverse_time"),
                                dict(optimizer="momentum", bias_correction=True,
                                     keep_prob=0.8),
                                dict(optimizer="gd", lr_decay={"kind": "exponential",
                                                               "base": 0.5})])
def test_a_whole_step_runner_updates_once_per_step_at_the_epochs_rate(kw):
    """Where the backend records the update, the loop leaves full batches' updates to the
    runner (no second update), keeps the optimizer's step count through its clock and gives
    it each epoch's decayed learning rate: the fit is the plain one, bit for bit."""
    bk = WholeStepBackend()
    X, y = _data()
    args = dict(hidden=(6,), batch_size=32, epochs=3, seed=0, **kw)
    model = NeuralNetwork(backend=bk, **args).fit(X, y)
    ref = NeuralNetwork(backend="numpy", **args).fit(X, y)
    assert bk.replays == 3 * 3 - 2
    assert model.history_["cost"] == ref.history_["cost"]
    for name, value in ref.parameters_.items():
        np.testing.assert_array_equal(model.parameters_[name], value)
    assert model._optimizer.t == ref._optimizer.t == 3 * 4


def test_cuda_graph_setting(monkeypatch):
    assert cupy_backend.env_flag("XPNET_CUDA_GRAPH", {}, default=True) is True
    assert cupy_backend.env_flag("XPNET_CUDA_GRAPH", {"XPNET_CUDA_GRAPH": " "}, True) is True
    assert cupy_backend.env_flag("XPNET_CUDA_GRAPH", {"XPNET_CUDA_GRAPH": "0"}, True) is False
    assert cupy_backend.graphs_supported(types.SimpleNamespace()) is False
    cp, _ = fake_cupy([])
    cp.cuda.runtime = types.SimpleNamespace(is_hip=False)
    assert cupy_backend.graphs_supported(cp) is False  # the stand-in Stream is a lambda
    cp.cuda.Stream = FakeStream
    assert cupy_backend.graphs_supported(cp) is True
    cp.cuda.runtime.is_hip = True
    assert cupy_backend.graphs_supported(cp) is False


# ------------------------------------------------------------------------- GPU only
@pytest.fixture(scope="module")
def gpu_pair():
    require_cupy_gpu()
    backends._reset_for_tests()
    return (cupy_backend.create(cuda_graph=True, whole_step=True),
            cupy_backend.create(cuda_graph=False))


@pytest.mark.gpu
@pytest.mark.parametrize("config", [
    dict(hidden=(32, 16), activation="relu", optimizer="adam"),
    dict(hidden=(24,), activation="tanh", optimizer="momentum", batch_norm=True, l2=0.01),
    dict(hidden=(16,), activation="sigmoid", optimizer="rmsprop", dtype="float64"),
    dict(hidden=(32, 16), activation="relu", optimizer="adam", keep_prob=0.8),
    dict(hidden=(24,), activation="tanh", optimizer="adam", keep_prob=[0.7], batch_norm=True),
    dict(hidden=(16,), activation="relu", optimizer="gd", lr_decay="inverse_time"),
    dict(hidden=(16, 8), activation="leaky_relu", optimizer="momentum", bias_correction=True,
         lr_decay={"kind": "exponential", "base": 0.7}, dtype="float64")])
def test_a_fit_with_cuda_graphs_equals_one_without(gpu_pair, config):
    graphs, eager = gpu_pair
    assert graphs.cuda_graph and not eager.cuda_graph
    made = []
    original = graphs.step_runner

    def spy(step, **kw):
        made.append(original(step, **kw))
        return made[-1]

    X, y = _data(m=1000)
    graphs.step_runner = spy
    try:
        fits = [NeuralNetwork(batch_size=64, epochs=4, seed=1, backend=bk, **config).fit(X, y)
                for bk in (graphs, eager)]
    finally:
        del graphs.step_runner
    assert len(made) == 1 and made[0].mode == "replaying", getattr(made[0], "error", None)
    assert fits[0].history_["cost"] == fits[1].history_["cost"]
    for name, value in fits[1].parameters_.items():
        np.testing.assert_array_equal(fits[0].parameters_[name], value, err_msg=name)


@pytest.mark.gpu
def test_graph_replays_follow_the_callers_stream(gpu_pair):
    """Fitting inside a user's non-blocking stream (which does not synchronize with the legacy
    default stream): the replays go on that stream, so the result is still the eager one."""
    import cupy
    graphs, eager = gpu_pair
    X, y = _data(m=640)
    fits = []
    for bk in (graphs, eager):
        with cupy.cuda.Stream(non_blocking=True):
            fits.append(NeuralNetwork(hidden=(32,), batch_size=32, epochs=3, seed=2,
                                      backend=bk).fit(X, y))
    assert fits[0].history_["cost"] == fits[1].history_["cost"]
    for name, value in fits[1].parameters_.items():
        np.testing.assert_array_equal(fits[0].parameters_[name], value, err_msg=name)
