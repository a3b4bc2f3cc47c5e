"""PNG pictures of the course's figures: training curves, the perceptron's and Adaline's
per-epoch counts and costs, exponentially weighted averages, 2-D decision regions (one model or
a grid of them) and per-layer gradient norms.

- ``plot_history(history, path, score_name=None, title=None, log_scale=False)``: train/dev cost
  per epoch, the dev metric, and the learning rate when it changes from epoch to epoch
- ``plot_errors(errors, path, title=None)``: the perceptron's updates per epoch (``errors_``)
- ``plot_costs(costs, path, labels=None, log10=False, title=None, ylabel=...)``: one panel per
  cost curve, e.g. Adaline's ``cost_`` for two learning rates, each optionally in log10
- ``plot_ewa(values, path, betas=(0.9, 0.98, 0.5), bias_correction="both", title=None)``: a
  series and its exponentially weighted averages, with and without bias correction
- ``plot_decision_regions(model, X, y, path, ...)`` and
  ``plot_decision_regions_grid(models, X, y, path, ...)``: what fitted 2-feature classifiers
  predict over the plane (the planar data's hidden-layer-size sweep is the grid)
- ``plot_gradient_norms(history, path, title=None, log_scale=True)``: ``||dW[l]||_F`` per layer
  and epoch (``NeuralNetwork(record_gradients=True)``), and ``activation_std`` when recorded

Where a function takes a history or a curve it also takes the fitted model that holds it
(``history_``, ``errors_``, ``cost_``). Inputs are checked before anything is drawn: an empty or
NaN-only curve, a wrong shape or a model that is not fitted raise ValueError (NotFittedError,
a ValueError, for the model) and a wrong type raises TypeError, whether matplotlib is installed
or not. Every function returns ``path``; files are written through a temporary file and
``os.replace``, so a failed draw never leaves half a PNG.

matplotlib is an optional extra (``pip install "xpnet[plot]"``). It is imported only when a
plot is drawn, and figures are rendered with the Agg canvas (no display, no pyplot state).
Without matplotlib each function prints one notice (once per process) and returns None.
"""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Mapping

import numpy as np

from ._atomic import atomic_open
from ._estimator import not_fitted
from .network.schedules import exponentially_weighted_average

__all__ = ["matplotlib_available", "plot_history", "plot_errors", "plot_costs", "plot_ewa",
           "plot_decision_regions", "plot_decision_regions_grid", "plot_gradient_norms"]

_NOTICE = ('xpnet: matplotlib is not installed, so no plots were drawn '
           '(install it with: pip install "xpnet[plot]")')
_state = {"warned": False}
_MARKERS = ("s", "x", "o", "^", "v", "D", "P", "*", "<", ">")
_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
_LR_KEYS = ("learning_rate", "lr")


