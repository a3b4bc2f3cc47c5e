"""Gradient checking: two-sided differences against backpropagation, right and deliberately wrong.

Reproduces "Gradient Checking" of seed 001: reshape ``W[1], b[1], ..., W[L], b[L]`` into one
vector ``theta``, approximate ``dtheta_approx[i] = (J(theta + eps e_i) - J(theta - eps e_i)) /
(2 eps)`` and compare ``||dtheta_approx - dtheta|| / (||dtheta_approx|| + ||dtheta||)`` with
1e-7 (fine) and 1e-3 (a bug). First the 1-D check ``J(theta) = theta x`` of the course
assignment (``xpnet.course.gradient_check``), then the N-dimensional check of a 3-layer network
(``xpnet.course.gradient_check_n``) with the correct gradients and with two deliberate bugs
(``dW2`` doubled, ``db1`` shifted), then ``xpnet.gradient_check`` on every hidden activation,
L2, dropout, batch norm and a softmax output. The picture: ``|dtheta_approx - dtheta|`` per
entry of ``theta``, correct and broken.

Run:  XPNET_BACKEND=numpy python examples/06_gradient_check.py [--out DIR] [--quick]
"""

from __future__ import annotations

import numpy as np

import xpnet
from _common import figure, out_path, parse_args, save, table
from xpnet import course
from xpnet.network import Architecture

#: The thresholds the seed gives for the relative difference.
FINE, BUG = 1e-7, 1e-3


def verdict(diff):
    return "fine (< 1e-7)" if diff < FINE else "BUG (> 1e-3)" if diff > BUG else "check it"


def main(argv=None):
    args = parse_args(__doc__, argv)

    # --- 1-D: J(theta) = theta * x, dJ/dtheta = x
    x, theta = 2.0, 4.0
    rows = []
    for name, grad in (("dJ/dtheta = x (right)", lambda t: x),
                       ("dJ/dtheta = x + 0.1 (wrong)", lambda t: x + 0.1)):
        diff = course.gradient_check(lambda t: t * x, theta, grad)
        rows.append([name, diff, verdict(diff)])
    table(["gradient", "difference", "verdict"], rows,
          title="1-D check: J(theta) = theta * x at theta = 4, x = 2 (epsilon 1e-7)")

    # --- N-D: the deep network of the course, backprop against two-sided differences
    rng = np.random.RandomState(1)
    X, Y = rng.randn(4, 3), np.array([[1.0, 1.0, 0.0]])
    params = course.initialize_parameters_deep([4, 5, 3, 1], seed=1, init="xavier")
    AL, caches = course.L_model_forward(X, params)
    grads = course.L_model_backward(AL, Y, caches)
    broken = dict(grads, dW2=grads["dW2"] * 2, db1=grads["db1"] + 4.0 / 3)
    theta_vec, keys = course.dictionary_to_vector(params)
    shapes = {k: np.shape(v) for k, v in params.items()}

    def J(vec):
        AL_, _ = course.L_model_forward(X, course.vector_to_dictionary(vec, shapes))
        return course.compute_cost(AL_, Y)

    rows, errors = [], {}
    for name, g in (("L_model_backward (right)", grads), ("dW2 * 2, db1 + 4/3 (bugs)", broken)):
        diff = course.gradient_check_n(params, g, X, Y, print_msg=True)
        dtheta = np.concatenate([np.ravel(g[f"d{k}"]) for k in shapes])
        _, approx = course.gradient_check(J, theta_vec.ravel(), dtheta, return_approx=True)
        errors[name] = np.abs(approx - dtheta)
        worst = max(shapes, key=lambda k: errors[name][[i for i, kk in enumerate(keys)
                                                        if kk == k]].max())
        rows.append([name, diff, verdict(diff), worst])
    print()
    table(["gradients", "difference", "verdict", "worst parameter"], rows,
          title="N-D check: relu 4-5-3-1 network, X (4, 3), theta of "
                f"{theta_vec.shape[0]} entries")

    # --- xpnet.gradient_check on the library's own backward pass
    cases = [("relu", {}), ("tanh", {"hidden_activation": "tanh"}),
             ("sigmoid", {"hidden_activation": "sigmoid"}),
             ("leaky_relu", {"hidden_activation": "leaky_relu"}),
             ("gelu", {"hidden_activation": "gelu"}),
             ("relu + L2 0.7", {}), ("relu + dropout 0.8", {"keep_prob": 0.8}),
             ("relu + batch norm", {"batch_norm": True})]
    if args.quick:
        cases = cases[:1] + cases[-2:]
    rows = []
    for name, kw in cases:
        l2 = 0.7 if "L2" in name else 0.0
        diff = xpnet.gradient_check(X, Y, Architecture((4, 5, 3, 1), **kw), l2=l2)
        rows.append([name, "sigmoid", diff, verdict(diff)])
    Y3 = np.eye(3)[[0, 2, 1]].T
    diff = xpnet.gradient_check(X, Y3, Architecture((4, 5, 3, 3), output_activation="softmax"))
    rows.append(["relu", "softmax (3 classes)", diff, verdict(diff)])
    table(["hidden", "output", "difference", "verdict"], rows,
          title="xpnet.gradient_check(X, Y, Architecture((4, 5, 3, n_out), ...)), float64")

    fig, axes = figure(size=(8.0, 4.0), title="gradient check: |dtheta_approx - dtheta| per "
                                              "entry of theta")
    if fig is not None:
        ax = axes[0]
        index = np.arange(theta_vec.shape[0])
        for (name, err), marker in zip(errors.items(), ("o", "x")):
            ax.semilogy(index, np.maximum(err, 1e-16), marker, markersize=4, label=name)
        starts = [i for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
        for i in starts:
            ax.axvline(i - 0.5, color="#7f7f7f", linewidth=0.6)
            ax.text(i, 0.02, keys[i], fontsize="small", transform=ax.get_xaxis_transform())
        ax.set_xlabel("entry of theta (W1, b1, W2, b2, W3, b3)")
        ax.set_ylabel("|approx - backprop|")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="center right")
        save(fig, out_path(args, "gradient_check.png"))


if __name__ == "__main__":
    main()
