"""``bench/bench_numba_epoch.py``'s activation section on tiny arrays: its rows compute what
they claim (the ``floor`` row a copy then a product, the others ``g'(Z) dA``) and the script
prints every row and ratio."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")
pytestmark = pytest.mark.numba

from conftest import load_bench_script  # noqa: E402

SHAPE = (8, 64)


@pytest.fixture(scope="module")
def script():
    return load_bench_script("bench_numba_epoch")


def test_floor_row_is_a_copy_then_a_product(script):
    work = script.floor_work(SHAPE)
    rng = np.random.default_rng(0)
    Z = rng.standard_normal(SHAPE, dtype=np.float32)
    dA = rng.standard_normal(SHAPE, dtype=np.float32)
    dZ = work()
    assert dZ.shape == SHAPE and dZ.dtype == np.float32
    np.testing.assert_array_equal(dZ, dA * Z)


@pytest.mark.parametrize("impl", ["numba", "numba-threads", "numpy"])
def test_activation_rows_compute_the_backward(script, impl):
    dZ = script.activation_work(impl, "tanh", SHAPE)()
    rng = np.random.default_rng(0)
    Z = rng.standard_normal(SHAPE, dtype=np.float32)
    dA = rng.standard_normal(SHAPE, dtype=np.float32)
    A = np.tanh(Z.astype(np.float64))
    np.testing.assert_allclose(dZ, dA * (1 - A * A), rtol=1.3e-6, atol=1e-5)


def test_activation_section_prints_rows_and_ratios(script, capsys):
    script.run_activations(1, shape=SHAPE, warm_ms=1.0)
    out = capsys.readouterr().out
    assert "1 ms of warm-up calls" in out
    for name in script.ACTIVATIONS:
        line = next(row for row in out.splitlines() if row.strip().startswith(name))
        for part in ("numba-threads ", "numpy ", "floor ", "numpy/floor = ",
                     "numba-threads/floor = "):
            assert part in line, (name, part, line)