def _matplotlib(stream=None):
    """``(Figure, FigureCanvasAgg, ListedColormap)`` or None (after one notice)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
    except ImportError:
        if not _state["warned"]:
            _state["warned"] = True
            print(_NOTICE, file=sys.stderr if stream is None else stream)
        return None
    return Figure, FigureCanvasAgg, ListedColormap


def matplotlib_available():
    """True when matplotlib imports (prints the notice once when it does not)."""
    return _matplotlib() is not None


# ----------------------------------------------------------------------------- public API
def plot_history(history, path, score_name=None, title=None, log_scale=False):
    """Train cost per epoch (and dev cost), the dev metric and a varying learning rate.

    ``history`` is a dict of per-epoch lists (``cost``; optionally ``dev_cost``, ``dev_score``,
    ``lr``/``learning_rate``) or a fitted model with ``history_``. ``score_name`` names the dev
    metric (default: ``history["dev_metric"]`` when it is a string, accuracy or R^2 for a
    fitted model, else "score"). ``log_scale`` plots ``log10`` of the costs, as the seeds plot
    ``log10(SSE)``. The learning rate gets its own panel only when it changes (a decay
    schedule).
    """
    return _save(_history_figure(history, score_name, title, log_scale), path)


def plot_errors(errors, path, title=None):
    """The perceptron's number of updates (misclassified samples) per epoch, with markers.

    ``errors`` is a sequence of counts (``Perceptron.errors_``) or the fitted perceptron.
    """
    return _save(_errors_figure(errors, title), path)


def plot_costs(costs, path, labels=None, log10=False, title=None, ylabel="Sum-squared-error"):
    """One panel per cost curve, each vs epochs (the seeds' Adaline figure for two learning
    rates: ``plot_costs([ada1, ada2], path, log10=[True, False])``).

    ``costs`` is a list of curves (sequences, or fitted models with ``cost_``) or one curve.
    ``labels`` titles the panels (default for a model with ``eta``: "Adaline - Learning rate
    0.01"). ``log10`` is one bool or one per curve; a log10 panel is labelled
    ``log(<ylabel>)`` and needs positive costs.
    """
    return _save(_costs_figure(costs, labels, log10, title, ylabel), path)


def plot_ewa(values, path, betas=(0.9, 0.98, 0.5), bias_correction="both", title=None):
    """``values`` as dots and one exponentially weighted average per ``beta`` on top.

    ``bias_correction``: "both" (default) draws the uncorrected average dashed and the
    bias-corrected one solid, so the uncorrected curve's start near 0 is visible; True or
    False draws only that one. Each beta must be in ``[0, 1)`` (it averages about
    ``1 / (1 - beta)`` values).
    """
    return _save(_ewa_figure(values, betas, bias_correction, title), path)


def plot_decision_regions(model, X, y, path, feature_names=("x1", "x2"), title=None,
                          resolution=300):
    """The classes a fitted 2-feature classifier predicts over the plane, with the samples
    on top (as the seeds draw them for the perceptron and Adaline). ``X (n_samples, 2)``."""
    return _save(_regions_figure(model, X, y, feature_names, title, resolution), path)


def plot_decision_regions_grid(models, X, y, path, titles=None, ncols=4, resolution=200,
                               title=None, feature_names=("x1", "x2")):
    """Several fitted 2-feature classifiers side by side on the same samples, ``ncols`` panels
    per row (the planar data's hidden-layer-size sweep). ``titles`` names the panels (default
    "1. NeuralNetwork", ...), e.g. ``"hidden size 5 (acc 0.90)"``."""
    return _save(_grid_figure(models, X, y, titles, ncols, resolution, title, feature_names),
                 path)


def plot_gradient_norms(history, path, title=None, log_scale=True):
    """``||dW[l]||_F`` per layer (one line each) vs epochs, on a log axis by default.

    ``history`` is a dict whose ``grad_norm`` holds one list of L per-layer norms per epoch
    (an ``(epochs, L)`` nested list or array), or a model fitted with
    ``NeuralNetwork(record_gradients=True)``. When ``activation_std`` is there too (one list
    per epoch), a second panel draws it the same way.
    """
    return _save(_gradient_figure(history, title, log_scale), path)


# ---------------------------------------------------------------------------- the figures
def _history_figure(history, score_name=None, title=None, log_scale=False):
    h = _unwrap(history, "history_", "history")
    _require_mapping(h, "history")
    if "cost" not in h:
        raise ValueError(f"history has no 'cost' (its keys: {sorted(map(str, h))}); pass "
                         "model.history_ or a dict of per-epoch lists with a 'cost' list")
    costs = {"train cost": _numbers(h["cost"], "history['cost']")}
    n = costs["train cost"].shape[0]
    _add_optional(costs, "dev cost", h, "dev_cost", n)
    if log_scale:
        costs = {name: _log10(values, name) for name, values in costs.items()}
    extra = {}
    _add_optional(extra, f"dev {_score_name(history, h, score_name)}", h, "dev_score", n)
    _add_learning_rate(extra, h, n)
    fig, axes = _panels(1 + len(extra), title)
    if fig is None:
        return None
    epochs, dots = np.arange(1, n + 1), _dots(n)
    for label, values in costs.items():
        axes[0].plot(epochs, values, label=label, **dots)
    ylabel = " / ".join(costs)
    _style(axes[0], f"log10({ylabel})" if log_scale else ylabel, "cost", legend=True)
    for ax, (label, values), color in zip(axes[1:], extra.items(), _COLORS[2:]):
        ax.plot(epochs, values, color=color, **dots)
        _style(ax, label, label)
    return fig


def _errors_figure(errors, title=None):
    errors = _numbers(_unwrap(errors, "errors_", "errors"), "errors")
    if np.nanmin(errors) < 0:
        raise ValueError(f"errors are counts of updates per epoch and cannot be negative, got "
                         f"{np.nanmin(errors):g}")
    fig, (ax,) = _panels(1, None, size=(6.0, 4.0))
    if fig is None:
        return None
    ax.plot(np.arange(1, errors.shape[0] + 1), errors, marker="o")
    _style(ax, "Number of updates", title)
    return fig


def _costs_figure(costs, labels=None, log10=False, title=None, ylabel="Sum-squared-error"):
    curves, defaults = _cost_curves(costs)
    labels = defaults if labels is None else _labels(labels, len(curves), "labels")
    flags = _flags(log10, len(curves))
    curves = [_log10(c, f"cost curve {i + 1}") if log else c
              for i, (c, log) in enumerate(zip(curves, flags))]
    fig, axes = _panels(len(curves), title)
    if fig is None:
        return None
    for ax, curve, label, log in zip(axes, curves, labels, flags):
        ax.plot(np.arange(1, curve.shape[0] + 1), curve, **_dots(curve.shape[0]))
        _style(ax, f"log({ylabel})" if log else ylabel, label)
    return fig


def _ewa_figure(values, betas=(0.9, 0.98, 0.5), bias_correction="both", title=None):
    values = _numbers(values, "values")
    if not np.isfinite(values).all():
        raise ValueError(f"values must all be finite (an average carries a NaN forever), got a "
                         f"non-finite value at index {int(np.argmin(np.isfinite(values)))}")
    betas = _betas(betas)
    styles = _correction_styles(bias_correction)
    fig, (ax,) = _panels(1, None, size=(8.0, 4.5))
    if fig is None:
        return None
    t = np.arange(1, values.shape[0] + 1)
    ax.plot(t, values, "o", markersize=3, color="#7f7f7f", alpha=0.5, label="values")
    for k, beta in enumerate(betas):
        for corrected, linestyle, name in styles:
            ewa = exponentially_weighted_average(values, beta, bias_correction=corrected)
            ax.plot(t, ewa, linestyle=linestyle, color=_COLORS[k % len(_COLORS)],
                    label=f"β = {beta:g} (≈ {1 / (1 - beta):.0f} values), {name}")
    _style(ax, "value", title or "exponentially weighted averages", xlabel="t", legend=True)
    return fig


def _regions_figure(model, X, y, feature_names=("x1", "x2"), title=None, resolution=300):
    X, y = _plane(X, y)
    _classifier(model, "model")
    fig, (ax,) = _panels(1, None, size=(6.0, 5.0))
    if fig is None:
        return None
    _draw_regions(ax, model, X, y, _grid(X, _resolution(resolution)), feature_names)
    if title:
        ax.set_title(title)
    return fig


def _grid_figure(models, X, y, titles=None, ncols=4, resolution=200, title=None,
                 feature_names=("x1", "x2")):
    X, y = _plane(X, y)
    models = _models(models)
    titles = ([f"{i + 1}. {type(m).__name__}" for i, m in enumerate(models)] if titles is None
              else _labels(titles, len(models), "titles"))
    if isinstance(ncols, bool) or not isinstance(ncols, numbers.Integral) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    grid = _grid(X, _resolution(resolution))
    fig, axes = _panels(len(models), title, ncols=int(ncols), size=(4.0, 3.6))
    if fig is None:
        return None
    for k, (ax, model, name) in enumerate(zip(axes, models, titles)):
        _draw_regions(ax, model, X, y, grid, feature_names, legend=k == 0)
        ax.set_title(name)
    return fig


def _gradient_figure(history, title=None, log_scale=True):
    h = _unwrap(history, "history_", "history")
    _require_mapping(h, "history")
    if "grad_norm" not in h:
        raise ValueError("history has no 'grad_norm': fit the model with "
                         "NeuralNetwork(record_gradients=True) to record the per-layer gradient "
                         f"norms ||dW[l]||_F (its keys: {sorted(map(str, h))})")
    panels = [(_layers(h["grad_norm"], "history['grad_norm']", log_scale), "||dW[l]||_F",
               "gradient norm per layer")]
    if _present(h, "activation_std"):
        std = _layers(h["activation_std"], "history['activation_std']", log_scale)
        if std.shape[0] != panels[0][0].shape[0]:
            raise ValueError(f"history['activation_std'] has {std.shape[0]} epochs but "
                             f"history['grad_norm'] has {panels[0][0].shape[0]}")
        panels.append((std, "std(A[l])", "activation std per layer"))
    fig, axes = _panels(len(panels), title)
    if fig is None:
        return None
    for ax, (values, ylabel, name) in zip(axes, panels):
        epochs, dots = np.arange(1, values.shape[0] + 1), _dots(values.shape[0])
        colors = _layer_colors(values.shape[1])
        for layer in range(values.shape[1]):
            ax.plot(epochs, values[:, layer], color=colors[layer], label=f"layer {layer + 1}",
                    **dots)
        if log_scale:
            ax.set_yscale("log")
        _style(ax, ylabel, name, legend=False)
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5),
                  ncols=1 + values.shape[1] // 16)
    return fig


def _layer_colors(n):
    """One colour per layer: the fixed palette up to ten, then evenly spaced viridis (no two
    layers alike, first to last in order)."""
    if n <= len(_COLORS):
        return list(_COLORS[:n])
    from matplotlib import colormaps
    cmap = colormaps["viridis"]
    return [cmap(k / (n - 1)) for k in range(n)]


# ------------------------------------------------------------------------ drawing helpers
def _panels(n, title=None, ncols=None, size=(5.0, 4.0)):
    """``(Figure, [n axes])`` on a grid of ``ncols`` per row (default: one row), spare cells
    removed; ``(None, [None] * n)`` without matplotlib."""
    mpl = _matplotlib()
    if mpl is None:
        return None, [None] * n
    ncols = n if ncols is None else min(ncols, n)
    nrows = -(-n // ncols)
    fig = mpl[0](figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        fig.delaxes(ax)
    if title:
        fig.suptitle(title)
    return fig, axes[:n]


def _style(ax, ylabel, title=None, xlabel="Epochs", legend=False):
    """The labels, title, grid and legend every panel gets."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize="small")


def _dots(n):
    """Markers on each point of a short curve; a plain line for a long one."""
    return {"marker": "o", "markersize": 3} if n <= 60 else {}


def _draw_regions(ax, model, X, y, grid, feature_names=("x1", "x2"), legend=True):
    """Fill ``ax`` with the classes ``model`` predicts over ``grid = (xx, yy)`` and scatter
    the samples ``X (n_samples, 2)``, ``y`` on top, one colour and marker per class."""
    classes = np.asarray(model.classes_)
    n = len(classes)
    cmap = _matplotlib()[2]([_COLORS[k % len(_COLORS)] for k in range(n)])
    xx, yy = grid
    pred = model.predict(np.column_stack([xx.ravel(), yy.ravel()]))
    Z = np.searchsorted(classes, pred).reshape(xx.shape)
    ax.contourf(xx, yy, Z, levels=np.arange(n + 1) - 0.5, alpha=0.3, cmap=cmap)
    for k, label in enumerate(classes):
        mask = y == label
        marker = _MARKERS[k % len(_MARKERS)]
        ax.scatter(X[mask, 0], X[mask, 1], s=18, alpha=0.85, c=_COLORS[k % len(_COLORS)],
                   marker=marker, label=str(label), linewidths=0.4,
                   edgecolors="black" if marker not in "x+" else None)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    if legend:
        ax.legend(loc="upper left", fontsize="small")


def _grid(X, resolution):
    """A ``resolution x resolution`` mesh over the data plus a 10 % margin on each side."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = hi - lo
    margin = np.where(span > 0, 0.1 * span, 1.0)
    xs = np.linspace(lo[0] - margin[0], hi[0] + margin[0], resolution)
    ys = np.linspace(lo[1] - margin[1], hi[1] + margin[1], resolution)
    return np.meshgrid(xs, ys)


def _save(fig, path):
    """Render ``fig`` to ``path`` through a temporary file and ``os.replace``; None passes
    through (no matplotlib)."""
    if fig is None:
        return None
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {os.fspath(path)!r}: the folder {folder!r} "
                                "does not exist")
    _matplotlib()[1](fig)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    return path


# ---------------------------------------------------------------------------- validation
def _unwrap(obj, attr, what):
    """``obj.<attr>`` for a model that has it, else ``obj`` itself; a model without it (one
    that is not fitted, or the wrong kind) is an error that says so."""
    if hasattr(obj, attr):
        return getattr(obj, attr)
    fitted = getattr(obj, "__sklearn_is_fitted__", None)
    if not callable(fitted):
        return obj
    if not fitted():
        raise not_fitted(f"this {type(obj).__name__} is not fitted yet; call fit(X, y) first")
    raise TypeError(f"a fitted {type(obj).__name__} has no {attr}: pass the {what} itself")


def _require_mapping(h, what):
    if not isinstance(h, Mapping):
        raise TypeError(f"{what} must be a dict of per-epoch lists or a fitted model with "
                        f"history_, got {type(h).__name__}")


def _numbers(values, what, ndim=1):
    """``values`` as a float array of ``ndim`` dimensions with at least one finite value."""
    shape = "one value per epoch" if ndim == 1 else "(epochs, L): one list of L values per epoch"
    if values is None or isinstance(values, (str, bytes, Mapping)) or not np.iterable(values):
        raise TypeError(f"{what} must be a sequence of numbers ({shape}), got "
                        f"{type(values).__name__}")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numbers ({shape}, the same L every epoch): "
                         f"{exc}") from None
    if arr.ndim != ndim:
        raise ValueError(f"{what} must be {shape}, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{what} is empty: nothing to plot (is the model fitted?)")
    if not np.isfinite(arr).any():
        raise ValueError(f"{what} has no finite value (all NaN or inf): nothing to plot")
    return arr


def _layers(values, what, log_scale):
    arr = _numbers(values, what, ndim=2)
    if log_scale and not (arr[np.isfinite(arr)] > 0).any():
        raise ValueError(f"{what} has no positive value to draw on a log axis; "
                         "pass log_scale=False")
    return arr


def _score_name(history, h, score_name):
    """``score_name``, else the history's ``dev_metric``, else the model's (accuracy or R^2)."""
    if score_name:
        return score_name
    if isinstance(h.get("dev_metric"), str):
        return h["dev_metric"]
    task = getattr(history, "task_", None)
    return {"classification": "accuracy", "regression": "R^2"}.get(task, "score")


def _present(h, key):
    return key in h and h[key] is not None and not (np.iterable(h[key]) and len(h[key]) == 0)


def _add_optional(curves, name, h, key, n):
    """``curves[name] = h[key]`` when it holds values; they must be one per epoch (``n``)."""
    if not _present(h, key):
        return
    values = _numbers(h[key], f"history[{key!r}]")
    if values.shape[0] != n:
        raise ValueError(f"history[{key!r}] has {values.shape[0]} values but history['cost'] "
                         f"has {n}: each must hold one value per epoch")
    curves[name] = values


def _add_learning_rate(curves, h, n):
    """The per-epoch learning rate (``learning_rate`` or ``lr``) when it changes; a constant
    rate would be a flat line that says nothing."""
    key = next((k for k in _LR_KEYS if k in h), None)
    if key is not None:
        _add_optional(curves, "learning rate", h, key, n)
        lr = curves.get("learning rate")
        if lr is not None and np.nanmax(lr) == np.nanmin(lr):
            del curves["learning rate"]


def _log10(values, what):
    finite = values[np.isfinite(values)]
    if (finite <= 0).any():
        raise ValueError(f"{what} has values <= 0 (min {finite.min():g}): log10 needs positive "
                         "values; plot it without log10")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log10(values)


def _cost_curves(costs):
    """``([curve arrays], [default panel titles])`` from a list of curves or one curve."""
    costs = _unwrap(costs, "cost_", "costs")
    if costs is None or isinstance(costs, (str, bytes, Mapping)) or not np.iterable(costs):
        raise TypeError(f"costs must be a list of cost curves (e.g. [ada1.cost_, ada2.cost_]) "
                        f"or one curve, got {type(costs).__name__}")
    items = list(costs)
    if not items:
        raise ValueError("costs is empty: pass a list of cost curves, e.g. [ada1.cost_, "
                         "ada2.cost_]")
    if all(isinstance(c, (numbers.Real, np.number)) for c in items):
        items = [items]  # one curve of numbers
    curves = [_numbers(_unwrap(c, "cost_", "cost curve"), f"cost curve {i + 1}")
              for i, c in enumerate(items)]
    defaults = [f"{type(c).__name__} - Learning rate {c.eta:g}"
                if isinstance(getattr(c, "eta", None), numbers.Real) else f"curve {i + 1}"
                for i, c in enumerate(items)]
    return curves, defaults


def _labels(labels, n, what):
    if isinstance(labels, str) or not np.iterable(labels):
        raise TypeError(f"{what} must be a list of {n} strings, got {type(labels).__name__}")
    labels = [str(label) for label in labels]
    if len(labels) != n:
        raise ValueError(f"{what} has {len(labels)} entries for {n} panels; pass one per panel")
    return labels


def _flags(log10, n):
    flags = [log10] * n if isinstance(log10, (bool, np.bool_)) else log10
    if not np.iterable(flags) or isinstance(flags, str) or \
            not all(isinstance(f, (bool, np.bool_)) for f in flags):
        raise TypeError(f"log10 must be a bool or one bool per cost curve, got {log10!r}")
    flags = [bool(f) for f in flags]
    if len(flags) != n:
        raise ValueError(f"log10 has {len(flags)} flags for {n} cost curves; pass one bool or "
                         "one per curve")
    return flags


def _betas(betas):
    betas = [betas] if isinstance(betas, numbers.Real) else betas
    if isinstance(betas, str) or not np.iterable(betas) or \
            not all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas):
        raise TypeError(f"betas must be a number or a sequence of numbers, got {betas!r}")
    betas = [float(b) for b in betas]
    if not betas:
        raise ValueError("betas is empty: pass at least one beta, e.g. (0.9,)")
    bad = [b for b in betas if not 0.0 <= b < 1.0]
    if bad:
        raise ValueError(f"each beta must be in [0, 1), got {bad[0]:g} (an average with "
                         "beta spans about 1 / (1 - beta) values)")
    return betas


def _correction_styles(bias_correction):
    """``[(corrected, linestyle, name)]`` for ``bias_correction`` "both", True or False."""
    styles = {False: (False, "--", "uncorrected"), True: (True, "-", "bias-corrected")}
    if isinstance(bias_correction, (bool, np.bool_)):
        return [styles[bool(bias_correction)]]
    if bias_correction == "both":
        return [styles[False], styles[True]]
    raise ValueError(f"bias_correction must be 'both', True or False, got {bias_correction!r}")


def _plane(X, y):
    """``X (n_samples, 2)`` float64 with finite values and ``y (n_samples,)``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision regions need 2 features, got X of shape {X.shape}")
    if X.shape[0] == 0 or not np.isfinite(X).all():
        raise ValueError("X must hold at least one sample and only finite values")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) (one label per row of X), got "
                         f"{y.shape}")
    return X, y


