"""One hidden layer on the planar "flower" data: the hidden-layer-size sweep.

Reproduces the shallow-network figure of the course (seeds 000-002, "one hidden layer neural
networks"; the planar-data assignment): ``make_planar(400, 0.2, seed=1, legacy=True)`` is the
assignment's ``load_planar_dataset()``, two classes of four petals that no straight line
separates. A logistic unit draws one line; ``NeuralNetwork(hidden=(h,), activation="tanh")``
trained by batch gradient descent (learning rate 1.2, as the assignment) for h in 1, 2, 3, 4,
5, 20, 50 bends the boundary more as h grows: an accuracy table and a grid of decision regions.

Run:  XPNET_BACKEND=numpy python examples/03_planar_hidden_sizes.py [--out DIR] [--quick]
"""

from __future__ import annotations

import xpnet
from _common import acc, out_path, parse_args, table, wrote
from xpnet.datasets import make_planar
from xpnet.plots import plot_decision_regions, plot_decision_regions_grid

HIDDEN_SIZES = (1, 2, 3, 4, 5, 20, 50)


def main(argv=None):
    args = parse_args(__doc__, argv)
    epochs = 1000 if args.quick else 5000
    X, y = make_planar(400, 0.2, seed=1, legacy=True)

    logistic = xpnet.LogisticRegression(iterations=epochs // 5, learning_rate=0.1).fit(X, y)
    rows = [["logistic regression", "-", acc(logistic.score(X, y)), logistic.cost_[-1]]]
    models = []
    for h in HIDDEN_SIZES:
        net = xpnet.NeuralNetwork(hidden=(h,), activation="tanh", init="random", optimizer="gd",
                                  learning_rate=1.2, batch_size=None, epochs=epochs,
                                  seed=0).fit(X, y)
        models.append(net)
        n_params = sum(p.size for p in net.parameters_.values())
        rows.append([f"hidden size {h}", n_params, acc(net.score(X, y)),
                     net.history_["cost"][-1]])
    table(["model", "parameters", "train accuracy", "final cost"], rows,
          title=f"planar flower, 400 points; tanh hidden layer, gd lr 1.2, {epochs} epochs, "
                "full batch")
    wrote(plot_decision_regions(logistic, X, y, out_path(args, "planar_logistic.png"),
                                title=f"Logistic regression (acc {logistic.score(X, y):.2f})",
                                resolution=120 if args.quick else 300))
    wrote(plot_decision_regions_grid(
        models, X, y, out_path(args, "planar_hidden_sizes.png"),
        titles=[f"hidden size {h} (acc {m.score(X, y):.2f})"
                for h, m in zip(HIDDEN_SIZES, models)],
        resolution=80 if args.quick else 200))


if __name__ == "__main__":
    main()
