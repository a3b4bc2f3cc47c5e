"""Random hyperparameter search: sampling scales, coarse-to-fine refinement, reproducibility,
and the ``xpnet tune`` command."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import numpy as np
import pytest

import xpnet
from xpnet.cli import main
from xpnet.network.data import train_dev_test_split
from xpnet.network.search import (MAX_GRID_TRIALS, Beta, Choice, Integer, Real, grid_search,
                                  random_search, sample_space)


def blobs(seed=0, m=90):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [3.0, 3.0], [0.0, 4.0]])
    y = rng.integers(0, 3, m)
    return centers[y] + rng.standard_normal((m, 2)), y


# --------------------------------------------------------------------------- sampling
def test_log_uniform_samples_each_decade_equally():
    rng = np.random.default_rng(0)
    dim = Real(1e-4, 1.0, log=True)
    values = np.array([dim.sample(rng) for _ in range(4000)])
    assert values.min() >= 1e-4 and values.max() <= 1.0
    per_decade = np.histogram(np.log10(values), bins=[-4, -3, -2, -1, 0])[0] / len(values)
    np.testing.assert_allclose(per_decade, 0.25, atol=0.03)
    linear = np.array([Real(1e-4, 1.0).sample(rng) for _ in range(4000)])
    assert np.mean(linear > 0.1) > 0.85  # the course's warning about uniform sampling


def test_beta_samples_one_minus_ten_to_the_r():
    rng = np.random.default_rng(1)
    values = np.array([Beta(0.9, 0.999).sample(rng) for _ in range(4000)])
    assert values.min() >= 0.9 and values.max() <= 0.999
    r = np.log10(1 - values)  # uniform in [-3, -1]
    assert np.mean(values < 0.99) == pytest.approx(0.5, abs=0.03)
    assert np.mean(r < -2.5) == pytest.approx(0.25, abs=0.03)


def test_integer_and_choice_samples():
    rng = np.random.default_rng(2)
    ints = [Integer(3, 6).sample(rng) for _ in range(400)]
    assert set(ints) == {3, 4, 5, 6} and all(isinstance(v, int) for v in ints)
    logs = [Integer(1, 1000, log=True).sample(rng) for _ in range(2000)]
    assert min(logs) >= 1 and max(logs) <= 1000 and np.mean(np.array(logs) < 32) > 0.4
    picks = [Choice(["a", (8, 4), 3]).sample(rng) for _ in range(300)]
    assert {"a", (8, 4), 3} == set(picks)


def test_sample_space_is_reproducible_and_accepts_plain_lists():
    space = {"lr": Real(1e-3, 1, log=True), "opt": ["adam", "gd"], "n": Integer(1, 9)}
    a = [sample_space(space, np.random.default_rng(5)) for _ in range(3)]
    b = [sample_space(space, np.random.default_rng(5)) for _ in range(3)]
    assert a == b
    assert set(a[0]) == {"lr", "opt", "n"}


@pytest.mark.parametrize("dim,best", [
    (Real(1e-4, 1.0, log=True), 3e-3), (Real(0.0, 10.0), 9.9), (Beta(0.8, 0.999), 0.95),
    (Integer(1, 100), 50), (Integer(2, 512, log=True), 2)])
def test_narrowing_shrinks_around_the_best_inside_the_range(dim, best):
    fine = dim.narrow(best, 0.25)
    assert dim.low <= fine.low <= best <= fine.high <= dim.high
    assert (fine.high - fine.low) < (dim.high - dim.low)
    rng = np.random.default_rng(0)
    assert all(fine.low <= fine.sample(rng) <= fine.high for _ in range(50))
    assert Choice([1, 2, 3]).narrow(2, 0.25).options == [2]


@pytest.mark.parametrize("make,error", [
    (lambda: Real(1.0, 0.5), ValueError), (lambda: Real(0.0, 1.0, log=True), ValueError),
    (lambda: Beta(0.9, 1.0), ValueError), (lambda: Integer(1.5, 3), TypeError),
    (lambda: Choice([]), ValueError), (lambda: Choice("abc"), TypeError),
    (lambda: Real("a", 1.0), TypeError)])
def test_bad_dimensions(make, error):
    with pytest.raises(error):
        make()


# ----------------------------------------------------------------------------- search
SPACE = {"learning_rate": Real(1e-3, 0.3, log=True), "hidden": Integer(2, 12),
         "beta1": Beta(0.8, 0.99), "batch_size": Choice([16, 32])}
BASE = dict(epochs=4, backend="numpy")


def search(seed, **kwargs):
    X, y = blobs()
    est = xpnet.NeuralNetwork(**BASE)
    return random_search(est, SPACE, X, y, n_trials=4, seed=seed, **kwargs)


def strip(trials):
    return [{k: v for k, v in t.items() if k != "fit_time"} for t in trials]


def test_search_is_reproducible_from_the_seed():
    a, b = search(3), search(3)
    assert strip(a) == strip(b)
    assert strip(search(4)) != strip(a)
    assert len(a) == 4 + 2  # coarse round + fine round (half as many)


def test_trials_are_sorted_by_dev_score_and_well_formed():
    trials = search(0)
    scores = [t["dev_score"] for t in trials]
    assert scores == sorted(scores, reverse=True)
    for t in trials:
        assert set(t) >= {"params", "dev_score", "train_score", "fit_time", "round", "trial"}
        assert set(t["params"]) == set(SPACE)
        assert 0.0 <= t["dev_score"] <= 1.0 and t["fit_time"] >= 0.0
        assert t["n_epochs"] == 4
    assert sorted(t["trial"] for t in trials) == list(range(6))


def test_the_fine_round_stays_around_the_best_coarse_trial():
    trials = search(1, refine_fraction=0.2)
    coarse = [t for t in trials if t["round"] == 1]
    fine = [t for t in trials if t["round"] == 2]
    best = max(coarse, key=lambda t: (t["dev_score"], t["train_score"], -t["trial"]))["params"]
    for t in fine:
        p = t["params"]
        assert p["batch_size"] == best["batch_size"]
        assert abs(math.log10(p["learning_rate"] / best["learning_rate"])) <= 0.2 * 2.5 + 1e-9
        assert abs(p["hidden"] - best["hidden"]) <= math.ceil(0.2 * 10) + 1
        assert abs(math.log10((1 - p["beta1"]) / (1 - best["beta1"]))) <= 0.2 * 1.31 + 1e-9


def test_scores_match_a_model_refit_with_the_best_params():
    X, y = blobs(1)
    X_dev, y_dev = blobs(2, m=40)
    trials = random_search(xpnet.NeuralNetwork(**BASE), SPACE, X, y, n_trials=3, seed=0,
                           dev=(X_dev, y_dev), refine=False)
    best = trials[0]
    model = xpnet.NeuralNetwork(**BASE, seed=0, **best["params"]).fit(X, y)
    assert model.score(X_dev, y_dev) == best["dev_score"]
    assert model.score(X, y) == best["train_score"]


def test_class_instance_and_factory_give_the_same_trials():
    X, y = blobs()
    space = {"learning_rate": Real(1e-3, 0.1, log=True)}
    kw = dict(n_trials=2, seed=0, refine=False)
    by_class = random_search(xpnet.NeuralNetwork, space, X, y, **kw)
    by_instance = random_search(xpnet.NeuralNetwork(), space, X, y, **kw)
    by_factory = random_search(lambda **p: xpnet.NeuralNetwork(seed=0, **p), space, X, y, **kw)
    assert strip(by_class) == strip(by_instance) == strip(by_factory)


def test_threads_do_not_change_the_results():
    assert strip(search(2, n_jobs=2)) == strip(search(2))


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_a_diverging_trial_is_recorded_and_ranked_last(rng):
    X = rng.standard_normal((64, 3))
    y = X @ np.array([1.0, 2.0, 3.0])
    space = {"learning_rate": Choice([1e-2, 1e4])}
    est = xpnet.NeuralNetworkRegressor(hidden=(8,), optimizer="gd", epochs=20, backend="numpy")
    trials = random_search(est, space, X, y, n_trials=6, seed=0, refine=False)
    assert trials[-1]["error"] is not None and "diverged" in trials[-1]["error"]
    assert trials[-1]["dev_score"] == -math.inf
    assert trials[0]["error"] is None


def test_callback_sees_every_trial():
    seen = []
    search(0, callback=seen.append)
    assert len(seen) == 6 and [t["round"] for t in seen] == [1, 1, 1, 1, 2, 2]


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(space={"learning_rat": Real(0.1, 1)}), ValueError, "learning_rat"),
    (dict(space={}), TypeError, "non-empty"),
    (dict(space={"hidden": (4, 8)}), TypeError, "Choice"),
    (dict(n_trials=0), ValueError, "n_trials"),
    (dict(n_trials=2.5), TypeError, "n_trials"),
    (dict(refine_fraction=0.0), ValueError, "refine_fraction"),
    (dict(dev=(1, 2, 3)), ValueError, "X_dev"),
    (dict(estimator=42), TypeError, "estimator"),
])
def test_search_errors(kwargs, error, message):
    X, y = blobs()
    args = dict(estimator=xpnet.NeuralNetwork, space={"learning_rate": Real(0.01, 0.1)},
                n_trials=1)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        random_search(X=X, y=y, **args)


# ------------------------------------------------------------------------ grid search
def two_blobs(seed=0, m=80):
    """Two overlapping classes, so that the hyperparameters change the dev accuracy."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, m)
    return np.array([[0.0, 0.0], [1.5, 1.5]])[y] + rng.standard_normal((m, 2)), y


