"""The options of ``xpnet train``: one table serves the flags, ``--config FILE.toml`` and the
``config.toml`` a run writes back.

Each :class:`Option` has a converter that accepts a flag's text or a TOML value and returns
the value the estimator takes (raising ``argparse.ArgumentTypeError`` with a readable message).
Precedence: built-in default < config file < command-line flag.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass

from ..backends import CHOICES as BACKEND_CHOICES
from ..network.estimator import HIDDEN_ACTIVATIONS, TASKS
from ..network.initializers import INITIALIZERS
from ..network.optimizers import OPTIMIZERS
from ..network.schedules import SCHEDULES

__all__ = ["Option", "OPTIONS", "MODEL_KEYS", "add_options", "resolve_options",
           "load_config", "dump_config"]

Bad = argparse.ArgumentTypeError


# ---------------------------------------------------------------------------- converters
def _text(value):
    return value.strip() if isinstance(value, str) else value


def _is_none(value):
    return value is None or (isinstance(value, str) and value.strip().lower() in ("none", ""))


def _int(value, what):
    value = _text(value)
    if isinstance(value, bool):
        raise Bad(f"{what} must be an integer, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Bad(f"{what} must be an integer, got {value!r}") from None


def _float(value, what):
    value = _text(value)
    if isinstance(value, bool):
        raise Bad(f"{what} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Bad(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise Bad(f"{what} must be finite, got {value!r}")
    return number


def positive_int(value):
    n = _int(value, "the value")
    if n < 1:
        raise Bad(f"must be a positive integer, got {n}")
    return n


def positive_float(value):
    x = _float(value, "the value")
    if x <= 0:
        raise Bad(f"must be > 0, got {x:g}")
    return x


def nonneg_float(value):
    x = _float(value, "the value")
    if x < 0:
        raise Bad(f"must be >= 0, got {x:g}")
    return x


def fraction(value):
    """A part of the data: a fraction in [0, 1)."""
    x = _float(value, "the value")
    if not 0.0 <= x < 1.0:
        raise Bad(f"must be a fraction in [0, 1), got {x:g}")
    return x


def open_fraction(value):
    x = _float(value, "the value")
    if not 0.0 < x < 1.0:
        raise Bad(f"must be in (0, 1), got {x:g}")
    return x


def unit_interval(value):
    x = _float(value, "the value")
    if not 0.0 <= x < 1.0:
        raise Bad(f"must be in [0, 1), got {x:g}")
    return x


def _probability(value):
    x = _float(value, "keep_prob")
    if not 0.0 < x <= 1.0:
        raise Bad(f"keep_prob must be in (0, 1], got {x:g}")
    return x


def _split_list(value):
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        return [part for part in value.replace(" ", "").split(",") if part]
    return [value]


def hidden_sizes(value):
    """``"64,32"``, ``64`` or ``[64, 32]`` -> ``(64, 32)``; ``"none"`` or ``""`` -> ``()``."""
    if _is_none(value) or (isinstance(value, (list, tuple)) and not value):
        return ()
    sizes = []
    for part in _split_list(value):
        try:
            n = _int(part, "layer size")
        except Bad:
            raise Bad(f"hidden layer sizes are positive integers separated by commas (e.g. "
                      f"64,32), got {value!r}") from None
        if n < 1:
            raise Bad(f"hidden layer sizes must be positive, got {value!r}")
        sizes.append(n)
    return tuple(sizes)


def keep_prob(value):
    """One keep probability, or one per hidden layer (``"0.8,0.9"``)."""
    parts = _split_list(value)
    if len(parts) == 1:
        return _probability(parts[0])
    return tuple(_probability(p) for p in parts)


def batch_size(value):
    """A positive integer, or ``full``/``none`` for full-batch gradient descent."""
    if _is_none(value) or (isinstance(value, str) and value.strip().lower() == "full"):
        return None
    n = _int(value, "batch size (or 'full')")
    if n < 1:
        raise Bad(f"must be a positive integer or 'full', got {n}")
    return n


def seed(value):
    if _is_none(value):
        return None
    n = _int(value, "seed")
    if n < 0:
        raise Bad(f"seed must be >= 0, got {n}")
    return n


def lr_decay(value):
    """``none``, a schedule name, or ``name:key=value,...`` (TOML: a table with ``kind``)."""
    if _is_none(value):
        return None
    if isinstance(value, dict):
        spec = dict(value)
        _check_schedule(spec.get("kind"))
        return {k: (v if k == "kind" else _float(v, f"lr_decay {k}")) for k, v in spec.items()}
    if not isinstance(value, str):
        raise Bad(f"lr_decay must be a schedule name, got {value!r}")
    name, _, rest = value.strip().partition(":")
    _check_schedule(name)
    if not rest:
        return name
    spec = {"kind": name}
    for item in rest.split(","):
        key, eq, number = item.partition("=")
        if not eq:
            raise Bad(f"lr_decay parameters are key=value pairs (e.g. exponential:base=0.9), "
                      f"got {item!r}")
        spec[key.strip()] = _float(number, f"lr_decay {key.strip()}")
    return spec


def _check_schedule(name):
    if name not in SCHEDULES:
        raise Bad(f"unknown lr_decay {name!r}; choose one of none, {', '.join(SCHEDULES)} "
                  "(parameters as name:key=value)")


def choice(*names):
    def convert(value):
        text = _text(value)
        if text not in names:
            raise Bad(f"invalid choice {value!r}; choose one of {', '.join(names)}")
        return text
    convert.choices = names
    return convert


def backend(value):
    text = _text(value)
    if not isinstance(text, str) or text.lower() not in BACKEND_CHOICES:
        raise Bad(f"unknown backend {value!r}; choose one of {', '.join(BACKEND_CHOICES)}")
    return text.lower()


def boolean(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise Bad(f"must be true or false, got {value!r}")


def text(value):
    if not isinstance(value, str) or not value.strip():
        raise Bad(f"must be a non-empty string, got {value!r}")
    return value.strip()


def optional_positive_int(value):
    return None if _is_none(value) else positive_int(value)


def optional_nonneg_float(value):
    return None if _is_none(value) else nonneg_float(value)


# ------------------------------------------------------------------------------- table
@dataclass(frozen=True)
class Option:
    """One ``xpnet train`` setting: flag ``--name``, config key ``name`` (dashes or
    underscores), converter, default, help; ``model`` marks estimator hyperparameters."""

    dest: str
    convert: object
    default: object
    help: str
    model: bool = False
    metavar: str = None
    none_text: str = None     # how config.toml writes a None that differs from the default

    @property
    def flag_name(self):
        return "--" + self.dest.replace("_", "-")


def _m(dest, convert, default, help, metavar=None, none_text=None):
    return Option(dest, convert, default, help, model=True, metavar=metavar,
                  none_text=none_text)


OPTIONS = (
    # data
    Option("dataset", text, "digits", "a shipped or synthetic dataset: iris, digits, planar, "
           "moons, spirals, blobs (default: digits)", metavar="NAME"),
    Option("data", text, None, "your own data: a CSV file with a header row, or NPZ with "
           "arrays X and y", metavar="FILE"),
    Option("target", text, None, "the CSV column to predict (default: the last column)",
           metavar="COLUMN"),
    Option("n_samples", optional_positive_int, None, "samples to generate (synthetic "
           "datasets)", metavar="N"),
    Option("noise", optional_nonneg_float, None, "noise of a synthetic dataset",
           metavar="X"),
    Option("n_classes", optional_positive_int, None, "classes of spirals/blobs", metavar="C"),
    Option("dev_size", fraction, 0.15, "fraction held out as the dev set (default: 0.15)",
           metavar="F"),
    Option("test_size", fraction, 0.15, "fraction held out as the test set (default: 0.15)",
           metavar="F"),
    # model
    _m("task", choice(*TASKS), "auto", "auto, classification or regression (auto: "
       "non-integer numeric targets are regression)", metavar="TASK"),
    _m("hidden", hidden_sizes, (64,), "hidden layer sizes, e.g. 64,32 ('none': no hidden "
       "layer) (default: 64)", metavar="SIZES"),
    _m("activation", choice(*HIDDEN_ACTIVATIONS), "relu", "hidden activation: "
       + ", ".join(HIDDEN_ACTIVATIONS) + " (default: relu)", metavar="NAME"),
    _m("init", choice(*INITIALIZERS), "he", "weight initialization: " + ", ".join(INITIALIZERS)
       + " (default: he)", metavar="NAME"),
    _m("optimizer", choice(*OPTIMIZERS), "adam", "optimizer: " + ", ".join(OPTIMIZERS)
       + " (default: adam)", metavar="NAME"),
    _m("learning_rate", positive_float, None, "learning rate alpha (default: 0.1 for "
       "gd/momentum, 0.001 for rmsprop/adam)", metavar="LR"),
    _m("epochs", positive_int, 30, "passes over the training set (default: 30)", metavar="N"),
    _m("batch_size", batch_size, 64, "mini-batch size, or 'full' (default: 64)",
       metavar="N", none_text="full"),
    _m("l2", nonneg_float, 0.0, "L2 regularization lambda (default: 0)", metavar="LAMBDA"),
    _m("keep_prob", keep_prob, 1.0, "dropout keep probability, one or one per hidden layer "
       "(default: 1, no dropout)", metavar="P"),
    _m("batch_norm", boolean, False, "batch normalization in the hidden layers"),
    _m("lr_decay", lr_decay, None, "learning-rate decay: none, " + ", ".join(SCHEDULES)
       + "; parameters as name:key=value (e.g. exponential:base=0.9)", metavar="SPEC"),
    _m("early_stopping", boolean, False, "stop when the cost on a validation part of the "
       "training set stops improving, and keep the best weights"),
    _m("patience", positive_int, 10, "epochs without improvement before early stopping "
       "(default: 10)", metavar="N"),
    _m("validation_fraction", open_fraction, 0.1, "part of the training set early stopping "
       "watches (default: 0.1)", metavar="F"),
    _m("normalize", boolean, True, "standardize the inputs with training statistics "
       "(default: on)"),
    _m("seed", seed, 0, "random seed for the split, initialization and shuffling "
       "(default: 0; 'none' for a fresh one)", metavar="N", none_text="none"),
    _m("dtype", choice("float32", "float64"), "float32", "float32 or float64 (default: "
       "float32)", metavar="DTYPE"),
    _m("backend", backend, None, "loops, numpy, numba, cupy or auto (default: XPNET_BACKEND, "
       "else auto)", metavar="NAME"),
    _m("leaky_slope", nonneg_float, 0.01, "slope of leaky_relu for z < 0 (default: 0.01)",
       metavar="X"),
    _m("beta", unit_interval, 0.9, "momentum beta (default: 0.9)", metavar="X"),
    _m("beta1", unit_interval, 0.9, "Adam beta1 (default: 0.9)", metavar="X"),
    _m("beta2", unit_interval, 0.999, "Adam/RMSprop beta2 (default: 0.999)", metavar="X"),
    _m("epsilon", positive_float, 1e-8, "Adam/RMSprop epsilon (default: 1e-8)", metavar="X"),
    # output
    Option("out", text, None, "run folder (default: a new ./xpnet-runs/<time>-<data>/)",
           metavar="DIR"),
    Option("plots", boolean, True, "draw the PNG plots (default: on; needs matplotlib)"),
    Option("quiet", boolean, False, "no progress display"),
)
_BY_DEST = {opt.dest: opt for opt in OPTIONS}
MODEL_KEYS = tuple(opt.dest for opt in OPTIONS if opt.model)
_GROUPS = (("data", "dataset", "test_size"), ("model", "task", "epsilon"),
           ("output", "out", "quiet"))


def add_options(parser):
    """Add every option as a flag whose default is None ("not given")."""
    dests = [opt.dest for opt in OPTIONS]
    for title, first, last in _GROUPS:
        group = parser.add_argument_group(f"{title} options")
        for opt in OPTIONS[dests.index(first):dests.index(last) + 1]:
            if opt.convert is boolean:
                group.add_argument(opt.flag_name, dest=opt.dest, default=None,
                                   action=argparse.BooleanOptionalAction, help=opt.help)
            else:
                group.add_argument(opt.flag_name, dest=opt.dest, default=None,
                                   type=opt.convert, metavar=opt.metavar, help=opt.help)


# ------------------------------------------------------------------------------ config
def load_config(path):
    """``{dest: value}`` from a TOML file (keys with dashes or underscores, flat)."""
    tomllib = _tomllib()
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"config file {path!r} not found") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"config {path!r} is a directory, not a TOML file") from None
    except UnicodeDecodeError:
        raise ValueError(f"config {path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config {path}: invalid TOML: {exc}") from None
    values = {}
    for key, value in raw.items():
        dest = key.replace("-", "_")
        if dest not in _BY_DEST:
            raise ValueError(f"config {path}: unknown setting {key!r}; valid settings: "
                             f"{', '.join(sorted(_BY_DEST))}")
        try:
            values[dest] = _BY_DEST[dest].convert(value)
        except Bad as exc:
            raise ValueError(f"config {path}: {key}: {exc}") from None
    if values.get("data") is not None and not os.path.isabs(values["data"]):
        values["data"] = os.path.join(os.path.dirname(os.path.abspath(path)), values["data"])
    return values


def _tomllib():
    if sys.version_info >= (3, 11):
        import tomllib
        return tomllib
    try:
        import tomli
    except ImportError:
        raise ValueError("--config needs TOML support: Python 3.11+ has it built in; on "
                         "older Pythons install it with: pip install tomli") from None
    return tomli


def resolve_options(args):
    """Merge defaults, ``args.config`` and the flags given into ``{dest: value}``."""
    values = {opt.dest: opt.default for opt in OPTIONS}
    if getattr(args, "config", None):
        values.update(load_config(args.config))
    for opt in OPTIONS:
        given = getattr(args, opt.dest, None)
        if given is not None:
            values[opt.dest] = given
    return values


def dump_config(values, skip=("out", "quiet", "plots")):
    """``values`` as TOML text that ``--config`` reads back (None values as comments)."""
    lines = ["# xpnet train settings of this run; rerun with: xpnet train --config "
             "config.toml"]
    for opt in OPTIONS:
        if opt.dest in skip:
            continue
        value = values.get(opt.dest)
        if value is None and opt.none_text:
            lines.append(f"{opt.dest} = {_toml_value(opt.none_text)}")
        elif value is None:
            lines.append(f"# {opt.dest} = (not set)")
        else:
            lines.append(f"{opt.dest} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} to TOML")
