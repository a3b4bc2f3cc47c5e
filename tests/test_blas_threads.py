"""The BLAS thread policy of training (``xpnet._blas``): one thread for small products, the
library's threads for big ones, an override, and the limit restored after every fit."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import xpnet
from xpnet import _blas

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads():
    return sorted({i["num_threads"] for i in threadpoolctl.threadpool_info()
                   if i["user_api"] == "blas"})


@pytest.fixture(autouse=True)
def fresh_setting(monkeypatch):
    monkeypatch.delenv("XPNET_BLAS_THREADS", raising=False)
    _blas._state["setting"] = None
    yield
    _blas._state["setting"] = None


def test_small_products_get_one_thread_big_ones_the_librarys():
    assert _blas.threads_for((40, 100, 100, 10), 100) == 1           # 2 MFLOP per product
    assert _blas.threads_for((784, 256, 128, 10), 128) is None       # 51 MFLOP
    assert _blas.threads_for((784, 256, 10), 8) == 1                 # small batch: small
    flops = _blas.SMALL_PRODUCT_FLOPS
    n = int(np.sqrt(flops / 2 / 64)) + 1
    assert _blas.threads_for((n, n), 64) is None and _blas.threads_for((n - 2, n - 2), 64) == 1


def test_the_override(monkeypatch):
    monkeypatch.setenv("XPNET_BLAS_THREADS", "default")
    assert _blas.threads_for((40, 100, 10), 100) is None
    monkeypatch.setenv("XPNET_BLAS_THREADS", "3")
    assert _blas.threads_for((784, 256, 10), 128) == 3
    assert _blas.set_blas_threads("auto") == "auto"
    assert _blas.threads_for((784, 256, 10), 128) is None
    for bad in ("0", "two", "-1", "1.5"):
        with pytest.raises(ValueError, match="'auto', 'default' or a positive integer"):
            _blas.set_blas_threads(bad)
    _blas.set_blas_threads(None)
    monkeypatch.setenv("XPNET_BLAS_THREADS", "lots")
    with pytest.raises(ValueError, match="XPNET_BLAS_THREADS"):
        _blas.blas_setting()


def _fit_seeing_threads(hidden, n_features, batch_size):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((300, n_features)), rng.integers(0, 3, 300)
    seen = []
    xpnet.NeuralNetwork(hidden=hidden, epochs=2, batch_size=batch_size, backend="numpy").fit(
        X, y, callback=lambda epoch, row: seen.append(blas_threads()))
    return seen


def test_a_small_fit_trains_on_one_blas_thread_and_restores_the_limit():
    before = blas_threads()
    assert _fit_seeing_threads((100, 100), 40, 100) == [[1], [1]]
    assert blas_threads() == before


def test_a_big_fit_keeps_the_librarys_threads():
    before = blas_threads()
    assert _fit_seeing_threads((256, 128), 784, 128) == [before, before]


def test_concurrent_fits_share_one_limit_and_restore_it_once():
    """Fits in threads (an ``n_jobs`` search) enter and leave the one process-wide limit in
    any order; the last to leave restores it. (What OpenBLAS reports from a thread that
    never ran a product is its own affair, so only the count and the restore are checked.)"""
    before = blas_threads()
    errors = []

    def work():
        try:
            _fit_seeing_threads((32,), 20, 50)
        except Exception as exc:   # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and _blas._state.get("users", 0) == 0 and blas_threads() == before


def test_a_blas_library_loaded_after_the_first_fit_is_limited_too():
    """SciPy brings its own OpenBLAS: loaded between two fits, the second fit limits it too."""
    _fit_seeing_threads((8,), 10, 50)
    pytest.importorskip("scipy.linalg")
    assert _fit_seeing_threads((100, 100), 40, 100) == [[1], [1]]