GRID = {"eta": [1e-4, 3e-4, 1e-3], "solver": ["gd", "sgd"], "epochs": [2, 8]}


def test_grid_tries_every_combination_once_in_product_order():
    X, y = two_blobs()
    trials = grid_search(xpnet.Adaline, GRID, X, y, seed=0)
    assert len(trials) == 3 * 2 * 2
    seen = Counter(tuple(t["params"][k] for k in GRID) for t in trials)
    assert seen == Counter(itertools.product(*GRID.values()))
    in_order = sorted(trials, key=lambda t: t["trial"])
    assert [tuple(t["params"].values()) for t in in_order] == list(
        itertools.product(*GRID.values()))           # the last key varies fastest
    assert [t["trial"] for t in in_order] == list(range(12))
    assert all(t["round"] == 1 and t["error"] is None for t in trials)


def test_grid_scores_match_fitting_each_combination_by_hand():
    X, y = two_blobs()
    trials = grid_search(xpnet.Adaline(shuffle=True), GRID, X, y, seed=3, dev=0.25)
    split = train_dev_test_split(X, y, dev=0.25, test=0, seed=3)     # the same split
    for t in trials:
        model = xpnet.Adaline(seed=3, **t["params"]).fit(split.X_train, split.y_train)
        assert t["dev_score"] == model.score(split.X_dev, split.y_dev)
        assert t["train_score"] == model.score(split.X_train, split.y_train)
    keys = [(t["dev_score"], t["train_score"], -t["trial"]) for t in trials]
    assert keys == sorted(keys, reverse=True)
    assert trials[0]["dev_score"] == max(t["dev_score"] for t in trials)
    assert len({t["dev_score"] for t in trials}) > 1          # the grid does change the score


