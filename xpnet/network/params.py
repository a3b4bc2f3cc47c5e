"""Parameters, gradients and optimizer state as views into one contiguous buffer per dtype.

One flat buffer means one optimizer kernel call updates every layer: ``theta`` holds
``W1, b1, ..., WL, bL`` (and ``gamma``/``beta`` with batch norm) back to back; each named array
is a reshaped view of its slice, so layer code reads and writes ``W1 (n[1], n[0])`` as usual.
"""

from __future__ import annotations

from collections.abc import Mapping


class FlatParams(Mapping):
    """Named views into one flat device buffer.

    ``layout`` is an ordered list of ``(name, shape)``; ``buffer`` is a 1-D array of the total
    size (allocated on ``backend`` when not given). ``self[name]`` is the view of that name.
    """

    def __init__(self, backend, layout, dtype, buffer=None, prefix=""):
        self.backend = backend
        self.layout = [(name, tuple(shape)) for name, shape in layout]
        self.dtype = dtype
        self.size = sum(_prod(shape) for _, shape in self.layout)
        self.flat = backend.zeros((self.size,), dtype) if buffer is None else buffer
        self.prefix = prefix
        self.views = {}
        offset = 0
        for name, shape in self.layout:
            n = _prod(shape)
            self.views[prefix + name] = self.flat[offset:offset + n].reshape(shape)
            offset += n

    def __getitem__(self, name):
        return self.views[name]

    def __contains__(self, name):
        return name in self.views

    def __iter__(self):
        return iter(self.views)

    def __len__(self):
        return len(self.views)

    __eq__ = object.__eq__      # identity, as before Mapping: arrays do not compare to a bool
    __hash__ = object.__hash__

    def keys(self):
        return self.views.keys()

    def items(self):
        return self.views.items()

    def zeros_like(self, prefix=""):
        """A new zero-filled FlatParams with the same layout (gradients, optimizer state)."""
        return FlatParams(self.backend, self.layout, self.dtype, prefix=prefix)

    def to_numpy(self):
        """``{name: numpy array}`` copies in course shapes."""
        return {name: self.backend.to_numpy(v).copy() for name, v in self.views.items()}

    @classmethod
    def from_mapping(cls, backend, arrays, names=None, prefix="", dtype=None):
        """A FlatParams holding copies of ``arrays[prefix + name]`` for ``names`` (default:
        every key of ``arrays``, in its order): a plain dict of course-shaped arrays (host or
        device) becomes one flat buffer. ``dtype``: of ``W1`` when it is a float array,
        else float64."""
        names = [k[len(prefix):] for k in arrays] if names is None else list(names)
        missing = [prefix + n for n in names if prefix + n not in arrays]
        if missing:
            raise ValueError(f"the parameters dict has no {', '.join(missing)} (it has: "
                             f"{', '.join(map(str, arrays)) or 'nothing'})")
        host = {n: backend.to_numpy(backend.asarray(arrays[prefix + n])) for n in names}
        if dtype is None:
            first = host[names[0]].dtype if names else None
            dtype = first if first is not None and first.kind == "f" else "float64"
        bad = [n for n in names if host[n].dtype.kind not in "fiub"]
        if bad:
            raise TypeError(f"parameters {bad} are not arrays of numbers")
        flat = cls(backend, [(n, host[n].shape) for n in names], dtype, prefix=prefix)
        flat.load({prefix + n: a for n, a in host.items()})
        return flat

    def load(self, arrays):
        """Copy ``{name: array}`` (host arrays of the layout's shapes) into the buffer."""
        for name, shape in self.layout:
            host = arrays[self.prefix + name]
            if tuple(host.shape) != shape:
                raise ValueError(f"parameter {name!r} has shape {tuple(host.shape)}, "
                                 f"expected {shape}")
            self.views[self.prefix + name][...] = self.backend.asarray(host, dtype=self.dtype)


def _prod(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n
