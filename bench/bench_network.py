"""The network's own work on every backend: activations forward and backward on (1024, 4096),
square matmul, one forward + backward pass of the L-layer model, and one training epoch of the
MLP 784-256-128-10 (batch 128, Adam, float32) on 60,000 synthetic samples.
"""

from __future__ import annotations

import pytest

from xpnet import benchmarks

GROUPS = "activation,matmul,layers,epoch"

CASES = [pytest.param(group, impl, id=f"{group}-{impl}")
         for group, impl in benchmarks.cases(GROUPS)]


@pytest.mark.parametrize("group, impl", CASES)
def test_network_work(run_row, group, impl):
    run_row(group, impl)
