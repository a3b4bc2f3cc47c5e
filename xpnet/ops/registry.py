"""``Registry``: the one place each kind of op (activation, loss, optimizer, initializer) is
named. Everything that lists or picks ops by name (estimators, CLI choices, docs tables, tests,
the backends' fused-kernel tables) reads a registry instead of keeping its own list.
"""

from __future__ import annotations

from collections.abc import Mapping


class Registry(Mapping):
    """Definitions of one ``kind`` by name, in registration order.

    ``registry[name]`` and ``registry.get(name)`` raise a ValueError naming the choices for an
    unknown name (never None); ``resolve`` also passes a definition object through.
    """

    def __init__(self, kind, roles=()):
        self.kind = kind
        #: The fused-kernel roles a backend may register for definitions of this kind.
        self.roles = tuple(roles)
        self._items = {}

    def register(self, definition):
        """Add ``definition`` (an object with a unique ``name``); returns it (a decorator for
        classes: the class is instantiated once)."""
        if isinstance(definition, type):
            definition = definition()
        name = getattr(definition, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a {self.kind} needs a name that is a Python identifier, "
                             f"got {name!r}")
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = definition
        return definition

    def __getitem__(self, name):
        try:
            return self._items[name]
        except (KeyError, TypeError):
            pass
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} must be a name (one of {self.choices()}), got "
                            f"{name!r} ({type(name).__name__})")
        raise ValueError(f"unknown {self.kind} {name!r}; choose one of {self.choices()}")

    def get(self, name, default=None):  # noqa: D102 - a Mapping whose misses are errors
        return self[name]

    def resolve(self, item):
        """``item`` if it is one of the registered definitions, else ``self[item]``."""
        if isinstance(item, str):
            return self[item]
        if getattr(item, "name", None) in self._items and self._items[item.name] is item:
            return item
        return self[item]

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __contains__(self, name):
        return isinstance(name, str) and name in self._items

    def names(self, where=None):
        """The registered names (those whose definition passes ``where``), in order."""
        return tuple(n for n, d in self._items.items() if where is None or where(d))

    def choices(self, where=None):
        return ", ".join(self.names(where))

    def __repr__(self):
        return f"<{self.kind} registry: {self.choices()}>"


def fused(bk, name, role, *args, **kwargs):
    """Run ``bk``'s fused kernel for ``(name, role)``; ``NotImplemented`` when it has none or
    the kernel declines the input (then the caller runs the op's formula)."""
    kernel = bk.fused.get((name, role))
    return NotImplemented if kernel is None else kernel(*args, **kwargs)


def check_kernel_table(table, registries, backend_name):
    """Raise a ValueError for a fused-kernel table entry ``(name, role)`` that names no
    registered op or a role its kind does not have: a misspelt kernel must fail when the backend
    is created, not be silently skipped."""
    for key in table:
        name, role = key
        owners = [r for r in registries if name in r and role in r.roles]
        if not owners:
            kinds = [r.kind for r in registries if name in r]
            article = "an" if kinds and kinds[0][0] in "aeiou" else "a"
            why = (f"{name!r} is {article} {kinds[0]}, whose kernel roles are "
                   f"{', '.join(next(r for r in registries if name in r).roles)}"
                   if kinds else f"no op is registered as {name!r}")
            raise ValueError(f"backend {backend_name!r}: fused kernel {key!r}: {why}")
