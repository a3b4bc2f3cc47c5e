"""The registry of benchmark groups and the implementations each one is timed on.

A *group* is one piece of work (a dot product, one training epoch, ...) defined once: a function
that makes host inputs for a scale, and a function that, given a ``Backend`` and those inputs,
moves them to the device and returns a zero-argument callable doing the work. The rows of a
group are derived, never listed by hand:

- ``loops``: the course's own for-loop algorithm (``xpnet.kernels.loops``) where the group has
  one, else the same backend code run on the ``loops`` backend (every op a Python loop);
- one row per backend ``xpnet.backends.available_backends()`` loads here (numpy, and numba or
  cupy once they load), so a new backend needs no new benchmark code;
- peers (``torch``, and ``torch-cuda`` with a GPU) where the group defines them and PyTorch is
  installed.

The loops baseline may run at a smaller scale than the vectorized rows so that it finishes in
seconds; every record carries its ``size`` (items of work) and ratios are taken per item.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .. import backends

#: A value per run mode: ``full`` (the default run) and ``quick`` (``xpnet bench --quick``).
Sizes = namedtuple("Sizes", ["full", "quick"])

MODES = Sizes._fields


@dataclass(frozen=True)
class Group:
    """One benchmark group.

    ``scales`` (vectorized rows) and ``loops_scales`` (the loops baseline) give the scale per
    mode; ``items(scale)`` is the amount of work, in ``unit``s, that ratios are divided by;
    ``describe(scale)`` is the shape text shown in reports. ``make_inputs(scale, rng)`` returns
    host NumPy arrays; ``backend_work(bk, inputs)`` returns the callable to time;
    ``loops_work(inputs)`` the course's own loop algorithm (None: ``backend_work`` on the loops
    backend). ``peers`` maps a peer library (``"torch"``) to ``work(inputs, device)``.
    """

    name: str
    title: str
    unit: str
    dtype: str
    scales: Sizes
    loops_scales: Sizes
    make_inputs: Callable
    backend_work: Callable
    describe: Callable
    items: Callable = int
    loops_work: Optional[Callable] = None
    peers: dict = field(default_factory=dict)
    max_rounds: Sizes = Sizes(full=30, quick=5)
    family: Optional[str] = None

    def scale_for(self, impl_kind, mode):
        """The scale an implementation of ``impl_kind`` runs at in ``mode``."""
        _check_mode(mode)
        table = self.loops_scales if impl_kind == "loops" else self.scales
        return getattr(table, mode)


@dataclass(frozen=True)
class Impl:
    """One row of a group: ``prepare(inputs)`` returns the work; ``sync()`` waits for the device.

    ``kind`` is ``loops``, ``backend`` or ``peer``. ``warmup`` is False only for pure-Python
    loops, which have no compilation or caches to warm.
    """

    name: str
    kind: str
    device: str
    prepare: Callable
    sync: Callable
    warmup: bool = True


_REGISTRY = {}


def register(group):
    """Add ``group`` to the registry (names are unique); returns it."""
    if group.name in _REGISTRY:
        raise ValueError(f"benchmark group {group.name!r} is already registered")
    _REGISTRY[group.name] = group
    return group


def all_groups():
    """Every registered group, in registration order (the course's own examples first)."""
    return list(_REGISTRY.values())


def get_group(name):
    """The group called ``name``; ValueError naming the choices if there is none."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown benchmark group {name!r}; choose from "
                         f"{', '.join(_REGISTRY)} (see `xpnet bench --list`)") from None


def select_groups(spec=None):
    """Groups named by ``spec``: None/empty for all, else names or families, comma-separated.

    A family (``activation``) selects each of its groups (``activation-relu``, ...). The
    result is in registry order, whatever the order of ``spec``.
    """
    if spec is None:
        return all_groups()
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [n.strip() for n in names if n and n.strip()]
    if not names:
        return all_groups()
    chosen = set()
    for name in names:
        family = [g.name for g in _REGISTRY.values() if g.family == name]
        chosen.update(family or [get_group(name).name])
    return [group for group in _REGISTRY.values() if group.name in chosen]


def _noop():
    return None


def _loops_impl(group):
    if group.loops_work is not None:
        prepare = group.loops_work
    else:
        loops = backends.resolve("loops")

        def prepare(inputs):
            return group.backend_work(loops, inputs)
    return Impl("loops", "loops", "cpu", prepare, _noop, warmup=False)


def _backend_impl(group, name):
    bk = backends.resolve(name)

    def prepare(inputs):
        return group.backend_work(bk, inputs)
    return Impl(name, "backend", bk.device, prepare, bk.synchronize)


def implementations(group, only=None):
    """The rows of ``group`` on this machine: loops, each available backend, then peers.

    ``only`` (an iterable of row names) keeps just those rows.
    """
    from . import peers

    impls = [_loops_impl(group)]
    for name in backends.available_backends():
        if name != "loops":
            impls.append(_backend_impl(group, name))
    for library, work in group.peers.items():
        impls.extend(peers.peer_impls(library, work))
    if only is not None:
        wanted = set(only)
        impls = [impl for impl in impls if impl.name in wanted]
    return impls


def cases(spec=None, impls=None):
    """``[(group name, impl name)]`` for the groups of ``spec`` (see ``select_groups``).

    What the pytest-benchmark files in ``bench/`` parametrize over.
    """
    return [(group.name, impl.name) for group in select_groups(spec)
            for impl in implementations(group, only=impls)]


def get_impl(group, name):
    """The row ``name`` of ``group`` on this machine; ValueError naming those there are."""
    rows = implementations(group)
    for impl in rows:
        if impl.name == name:
            return impl
    raise ValueError(f"no implementation {name!r} of group {group.name!r} here; available: "
                     f"{', '.join(i.name for i in rows)}")


def known_impl_names():
    """Row names that can appear on this machine (for validating ``--impls``)."""
    from . import peers

    names = ["loops"] + [n for n in backends.available_backends() if n != "loops"]
    return names + peers.peer_names()


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"unknown benchmark mode {mode!r}; choose one of {', '.join(MODES)}")


def host_rng(seed=0):
    """The seeded host Generator inputs are drawn from (same inputs for every row)."""
    return np.random.default_rng(seed)
