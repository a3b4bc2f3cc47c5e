"""Hyperparameter search: random points on the right scale against a grid.

Reproduces "Hyperparameter tuning" of seed 001: a 3 x 3 grid over the learning rate and a
second hyperparameter tries only 3 learning rates, 9 random points try 9 (figure 3.2, grid
against random search); sampling the learning rate uniformly in [0.0001, 1] puts 90 % of the
points in [0.1, 1], so sample ``alpha = 10 ** r`` with ``r = -4 * np.random.rand()``
(``Real(1e-4, 1, log=True)``) and ``beta = 1 - 10 ** r`` (``Beta(0.9, 0.999)``); then search
again, finer, around the best point (``refine=True``). ``xpnet.network.random_search`` and
``grid_search`` tune ``NeuralNetwork(optimizer="momentum")`` on noisy moons, scored on the same
dev split; the picture shows every tried point and its dev accuracy.

Run:  XPNET_BACKEND=numpy python examples/10_random_vs_grid_search.py [--out DIR] [--quick]
"""

from __future__ import annotations

import textwrap

import numpy as np

import xpnet
from _common import acc, figure, out_path, parse_args, save, table
from xpnet.datasets import make_moons
from xpnet.network import Beta, Real, grid_search, random_search

DECADES = ((1e-4, 1e-3), (1e-3, 1e-2), (1e-2, 1e-1), (1e-1, 1.0))


def decade_shares(dim, n=10_000, seed=0):
    """The fraction of ``n`` draws of ``dim`` in each decade of [1e-4, 1]."""
    rng = np.random.default_rng(seed)
    draws = np.array([dim.sample(rng) for _ in range(n)])
    return [float(np.mean((draws >= lo) & (draws < hi if hi < 1 else draws <= hi)))
            for lo, hi in DECADES]


def main(argv=None):
    args = parse_args(__doc__, argv)

    # --- the scale of the learning rate
    rows = [["uniform Real(1e-4, 1)"] + [f"{s:.1%}" for s in decade_shares(Real(1e-4, 1.0))],
            ["log Real(1e-4, 1, log=True)"]
            + [f"{s:.1%}" for s in decade_shares(Real(1e-4, 1.0, log=True))]]
    table(["10,000 draws of alpha"] + [f"[{lo:g}, {hi:g})" for lo, hi in DECADES], rows,
          title="where the samples land (seed: uniform puts 90 % in [0.1, 1])")

    # --- random search against a grid, same budget, same dev split
    X, y = make_moons(300, noise=0.25, seed=0)
    base = xpnet.NeuralNetwork(hidden=(8,), optimizer="momentum", batch_size=32,
                               epochs=15 if args.quick else 40)
    n = 4 if args.quick else 9
    space = {"learning_rate": Real(1e-4, 1.0, log=True), "beta": Beta(0.9, 0.999)}
    grid = {"learning_rate": [1e-3, 1e-2, 1e-1], "beta": [0.9, 0.99, 0.999]}
    if args.quick:
        grid = {"learning_rate": [1e-3, 1e-1], "beta": [0.9, 0.999]}
    rand = random_search(base, space, X, y, n_trials=n, seed=0, refine=True)
    grid_trials = grid_search(base, grid, X, y, seed=0)
    first = [t for t in rand if t["round"] == 1]
    rows = []
    for name, trials in (("grid search", grid_trials), ("random, round 1", first),
                         ("random, both rounds", rand)):
        best = max(trials, key=lambda t: t["dev_score"])
        rows.append([name, len(trials), len({t["params"]["learning_rate"] for t in trials}),
                     len({t["params"]["beta"] for t in trials}),
                     f"{best['params']['learning_rate']:.3g}", f"{best['params']['beta']:.4g}",
                     acc(best["dev_score"])])
    table(["search", "fits", "distinct lr", "distinct beta", "best lr", "best beta",
           "best dev acc"], rows,
          title=f"NeuralNetwork(hidden=(8,), optimizer='momentum') on moons, "
                f"{base.epochs} epochs, dev 20 %")
    for name, trials in (("grid", grid_trials), ("random", rand)):
        lrs = sorted({t["params"]["learning_rate"] for t in trials})
        print(textwrap.fill(f"learning rates tried by {name}: "
                            + ", ".join(f"{v:.3g}" for v in lrs), width=100,
                            subsequent_indent="    "))
    print()
    table(["round", "learning_rate", "beta", "dev acc"],
          [[t["round"], f"{t['params']['learning_rate']:.4g}", f"{t['params']['beta']:.4f}",
            acc(t["dev_score"])] for t in sorted(rand, key=lambda t: t["trial"])],
          title="random_search trials in the order they ran (round 2: around the best)")

    fig, axes = figure(ncols=2, size=(5.5, 4.0), title="grid against random search")
    if fig is not None:
        groups = (("grid", grid_trials, "s"), ("random, round 1", first, "o"),
                  ("random, round 2", [t for t in rand if t["round"] == 2], "^"))
        for name, trials, marker in groups:
            lr = [t["params"]["learning_rate"] for t in trials]
            axes[0].scatter(lr, [t["dev_score"] for t in trials], marker=marker, label=name)
            axes[1].scatter(lr, [1 - t["params"]["beta"] for t in trials], marker=marker,
                            label=name)
        axes[0].set_ylabel("dev accuracy")
        axes[1].set_ylabel("1 - beta (log scale)")
        axes[1].set_yscale("log")
        for ax in axes:
            ax.set_xscale("log")
            ax.set_xlabel("learning rate (log scale)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
        save(fig, out_path(args, "search_points.png"))


if __name__ == "__main__":
    main()
