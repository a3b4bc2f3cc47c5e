"""The bounded, checked reader of model files (``xpnet.network.persistence`` rebuilds the model).

``read(path)`` returns the header, the architecture and the arrays of an ``.npz`` model file,
reading only what the file declares: the JSON header first, then each array its architecture
implies, every member's declared size and ``.npy`` header (shape, dtype) checked before the data
behind it is read, the whole archive inflating to at most ``INFLATE_RATIO`` times the file's
size plus ``INFLATE_SLACK``. Non-finite values, a non-positive ``std_``, a negative batch-norm
variance and inconsistent ``classes_`` are refused. Every refusal is a ``ValueError`` naming
the file and the fault.
"""

from __future__ import annotations

import collections
import json
import os
import stat
import tokenize
import zipfile
import zlib

import numpy as np

from .._version import __version__
from ..backends.base import np_dtype
from .model import Architecture

FORMAT = "xpnet-model"
FORMAT_VERSION = 1
HEADER_KEY = "xpnet_header"
_ZIP_MAGIC = b"PK\x03\x04"

INFLATE_SLACK = 32 * 2**20  # bytes any model file may inflate to, whatever its own size ...
INFLATE_RATIO = 10  # ... plus this many times its size (weights deflate ~1.1x, the header ~9x)
_NPY_HEADER_MAX = 4096  # bytes of one member's own .npy header (numpy writes 128)
_LABEL_CHARS_MAX = 4096  # characters of one class label or feature name
_LAYERS_MAX = 1000
_CHUNK = 1 << 20
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_NPY_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}
_TARGET_SCALING = {"target.mean_": "target_mean_", "target.std_": "target_std_"}
_DAMAGED = "the file is damaged or was not written by xpnet; retrain and save again"
_Spec = collections.namedtuple("_Spec", "shape accept itemsize what")


def read(path, max_bytes=None):
    size = _check_file(path)
    limit = INFLATE_SLACK + INFLATE_RATIO * size if max_bytes is None else int(max_bytes)
    try:
        with zipfile.ZipFile(path) as zf:
            header, arch, arrays = _read_archive(path, zf, size, limit)
        _check_values(arrays)
    except _NotXpnet as exc:
        raise ValueError(f"{path!r} is not an xpnet model: {exc}") from None
    except _TooLarge as exc:
        raise ValueError(f"{path!r} is refused before reading its arrays: {exc}") from None
    except _Corrupt as exc:
        raise ValueError(f"{path!r} is truncated or corrupt: {exc}; {_DAMAGED}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError,
            TypeError, IndexError, NotImplementedError, RuntimeError) as exc:
        if isinstance(exc, _FormatError):
            raise
        if isinstance(exc, FileNotFoundError) or not os.path.isfile(path):
            raise FileNotFoundError(f"no saved model at {path!r}: the file went away while "
                                    "it was read") from None
        raise ValueError(f"{path!r} is truncated or corrupt: {type(exc).__name__}: {exc}; "
                         "save the model again") from None
    return header, arch, arrays


def _read_archive(path, zf, size, limit):
    """``(header, arch, arrays)``: the header first, then each array its architecture implies,
    every declared size and ``.npy`` header checked before the data behind it is read."""
    members = _members(zf)
    _check_declared(members, size, limit)
    info = members[HEADER_KEY]
    header = _parse_header(path, _read_member(zf, HEADER_KEY, info, _Spec(
        None, lambda d: True, info.file_size, "unicode string")))
    arch, specs, required = _expected(header, size, limit)
    names = _listed(header, specs, required, members)
    for name in names:
        _check_size(name, members[name], specs[name])
    return header, arch, {name: _read_member(zf, name, members[name], specs[name])
                          for name in names}


