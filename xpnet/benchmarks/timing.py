"""The timing loop: warm up, calibrate, then time rounds with ``time.perf_counter``.

Every round ends with ``sync()`` (``backend.synchronize()``: a no-op on the CPU, a device wait
on a GPU) before the timer stops, so asynchronous GPU work is counted in full.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """How long to time one row.

    ``budget_s`` is the time to aim for over all rounds; the number of rounds is that budget
    divided by one round's time, clamped to ``[min_rounds, max_rounds]``. Work faster than
    ``min_round_s`` is repeated ``iterations`` times per round (reported per call).
    ``settle_s`` is an idle pause before each row: BLAS and OpenMP thread pools busy-wait for a
    while after their last call (OpenBLAS about 0.1 s), and on a 2-core machine those spinning
    threads would steal the next row's cores (a 512 x 512 matmul measured 8x slower).
    """

    budget_s: float = 2.0
    min_rounds: int = 3
    max_rounds: int = 30
    min_round_s: float = 1e-3
    settle_s: float = 0.25

    def __post_init__(self):
        if min(self.budget_s, self.min_round_s, self.settle_s) < 0:
            raise ValueError("budget_s, min_round_s and settle_s must be >= 0")
        if not 1 <= self.min_rounds <= self.max_rounds:
            raise ValueError(f"need 1 <= min_rounds <= max_rounds, got {self.min_rounds} and "
                             f"{self.max_rounds}")


FULL = Policy(budget_s=2.0, min_rounds=3, max_rounds=30)
QUICK = Policy(budget_s=0.3, min_rounds=1, max_rounds=5)


@dataclass(frozen=True)
class Timing:
    """Seconds per call of each round (``times``) and how they were taken."""

    times: tuple
    iterations: int

    @property
    def rounds(self):
        return len(self.times)

    @property
    def median_s(self):
        return statistics.median(self.times)

    @property
    def min_s(self):
        return min(self.times)

    @property
    def max_s(self):
        return max(self.times)


def _timed(work, sync, iterations, clock):
    start = clock()
    for _ in range(iterations):
        work()
    sync()
    return (clock() - start) / iterations


def time_callable(work, sync, policy, warmup=True, max_rounds=None, clock=time.perf_counter,
                  sleep=time.sleep):
    """Time ``work()`` (followed by ``sync()``) under ``policy``; returns a ``Timing``.

    With ``warmup`` one untimed call runs first (JIT compilation, caches, device allocation);
    then a first timed call sizes the rounds (and counts as one when it needs no repeats).
    Without ``warmup`` (pure-Python loops) the first call does that at once.
    ``max_rounds`` (the group's cap) lowers ``policy.max_rounds``. ``clock`` and ``sleep`` are
    injectable for tests.
    """
    if policy.settle_s:
        sleep(policy.settle_s)
    times = []
    if warmup:
        _timed(work, sync, 1, clock)
    first = _timed(work, sync, 1, clock)
    rounds, iterations = plan_rounds(first, policy, max_rounds)
    if iterations == 1:  # a call long enough to stand alone counts as a round
        times.append(first)
    while len(times) < rounds:
        times.append(_timed(work, sync, iterations, clock))
    return Timing(tuple(times), iterations)


def plan_rounds(first_s, policy, max_rounds=None):
    """``(rounds, iterations)`` for work whose first call took ``first_s`` seconds.

    Calls shorter than ``policy.min_round_s`` repeat ``iterations`` times per round; rounds
    fill ``policy.budget_s``, clamped to ``[min_rounds, min(max_rounds, policy.max_rounds)]``.
    """
    cap = policy.max_rounds if max_rounds is None else max(1, min(policy.max_rounds, max_rounds))
    floor = min(policy.min_rounds, cap)
    iterations = 1
    if first_s <= 0:
        iterations = 10_000
    elif first_s < policy.min_round_s:
        iterations = min(10_000, math.ceil(policy.min_round_s / first_s))
    per_round = max(first_s * iterations, 1e-9)
    rounds = max(floor, min(cap, int(policy.budget_s / per_round)))
    return rounds, iterations
