"""xpnet.plots: every figure is written as a whole PNG, draws what the course draws, checks its
inputs (with or without matplotlib) and returns None without matplotlib."""

from __future__ import annotations

import os

import numpy as np
import pytest

import xpnet
from xpnet import NotFittedError, plots
from xpnet.network.schedules import exponentially_weighted_average


@pytest.fixture(scope="module")
def plane():
    """40 points in the plane, two classes split by x1 + x2 = 0."""
    X = np.random.default_rng(0).normal(size=(40, 2))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


@pytest.fixture(scope="module")
def models(plane):
    X, y = plane
    return {"net": xpnet.NeuralNetwork(hidden=(3,), epochs=15, seed=0, backend="numpy",
                                       verbose=False).fit(X, y, dev=(X, y)),
            "ppn": xpnet.Perceptron(eta=0.1, epochs=10).fit(X, y),
            "ada1": xpnet.Adaline(eta=0.01, epochs=10).fit(X, y),
            "ada2": xpnet.Adaline(eta=0.0001, epochs=10).fit(X, y)}


def grad_history(epochs=6, layers=3):
    """A ``record_gradients`` history: ``(epochs, L)`` norms shrinking by orders of magnitude."""
    norms = 10.0 ** -np.outer(np.arange(epochs), np.arange(1, layers + 1) / 2.0)
    return {"cost": list(np.linspace(1, 0.5, epochs)), "grad_norm": norms.tolist()}


def cases(models, plane):
    """``name -> (function, args before path, kwargs)``: one valid call of every plot."""
    X, y = plane
    temps = 10 + 5 * np.sin(np.arange(60) / 9) + np.random.default_rng(1).normal(0, 2, 60)
    return {"history": (plots.plot_history, (models["net"],), {"log_scale": True}),
            "errors": (plots.plot_errors, (models["ppn"].errors_,), {}),
            "costs": (plots.plot_costs, ([models["ada1"], models["ada2"]],),
                      {"log10": [True, False]}),
            "ewa": (plots.plot_ewa, (temps,), {}),
            "regions": (plots.plot_decision_regions, (models["ppn"], X, y), {"resolution": 40}),
            "grid": (plots.plot_decision_regions_grid,
                     ([models["net"], models["ppn"]], X, y), {"resolution": 40}),
            "gradients": (plots.plot_gradient_norms, (grad_history(),), {})}


NAMES = ["history", "errors", "costs", "ewa", "regions", "grid", "gradients"]


def figure_of(build, *args, **kwargs):
    pytest.importorskip("matplotlib")
    return build(*args, **kwargs)


def ylabels(fig):
    return [ax.get_ylabel() for ax in fig.axes]


