"""Helpers shared by the ``train``, ``predict`` and ``evaluate`` commands: loading data and
models with one-line errors, atomic file writes, and describing the backend in use."""

from __future__ import annotations

import json
import os

import numpy as np

from ..cli import CLIError
from .._atomic import atomic_open

__all__ = ["load_dataset", "load_data", "load_model", "write_atomic", "write_json", "dumps_json",
           "backend_note", "class_names_for"]


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
