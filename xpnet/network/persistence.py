"""Saving and loading fitted networks: ``model.save(path)`` and ``xpnet.load(path)``.

The file is an ``.npz`` archive (NumPy's zip of ``.npy`` arrays) that needs no pickle, neither to
write nor to read (``np.load(..., allow_pickle=False)``):

- ``xpnet_header``: a 0-d unicode array holding a JSON document: ``format`` ("xpnet-model"),
  ``format_version`` (1), ``xpnet_version``, ``model_class``, ``hyperparameters``
  (``get_params()``; a backend instance is stored as its name; values JSON cannot hold, such as
  a callable ``lr_decay``, are stored as ``null`` and listed under ``not_saved``),
  ``architecture`` (layer dims, activations, loss and its settings ``loss_params``, which
  files written before the op registries lack and read as the loss's defaults, batch norm, keep
  probabilities), ``fitted`` (task, feature count, dtype, epochs), ``history`` and the list of
  ``arrays``;
- ``param.W1, param.b1, ...`` (``gamma``/``beta`` with batch norm) in course shapes and the
  training dtype; ``bn.mean1, bn.var1, ...`` the running statistics; ``normalizer.mean_`` and
  ``normalizer.std_``; ``classes_`` (string labels as a unicode array); ``feature_names_in_``
  (unicode, only for a model fitted on named columns: a DataFrame, or ``xpnet train`` data).

Writes go through ``xpnet._atomic.atomic_open``: the archive is written aside (an anonymous
``O_TMPFILE`` file on Linux, else a named temporary file beside the target), then ``os.replace``
puts it in place, so a crash never leaves a half-written model; an existing file's permissions
are kept, a symbolic link is written through to its target, and stale temporary files of an
interrupted save are removed by the next save.

Loading rebuilds a fitted estimator without training; its predictions are bitwise identical to
the saved model's on the same backend. It is bounded by what the file declares: the header is
read first, the arrays its architecture implies are checked (names, declared sizes, ``.npy``
shapes and dtypes) before any data is read, and the archive may inflate to at most
``INFLATE_RATIO`` times the file's size plus ``INFLATE_SLACK``; non-finite values, a
non-positive ``std_`` and inconsistent ``classes_`` are refused. A file of an unknown format
version, a truncated, corrupt or crafted file, or a file that is not an xpnet model raises
``ValueError`` saying which; a missing file raises ``FileNotFoundError``.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .._atomic import atomic_open
from .._version import __version__
from ..backends import Backend, BackendUnavailable, resolve
from ..backends.base import np_dtype
from .model import initialize_bn_state
from .model_file import _TARGET_SCALING, FORMAT, FORMAT_VERSION, HEADER_KEY, check_savable, read
from .params import FlatParams


def _model_classes():
    from .estimator import NeuralNetwork, NeuralNetworkRegressor
    return {"NeuralNetwork": NeuralNetwork, "NeuralNetworkRegressor": NeuralNetworkRegressor}


# --------------------------------------------------------------------------------- save
def save_model(model, path):
    """Write the fitted ``model`` to ``path`` (``.npz`` + JSON header) atomically; returns path."""
    classes = _model_classes()
    if type(model).__name__ not in classes or type(model) is not classes[type(model).__name__]:
        raise TypeError(f"save supports {', '.join(classes)}; got {type(model).__name__}")
    model._check_fitted()
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path!r}: the directory {directory!r} does not "
                                "exist; create it first")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save to {path!r}: it is a directory; give a file name "
                                "such as model.npz")
    arrays = _collect_arrays(model)
    check_savable(arrays)
    header = _build_header(model, list(arrays))
    payload = {HEADER_KEY: np.array(json.dumps(header, sort_keys=True)), **arrays}
    _atomic_savez(path, directory, payload)
    return path


def _collect_arrays(model):
    arrays = {f"param.{name}": view for name, view in model._params.to_numpy().items()}
    arrays.update({f"bn.{name}": view for name, view in model._bn_state.to_numpy().items()})
    arrays["normalizer.mean_"] = np.asarray(model.mean_)
    arrays["normalizer.std_"] = np.asarray(model.std_)
    if model.task_ != "regression":
        arrays["classes_"] = _storable_classes(model.classes_)
    if getattr(model, "feature_names_in_", None) is not None:
        arrays["feature_names_in_"] = np.asarray(model.feature_names_in_, dtype=str)
    for name, attribute in _TARGET_SCALING.items():  # a regressor's target scaling, if any
        if model.task_ == "regression" and getattr(model, attribute, None) is not None:
            arrays[name] = np.asarray(getattr(model, attribute))
    return arrays


def _storable_classes(classes):
    """``classes_`` as an array NumPy can load without pickle (object labels become unicode)."""
    classes = np.asarray(classes)
    if classes.dtype.kind != "O":
        return classes
    values = classes.tolist()
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=str)
    converted = np.array(values)
    if converted.dtype.kind == "O":
        raise ValueError("the class labels cannot be saved without pickle; use strings or "
                         "numbers as labels")
    return converted


def _build_header(model, array_names):
    hyper, not_saved = {}, {}
    for name, value in model.get_params().items():
        try:
            hyper[name] = _to_json(value)
        except TypeError:
            hyper[name] = None
            not_saved[name] = repr(value)
    arch = model.arch_
    history = {k: [_to_json(v) for v in values] for k, values in model.history_.items()}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "xpnet_version": __version__,
        "model_class": type(model).__name__,
        "hyperparameters": hyper,
        "not_saved": not_saved,
        "architecture": {
            "layer_dims": list(arch.layer_dims), "activations": list(arch.activations),
            "loss": arch.loss, "loss_params": dict(arch.loss_params), "slope": arch.slope,
            "batch_norm": bool(arch.batch_norm),
            "keep_probs": list(arch.keep_probs), "bn_eps": arch.bn_eps,
            "bn_momentum": arch.bn_momentum},
        "fitted": {
            "task_": model.task_, "n_features_in_": int(model.n_features_in_),
            "dtype": str(np.dtype(model._dtype)), "backend_": model.backend_,
            "n_epochs_": _to_json(getattr(model, "n_epochs_", None)),
            "best_epoch_": _to_json(getattr(model, "best_epoch_", None)),
            "classes_dtype": ("object" if model.task_ != "regression"
                              and np.asarray(model.classes_).dtype.kind == "O" else None)},
        "history": history,
        "arrays": array_names,
    }


def _to_json(value):
    """A JSON-safe copy: numpy scalars become Python numbers, tuples are tagged, a Backend
    becomes its name; anything else raises TypeError."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Backend):
        return value.name
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return str(np.dtype(value))
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v) for v in value]}
    if isinstance(value, (list, np.ndarray)):
        return [_to_json(v) for v in list(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _to_json(v) for k, v in value.items()}
    raise TypeError(f"{value!r} cannot be stored in JSON")


def _from_json(value):
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_from_json(v) for v in value["__tuple__"])
        return {k: _from_json(v) for k, v in value.items()}
    return value