def line(ax, label):
    (found,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return found


# ------------------------------------------------------------------ files and no matplotlib
@pytest.mark.parametrize("name", NAMES)
def test_each_plot_writes_a_whole_png_and_no_temporary_file(name, models, plane, tmp_path):
    pytest.importorskip("matplotlib")
    function, args, kwargs = cases(models, plane)[name]
    path = str(tmp_path / f"{name}.png")
    assert function(*args, path, **kwargs) == path
    with open(path, "rb") as fh:
        data = fh.read()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1024
    assert os.listdir(tmp_path) == [f"{name}.png"]


@pytest.mark.parametrize("name", NAMES)
def test_without_matplotlib_every_plot_returns_none_and_writes_nothing(
        name, models, plane, tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "_matplotlib", lambda stream=None: None)
    function, args, kwargs = cases(models, plane)[name]
    assert function(*args, str(tmp_path / "x.png"), **kwargs) is None
    assert os.listdir(tmp_path) == []


def test_inputs_are_checked_even_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setattr(plots, "_matplotlib", lambda stream=None: None)
    with pytest.raises(ValueError, match="empty"):
        plots.plot_errors([], tmp_path / "e.png")
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        plots.plot_ewa([1.0, 2.0], tmp_path / "w.png", betas=(1.0,))


def test_a_failed_draw_leaves_the_old_file_and_no_temporary(models, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    path = tmp_path / "e.png"
    path.write_bytes(b"old")

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr("matplotlib.figure.Figure.savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        plots.plot_errors(models["ppn"], path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["e.png"]


def test_a_missing_folder_is_named(models, tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plots.plot_errors(models["ppn"], tmp_path / "nowhere" / "e.png")


# -------------------------------------------------------------------------------- history
def test_history_axes_say_what_each_curve_is():
    history = {"cost": [0.9, 0.5, 0.3], "dev_cost": [1.0, 0.7, 0.6],
               "dev_score": [0.5, 0.7, 0.8], "lr": [0.1, 0.1, 0.1]}
    fig = figure_of(plots._history_figure, history, "accuracy")
    assert ylabels(fig) == ["train cost / dev cost", "dev accuracy"]  # constant lr: no panel
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["train cost", "dev cost"]
    assert [ax.get_xlabel() for ax in fig.axes] == ["Epochs", "Epochs"]
    np.testing.assert_array_equal(fig.axes[1].get_lines()[0].get_ydata(), history["dev_score"])
    only_train = figure_of(plots._history_figure, {"cost": [0.9, 0.5]})
    assert ylabels(only_train) == ["train cost"]


def test_history_log_scale_plots_log10_of_the_costs():
    history = {"cost": [100.0, 10.0, 1.0], "dev_cost": [50.0, 5.0, 2.0]}
    fig = figure_of(plots._history_figure, history, log_scale=True)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "log10(train cost / dev cost)"
    np.testing.assert_allclose(line(ax, "train cost").get_ydata(), [2.0, 1.0, 0.0])
    np.testing.assert_allclose(line(ax, "dev cost").get_ydata(), np.log10(history["dev_cost"]))


def test_history_draws_a_decaying_learning_rate(models, tmp_path):
    lr = [0.1, 0.05, 0.025]
    fig = figure_of(plots._history_figure, {"cost": [3.0, 2.0, 1.0], "learning_rate": lr})
    assert ylabels(fig) == ["train cost", "learning rate"]
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), lr)


def test_history_of_a_fitted_model_names_its_metric(models):
    fig = figure_of(plots._history_figure, models["net"])
    assert ylabels(fig) == ["train cost / dev cost", "dev accuracy"]
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(),
                               models["net"].history_["cost"])


@pytest.mark.parametrize("history, error, match", [
    ({}, ValueError, "no 'cost'"),
    ({"cost": []}, ValueError, "empty"),
    ({"cost": [np.nan, np.nan]}, ValueError, "no finite value"),
    ({"cost": [[1.0, 2.0]]}, ValueError, "one value per epoch"),
    ({"cost": [1.0, 0.5], "dev_cost": [1.0]}, ValueError, r"'dev_cost'\] has 1 values"),
    ({"cost": "1, 2"}, TypeError, "sequence of numbers"),
    ([1.0, 0.5], TypeError, "dict of per-epoch lists"),
    (xpnet.NeuralNetwork(), NotFittedError, "not fitted"),
])
def test_history_inputs_are_checked(history, error, match, tmp_path):
    with pytest.raises(error, match=match):
        plots.plot_history(history, tmp_path / "h.png")


def test_history_log_scale_needs_positive_costs(tmp_path):
    with pytest.raises(ValueError, match="<= 0"):
        plots.plot_history({"cost": [1.0, 0.0]}, tmp_path / "h.png", log_scale=True)


# -------------------------------------------------------------------------- perceptron errors
def test_errors_are_drawn_as_the_seed_draws_them(models):
    fig = figure_of(plots._errors_figure, models["ppn"])
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Epochs", "Number of updates")
    (ln,) = ax.get_lines()
    assert ln.get_marker() == "o"
    np.testing.assert_array_equal(ln.get_xdata(), np.arange(1, 11))
    np.testing.assert_array_equal(ln.get_ydata(), models["ppn"].errors_)


@pytest.mark.parametrize("errors, error, match", [
    ([], ValueError, "empty"),
    ([3, -1], ValueError, "cannot be negative"),
    (None, TypeError, "sequence of numbers"),
    (xpnet.Perceptron(), NotFittedError, "not fitted"),
])
def test_errors_inputs_are_checked(errors, error, match, tmp_path):
    with pytest.raises(error, match=match):
        plots.plot_errors(errors, tmp_path / "e.png")


# ---------------------------------------------------------------------------- Adaline costs
def test_costs_reproduce_the_seed_two_panel_figure(models):
    ada1, ada2 = models["ada1"], models["ada2"]
    fig = figure_of(plots._costs_figure, [ada1, ada2], log10=[True, False])
    assert ylabels(fig) == ["log(Sum-squared-error)", "Sum-squared-error"]
    assert [ax.get_title() for ax in fig.axes] == ["Adaline - Learning rate 0.01",
                                                   "Adaline - Learning rate 0.0001"]
    assert [ax.get_xlabel() for ax in fig.axes] == ["Epochs", "Epochs"]
    left, right = (ax.get_lines()[0] for ax in fig.axes)
    np.testing.assert_allclose(left.get_ydata(), np.log10(ada1.cost_))
    np.testing.assert_allclose(right.get_ydata(), ada2.cost_)
    assert left.get_marker() == "o"


def test_costs_one_flag_for_all_labels_and_one_curve():
    fig = figure_of(plots._costs_figure, [[4.0, 2.0], [8.0, 1.0, 0.5]], labels=["a", "b"],
                    log10=True, ylabel="cost")
    assert ylabels(fig) == ["log(cost)", "log(cost)"]
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), np.log10([8, 1, 0.5]))
    single = figure_of(plots._costs_figure, [3.0, 2.0, 1.0])
    assert len(single.axes) == 1 and single.axes[0].get_title() == "curve 1"


