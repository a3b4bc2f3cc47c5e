"""Logistic regression with a neural-network mindset, the course's first assignment, step by
step: ``w (n_x, 1)``, a scalar ``b``, ``X (n_x, m)``, ``Y (1, m)``. The forward and backward
pass is ``xpnet.network.logistic.propagate``, the one the ``LogisticRegression`` estimator
trains with; here it starts from any given ``w, b``.
"""

from __future__ import annotations

import numpy as np

from ..backends import resolve
from ..network.logistic import propagate as _propagate
from ..ops.activations import linear_activation_forward
from . import _checks as C
from .deep import OUTPUT

__all__ = ["initialize_with_zeros", "propagate", "optimize", "predict_logistic", "model"]


def initialize_with_zeros(dim, dtype="float64", backend=None):
    """``w = 0 (dim, 1)`` and ``b = 0.0``."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer (the number of features), got "
                         f"{dim!r}")
    C.dtype(dtype)
    return resolve(backend).zeros((int(dim), 1), dtype=dtype), 0.0


def propagate(w, b, X, Y, backend=None):
    """Cost and gradients of the sigmoid unit: ``A = sigmoid(w^T X + b)``,
    ``J = -1/m sum (y log a + (1 - y) log(1 - a))``, ``dw = X (A - Y)^T / m``,
    ``db = sum(A - Y) / m``. Returns ``({"dw": (n_x, 1), "db": float}, cost)``."""
    bk = resolve(backend)
    w, bb, X, Y = _inputs(bk, w, b, X, Y)
    dw, db, cost = _propagate(bk, w, bb, X, Y)
    return {"dw": dw, "db": float(bk.item(db))}, float(bk.item(cost))


def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False,
             backend=None):
    """Gradient descent from ``w, b``: ``w -= learning_rate dw``, ``b -= learning_rate db``,
    ``num_iterations`` times. Returns ``(params {"w", "b"}, grads {"dw", "db"}, costs)``, the
    grads of the last iteration and the cost every 100 iterations (printed with
    ``print_cost``), as the notebook does."""
    bk = resolve(backend)
    if isinstance(num_iterations, bool) or not isinstance(num_iterations, (int, np.integer)) \
            or num_iterations < 0:
        raise ValueError(f"num_iterations must be a non-negative integer, got "
                         f"{num_iterations!r}")
    learning_rate = C.hyper("learning_rate", learning_rate)
    w, bb, X, Y = _inputs(bk, w, b, X, Y)
    costs, grads = [], {"dw": bk.zeros(tuple(w.shape), w.dtype), "db": 0.0}
    for i in range(int(num_iterations)):
        dw, db, cost = _propagate(bk, w, bb, X, Y)
        w = bk.subtract(w, bk.multiply(dw, learning_rate))
        bb = bk.subtract(bb, bk.multiply(db, learning_rate))
        grads = {"dw": dw, "db": float(bk.item(db))}
        if i % 100 == 0:
            costs.append(float(bk.item(cost)))
            if print_cost:
                print(f"Cost after iteration {i}: {costs[-1]:f}")
    return {"w": w, "b": float(bk.item(bb))}, grads, costs


def predict_logistic(w, b, X, backend=None):
    """The notebook's ``predict(w, b, X)``: ``1.0`` where ``sigmoid(w^T X + b) > 0.5``, else
    ``0.0``; a host array ``(1, m)``."""
    bk = resolve(backend)
    w, bb, X, _ = _inputs(bk, w, b, X, None)
    _, A = linear_activation_forward(bk, bk.transpose(w), X, bb, OUTPUT)
    return (bk.to_numpy(A) > 0.5).astype(np.float64)


def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5,
          print_cost=False, backend=None):
    """The assignment's ``model``: zeros, ``optimize``, predictions on both sets. Returns the
    notebook's dict (``costs``, ``Y_prediction_test``, ``Y_prediction_train``, ``w``, ``b``,
    ``learning_rate``, ``num_iterations``) and prints the two accuracies with
    ``print_cost``."""
    bk = resolve(backend)
    X_train = C.examples(C.floats(bk, X_train, "X_train"), "X_train")
    w, b = initialize_with_zeros(X_train.shape[0], backend=bk)
    params, _, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate,
                                print_cost, backend=bk)
    w, b = params["w"], params["b"]
    pred_test = predict_logistic(w, b, X_test, backend=bk)
    pred_train = predict_logistic(w, b, X_train, backend=bk)
    if print_cost:
        for name, pred, Y in (("train", pred_train, Y_train), ("test", pred_test, Y_test)):
            acc = 100 - np.mean(np.abs(pred - np.asarray(bk.to_numpy(bk.asarray(Y))))) * 100
            print(f"{name} accuracy: {acc} %")
    return {"costs": costs, "Y_prediction_test": pred_test, "Y_prediction_train": pred_train,
            "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations}


def _inputs(bk, w, b, X, Y):
    """``w (n_x, 1)``, ``b (1, 1)``, ``X``, ``Y (1, m)`` on ``bk`` in ``X``'s float dtype."""
    X = C.floats(bk, X, "X")
    w_host = np.asarray(bk.to_numpy(bk.asarray(w)), dtype=np.float64)
    if w_host.shape not in ((X.shape[0], 1), (X.shape[0],)):
        raise ValueError(f"w must have shape (n_x, 1) = ({X.shape[0]}, 1) for X of shape "
                         f"{tuple(X.shape)}, got {w_host.shape}")
    b_host = np.asarray(bk.to_numpy(bk.asarray(b)), dtype=np.float64)
    if b_host.size != 1:
        raise ValueError(f"b must be one number, got an array of shape {b_host.shape}")
    w = bk.asarray(w_host.reshape(-1, 1), dtype=X.dtype)
    bb = bk.asarray(b_host.reshape(1, 1), dtype=X.dtype)
    if Y is not None:
        C.examples(X, "X")
        Y = C.targets(bk, Y, bk.zeros((1, X.shape[1]), X.dtype))
    return w, bb, X, Y
