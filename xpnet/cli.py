"""The ``xpnet`` command: ``xpnet train | predict | evaluate | info | gradcheck | bench | tune``.

Each subcommand lives in ``xpnet.commands.<name>`` and defines ``add_parser(subparsers)`` and
``run(args) -> int``. Errors a user can fix end with one line on stderr and exit code 2 (1 for
other failures); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ._version import __version__

COMMANDS = ("train", "predict", "evaluate", "info", "gradcheck", "bench", "tune")


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (exit 2), pointing at ``--help``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def build_parser():
    parser = _Parser(
        prog="xpnet", description="Train, evaluate and benchmark xpnet neural networks.")
    parser.add_argument("--version", action="version", version=f"xpnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"xpnet.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"xpnet.commands.{name}":
                raise
            continue
        p = module.add_parser(sub)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks on errors")
        p.set_defaults(_run=module.run)
    return parser


def _one_line(exc):
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("xpnet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:              # e.g. `xpnet predict ... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (CLIError, ValueError, TypeError, OSError) as exc:
        if getattr(args, "debug", False):
            raise
        print(f"xpnet {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line, the traceback with --debug
        if getattr(args, "debug", False):
            raise
        print(f"xpnet {args.command}: internal error: {type(exc).__name__}: {_one_line(exc)} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
