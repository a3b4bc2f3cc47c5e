"""The perceptron and Adaline on two iris classes: the course's first tables and curves.

Reproduces the "Shallow Neural Network" slides of seed 004 (Rosenblatt's perceptron, Adaline
and the delta rule): iris setosa (-1) and versicolor (+1), sepal length and petal length;
``Perceptron(eta=0.1, epochs=10)`` with its weights and misclassifications per epoch and its
decision regions; Adaline with eta 0.01 (diverging, log10 of the SSE) beside eta 0.0001 (too
slow); Adaline on standardized features converging in 15 epochs, by batch gradient descent
and by stochastic gradient descent, with their decision regions.

Run:  XPNET_BACKEND=numpy python examples/01_perceptron_adaline.py [--out DIR] [--quick]
"""

from __future__ import annotations

import numpy as np

import xpnet
from _common import acc, out_path, parse_args, table, wrote
from xpnet.datasets import load_iris
from xpnet.plots import plot_costs, plot_decision_regions, plot_decision_regions_grid, plot_errors

#: What the slides print for ``Perceptron(epochs=10, eta=0.1)``.
SEED_WEIGHTS = [-0.4, -0.68, 1.82]
SEED_CONVERGED_AFTER = 6


def iris_two_classes():
    """The seeds' ``X = df.iloc[0:100, [0, 2]]``, ``y = where(setosa, -1, 1)``."""
    iris = load_iris()
    X = iris.X[:100][:, [0, 2]]
    y = np.where(iris.y[:100] == 0, -1, 1)
    return X, y


def main(argv=None):
    args = parse_args(__doc__, argv)
    resolution = 100 if args.quick else 300
    X, y = iris_two_classes()
    names = ("sepal length [cm]", "petal length [cm]")

    # --- the perceptron rule
    ppn = xpnet.Perceptron(eta=0.1, epochs=10).fit(X, y)
    converged = next(i + 1 for i, e in enumerate(ppn.errors_) if e == 0)
    print("Perceptron(eta=0.1, epochs=10) on setosa/versicolor, sepal & petal length\n")
    table(["quantity", "seed (slides)", "xpnet"],
          [["weights w_ (bias first)", str(SEED_WEIGHTS), str(np.round(ppn.w_, 4).tolist())],
           ["converges after epoch", SEED_CONVERGED_AFTER, converged],
           ["training accuracy", "-", acc(ppn.score(X, y))]])
    print(f"ppn.errors_ = {ppn.errors_}\n")
    table(["epoch", "misclassifications"], list(enumerate(ppn.errors_, start=1)))
    wrote(plot_errors(ppn, out_path(args, "perceptron_errors.png"),
                      title="Perceptron: misclassifications per epoch"))
    wrote(plot_decision_regions(ppn, X, y, out_path(args, "perceptron_regions.png"),
                                feature_names=names, title="Perceptron",
                                resolution=resolution))

    # --- Adaline: a learning rate too large, and one too small
    ada1 = xpnet.Adaline(eta=0.01, epochs=10).fit(X, y)
    ada2 = xpnet.Adaline(eta=0.0001, epochs=10).fit(X, y)
    table(["epoch", "log10(SSE), eta 0.01", "SSE, eta 0.0001"],
          [[i, np.log10(c1), c2] for i, (c1, c2) in enumerate(zip(ada1.cost_, ada2.cost_), 1)],
          title="Adaline (batch gradient descent) on the raw features, 10 epochs")
    wrote(plot_costs([ada1, ada2], out_path(args, "adaline_learning_rates.png"),
                     log10=[True, False]))

    # --- standardized features: Adaline converges
    X_std = (X - X.mean(axis=0)) / X.std(axis=0)
    names_std = ("sepal length [standardized]", "petal length [standardized]")
    gd = xpnet.Adaline(eta=0.01, epochs=15).fit(X_std, y)
    sgd = xpnet.Adaline(eta=0.01, epochs=15, solver="sgd", seed=1).fit(X_std, y)
    mini = xpnet.Adaline(eta=0.01, epochs=15, solver="minibatch", batch_size=10,
                         seed=1).fit(X_std, y)
    stream = xpnet.Adaline(eta=0.01, solver="sgd", seed=1)
    for _ in range(15):
        stream.partial_fit(X_std, y)
    table(["epoch", "SSE gd", "SSE sgd", "SSE minibatch(10)"],
          [[i, a, b, c] for i, (a, b, c) in enumerate(zip(gd.cost_, sgd.cost_, mini.cost_), 1)],
          title="Adaline on standardized features, eta 0.01, 15 epochs")
    table(["solver", "w_ (bias first)", "accuracy"],
          [[name, str(np.round(m.w_, 4).tolist()), acc(m.score(X_std, y))]
           for name, m in (("gd", gd), ("sgd", sgd), ("minibatch", mini))])
    print(f"15 x partial_fit == fit(epochs=15) with sgd: "
          f"{np.allclose(stream.cost_, sgd.cost_) and np.allclose(stream.w_, sgd.w_)}\n")
    wrote(plot_costs([gd, sgd], out_path(args, "adaline_standardized_costs.png"),
                     labels=["Adaline - Gradient Descent", "Adaline - Stochastic Gradient "
                             "Descent"]))
    wrote(plot_decision_regions(gd, X_std, y, out_path(args, "adaline_gd_regions.png"),
                                feature_names=names_std, title="Adaline - Gradient Descent",
                                resolution=resolution))
    ppn_std = xpnet.Perceptron(eta=0.1, epochs=10).fit(X_std, y)
    wrote(plot_decision_regions_grid(
        [ppn_std, gd, sgd], X_std, y, out_path(args, "linear_units_regions.png"), ncols=3,
        titles=["Perceptron", "Adaline - GD", "Adaline - SGD"], feature_names=names_std,
        resolution=resolution // 2))


if __name__ == "__main__":
    main()
