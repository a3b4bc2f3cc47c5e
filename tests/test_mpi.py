"""Data-parallel training over MPI: N ranks at global batch B give the 1-rank parameters.

The mpiexec jobs run scripts of ``tests/mpi_scripts`` (``python -m mpi4py``, so an uncaught
exception aborts the job) on rank-identical data; each is compared with a fit in this process
(float64, rtol 1e-10). They skip, with the reason, where mpi4py (with an MPI library) or
mpiexec is missing; the checks of the import boundary and of the settings run everywhere.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT

SCRIPTS = os.path.join(ROOT, "tests", "mpi_scripts")
sys.path.insert(0, SCRIPTS)
import cases  # noqa: E402

from xpnet import NeuralNetwork  # noqa: E402
from xpnet.distributed import check_distributed, launched_ranks  # noqa: E402

#: Each mpiexec job must end well within this (the CI budget is 30 s a job).
JOB_S = 30


# ----------------------------------------------------------------------------- helpers
def _env():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               XPNET_BACKEND="numpy", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_mpi_yield_when_idle="1")
    for var in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK"):
        env.pop(var, None)   # never look launched to the child itself
    return env


@functools.lru_cache(maxsize=None)
def _mpiexec():
    """``[mpiexec, flags...]`` or the reason there is none (a string)."""
    found = subprocess.run([sys.executable, "-c", "from mpi4py import MPI"], env=_env(),
                           capture_output=True, text=True, timeout=60)
    if found.returncode:
        last = (found.stderr.strip().splitlines() or ["?"])[-1]
        return f"mpi4py with an MPI library is not available ({last}): pip install 'xpnet[mpi]'"
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    exe = beside if os.path.exists(beside) else shutil.which("mpiexec")
    if exe is None:
        return "no mpiexec on PATH (pip install 'xpnet[mpi]' brings MPICH's)"
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    flags = ["--oversubscribe"] if "Open MPI" in version.stdout + version.stderr else []
    return [exe] + flags


def mpiexec():
    found = _mpiexec()
    if isinstance(found, str):
        pytest.skip(found)
    return list(found)


def launch(n, *args, cwd=None, module=True):
    """``mpiexec -n n python -m mpi4py ARGS`` (plain ``python ARGS`` without ``module``): the
    finished process (its ``seconds`` added)."""
    runner = ["-m", "mpi4py"] if module else []
    return _run(mpiexec() + ["-n", str(n), sys.executable, *runner, *map(str, args)], cwd)


def launch_mpmd(*groups, cwd=None):
    """One job of several programs: ``groups`` of ``(n, args)``, joined with ``:``."""
    cmd = list(mpiexec())
    for i, (n, args) in enumerate(groups):
        cmd += ([":"] if i else []) + ["-n", str(n), sys.executable, "-m", "mpi4py",
                                       *map(str, args)]
    return _run(cmd, cwd)


def _run(cmd, cwd):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd or ROOT, env=_env(), capture_output=True, text=True,
                          timeout=3 * JOB_S)
    proc.seconds = time.perf_counter() - t0
    assert proc.seconds < JOB_S, f"the job took {proc.seconds:.1f} s: {cmd}"
    return proc


def assert_same(actual, expected, rtol=1e-10):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-14)


def distributed_fit(n, s, tmp_path):
    out = tmp_path / f"fit-{n}.npz"
    proc = launch(n, os.path.join(SCRIPTS, "fit.py"), cases.dumps(s), out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


# ------------------------------------------------------------- everywhere: no MPI needed
def test_import_xpnet_does_not_import_mpi4py():
    code = ("import sys, xpnet, xpnet.distributed, xpnet.network.estimator\n"
            "from xpnet import NeuralNetwork\n"
            "X = [[0.0], [1.0], [2.0], [3.0]]\n"
            "assert xpnet.distributed.rank() == 0\n"
            "NeuralNetwork(hidden=(2,), epochs=1, distributed='auto', backend='numpy')"
            ".fit(X, [0, 1, 0, 1])\n"
            "bad = [m for m in sys.modules if m.startswith('mpi4py') or m.endswith('.mpi')]\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_xpnet_train_outside_mpi_does_not_import_mpi4py(tmp_path):
    code = ("import sys\n"
            "from xpnet.cli import main\n"
            "rc = main(['train', '--dataset', 'moons', '--n-samples', '60', '--epochs', '1', "
            "'--backend', 'numpy', '--no-plots', '--quiet', '--out', 'run'])\n"
            "assert rc == 0 and 'mpi4py' not in sys.modules, (rc, sys.modules.keys())\n")
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("value, expected", [(None, None), ("none", None), ("None", None),
                                             ("auto", "auto"), (" MPI ", "mpi")])
def test_distributed_values(value, expected):
    assert check_distributed("distributed", value) == expected


@pytest.mark.parametrize("value", ["yes", 2, True])
def test_a_bad_distributed_value_is_refused_where_fit_checks_it(value):
    with pytest.raises(ValueError, match="distributed must be None, 'none', 'auto' or 'mpi'"):
        NeuralNetwork(distributed=value).fit([[0.0], [1.0]], [0, 1])


@pytest.mark.parametrize("env, ranks", [({}, 1), ({"PMI_SIZE": "4"}, 4),
                                        ({"OMPI_COMM_WORLD_SIZE": "2"}, 2),
                                        ({"PMI_SIZE": "1"}, 1), ({"PMIX_RANK": "0"}, 2)])
def test_launch_detection_reads_the_launchers_variables(env, ranks):
    assert launched_ranks(env) == ranks


MISSING = ("import sys; sys.modules['mpi4py'] = None\n"
           "import os; os.environ.update({extra})\n"
           "from xpnet import NeuralNetwork\n"
           "try:\n"
           "    NeuralNetwork(epochs=1, distributed={mode!r}).fit([[0.0], [1.0]], [0, 1])\n"
           "except ValueError as exc:\n"
           "    print(type(exc).__name__, exc)\n")


@pytest.mark.parametrize("mode, extra", [("mpi", "{}"), ("auto", "{'PMI_SIZE': '3'}")])
def test_without_mpi4py_mpi_says_how_to_install_it(mode, extra):
    proc = subprocess.run([sys.executable, "-c", MISSING.format(mode=mode, extra=extra)],
                          env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("MPIUnavailable"), proc.stdout
    assert "pip install 'xpnet[mpi]'" in proc.stdout
    if mode == "auto":
        assert "launched by MPI with 3 ranks" in proc.stdout


def test_rank_is_0_outside_an_mpi_launch():
    import xpnet.distributed
    assert xpnet.distributed.rank() == 0


def test_shards_follow_array_split():
    from xpnet.distributed.mpi import Context

    class Comm:
        def __init__(self, rank, size):
            self.rank, self.size = rank, size

        def Get_rank(self):
            return self.rank

        def Get_size(self):
            return self.size

    for size in (1, 2, 3, 4, 7):
        for B in (1, 2, 3, 16, 17, 128):
            sizes = [len(part) for part in np.array_split(np.arange(B), size)]
            bounds = [Context(Comm(r, size), None).shard(B) for r in range(size)]
            assert [c1 - c0 for c0, c1 in bounds] == sizes
            assert bounds[0][0] == 0 and bounds[-1][1] == B
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))


def test_shard_draws_are_the_global_batchs_columns():
    from xpnet.distributed.mpi import ShardDraws
    full = np.random.default_rng(5).random(size=(3, 10))
    parts = [ShardDraws(np.random.default_rng(5), 10, c0, c1).random(size=(3, c1 - c0))
             for c0, c1 in ((0, 4), (4, 7), (7, 10))]
    np.testing.assert_array_equal(np.hstack(parts), full)


# ------------------------------------------------------------------- the promise, tested
CASES = {
    # 50 samples at batch 16: 16 is not a multiple of 3; the last batch (2) is smaller than 3
    # and 4 ranks, so some ranks hold no column of it
    "plain": cases.spec(),
    "dropout": cases.spec(keep_prob=0.8),
    "batch_norm": cases.spec(batch_norm=True),
    "l2_weights": cases.spec(l2=0.1, weights=True),
    "everything": cases.spec(batch_norm=True, keep_prob=0.8, l2=0.05, weights=True,
                             n_classes=3, batch_size=17),
    "full_batch": cases.spec(batch_size=None, batch_norm=True),
    "early_stopping": cases.spec(early_stopping=True, epochs=40, learning_rate=0.1, patience=3,
                                 batch_norm=True),
}
RUNS = [("plain", 2), ("plain", 3), ("plain", 4), ("dropout", 2), ("dropout", 3),
        ("batch_norm", 2), ("batch_norm", 3), ("l2_weights", 2), ("l2_weights", 3),
        ("everything", 3), ("everything", 4), ("full_batch", 3), ("early_stopping", 3)]


@pytest.mark.slow
@pytest.mark.parametrize("case, n", RUNS, ids=[f"{c}-{n}ranks" for c, n in RUNS])
def test_n_ranks_give_the_one_rank_parameters(case, n, tmp_path):
    s = CASES[case]
    got = distributed_fit(n, s, tmp_path)
    ref = cases.fit(s)
    assert int(got["size"]) == n
    assert float(got["spread"]) == 0.0, "the ranks hold different parameters"
    assert int(got["n_epochs"]) == ref.n_epochs_
    assert_same(got["params"], cases.flat(ref))
    assert_same(got["cost"], np.asarray(ref.history_["cost"]))


@pytest.mark.slow
def test_one_rank_runs_the_serial_code_bit_for_bit(tmp_path):
    s = CASES["everything"]
    out = tmp_path / "one.npz"
    mpiexec()  # skips without MPI
    proc = _run([sys.executable, "-m", "mpi4py", os.path.join(SCRIPTS, "fit.py"),
                 cases.dumps(s), str(out)], None)
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as f:
        np.testing.assert_array_equal(f["params"], cases.flat(cases.fit(s)))


@pytest.mark.slow
def test_the_python_default_trains_each_rank_alone(tmp_path):
    proc = launch(2, os.path.join(SCRIPTS, "alone.py"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("alone") == 2, proc.stdout


# ----------------------------------------------------------------------------- the CLI
TRAIN = ["-m", "xpnet", "train", "--dataset", "moons", "--n-samples", "200", "--epochs", "4",
         "--batch-size", "23", "--backend", "numpy", "--dtype", "float64", "--no-plots"]


@pytest.mark.slow
@pytest.mark.parametrize("n, extra", [(2, ["--batch-norm", "--keep-prob", "0.8"]),
                                      (3, ["--l2", "0.01"])])
def test_cli_run_folder_matches_one_rank(n, extra, tmp_path):
    import xpnet
    (tmp_path / "n").mkdir()
    proc = launch(n, *TRAIN, *extra, "--out", "run", cwd=tmp_path / "n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    one = subprocess.run([sys.executable, *TRAIN, *extra, "--out", str(tmp_path / "one")],
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert one.returncode == 0, one.stderr[-3000:]
    assert os.listdir(tmp_path / "n") == ["run"], "a rank other than 0 wrote something"
    a = xpnet.load(tmp_path / "one" / "model.npz")
    b = xpnet.load(tmp_path / "n" / "run" / "model.npz")
    for name, value in a.parameters_.items():
        assert_same(b.parameters_[name], value)
    assert proc.stdout.count("run folder:") == 1 and proc.stdout.count("data:") == 1
    assert f"mpi:      {n} ranks" in proc.stdout
    assert proc.stderr.count("epoch 1/4") == 1, "only rank 0 shows progress"


# ----------------------------------------------------------------- failure and mismatch
@pytest.mark.slow
@pytest.mark.parametrize("module", [True, False], ids=["python -m mpi4py", "plain python"])
def test_a_failing_rank_ends_the_job_at_once(module):
    """Rank 1's callback raises while rank 0 waits in an Allreduce: the job ends in seconds
    with the message, with or without ``-m mpi4py`` (the fit itself aborts)."""
    proc = launch(2, os.path.join(SCRIPTS, "fail.py"), module=module)
    assert proc.returncode != 0
    assert "rank 1's callback failed on purpose" in proc.stderr
    assert proc.seconds < 10
    if not module:
        assert "on MPI rank 1 of 2 during a data-parallel fit" in proc.stderr


@pytest.mark.slow
def test_an_error_before_training_is_raised_on_every_rank(tmp_path):
    """One rank's data fails validation: every rank raises (a script can catch it), none
    hangs; the same error on all ranks is each rank's own."""
    out = tmp_path / "errors.txt"
    proc = launch(3, os.path.join(SCRIPTS, "setup_error.py"), out, module=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = out.read_text().splitlines()
    nan = "ValueError: X contains 1 NaN or infinite value(s)"
    first, second = lines[0::2], lines[1::2]   # each rank's two fits, rank by rank
    assert first[0] == first[1], first
    assert first[0].startswith(f"RankMismatch: MPI rank 2 of 3 failed before training: {nan}")
    assert first[2].startswith(nan)
    assert len(set(second)) == 1 and second[0].startswith(nan), second


@pytest.mark.slow
def test_the_cli_ends_every_rank_when_one_cannot_read_its_file(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 3))
    np.savetxt(tmp_path / "a.csv", np.c_[X, X[:, 0] > 0], delimiter=",",
               header="a,b,c,label", comments="")
    args = ["-m", "xpnet", "train", "--epochs", "2", "--backend", "numpy", "--quiet",
            "--no-plots", "--out", "run"]
    proc = launch_mpmd((1, args + ["--data", "a.csv"]), (1, args + ["--data", "gone.csv"]),
                       cwd=tmp_path)
    assert proc.returncode != 0
    assert "error on MPI rank 1 of 2" in proc.stderr and "gone.csv" in proc.stderr
    assert proc.seconds < 10
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize("what, names", [("data", ["X.crc", "X.sum"]), ("rows", ["X.crc"]),
                                         ("seed", ["hyperparameter seed"])])
def test_mismatched_ranks_are_refused_at_the_start(what, names, tmp_path):
    out = tmp_path / "mismatch.txt"
    proc = launch(3, os.path.join(SCRIPTS, "mismatch.py"), what, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and all(line.startswith("RankMismatch") for line in lines), lines
    for name in names:
        assert f"{name} (rank 0: " in lines[0] and "; rank 2: " in lines[0], lines[0]


@pytest.mark.slow
def test_the_cli_says_a_mismatch_once(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 3))
    for name, shift in (("a.csv", 0.0), ("b.csv", 0.5)):
        Z = X.copy()
        Z[3, 1] += shift
        np.savetxt(tmp_path / name, np.c_[Z, X[:, 0] > 0], delimiter=",",
                   header="a,b,c,label", comments="")
    args = ["-m", "xpnet", "train", "--epochs", "2", "--backend", "numpy", "--quiet",
            "--no-plots", "--out", "run"]
    proc = launch_mpmd((1, args + ["--data", "a.csv"]), (1, args + ["--data", "b.csv"]),
                       cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("MPI ranks of this fit disagree") == 1, proc.stderr
    assert "X.crc (rank 0: " in proc.stderr
