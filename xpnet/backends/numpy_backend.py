"""The ``numpy`` backend: the vectorized reference implementation."""

from __future__ import annotations

import numpy as np

from .array_backend import ArrayBackend


class NumpyBackend(ArrayBackend):
    """Vectorized NumPy; matmul goes to the BLAS NumPy links (OpenBLAS on PyPI wheels). Every
    op runs the formula of its definition in ``xpnet.ops`` (no fused kernels)."""

    name = "numpy"
    device = "cpu"

    def __init__(self):
        super().__init__(np)

    def _take_into_options(self, X, idx):
        """NumPy buffers ``out`` under mode="raise" (a hidden full-size temporary and a second
        copy); so the bounds are checked once here and the take runs unbuffered, mode="clip"."""
        m = X.shape[1]
        if idx.size:
            lo, hi = int(idx.min()), int(idx.max())
            if lo < -m or hi >= m:
                bad = lo if lo < -m else hi
                raise IndexError(f"index {bad} is out of bounds for axis 1 with size {m}")
            if lo < 0:
                idx = np.where(idx < 0, idx + m, idx)
        return idx, {"mode": "clip"}


def create():
    return NumpyBackend()
