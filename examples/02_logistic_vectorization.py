"""Logistic regression as a neural network: the two for-loops against the vectorized form.

Reproduces the "Vectorization" slides of seeds 000, 003 and 004: first the timing of
``np.dot(a, b)`` against a Python loop over the same million random numbers ("Vectorized
version: ... ms" / "For loop: ... ms"), then logistic regression trained both ways,
``xpnet.LogisticRegression(vectorized=False)`` (the course's loop over the ``m`` examples and
the ``n_x`` features) and ``vectorized=True`` (``Z = w^T X + b``, ``dZ = A - Y``,
``dw = X dZ^T / m``), which give the same ``cost_`` at very different speeds; and the course
assignment's functions ``xpnet.course.propagate``, ``optimize`` and ``model``.
The data: the digits 0 and 1 of ``load_digits()`` (8x8 images, 64 features, scaled to 0..1).

Run:  XPNET_BACKEND=numpy python examples/02_logistic_vectorization.py [--out DIR] [--quick]
"""

from __future__ import annotations

import time

import numpy as np

import xpnet
from _common import acc, out_path, parse_args, table, wrote
from xpnet import course
from xpnet.datasets import load_digits
from xpnet.plots import plot_costs


def dot_timing(n, seed=0):
    """The slides' experiment: ``(c_vectorized, ms_vectorized, c_loop, ms_loop)``; the
    vectorized time is the best of 20 calls, the loop runs once."""
    rng = np.random.default_rng(seed)
    a, b = rng.random(n), rng.random(n)
    ms_vec = float("inf")
    for _ in range(20):                            # the best of 20: one call is noisy
        tic = time.perf_counter()
        c_vec = np.dot(a, b)
        ms_vec = min(ms_vec, 1000 * (time.perf_counter() - tic))
    c_loop = 0.0
    tic = time.perf_counter()
    for i in range(n):
        c_loop += a[i] * b[i]
    ms_loop = 1000 * (time.perf_counter() - tic)
    return float(c_vec), ms_vec, float(c_loop), ms_loop


def digits_zero_one():
    """Digits 0 and 1: ``X (360, 64)`` in 0..1, ``y (360,)``."""
    X, y = load_digits()
    keep = y < 2
    return X[keep] / 16.0, y[keep]


def main(argv=None):
    args = parse_args(__doc__, argv)
    n = 100_000 if args.quick else 1_000_000
    iterations = 30 if args.quick else 100

    # --- np.dot against a loop
    c_vec, ms_vec, c_loop, ms_loop = dot_timing(n)
    print(f"a, b = np.random.rand({n:,}) twice")
    print(f"{c_vec}\nVectorized version: {ms_vec:.3f} ms")
    print(f"{c_loop}\nFor loop: {ms_loop:.1f} ms\n")
    table(["", "seed 003 (comment)", "this machine"],
          [["vectorized np.dot", "about 1.5 ms", f"{ms_vec:.3f} ms"],
           ["for loop", "about 400~500 ms", f"{ms_loop:.1f} ms"],
           ["loop / vectorized", "about 300x", f"{ms_loop / ms_vec:.0f}x"],
           ["|c_loop - c_vec| / c_vec", "-", f"{abs(c_loop - c_vec) / c_vec:.1e}"]],
          title=f"dot product of {n:,} elements")

    # --- LogisticRegression: two loops vs vectorized, same cost_
    X, y = digits_zero_one()
    fits, times = {}, {}
    for vectorized in (False, True):
        tic = time.perf_counter()
        fits[vectorized] = xpnet.LogisticRegression(vectorized=vectorized, iterations=iterations,
                                                    learning_rate=0.01).fit(X, y)
        times[vectorized] = time.perf_counter() - tic
    loops, vec = fits[False], fits[True]
    same = float(np.max(np.abs(np.subtract(loops.cost_, vec.cost_))))
    table(["form", "fit time", "cost_[0]", "cost_[-1]", "train accuracy"],
          [["two for-loops", f"{times[False] * 1000:.0f} ms", loops.cost_[0], loops.cost_[-1],
            acc(loops.score(X, y))],
           ["vectorized", f"{times[True] * 1000:.1f} ms", vec.cost_[0], vec.cost_[-1],
            acc(vec.score(X, y))]],
          title=f"LogisticRegression on digits 0/1, X {X.shape}, {iterations} iterations, "
                "learning_rate 0.01", digits=6)
    print(f"speed-up of the vectorized form: {times[False] / times[True]:.0f}x")
    print(f"max |cost_ loops - cost_ vectorized| = {same:.1e}  (same cost_ both ways)\n")
    wrote(plot_costs([loops.cost_, vec.cost_], out_path(args, "logistic_costs.png"),
                     labels=["two for-loops", "vectorized"], ylabel="cost J"))

    # --- the assignment's functions, course layout: X (n_x, m), Y (1, m)
    w, b = np.array([[1.0], [2.0]]), 2.0
    Xs, Ys = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    grads, cost = course.propagate(w, b, Xs, Ys)
    print("course.propagate(w=[[1], [2]], b=2, X=[[1, 2, -1], [3, 4, -3.2]], Y=[[1, 0, 1]])")
    print(f"dw = {np.asarray(grads['dw']).ravel().tolist()}  db = {grads['db']:.10f}  "
          f"cost = {cost:.10f}\n")
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:240], order[240:]
    print("course.model on digits 0/1 (240 train, 120 test images)")
    course.model(X[train].T, y[train].reshape(1, -1), X[test].T, y[test].reshape(1, -1),
                 num_iterations=200 if args.quick else 1000, learning_rate=0.5,
                 print_cost=True)


if __name__ == "__main__":
    main()
