"""The ``xpnet`` command, driven in subprocesses as a user runs it.

Every run uses ``python -m xpnet`` with ``PYTHONPATH`` at the repository root and a fresh
working directory. All runs but the default one use ``--epochs`` of a few and the numpy
backend, so the file stays fast.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def xpnet(cwd, *args, backend="numpy", pythonpath=(), env=None):
    """Run ``python -m xpnet ARGS`` in ``cwd``; returns the CompletedProcess."""
    environ = {k: v for k, v in os.environ.items() if k != "XPNET_BACKEND"}
    environ["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), ROOT])
    if backend is not None:
        environ["XPNET_BACKEND"] = backend
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "xpnet", *map(str, args)], cwd=cwd,
                          env=environ, capture_output=True, text=True, timeout=300)


def ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\n" \
                                 f"stderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc


def run_folder(cwd):
    runs = sorted((cwd / "xpnet-runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def metric_row(stdout, split):
    match = re.search(rf"^{split}\s+([0-9.]+)", stdout, re.MULTILINE)
    assert match, f"no {split} row in:\n{stdout}"
    return float(match.group(1))


def write_iris_csv(path):
    from xpnet.datasets import load_iris
    data = load_iris()
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sepal length", "sepal width", "petal length", "petal width",
                         "species"])
        for x, label in zip(data.X, data.y):
            writer.writerow([*x, data.target_names[label]])
    return path


def is_png(path):
    with open(path, "rb") as fh:
        return fh.read(8) == PNG_MAGIC


# ----------------------------------------------------------------------------- train
def test_default_train_run(tmp_path):
    """`xpnet train` as the README runs it: digits, one hidden layer, Adam, auto backend."""
    proc = ok(xpnet(tmp_path, "train", backend=None))
    out = proc.stdout
    assert "dataset digits: 1797 samples, 64 features, 10 classes" in out
    assert "64 inputs -> 64 relu -> 10 softmax" in out and "adam" in out
    assert "dtype float32" in out and "s per epoch" in out
    assert metric_row(out, "train") > 0.95
    assert metric_row(out, "test") > 0.93
    assert "confusion matrix on the test set" in out
    # not a terminal: one plain progress line per epoch on stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("epoch")]
    assert len(lines) == 30 and lines[-1].startswith("epoch 30/30")
    assert "dev_acc" in lines[-1]

    folder = run_folder(tmp_path)
    assert re.fullmatch(r"\d{8}-\d{6}-digits", folder.name)
    for name in ("model.npz", "history.json", "metrics.json", "report.txt", "config.toml",
                 "curves.png"):
        assert (folder / name).is_file(), name
    assert not (folder / "decision_regions.png").exists()    # 64 features: no 2-D picture
    assert is_png(folder / "curves.png")
    history = json.loads((folder / "history.json").read_text())
    assert history["epoch"] == list(range(1, 31))
    assert len(history["cost"]) == len(history["dev_score"]) == 30
    assert history["cost"][-1] < history["cost"][0]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["metrics"]["test"]["accuracy"] == pytest.approx(metric_row(out, "test"),
                                                                   abs=1e-4)
    assert np.asarray(metrics["metrics"]["test"]["confusion_matrix"]).sum() == \
        metrics["n_samples"]["test"]
    # the time figures add up exactly, under plain names, in the report and metrics.json
    assert metrics["fit_seconds"] == pytest.approx(
        metrics["training_seconds"] + metrics["dev_and_progress_seconds"], rel=1e-9)
    assert metrics["seconds_per_epoch"] == pytest.approx(sum(history["epoch_time"]) / 30)
    assert "train_seconds" not in metrics
    assert re.search(r"^time: +[\d.]+ s for 30 epochs: [\d.]+ s of training \([\d.]+ s per "
                     r"epoch\) \+ [\d.]+ s of dev evaluation and progress", out, re.M)


def test_csv_run_then_predict_and_evaluate(tmp_path):
    write_iris_csv(tmp_path / "iris.csv")
    ok(xpnet(tmp_path, "train", "--data", "iris.csv", "--target", "species", "--epochs", "5",
             "--out", "run", "--quiet"))
    model = tmp_path / "run" / "model.npz"
    assert model.is_file()

    proc = ok(xpnet(tmp_path, "predict", model, "iris.csv"))    # target column left out
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0] == ["prediction"] and len(rows) == 151
    assert {r[0] for r in rows[1:]} <= {"setosa", "versicolor", "virginica"}

    ok(xpnet(tmp_path, "predict", model, "iris.csv", "--proba", "--out", "pred.csv"))
    with open(tmp_path / "pred.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]
    P = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-4)

    proc = ok(xpnet(tmp_path, "evaluate", model, "iris.csv", "--json"))
    result = json.loads(proc.stdout)
    assert result["task"] == "classification"
    assert 0.0 <= result["accuracy"] <= 1.0
    assert np.asarray(result["confusion_matrix"]).sum() == 150
    assert result["labels"] == ["setosa", "versicolor", "virginica"]
    proc = ok(xpnet(tmp_path, "evaluate", model, "iris.csv"))
    assert "accuracy" in proc.stdout and "confusion matrix" in proc.stdout

    # The model keeps its column names: a file with them in another order (the target first)
    # gets the same predictions; a file without one of them is refused.
    with open(tmp_path / "iris.csv", newline="") as fh:
        table = list(csv.reader(fh))
    order = [4, 3, 1, 0, 2]
    with open(tmp_path / "shuffled.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([[row[j] for j in order] for row in table])
    first = ok(xpnet(tmp_path, "predict", model, "iris.csv")).stdout
    assert ok(xpnet(tmp_path, "predict", model, "shuffled.csv")).stdout == first
    shuffled = json.loads(ok(xpnet(tmp_path, "evaluate", model, "shuffled.csv", "--json")).stdout)
    assert shuffled["accuracy"] == result["accuracy"]
    table[0][2] = "petal size"
    with open(tmp_path / "renamed.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(table)
    proc = xpnet(tmp_path, "predict", model, "renamed.csv")
    assert proc.returncode == 2 and "no column 'petal length'" in proc.stderr


def test_predict_matches_the_saved_models_accuracy(tmp_path):
    """The report's test accuracy, evaluate's and predict's agree on the same data."""
    ok(xpnet(tmp_path, "train", "--dataset", "iris", "--epochs", "20", "--out", "run",
             "--quiet", "--no-plots"))
    model = tmp_path / "run" / "model.npz"
    evaluated = json.loads(ok(xpnet(tmp_path, "evaluate", model, "iris", "--json")).stdout)
    rows = list(csv.reader(io.StringIO(ok(xpnet(tmp_path, "predict", model, "iris")).stdout)))
    from xpnet.datasets import load_iris
    data = load_iris()
    truth = np.asarray(data.target_names)[data.y]
    predicted = np.array([r[0] for r in rows[1:]])
    assert evaluated["accuracy"] == pytest.approx(np.mean(predicted == truth))