@pytest.mark.parametrize("kwargs, error, match", [
    ({"costs": [[1.0, -2.0]], "log10": True}, ValueError, "<= 0"),
    ({"costs": [[1.0], [2.0]], "log10": [True]}, ValueError, "1 flags for 2"),
    ({"costs": [[1.0], [2.0]], "log10": "yes"}, TypeError, "bool"),
    ({"costs": [[1.0], [2.0]], "labels": ["only one"]}, ValueError, "1 entries for 2"),
    ({"costs": []}, ValueError, "empty"),
    ({"costs": [[1.0], []]}, ValueError, "cost curve 2 is empty"),
    ({"costs": 3.0}, TypeError, "list of cost curves"),
    ({"costs": [xpnet.Adaline()]}, NotFittedError, "not fitted"),
])
def test_costs_inputs_are_checked(kwargs, error, match, tmp_path):
    with pytest.raises(error, match=match):
        plots.plot_costs(path=tmp_path / "c.png", **kwargs)


# --------------------------------------------------------------- exponentially weighted average
def test_ewa_curves_are_the_library_averages_with_and_without_correction():
    values = np.random.default_rng(2).normal(10.0, 3.0, 50)
    betas = (0.9, 0.98, 0.5)
    (ax,) = figure_of(plots._ewa_figure, values, betas).axes
    dots = line(ax, "values")
    assert dots.get_linestyle() == "None" and dots.get_marker() == "o"
    np.testing.assert_array_equal(dots.get_ydata(), values)
    for beta in betas:
        name = f"β = {beta:g} (≈ {1 / (1 - beta):.0f} values)"
        plain, fixed = line(ax, f"{name}, uncorrected"), line(ax, f"{name}, bias-corrected")
        np.testing.assert_allclose(plain.get_ydata(),
                                   exponentially_weighted_average(values, beta, False))
        np.testing.assert_allclose(fixed.get_ydata(),
                                   exponentially_weighted_average(values, beta, True))
        assert (plain.get_linestyle(), fixed.get_linestyle()) == ("--", "-")
        # the seed's point: without correction the average starts near 0, with it at theta_1
        assert plain.get_ydata()[0] == pytest.approx((1 - beta) * values[0])
        assert fixed.get_ydata()[0] == pytest.approx(values[0])
    assert len(ax.get_lines()) == 1 + 2 * len(betas)


def test_ewa_can_draw_one_kind_of_curve():
    (ax,) = figure_of(plots._ewa_figure, [1.0, 2.0, 3.0], 0.9, bias_correction=False).axes
    assert [ln.get_linestyle() for ln in ax.get_lines()] == ["None", "--"]
    (ax,) = figure_of(plots._ewa_figure, [1.0, 2.0, 3.0], (0.5, 0.9), True).axes
    assert [ln.get_linestyle() for ln in ax.get_lines()] == ["None", "-", "-"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"betas": (0.9, 1.0)}, ValueError, r"in \[0, 1\), got 1"),
    ({"betas": -0.1}, ValueError, r"in \[0, 1\)"),
    ({"betas": ()}, ValueError, "betas is empty"),
    ({"betas": "0.9"}, TypeError, "betas must be a number"),
    ({"bias_correction": "yes"}, ValueError, "'both', True or False"),
    ({"values": [1.0, np.nan, 2.0]}, ValueError, "non-finite value at index 1"),
    ({"values": []}, ValueError, "empty"),
])
def test_ewa_inputs_are_checked(kwargs, error, match, tmp_path):
    kwargs = {"values": [1.0, 2.0, 3.0], **kwargs}
    with pytest.raises(error, match=match):
        plots.plot_ewa(path=tmp_path / "w.png", **kwargs)


