"""What every example script shares: its arguments, its output folder, its tables, and the few
figures ``xpnet.plots`` does not draw.

Each script takes ``--out DIR`` (default ``./xpnet-examples/``, relative to the folder you run
it from; created if missing) for its PNGs and ``--quick`` (a smaller run, for the smoke test).
Figures are drawn with matplotlib's ``Figure`` and the Agg canvas, never ``pyplot``, and saved
through ``xpnet.plots._save`` (a temporary file and ``os.replace``, the dpi xpnet's own plots
use). Without matplotlib nothing is drawn and the scripts still print their numbers.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from xpnet import plots
from xpnet.plots import _save

#: The default output folder: ``./xpnet-examples/`` under the current directory.
DEFAULT_OUT = "xpnet-examples"


def parse_args(doc, argv=None):
    """``(--out, --quick)`` of a script whose module docstring is ``doc``; makes ``--out``."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0],
                                     epilog="The PNGs go to --out; the numbers to stdout.")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"folder for the PNGs, created if missing (default: ./{DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true",
                        help="a smaller, faster run (fewer epochs or samples; the smoke test)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    return args


def out_path(args, name):
    """``--out / name``."""
    return os.path.join(args.out, name)


def wrote(path):
    """Say where a picture went (plot functions return None without matplotlib)."""
    if path is not None:
        print(f"wrote {path}")
    return path


def fmt(value, digits=4):
    """A number for a table: ints as they are, floats with ``digits`` significant digits."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}g}"
    return str(value)


def acc(value):
    """An accuracy (or any fraction) with three decimals."""
    return f"{float(value):.3f}"


def _is_number(text):
    if text == "-":
        return True
    try:
        float(text.split()[0].rstrip("%x"))
    except (ValueError, IndexError):
        return False
    return True


def table(headers, rows, title=None, digits=4):
    """Print ``rows`` (lists of cells) under ``headers`` as an aligned text table: columns of
    numbers right-aligned, the others left-aligned."""
    cells = [[fmt(c, digits) for c in row] for row in rows]
    widths = [max([len(str(h))] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(_is_number(row[i]) for row in cells) for i in range(len(headers))]

    def line(items):
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(items, widths, numeric)).rstrip()

    if title:
        print(title)
    print(line([str(h) for h in headers]))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))
    print()


def figure(ncols=1, nrows=1, size=(6.0, 4.0), title=None):
    """``(fig, [axes])`` drawn on the Agg canvas, or ``(None, None)`` without matplotlib."""
    if not plots.matplotlib_available():
        return None, None
    from matplotlib.figure import Figure
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    if title:
        fig.suptitle(title)
    return fig, axes


def save(fig, path):
    """Render ``fig`` (None: nothing) to ``path`` as xpnet's plots do; prints the path."""
    return wrote(_save(fig, path))


def curves(series, path, xlabel="Epochs", ylabel="cost", title=None, logy=False, styles=None,
           x=None):
    """Several curves on one axis, ``series`` a dict ``{label: values}`` against ``x``
    (default 1, 2, ...); ``styles`` maps a label to matplotlib line keywords.

    ``xpnet.plots.plot_costs`` draws one panel per curve, with a marker on every point; long
    curves that should be compared read better together."""
    fig, axes = figure(size=(7.0, 4.5), title=title)
    if fig is None:
        return None
    ax = axes[0]
    for label, values in series.items():
        values = np.asarray(values, dtype=float)
        xs = np.arange(1, values.shape[0] + 1) if x is None else x
        ax.plot(xs, values, label=str(label), **(styles or {}).get(label, {}))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return save(fig, path)
