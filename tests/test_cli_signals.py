"""``xpnet train`` stopped by Ctrl-C (SIGINT) or SIGTERM at any point leaves no run folder,
empty or half-written, and keeps an earlier run of a reused ``--out`` folder intact.

Mid-training: ``python -m xpnet train`` in a subprocess gets the signal once it has printed
its first progress line. Mid-save: a small script runs ``xpnet.cli.main`` with the model's
file writer patched to send its own process the signal half-way through a file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from xpnet import cli
from xpnet.commands._common import StagedFolder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Long enough to be mid-training whenever the signal comes; the first line is epoch 1.
LONG = ["train", "--dataset", "moons", "--n-samples", "400", "--epochs", "1000000",
        "--no-plots", "--backend", "numpy"]
TINY = ["train", "--dataset", "moons", "--n-samples", "60", "--epochs", "1", "--no-plots",
        "--quiet", "--backend", "numpy"]
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def environ():
    env = {k: v for k, v in os.environ.items() if k != "XPNET_BACKEND"}
    env["PYTHONPATH"] = ROOT
    return env


def leftovers(folder):
    """Every path under ``folder`` (partial folders are hidden: listed too)."""
    found = []
    for top, dirs, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(top, n), folder) for n in dirs + files]
    return sorted(found)


def interrupt_mid_training(cwd, signum, *args):
    """Run ``xpnet train ARGS`` and send ``signum`` after its first progress line; returns
    ``(exit code, stderr)``."""
    proc = subprocess.Popen([sys.executable, "-m", "xpnet", *LONG, *map(str, args)], cwd=cwd,
                            env=environ(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("epoch "):
                break
        assert seen and seen[-1].startswith("epoch "), "".join(seen)
        proc.send_signal(signum)
        _, rest = proc.communicate()
    finally:
        watchdog.cancel()
    return proc.returncode, "".join(seen) + rest


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_signal_mid_training_leaves_no_run_folder(tmp_path, signum):
    code, err = interrupt_mid_training(tmp_path, signum)
    assert code == CODES[signum], err
    last = err.strip().splitlines()[-1]
    assert last.startswith("xpnet train: interrupted during training, in epoch "), err
    assert last.endswith("of 1000000; nothing was saved") and "Traceback" not in err
    assert leftovers(tmp_path) == []           # not even the xpnet-runs/ it would have made


def test_a_signal_mid_training_leaves_no_out_folder_or_its_parents(tmp_path):
    code, err = interrupt_mid_training(tmp_path, signal.SIGTERM, "--out", "runs/a/b")
    assert code == 143, err
    assert leftovers(tmp_path) == []


def test_a_signal_mid_training_keeps_the_earlier_run_of_a_reused_folder(tmp_path):
    out = tmp_path / "run"
    assert cli.main([*TINY, "--out", str(out)]) == 0
    (out / "notes.txt").write_text("mine")
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    code, err = interrupt_mid_training(tmp_path, signal.SIGINT, "--out", out, "--force")
    assert code == 130, err
    assert f"nothing was saved ({out} keeps its earlier run)" in err
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before


# ------------------------------------------------------------------------- during the save
SCRIPT = """
import os, signal, sys
import numpy as np
from xpnet import cli
from xpnet.commands import _common

signum, where = signal.{signal}, {where!r}
real_savez, real_dumps = np.savez_compressed, _common.dumps_json