def test_a_grid_point_is_scored_as_random_search_scores_it():
    X, y = blobs()
    est = xpnet.NeuralNetwork(**BASE)
    grid = grid_search(est, {"learning_rate": [0.02]}, X, y, seed=1)
    rand = random_search(est, {"learning_rate": Choice([0.02])}, X, y, n_trials=1, seed=1,
                         refine=False)
    assert strip(grid) == strip(rand)


def test_a_list_of_grids_runs_each_sub_grid():
    X, y = two_blobs()
    grids = [{"solver": ["gd"], "eta": [1e-4, 1e-3]},
             {"solver": ["sgd"], "shuffle": [True, False], "eta": [1e-4]}]
    trials = sorted(grid_search(xpnet.Adaline, grids, X, y, seed=0), key=lambda t: t["trial"])
    assert [t["params"] for t in trials] == [
        {"solver": "gd", "eta": 1e-4}, {"solver": "gd", "eta": 1e-3},
        {"solver": "sgd", "shuffle": True, "eta": 1e-4},
        {"solver": "sgd", "shuffle": False, "eta": 1e-4}]


def test_grid_threads_callback_and_estimator_forms_agree():
    X, y = two_blobs()
    seen = []
    one = grid_search(xpnet.Adaline, GRID, X, y, seed=2, callback=seen.append)
    assert [t["trial"] for t in seen] == list(range(12))
    assert strip(grid_search(xpnet.Adaline, GRID, X, y, seed=2, n_jobs=3)) == strip(one)
    by_factory = grid_search(lambda **p: xpnet.Adaline(seed=2, **p), GRID, X, y, seed=2)
    assert strip(by_factory) == strip(one)


def test_a_diverging_grid_point_is_recorded_and_ranked_last():
    X, y = two_blobs()
    trials = grid_search(xpnet.Adaline, {"eta": [1e-4, 10.0], "epochs": [30]}, X * 100, y,
                         seed=0)
    assert trials[-1]["params"]["eta"] == 10.0 and "diverged" in trials[-1]["error"]
    assert trials[-1]["dev_score"] == -math.inf and trials[0]["error"] is None


def test_a_grid_spends_its_trials_on_few_values_of_each_hyperparameter():
    """The course's point: 9 grid points try 3 learning rates, 9 random points try 9."""
    X, y = two_blobs()
    grid = grid_search(xpnet.Adaline, {"eta": [1e-4, 1e-3, 1e-2], "epochs": [5, 10, 20]},
                       X, y, seed=0)
    rand = random_search(xpnet.Adaline, {"eta": Real(1e-4, 1e-2, log=True),
                                         "epochs": Integer(5, 20)}, X, y, n_trials=9, seed=0,
                         refine=False)
    assert len(grid) == len(rand) == 9
    assert len({t["params"]["eta"] for t in grid}) == 3
    assert len({t["params"]["eta"] for t in rand}) == 9


