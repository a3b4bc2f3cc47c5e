"""Random search on executors: serial, a process pool and a 2-worker Dask ``LocalCluster`` give
the same trials and scores; workers warm up once; ``xpnet tune --scheduler``; clear errors.

The Dask tests skip, with the reason, where ``dask[distributed]`` is not installed.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

import xpnet
from xpnet.cli import main
from xpnet.datasets import make_moons
from xpnet.network.search import Choice, Real, grid_search, random_search

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPACE = {"learning_rate": Real(1e-3, 0.1, log=True), "batch_size": Choice([16, 32])}
GRID = {"learning_rate": [0.003, 0.03], "batch_size": [16, 32]}
KW = dict(n_trials=6, seed=0, refine_trials=2)
TUNE = ["tune", "--dataset", "moons", "--trials", "4", "--epochs", "3", "--seed", "0",
        "--backend", "numpy"]


def data():
    return make_moons(200, noise=0.2, seed=0)


def model():
    return xpnet.NeuralNetwork(hidden=(8,), epochs=3, backend="numpy")


def process_pool(n):
    """A pool of ``n`` fresh processes (spawned, as on macOS and Windows: nothing inherited)."""
    return concurrent.futures.ProcessPoolExecutor(n, mp_context=multiprocessing.get_context(
        "spawn"))


def strip(trials):
    return [{k: v for k, v in t.items() if k != "fit_time"} for t in trials]


def environ():
    env = {k: v for k, v in os.environ.items() if k != "XPNET_BACKEND"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def serial():
    X, y = data()
    return strip(random_search(model(), SPACE, X, y, **KW))


@pytest.fixture(scope="module")
def client():
    """A 2-worker LocalCluster (one process and one thread each), as ``--scheduler local:2``."""
    pytest.importorskip("distributed", reason="dask[distributed] is not installed: pip install "
                                              "'xpnet[dask]'")
    from xpnet.distributed.dask import Cluster
    with Cluster(("local", 2)) as c:
        yield c


# ------------------------------------------------------------------- same trials anywhere
def test_a_process_pool_gives_the_serial_trials(serial):
    X, y = data()
    with process_pool(2) as pool:
        assert strip(random_search(model(), SPACE, X, y, executor=pool, **KW)) == serial
        by_class = grid_search(xpnet.NeuralNetwork, GRID, X, y, seed=0, executor=pool)
    assert strip(by_class) == strip(grid_search(xpnet.NeuralNetwork, GRID, X, y, seed=0))


def test_a_dask_cluster_gives_the_serial_trials(serial, client):
    X, y = data()
    t0 = time.perf_counter()
    on_dask = random_search(model(), SPACE, X, y, executor=client.get_executor(), **KW)
    assert strip(on_dask) == serial                          # params and scores, exactly
    assert strip(random_search(model(), SPACE, X, y, executor=client, **KW)) == serial
    grid = grid_search(model(), GRID, X, y, seed=0, executor=client)
    assert strip(grid) == strip(grid_search(model(), GRID, X, y, seed=0))
    assert time.perf_counter() - t0 < 30


def test_a_thread_pool_gives_the_serial_trials_and_callbacks_in_order(serial):
    X, y = data()
    seen = []
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        trials = random_search(model(), SPACE, X, y, executor=pool, callback=seen.append, **KW)
    assert strip(trials) == serial
    assert [t["trial"] for t in seen] == list(range(8))


def test_each_dask_worker_warms_up_once_before_the_trials(client):
    X, y = data()

    def factory(**params):  # pickled by value (cloudpickle): counts its builds per worker
        os.environ["XPNET_TEST_BUILDS"] = str(int(os.environ.get("XPNET_TEST_BUILDS", 0)) + 1)
        return xpnet.NeuralNetwork(hidden=(8,), epochs=3, backend="numpy", seed=0, **params)

    trials = random_search(factory, SPACE, X, y, n_trials=4, seed=0, refine=False,
                           executor=client)
    builds = client.run(lambda: int(os.environ.pop("XPNET_TEST_BUILDS", 0)))
    assert len(builds) == 2 and all(n >= 1 for n in builds.values())
    assert sum(builds.values()) == len(trials) + 2           # one warm-up fit per worker


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_a_trial_that_diverges_on_a_worker_is_recorded_and_ranked_last(rng, client):
    X = rng.standard_normal((64, 3))
    y = X @ [1.0, 2.0, 3.0]
    est = xpnet.NeuralNetworkRegressor(hidden=(8,), optimizer="gd", epochs=20, backend="numpy")
    space = {"learning_rate": Choice([1e-2, 1e4])}
    trials = random_search(est, space, X, y, n_trials=6, seed=0, refine=False, executor=client)
    assert strip(trials) == strip(random_search(est, space, X, y, n_trials=6, seed=0,
                                                refine=False))
    assert "diverged" in trials[-1]["error"] and trials[-1]["dev_score"] == -math.inf
    assert trials[0]["error"] is None


def test_another_error_in_a_trial_is_raised_naming_the_trial():
    X, y = data()

    def factory(learning_rate, batch_size):
        if learning_rate > 0.01:
            raise RuntimeError("no such learning rate here")
        return xpnet.NeuralNetwork(hidden=(8,), epochs=1, backend="numpy", seed=0,
                                   learning_rate=learning_rate, batch_size=batch_size)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        with pytest.raises(RuntimeError, match="no such learning rate") as info:
            random_search(factory, SPACE, X, y, n_trials=8, seed=0, executor=pool)
    assert any(note.startswith("in trial ") for note in getattr(info.value, "__notes__", [""]))


# ------------------------------------------------------------------------------- errors
def test_n_jobs_and_an_executor_are_an_error():
    X, y = data()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        with pytest.raises(ValueError, match="n_jobs.*executor.*not both"):
            random_search(model(), SPACE, X, y, n_jobs=2, executor=pool)
        with pytest.raises(ValueError, match="not both"):
            grid_search(model(), GRID, X, y, n_jobs=2, executor=pool)


def test_an_executor_must_submit():
    X, y = data()
    with pytest.raises(TypeError, match="concurrent.futures.Executor"):
        random_search(model(), SPACE, X, y, executor="local:2")


def test_a_process_pool_needs_a_picklable_estimator():
    X, y = data()
    with process_pool(1) as pool:
        with pytest.raises(TypeError, match="does not pickle.*lambda"):
            random_search(lambda **p: xpnet.NeuralNetwork(**p), SPACE, X, y, executor=pool)


def test_importing_xpnet_does_not_import_dask():
    code = ("import sys, xpnet, xpnet.network.search, xpnet.commands.tune, "
            "xpnet.distributed.dask; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], env=environ(), capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------ xpnet tune --scheduler
def test_tune_on_a_local_cluster_gives_the_serial_trials(tmp_path, capsys):
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    assert main([*TUNE, "--json", str(tmp_path / "serial.json")]) == 0
    capsys.readouterr()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "xpnet", *TUNE, "--scheduler", "local:2",
                           "--json", str(tmp_path / "dask.json")], cwd=tmp_path, env=environ(),
                          capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("dashboard http") == 1
    assert "local Dask cluster of 2 worker processes" in proc.stderr
    trials = [strip(json.loads((tmp_path / f"{name}.json").read_text())["trials"])
              for name in ("serial", "dask")]
    assert trials[0] == trials[1]
    assert seconds < 30, f"xpnet tune --scheduler local:2 took {seconds:.1f} s"


def live_in_group(pgid):
    """The processes of group ``pgid`` that have not ended (zombies are not counted)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(pid))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_closes_the_local_cluster(tmp_path):
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    argv = [*TUNE[:6], "100000000", "--backend", "numpy", "--scheduler", "local:2"]
    proc = subprocess.Popen([sys.executable, "-m", "xpnet", *argv], cwd=tmp_path, env=environ(),
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in proc.stderr:
            if "dashboard" in line:
                break
        time.sleep(1.0)                                      # the trials are running
        os.killpg(proc.pid, signal.SIGINT)                   # Ctrl-C: the whole group
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "xpnet tune: interrupted", err
    deadline = time.monotonic() + 10
    while live_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_in_group(proc.pid) == []                     # no worker left behind


@pytest.mark.parametrize("scheduler,message", [
    ("local:0", "positive integer"), ("local:two", "positive integer"),
    ("localhost", "give none, local, local:N"), ("local:", "positive integer"),
])
def test_tune_scheduler_errors(scheduler, message, capsys):
    assert main([*TUNE, "--scheduler", scheduler]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_tune_scheduler_and_jobs_are_an_error(capsys):
    assert main([*TUNE, "--jobs", "2", "--scheduler", "local:2"]) == 2
    assert "give one of them" in capsys.readouterr().err


def test_tune_without_dask_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)    # `import distributed` fails
    assert main([*TUNE, "--scheduler", "local:2"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'xpnet[dask]'" in err and len(err.strip().splitlines()) == 1


def test_tune_with_an_unreachable_scheduler_fails_fast(monkeypatch, capsys):
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    from xpnet.distributed import dask
    monkeypatch.setattr(dask, "CONNECT_TIMEOUT", 1)
    t0 = time.perf_counter()
    assert main([*TUNE, "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert time.perf_counter() - t0 < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("xpnet tune: error: could not reach the Dask scheduler at "
                              "tcp://127.0.0.1:1")


@pytest.mark.parametrize("text,expected", [
    (None, None), ("none", None), ("local:3", ("local", 3)),
    ("local", ("local", os.cpu_count() or 1)), ("tcp://10.0.0.1:8786", ("address",
                                                                        "tcp://10.0.0.1:8786")),
    ("scheduler-host:8786", ("address", "scheduler-host:8786")),
])
def test_parse_scheduler(text, expected):
    from xpnet.distributed.dask import parse_scheduler
    assert parse_scheduler(text) == expected
