"""Diagnostics a learner reads: per-layer gradient norms (``record_gradients``), the
bias/variance diagnosis of the course's "basic recipe", and both through ``xpnet train``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import xpnet
from xpnet import cli
from xpnet.backends import available_backends
from xpnet.network import backward, forward, initialize_parameters
from xpnet.report import REMEDIES, bias_variance, format_diagnosis, model_error

CPU = [b for b in available_backends() if b != "cupy"]


def _data(m=120, n=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    return X, (X[:, 0] - 0.5 * X[:, 1] > 0).astype(int)


# ---------------------------------------------------------------- record_gradients
@pytest.mark.parametrize("backend", CPU)
def test_the_recorded_norms_are_the_first_steps_gradient_norms(backend):
    """Full batch, one epoch: the recorded ``||dW[l]||_F`` are those of backprop at the
    initial parameters, computed here with the functional layer."""
    X, y = _data()
    model = xpnet.NeuralNetwork(hidden=(7, 5), epochs=1, batch_size=None, normalize=False,
                                record_gradients=True, seed=3, dtype="float64",
                                backend=backend).fit(X, y)
    arch = model.arch_
    params = initialize_parameters(arch, "he", seed=3, dtype="float64", backend="numpy")
    AL, caches = forward(X.T.copy(), params, arch, backend="numpy", training=True)
    grads = backward(y.reshape(1, -1).astype(float), caches, params, arch, backend="numpy")
    expected = [np.linalg.norm(grads[f"dW{l}"]) for l in range(1, arch.L + 1)]
    assert len(model.history_["grad_norm"]) == 1
    np.testing.assert_allclose(model.history_["grad_norm"][0], expected, rtol=1e-10)


def test_mini_batch_norms_are_the_mean_over_the_epochs_batches():
    X, y = _data(m=96)
    kw = dict(hidden=(6,), epochs=4, batch_size=32, record_gradients=True, seed=1,
              dtype="float64")
    runs = {b: xpnet.NeuralNetwork(backend=b, **kw).fit(X, y) for b in CPU}
    norms = np.asarray(runs["numpy"].history_["grad_norm"])
    assert norms.shape == (4, 2) and np.all(norms > 0)
    for b, model in runs.items():          # every backend records the same numbers
        np.testing.assert_allclose(model.history_["grad_norm"], norms, rtol=1e-9)
    # the mean of three per-batch norms: never above the largest, never below the smallest
    assert "grad_norm" not in xpnet.NeuralNetwork(**{**kw, "record_gradients": False},
                                                  backend="numpy").fit(X, y).history_


def test_recording_changes_nothing_it_records():
    X, y = _data()
    kw = dict(hidden=(8, 8), epochs=3, batch_size=16, seed=0, dtype="float64",
              backend="numpy")
    a = xpnet.NeuralNetwork(record_gradients=True, **kw).fit(X, y)
    b = xpnet.NeuralNetwork(**kw).fit(X, y)
    for k in a.parameters_:
        np.testing.assert_array_equal(a.parameters_[k], b.parameters_[k])


def test_deep_sigmoid_gradients_vanish_towards_the_input():
    """The course's vanishing gradients: with sigmoid and small weights the first layer's
    gradient is orders of magnitude below the last one's."""
    X, y = _data()
    model = xpnet.NeuralNetwork(hidden=(10,) * 6, activation="sigmoid", init="random",
                                epochs=1, batch_size=None, record_gradients=True, seed=0,
                                dtype="float64", backend="numpy").fit(X, y)
    first, *_, last = model.history_["grad_norm"][0]
    assert first < 1e-6 * last


def test_record_gradients_must_be_a_bool():
    X, y = _data()
    with pytest.raises(TypeError, match="record_gradients"):
        xpnet.NeuralNetwork(record_gradients="yes").fit(X, y)


# -------------------------------------------------------------------- bias/variance
@pytest.mark.parametrize("train, dev, verdict", [
    (0.01, 0.11, "high variance"), (0.15, 0.16, "high bias"),
    (0.15, 0.30, "high bias and high variance"), (0.005, 0.01, "neither")])
def test_the_seeds_four_cases(train, dev, verdict):
    d = bias_variance(train, dev)
    assert d["diagnosis"] == verdict and d["remedy"] == REMEDIES[verdict]
    assert d["avoidable_bias"] == pytest.approx(train) and d["variance"] == pytest.approx(
        dev - train)


