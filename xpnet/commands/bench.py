"""``xpnet bench``: time every benchmark group on every implementation available here.

Prints a table (group, implementation, size, median, min, max, speedup against the loops
baseline and against numpy, per item); ``--json`` writes the records, ``--plot`` a bar chart of
the speedups on a log scale. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import os
import sys

from ..cli import CLIError


def add_parser(subparsers):
    p = subparsers.add_parser(
        "bench", help="benchmark vectorized backends against for-loop baselines",
        description="Time each benchmark group on the loops baseline, every backend that loads "
                    "here (numpy, numba, cupy) and PyTorch where installed. Speedups are per "
                    "item, because the loops baseline runs at smaller sizes.")
    p.add_argument("--quick", action="store_true",
                   help="smaller sizes and fewer rounds (under a minute on 2 cores)")
    p.add_argument("--groups", metavar="G,...",
                   help="comma-separated groups or families to run (default: all; see --list)")
    p.add_argument("--impls", metavar="I,...",
                   help="comma-separated implementations to keep (e.g. loops,numpy,numba)")
    p.add_argument("--json", metavar="PATH", help="write the records as a JSON list to PATH")
    p.add_argument("--plot", metavar="PATH", help="save a bar chart of the speedups to PATH")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--list", action="store_true",
                   help="list the groups and the implementations available here, then exit")
    return p


def _check_output_path(option, path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"{option} {path}: the folder {folder} does not exist; create it or "
                       "choose another path")
    if os.path.isdir(path):
        raise CLIError(f"{option} {path} is a folder; give a file path")


def _impl_filter(spec):
    if not spec:
        return None
    from ..benchmarks import known_impl_names

    names = [n.strip() for n in spec.split(",") if n.strip()]
    known = known_impl_names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CLIError(f"--impls: unknown or unavailable implementation(s) "
                       f"{', '.join(unknown)}; available here: {', '.join(known)}")
    return names


def _print_list():
    from ..benchmarks import all_groups, known_impl_names

    groups = all_groups()
    for group in groups:
        print(f"{group.name:<20} {group.title}")
    families = sorted({g.family for g in groups if g.family})
    if families:
        print(f"\nfamilies (select all their groups): {', '.join(families)}")
    print(f"implementations here: {', '.join(known_impl_names())}")
    return 0


def run(args):
    from .. import benchmarks

    if args.list:
        return _print_list()
    groups = benchmarks.select_groups(args.groups)
    impls = _impl_filter(args.impls)
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        if path:
            _check_output_path(option, path)
    want_plot = bool(args.plot)
    if want_plot and not benchmarks.report.have_matplotlib():
        print('xpnet bench: matplotlib is not installed; skipping the plot '
              '(pip install "xpnet[plot]")', file=sys.stderr)
        want_plot = False
    mode = "quick" if args.quick else "full"
    print(f"xpnet bench ({mode}): {len(groups)} group(s); progress below, table on stdout",
          file=sys.stderr)
    records, failures = benchmarks.run_suite(groups, quick=args.quick, impls=impls)
    if records:
        print(benchmarks.format_table(records, markdown=args.markdown), end="")
    if args.json:
        benchmarks.write_json(records, args.json)
        print(f"xpnet bench: wrote {len(records)} records to {args.json}", file=sys.stderr)
    if want_plot and records:
        try:
            benchmarks.plot_speedups(records, args.plot)
        except ValueError as exc:
            print(f"xpnet bench: no plot: {exc}", file=sys.stderr)
        else:
            print(f"xpnet bench: saved the plot to {args.plot}", file=sys.stderr)
    if failures:
        print(f"xpnet bench: {len(failures)} row(s) failed:", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0
