"""Parameters, gradients and optimizer state as views into one contiguous buffer per dtype.

One flat buffer means one optimizer kernel call updates every layer: ``theta`` holds
``W1, b1, ..., WL, bL`` (and ``gamma``/``beta`` with batch norm) back to back; each named array
is a reshaped view of its slice, so layer code reads and writes ``W1 (n[1], n[0])`` as usual.
"""

from __future__ import annotations


class FlatParams:
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