def test_two_feature_data_gets_decision_regions(tmp_path):
    proc = ok(xpnet(tmp_path, "train", "--dataset", "moons", "--epochs", "3", "--hidden",
                    "8,8", "--quiet"))
    assert proc.stderr == ""
    folder = run_folder(tmp_path)
    assert is_png(folder / "decision_regions.png") and is_png(folder / "curves.png")
    assert "2 inputs -> 8 relu -> 8 relu -> 1 sigmoid" in proc.stdout


def test_npz_regression_run(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.standard_normal(120)
    np.savez(tmp_path / "reg.npz", X=X, y=y)
    proc = ok(xpnet(tmp_path, "train", "--data", "reg.npz", "--epochs", "40", "--hidden",
                    "16", "--learning-rate", "0.01", "--out", "run", "--quiet"))
    assert "regression" in proc.stdout and "R^2" in proc.stdout and "MSE" in proc.stdout
    assert "1 linear" in proc.stdout
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["dev_metric"] == "r2"
    proc = ok(xpnet(tmp_path, "predict", tmp_path / "run" / "model.npz", "reg.npz"))
    values = [float(v) for v in proc.stdout.split()[1:]]
    assert len(values) == 120 and np.corrcoef(values, y)[0, 1] > 0.8


def test_config_file_with_flag_override_and_rerun(tmp_path):
    (tmp_path / "settings.toml").write_text(
        'dataset = "blobs"\nhidden = [8]\noptimizer = "momentum"\nlearning-rate = 0.05\n'
        'epochs = 6\nbatch_size = "full"\nseed = 3\n')
    proc = ok(xpnet(tmp_path, "train", "--config", "settings.toml", "--epochs", "4",
                    "--out", "first", "--quiet", "--no-plots"))
    assert "2 inputs -> 8 relu -> 3 softmax" in proc.stdout
    assert "momentum, learning rate 0.05, full batch, 4 epochs" in proc.stdout
    first = json.loads((tmp_path / "first" / "history.json").read_text())
    assert len(first["cost"]) == 4
    # the run's own config.toml reproduces it exactly (same seed, same backend)
    ok(xpnet(tmp_path, "train", "--config", tmp_path / "first" / "config.toml", "--out",
             "second", "--quiet", "--no-plots"))
    second = json.loads((tmp_path / "second" / "history.json").read_text())
    assert second["cost"] == first["cost"]


def test_without_matplotlib_says_so_once_and_skips_plots(tmp_path):
    fake = tmp_path / "fake"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text(
        "raise ImportError('No module named matplotlib')\n")
    proc = ok(xpnet(tmp_path, "train", "--dataset", "planar", "--epochs", "2", "--out", "run",
                    "--quiet", pythonpath=[fake]))
    assert proc.stderr.count("matplotlib is not installed") == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (tmp_path / "run" / "model.npz").is_file()
    assert not list((tmp_path / "run").glob("*.png"))


def test_run_folders_are_unique(tmp_path):
    for _ in range(2):
        ok(xpnet(tmp_path, "train", "--dataset", "blobs", "--epochs", "1", "--quiet",
                 "--no-plots"))
    runs = sorted(p.name for p in (tmp_path / "xpnet-runs").iterdir())
    assert len(runs) == 2 and all(name.endswith(("-blobs", "-blobs-2")) for name in runs)


# ------------------------------------------------------------------------ other commands
def test_info(tmp_path):
    proc = ok(xpnet(tmp_path, "info", backend=None))
    from xpnet import __version__
    assert proc.stdout.startswith(f"xpnet {__version__}")
    assert re.search(r"^\s+numpy\s+available", proc.stdout, re.MULTILINE)
    assert re.search(r"^\s+auto -> \w+: picked", proc.stdout, re.MULTILINE)
    assert "BLAS" in proc.stdout and "threads:" in proc.stdout and "cpu:" in proc.stdout


def test_info_shows_a_device_backends_settings():
    from types import SimpleNamespace

    from xpnet.commands.info import _device_lines

    gpu = SimpleNamespace(device="cuda:0 (Test GPU)", info=lambda: {
        "backend": "cupy", "device": "cuda:0", "tf32": False, "cuda_graph": True})
    lines = _device_lines({"cupy": gpu, "numpy": SimpleNamespace(device="cpu")})
    assert "  cupy: cuda:0 (Test GPU)" in lines
    assert "    tf32=False, cuda_graph=True" in lines

    def broken():
        raise RuntimeError("driver gone")

    lines = _device_lines({"cupy": SimpleNamespace(device="cuda:0", info=broken)})
    assert "    (settings unavailable: RuntimeError: driver gone)" in lines


def test_gradcheck(tmp_path):
    proc = ok(xpnet(tmp_path, "gradcheck"))
    diff = float(re.search(r"relative difference ([0-9.e+-]+):", proc.stdout).group(1))
    assert diff < 1e-7
    assert re.search(r"^W1\s+\(5, 4\)", proc.stdout, re.MULTILINE)


def test_gradcheck_fails_loudly_above_threshold(tmp_path):
    proc = xpnet(tmp_path, "gradcheck", "--threshold", "1e-30")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


# ------------------------------------------------------------------------------ errors
def _model(tmp_path):
    ok(xpnet(tmp_path, "train", "--dataset", "iris", "--epochs", "1", "--out", "run",
             "--quiet", "--no-plots"))
    return tmp_path / "run" / "model.npz"


def _bad_csv(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b,label\n1,2,x\n3,oops,y\n")


ERRORS = {
    "missing data file": (["train", "--data", "nope.csv"], "nope.csv"),
    "non-numeric column": (["train", "--data", "bad.csv"], "column 'b' is not numeric: row 2"),
    "missing target column": (["train", "--data", "iris.csv", "--target", "kind"],
                              "no column named 'kind'"),
    "model of another format": (["predict", "iris.csv", "iris.csv"], "not an xpnet model"),
    "data npz as model": (["evaluate", "data.npz", "iris.csv"], "not an xpnet model"),
    "missing model": (["predict", "nope.npz", "iris.csv"], "nope.npz"),
    "unknown backend": (["train", "--backend", "gpu9000"], "unknown backend 'gpu9000'"),
    "unknown dataset": (["train", "--dataset", "mnist"], "unknown dataset 'mnist'"),
    "bad config key": (["train", "--config", "bad.toml"], "unknown setting 'hiden'"),
    "bad flag value": (["train", "--hidden", "64,x"], "hidden layer sizes"),
    "text target for regression": (["train", "--data", "iris.csv", "--task", "regression"],
                                   "regression needs numbers"),
}


@pytest.fixture
def error_files(tmp_path):
    _bad_csv(tmp_path)
    write_iris_csv(tmp_path / "iris.csv")
    np.savez(tmp_path / "data.npz", X=np.zeros((3, 2)), y=np.zeros(3))
    (tmp_path / "bad.toml").write_text("hiden = [8]\n")
    return tmp_path


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_are_one_line_with_nonzero_exit(error_files, case):
    args, message = ERRORS[case]
    proc = xpnet(error_files, *args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"xpnet {args[0]}: error:")
    assert message in lines[0]
    assert not (error_files / "xpnet-runs").exists() or \
        not any((error_files / "xpnet-runs").iterdir())


def test_unknown_backend_from_the_environment(tmp_path):
    proc = xpnet(tmp_path, "train", "--epochs", "1", backend="fastest")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "unknown backend 'fastest'" in proc.stderr


def test_predict_with_the_wrong_columns(tmp_path):
    model = _model(tmp_path)
    np.savez(tmp_path / "two.npz", X=np.zeros((3, 2)))
    proc = xpnet(tmp_path, "predict", model, "two.npz")
    assert proc.returncode == 2 and "the model takes 4" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path):
    proc = xpnet(tmp_path, "--debug", "train", "--data", "nope.csv")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_info_with_an_unusable_xpnet_backend_exits_2_and_says_why():
    env = dict(os.environ, XPNET_BACKEND="foo")
    proc = subprocess.run([sys.executable, "-m", "xpnet", "info"], capture_output=True,
                          text=True, env=env, cwd=ROOT)
    assert proc.returncode == 2
    assert "XPNET_BACKEND=foo: NOT USABLE" in proc.stdout
    assert "XPNET_BACKEND='foo' cannot be used: unknown backend 'foo'" in proc.stderr
    assert proc.stdout.count("Install it with") <= 1  # the CuPy hint once, where cupy is listed


def test_gradcheck_says_failed_when_above_the_threshold():
    proc = subprocess.run([sys.executable, "-m", "xpnet", "gradcheck", "--threshold", "1e-12"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert "FAILED: above the threshold 1e-12" in proc.stdout and "great" not in proc.stdout
    ok = subprocess.run([sys.executable, "-m", "xpnet", "gradcheck", "--activation", "tanh"],
                        capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and "great, backpropagation matches" in ok.stdout
