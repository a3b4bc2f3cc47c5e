"""Replaying a static training step on the CPU: the numba backend's ``step_runner``.

The CPU analogue of ``cuda_graph.GraphStep``. A mini-batch step of a small network spends a
good part of its time in Python: the model code's loops and the backend's checks before each
kernel. ``ReplayStep`` runs the step eagerly once, records it once, and from then on runs only
what was recorded: a flat list of kernel and BLAS calls writing into the same arrays.

Recording works at the backend's interface. While it runs, every public backend method is
wrapped on the instance; each outermost call either records its own replay (the numba
backend's fused kernels, run by the dispatch of ``xpnet.ops``, call ``record``) or is one of the
primitives below, replayed as the same ufunc or reduction with ``out=`` the recorded result (a
NumPy scalar result is returned to the caller as a 0-d array, so the replay has somewhere to
write it). So an op's formula, the output gradient of a loss included, is recorded as the
primitive calls it makes: a new op needs nothing here. Any other call, or a fused op that took a
fallback path without recording, makes the runner run the step eagerly from then on: slower,
never wrong.

What makes the replay correct is the training loop's ``step_runner`` contract: the step's
shapes and scalars are the same on every call, it reads and writes only fixed arrays, and it
writes only through backend calls (model.py and batchnorm.py use ``out=`` for that).
"""

from __future__ import annotations

import threading

import numpy as np

from .base import Backend, RecordedStep

#: Backend primitives replayed as the NumPy ufunc of the same name, ``out=`` the result.
UFUNCS = {f.__name__: f for f in (
    np.add, np.subtract, np.multiply, np.divide, np.maximum, np.minimum, np.negative, np.square,
    np.sqrt, np.exp, np.log, np.log1p, np.absolute, np.tanh, np.greater, np.greater_equal)}
UFUNCS["abs"] = UFUNCS.pop("absolute")
#: Backend primitives replayed as the NumPy reduction of the same name, ``out=`` the result.
REDUCTIONS = {"sum": np.sum, "mean": np.mean, "max": np.max}
#: Backend methods that do no work a replay must redo: they hand out buffers, views or scalars.
NO_WORK = ("scratch", "empty", "scalar", "transpose")
#: One recording at a time per process (the wrappers live on the shared backend object).
_RECORDING = threading.Lock()
#: Every public method of the backend interface (the names wrapped while recording).
INTERFACE = tuple(name for name in dir(Backend)
                  if not name.startswith("_") and callable(getattr(Backend, name)))


class Recording:
    """The ops of one step being recorded by the thread ``owner``; ``depth`` > 1 inside a
    backend method. Calls from other threads (a search fitting trials in threads shares the
    backend object) pass through unrecorded."""

    def __init__(self):
        self.ops = []
        self.depth = 0
        self.failed = None
        self.owner = threading.get_ident()

    def record(self, op):
        """Called by a fused kernel: ``op()`` redoes its work into the same arrays. Kernels run
        from the ops' dispatch (depth 0) or inside one backend method (depth 1); a kernel that
        another recorded method calls is part of that method's replay."""
        if self.depth <= 1 and threading.get_ident() == self.owner:
            self.ops.append(op)


def _generic(name, args, kwargs, result):
    """``(result, op)`` replaying the primitive call ``name``, or None if it has no replay.

    The output gradient ``dZ[L]``, like every op of ``xpnet.ops``, reaches the recording as the
    primitive calls of its definition's formula (or as its fused kernel's own recording)."""
    if name in NO_WORK:
        return result, _no_op
    if name in ("copy", "astype", "where"):
        return _copy_replay(name, args, result)
    if name not in UFUNCS and name not in REDUCTIONS and name not in ("matmul", "clip"):
        return None
    if not isinstance(result, np.ndarray):
        result = np.asarray(result)  # a NumPy scalar: give the replay an array to write
    if name == "matmul":
        a, b = args[:2]
        return result, lambda: np.matmul(a, b, out=result)
    if name == "clip":
        x, low, high = args[:3]
        return result, lambda: np.clip(x, low, high, out=result)
    if name in UFUNCS:
        fn = UFUNCS[name]
        operands = args[:fn.nin]
        return result, lambda: fn(*operands, out=result)
    fn, x = REDUCTIONS[name], args[0]
    axis = kwargs.get("axis", args[1] if len(args) > 1 else None)
    keepdims = kwargs.get("keepdims", args[2] if len(args) > 2 else False)
    return result, lambda: fn(x, axis=axis, keepdims=keepdims, out=result)


def _no_op():
    """The replay of a call that did no work (a buffer, a view, a scalar)."""


def _copy_replay(name, args, result):
    """``copy(x)``, ``astype(x, dtype)`` (a new array only when the dtype differs) and
    ``where(cond, a, b)`` (which has no ``out=``) redone into the recorded result."""
    if not isinstance(result, np.ndarray):
        return None
    if name == "where":
        cond, a, b = args[:3]
        return result, lambda: np.copyto(result, np.where(cond, a, b))
    x = args[0]
    if result is x:
        return result, _no_op
    return result, lambda: np.copyto(result, x, casting="unsafe")


class ReplayStep(RecordedStep):
    """``RecordedStep`` whose recording is the list of kernel and BLAS calls of one step (a call
    it cannot replay -> ``"eager"``, with ``error`` naming it)."""

    def __init__(self, backend, step, warmup=1):
        super().__init__(step, warmup)
        self.backend = backend
        self.ops = None

    @property
    def replaying(self):
        return self.ops is not None

    def __call__(self):
        if self.ops is not None:
            for op in self.ops:
                op()
            return
        self.calls += 1
        if self.error is not None or self.calls <= self.warmup:
            self.step()
            return
        rec = self._record()  # runs the step once, eagerly, while recording it
        if rec.failed is None:
            self.ops = rec.ops
        else:
            self.error = rec.failed

    def _record(self):
        bk, rec = self.backend, Recording()
        cls = type(bk)
        with _RECORDING:
            for name in INTERFACE:
                setattr(bk, name, _wrap(bk, rec, name, getattr(cls, name)))
            bk._replay = rec
            try:
                self.step()
            finally:
                bk._replay = None
                for name in INTERFACE:
                    delattr(bk, name)
        return rec


def _wrap(bk, rec, name, method):
    def wrapped(*args, **kwargs):
        if threading.get_ident() != rec.owner:
            return method(bk, *args, **kwargs)
        rec.depth += 1
        before = len(rec.ops)
        try:
            result = method(bk, *args, **kwargs)
        finally:
            rec.depth -= 1
        if rec.depth or rec.failed is not None or len(rec.ops) > before:
            return result
        generic = _generic(name, args, kwargs, result)
        if generic is None:
            rec.failed = f"{name}() has no replay here"
            return result
        result, op = generic
        if op is not _no_op:
            rec.ops.append(op)
        return result

    return wrapped
