"""Vanishing and exploding gradients: ``1.5 ** L`` and ``0.5 ** L``, then real deep networks.

Reproduces "Vanishing / Exploding Gradients" of seed 001: with every ``W[l]`` about 1.5 (no
activation) the output of an L-layer network grows like ``1.5 ** L``, with 0.5 it vanishes
like ``0.5 ** L`` (printed for L = 1..50, and checked through an actual L-layer linear network
``xpnet.course.L_model_forward`` with ``W[l] = 1.5 I``); a careful initialization,
``Var(w) = 1 / n[l-1]`` (Xavier) or ``2 / n[l-1]`` for ReLU (He), partly solves it. Then a
8-hidden-layer network on the digits, ``NeuralNetwork(record_gradients=True)``:
``history_["grad_norm"]`` holds the per-layer ``||dW[l]||_F`` of every epoch, drawn with
``xpnet.plots.plot_gradient_norms``. Sigmoid layers shrink the gradient layer by layer; ReLU
with ``randn * 0.01`` loses it entirely, with ``randn * 10`` explodes, with He keeps it.

Run:  XPNET_BACKEND=numpy python examples/11_vanishing_gradients.py [--out DIR] [--quick]
"""

from __future__ import annotations

import textwrap

import numpy as np

import xpnet
from _common import acc, curves, out_path, parse_args, table, wrote
from xpnet import course
from xpnet.datasets import load_digits
from xpnet.network.training import TrainingDiverged
from xpnet.plots import plot_gradient_norms

CASES = (("sigmoid", "xavier"), ("tanh", "xavier"), ("relu", "random"), ("relu", "large"),
         ("relu", "glorot"), ("relu", "he"))
DRAWN = (("sigmoid", "xavier"), ("relu", "random"), ("relu", "he"))


def deep_linear_output(w, L):
    """``A[L]`` of an L-layer network with ``W[l] = w I (2 x 2)``, no bias, linear units, x = 1."""
    params = {}
    for layer in range(1, L + 1):
        params[f"W{layer}"], params[f"b{layer}"] = w * np.eye(2), np.zeros((2, 1))
    AL, _ = course.L_model_forward(np.ones((2, 1)), params, hidden_activation="linear",
                                   output_activation="linear")
    return float(AL[0, 0])


def main(argv=None):
    args = parse_args(__doc__, argv)
    Ls = np.arange(1, 51)
    rows = [[L, 1.5 ** L, 0.5 ** L, L + 25, 1.5 ** (L + 25), 0.5 ** (L + 25)]
            for L in range(1, 26)]
    table(["L", "1.5^L", "0.5^L", "L", "1.5^L", "0.5^L"], rows,
          title="the output of L layers with W[l] = 1.5 (or 0.5) and no activation", digits=4)
    table(["L", "A[L], W[l] = 1.5 I", "1.5^L", "A[L], W[l] = 0.5 I", "0.5^L"],
          [[L, deep_linear_output(1.5, L), 1.5 ** L, deep_linear_output(0.5, L), 0.5 ** L]
           for L in (1, 10, 20, 50)],
          title="the same through course.L_model_forward (linear units, x = (1, 1))", digits=6)
    curves({"1.5^L": 1.5 ** Ls, "0.5^L": 0.5 ** Ls}, out_path(args, "power_of_L.png"),
           xlabel="number of layers L", ylabel="output scale (log)", logy=True,
           title="exploding (1.5^L) and vanishing (0.5^L) with depth")

    # --- 10 hidden layers of 32 units on the digits, gradient norms recorded per epoch
    X, y = load_digits()
    epochs = 5 if args.quick else 20
    rows, models, notes = [], {}, []
    for activation, init in CASES:
        net = xpnet.NeuralNetwork(hidden=(32,) * 8, activation=activation, init=init,
                                  optimizer="gd", learning_rate=0.1, batch_size=128,
                                  epochs=epochs, record_gradients=True, seed=0)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                net.fit(X, y)
        except TrainingDiverged as exc:
            rows.append([activation, init, "-", "-", "-", "diverged"])
            notes.append(f"{activation}, {init}: {exc}")
            continue
        models[(activation, init)] = net
        g = np.asarray(net.history_["grad_norm"])          # (epochs, L)
        rows.append([activation, init, f"{g[0, 0]:.2e}", f"{g[0, -1]:.2e}",
                     f"{g[0, 0] / g[0, -1]:.1e}", acc(net.score(X, y))])
    table(["hidden", "init", "||dW1|| epoch 1", "||dW9|| epoch 1", "first / last",
           "train acc"], rows,
          title=f"digits, 8 x 32 hidden units, gd lr 0.1, mini-batch 128, {epochs} epochs")
    for note in notes:
        print(textwrap.fill(note, width=100, subsequent_indent="    "))
    print()
    for activation, init in DRAWN:
        if (activation, init) in models:
            wrote(plot_gradient_norms(models[(activation, init)],
                                      out_path(args, f"grad_norms_{activation}_{init}.png"),
                                      title=f"||dW[l]||_F per layer: {activation}, {init} init"))


if __name__ == "__main__":
    main()
