"""Run groups on every implementation and turn the timings into records with per-item ratios.

A record is a dict: ``group``, ``impl``, ``size`` (items of work, in ``unit``s), ``median_s``,
``min_s``, ``max_s`` (seconds per call), ``rounds``, plus ``iterations``, ``unit``, ``shape``,
``dtype``, ``device``, ``mode``, ``per_item_s`` and the speedups against the ``loops`` and
``numpy`` rows of the same group, ``speedup_vs_loops`` and ``speedup_vs_numpy`` (None where that
row is missing). Speedups compare medians per item, because the loops baseline may run at a
smaller size.
"""

from __future__ import annotations

import sys
import traceback

from . import registry, timing

REQUIRED_FIELDS = {"group": str, "impl": str, "size": int, "median_s": float, "min_s": float,
                   "max_s": float, "rounds": int}


def stderr_progress(message, end="\n"):
    """Default progress sink: one line per row on stderr."""
    print(message, end=end, file=sys.stderr, flush=True)


def _quiet(message, end="\n"):
    return None


def plan(groups, impls=None):
    """``[(group, [Impl, ...])]`` for ``groups`` on this machine (``impls`` filters rows)."""
    return [(group, registry.implementations(group, only=impls)) for group in groups]


def run_suite(groups, quick=False, impls=None, progress=stderr_progress, policy=None, seed=0):
    """Time each implementation of each group; returns ``(records, failures)``.

    ``failures`` is a list of ``"group/impl: error"`` lines for rows that raised; the other rows
    still run. ``progress(message, end=...)`` receives the progress lines (None: silent).
    """
    mode = "quick" if quick else "full"
    policy = policy or (timing.QUICK if quick else timing.FULL)
    progress = progress or _quiet
    planned = plan(groups, impls)
    total = sum(len(rows) for _, rows in planned)
    records, failures, done = [], [], 0
    for group, rows in planned:
        inputs = {}
        for impl in rows:
            done += 1
            scale = group.scale_for(impl.kind, mode)
            progress(f"[{done:>2}/{total}] {group.name} / {impl.name} "
                     f"({group.describe(scale)}) ... ", end="")
            try:
                if scale not in inputs:
                    inputs[scale] = group.make_inputs(scale, registry.host_rng(seed))
                record = _run_row(group, impl, scale, inputs[scale], policy, mode)
            except Exception as exc:  # a failing row must not lose the others' results
                failures.append(f"{group.name}/{impl.name}: {type(exc).__name__}: {exc}")
                progress(f"FAILED: {type(exc).__name__}: {exc}")
                if progress is not _quiet:
                    traceback.print_exc(file=sys.stderr)
                continue
            records.append(record)
            rounds = record["rounds"]
            progress(f"median {format_seconds(record['median_s'])} ({rounds} "
                     f"round{'s' if rounds != 1 else ''} x {record['iterations']} call"
                     f"{'s' if record['iterations'] != 1 else ''})")
        inputs.clear()
    return add_speedups(records), failures


def _run_row(group, impl, scale, inputs, policy, mode):
    work = impl.prepare(inputs)
    cap = getattr(group.max_rounds, mode)
    t = timing.time_callable(work, impl.sync, policy, warmup=impl.warmup, max_rounds=cap)
    size = int(group.items(scale))
    return {"group": group.name, "impl": impl.name, "size": size,
            "median_s": float(t.median_s), "min_s": float(t.min_s), "max_s": float(t.max_s),
            "rounds": t.rounds, "iterations": t.iterations, "unit": group.unit,
            "shape": group.describe(scale), "dtype": group.dtype, "device": impl.device,
            "mode": mode, "per_item_s": float(t.median_s) / size}


def add_speedups(records):
    """Set ``speedup_vs_loops`` and ``speedup_vs_numpy`` on each record (per item); returns them.

    ``speedup_vs_X = per_item(X) / per_item(this row)``: above 1 this row is faster than X.
    """
    base = {}
    for rec in records:
        if rec["impl"] in ("loops", "numpy"):
            base[(rec["group"], rec["impl"])] = rec["median_s"] / rec["size"]
    for rec in records:
        mine = rec["median_s"] / rec["size"]
        for ref in ("loops", "numpy"):
            ref_item = base.get((rec["group"], ref))
            rec[f"speedup_vs_{ref}"] = None if ref_item is None else ref_item / mine
    return records


def validate_records(records):
    """Raise ValueError unless ``records`` is a list of well-formed benchmark records."""
    if not isinstance(records, list):
        raise ValueError(f"benchmark results must be a list of records, got "
                         f"{type(records).__name__}")
    for k, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise ValueError(f"record {k} is a {type(rec).__name__}, expected an object")
        for key, kind in REQUIRED_FIELDS.items():
            if key not in rec:
                raise ValueError(f"record {k} lacks the field {key!r}")
            value = rec[key]
            ok = isinstance(value, kind) and not isinstance(value, bool)
            if kind is float:
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not ok:
                raise ValueError(f"record {k}: {key!r} must be {kind.__name__}, got {value!r}")
        if rec["size"] < 1 or rec["rounds"] < 1:
            raise ValueError(f"record {k}: size and rounds must be >= 1")
        if not 0 <= rec["min_s"] <= rec["median_s"] <= rec["max_s"]:
            raise ValueError(f"record {k}: need 0 <= min_s <= median_s <= max_s, got "
                             f"{rec['min_s']}, {rec['median_s']}, {rec['max_s']}")
    return records


def format_seconds(s):
    """``0.000412`` -> ``'412 us'``: three significant digits in a readable unit."""
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"
