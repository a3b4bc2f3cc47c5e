"""Learning-rate decay schedules (epoch-based, epoch 0 first) and the exponentially weighted
average from the course.

- ``inverse_time``: ``lr0 / (1 + decay_rate * floor(epoch / time_interval))`` (the seed prints
  ``1 / (decay_rate * epoch)``, a typo: it is undefined at epoch 0 and does not start at lr0);
  ``time_interval = 1`` (the default) is the course's ``update_lr``, a larger one its
  fixed-interval ``schedule_lr_decay``
- ``exponential``: ``lr0 * base ** epoch`` (the course's ``0.95 ** epoch``)
- ``inverse_sqrt``: ``lr0 * k / sqrt(epoch + 1)`` (the course's ``k / sqrt(epoch)``, shifted
  by one so that epoch 0 is defined)
- ``staircase``: ``lr0 * factor ** floor(epoch / step)``

``lr_decay`` arguments accept ``None``, a name (default parameters), the command line's text
``"name:key=value,..."`` (``"exponential:base=0.9"``), a dict ``{"kind": name, ...params}``,
or a callable ``epoch -> multiplier``.
"""

from __future__ import annotations

import math

SCHEDULES = ("inverse_time", "exponential", "inverse_sqrt", "staircase")
_DEFAULTS = {"inverse_time": {"decay_rate": 1.0, "time_interval": 1}, "exponential": {"base": 0.95},
             "inverse_sqrt": {"k": 1.0}, "staircase": {"factor": 0.5, "step": 10}}


def inverse_time(lr0, epoch, decay_rate=1.0, time_interval=1):
    return lr0 / (1.0 + decay_rate * (epoch // time_interval))


def exponential(lr0, epoch, base=0.95):
    return lr0 * base ** epoch


def inverse_sqrt(lr0, epoch, k=1.0):
    return lr0 * k / math.sqrt(epoch + 1)


def staircase(lr0, epoch, factor=0.5, step=10):
    return lr0 * factor ** (epoch // step)


_FUNCS = {"inverse_time": inverse_time, "exponential": exponential,
          "inverse_sqrt": inverse_sqrt, "staircase": staircase}


#: What each schedule parameter must be: (test, the words of the error).
_RULES = {
    "decay_rate": (lambda x: x >= 0, "a finite number >= 0"),
    "time_interval": (lambda x: x >= 1 and float(x).is_integer(), "an integer >= 1"),
    "base": (lambda x: x > 0, "a finite number > 0 (below 1 to decay)"),
    "k": (lambda x: x > 0, "a finite number > 0"),
    "factor": (lambda x: x > 0, "a finite number > 0 (below 1 to decay)"),
    "step": (lambda x: x >= 1 and float(x).is_integer(), "an integer >= 1"),
}


def check_lr_decay(lr_decay):
    """``lr_decay`` validated: None, a callable, a name or ``{"kind": name, **params}`` with
    every parameter in its range (``_RULES``). Returns ``(kind, params)`` (``kind`` None for
    None or a callable); raises TypeError or ValueError naming what is wrong."""
    if lr_decay is None or callable(lr_decay):
        return None, {}
    if isinstance(lr_decay, str) and ":" in lr_decay:     # the CLI's "name:key=value,..."
        lr_decay = _parse_text(lr_decay)
    if isinstance(lr_decay, str):
        lr_decay = {"kind": lr_decay}
    if not isinstance(lr_decay, dict) or "kind" not in lr_decay:
        raise TypeError("lr_decay must be None, a schedule name, a dict with 'kind', or a "
                        f"callable epoch -> multiplier; got {lr_decay!r}")
    spec = dict(lr_decay)
    kind = spec.pop("kind")
    if kind not in _FUNCS:
        raise ValueError(f"unknown lr_decay {kind!r}; choose one of {', '.join(SCHEDULES)}")
    unknown = set(spec) - set(_DEFAULTS[kind])
    if unknown:
        raise ValueError(f"lr_decay {kind!r} takes {sorted(_DEFAULTS[kind])}, "
                         f"not {sorted(unknown)}")
    params = {**_DEFAULTS[kind], **spec}
    for name, value in params.items():
        test, words = _RULES[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or not test(value):
            raise ValueError(f"lr_decay {kind!r}: {name} must be {words}, got {value!r}")
        if name in ("time_interval", "step"):
            params[name] = int(value)
    return kind, params


def _parse_text(text):
    from .._convert import Bad, lr_decay  # lazily: the converters import this module
    try:
        return lr_decay(text)
    except Bad as exc:
        raise ValueError(str(exc)) from None


def make_schedule(lr_decay, lr0):
    """Return ``schedule(epoch) -> learning rate`` for the ``lr_decay`` spec (checked by
    ``check_lr_decay``). Every rate it produces is checked to be a positive finite number (a
    callable's multiplier too), else ValueError names the epoch."""
    kind, params = check_lr_decay(lr_decay)
    if lr_decay is None:
        base = lambda epoch: lr0  # noqa: E731
    elif kind is None:
        base = lambda epoch: lr0 * _multiplier(lr_decay, epoch)  # noqa: E731
    else:
        func = _FUNCS[kind]
        base = lambda epoch: func(lr0, epoch, **params)  # noqa: E731

    def schedule(epoch):
        try:
            lr = base(epoch)
        except OverflowError:
            raise ValueError(f"lr_decay cannot compute the learning rate at epoch "
                             f"{_epoch_text(epoch)}: it overflows a float (check the "
                             "schedule's parameters, or the callable's return value)") from None
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr_decay gives the learning rate {lr!r} at epoch "
                             f"{_epoch_text(epoch)}; a learning rate must be a positive finite "
                             "number (check the schedule's parameters, or the callable's "
                             "return value)")
        return lr
    return schedule


def _epoch_text(epoch):
    text = str(epoch)
    return text if len(text) < 20 else f"{text[:12]}... ({len(text)} digits)"


def _multiplier(func, epoch):
    try:
        value = func(epoch)
    except Exception as exc:  # a user's function: its failure is named, as the schedule's
        raise ValueError(f"lr_decay(epoch) raised {type(exc).__name__} at epoch {epoch}: "
                         f"{exc} (it is called with the 0-based epoch and must return the "
                         "learning-rate multiplier)") from exc
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"lr_decay(epoch) must return a number (the learning-rate "
                        f"multiplier), got {value!r} at epoch {epoch}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"lr_decay(epoch) returned {value!r} at epoch {epoch}; the "
                         "multiplier must be a positive finite number")
    return value


def exponentially_weighted_average(values, beta=0.9, bias_correction=True):
    """``v_t = beta v_{t-1} + (1 - beta) theta_t``, ``v_0 = 0``; divided by ``1 - beta^t``
    when ``bias_correction`` (the course's temperature example). Returns a list."""
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    out, v = [], 0.0
    for t, theta in enumerate(values, start=1):
        v = beta * v + (1 - beta) * float(theta)
        out.append(v / (1 - beta ** t) if bias_correction else v)
    return out
