"""The estimators' input and target scaling: statistics fitted on the training rows, the
standardized copy moved to the device once, and a regressor's targets scaled and restored.

``InputScaling`` is a mixin of ``NeuralNetwork``: it reads ``normalize`` and, once a fit has
chosen them, the backend ``_bk`` and dtype ``_dtype``; it sets ``mean_``, ``std_`` and, for a
regressor, ``target_mean_``, ``target_std_``.
"""

from __future__ import annotations

import numpy as np

from .data import column_mean_std

__all__ = ["InputScaling", "check_representable"]


def check_representable(X, dtype):
    """Inputs beyond ``dtype``'s range would become inf on the device: a ValueError first."""
    if np.dtype(dtype).itemsize >= X.dtype.itemsize or not X.size:
        return
    limit, peak = float(np.finfo(dtype).max), float(np.max(np.abs(X)))
    if peak > limit:
        raise ValueError(f"X has values up to {peak:.3g}, beyond {dtype}'s range "
                         f"({limit:.3g}); standardize them (normalize=True) or train in "
                         "dtype='float64'")


class InputScaling:
    """Fitting, applying and undoing the scaling of inputs ``X (m, n[0])`` and targets."""

    def _fit_normalizer(self, X, w=None, bk=None):
        if self.normalize:
            stats = None if bk is None else bk.column_stats
            self.mean_, std = column_mean_std(X, weights=w, stats=stats)
            self.std_ = np.where(std > 0, std, 1.0)
        else:
            self.mean_ = np.zeros(X.shape[1])
            self.std_ = np.ones(X.shape[1])

    def _fit_target_scaling(self, Y, w=None):
        """A regressor's ``target_mean_``, ``target_std_ (n_out,)``: with ``normalize`` the
        network trains on standardized targets and ``predict`` restores the scale (so a target
        around 1e20 trains like one around 1); without it, None."""
        self.target_mean_ = self.target_std_ = None
        if self.normalize:
            mean, std = column_mean_std(Y.T, weights=w)
            self.target_mean_, self.target_std_ = mean, np.where(std > 0, std, 1.0)

    def _scale_targets(self, Y):
        """``(Y - target_mean_) / target_std_`` of ``Y (n_out, m)`` (unchanged without)."""
        if getattr(self, "target_std_", None) is None:
            return Y
        return (Y - self.target_mean_[:, None]) / self.target_std_[:, None]

    def _unscale_targets(self, A):
        """Network outputs ``A (n_samples, n_out)`` in the targets' units."""
        if getattr(self, "target_std_", None) is None:
            return A
        return A * self.target_std_ + self.target_mean_

    def _to_device(self, X):
        """Normalize on the host and move once; returns ``X (n[0], m)`` stored sample-major
        (each example's column contiguous, a transposed view of the ``(m, n[0])`` rows), the
        layout the training loop gathers mini-batches from without a copy."""
        if self.normalize:
            rows = self._bk.standardize(X, self.mean_, self.std_, self._dtype)
        else:  # (x - 0) / 1 == x exactly
            check_representable(X, self._dtype)
            rows = np.ascontiguousarray(X, dtype=self._dtype)
        bk = self._bk
        return bk.transpose(bk.asarray(rows))
