"""Learning-rate decay schedules against their formulas, and the exponentially weighted average."""

from __future__ import annotations

import math

import numpy as np
import pytest

import xpnet
from xpnet.network import schedules
from xpnet import NeuralNetwork
from xpnet.network.schedules import exponentially_weighted_average, make_schedule

EPOCHS = range(0, 25)


@pytest.mark.parametrize("spec,formula", [
    ({"kind": "inverse_time", "decay_rate": 0.5}, lambda e: 0.2 / (1 + 0.5 * e)),
    ("inverse_time", lambda e: 0.2 / (1 + 1.0 * e)),
    ({"kind": "exponential", "base": 0.95}, lambda e: 0.95 ** e * 0.2),
    ({"kind": "exponential", "base": 0.5}, lambda e: 0.5 ** e * 0.2),
    ({"kind": "inverse_sqrt", "k": 2.0}, lambda e: 2.0 / math.sqrt(e + 1) * 0.2),
    ({"kind": "staircase", "factor": 0.1, "step": 4}, lambda e: 0.2 * 0.1 ** (e // 4)),
    ("staircase", lambda e: 0.2 * 0.5 ** (e // 10)),
    (None, lambda e: 0.2),
    (lambda e: 1.0 / (e + 2), lambda e: 0.2 / (e + 2)),
])
def test_every_schedule_matches_its_formula(spec, formula):
    schedule = make_schedule(spec, 0.2)
    for epoch in EPOCHS:
        assert schedule(epoch) == pytest.approx(formula(epoch), rel=1e-12)


def test_staircase_is_constant_inside_a_step_and_drops_at_its_edge():
    schedule = make_schedule({"kind": "staircase", "factor": 0.5, "step": 3}, 1.0)
    assert [schedule(e) for e in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_decays_are_monotone_and_start_at_lr0():
    for kind in schedules.SCHEDULES:
        schedule = make_schedule(kind, 0.3)
        values = [schedule(e) for e in EPOCHS]
        assert values[0] == pytest.approx(0.3)
        assert all(b <= a for a, b in zip(values, values[1:]))
        assert values[-1] < values[0]


@pytest.mark.parametrize("spec,error,message", [
    ("cosine", ValueError, "inverse_time"),
    ({"kind": "exponential", "rate": 0.9}, ValueError, "base"),
    ({"decay_rate": 1.0}, TypeError, "kind"),
    (0.95, TypeError, "lr_decay"),
])
def test_bad_specs_are_explained(spec, error, message):
    with pytest.raises(error, match=message):
        make_schedule(spec, 0.1)


def test_the_estimator_follows_the_schedule(rng):
    X = rng.standard_normal((32, 2))
    y = (X[:, 0] > 0).astype(int)
    model = xpnet.NeuralNetwork(hidden=(3,), epochs=6, learning_rate=0.05, optimizer="gd",
                                lr_decay={"kind": "inverse_time", "decay_rate": 2.0}, seed=0,
                                backend="numpy").fit(X, y)
    np.testing.assert_allclose(model.history_["lr"], [0.05 / (1 + 2.0 * e) for e in range(6)],
                               rtol=1e-12)


def test_a_decayed_rate_changes_training(rng):
    X = rng.standard_normal((32, 2))
    y = (X[:, 0] > 0).astype(int)
    kw = dict(hidden=(3,), epochs=4, learning_rate=0.05, optimizer="gd", seed=0, backend="numpy")
    plain = xpnet.NeuralNetwork(**kw).fit(X, y).history_["cost"]
    decayed = xpnet.NeuralNetwork(lr_decay="exponential", **kw).fit(X, y).history_["cost"]
    assert plain[0] == decayed[0]          # epoch 0 runs at lr0 in both
    assert plain[-1] != decayed[-1]


# ------------------------------------------------------------ exponentially weighted average
TEMPERATURES = [4.0, 9.0, 6.0, 5.0, 12.0, 8.0, 10.0, 15.0, 13.0, 11.0, 17.0, 14.0]


def test_ewa_matches_the_recursion():
    beta = 0.9
    v, plain, corrected = 0.0, [], []
    for t, theta in enumerate(TEMPERATURES, start=1):
        v = beta * v + (1 - beta) * theta
        plain.append(v)
        corrected.append(v / (1 - beta ** t))
    np.testing.assert_allclose(exponentially_weighted_average(TEMPERATURES, 0.9, False), plain,
                               rtol=1e-12)
    np.testing.assert_allclose(exponentially_weighted_average(TEMPERATURES, 0.9), corrected,
                               rtol=1e-12)


def test_bias_correction_removes_the_start_up_bias():
    """Without correction the first averages sit near 0; with it a constant series is exact."""
    plain = exponentially_weighted_average([20.0] * 5, beta=0.98, bias_correction=False)
    assert plain[0] == pytest.approx(0.4)
    corrected = exponentially_weighted_average([20.0] * 5, beta=0.98)
    np.testing.assert_allclose(corrected, 20.0, rtol=1e-12)
    assert exponentially_weighted_average(TEMPERATURES)[0] == pytest.approx(TEMPERATURES[0])


def test_larger_beta_is_smoother():
    noisy = np.random.default_rng(0).standard_normal(200) + 10
    rough = np.diff(exponentially_weighted_average(noisy, beta=0.5))
    smooth = np.diff(exponentially_weighted_average(noisy, beta=0.98))
    assert np.std(smooth[20:]) < np.std(rough[20:])


@pytest.mark.parametrize("beta", [-0.1, 1.0, 1.5])
def test_ewa_rejects_bad_beta(beta):
    with pytest.raises(ValueError, match="beta"):
        exponentially_weighted_average([1.0], beta=beta)


# ------------------------------------------------------------- every rate checked
@pytest.mark.parametrize("spec, words", [
    ({"kind": "exponential", "base": -1}, "base must be a finite number > 0"),
    ({"kind": "exponential", "base": float("nan")}, "base must be"),
    ({"kind": "inverse_time", "decay_rate": -1}, "decay_rate must be a finite number >= 0"),
    ({"kind": "inverse_time", "time_interval": 0}, "time_interval must be an integer >= 1"),
    ({"kind": "inverse_time", "time_interval": 2.5}, "time_interval must be an integer"),
    ({"kind": "staircase", "step": 0}, "step must be an integer >= 1"),
    ({"kind": "staircase", "factor": 0}, "factor must be a finite number > 0"),
    ({"kind": "inverse_sqrt", "k": -2}, "k must be a finite number > 0"),
    ({"kind": "staircase", "step": True}, "step must be an integer"),
])
def test_schedule_parameters_are_checked_before_training(spec, words):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, 30)
    with pytest.raises(ValueError, match=words):
        make_schedule(spec, 0.1)
    model = NeuralNetwork(epochs=2, lr_decay=spec, backend="numpy")
    with pytest.raises(ValueError, match=words):
        model.fit(X, y)
    assert not hasattr(model, "history_")          # refused before any epoch ran


@pytest.mark.parametrize("multiplier, error", [(-1, ValueError), (0, ValueError),
                                               (float("inf"), ValueError), ("x", TypeError)])
def test_a_callables_multiplier_is_checked_at_every_epoch(multiplier, error):
    sched = make_schedule(lambda e: 1.0 if e < 2 else multiplier, 0.1)
    assert sched(0) == sched(1) == 0.1
    with pytest.raises(error, match="at epoch 2"):
        sched(2)


def test_a_rate_that_overflows_is_refused_at_its_epoch():
    sched = make_schedule({"kind": "exponential", "base": 1e10}, 1.0)
    assert sched(3) == 1e30
    with pytest.raises(ValueError, match="at epoch 40"):
        sched(40)


def test_cli_schedule_errors_are_one_line_exit_2(capsys):
    from xpnet import cli
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--lr-decay", "staircase:step=0", "--epochs", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "step must be an integer >= 1" in err[0]


def test_the_command_lines_schedule_text_works_in_python_too():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    model = NeuralNetwork(epochs=3, learning_rate=0.1, lr_decay="exponential:base=0.5",
                          backend="numpy").fit(X, y)
    np.testing.assert_allclose(model.history_["lr"], [0.1, 0.05, 0.025])
    with pytest.raises(ValueError, match="base must be"):
        NeuralNetwork(lr_decay="exponential:base=-2", backend="numpy").fit(X, y)
    with pytest.raises(ValueError, match="key=value"):
        make_schedule("staircase:step", 0.1)