def _classifier(model, what):
    """Check that ``model`` is a fitted classifier: ``predict`` and ``classes_``."""
    if not callable(getattr(model, "predict", None)):
        raise TypeError(f"{what} must be a fitted classifier with predict(X), got "
                        f"{type(model).__name__}")
    fitted = getattr(model, "__sklearn_is_fitted__", None)
    if not (fitted() if callable(fitted) else hasattr(model, "classes_")):
        raise not_fitted(f"{what} ({type(model).__name__}) is not fitted yet; call fit(X, y) "
                         "first")
    if not hasattr(model, "classes_"):
        raise ValueError(f"decision regions need a classifier, but this "
                         f"{type(model).__name__} has no classes_ (a regressor?)")


def _models(models):
    if isinstance(models, (str, bytes, Mapping)) or not np.iterable(models):
        raise TypeError(f"models must be a list of fitted classifiers, got "
                        f"{type(models).__name__}")
    models = list(models)
    if not models:
        raise ValueError("models is empty: pass at least one fitted classifier")
    for i, model in enumerate(models):
        _classifier(model, f"models[{i}]")
    first = np.asarray(models[0].classes_)
    for i, model in enumerate(models[1:], start=1):
        theirs = np.asarray(model.classes_)
        if theirs.shape != first.shape or not (theirs == first).all():
            raise ValueError(f"models[{i}] was fitted on classes {theirs.tolist()}, models[0] "
                             f"on {first.tolist()}: the grid draws models of the same data")
    return models


def _resolution(resolution):
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Integral) or \
            resolution < 2:
        raise ValueError(f"resolution must be an int >= 2 (grid points per axis), got "
                         f"{resolution!r}")
    return int(resolution)