def _atomic_savez(path, directory, payload):
    with atomic_open(path, "wb", fsync=True) as f:
        np.savez_compressed(f, **payload)


def load_model(path, backend=None, *, max_bytes=None):
    """Rebuild the fitted estimator saved at ``path`` (no training happens).

    ``backend`` (a name or Backend) runs the loaded model; by default the one its ``backend``
    hyperparameter names (``None``: the current default backend).

    Loading is bounded by what the file declares: the JSON header is read first, the arrays
    its architecture implies (names, shapes, dtypes) are checked against each member's
    declared size and ``.npy`` header before any data is read, and the whole archive may
    inflate to at most ``INFLATE_RATIO`` times the file's size plus ``INFLATE_SLACK`` bytes
    (``max_bytes`` overrides that bound, for a model of mostly constant weights that
    compresses further). Non-finite values, a non-positive ``std_`` and inconsistent
    ``classes_`` are refused. Every refusal is a ``ValueError`` naming the file and the fault.
    """
    path = os.fspath(path)
    header, arch, arrays = read(path, max_bytes)
    return _rebuild(path, header, arch, arrays, backend)


# ------------------------------------------------------------------------------ rebuild
def _rebuild(path, header, arch, arrays, backend):
    classes = _model_classes()
    cls = classes.get(header["model_class"])
    if cls is None:
        raise ValueError(f"{path!r} holds a {header['model_class']!r}, which this xpnet cannot "
                         f"load (it loads {', '.join(classes)})")
    try:
        model = cls()
        model.set_params(**_from_json(header["hyperparameters"]))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path!r} is truncated or corrupt: its hyperparameters do not fit "
                         f"{cls.__name__} ({exc})") from None
    if backend is not None:
        model.backend = backend
    try:
        bk = resolve(model.backend)
    except BackendUnavailable as exc:
        if backend is not None:
            raise
        err = BackendUnavailable(f"{exc}. The model was saved with backend={model.backend!r}; "
                                 "pass backend='numpy' (or another) to xpnet.load to run it "
                                 "elsewhere")
        err.saved_backend = model.backend  # the CLI words the advice as --backend
        raise err from exc
    try:
        _restore_fitted(model, header, arch, arrays, bk)
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
        raise ValueError(f"{path!r} is truncated or corrupt: its header and arrays do not "
                         f"describe a fitted model ({type(exc).__name__}: {exc})") from None
    return model


def _restore_fitted(model, header, arch, arrays, bk):
    """Set the fitted state from arrays ``_read`` has checked against the architecture."""
    fitted = header["fitted"]
    dtype = np_dtype(fitted["dtype"])
    params = FlatParams(bk, arch.layout(), dtype)
    params.load({name: arrays[f"param.{name}"] for name, _ in arch.layout()})
    bn_state = initialize_bn_state(arch, params)
    bn_state.load({name: arrays[f"bn.{name}"] for name, _ in arch.bn_layout()})
    model.arch_, model._params, model._bn_state = arch, params, bn_state
    model._bk, model._dtype, model.backend_ = bk, dtype, bk.name
    model.task_ = fitted["task_"]
    model.n_features_in_ = int(fitted["n_features_in_"])
    model.mean_ = arrays["normalizer.mean_"]
    model.std_ = arrays["normalizer.std_"]
    if "feature_names_in_" in arrays:
        model.feature_names_in_ = arrays["feature_names_in_"]
    for name, attribute in _TARGET_SCALING.items():
        if name in arrays:
            setattr(model, attribute, arrays[name])
    if model.task_ != "regression":
        classes = arrays["classes_"]
        model.classes_ = classes.astype(object) if fitted.get("classes_dtype") else classes
    model.history_ = _from_json(header.get("history", {}))
    model.n_epochs_ = fitted.get("n_epochs_")
    model.best_epoch_ = fitted.get("best_epoch_")
