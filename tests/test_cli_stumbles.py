"""The command line's answers to a newcomer's stumbles (run in-process through ``cli.main``)."""

from __future__ import annotations

import os

import pytest

from xpnet import cli
from xpnet.commands import _common, train

TINY = ["--dataset", "moons", "--n-samples", "60", "--epochs", "1", "--no-plots", "--quiet",
        "--backend", "numpy"]


def run(*args):
    return cli.main(["train", *map(str, args)])


@pytest.fixture(params=["swap", "file-by-file"])
def reuse(request, monkeypatch):
    """How a reused --out folder is updated: swapped whole, or (a file system that cannot
    swap folders) file by file."""
    if request.param == "file-by-file":
        monkeypatch.setattr(_common, "can_exchange", lambda folder: False)
    elif not _common.can_exchange(os.getcwd()):
        pytest.skip("this file system cannot swap folders")
    return request.param


def test_reusing_an_out_folder_needs_force_and_leaves_no_stale_files(tmp_path, capsys, reuse):
    out = tmp_path / "run"
    assert run(*TINY, "--out", out) == 0
    (out / "decision_regions.png").write_bytes(b"stale")      # a plot the next run won't draw
    (out / "notes.txt").write_text("mine")                      # not a run file: kept
    (out / "mine").mkdir()
    (out / "mine" / "a.txt").write_text("also mine")
    os.symlink("notes.txt", out / "link")
    os.chmod(out, 0o750)
    assert run(*TINY, "--out", out) == 2
    assert "already holds a run (model.npz" in capsys.readouterr().err
    assert run(*TINY, "--out", out, "--force") == 0
    assert not (out / "decision_regions.png").exists() and (out / "notes.txt").exists()
    assert (out / "mine" / "a.txt").read_text() == "also mine"
    assert os.readlink(out / "link") == "notes.txt"
    assert (out / "model.npz").is_file()
    assert "force" not in (out / "config.toml").read_text()
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o750)
    assert sorted(os.listdir(tmp_path)) == ["run"]                  # no partial folder left
    assert not [n for n in os.listdir(out) if n.startswith(".")]


def test_a_reused_out_folder_behind_a_symlink_stays_behind_it(tmp_path, reuse):
    real = tmp_path / "disk" / "run"
    assert run(*TINY, "--out", real) == 0
    os.symlink(real, tmp_path / "run")
    before = (real / "model.npz").read_bytes()
    assert run(*TINY, "--out", tmp_path / "run", "--force", "--seed", "5") == 0
    assert os.path.islink(tmp_path / "run") and (real / "model.npz").read_bytes() != before
    assert sorted(os.listdir(tmp_path / "disk")) == ["run"]


def test_dataset_and_data_together_are_refused(tmp_path, capsys):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    assert run("--dataset", "iris", "--data", csv, "--out", tmp_path / "r", "--quiet") == 2
    assert "--dataset iris and --data" in capsys.readouterr().err
    assert run("--data", csv, "--epochs", "1", "--out", tmp_path / "r", "--quiet",
               "--no-plots", "--backend", "numpy") == 0


def test_a_long_loops_run_is_announced_with_its_estimate(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train, "LONG_RUN_S", 0.0)
    args = [a for a in TINY if a != "--quiet"]
    args[args.index("numpy")] = "loops"
    assert run(*args, "--out", tmp_path / "r") == 0
    err = capsys.readouterr().err
    assert "loops: this run will take about" in err and "--backend numpy" in err


def test_the_numba_kernels_are_prepared_before_the_first_epoch(tmp_path, capsys):
    pytest.importorskip("numba")
    args = [a for a in TINY if a != "--quiet"]
    args[args.index("numpy")] = "numba"
    assert run(*args, "--out", tmp_path / "r") == 0
    err = capsys.readouterr().err
    assert err.index("numba: preparing the compiled kernels") < err.index("epoch")
    assert "kernel_preparation_seconds" in (tmp_path / "r" / "metrics.json").read_text()
    assert os.path.exists(tmp_path / "r" / "model.npz")


def test_tune_reads_a_data_file_like_train(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    rows = "".join(f"{a},{b},{c},{v}\n" for (a, b, c), v in zip(X, X @ [1.0, -2.0, 0.5]))
    (tmp_path / "reg.csv").write_text("a,b,c,price\n" + rows)
    assert cli.main(["tune", "--data", str(tmp_path / "reg.csv"), "--target", "price",
                     "--trials", "2", "--no-refine", "--epochs", "2", "--backend",
                     "numpy"]) == 0
    out = capsys.readouterr()
    assert "dev R^2" in out.out and "reg.csv" in out.err
    assert cli.main(["tune", "--data", str(tmp_path / "reg.csv"), "--dataset", "iris"]) == 2
    assert "both name the data" in capsys.readouterr().err


@pytest.mark.parametrize("dataset", ["digits", "iris", "planar", "moons", "spirals", "blobs"])
def test_every_bundled_dataset_trains_well_with_the_defaults(dataset, tmp_path):
    """``xpnet train --dataset NAME`` with nothing else: the defaults suit digits, and the
    other datasets' presets (named in the report) make each of them learn too."""
    import json

    assert cli.main(["train", "--dataset", dataset, "--quiet", "--no-plots", "--backend",
                     "numpy", "--out", str(tmp_path / "r")]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["metrics"]["test"]["accuracy"] >= 0.9
    report = (tmp_path / "r" / "report.txt").read_text()
    assert ("preset:" in report) == (dataset in train.PRESETS)
    assert metrics["preset"] == {k: list(v) if isinstance(v, tuple) else v
                                 for k, v in train.PRESETS.get(dataset, {}).items()}


def test_flags_and_config_override_a_preset(tmp_path):
    import json

    (tmp_path / "c.toml").write_text("learning_rate = 0.005\n")
    assert cli.main(["train", "--dataset", "moons", "--epochs", "3", "--config",
                     str(tmp_path / "c.toml"), "--quiet", "--no-plots", "--backend", "numpy",
                     "--out", str(tmp_path / "r")]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["preset"] == {"hidden": [32, 32]}
    assert "learning_rate = 0.005" in (tmp_path / "r" / "config.toml").read_text()
