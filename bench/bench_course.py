"""The course's vectorization examples, each row against the for-loop baseline.

``dot`` (two 1,000,000-element vectors), ``matvec`` (u = A v), ``exp`` (elementwise), and
``logreg-grad`` (the two-loop logistic-regression gradient against dw = X dZ^T / m). Rows:
loops, every backend that loads here, and torch where installed (see ``xpnet.benchmarks``).
"""

from __future__ import annotations

import pytest

from xpnet import benchmarks

GROUPS = "dot,matvec,exp,logreg-grad"

CASES = [pytest.param(group, impl, id=f"{group}-{impl}")
         for group, impl in benchmarks.cases(GROUPS)]


@pytest.mark.parametrize("group, impl", CASES)
def test_course_example(run_row, group, impl):
    run_row(group, impl)