def _check_file(path):
    """The size of the file at ``path``, an existing file that starts as a zip archive."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no saved model at {path!r}: the file does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory, not a saved model file")
    if not stat.S_ISREG(os.stat(path).st_mode):   # a FIFO would block, a device never end
        raise ValueError(f"{path!r} is not a regular file (a FIFO, socket or device), not a "
                         "saved model file")
    with open(path, "rb") as f:
        magic = f.read(len(_ZIP_MAGIC))
        size = os.fstat(f.fileno()).st_size
    if not magic:
        raise ValueError(f"{path!r} is empty (0 bytes): truncated, not a readable xpnet model")
    if magic != _ZIP_MAGIC:
        raise ValueError(f"{path!r} is not an xpnet model: it is not an .npz archive")
    return size


class _NotXpnet(Exception):
    pass


class _Corrupt(Exception):
    pass


class _TooLarge(Exception):
    pass


class _FormatError(ValueError):
    """An xpnet model of a format version this xpnet cannot read."""


def _members(zf):
    """``{array name: ZipInfo}``: plain (stored or deflated) ``.npy`` members, each once."""
    infos = zf.infolist()
    names = [i.filename[:-4] if i.filename.endswith(".npy") else i.filename for i in infos]
    if HEADER_KEY not in names:
        raise _NotXpnet("an .npz archive without an xpnet header")
    members = {}
    for name, info in zip(names, infos):
        if not info.filename.endswith(".npy") or name in members:
            why = "there twice" if name in members else "not an .npy array"
            raise _Corrupt(f"its archive member {info.filename!r} is {why}")
        if info.compress_type not in _COMPRESSIONS or info.flag_bits & 0x1:
            raise _Corrupt(f"its archive member {info.filename!r} is encrypted or compressed "
                           f"with method {info.compress_type} (xpnet writes deflated members)")
        members[name] = info
    return members


def _check_declared(members, size, limit):
    """Refuse an archive whose members declare more bytes than its size allows."""
    total = sum(info.file_size for info in members.values())
    if total > limit:
        raise _TooLarge(f"its members declare {_size(total)} uncompressed in a file of "
                        f"{_size(size)}, more than the {_size(limit)} it may inflate to "
                        f"({INFLATE_RATIO}x its size + {_size(INFLATE_SLACK)}); "
                        f"{_too_large_advice(total)}")


def _too_large_advice(need):
    return ("the file is damaged or crafted, not an xpnet model. If you saved it yourself from "
            "a model of mostly constant weights, load it with xpnet.network.persistence."
            f"load_model(path, max_bytes={need})")


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
    if not isinstance(header["architecture"], dict) or not isinstance(header["fitted"], dict):
        raise _Corrupt("its header's architecture and fitted entries are not JSON objects")
    return header


# ------------------------------------------------------- what the header's architecture implies
def _expected(header, size, limit):
    """``(arch, specs, required)``: the network the header declares, ``{array name: _Spec}``
    of the arrays it implies and the names every such model holds; refused when its weights
    alone could not fit in the file."""
    arch, dtype, fitted = _architecture(header)
    n_in, n_out = arch.layer_dims[0], arch.layer_dims[-1]
    exact = _Spec(None, lambda d: d == dtype, dtype.itemsize, str(dtype))
    specs = {f"param.{n}": exact._replace(shape=s) for n, s in arch.layout()}
    specs.update({f"bn.{n}": exact._replace(shape=s) for n, s in arch.bn_layout()})
    floats = _Spec(None, _is_float, 8, "float32 or float64")
    specs.update({f"normalizer.{n}": floats._replace(shape=(n_in,)) for n in ("mean_", "std_")})
    _check_budget(specs, size, limit)
    required = set(specs)
    if fitted["task_"] == "regression":
        specs.update({name: floats._replace(shape=(n_out,)) for name in _TARGET_SCALING})
    else:
        count = 2 if n_out == 1 else n_out
        specs["classes_"] = _Spec((count,), _is_label, 4 * _LABEL_CHARS_MAX,
                                  f"labels (the output layer has {n_out} unit(s): {count} "
                                  "classes)")
        required.add("classes_")
    specs["feature_names_in_"] = _Spec((n_in,), _is_text, 4 * _LABEL_CHARS_MAX, "strings")
    return arch, specs, required


def _architecture(header):
    """``(Architecture, dtype, fitted)`` from the header, its sizes checked before use."""
    a, fitted = header["architecture"], header["fitted"]
    dims = a.get("layer_dims")
    if not (isinstance(dims, list) and 2 <= len(dims) <= _LAYERS_MAX + 1
            and all(type(d) is int and d >= 1 for d in dims)):
        raise _Corrupt(f"its layer_dims {_short(dims)} are not 2 to {_LAYERS_MAX + 1} whole "
                       "numbers >= 1")
    n_in = fitted.get("n_features_in_")
    if type(n_in) is not int or n_in != dims[0]:
        raise _Corrupt(f"its n_features_in_ {_short(n_in)} is not layer_dims[0] = {dims[0]}")
    if fitted.get("task_") not in ("classification", "regression"):
        raise _Corrupt(f"its task_ {_short(fitted.get('task_'))} is neither 'classification' "
                       "nor 'regression'")
    if type(a.get("batch_norm")) is not bool:
        raise _Corrupt(f"its batch_norm {_short(a.get('batch_norm'))} is not true or false")
    try:
        acts, keep = list(a["activations"]), list(a["keep_probs"])
        arch = Architecture(tuple(dims), acts[:-1], acts[-1], loss=a["loss"],
                            loss_params=a.get("loss_params"), slope=a["slope"],
                            batch_norm=a["batch_norm"], keep_prob=keep[:-1],
                            bn_eps=a["bn_eps"], bn_momentum=a["bn_momentum"])
        dtype = np_dtype(fitted["dtype"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise _Corrupt(f"its architecture does not describe a network ({type(exc).__name__}: "
                       f"{exc})") from None
    return arch, dtype, fitted


def _check_budget(specs, size, limit):
    """Refuse a header whose parameters alone need more bytes than the file may inflate to."""
    need = sum(_prod(spec.shape) * spec.itemsize for spec in specs.values())
    if need > limit:
        n_params = sum(_prod(spec.shape) for name, spec in specs.items()
                       if name.startswith("param."))
        raise _TooLarge(f"its header declares a network of {n_params:,} parameters "
                        f"({_size(need)} with its statistics), more than a file of "
                        f"{_size(size)} may inflate to ({_size(limit)}); "
                        f"{_too_large_advice(need)}")


def _is_float(dtype):
    return dtype.kind == "f" and dtype.itemsize <= 8


def _is_text(dtype):
    return dtype.kind == "U" and dtype.itemsize <= 4 * _LABEL_CHARS_MAX


def _is_label(dtype):
    return ((dtype.kind in "biuf" and dtype.itemsize <= 8) or _is_text(dtype)
            or (dtype.kind == "S" and dtype.itemsize <= _LABEL_CHARS_MAX))


def _listed(header, specs, required, members):
    """The header's list of arrays, checked against the architecture and the archive."""
    listed = header["arrays"]
    if (not isinstance(listed, list) or not all(isinstance(n, str) for n in listed)
            or len(set(listed)) != len(listed)):
        raise _Corrupt("its header's list of arrays is not a list of distinct names")
    unknown = [n for n in listed if n not in specs]
    if unknown:
        raise _Corrupt(f"its header lists arrays {unknown[:10]} that its architecture lacks")
    absent = sorted(required - set(listed))
    if absent:
        raise _Corrupt(f"its header does not list the arrays {absent[:10]} its architecture "
                       "needs")
    missing = [n for n in listed if n not in members]
    if missing:
        raise _Corrupt(f"the arrays {missing} listed in its header are missing")
    extra = sorted(set(members) - set(listed) - {HEADER_KEY})
    if extra:
        raise _Corrupt(f"its archive holds arrays {extra[:10]} that its header does not list")
    return listed


