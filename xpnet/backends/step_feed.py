"""What a recorded training step reads from the device instead of its launch arguments.

A CUDA graph replays its kernels with the arguments they were captured with. The values that
change from one step to the next, the dropout seeds and the optimizer's scalars (the learning
rate and bias corrections of step ``t``), are therefore read by the recorded kernels from two
small device arrays, ``seeds (SEED_SLOTS,) uint64`` and ``scalars (SCALAR_SLOTS,) float64``,
which the runner refills before each replay (one host-to-device copy each, on the caller's
stream, ordered before the replay):

- a seed is drawn from the fit's Generator exactly as the eager step draws it, same Generator,
  same order, so the replayed masks are the eager ones, bit for bit;
- an optimizer's scalars are computed on the host by the same function the eager update uses,
  from the live learning rate and step count of a ``StepClock`` (the training loop's), so the
  replayed update is the eager one, bit for bit.

While a step is captured, the backend finds the feed in ``capturing.feed`` (per thread): its
``uniform`` takes a seed slot, its fused optimizer updates take scalar slots.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

#: Dropout masks one recorded step may draw (one per hidden layer with dropout).
SEED_SLOTS = 64
#: Optimizer scalars one recorded step may read.
SCALAR_SLOTS = 16

#: The feed of the step being captured by this thread (the cupy backend reads it).
capturing = threading.local()


def current():
    """The feed of the step this thread is capturing, or None."""
    return getattr(capturing, "feed", None)


@dataclass
class StepClock:
    """The training loop's live view of the update: ``lr()`` the learning rate of the current
    epoch, ``t()`` the optimizer's step count, ``advance()`` counts one step done by a replay
    (the update ran inside the graph, so its Python did not)."""

    lr: object
    t: object
    advance: object


class StepFeed:
    """The seeds and scalars of one recorded step, and how to make the next step's."""

    def __init__(self, cp, clock=None):
        self.cp, self.clock = cp, clock
        self.seeds = cp.zeros((SEED_SLOTS,), dtype=np.uint64)
        self.scalars = cp.zeros((SCALAR_SLOTS,), dtype=np.float64)
        self.rngs, self.seed_values, self._states = [], [], {}
        self.producers, self.scalar_values = [], []

    def take_seed(self, rng):
        """While the step is captured: draw the next seed from ``rng`` (as an eager draw
        would) and return the slot the recorded kernel reads it from."""
        if len(self.rngs) == SEED_SLOTS:
            raise RuntimeError(f"a recorded step draws at most {SEED_SLOTS} dropout masks")
        self._states.setdefault(id(rng), (rng, rng.bit_generator.state))
        self.rngs.append(rng)
        self.seed_values.append(int(rng.integers(0, 2 ** 63)))
        return len(self.rngs) - 1

    def take_scalars(self, producer):
        """While the step is captured: ``producer()`` gives a tuple of floats for the current
        step (the clock's); returns the first of the consecutive slots that hold them."""
        values = [float(v) for v in producer()]
        first = len(self.scalar_values)
        if first + len(values) > SCALAR_SLOTS:
            raise RuntimeError(f"a recorded step reads at most {SCALAR_SLOTS} scalars")
        self.producers.append(producer)
        self.scalar_values += values
        return first

    def next_step(self):
        """The next step's seeds and scalars: the seeds from the same Generators in the same
        order, the scalars from the producers (after the clock has advanced)."""
        self.seed_values = [int(rng.integers(0, 2 ** 63)) for rng in self.rngs]
        self.scalar_values = [float(v) for p in self.producers for v in p()]

    def upload(self, stream=None):
        """Copy the seeds and scalars to the device, ordered on ``stream`` (the one the replays
        go on: the copy then waits for the previous replay, which may still read the arrays;
        a plain synchronous copy would not, on a non-blocking stream)."""
        if self.rngs:
            _set(self.seeds, self.seed_values, np.uint64, stream)
        if self.producers:
            _set(self.scalars, self.scalar_values, np.float64, stream)

    def rewind(self):
        """Give the Generators back the state they had before the capture (a failed capture
        then runs eagerly with the very seeds an eager step draws) and forget the slots."""
        for rng, state in self._states.values():
            rng.bit_generator.state = state
        self.rngs, self.seed_values, self._states = [], [], {}
        self.producers, self.scalar_values = [], []


def _set(device, values, dtype, stream):
    host = np.zeros(device.shape, dtype=dtype)
    host[:len(values)] = values
    if hasattr(device, "set"):      # cupy.ndarray: one asynchronous copy on ``stream``
        device.set(host, stream=stream)
    else:                           # the tests' CPU stand-in for CuPy (NumPy arrays)
        device[...] = host
