"""The options of ``xpnet train``: one table serves the flags, ``--config FILE.toml`` and the
``config.toml`` a run writes back.

Each :class:`Option` has a converter that accepts a flag's text or a TOML value and returns
the value the estimator takes (raising ``argparse.ArgumentTypeError`` with a readable message).
Precedence: built-in default < config file < command-line flag.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass

from .._convert import (Bad, backend, batch_size, boolean, choice, fraction,  # noqa: F401
                        hidden_sizes, keep_prob, lr_decay, nonneg_float, open_fraction,
                        optional_nonneg_float, optional_positive_int, positive_float,
                        positive_int, seed, text, unit_interval)
from ..network.hyperparameters import NETWORK

__all__ = ["Option", "OPTIONS", "MODEL_KEYS", "add_options", "resolve_options",
           "load_config", "dump_config"]


# ------------------------------------------------------------------------------- table
@dataclass(frozen=True)
class Option:
    """One ``xpnet train`` setting: flag ``--name``, config key ``name`` (dashes or
    underscores), converter, default, help; ``model`` marks estimator hyperparameters (those
    come from the schema, ``xpnet.network.hyperparameters.NETWORK``)."""

    dest: str
    convert: object
    default: object
    help: str
    model: bool = False
    metavar: str = None
    none_text: str = None     # how config.toml writes a None that differs from the default
    group: str = "data"

    @property
    def flag_name(self):
        return "--" + self.dest.replace("_", "-")


def _from_schema(h):
    return Option(h.name, h.parse, h.flag_default, h.help_text(), model=True,
                  metavar=h.metavar, none_text=h.none_text, group=h.group)


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
    # model: every hyperparameter of the schema the CLI offers
    *(_from_schema(h) for h in NETWORK if h.cli),
    # output
    Option("out", text, None, "run folder (default: a new ./xpnet-runs/<time>-<data>/)",
           metavar="DIR", group="output"),
    Option("plots", boolean, True, "draw the PNG plots (default: on; needs matplotlib)",
           group="output"),
    Option("quiet", boolean, False, "no progress display", group="output"),
    Option("bayes_error", fraction, 0.0, "an estimate of the Bayes (human-level) error for "
           "the report's bias/variance diagnosis (default: 0)", metavar="F", group="output"),
    Option("force", boolean, False, "reuse an --out folder that holds an earlier run, replacing "
           "its files", group="output"),
)
_BY_DEST = {opt.dest: opt for opt in OPTIONS}
MODEL_KEYS = tuple(opt.dest for opt in OPTIONS if opt.model)
GROUPS = ("data", "model", "output")


#: The default of every flag: "not given" (None is a value a flag can give: --seed none).
NOT_GIVEN = argparse.SUPPRESS
_unknown_groups = {opt.group for opt in OPTIONS} - set(GROUPS)
if _unknown_groups:  # an option in no group would get no flag
    raise ValueError(f"options in unknown groups {sorted(_unknown_groups)}; groups: {GROUPS}")


def add_options(parser):
    """Add every option as a flag that is absent from the namespace unless given."""
    for title in GROUPS:
        group = parser.add_argument_group(f"{title} options")
        for opt in (o for o in OPTIONS if o.group == title):
            if opt.convert is boolean:
                group.add_argument(opt.flag_name, dest=opt.dest, default=NOT_GIVEN,
                                   action=argparse.BooleanOptionalAction, help=opt.help)
            else:
                group.add_argument(opt.flag_name, dest=opt.dest, default=NOT_GIVEN,
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
    return resolve_and_tell(args)[0]


def resolve_and_tell(args):
    """``(values, given)``: ``resolve_options``'s values and the names set by the config file
    or a flag (the rest are defaults)."""
    values = {opt.dest: opt.default for opt in OPTIONS}
    given = set()
    if getattr(args, "config", None):
        from_file = load_config(args.config)
        values.update(from_file)
        given.update(from_file)
    for opt in OPTIONS:
        if hasattr(args, opt.dest):  # given on the command line (None included: --seed none)
            values[opt.dest] = getattr(args, opt.dest)
            given.add(opt.dest)
    return values, given


def dump_config(values, skip=("out", "quiet", "plots", "force")):
    """``values`` as TOML text that ``--config`` reads back. A None is written as the text its
    converter reads as None ("none", "full"), so that it stays set on a rerun (a dataset's
    preset must not fill it in); where no text means None, as a comment."""
    lines = ["# xpnet train settings of this run; rerun with: xpnet train --config "
             "config.toml"]
    for opt in OPTIONS:
        if opt.dest in skip:
            continue
        value = values.get(opt.dest)
        text = opt.none_text or "none"
        if value is None and _reads_as_none(opt, text):
            lines.append(f"{opt.dest} = {_toml_value(text)}")
        elif value is None:
            lines.append(f"# {opt.dest} = (not set)")
        else:
            lines.append(f"{opt.dest} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _reads_as_none(opt, text):
    try:
        return opt.convert(text) is None
    except (Bad, TypeError, ValueError):
        return False


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
