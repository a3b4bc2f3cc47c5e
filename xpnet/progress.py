"""Training progress for the command line, driven by the estimator's ``fit(..., callback=)``.

``make_progress(epochs, quiet=..., stream=...)`` returns a callable ``progress(epoch, logs)``
(``logs``: ``epoch``, ``cost``, ``lr``, ``epoch_time``, optionally ``dev_cost`` and
``dev_score``) with a ``close()`` method:

- a tqdm bar (one step per epoch, cost and dev metric in its postfix) when ``stream`` is a
  terminal and tqdm is installed;
- plain lines otherwise (logs, pipes, CI): every epoch up to ``max_lines`` epochs, then evenly
  spaced ones plus the first and the last;
- nothing with ``quiet=True``.
"""

from __future__ import annotations

import sys

__all__ = ["make_progress", "format_logs", "PlainProgress", "TqdmProgress", "SilentProgress"]


def format_logs(logs, score_name="acc"):
    """``cost 0.1234  dev_cost 0.2345  dev_acc 0.9600`` for one epoch's logs."""
    parts = [f"cost {logs['cost']:.4f}"]
    if "dev_cost" in logs:
        parts.append(f"dev_cost {logs['dev_cost']:.4f}")
    if "dev_score" in logs:
        parts.append(f"dev_{score_name} {logs['dev_score']:.4f}")
    return "  ".join(parts)


class SilentProgress:
    """``--quiet``: shows nothing."""

    def __call__(self, epoch, logs):
        return None

    def close(self):
        return None


class PlainProgress:
    """One line per shown epoch: ``epoch  3/30  cost 0.41  dev_acc 0.93  (0.021 s)``."""

    def __init__(self, epochs, stream, score_name="acc", max_lines=50):
        self.epochs = int(epochs)
        self.stream = stream
        self.score_name = score_name
        self.every = max(1, -(-self.epochs // max_lines))
        self.width = len(str(self.epochs))

    def __call__(self, epoch, logs):
        n = int(logs.get("epoch", epoch + 1))
        if n == 1 or n == self.epochs or n % self.every == 0:
            print(f"epoch {n:>{self.width}}/{self.epochs}  {format_logs(logs, self.score_name)}"
                  f"  ({logs['epoch_time']:.3f} s)", file=self.stream, flush=True)
        return None

    def close(self):
        return None


class TqdmProgress:
    """A live tqdm bar over the epochs with the latest cost and dev metric as its postfix."""

    def __init__(self, epochs, stream, tqdm_class, score_name="acc"):
        self.score_name = score_name
        self.bar = tqdm_class(total=int(epochs), file=stream, unit="epoch", desc="training",
                              dynamic_ncols=True, leave=True)

    def __call__(self, epoch, logs):
        postfix = {"cost": f"{logs['cost']:.4f}"}
        if "dev_cost" in logs:
            postfix["dev_cost"] = f"{logs['dev_cost']:.4f}"
        if "dev_score" in logs:
            postfix[f"dev_{self.score_name}"] = f"{logs['dev_score']:.4f}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)
        return None

    def close(self):
        self.bar.close()


def _is_tty(stream):
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):    # a closed or detached stream
        return False


def _tqdm_class():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def make_progress(epochs, quiet=False, stream=None, score_name="acc"):
    """Pick the display for ``epochs`` epochs on ``stream`` (default: stderr)."""
    if quiet:
        return SilentProgress()
    stream = sys.stderr if stream is None else stream
    if _is_tty(stream):
        tqdm = _tqdm_class()
        if tqdm is not None:
            return TqdmProgress(epochs, stream, tqdm, score_name)
    return PlainProgress(epochs, stream, score_name)