# ------------------------------------------------------------------- reading checked members
def _check_size(name, info, spec):
    """Refuse a member that declares more bytes than its expected shape and dtype need."""
    most = _prod(spec.shape) * spec.itemsize + _NPY_HEADER_MAX
    if info.file_size > most:
        raise _Corrupt(f"{name} declares {_size(info.file_size)} uncompressed, more than the "
                       f"{_size(most)} of shape {spec.shape} {spec.what}")


def _read_member(zf, name, info, spec):
    """The array ``name``: its ``.npy`` header checked against ``spec`` and its declared size
    before its data is read, in chunks into an array of exactly that size."""
    with zf.open(info) as fp:
        shape, fortran, dtype = _npy_header(fp, name)
        if (dtype.hasobject or not spec.accept(dtype)
                or spec.shape is not None and shape != spec.shape):
            expected = spec.what if spec.shape is None else f"shape {spec.shape} {spec.what}"
            raise _Corrupt(f"{name} has shape {shape} and dtype {dtype}, expected {expected}")
        nbytes = _prod(shape) * dtype.itemsize
        if info.file_size != fp.tell() + nbytes:
            raise _Corrupt(f"{name} declares {info.file_size} bytes uncompressed, but its .npy "
                           f"header {fp.tell()} bytes and data {nbytes}")
        return _read_data(fp, name, shape, dtype, fortran)


