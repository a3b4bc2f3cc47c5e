"""L2 regularization against (inverted) dropout on a network that overfits.

Reproduces the regularization comparison of the course (seed 001, "Regularization":
``J + lambda / (2m) sum_l ||W[l]||_F^2`` and inverted dropout with ``keep_prob = 0.8``;
seed 004, "Regularization" and "Dropout") as the regularization assignment shows it: a network
far larger than its data (two hidden layers of 64 ReLU units, 80 noisy training points of two
moons) fits the training set perfectly and the dev set less well; ``NeuralNetwork(l2=...)``
and ``NeuralNetwork(keep_prob=...)`` trade training accuracy for dev accuracy and smoother
boundaries. A train/dev accuracy table, dev cost curves and the decision regions.

Run:  XPNET_BACKEND=numpy python examples/05_regularization.py [--out DIR] [--quick]
"""

from __future__ import annotations

import xpnet
from _common import acc, curves, out_path, parse_args, table, wrote
from xpnet.datasets import make_moons
from xpnet.plots import plot_decision_regions_grid

SETTINGS = (
    ("no regularization", {}),
    ("L2, lambda 0.1", {"l2": 0.1}),
    ("L2, lambda 0.5", {"l2": 0.5}),
    ("dropout, keep_prob 0.8", {"keep_prob": 0.8}),
    ("dropout, keep_prob 0.6", {"keep_prob": 0.6}),
    ("L2 0.1 + keep_prob 0.8", {"l2": 0.1, "keep_prob": 0.8}),
)


def main(argv=None):
    args = parse_args(__doc__, argv)
    epochs = 150 if args.quick else 600
    X, y = make_moons(80, noise=0.35, seed=0)
    X_dev, y_dev = make_moons(300, noise=0.35, seed=1)
    models, rows = {}, []
    for name, extra in SETTINGS:
        net = xpnet.NeuralNetwork(hidden=(64, 64), activation="relu", optimizer="adam",
                                  learning_rate=0.01, batch_size=None, epochs=epochs, seed=0,
                                  **extra).fit(X, y, dev=(X_dev, y_dev))
        models[name] = net
        train, dev = net.score(X, y), net.score(X_dev, y_dev)
        rows.append([name, acc(train), acc(dev), f"{train - dev:+.3f}",
                     net.history_["cost"][-1], net.history_["dev_cost"][-1]])
    table(["model", "train acc", "dev acc", "gap", "train cost", "dev cost"], rows,
          title=f"moons: 80 train / 300 dev points (noise 0.35); relu 64-64-1, adam lr 0.01, "
                f"{epochs} epochs")
    curves({name: m.history_["dev_cost"] for name, m in models.items()},
           out_path(args, "regularization_dev_cost.png"), ylabel="dev cost", logy=True,
           title="dev cost per epoch: the unregularized network overfits")
    wrote(plot_decision_regions_grid(
        list(models.values()), X, y, out_path(args, "regularization_regions.png"), ncols=3,
        titles=[f"{n} (dev {m.score(X_dev, y_dev):.2f})" for n, m in models.items()],
        resolution=80 if args.quick else 150))


if __name__ == "__main__":
    main()
