"""Backend registry and selection: names, XPNET_BACKEND, auto, overrides, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import xpnet
from xpnet import backends
from conftest import ROOT


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch):
    monkeypatch.delenv("XPNET_BACKEND", raising=False)
    backends._reset_for_tests()
    yield
    backends._reset_for_tests()


def test_unknown_name_lists_choices():
    with pytest.raises(ValueError, match=r"unknown backend 'tensorflow'.*loops, numpy"):
        xpnet.set_backend("tensorflow")


def test_non_string_name_is_type_error():
    with pytest.raises(TypeError, match="backend must be a name"):
        backends.resolve(3)


def test_env_var_read_at_first_use(monkeypatch):
    monkeypatch.setenv("XPNET_BACKEND", "loops")
    assert xpnet.get_backend().name == "loops"
    monkeypatch.setenv("XPNET_BACKEND", "numpy")
    assert xpnet.get_backend().name == "loops"  # already chosen; read once


def test_env_var_unknown_name_errors(monkeypatch):
    monkeypatch.setenv("XPNET_BACKEND", "nope")
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        xpnet.get_backend()


def test_auto_picks_first_available_and_says_why():
    name, reason = backends.auto_choice()
    assert name in backends.AUTO_ORDER
    assert name in reason
    assert xpnet.get_backend().name == name


def test_set_and_use_backend_override():
    xpnet.set_backend("numpy")
    with xpnet.use_backend("loops") as bk:
        assert bk.name == "loops"
        assert xpnet.get_backend().name == "loops"
    assert xpnet.get_backend().name == "numpy"


def test_use_backend_restores_after_error():
    xpnet.set_backend("numpy")
    with pytest.raises(RuntimeError):
        with xpnet.use_backend("loops"):
            raise RuntimeError("boom")
    assert xpnet.get_backend().name == "numpy"


def test_missing_dependency_names_package_and_install(monkeypatch, tmp_path):
    (tmp_path / "fake_gpu_backend.py").write_text(
        "import some_gpu_package_that_is_not_installed\n\ndef create():\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(backends.BACKENDS, "cupy",
                        ("fake_gpu_backend", 'pip install "xpnet[cuda]"'))
    with pytest.raises(backends.BackendUnavailable,
                       match=r"'some_gpu_package_that_is_not_installed' is missing.*xpnet\[cuda\]"):
        xpnet.set_backend("cupy")
    assert "cupy" not in backends.available_backends()
    name, reason = backends.auto_choice()
    assert name != "cupy" and "cupy" in reason


def test_available_backends_always_has_reference_ones():
    names = xpnet.available_backends()
    assert names[:2] == ["loops", "numpy"]


def test_per_model_backend_argument():
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = (X[:, 0] > 0).astype(int)
    model = xpnet.NeuralNetwork(hidden=(3,), epochs=2, backend="loops", seed=0).fit(X, y)
    assert model.backend_ == "loops"


def test_import_does_not_load_optional_packages():
    code = ("import sys, xpnet; xpnet.NeuralNetwork; "
            "print(sorted(m for m in ('numba', 'cupy', 'mpi4py', 'dask', 'llvmlite', "
            "'matplotlib', 'torch') if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    assert out.stdout.strip() == "[]"
