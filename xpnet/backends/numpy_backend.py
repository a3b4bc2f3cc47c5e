"""The ``numpy`` backend: the vectorized reference implementation."""

from __future__ import annotations

import numpy as np

from .array_backend import ArrayBackend


class NumpyBackend(ArrayBackend):
    """Vectorized NumPy; matmul goes to the BLAS NumPy links (OpenBLAS on PyPI wheels)."""

    name = "numpy"
    device = "cpu"

    def __init__(self):
        super().__init__(np)


def create():
    return NumpyBackend()
