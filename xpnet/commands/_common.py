"""Helpers shared by the ``train``, ``predict`` and ``evaluate`` commands: loading data and
models with one-line errors, atomic file writes, run folders that appear whole or not at all,
and describing the backend in use."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile

import numpy as np

from ..cli import CLIError, deferred_signals
from .._atomic import _umask, atomic_open
from .._atomic_dir import (can_exchange, exchange, is_partial, link_into, partial_prefix,
                           remove_stale_partials)

__all__ = ["load_dataset", "load_data", "load_model", "write_atomic", "write_json", "dumps_json",
           "backend_note", "class_names_for", "StagedFolder"]


def load_dataset(name, **kwargs):
    """A shipped or synthetic dataset as ``(X, y, feature_names)``; ``y`` holds the class
    names when the dataset has real ones (iris), else its integer labels."""
    from .. import datasets
    key = name.strip().lower()
    if key not in datasets.DATASETS:
        raise CLIError(f"unknown dataset {name!r}; choose one of {', '.join(datasets.DATASETS)}, "
                       "or pass your own file with --data FILE")
    data = datasets.load(key, **kwargs)
    X, y = data
    names = getattr(data, "feature_names", ()) or tuple(f"x{j + 1}" for j in range(X.shape[1]))
    return np.asarray(X, dtype=np.float64), class_names_for(data, y), tuple(names)


def class_names_for(data, y):
    """``y`` mapped to ``data.target_names`` when those are words, not just the indices."""
    names = tuple(getattr(data, "target_names", ()) or ())
    if names and any(str(n) != str(k) for k, n in enumerate(names)):
        return np.asarray(names)[np.asarray(y)]
    return np.asarray(y)


def load_data(source, target=None, need_target=True, model=None):
    """A :class:`xpnet.io.Table` from a file path, or from a dataset name when no file of that
    name exists (``xpnet predict model.npz iris``). With a fitted ``model``, its inputs: the
    columns found by the names it was trained on (``feature_names_in_``), if it has them."""
    from .. import datasets
    from ..io import Table, load_table, select_features
    features = getattr(model, "feature_names_in_", None)
    if not os.path.exists(source) and source.strip().lower() in datasets.DATASETS:
        X, y, names = load_dataset(source)
        table = Table(X, y, names, "class", f"dataset {source.strip().lower()}")
        return select_features(table, features)
    return load_table(source, target=target, need_target=need_target,
                      n_features=getattr(model, "n_features_in_", None), features=features)


def load_model(path, backend=None):
    """``xpnet.load(path)`` with errors a user can act on."""
    from ..backends import BackendUnavailable
    from ..network.persistence import load_model as _load
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file {path!r} not found")
    try:
        return _load(path, backend=backend)
    except BackendUnavailable as exc:
        saved = getattr(exc, "saved_backend", None)
        if backend is not None or saved is None:
            raise
        raise CLIError(f"{exc.__cause__}. The model was saved with backend {saved!r}; add "
                       "--backend numpy (or another) to run it here") from exc
    except (FileNotFoundError, IsADirectoryError):
        raise
    except ValueError as exc:
        raise CLIError(f"cannot load the model: {exc} (models are the model.npz files "
                       "that `xpnet train` writes)") from exc


def write_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder + os.replace."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


def write_json(path, data):
    """``data`` as JSON, one key per line, lists of numbers kept on one line."""
    return write_atomic(path, dumps_json(data) + "\n")


def dumps_json(value, level=0):
    pad = "  " * (level + 1)
    if isinstance(value, dict) and value:
        items = [f"{pad}{json.dumps(str(k))}: {dumps_json(v, level + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple, np.ndarray))
                                                for v in value):
        items = [pad + dumps_json(v, level + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * level + "]"
    return json.dumps(value, default=_json_default)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def backend_note(requested):
    """How the backend was chosen, in a few words: the flag, XPNET_BACKEND or auto's pick
    (``xpnet info`` gives auto's full reason)."""
    from ..backends import AUTO_ORDER, auto_choice
    if requested and requested != "auto":
        return "chosen with --backend"
    env = os.environ.get("XPNET_BACKEND", "").strip()
    if not requested and env and env.lower() != "auto":
        return f"XPNET_BACKEND={env}"
    picked, _ = auto_choice()
    skipped = AUTO_ORDER[:AUTO_ORDER.index(picked)]
    if not skipped:
        return "auto: the fastest backend"
    return f"auto: {' and '.join(skipped)} not available; `xpnet info` says why"


class StagedFolder:
    """A folder written under a hidden name, ``.<name>.partial-<pid>-<host>-*`` beside its
    place, and moved there whole by :meth:`commit`: an error or an interrupt (Ctrl-C, SIGTERM)
    before that removes it, with the parent folders it made, and leaves the place as it was.
    A kill -9 leaves only that hidden folder, which a later run in the same folder removes
    (:mod:`xpnet._atomic_dir`).

    ``targets``: the places to try in turn (a taken one is skipped: a new, uniquely named
    run). ``merge=True``: the place may be an existing folder (``--out DIR``). Its other files
    are linked into the new folder and the two are swapped in one step, so ``DIR`` holds the
    old run or the new one at every instant; the names in ``replaces`` that the new run lacks
    are gone from it. Where the file system cannot swap folders (or ``DIR``'s parent cannot be
    written, or ``DIR`` is a mount point), the staging lives in ``DIR`` and the new files
    replace the old ones one by one (each file whole, the run not). An existing place that got
    files of ``replaces`` only while this ran (another run) is refused unless ``force``.
    ``doing`` (e.g. ``"while saving the run"``) goes into the message of an interrupt. Used as
    ``with StagedFolder(...) as stage:``; ``stage.path`` is where to write until
    :meth:`commit`, which returns the folder's final path.
    """

    def __init__(self, targets, *, merge=False, replaces=(), force=False):
        self.targets = [os.fspath(t) for t in targets]
        self.merge, self.replaces, self.force = merge, tuple(replaces), force
        self.doing, self.final = "", None
        self.reused = merge and os.path.isdir(self.targets[0])
        self._held = [f for f in self.replaces
                      if self.reused and os.path.exists(os.path.join(self.targets[0], f))]
        place = os.path.realpath(self.targets[0]) if self.reused else \
            os.path.abspath(self.targets[0])
        parent = os.path.dirname(place)
        self._made, self.path = _make_dirs(parent), None
        self._swap = not self.reused or _can_swap(place, parent)
        if self.reused:
            remove_stale_partials(place)     # where earlier versions staged a reused folder
            if not self._swap:
                parent = place
        remove_stale_partials(parent)
        try:
            self.path = tempfile.mkdtemp(dir=parent, prefix=partial_prefix(place))
            os.chmod(self.path, 0o777 & ~_umask())  # mkdtemp's folder is private
        except BaseException:
            self.discard()
            raise

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or self.final is not None:
            if isinstance(exc, KeyboardInterrupt):
                raise type(exc)(f"{_what(exc)}; the run was saved in {self.final}") from None
            return False
        self.discard()
        if isinstance(exc, KeyboardInterrupt):
            kept = f" ({self.targets[0]} keeps its earlier run)" if self._held else ""
            what = _what(exc, f"interrupted {self.doing}".strip())
            raise type(exc)(f"{what}; nothing was saved{kept}") from None
        return False

    def commit(self):
        """Move the folder into place (signals held meanwhile); returns its path."""
        with deferred_signals():
            self.final = self._place()
        return self.final

    def discard(self):
        """Remove the staged folder and the parents made for it (further signals dropped)."""
        with deferred_signals(deliver=False):
            if self.path is not None:
                shutil.rmtree(self.path, ignore_errors=True)
            self._remove_made()

    def _place(self):
        for target in self.targets:
            if self.merge and os.path.isdir(target):
                return self._into(target)
            try:
                os.rename(self.path, target)
                return target
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
                    raise
                if self.merge and os.path.isdir(target):
                    return self._into(target)
        raise CLIError(f"could not move the run into place: {', '.join(self.targets[:2])}"
                       f"{', ...' if len(self.targets) > 2 else ''} taken; pass --force or "
                       "--out DIR")

    def _into(self, target):
        """Put the staged run into the existing folder ``target``: swapped in whole, or file
        by file where folders cannot be swapped."""
        real = os.path.realpath(target)
        old = [f for f in self.replaces if os.path.exists(os.path.join(real, f))]
        if not self.force and set(old) - set(self._held):
            raise CLIError(f"{target!r} received another run while this one ran "
                           f"({', '.join(old[:3])}); pass --force to replace it")
        new = set(os.listdir(self.path))
        if self._swap and os.path.dirname(real) == os.path.dirname(self.path):
            keep = {n for n in os.listdir(real) if n not in new and n not in self.replaces
                    and not is_partial(n)}
            link_into(real, self.path, skip=set(os.listdir(real)) - keep)
            os.chmod(self.path, stat.S_IMODE(os.stat(real).st_mode))
            if exchange(self.path, real):
                shutil.rmtree(self.path, ignore_errors=True)   # the old run, now hidden
                return target
            for name in keep:                                  # could not swap after all
                _remove(os.path.join(self.path, name))
        for name in sorted(new):
            os.replace(os.path.join(self.path, name), os.path.join(real, name))
        for name in old:
            if name not in new:
                os.remove(os.path.join(real, name))
        os.rmdir(self.path)
        return target

    def _remove_made(self):
        for folder in reversed(self._made):
            try:
                os.rmdir(folder)
            except OSError:  # not empty: another run uses it now
                break
        self._made = []


def _can_swap(place, parent):
    """Whether the reused folder ``place`` can be swapped whole: its parent is writable, on
    the same file system (``place`` is no mount point), and the file system swaps folders."""
    try:
        same = os.stat(place).st_dev == os.stat(parent).st_dev
    except OSError:
        return False
    return same and os.access(parent, os.W_OK | os.X_OK) and can_exchange(parent)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.remove(path)


def _what(exc, default="interrupted"):
    return str(exc.args[0]) if exc.args and str(exc.args[0]) else default


def _make_dirs(folder):
    """Create ``folder`` and its missing parents; returns the ones created, outermost first."""
    missing, made = [], []
    while not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:  # made meanwhile by another run: not ours to remove
            if not os.path.isdir(path):
                raise
            continue
        made.append(path)
    return made
