"""The benchmark suite: vectorized backends against the course's for-loop baselines.

Groups are defined once here (``course``: the course's own examples; ``network``: activations,
matmul, the L-layer pass and a training epoch); their rows come from the backends that load on
this machine, so numba or cupy rows appear as soon as those backends do. ``xpnet bench`` and
the pytest-benchmark files in ``bench/`` both time this registry::

    from xpnet import benchmarks
    records, failures = benchmarks.run_suite(benchmarks.select_groups("dot,exp"), quick=True)
    print(benchmarks.format_table(records))

Importing this package imports neither numba, cupy nor torch (they load with their rows).
"""

from __future__ import annotations

from . import course, network  # noqa: F401  (registers the groups, in this order)
from .registry import (Group, Impl, Sizes, all_groups, cases, get_group, get_impl,
                       host_rng, implementations, known_impl_names, select_groups)
from .report import format_table, load_json, plot_speedups, write_json
from .runner import add_speedups, run_suite, validate_records
from .timing import FULL, QUICK, Policy, plan_rounds, time_callable

__all__ = ["Group", "Impl", "Sizes", "all_groups", "get_group", "select_groups", "cases",
           "get_impl", "host_rng", "implementations", "known_impl_names", "run_suite",
           "add_speedups", "validate_records", "format_table", "write_json", "load_json",
           "plot_speedups", "Policy", "FULL", "QUICK", "plan_rounds", "time_callable"]
