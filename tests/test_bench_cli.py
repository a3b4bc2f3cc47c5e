"""The benchmark suite: ``xpnet bench`` end to end, the timing loop, ratios, the registry."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from xpnet import backends, benchmarks
from xpnet.backends.numpy_backend import NumpyBackend
from xpnet.benchmarks import registry, report, runner, timing
from xpnet.cli import main
from xpnet.ops import ACTIVATIONS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Seconds are irrelevant in these tests: one short round per row, no settle pause.
TINY = timing.Policy(budget_s=0.0, min_rounds=1, max_rounds=2, min_round_s=0.0, settle_s=0.0)


@pytest.fixture
def tiny_policy(monkeypatch):
    monkeypatch.setattr(timing, "QUICK", TINY)
    monkeypatch.setattr(timing, "FULL", TINY)
    return TINY


# ------------------------------------------------------------------------- the CLI
def test_cli_quick_exp_writes_valid_json_and_table(tmp_path, capsys, tiny_policy):
    path = tmp_path / "bench.json"
    code = main(["bench", "--quick", "--groups", "exp", "--json", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    records = json.loads(path.read_text())
    benchmarks.validate_records(records)
    assert isinstance(records, list)
    assert {r["group"] for r in records} == {"exp"}
    impls = [r["impl"] for r in records]
    assert impls[0] == "loops" and "numpy" in impls
    for key in ("group", "impl", "size", "median_s", "min_s", "max_s", "rounds"):
        assert all(key in r for r in records)
    group = benchmarks.get_group("exp")
    sizes = {r["impl"]: r["size"] for r in records}
    assert sizes["loops"] == group.loops_scales.quick
    assert sizes["numpy"] == group.scales.quick
    loops = next(r for r in records if r["impl"] == "loops")
    assert loops["speedup_vs_loops"] == pytest.approx(1.0)
    header = out.splitlines()[0].split()
    assert header[:2] == ["group", "impl"] and "median" in header and "numpy" in header
    assert "per item" in " ".join(out.split())
    assert re.search(r"\[\s*1/\d+\] exp / loops", err)  # progress goes to stderr
    assert "exp / loops" not in out


def test_cli_plot_writes_png(tmp_path, capsys, tiny_policy):
    pytest.importorskip("matplotlib")
    path = tmp_path / "speedups.png"
    code = main(["bench", "--quick", "--groups", "dot", "--impls", "loops,numpy",
                 "--plot", str(path)])
    assert code == 0, capsys.readouterr().err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_without_matplotlib_says_so_once_and_skips_plot(
        tmp_path, capsys, monkeypatch, tiny_policy):
    monkeypatch.setattr(report, "have_matplotlib", lambda: False)
    path = tmp_path / "speedups.png"
    code = main(["bench", "--quick", "--groups", "exp", "--impls", "loops,numpy",
                 "--plot", str(path)])
    err = capsys.readouterr().err
    assert code == 0
    assert err.count("matplotlib is not installed") == 1
    assert not path.exists()


@pytest.mark.parametrize("argv, words", [
    (["--groups", "nope"], ["unknown benchmark group 'nope'", "dot"]),
    (["--impls", "fortran"], ["fortran", "available here", "numpy"]),
    (["--json", "/no/such/folder/x.json"], ["does not exist"]),
])
def test_cli_bad_arguments_exit_2_before_running(argv, words, capsys):
    code = main(["bench", "--quick"] + argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1  # one line, no progress: nothing ran
    for word in words:
        assert word in err


def test_cli_list_names_every_group(capsys):
    assert main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    for group in benchmarks.all_groups():
        assert group.name in out


# ------------------------------------------------------------------------- timing
class FakeClock:
    """Time advances only when work or sync runs, so round times are exact."""

    def __init__(self, work_s, sync_s):
        self.now = 0.0
        self.work_s, self.sync_s = work_s, sync_s
        self.events = []

    def clock(self):
        self.events.append("clock")
        return self.now

    def work(self):
        self.events.append("work")
        self.now += self.work_s

    def sync(self):
        self.events.append("sync")
        self.now += self.sync_s


def test_sync_runs_inside_the_timer():
    fake = FakeClock(work_s=0.5, sync_s=0.25)
    policy = timing.Policy(budget_s=0.0, min_rounds=3, max_rounds=3, settle_s=0.0)
    t = timing.time_callable(fake.work, fake.sync, policy, clock=fake.clock)
    assert t.rounds == 3 and t.iterations == 1
    assert t.times == (0.75, 0.75, 0.75)  # the device wait is counted
    stops = [k for k, e in enumerate(fake.events) if e == "clock"][1::2]
    assert all(fake.events[k - 1] == "sync" for k in stops)


class CompilingWork(FakeClock):
    """The first call costs ``compile_s`` more (a JIT compiling), the others ``work_s``."""

    def __init__(self, work_s, compile_s):
        super().__init__(work_s, 0.0)
        self.compile_s = compile_s

    def work(self):
        if "work" not in self.events:
            self.now += self.compile_s
        super().work()


def test_warmup_is_untimed_and_does_not_size_the_rounds():
    policy = timing.Policy(budget_s=1.0, min_rounds=2, max_rounds=30, settle_s=0.0)
    warm = CompilingWork(work_s=0.1, compile_s=5.0)
    t = timing.time_callable(warm.work, warm.sync, policy, warmup=True, clock=warm.clock)
    assert t.rounds == 10  # 1 s budget / 0.1 s per call, not 1 s / 5.1 s
    assert t.times == pytest.approx((0.1,) * 10)
    assert warm.events.count("work") == 11


def test_loops_rows_count_their_first_call():
    policy = timing.Policy(budget_s=0.0, min_rounds=2, max_rounds=2, settle_s=0.0)
    cold = FakeClock(1.0, 0.0)
    timing.time_callable(cold.work, cold.sync, policy, warmup=False, clock=cold.clock)
    assert cold.events.count("work") == 2


def test_settle_pause_comes_first():
    slept = []
    fake = FakeClock(1.0, 0.0)
    policy = timing.Policy(budget_s=0.0, min_rounds=1, max_rounds=1, settle_s=0.25)
    timing.time_callable(fake.work, fake.sync, policy, clock=fake.clock,
                         sleep=lambda s: slept.append((s, len(fake.events))))
    assert slept == [(0.25, 0)]


def test_plan_rounds_repeats_short_calls_and_clamps_rounds():
    policy = timing.Policy(budget_s=1.0, min_rounds=3, max_rounds=30, min_round_s=1e-3)
    assert timing.plan_rounds(1e-4, policy) == (30, 10)
    assert timing.plan_rounds(0.1, policy) == (10, 1)
    assert timing.plan_rounds(5.0, policy) == (3, 1)
    assert timing.plan_rounds(0.1, policy, max_rounds=2) == (2, 1)


def test_policy_rejects_bad_settings():
    with pytest.raises(ValueError, match="min_rounds"):
        timing.Policy(min_rounds=5, max_rounds=2)
    with pytest.raises(ValueError, match="settle_s"):
        timing.Policy(settle_s=-1)


# -------------------------------------------------------------- ratios and records
def _rec(group, impl, size, median):
    return {"group": group, "impl": impl, "size": size, "median_s": median,
            "min_s": median, "max_s": median, "rounds": 3}


def test_speedups_are_per_item_when_sizes_differ():
    recs = runner.add_speedups([
        _rec("g", "loops", 10, 1.0),        # 0.1 s per item
        _rec("g", "numpy", 1000, 0.01),     # 1e-5 s per item
        _rec("g", "numba", 1000, 0.02),     # 2e-5 s per item: loses to numpy
        _rec("h", "numba", 5, 1.0),         # a group with neither reference row
    ])
    by = {(r["group"], r["impl"]): r for r in recs}
    assert by["g", "numpy"]["speedup_vs_loops"] == pytest.approx(1e4)
    assert by["g", "numba"]["speedup_vs_loops"] == pytest.approx(5e3)
    assert by["g", "numba"]["speedup_vs_numpy"] == pytest.approx(0.5)
    assert by["g", "loops"]["speedup_vs_numpy"] == pytest.approx(1e-4)
    assert by["h", "numba"]["speedup_vs_loops"] is None
    table = report.format_table(recs)
    assert "10,000x" in table and "0.5x" in table


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("rounds"), "lacks the field 'rounds'"),
    (lambda r: r.update(size=True), "'size' must be int"),
    (lambda r: r.update(min_s=2.0), "min_s <= median_s"),
    (lambda r: r.update(group=3), "'group' must be str"),
])
def test_validate_records_rejects_malformed(change, message):
    rec = _rec("g", "numpy", 10, 1.0)
    change(rec)
    with pytest.raises(ValueError, match=message):
        runner.validate_records([rec])
    with pytest.raises(ValueError, match="list"):
        runner.validate_records({"group": "g"})


def test_json_roundtrip(tmp_path):
    recs = runner.add_speedups([_rec("g", "loops", 10, 1.0), _rec("g", "numpy", 100, 0.5)])
    path = tmp_path / "r.json"
    report.write_json(recs, str(path))
    assert report.load_json(str(path)) == recs
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".bench-")]


# ------------------------------------------------------------------------ registry
def test_groups_in_order_course_examples_first():
    names = [g.name for g in benchmarks.all_groups()]
    assert names[:4] == ["dot", "matvec", "exp", "logreg-grad"]
    assert names[-3:] == ["matmul", "layers", "epoch"]
    assert [g.name for g in benchmarks.select_groups("activation")] == [
        f"activation-{name}" for name in ACTIVATIONS if not ACTIVATIONS[name].identity]
    assert [g.name for g in benchmarks.select_groups("epoch, dot")] == ["dot", "epoch"]
    with pytest.raises(ValueError, match="unknown benchmark group"):
        benchmarks.select_groups("dot,nope")


def test_course_sizes_match_the_issue():
    dot = benchmarks.get_group("dot")
    assert dot.scales.full == 1_000_000 and dot.loops_scales.full == 1_000_000
    act = benchmarks.get_group("activation-relu")
    assert act.describe(act.scales.full) == "Z, dA (1024, 4096)"
    epoch = benchmarks.get_group("epoch")
    assert epoch.scales.full == 60_000 and epoch.dtype == "float32"


def test_rows_follow_available_backends(monkeypatch, tiny_policy):
    """A backend that loads gets a row in every group without any benchmark code."""
    class Fake(NumpyBackend):
        name = "fake"

    fake = Fake()
    real_resolve = backends.resolve
    monkeypatch.setattr(backends, "available_backends", lambda: ["loops", "numpy", "fake"])
    monkeypatch.setattr(backends, "resolve",
                        lambda name=None: fake if name == "fake" else real_resolve(name))
    for group in benchmarks.all_groups():
        names = [impl.name for impl in benchmarks.implementations(group)]
        assert names[:3] == ["loops", "numpy", "fake"]
    records, failures = benchmarks.run_suite(benchmarks.select_groups("exp"), quick=True,
                                             impls=["numpy", "fake"], progress=None)
    assert failures == []
    assert [r["impl"] for r in records] == ["numpy", "fake"]


def test_a_failing_row_is_reported_and_the_others_still_run(monkeypatch, tiny_policy):
    group = benchmarks.get_group("exp")

    def broken(bk, inputs):
        if bk.name == "numpy":
            raise RuntimeError("kernel exploded")
        return group.backend_work(bk, inputs)
    monkeypatch.setitem(registry._REGISTRY, "exp",
                        registry.Group(**{**group.__dict__, "backend_work": broken}))
    records, failures = benchmarks.run_suite([registry._REGISTRY["exp"]], quick=True,
                                             impls=["loops", "numpy"], progress=None)
    assert [r["impl"] for r in records] == ["loops"]
    assert failures == ["exp/numpy: RuntimeError: kernel exploded"]


def _flat(result):
    if isinstance(result, tuple):
        return np.concatenate([_flat(r) for r in result])
    if not isinstance(result, np.ndarray) and hasattr(result, "get"):
        result = result.get()  # a CuPy array: copy it to the host explicitly
    return np.asarray(result, dtype=np.float64).ravel()


VECTORIZED = [name for name in backends.available_backends() if name != "loops"]
_LOOPS_RESULTS = {}  # group name -> the loops row's result (computed once, it is the slow one)


@pytest.mark.parametrize("backend", VECTORIZED)
@pytest.mark.parametrize("group_name", [g.name for g in benchmarks.all_groups()])
def test_every_row_does_the_same_work_as_the_loops_baseline(group_name, backend):
    """At the loops' quick size, each backend row computes what the loops row computes."""
    group = benchmarks.get_group(group_name)
    scale = group.loops_scales.quick
    inputs = group.make_inputs(scale, benchmarks.host_rng())
    rows = {impl.name: impl for impl in benchmarks.implementations(group)}
    if group_name not in _LOOPS_RESULTS:
        _LOOPS_RESULTS[group_name] = _flat(rows["loops"].prepare(inputs)())
    expected = _LOOPS_RESULTS[group_name]
    impl = rows[backend]
    actual = _flat(impl.prepare(inputs)())
    impl.sync()
    if group.dtype == "float64":
        tol = {"rtol": 1e-9, "atol": 0.0}
    else:
        tol = {"rtol": 1e-4, "atol": 1e-5}
    np.testing.assert_allclose(actual, expected, **tol)


# ---------------------------------------------------------- bench/ is separate
def test_bench_folder_is_not_collected_by_the_test_run():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    assert cfg["tool:pytest"]["testpaths"].split() == ["tests"]
    names = os.listdir(os.path.join(ROOT, "bench"))
    assert "conftest.py" in names and any(n.startswith("bench_") for n in names)
    assert not [n for n in names if n.startswith("test_") or n.endswith("_test.py")]


def test_pytest_benchmark_files_run_one_row(tmp_path):
    pytest.importorskip("pytest_benchmark")
    out = tmp_path / "pb.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "bench/bench_course.py", "-q", "-p", "no:cacheprovider",
         "-k", "exp-numpy", "--bench-quick", "--benchmark-only", f"--benchmark-json={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    (bench,) = data["benchmarks"]
    assert bench["group"] == "exp"
    assert bench["extra_info"]["size"] == benchmarks.get_group("exp").scales.quick
    assert bench["extra_info"]["impl"] == "numpy"
