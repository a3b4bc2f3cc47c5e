"""Initialization: zeros, small random, large random, He and Glorot on the same network.

Reproduces the initialization comparison of the course (seed 001, "Random Initialization" and
"Vanishing / Exploding Gradients": ``W = np.random.randn(shape) * sqrt(1 / n[l-1])`` (Xavier),
``sqrt(2 / n[l-1])`` for ReLU (He), ``sqrt(2 / (n[l-1] + n[l]))`` (Glorot); seed 002: "both
hidden units have same influence, therefore we init. randomly", ``randn * 0.01``) as the
initialization assignment shows it: a 3-layer ReLU network (10, 5 hidden units) trained by
batch gradient descent from each of ``xpnet.ops.INITIALIZERS`` zeros, random (``* 0.01``),
large (``* 10``), he and glorot, on two interleaving moons. Zeros never breaks the symmetry
(cost stuck at log 2 = 0.693, accuracy 0.5), large starts with a huge cost, he and glorot learn.

Run:  XPNET_BACKEND=numpy python examples/04_initialization.py [--out DIR] [--quick]
"""

from __future__ import annotations

import xpnet
from _common import acc, curves, out_path, parse_args, table, wrote
from xpnet.datasets import make_moons
from xpnet.ops import INITIALIZERS
from xpnet.plots import plot_decision_regions_grid

INITS = ("zeros", "random", "large", "he", "glorot")


def main(argv=None):
    args = parse_args(__doc__, argv)
    epochs = 500 if args.quick else 2000
    X, y = make_moons(300, noise=0.2, seed=0)
    X_test, y_test = make_moons(300, noise=0.2, seed=1)
    models, rows = {}, []
    for name in INITS:
        net = xpnet.NeuralNetwork(hidden=(10, 5), activation="relu", init=name, optimizer="gd",
                                  learning_rate=0.1, batch_size=None, epochs=epochs,
                                  seed=0).fit(X, y)
        models[name] = net
        cost = net.history_["cost"]
        rows.append([name, INITIALIZERS[name].formula, cost[0], cost[-1], acc(net.score(X, y)),
                     acc(net.score(X_test, y_test))])
    table(["init", "W[l] =", "first cost", "final cost", "train acc", "test acc"], rows,
          title=f"moons (300 train, 300 test), relu 10-5-1, gd lr 0.1, {epochs} epochs")
    curves({name: m.history_["cost"] for name, m in models.items()},
           out_path(args, "initialization_costs.png"), ylabel="cost (log scale)", logy=True,
           title="cost per epoch for each initialization",
           styles={"zeros": {"linestyle": "--", "linewidth": 2.5}})
    wrote(plot_decision_regions_grid(
        list(models.values()), X, y, out_path(args, "initialization_regions.png"), ncols=5,
        titles=[f"{n} (test acc {m.score(X_test, y_test):.2f})" for n, m in models.items()],
        resolution=80 if args.quick else 150))


if __name__ == "__main__":
    main()