# ------------------------------------------------------------------------ decision regions
def test_single_and_grid_share_one_drawing_helper(models, plane, monkeypatch):
    pytest.importorskip("matplotlib")
    X, y = plane
    calls = []
    real = plots._draw_regions
    monkeypatch.setattr(plots, "_draw_regions",
                        lambda ax, model, *a, **k: calls.append(model) or real(ax, model, *a, **k))
    plots._regions_figure(models["ppn"], X, y, resolution=20)
    three = [models["net"], models["ppn"], models["ada1"]]
    plots._grid_figure(three, X, y, resolution=20)
    assert calls == [models["ppn"], *three]


def test_decision_regions_draw_every_sample_over_the_predicted_classes(models, plane):
    X, y = plane
    (ax,) = figure_of(plots._regions_figure, models["ppn"], X, y, title="ppn",
                      resolution=30).axes
    from matplotlib.collections import PathCollection
    points = np.concatenate([c.get_offsets() for c in ax.collections
                             if isinstance(c, PathCollection)])
    assert points.shape == X.shape
    np.testing.assert_allclose(np.sort(points, axis=0), np.sort(X, axis=0))
    assert ax.get_title() == "ppn" and ax.get_legend() is not None


def test_grid_has_one_titled_panel_per_model(models, plane):
    X, y = plane
    fitted = [models["net"], models["ppn"], models["ada1"], models["ada2"], models["net"]]
    titles = [f"hidden size {h}" for h in (1, 2, 3, 4, 5)]
    fig = figure_of(plots._grid_figure, fitted, X, y, titles, ncols=4, resolution=20,
                    title="sweep")
    assert len(fig.axes) == 5                  # 2 rows of 4, the 3 spare cells removed
    assert [ax.get_title() for ax in fig.axes] == titles
    assert fig.get_suptitle() == "sweep"
    assert [ax.get_legend() is not None for ax in fig.axes] == [True] + [False] * 4
    rows = {round(ax.get_position().y0, 3) for ax in fig.axes}
    assert len(rows) == 2
    default = figure_of(plots._grid_figure, fitted[:2], X, y, resolution=20)
    assert [ax.get_title() for ax in default.axes] == ["1. NeuralNetwork", "2. Perceptron"]


def test_decision_region_inputs_are_checked(models, plane, tmp_path):
    X, y = plane
    path = tmp_path / "r.png"
    with pytest.raises(ValueError, match="2 features"):
        plots.plot_decision_regions(models["ppn"], X[:, :1], y, path)
    with pytest.raises(ValueError, match=r"y must have shape \(40,\)"):
        plots.plot_decision_regions(models["ppn"], X, y[:-1], path)
    with pytest.raises(NotFittedError, match="not fitted"):
        plots.plot_decision_regions(xpnet.Perceptron(), X, y, path)
    with pytest.raises(TypeError, match="predict"):
        plots.plot_decision_regions(object(), X, y, path)
    regressor = xpnet.NeuralNetworkRegressor(hidden=(2,), epochs=1, seed=0, backend="numpy",
                                             verbose=False).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="need a classifier"):
        plots.plot_decision_regions(regressor, X, y, path)
    with pytest.raises(ValueError, match="resolution"):
        plots.plot_decision_regions(models["ppn"], X, y, path, resolution=1)


def test_grid_inputs_are_checked(models, plane, tmp_path):
    X, y = plane
    path = tmp_path / "g.png"
    two = [models["ppn"], models["ada1"]]
    with pytest.raises(ValueError, match="1 entries for 2"):
        plots.plot_decision_regions_grid(two, X, y, path, titles=["one"])
    with pytest.raises(ValueError, match="models is empty"):
        plots.plot_decision_regions_grid([], X, y, path)
    with pytest.raises(ValueError, match="ncols"):
        plots.plot_decision_regions_grid(two, X, y, path, ncols=0)
    with pytest.raises(NotFittedError, match=r"models\[1\]"):
        plots.plot_decision_regions_grid([models["ppn"], xpnet.Adaline()], X, y, path)
    other = xpnet.Perceptron(epochs=1).fit(X, np.where(y == 1, "b", "a"))
    with pytest.raises(ValueError, match="same data"):
        plots.plot_decision_regions_grid([models["ppn"], other], X, y, path)


