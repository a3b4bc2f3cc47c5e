"""pytest-benchmark suites over the registry in ``xpnet.benchmarks`` (not part of the test run).

Run them with ``python -m pytest bench/ --benchmark-only`` (add ``--bench-quick`` for the quick
sizes). The normal test run (``pytest``, ``testpaths = tests``) never collects this folder, and
the files here are named ``bench_*.py``, which pytest's default patterns do not match; this
conftest collects them when ``bench/`` is asked for.

Each test times one (group, implementation) row: ``benchmark.group`` is the group, so
pytest-benchmark compares the rows of a group side by side, and ``benchmark.extra_info``
carries ``size`` (items of work), ``unit``, ``shape``, ``dtype`` and ``device``. The loops
baseline runs at smaller sizes; compare per item (``xpnet bench`` prints those ratios).
"""

from __future__ import annotations

import os
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from xpnet import benchmarks  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--bench-quick", action="store_true", default=False,
                     help="xpnet benchmarks: the quick sizes and rounds of `xpnet bench --quick`")


def pytest_collect_file(file_path, parent):
    """Collect ``bench_*.py`` files in this folder as test modules.

    A file named on the command line is collected by pytest itself; collecting it here too
    would run it twice.
    """
    if parent.session.isinitpath(file_path):
        return None
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def bench_mode(request):
    return "quick" if request.config.getoption("--bench-quick") else "full"


@pytest.fixture
def run_row(benchmark, bench_mode):
    """``run_row(group_name, impl_name)``: time that row with pytest-benchmark; returns the result.

    Inputs are made and moved to the device outside the timer; each timed call ends with the
    row's ``sync()`` (``backend.synchronize()`` on a GPU). An untimed warm-up call (not for
    the pure-Python loops) compiles JIT kernels; the next call sizes the rounds, like
    ``xpnet bench``.
    """
    def run(group_name, impl_name):
        group = benchmarks.get_group(group_name)
        impl = benchmarks.get_impl(group, impl_name)
        policy = benchmarks.QUICK if bench_mode == "quick" else benchmarks.FULL
        scale = group.scale_for(impl.kind, bench_mode)
        work = impl.prepare(group.make_inputs(scale, benchmarks.host_rng()))
        cap = getattr(group.max_rounds, bench_mode)

        def target():
            result = work()
            impl.sync()
            return result

        time.sleep(policy.settle_s)  # let the previous row's BLAS/OpenMP threads go idle
        if impl.warmup:
            target()  # compiles, allocates: not timed, and too slow to size the rounds by
            start = time.perf_counter()
            target()
            rounds, iterations = benchmarks.plan_rounds(time.perf_counter() - start, policy, cap)
        else:
            rounds, iterations = min(policy.min_rounds, cap), 1
        benchmark.group = group.name
        benchmark.extra_info.update(
            size=int(group.items(scale)), unit=group.unit, shape=group.describe(scale),
            dtype=group.dtype, impl=impl.name, device=impl.device, mode=bench_mode)
        return benchmark.pedantic(target, rounds=rounds, iterations=iterations, warmup_rounds=0)
    return run