def test_bayes_error_moves_the_bias():
    assert bias_variance(0.15, 0.16)["diagnosis"] == "high bias"
    assert bias_variance(0.15, 0.16, bayes_error=0.14)["diagnosis"] == "neither"


def test_a_gap_within_sampling_error_is_not_called_high():
    assert bias_variance(0.0, 1 / 30)["diagnosis"] == "high variance"
    assert bias_variance(0.0, 1 / 30, n_train=120, n_dev=30)["diagnosis"] == "neither"
    assert bias_variance(0.0, 0.10, n_train=5000, n_dev=5000)["diagnosis"] == "high variance"


def test_errors_and_their_text():
    with pytest.raises(ValueError, match="train_error must be a fraction"):
        bias_variance(5, 0.1)
    with pytest.raises(ValueError, match="bayes_error"):
        bias_variance(0.1, 0.2, bayes_error=float("nan"))
    with pytest.raises(ValueError, match="set sizes"):
        bias_variance(0.1, 0.2, n_train=0, n_dev=3)
    assert model_error({"accuracy": 0.9}) == pytest.approx(0.1)
    assert model_error({"r2": -3.0}) == 1.0
    line = format_diagnosis(bias_variance(0.01, 0.11), "dev")
    assert line.startswith("diagnosis: high variance (avoidable bias 1.0 points, variance "
                           "10.0 points") and "regularization" in line
    assert "neither high bias nor high variance" in format_diagnosis(bias_variance(0, 0))


# ---------------------------------------------------------------------------- CLI
TINY = ["train", "--dataset", "moons", "--n-samples", "80", "--epochs", "3", "--quiet",
        "--backend", "numpy"]


def test_train_reports_the_diagnosis_and_records_gradients(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main([*TINY, "--record-gradients", "--bayes-error", "0.05", "--out",
                     str(out)]) == 0
    printed = capsys.readouterr().out
    assert "diagnosis: " in printed
    metrics = json.loads((out / "metrics.json").read_text())
    bv = metrics["bias_variance"]
    train_acc = metrics["metrics"]["train"]["accuracy"]
    assert bv["bayes_error"] == 0.05 and bv["compared_with"] == "dev"
    assert bv["avoidable_bias"] == pytest.approx(1 - train_acc - 0.05)
    history = json.loads((out / "history.json").read_text())
    model = xpnet.load(out / "model.npz")
    assert model.get_params()["record_gradients"] is True
    assert len(history["grad_norm"]) == 3 and len(history["grad_norm"][0]) == model.arch_.L
    pytest.importorskip("matplotlib")
    assert (out / "gradient_norms.png").read_bytes().startswith(b"\x89PNG")


def test_train_without_the_flag_records_nothing(tmp_path):
    out = tmp_path / "run"
    assert cli.main([*TINY, "--no-plots", "--out", str(out)]) == 0
    assert "grad_norm" not in json.loads((out / "history.json").read_text())
    assert xpnet.load(out / "model.npz").get_params()["record_gradients"] is False


def test_activation_spread_is_each_layers_std_at_the_epochs_end():
    X, y = _data()
    model = xpnet.NeuralNetwork(hidden=(7, 5), epochs=2, batch_size=None, normalize=False,
                                record_gradients=True, seed=3, dtype="float64",
                                backend="numpy").fit(X, y)
    _, caches = forward(X.T.copy(), model._params, model.arch_, backend="numpy")
    expected = [float(np.std(c["A"])) for c in caches]
    assert len(model.history_["activation_std"]) == 2
    np.testing.assert_allclose(model.history_["activation_std"][-1], expected, rtol=1e-9)


def test_sigmoid_activations_saturate_in_the_spread():
    """Large initial weights push sigmoid units to 0 or 1: their spread is near its maximum
    0.5, while small ones keep it near 0 (the course's saturation picture)."""
    X, y = _data()
    spreads = {}
    for init in ("random", "large"):
        model = xpnet.NeuralNetwork(hidden=(10, 10), activation="sigmoid", init=init,
                                    epochs=1, learning_rate=1e-9, optimizer="gd",
                                    record_gradients=True, seed=0, dtype="float64",
                                    backend="numpy").fit(X, y)
        spreads[init] = model.history_["activation_std"][0][1]
    assert spreads["random"] < 0.05 < 0.4 < spreads["large"]