def _npy_header(fp, name):
    reader = _NPY_READERS.get(np.lib.format.read_magic(fp))
    if reader is None:
        raise _Corrupt(f"{name} is not an .npy array of a format xpnet writes (1.0 or 2.0)")
    try:
        shape, fortran, dtype = reader(fp, max_header_size=_NPY_HEADER_MAX)
    except (SyntaxError, tokenize.TokenError, TypeError) as exc:  # NumPy parses a dict literal
        raise _Corrupt(f"{name} has a damaged .npy header ({type(exc).__name__})") from None
    return tuple(shape), fortran, dtype


def _read_data(fp, name, shape, dtype, fortran):
    flat = np.empty(_prod(shape), dtype=dtype)
    view, done = memoryview(flat.view(np.uint8)), 0
    while done < len(view):
        n = fp.readinto(view[done:done + _CHUNK])
        if not n:
            raise _Corrupt(f"{name} ends after {done} of its {len(view)} bytes")
        done += n
    return flat.reshape(shape, order="F" if fortran else "C")


def _check_values(arrays):
    """Refuse values no xpnet model holds: non-finite numbers, a standard deviation <= 0, a
    negative running variance, duplicate or unsorted class labels."""
    for name, value in arrays.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            bad = value.size - int(np.count_nonzero(np.isfinite(value)))
            raise _Corrupt(f"{name} holds {bad} NaN or infinite value(s)")
        if name.endswith("std_") and not (value > 0).all():
            raise _Corrupt(f"{name} holds {int(np.count_nonzero(value <= 0))} value(s) <= 0 "
                           "(a standard deviation is positive)")
        if name.startswith("bn.var") and (value < 0).any():
            raise _Corrupt(f"{name} holds negative values (a variance is >= 0)")
    if "classes_" in arrays:
        classes = arrays["classes_"]
        ordered = np.sort(classes)
        if (ordered[1:] == ordered[:-1]).any():
            raise _Corrupt(f"classes_ holds duplicate labels: {classes.tolist()[:10]}")
        if not np.array_equal(ordered, classes):
            raise _Corrupt(f"classes_ is not sorted as xpnet stores it: {classes.tolist()[:10]}")


def _prod(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...]"


def check_savable(arrays):
    """Refuse to write what ``load`` would refuse: nobody could load the file."""
    try:
        _check_values(arrays)
    except _Corrupt as exc:
        raise ValueError(f"cannot save this model: {exc}, which no model file may hold; "
                         "retrain it") from None
    for name, value in arrays.items():
        if value.dtype.kind in "US" and not _is_label(value.dtype):
            raise ValueError(f"cannot save this model: {name} holds a string of more than "
                             f"{_LABEL_CHARS_MAX} characters; use shorter labels or column "
                             "names")
