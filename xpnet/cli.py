"""The ``xpnet`` command: ``xpnet train | predict | evaluate | info | gradcheck | bench | tune``.

Each subcommand lives in ``xpnet.commands.<name>`` and defines ``add_parser(subparsers)`` and
``run(args) -> int``. Errors a user can fix end with one line on stderr and exit code 2 (1 for
other failures); ``--debug`` shows the traceback instead. Ctrl-C (SIGINT) and SIGTERM unwind
as :class:`KeyboardInterrupt` (SIGTERM as its subclass :class:`Terminated`), so a command's
cleanup runs for both; the command ends with one line and exit code 130 (SIGINT) or 143
(SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading

from ._version import __version__

COMMANDS = ("train", "predict", "evaluate", "info", "gradcheck", "bench", "tune")


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised by the handler :func:`main` installs: cleanup runs as for Ctrl-C."""

    signum = signal.SIGTERM


def _raise_terminated(signum, frame):
    raise Terminated()


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _sigterm_raises():
    """SIGTERM raises :class:`Terminated` inside the block, where nobody else handles it."""
    if not _in_main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def deferred_signals(deliver=True):
    """Hold SIGINT and SIGTERM until the block ends (a folder rename, a cleanup), then act on
    the first one held as it would have acted (``deliver=False``: drop them, e.g. while
    cleaning up after an interrupt). Outside the main thread, a plain block."""
    if not _in_main_thread():
        yield
        return
    held = []
    signums = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, frame: held.append(signum)) for s in signums}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if held and deliver:
        _deliver(held[0], previous[held[0]])


def _deliver(signum, handler):
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)


def interrupt_exit_code(exc):
    """128 + the signal number: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


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
        with _sigterm_raises():
            return int(args._run(args) or 0)
    except KeyboardInterrupt as exc:  # the message, if any, says what was kept
        what = _one_line(exc) if exc.args else "interrupted"
        print(f"xpnet {args.command}: {what}", file=sys.stderr)
        return interrupt_exit_code(exc)
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
