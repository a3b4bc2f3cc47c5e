"""Replaying a static training step as a CUDA graph (used by the ``cupy`` backend).

A mini-batch step on a small batch is a few dozen kernel launches and cuBLAS calls, each with
microseconds of Python and CuPy dispatch, while the GPU work itself takes less: the step is
launch-bound. ``GraphStep`` runs the step eagerly once, records it once into a CUDA graph and
from then on replays the graph with one launch.

What makes that correct (the training loop's side of the contract, ``Backend.step_runner``):

- the step reads and writes only fixed buffers: the batch buffers the loop gathers into, the
  flat parameters and gradients, the batch-norm statistics and the epoch's 0-d cost
  accumulator; its shapes and scalar arguments are the same on every call (full batches only,
  no dropout, and the optimizer, whose scalars change every step, runs outside the graph);
- every temporary of the step comes from a memory pool of its own (``cupy.cuda.MemoryPool``),
  used only while this step runs, so the addresses the graph writes to are never handed to
  anything else; the eager first run fills the pool, so capture allocates nothing new;
- warm-up and capture run on a stream of its own (the legacy default stream cannot capture),
  ordered after the caller's current stream by an event and before it by another; replays are
  launched on the caller's current stream itself, so they follow what the loop queued there
  (the gather) and precede what it queues next (the optimizer) with no host sync, whichever
  stream that is (the legacy default, per-thread default, or the user's own).

The whole step (opt-in, ``feed``): with a ``step_feed.StepFeed`` the step may also draw dropout
masks and run the optimizer update; the kernels read the seeds and the optimizer's scalars from
the feed's device arrays, and before each replay the runner advances the training loop's clock
(one step counted), makes the step's seeds and scalars on the host exactly as the eager step
would, and copies them there. So a replay computes what the eager step computes, bit for bit.

If capture fails (a CuPy or driver that refuses some call during capture), the step warns once
and runs eagerly from then on: slower, never wrong.
"""

from __future__ import annotations

import warnings

from .base import RecordedStep
from .step_feed import capturing


class GraphStep(RecordedStep):
    """``RecordedStep`` whose recording is a CUDA graph (capture fails -> ``"eager"``)."""

    def __init__(self, cp, step, warmup=1, feed=None):
        super().__init__(step, warmup)
        self.cp = cp
        self.graph = None
        self.feed = feed
        self.stream = cp.cuda.Stream()
        self.pool = cp.cuda.MemoryPool()

    @property
    def replaying(self):
        return self.graph is not None

    def __call__(self):
        current = self.cp.cuda.get_current_stream()
        if self.graph is not None:
            if self.feed is not None:
                if self.feed.clock is not None:
                    self.feed.clock.advance()
                self.feed.next_step()
                self.feed.upload(current)
            self.graph.launch(stream=current)
            return
        if self.error is not None:
            self.step()
            return
        self.stream.wait_event(current.record())
        self.calls += 1
        warming_up = self.calls <= self.warmup
        with self.cp.cuda.using_allocator(self.pool.malloc), self.stream:
            if warming_up:
                self.step()
            else:
                graph = self._capture()
        current.wait_event(self.stream.record())
        if warming_up:
            return
        if graph is None:
            self.step()  # capture records without running: this call's work is still to do
        else:
            self.graph = graph
            if self.feed is not None:
                self.feed.upload(current)   # what the capture call drew and computed
            graph.launch(stream=current)

    def _capture(self):
        """The recorded graph, or None (with ``error`` set and one warning) if capture failed."""
        stream = self.stream
        stream.begin_capture()
        capturing.feed = self.feed
        try:
            self.step()
        except Exception as exc:  # CUDA/CuPy raise several unrelated types here
            self._end_broken_capture()
            return self._give_up(exc)
        finally:
            capturing.feed = None
        try:
            return stream.end_capture()
        except Exception as exc:
            return self._give_up(exc)

    def _end_broken_capture(self):
        try:
            self.stream.end_capture()
        except Exception:  # an invalidated capture reports itself when it is ended
            pass

    def _give_up(self, exc):
        self.error = exc
        if self.feed is not None:
            self.feed.rewind()
        warnings.warn(f"recording the training step as a CUDA graph failed "
                      f"({type(exc).__name__}: {exc}); training goes on without it "
                      f"(set XPNET_CUDA_GRAPH=0 to skip the attempt)", RuntimeWarning,
                      stacklevel=4)
        return None
