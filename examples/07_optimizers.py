"""Mini-batch gradient descent, momentum and Adam on the moons: the optimization figure.

Reproduces "Optimization Algorithms" of seed 001 (mini-batch gradient descent, gradient descent
with momentum ``v = beta v + (1 - beta) dW``, RMSprop, Adam with ``beta1 = 0.9``,
``beta2 = 0.999``, ``epsilon = 1e-8``) as the optimization assignment compares them: the same
3-layer ReLU network (5, 2 hidden units, He initialization), mini-batches of 64 and learning rate
0.0007 on 300 noisy moons, trained with ``optimizer="gd"``, ``"momentum"`` and ``"adam"``.
Momentum barely differs from plain gradient descent at this small learning rate; Adam converges
far faster. Cost curves, an accuracy table and the three decision boundaries.

Run:  XPNET_BACKEND=numpy python examples/07_optimizers.py [--out DIR] [--quick]
"""

from __future__ import annotations

import xpnet
from _common import acc, curves, out_path, parse_args, table, wrote
from xpnet.datasets import make_moons
from xpnet.plots import plot_decision_regions_grid

OPTIMIZERS = ("gd", "momentum", "adam")


def main(argv=None):
    args = parse_args(__doc__, argv)
    epochs = 300 if args.quick else 2000
    X, y = make_moons(300, noise=0.2, seed=3)
    models, rows = {}, []
    for name in OPTIMIZERS:
        net = xpnet.NeuralNetwork(hidden=(5, 2), activation="relu", init="he", optimizer=name,
                                  learning_rate=0.0007, batch_size=64, epochs=epochs,
                                  normalize=False, seed=0).fit(X, y)
        models[name] = net
        cost = net.history_["cost"]
        rows.append([name, cost[0], cost[len(cost) // 10], cost[-1], acc(net.score(X, y))])
    table(["optimizer", "cost epoch 1", f"cost epoch {epochs // 10 + 1}", f"cost epoch {epochs}",
           "accuracy"], rows,
          title=f"moons (300, noise 0.2); relu 5-2-1, he init; lr 0.0007, mini-batch 64, "
                f"{epochs} epochs")
    curves({name: m.history_["cost"] for name, m in models.items()},
           out_path(args, "optimizers_costs.png"), ylabel="cost",
           title="mini-batch cost per epoch (learning rate 0.0007)")
    wrote(plot_decision_regions_grid(
        list(models.values()), X, y, out_path(args, "optimizers_regions.png"), ncols=3,
        titles=[f"{'Gradient Descent' if n == 'gd' else n.title()} (acc {m.score(X, y):.3f})"
                for n, m in models.items()],
        resolution=80 if args.quick else 200))


if __name__ == "__main__":
    main()