def half_then_signal(data):
    data = data.encode() if isinstance(data, str) else data
    return data[:len(data) // 2]

def savez(f, **arrays):           # half of model.npz written, then the signal
    import io
    buffer = io.BytesIO()
    real_savez(buffer, **arrays)
    f.write(half_then_signal(buffer.getvalue()))
    f.flush()
    if where == "model.npz":
        os.kill(os.getpid(), signum)
    f.write(buffer.getvalue()[len(buffer.getvalue()) // 2:])

def dumps(value, level=0):        # model.npz complete, the signal while the JSON is written
    if where == "history.json" and level == 0 and "epoch" in value:
        os.kill(os.getpid(), signum)
    return real_dumps(value, level)

np.savez_compressed = savez
_common.dumps_json = dumps
sys.exit(cli.main(sys.argv[1:]))
"""


def interrupt_mid_save(cwd, signum, where, *args):
    script = cwd / "interrupt.py"
    script.write_text(textwrap.dedent(SCRIPT.format(signal=signum.name, where=where)))
    proc = subprocess.run([sys.executable, str(script), *TINY, *map(str, args)], cwd=cwd,
                          env=environ(), capture_output=True, text=True, timeout=120)
    script.unlink()
    return proc


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
@pytest.mark.parametrize("where", ["model.npz", "history.json"])
def test_a_signal_while_saving_leaves_no_run_folder(tmp_path, signum, where):
    proc = interrupt_mid_save(tmp_path, signum, where)
    assert proc.returncode == CODES[signum], proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "xpnet train: interrupted while saving the run; nothing was saved"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["model.npz", "history.json"])
def test_a_signal_while_saving_over_an_earlier_run_keeps_it(tmp_path, where):
    out = tmp_path / "run"
    assert cli.main([*TINY, "--out", str(out), "--seed", "1"]) == 0
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    proc = interrupt_mid_save(tmp_path, signal.SIGTERM, where, "--out", out, "--force")
    assert proc.returncode == 143, proc.stderr
    assert "keeps its earlier run" in proc.stderr
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before


def test_the_patched_save_completes_without_a_signal(tmp_path):
    """The mid-save script's patches write a whole, loadable run when no signal comes."""
    proc = interrupt_mid_save(tmp_path, signal.SIGTERM, "nowhere", "--out", "run")
    assert proc.returncode == 0, proc.stderr
    import xpnet
    assert xpnet.load(tmp_path / "run" / "model.npz").n_features_in_ == 2
    assert sorted(os.listdir(tmp_path)) == ["run"]


# ------------------------------------------------------------------------------ in-process
def test_a_signal_while_the_folder_moves_into_place_waits_for_it(tmp_path, monkeypatch):
    real_rename = os.rename

    def rename(src, dst):
        os.kill(os.getpid(), signal.SIGINT)    # held until the rename is done
        real_rename(src, dst)

    with pytest.raises(KeyboardInterrupt, match=r"^interrupted; the run was saved in .*new$"):
        with StagedFolder([tmp_path / "new"]) as stage:
            with open(os.path.join(stage.path, "model.npz"), "w") as fh:
                fh.write("whole")
            monkeypatch.setattr(os, "rename", rename)
            stage.commit()
    monkeypatch.undo()
    assert (tmp_path / "new" / "model.npz").read_text() == "whole"
    assert os.listdir(tmp_path) == ["new"]


def test_an_error_removes_the_staged_folder_and_the_parents_it_made(tmp_path):
    with pytest.raises(ValueError, match="boom"):
        with StagedFolder([tmp_path / "a" / "b" / "run"]) as stage:
            assert os.path.basename(stage.path).startswith(f".run.partial-{os.getpid()}-")
            open(os.path.join(stage.path, "model.npz"), "w").close()
            raise ValueError("boom")
    assert leftovers(tmp_path) == []


def test_a_taken_name_moves_the_run_to_the_next_one(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "other").write_text("")
    with StagedFolder([tmp_path / "run", tmp_path / "run-2"]) as stage:
        final = stage.commit()
    assert final == str(tmp_path / "run-2") and os.path.isdir(final)
    assert sorted(os.listdir(tmp_path)) == ["run", "run-2"]


def test_a_deferred_signal_is_delivered_after_the_block_or_dropped():
    with pytest.raises(KeyboardInterrupt):
        with cli.deferred_signals():
            os.kill(os.getpid(), signal.SIGINT)
            done = True
    assert done
    with cli.deferred_signals(deliver=False):
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_raises_terminated_only_while_a_command_runs(monkeypatch, capsys):
    seen = []

    def run(args):
        seen.append(signal.getsignal(signal.SIGTERM))
        os.kill(os.getpid(), signal.SIGTERM)
        return 0

    monkeypatch.setattr(cli, "build_parser", _parser_running(run))
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert cli.main(["train"]) == 143
    assert seen and seen[0] is not signal.SIG_DFL
    assert capsys.readouterr().err == "xpnet train: interrupted\n"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def _parser_running(run):
    def build():
        parser = cli._Parser(prog="xpnet")
        sub = parser.add_subparsers(dest="command")
        sub.add_parser("train").set_defaults(_run=run)
        return parser
    return build
