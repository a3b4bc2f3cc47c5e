"""Batch normalization: the same deep network with and without ``batch_norm=True``.

Reproduces "Batch normalization" of seed 001 (``z_norm = (z - mu) / sqrt(sigma^2 + eps)``,
``z_tilde = gamma z_norm + beta`` in every hidden layer, ``gamma`` and ``beta`` learned, no
``b``; seed 004, "Batch Normalization"): a 6-hidden-layer network (32 units each) on the 8x8
digits, mini-batch gradient descent with learning rate 0.1, with sigmoid and with ReLU hidden
units. Without batch norm the deep sigmoid network does not learn at all in 30 epochs (its
gradients vanish; see 11_vanishing_gradients.py); with it, it does. Cost curves and a table.

Run:  XPNET_BACKEND=numpy python examples/09_batch_norm.py [--out DIR] [--quick]
"""

from __future__ import annotations

import xpnet
from _common import acc, curves, out_path, parse_args, table
from xpnet.datasets import load_digits
from xpnet.network import train_dev_test_split


def main(argv=None):
    args = parse_args(__doc__, argv)
    epochs = 8 if args.quick else 30
    X, y = load_digits()
    split = train_dev_test_split(X, y, dev=0.3, test=0.0, seed=0)
    histories, rows = {}, []
    for activation in ("sigmoid", "relu"):
        for batch_norm in (False, True):
            net = xpnet.NeuralNetwork(hidden=(32,) * 6, activation=activation, init="xavier",
                                      optimizer="gd", learning_rate=0.1, batch_size=64,
                                      epochs=epochs, batch_norm=batch_norm, seed=0)
            net.fit(split.X_train, split.y_train)
            name = f"{activation}{', batch norm' if batch_norm else ''}"
            histories[name] = net.history_["cost"]
            rows.append([activation, "yes" if batch_norm else "no", net.history_["cost"][0],
                         net.history_["cost"][-1], acc(net.score(split.X_train, split.y_train)),
                         acc(net.score(split.X_dev, split.y_dev)),
                         f"{sum(net.history_['epoch_time']):.2f}"])
    table(["hidden", "batch norm", "cost epoch 1", f"cost epoch {epochs}", "train acc",
           "dev acc", "train time s"], rows,
          title=f"digits ({len(split.y_train)} train / {len(split.y_dev)} dev), 6 x 32 hidden "
                f"units, gd lr 0.1, mini-batch 64, {epochs} epochs")
    curves(histories, out_path(args, "batch_norm_costs.png"), ylabel="cost",
           styles={name: {"linestyle": "--"} for name in histories if "batch norm" not in name},
           title="6 hidden layers on digits: with and without batch norm")


if __name__ == "__main__":
    main()
