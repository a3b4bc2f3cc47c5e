"""PNG pictures of a training run: cost/metric curves and 2-D decision regions.

matplotlib is an optional extra (``pip install "xpnet[plot]"``). It is imported only when a
plot is drawn, and figures are rendered with the Agg canvas (no display, no pyplot state).
Without matplotlib each function prints one notice (once per process) and returns None.
"""

from __future__ import annotations

import sys

import numpy as np

from ._atomic import atomic_open

__all__ = ["matplotlib_available", "plot_history", "plot_decision_regions"]

_NOTICE = ('xpnet: matplotlib is not installed, so no plots were drawn '
           '(install it with: pip install "xpnet[plot]")')
_state = {"warned": False}
_MARKERS = ("s", "x", "o", "^", "v", "D", "P", "*", "<", ">")
_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


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


def _save(fig, canvas_class, path):
    """Render ``fig`` to ``path`` through a temporary file and ``os.replace``."""
    canvas_class(fig)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    return path


def plot_history(history, path, score_name="accuracy", title=None):
    """Cost per epoch (train, and dev when present) and the dev metric, side by side."""
    mpl = _matplotlib()
    if mpl is None:
        return None
    Figure, Canvas, _ = mpl
    cost = np.asarray(history["cost"], dtype=float)
    epochs = np.arange(1, cost.shape[0] + 1)
    dots = {"marker": "o", "markersize": 3} if cost.shape[0] <= 60 else {}
    has_score = "dev_score" in history and len(history["dev_score"]) == cost.shape[0]
    fig = Figure(figsize=(10 if has_score else 5.5, 4), layout="constrained")
    axes = fig.subplots(1, 2 if has_score else 1, squeeze=False)[0]
    ax = axes[0]
    ax.plot(epochs, cost, label="train cost", **dots)
    if "dev_cost" in history and len(history["dev_cost"]) == cost.shape[0]:
        ax.plot(epochs, history["dev_cost"], label="dev cost", **dots)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost")
    ax.set_title("cost")
    ax.grid(alpha=0.3)
    ax.legend()
    if has_score:
        ax = axes[1]
        ax.plot(epochs, history["dev_score"], color="#2ca02c", **dots)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"dev {score_name}")
        ax.set_title(f"dev {score_name}")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, Canvas, path)


def plot_decision_regions(model, X, y, path, feature_names=("x1", "x2"), title=None,
                          resolution=300):
    """The classes a fitted 2-feature classifier predicts over the plane, with the samples
    on top (as the seeds draw them for the perceptron and Adaline). ``X (n_samples, 2)``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision regions need 2 features, got X of shape {X.shape}")
    mpl = _matplotlib()
    if mpl is None:
        return None
    Figure, Canvas, ListedColormap = mpl
    classes = np.asarray(model.classes_)
    n = len(classes)
    cmap = ListedColormap([_COLORS[k % len(_COLORS)] for k in range(n)])
    xx, yy = _grid(X, resolution)
    pred = model.predict(np.column_stack([xx.ravel(), yy.ravel()]))
    Z = np.searchsorted(classes, pred).reshape(xx.shape)
    fig = Figure(figsize=(6, 5), layout="constrained")
    ax = fig.subplots()
    ax.contourf(xx, yy, Z, levels=np.arange(n + 1) - 0.5, alpha=0.3, cmap=cmap)
    y = np.asarray(y)
    for k, label in enumerate(classes):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], s=18, alpha=0.85, c=_COLORS[k % len(_COLORS)],
                   marker=_MARKERS[k % len(_MARKERS)], label=str(label),
                   edgecolors="black" if _MARKERS[k % len(_MARKERS)] not in "x+" else None,
                   linewidths=0.4)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.legend(loc="upper left", fontsize="small")
    if title:
        ax.set_title(title)
    return _save(fig, Canvas, path)


def _grid(X, resolution):
    """A ``resolution x resolution`` mesh over the data plus a 10 % margin on each side."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = hi - lo
    margin = np.where(span > 0, 0.1 * span, 1.0)
    xs = np.linspace(lo[0] - margin[0], hi[0] + margin[0], resolution)
    ys = np.linspace(lo[1] - margin[1], hi[1] + margin[1], resolution)
    return np.meshgrid(xs, ys)
