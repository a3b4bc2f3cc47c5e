"""Smoke test of examples/: every script runs (``--quick``), writes its PNGs and prints its
numbers, the course's where the seeds print them.

Each script runs as a user runs it: ``python examples/<name>.py --quick --out <tmp>`` in a fresh
interpreter, on the numpy backend, with the Agg matplotlib backend. The PNG checks skip where
matplotlib is not installed (the scripts still print their numbers then).
"""

from __future__ import annotations

import ast
import glob
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

EXAMPLES = os.path.join(ROOT, "examples")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: script -> (the PNGs it writes, what its output must contain: plain strings or regexes)
SCRIPTS = {
    "01_perceptron_adaline.py": (
        ["perceptron_errors.png", "perceptron_regions.png", "adaline_learning_rates.png",
         "adaline_standardized_costs.png", "adaline_gd_regions.png",
         "linear_units_regions.png"],
        ["ppn.errors_ = [2, 2, 3, 2, 1, 0, 0, 0, 0, 0]",
         re.compile(r"weights w_ \(bias first\)\s+\[-0\.4, -0\.68, 1\.82\]\s+"
                    r"\[-0\.4, -0\.68, 1\.82\]"),
         re.compile(r"converges after epoch\s+6\s+6"),
         "15 x partial_fit == fit(epochs=15) with sgd: True"]),
    "02_logistic_vectorization.py": (
        ["logistic_costs.png"],
        ["Vectorized version:", "For loop:", "(same cost_ both ways)",
         re.compile(r"max \|cost_ loops - cost_ vectorized\| = \d\.\de-1[4-9]"),
         "dw = [0.99845601", "2.39507238", "db = 0.0014555781", "cost = 5.8015453194",
         "train accuracy: 100.0 %"]),
    "03_planar_hidden_sizes.py": (
        ["planar_logistic.png", "planar_hidden_sizes.png"],
        [re.compile(r"logistic regression\s+-\s+0\.4[0-9]{2}"),
         re.compile(r"hidden size 1\s+5\s+0\.6"), re.compile(r"hidden size 4\s+17\s+0\.8"),
         "hidden size 50"]),
    "04_initialization.py": (
        ["initialization_costs.png", "initialization_regions.png"],
        [re.compile(r"zeros\s+0\s+0\.6931\s+0\.6931\s+0\.500\s+0\.500"),
         re.compile(r"large\s+N\(0, 1\) \* 10\s+6372"),
         re.compile(r"he\s+N\(0, 1\) \* sqrt\(2 / n\[l-1\]\)\s+2\.029\s+\S+\s+0\.9")]),
    "05_regularization.py": (
        ["regularization_dev_cost.png", "regularization_regions.png"],
        ["no regularization", "L2, lambda 0.5", "dropout, keep_prob 0.8"]),
    "06_gradient_check.py": (
        ["gradient_check.png"],
        [re.compile(r"dJ/dtheta = x \(right\)\s+2\.919e-10\s+fine"),
         "Your backward propagation works perfectly fine!",
         "There is a mistake in the backward propagation!",
         re.compile(r"relu \+ batch norm\s+sigmoid\s+\d\.\d+e-(0[89]|1\d)\s+fine")]),
    "07_optimizers.py": (
        ["optimizers_costs.png", "optimizers_regions.png"],
        [re.compile(r"^gd\s", re.M), re.compile(r"^momentum\s", re.M),
         re.compile(r"^adam\s", re.M)]),
    "08_lr_decay_and_ewa.py": (
        ["lr_schedules.png", "lr_decay_history.png", "ewa_temperatures.png"],
        ["0.95 ** 10 * 0.1 = 0.059874; xpnet exponential at epoch 10: 0.059874",
         re.compile(r"schedule_lr_decay\(0\.1, e, 1, 1000\)\s+0\.1\s+0\.1\s+0\.05"),
         re.compile(r"^ 0\.9\s+10\s", re.M), re.compile(r"^0\.98\s+50\s", re.M)]),
    "09_batch_norm.py": (
        ["batch_norm_costs.png"],
        [re.compile(r"sigmoid\s+no\s"), re.compile(r"sigmoid\s+yes\s")]),
    "10_random_vs_grid_search.py": (
        ["search_points.png"],
        [re.compile(r"uniform Real\(1e-4, 1\)\s+0\.\d%\s+0\.\d%\s+9\.\d%\s+89\.\d%"),
         re.compile(r"grid search\s+4\s+2\s+2\s"), re.compile(r"random, round 1\s+4\s+4\s+4\s"),
         "learning rates tried by grid: 0.001, 0.1"]),
    "11_vanishing_gradients.py": (
        ["power_of_L.png", "grad_norms_sigmoid_xavier.png", "grad_norms_relu_random.png",
         "grad_norms_relu_he.png"],
        [re.compile(r"^50\s+6\.37622e\+08\s+6\.37622e\+08\s+8\.88178e-16\s+8\.88178e-16", re.M),
         re.compile(r"25\s+2\.525e\+04\s+2\.98e-08\s+50\s+6\.376e\+08\s+8\.882e-16"),
         re.compile(r"relu\s+large\s.*diverged")]),
    "12_computation_graph.py": (
        ["graph_J.png", "graph_logistic.png"],
        ["J = 33   (u = 6, v = 11)",
         re.compile(r"^a\s+5\s+3\s+3$", re.M), re.compile(r"^b\s+3\s+6\s+6$", re.M),
         re.compile(r"^c\s+2\s+9\s+9$", re.M), "33.003", "4.004001",
         "dJ/dx = 4 (4), dJ/dy = 12 (4z = 12), dJ/dz = 8 (4y = 8)"]),
    "13_data_augmentation.py": (
        ["augmented_digits.png"],
        [re.compile(r"copies=4, shift=1\s+750\s+20\s+15000\s+0\.\d{3}")]),
}


def test_every_script_is_smoke_tested():
    on_disk = {os.path.basename(p) for p in glob.glob(os.path.join(EXAMPLES, "[0-9]*.py"))}
    assert on_disk == set(SCRIPTS)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_a_script_has_the_shape_the_gallery_expects(script):
    with open(os.path.join(EXAMPLES, script), encoding="utf-8") as f:
        source = f.read()
    tree = ast.parse(source)
    doc = ast.get_docstring(tree)
    assert doc and f"python examples/{script}" in doc, "the docstring gives the command"
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert mains and [a.arg for a in mains[0].args.args] == ["argv"]
    assert 'if __name__ == "__main__":' in source
    assert "pyplot" not in source
    assert max(len(line) for line in source.splitlines()) <= 100


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_a_script_runs_quick_and_prints_its_numbers(script, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, XPNET_BACKEND="numpy", MPLBACKEND="Agg",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), "--quick",
                           "--out", str(out)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stderr[-3000:]}"
    pngs, expected = SCRIPTS[script]
    for item in expected:
        if isinstance(item, str):
            assert item in proc.stdout, f"{script} does not print {item!r}:\n{proc.stdout}"
        else:
            assert item.search(proc.stdout), \
                f"{script} does not print /{item.pattern}/:\n{proc.stdout}"
    assert out.is_dir(), "--out is created"
    pytest.importorskip("matplotlib", reason="the PNGs need matplotlib")
    for name in pngs:
        path = out / name
        assert path.is_file(), f"{script} did not write {name}"
        with open(path, "rb") as f:
            assert f.read(8) == PNG_SIGNATURE, f"{name} is not a PNG"
        assert path.stat().st_size > 1000
        assert f"wrote {path}" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(pngs), "no stray files"
