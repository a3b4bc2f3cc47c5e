"""The command line's answers to a newcomer's stumbles (run in-process through ``cli.main``)."""

from __future__ import annotations

import os

import pytest

from xpnet import cli
from xpnet.commands import train

TINY = ["--dataset", "moons", "--n-samples", "60", "--epochs", "1", "--no-plots", "--quiet",
        "--backend", "numpy"]


def run(*args):
    return cli.main(["train", *map(str, args)])


def test_reusing_an_out_folder_needs_force_and_leaves_no_stale_files(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(*TINY, "--out", out) == 0
    (out / "decision_regions.png").write_bytes(b"stale")      # a plot the next run won't draw
    (out / "notes.txt").write_text("mine")                      # not a run file: kept
    assert run(*TINY, "--out", out) == 2
    assert "already holds a run (model.npz" in capsys.readouterr().err
    assert run(*TINY, "--out", out, "--force") == 0
    assert not (out / "decision_regions.png").exists() and (out / "notes.txt").exists()
    assert (out / "model.npz").is_file()
    assert "force" not in (out / "config.toml").read_text()


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