@pytest.mark.parametrize("grid,kwargs,error,message", [
    ({}, {}, ValueError, "grid is empty"),
    ([], {}, ValueError, "grid is empty"),
    ([{"eta": [0.1]}, {}], {}, ValueError, "grid is empty"),
    ({"eta": []}, {}, ValueError, r"grid\['eta'\] is an empty list"),
    ({"eta": 0.1}, {}, TypeError, r"grid\['eta'\] must be a list or tuple.*\[value\]"),
    ({"eta": "0.1"}, {}, TypeError, r"grid\['eta'\] must be a list or tuple"),
    ({"eta": Real(0.1, 1.0)}, {}, TypeError, "use random_search"),
    ({"eta": np.array([0.1, 0.2])}, {}, TypeError, r"tolist\(\)"),
    ({1: [0.1]}, {}, TypeError, "hyperparameter names"),
    (42, {}, TypeError, "grid must be a dict"),
    ([{"eta": [0.1]}, 3], {}, TypeError, "grid must be a dict"),
    ({"etaa": [0.1]}, {}, ValueError, "Adaline has no hyperparameter 'etaa'; valid: "),
    ([{"eta": [0.1]}, {"solvr": ["gd"]}], {}, ValueError, "no hyperparameter 'solvr'"),
    ({"eta": [0.1, 0.2], "epochs": [1, 2]}, dict(max_trials=3), ValueError,
     "grid has 4 combinations, more than max_trials=3; .*max_trials=4"),
    ({"eta": [0.1]}, dict(max_trials=0), ValueError, "max_trials must be >= 1"),
    ({"eta": [0.1]}, dict(max_trials=2.0), TypeError, "max_trials must be an int"),
    ({"eta": [0.1]}, dict(n_jobs=0), ValueError, "n_jobs must be >= 1"),
    ({"eta": [0.1]}, dict(dev=(1, 2, 3)), ValueError, "X_dev"),
])
def test_grid_search_errors(grid, kwargs, error, message):
    X, y = two_blobs()
    seen = []
    with pytest.raises(error, match=message):
        grid_search(xpnet.Adaline, grid, X, y, callback=seen.append, **kwargs)
    assert seen == []                                # nothing is fitted before the error


def test_a_huge_grid_needs_an_explicit_max_trials():
    X, y = two_blobs()
    huge = {"eta": [1e-4] * 101, "epochs": list(range(1, 101))}
    assert MAX_GRID_TRIALS == 10_000
    with pytest.raises(ValueError, match="10,100 combinations, more than max_trials=10,000"):
        grid_search(xpnet.Adaline, huge, X, y)
    small = {"eta": [1e-4, 1e-3], "epochs": [1, 2]}
    assert len(grid_search(xpnet.Adaline, small, X, y, max_trials=4)) == 4


def test_grid_search_is_exported():
    assert xpnet.network.grid_search is grid_search
    assert "grid_search" in xpnet.network.__all__


# -------------------------------------------------------------------------- xpnet tune
def test_tune_command_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "trials.json"
    rc = main(["tune", "--dataset", "iris", "--trials", "3", "--epochs", "3", "--seed", "0",
               "--backend", "numpy", "--json", str(out)])
    assert rc == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split()[:5] == ["rank", "trial", "round", "dev", "train"]
    assert "learning_rate" in lines[0]
    assert "test accuracy" in captured.out
    assert captured.err.count("round") >= 4  # one progress line per trial
    doc = json.loads(out.read_text())
    assert doc["dataset"] == "iris" and len(doc["trials"]) == 3 + 1
    dev = [t["dev_score"] for t in doc["trials"]]
    assert dev == sorted(dev, reverse=True)


def test_tune_command_is_reproducible(capsys):
    argv = ["tune", "--dataset", "moons", "--trials", "2", "--epochs", "2", "--no-refine",
            "--backend", "numpy"]
    main(argv)
    first = capsys.readouterr().out
    main(argv)
    second = capsys.readouterr().out

    def without_times(text):
        return [line.split()[:5] + line.split()[6:] for line in text.splitlines()]

    assert without_times(first) == without_times(second)


@pytest.mark.parametrize("argv,message", [
    (["tune", "--dataset", "mnist"], "unknown dataset"),
    (["tune", "--trials", "0"], "--trials"),
    (["tune", "--json", "/no/such/folder/t.json"], "does not exist"),
])
def test_tune_command_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
