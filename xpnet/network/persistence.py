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

Writes go to a temporary file in the target's directory, then ``os.replace`` it, so a crash never
leaves a half-written model. Loading rebuilds a fitted estimator without training; its
predictions are bitwise identical to the saved model's on the same backend. A file of an unknown
format version, a truncated or corrupt file, or a file that is not an xpnet model raises
``ValueError`` saying which; a missing file raises ``FileNotFoundError``.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib

import numpy as np

from .._atomic import atomic_open

from .._version import __version__
from ..backends import Backend, BackendUnavailable, resolve
from ..backends.base import np_dtype
from .model import Architecture, initialize_bn_state
from .params import FlatParams

FORMAT = "xpnet-model"
FORMAT_VERSION = 1
HEADER_KEY = "xpnet_header"
_ZIP_MAGIC = b"PK\x03\x04"


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


# --------------------------------------------------------------------------------- load
def load_model(path, backend=None):
    """Rebuild the fitted estimator saved at ``path`` (no training happens).

    ``backend`` (a name or Backend) runs the loaded model; by default the one its ``backend``
    hyperparameter names (``None``: the current default backend).
    """
    path = os.fspath(path)
    header, arrays = _read(path)
    return _rebuild(path, header, arrays, backend)


def _read(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"no saved model at {path!r}: the file does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory, not a saved model file")
    with open(path, "rb") as f:
        magic = f.read(len(_ZIP_MAGIC))
    if not magic:
        raise ValueError(f"{path!r} is empty (0 bytes): truncated, not a readable xpnet model")
    if magic != _ZIP_MAGIC:
        raise ValueError(f"{path!r} is not an xpnet model: it is not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if HEADER_KEY not in names:
                raise _NotXpnet("an .npz archive without an xpnet header")
            header = _parse_header(path, npz[HEADER_KEY])
            missing = [n for n in header["arrays"] if n not in names]
            if missing:
                raise _Corrupt(f"the arrays {missing} listed in its header are missing")
            arrays = {name: npz[name] for name in header["arrays"]}
    except _NotXpnet as exc:
        raise ValueError(f"{path!r} is not an xpnet model: {exc}") from None
    except _Corrupt as exc:
        raise ValueError(f"{path!r} is truncated or corrupt: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError,
            TypeError) as exc:
        if isinstance(exc, _FormatError):
            raise
        raise ValueError(f"{path!r} is truncated or corrupt: {type(exc).__name__}: {exc}; "
                         "save the model again") from None
    return header, arrays


class _NotXpnet(Exception):
    pass


class _Corrupt(Exception):
    pass


class _FormatError(ValueError):
    """An xpnet model of a format version this xpnet cannot read."""


def _parse_header(path, raw):
    if raw.ndim != 0 or raw.dtype.kind != "U":
        raise _NotXpnet(f"its {HEADER_KEY!r} entry is not a JSON string")
    try:
        header = json.loads(str(raw[()]))
    except json.JSONDecodeError as exc:
        raise _Corrupt(f"its header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _NotXpnet(f"its header does not declare format {FORMAT!r}")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        hint = (f"it was written by xpnet {header.get('xpnet_version', '?')}; upgrade xpnet"
                if newer else "re-save it with this xpnet")
        raise _FormatError(f"{path!r} has unknown format version {version!r}; xpnet "
                           f"{__version__} reads format version {FORMAT_VERSION} ({hint})")
    required = ("model_class", "hyperparameters", "architecture", "fitted", "arrays")
    absent = [key for key in required if key not in header]
    if absent:
        raise _Corrupt(f"its header lacks {absent}")
    return header


def _rebuild(path, header, arrays, backend):
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
        _restore_fitted(model, header, arrays, bk)
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
        raise ValueError(f"{path!r} is truncated or corrupt: its header and arrays do not "
                         f"describe a fitted model ({type(exc).__name__}: {exc})") from None
    return model


def _restore_fitted(model, header, arrays, bk):
    a, fitted = header["architecture"], header["fitted"]
    acts, keep = list(a["activations"]), list(a["keep_probs"])
    arch = Architecture(tuple(a["layer_dims"]), acts[:-1], acts[-1], loss=a["loss"],
                        loss_params=a.get("loss_params"), slope=a["slope"],
                        batch_norm=a["batch_norm"], keep_prob=keep[:-1],
                        bn_eps=a["bn_eps"], bn_momentum=a["bn_momentum"])
    dtype = np_dtype(fitted["dtype"])
    params = FlatParams(bk, arch.layout(), dtype)
    params.load({name: arrays[f"param.{name}"] for name, _ in arch.layout()})
    bn_state = initialize_bn_state(arch, params)
    bn_state.load({name: arrays[f"bn.{name}"] for name, _ in arch.bn_layout()})
    model.arch_, model._params, model._bn_state = arch, params, bn_state
    model._bk, model._dtype, model.backend_ = bk, dtype, bk.name
    model.task_ = fitted["task_"]
    model.n_features_in_ = int(fitted["n_features_in_"])
    model.mean_ = np.asarray(arrays["normalizer.mean_"])
    model.std_ = np.asarray(arrays["normalizer.std_"])
    if model.mean_.shape != (model.n_features_in_,) or model.std_.shape != model.mean_.shape:
        raise ValueError(f"the normalizer has shape {model.mean_.shape}, expected "
                         f"({model.n_features_in_},)")
    if "feature_names_in_" in arrays:
        names = np.asarray(arrays["feature_names_in_"])
        if names.shape != (model.n_features_in_,) or names.dtype.kind != "U":
            raise ValueError(f"feature_names_in_ has shape {names.shape} and dtype "
                             f"{names.dtype}, expected ({model.n_features_in_},) strings")
        model.feature_names_in_ = names
    if model.task_ != "regression":
        classes = np.asarray(arrays["classes_"])
        model.classes_ = classes.astype(object) if fitted.get("classes_dtype") else classes
    model.history_ = _from_json(header.get("history", {}))
    model.n_epochs_ = fitted.get("n_epochs_")
    model.best_epoch_ = fitted.get("best_epoch_")
