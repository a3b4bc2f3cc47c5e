"""Reports of benchmark records: a text or Markdown table, a JSON file, a bar chart."""

from __future__ import annotations

import importlib.util
import json
import textwrap

from .runner import format_seconds, validate_records
from .._atomic import atomic_open

FOOTNOTE = ("Speedups compare the median time per item (median / size): x loops = loops' time "
            "per item / this row's, x numpy likewise; above 1x this row is faster. The loops "
            "baseline runs at a smaller size where its size differs.")

COLUMNS = ("group", "impl", "size", "median", "min", "max", "x loops", "x numpy")


def format_speedup(x):
    """``512.3`` -> ``'512x'``; ``0.4567`` -> ``'0.457x'``; ``7.3e-06``; None -> ``'-'``."""
    if x is None:
        return "-"
    if x >= 1000:
        return f"{x:,.0f}x"
    if x < 0.01:
        return f"{x:.2g}x"
    return f"{x:.3g}x"


def _row(rec):
    size = f"{rec['size']:,}"
    if rec.get("unit"):
        size += f" {rec['unit']}s"
    return (rec["group"], rec["impl"], size, format_seconds(rec["median_s"]),
            format_seconds(rec["min_s"]), format_seconds(rec["max_s"]),
            format_speedup(rec.get("speedup_vs_loops")),
            format_speedup(rec.get("speedup_vs_numpy")))


def format_table(records, markdown=False):
    """The results table (with the per-item footnote) as one string."""
    rows = [_row(rec) for rec in records]
    if markdown:
        lines = ["| " + " | ".join(COLUMNS) + " |",
                 "| " + " | ".join(["---"] * 2 + ["---:"] * (len(COLUMNS) - 2)) + " |"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n\n" + FOOTNOTE + "\n"
    note = textwrap.fill(FOOTNOTE, width=100)
    widths = [max([len(c)] + [len(row[k]) for row in rows]) for k, c in enumerate(COLUMNS)]
    left = 2

    def fmt(row):
        return "  ".join(cell.ljust(w) if k < left else cell.rjust(w)
                         for k, (cell, w) in enumerate(zip(row, widths))).rstrip()
    lines = [fmt(COLUMNS), fmt(["-" * w for w in widths])]
    previous = None
    for rec, row in zip(records, rows):
        if previous is not None and rec["group"] != previous:
            lines.append("")
        previous = rec["group"]
        lines.append(fmt(row))
    return "\n".join(lines) + "\n\n" + note + "\n"


def write_json(records, path):
    """Write the records as a JSON list (atomically: a temporary file, then ``os.replace``)."""
    validate_records(records)
    with atomic_open(path, "w") as fh:
        json.dump(records, fh, indent=2)
        fh.write("\n")
    return path


def load_json(path):
    """Read and validate a JSON file written by ``write_json``."""
    with open(path) as fh:
        return validate_records(json.load(fh))


def have_matplotlib():
    return importlib.util.find_spec("matplotlib") is not None


def plot_speedups(records, path):
    """A bar chart of speedups per group on a log scale, saved to ``path``.

    Bars are the speedups against the loops baseline (against numpy when no loops row was run),
    one bar per implementation in each group. Raises ImportError without matplotlib.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref = "loops" if any(r["impl"] == "loops" for r in records) else "numpy"
    key = f"speedup_vs_{ref}"
    groups = list(dict.fromkeys(r["group"] for r in records))
    impls = [i for i in dict.fromkeys(r["impl"] for r in records) if i != ref]
    if not impls:
        raise ValueError(f"nothing to plot: only {ref!r} rows were run")
    value = {(r["group"], r["impl"]): r.get(key) for r in records}
    width = 0.8 / len(impls)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(groups) + 2), 4.5))
    for k, impl in enumerate(impls):
        xs, ys = [], []
        for g, group in enumerate(groups):
            v = value.get((group, impl))
            if v is not None and v > 0:
                xs.append(g - 0.4 + width * (k + 0.5))
                ys.append(v)
        ax.bar(xs, ys, width=width, label=impl)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=30, ha="right")
    ax.set_ylabel(f"speedup per item vs {ref} (log scale)")
    ax.set_title(f"xpnet benchmarks: speedup against {ref}")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
