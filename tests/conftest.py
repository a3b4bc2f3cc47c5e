"""Shared fixtures: the backends available on this machine, tolerances, seeded data."""

from __future__ import annotations

import os
import signal
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from xpnet import backends as _backends  # noqa: E402

# A suite started in the background of a non-interactive shell (``.ci/run &``, nohup) inherits
# SIGINT ignored, and so would every child it starts: the Ctrl-C tests could not interrupt
# anything. Give this process Python's Ctrl-C handler (children then start with SIGINT's
# default disposition and install their own).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

TOL = {"float64": {"rtol": 1e-7, "atol": 0.0}, "float32": {"rtol": 1.3e-6, "atol": 1e-5}}


def load_bench_script(name):
    """The module ``bench/<name>.py`` (the benchmark scripts are not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "bench", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def vectorized_backends():
    """Every available backend except the loops oracle (numpy, numba, cupy where they load)."""
    return [name for name in _backends.available_backends() if name != "loops"]


def require_cupy_gpu():
    """The ``cupy`` module where CuPy imports and sees a CUDA GPU; skips the test otherwise."""
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError without a driver or device
        pytest.skip(f"no CUDA GPU visible: {exc}")
    if count < 1:
        pytest.skip("no CUDA GPU visible")
    return cupy


@pytest.fixture(params=vectorized_backends())
def vbackend(request):
    """Each available vectorized backend in turn (parity is checked against ``loops``)."""
    return _backends.resolve(request.param)


@pytest.fixture(params=["float64", "float32"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def assert_close(actual, expected, dtype):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64),
                               np.asarray(expected, dtype=np.float64), **TOL[str(dtype)])
