"""Metrics and their text form for the command line's reports.

Classification: ``accuracy``, ``confusion_matrix`` (rows are true classes, columns predicted)
and ``format_confusion``; ``log_loss`` is the cross-entropy the network trains on.
Regression: ``r2_score``, ``mean_squared_error``, ``mean_absolute_error``.
``evaluate(model, X, y)`` computes the set that fits the model's task; ``format_metrics``
lays several splits out as one table; ``bias_variance`` diagnoses high bias or variance from
train and dev error, with the course's remedies.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "confusion_matrix", "format_confusion", "log_loss", "half_mse",
           "r2_score", "mean_squared_error", "mean_absolute_error", "align_labels",
           "evaluate", "dev_metrics", "format_metrics", "is_regression", "bias_variance",
           "model_error", "format_diagnosis", "REMEDIES"]

_EPS = 1e-12


# ------------------------------------------------------------------------ classification
def accuracy(y_true, y_pred):
    """Fraction of ``y_pred`` equal to ``y_true`` (both ``(n_samples,)``)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _same_length(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, labels=None):
    """``(C, C)`` int64 counts: ``cm[i, j]`` = samples of class ``labels[i]`` predicted as
    ``labels[j]``. ``labels`` defaults to the sorted union of both arrays."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _same_length(y_true, y_pred)
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    labels = np.asarray(labels)
    index = {_key(label): k for k, label in enumerate(labels)}
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        if _key(t) not in index or _key(p) not in index:
            raise ValueError(f"label {t if _key(t) not in index else p!r} is not among the "
                             f"confusion matrix labels")
        cm[index[_key(t)], index[_key(p)]] += 1
    return cm


def _key(label):
    return label.item() if isinstance(label, np.generic) else label


def format_confusion(cm, labels, max_classes=30):
    """The confusion matrix as aligned text (rows true, columns predicted)."""
    cm = np.asarray(cm)
    names = [str(_key(label)) for label in labels]
    if len(names) > max_classes:
        return (f"(confusion matrix not shown: {len(names)} classes; at most {max_classes} "
                "are printed)")
    width = max([len(n) for n in names] + [len(str(int(cm.max(initial=0)))), 3])
    head = " " * (width + 2) + " ".join(n.rjust(width) for n in names)
    lines = ["true \\ predicted", head]
    for name, row in zip(names, cm):
        lines.append(name.rjust(width) + "  " + " ".join(str(int(v)).rjust(width) for v in row))
    return "\n".join(lines)


def log_loss(y_index, proba):
    """Mean cross-entropy ``-log p(true class)``; ``proba (n_samples, C)``, ``y_index`` ints."""
    proba = np.asarray(proba, dtype=np.float64)
    p = proba[np.arange(proba.shape[0]), np.asarray(y_index)]
    return float(-np.mean(np.log(np.clip(p, _EPS, 1.0))))


def align_labels(classes, y):
    """Make ``y`` comparable with a model's ``classes``: when one is text and the other
    numbers, compare them as text. Returns ``(classes, y)``."""
    classes, y = np.asarray(classes), np.asarray(y)
    text_c, text_y = classes.dtype.kind in "USO", y.dtype.kind in "USO"
    if text_c != text_y:
        return (np.array([str(_key(c)) for c in classes]),
                np.array([_num_text(v) for v in y]))
    return classes, y


def _num_text(value):
    value = _key(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ----------------------------------------------------------------------------- regression
def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _float_pair(y_true, y_pred)
    return float(np.mean((y_true - y_pred) ** 2))


def half_mse(y_true, y_pred):
    """The regression cost the network trains on: ``sum((y - pred)^2) / (2 m)``."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    return float(np.sum((y_true - y_pred) ** 2) / (2 * y_true.shape[0]))


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _float_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def r2_score(y_true, y_pred):
    """Coefficient of determination ``1 - SS_res / SS_tot`` (0.0 for constant targets), both
    sums taken of values divided by the targets' largest deviation first, so targets around
    1e155 do not overflow their squares."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    centered = y_true - y_true.mean(axis=0)
    scale = float(np.max(np.abs(centered), initial=0.0))
    if not scale > 0 or not np.isfinite(scale):
        return 0.0
    ss_res = np.sum(((y_true - y_pred) / scale) ** 2)
    ss_tot = np.sum((centered / scale) ** 2)
    return float(1.0 - ss_res / ss_tot)


def _float_pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    return y_true, y_pred


def _same_length(a, b):
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{a.shape[0]} true labels but {b.shape[0]} predictions")


# ------------------------------------------------------------------------------- models
def is_regression(model):
    return getattr(model, "task_", None) == "regression"


def evaluate(model, X, y):
    """Metrics of a fitted model on ``(X, y)``: ``{"accuracy", "confusion", "labels"}`` for
    classification, ``{"r2", "mse", "mae"}`` for regression."""
    pred = model.predict(X)
    if is_regression(model):
        return {"r2": r2_score(y, pred), "mse": mean_squared_error(y, pred),
                "mae": mean_absolute_error(y, pred)}
    classes, y = align_labels(model.classes_, y)
    _, pred = align_labels(model.classes_, pred)
    extra = [label for label in np.unique(y) if _key(label) not in set(map(_key, classes))]
    labels = np.concatenate([classes, np.asarray(extra, dtype=classes.dtype)])
    return {"accuracy": accuracy(y, pred), "confusion": confusion_matrix(y, pred, labels),
            "labels": labels}


def dev_metrics(model, X, y):
    """``{"dev_cost", "dev_score"}`` of a model being trained: its training loss without
    the L2 term (cross-entropy or half MSE) and accuracy or R^2."""
    if is_regression(model):
        pred = model.predict(X)
        return {"dev_cost": half_mse(y, pred), "dev_score": r2_score(y, pred)}
    proba = model.predict_proba(X)
    classes = model.classes_
    index = np.searchsorted(classes, y)
    index = np.clip(index, 0, len(classes) - 1)
    known = classes[index] == y
    pred = classes[np.argmax(proba, axis=1)]
    cost = log_loss(index[known], proba[known]) if known.any() else float("nan")
    return {"dev_cost": cost, "dev_score": accuracy(y, pred)}


def format_metrics(results, task):
    """A table of ``{split: metrics}`` (from :func:`evaluate`): one row per split."""
    if task == "regression":
        cols = [("R^2", "r2", "{:.4f}"), ("MSE", "mse", "{:.6g}"), ("MAE", "mae", "{:.6g}")]
    else:
        cols = [("accuracy", "accuracy", "{:.4f}")]
    width = max(len(split) for split in results) + 2
    lines = [" " * width + "  ".join(f"{name:>10}" for name, _, _ in cols)]
    for split, metrics in results.items():
        cells = "  ".join(f"{fmt.format(metrics[key]):>10}" for _, key, fmt in cols)
        lines.append(f"{split:<{width}}{cells}")
    return "\n".join(lines)


# ------------------------------------------------------------------ bias and variance
#: The course's remedies, one line each ("Basic recipe for machine learning").
REMEDIES = {
    "high bias": "a bigger network (more units or layers), train longer, a better optimizer "
                 "(Adam), less regularization",
    "high variance": "more training data (or data augmentation), regularization (L2, "
                     "dropout), early stopping, a smaller network",
    "high bias and high variance": "first reduce bias (a bigger network, train longer), then "
                                   "variance (more data, L2 or dropout)",
    "neither": "nothing to fix: low bias and low variance (more data or a better Bayes-error "
               "estimate would sharpen the diagnosis)",
}


def bias_variance(train_error, dev_error, bayes_error=0.0, threshold=0.02, n_train=None,
                  n_dev=None):
    """The course's diagnosis from the errors (fractions in [0, 1]): ``avoidable bias =
    train_error - bayes_error``, ``variance = dev_error - train_error``; each is high above
    ``threshold`` (2 points by default) and, when the set sizes ``n_train``, ``n_dev`` are
    given, above two standard errors of its estimate too (``sqrt(e (1 - e) / n)`` per error),
    so that one mistake on a dev set of 30 is not called variance. Returns
    ``{"avoidable_bias", "variance", "diagnosis", "remedy"}``. The seeds' examples: train 1 %,
    dev 11 % is high variance; 15 % / 16 % high bias; 15 % / 30 % both; 0.5 % / 1 % neither
    (Bayes error about 0)."""
    errors = {"train_error": train_error, "dev_error": dev_error, "bayes_error": bayes_error,
              "threshold": threshold}
    for name, value in errors.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or \
                not np.isfinite(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be a fraction in [0, 1] (an error rate, e.g. "
                             f"0.05 for 5 %), got {value!r}")
    bias = float(train_error) - float(bayes_error)
    variance = float(dev_error) - float(train_error)
    se_train, se_dev = _standard_error(train_error, n_train), _standard_error(dev_error, n_dev)
    bars = (max(threshold, 2 * se_train),
            max(threshold, 2 * float(np.hypot(se_train, se_dev))))
    high = [name for name, gap, bar in (("high bias", bias, bars[0]),
                                        ("high variance", variance, bars[1])) if gap > bar]
    diagnosis = " and ".join(high) or "neither"
    return {"avoidable_bias": bias, "variance": variance, "diagnosis": diagnosis,
            "remedy": REMEDIES[diagnosis]}


def _standard_error(error, n):
    if n is None:
        return 0.0
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set sizes must be positive integers, got {n!r}")
    return float(np.sqrt(error * (1.0 - error) / n))


def model_error(metrics):
    """The error a diagnosis reads from ``evaluate``'s metrics: ``1 - accuracy``, or for
    regression ``1 - R^2`` (the part of the target's variance left unexplained), clipped to
    [0, 1]."""
    score = metrics["accuracy"] if "accuracy" in metrics else metrics["r2"]
    return float(min(max(1.0 - score, 0.0), 1.0))


def format_diagnosis(d, dev_name="dev"):
    """One line: the diagnosis, its two gaps and the remedy."""
    verdict = "neither high bias nor high variance" if d["diagnosis"] == "neither" else \
        d["diagnosis"]
    lead = "" if d["diagnosis"] == "neither" else "try: "
    return (f"diagnosis: {verdict} (avoidable bias {100 * d['avoidable_bias']:.1f} points, "
            f"variance {100 * d['variance']:.1f} points, from train and {dev_name} error); "
            f"{lead}{d['remedy']}")
