"""Sample and class weights of the estimators' ``fit``: checked once here, combined into one
weight per example and normalized to mean 1, so that the weighted cost is
``sum_i w_i l_i / sum_i w_i`` (an integer weight counts as that many copies of the example).
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import _validation as V

__all__ = ["check_sample_weight", "class_weight_factors", "combine"]


def check_sample_weight(sample_weight, n_samples):
    """``sample_weight`` as float64 ``(n_samples,)``, or None; each weight finite and >= 0,
    not all 0."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        w = np.full(n_samples, float(sample_weight))
    else:
        w = V.to_numpy(sample_weight, "sample_weight")
        if w.ndim != 1 or w.shape[0] != n_samples:
            raise ValueError(f"sample_weight must be 1-D with one weight per sample "
                             f"({n_samples}), got shape {w.shape}")
        if w.dtype.kind not in "biuf":
            raise TypeError(f"sample_weight must hold numbers, got dtype {w.dtype}")
        w = w.astype(np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight has NaN or infinite values; give finite weights")
    if np.any(w < 0):
        raise ValueError(f"sample_weight must be >= 0, got {w.min():g}")
    if not w.sum() > 0:
        raise ValueError("sample_weight is zero for every sample: at least one needs a weight "
                         "> 0")
    return w


def class_weight_factors(class_weight, classes, y_index):
    """Per-example factors ``(n_samples,)`` from ``class_weight`` (None, "balanced": ``n /
    (n_classes * count(class))``, or ``{label: weight}`` with 1 for the labels not listed), or
    None."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):  # "balanced" (the hyperparameter check allows no other)
        counts = np.bincount(y_index, minlength=len(classes)).astype(np.float64)
        per_class = len(y_index) / (len(classes) * np.maximum(counts, 1.0))
        return per_class[y_index]
    per_class = np.ones(len(classes))
    known = {c.item() if isinstance(c, np.generic) else c: i for i, c in enumerate(classes)}
    for label, weight in class_weight.items():
        if label not in known:
            raise ValueError(f"class_weight names the label {label!r}, which y does not have "
                             f"(labels: {list(known)[:10]})")
        per_class[known[label]] = float(weight)
    return per_class[y_index]


def combine(*factors):
    """The product of the factors that are not None (None when all are None)."""
    present = [f for f in factors if f is not None]
    if not present:
        return None
    out = present[0].copy()
    for f in present[1:]:
        out *= f
    if not out.sum() > 0:
        raise ValueError("the sample and class weights leave every sample at weight zero")
    return out