# ------------------------------------------------------------------------- gradient norms
class _Fitted:
    """A model-like object holding a recorded history (as NeuralNetwork(record_gradients=True)
    will)."""

    def __init__(self, history):
        self.history_ = history


def test_gradient_norms_one_line_per_layer_on_a_log_axis():
    history = grad_history(epochs=6, layers=3)
    (ax,) = figure_of(plots._gradient_figure, _Fitted(history)).axes
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "Epochs"
    assert [ln.get_label() for ln in ax.get_lines()] == ["layer 1", "layer 2", "layer 3"]
    norms = np.asarray(history["grad_norm"])
    for layer, ln in enumerate(ax.get_lines()):
        np.testing.assert_array_equal(ln.get_xdata(), np.arange(1, 7))
        np.testing.assert_allclose(ln.get_ydata(), norms[:, layer])
    (flat,) = figure_of(plots._gradient_figure, {"grad_norm": norms}, log_scale=False).axes
    assert flat.get_yscale() == "linear"


def test_gradient_norms_draw_activation_std_when_recorded():
    history = grad_history(epochs=4, layers=2)
    history["activation_std"] = [[1.0, 0.5], [0.9, 0.4], [0.8, 0.3], [0.7, 0.2]]
    fig = figure_of(plots._gradient_figure, history)
    assert len(fig.axes) == 2 and ylabels(fig) == ["||dW[l]||_F", "std(A[l])"]
    np.testing.assert_allclose(fig.axes[1].get_lines()[1].get_ydata(), [0.5, 0.4, 0.3, 0.2])


def test_gradient_norms_of_a_real_recording(plane):
    X, y = plane
    try:
        model = xpnet.NeuralNetwork(hidden=(4, 3), epochs=3, seed=0, backend="numpy",
                                    verbose=False, record_gradients=True)
    except TypeError:
        pytest.skip("NeuralNetwork has no record_gradients yet")
    model.fit(X, y)
    (ax, *_) = figure_of(plots._gradient_figure, model).axes
    assert len(ax.get_lines()) == 3  # W1, W2, W3


@pytest.mark.parametrize("history, error, match", [
    ({"cost": [1.0]}, ValueError, r"record_gradients=True"),
    ({"grad_norm": []}, ValueError, "shape"),
    ({"grad_norm": [1.0, 0.5]}, ValueError, r"\(epochs, L\)"),
    ({"grad_norm": [[1.0, 0.5], [1.0]]}, ValueError, "same L every epoch"),
    ({"grad_norm": [[np.nan], [np.nan]]}, ValueError, "no finite value"),
    ({"grad_norm": [[0.0], [0.0]]}, ValueError, "log_scale=False"),
    ({"grad_norm": [[1.0], [0.5]], "activation_std": [[1.0]]}, ValueError, "1 epochs"),
    ("grad_norm", TypeError, "dict of per-epoch lists"),
    (xpnet.NeuralNetwork(), NotFittedError, "not fitted"),
    (xpnet.Perceptron().fit([[0.0], [1.0]], [0, 1]), TypeError, "has no history_"),
])
def test_gradient_norm_inputs_are_checked(history, error, match, tmp_path):
    with pytest.raises(error, match=match):
        plots.plot_gradient_norms(history, tmp_path / "n.png")


def test_gradient_norms_of_many_layers_get_distinct_colours():
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_rgba
    history = {"grad_norm": [[10.0 ** -k for k in range(14)] for _ in range(3)]}
    fig = plots._gradient_figure(history)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 14
    assert len({to_rgba(line.get_color()) for line in lines}) == 14


def test_long_cost_curves_have_no_markers():
    pytest.importorskip("matplotlib")
    fig = plots._costs_figure([np.linspace(10, 1, 200), np.linspace(5, 1, 20)])
    assert fig.axes[0].get_lines()[0].get_marker() in ("None", None, "")
    assert fig.axes[1].get_lines()[0].get_marker() == "o"
