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

``lr_decay`` arguments accept ``None``, a name (default parameters), a dict
``{"kind": name, ...params}``, or a callable ``epoch -> multiplier``.
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


def make_schedule(lr_decay, lr0):
    """Return ``schedule(epoch) -> learning rate`` for the ``lr_decay`` spec."""
    if lr_decay is None:
        return lambda epoch: lr0
    if callable(lr_decay):
        return lambda epoch: lr0 * float(lr_decay(epoch))
    if isinstance(lr_decay, str):
        lr_decay = {"kind": lr_decay}
    if not isinstance(lr_decay, dict) or "kind" not in lr_decay:
        raise TypeError("lr_decay must be None, a schedule name, a dict with 'kind', or a "
                        f"callable epoch -> multiplier; got {lr_decay!r}")
    spec = dict(lr_decay)
    kind = spec.pop("kind")
    if kind not in _FUNCS:
        raise ValueError(f"unknown lr_decay {kind!r}; choose one of {', '.join(SCHEDULES)}")
    params = {**_DEFAULTS[kind], **spec}
    unknown = set(params) - set(_DEFAULTS[kind])
    if unknown:
        raise ValueError(f"lr_decay {kind!r} takes {sorted(_DEFAULTS[kind])}, "
                         f"not {sorted(unknown)}")
    func = _FUNCS[kind]
    return lambda epoch: func(lr0, epoch, **params)


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
