"""Converters from a command-line flag's text or a TOML value to the value an estimator takes.

Each raises ``argparse.ArgumentTypeError`` with a readable message (argparse shows it as the
flag's error; ``--config`` files report it with the key). The hyperparameter schema
(``xpnet.network.hyperparameters``) names one converter per hyperparameter; the ``xpnet``
subcommands use them for their own flags too.
"""

from __future__ import annotations

import argparse
import math

from .backends import CHOICES as BACKEND_CHOICES
from .network.schedules import SCHEDULES

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
        return _checked_schedule({k: (v if k == "kind" else _float(v, f"lr_decay {k}"))
                                  for k, v in spec.items()})
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
    return _checked_schedule(spec)


def _checked_schedule(spec):
    """The parsed spec, validated by the schedule module (ranges of every parameter)."""
    from .network.schedules import check_lr_decay
    try:
        check_lr_decay(spec)
    except (TypeError, ValueError) as exc:
        raise Bad(str(exc)) from None
    return spec


def _check_schedule(name):
    if name not in SCHEDULES:
        raise Bad(f"unknown lr_decay {name!r}; choose one of none, {', '.join(SCHEDULES)} "
                  "(parameters as name:key=value)")


class choice:
    """A converter to one of ``names``: fixed strings, or a registry (read when called, so an
    op registered later is a choice too). ``choices`` lists them."""

    def __init__(self, *names):
        self._names = names

    @property
    def choices(self):
        if len(self._names) == 1 and not isinstance(self._names[0], str):
            source = self._names[0]
            return tuple(source() if callable(source) else source)
        return self._names

    def __call__(self, value):
        text = _text(value)
        names = self.choices
        if text not in names:
            raise Bad(f"invalid choice {value!r}; choose one of {', '.join(names)}")
        return text


def finite_float(value):
    return _float(value, "the value")


def nonneg_int(value):
    n = _int(value, "the value")
    if n < 0:
        raise Bad(f"must be a whole number >= 0, got {n}")
    return n


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


def optional_positive_float(value):
    return None if _is_none(value) else positive_float(value)


class optional_choice(choice):
    """``choice`` that also takes ``none`` (or an empty text) for "not set"."""

    def __call__(self, value):
        return None if _is_none(value) else super().__call__(value)
