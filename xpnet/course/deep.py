"""The deep L-layer network, step by step, under the course's names and in its data shapes.

``parameters`` is a plain dict ``{"W1": (n[1], n[0]), "b1": (n[1], 1), ..., "WL", "bL"}``;
``X = A[0] (n[0], m)``, ``Y (n[L], m)`` (a 1-D ``Y`` of ``m`` labels is read as ``(1, m)``).
Caches are the course's tuples: ``linear_forward`` gives ``(A_prev, W, b)``,
``linear_activation_forward`` gives ``((A_prev, W, b), Z)`` and, with dropout, ``((A_prev, W,
b), Z, D)``. Every step calls the definitions of ``xpnet.ops`` on the current backend
(``backend=`` to choose one), so it computes exactly what the estimators compute.

A ``seed`` here means the course's ``np.random.seed(seed)`` followed by its calls: draws come
from ``np.random.RandomState(seed)`` (the global state is not touched), so
``initialize_parameters_deep([5, 4, 3], seed=3)`` gives the assignment's numbers.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as V
from ..backends import resolve
from ..ops import ACTIVATIONS, LOSSES, losses
from ..ops.activations import ReLU, Sigmoid
from ..ops.activations import backward as activation_backward
from ..ops.activations import forward as activation_forward
from ..ops.activations import linear_activation_forward as _linear_activation
from ..ops.initializers import draw_weights
from ..network.model import add_l2_gradient, l2_penalty
from ..network.model import update_parameters as _update
from . import _checks as C

#: The course's deep network: ReLU hidden layers and one sigmoid output unit.
HIDDEN, OUTPUT = ReLU.name, Sigmoid.name

__all__ = ["initialize_parameters", "initialize_parameters_deep", "linear_forward",
           "linear_activation_forward", "L_model_forward", "compute_cost",
           "compute_cost_with_regularization", "linear_backward", "linear_activation_backward",
           "L_model_backward", "update_parameters", "predict"]


# ------------------------------------------------------------------------- initialization
def initialize_parameters_deep(layer_dims, seed=None, init="random", dtype="float64",
                               backend=None):
    """``{"W1", "b1", ..., "WL", "bL"}`` for ``layer_dims = [n[0], n[1], ..., n[L]]``.

    ``W[l] (n[l], n[l-1])`` drawn by ``init`` (a name of ``xpnet.ops.INITIALIZERS``: the
    course's ``random`` is ``randn * 0.01``; also ``large`` (``* 10``), ``xavier``
    (``/ sqrt(n[l-1])``), ``he``, ``glorot``, ``zeros``), ``b[l] = 0 (n[l], 1)``. ``seed`` is
    the course's ``np.random.seed``: the assignment's ``seed=3`` gives its printed values.
    """
    C.dtype(dtype)
    try:
        dims = [int(n) for n in layer_dims]
    except (TypeError, ValueError):
        raise TypeError(f"layer_dims must be a list of layer sizes, got {layer_dims!r}") \
            from None
    if len(dims) < 2 or min(dims) < 1:
        raise ValueError(f"layer_dims must hold at least 2 positive sizes, got {layer_dims}")
    bk = resolve(backend)
    host = draw_weights(init, dims, C.legacy_rng(seed))
    out = {}
    for l in range(1, len(dims)):
        out[f"W{l}"] = bk.asarray(host[f"W{l}"], dtype=dtype)
        out[f"b{l}"] = bk.zeros((dims[l], 1), dtype=dtype)
    return out


def initialize_parameters(n_x, n_h, n_y, seed=None, init="random", dtype="float64",
                          backend=None):
    """The 2-layer network's ``{"W1" (n_h, n_x), "b1", "W2" (n_y, n_h), "b2"}``; the
    planar-data assignment uses ``seed=2``, the deep one ``seed=1``."""
    return initialize_parameters_deep([n_x, n_h, n_y], seed=seed, init=init, dtype=dtype,
                                      backend=backend)


# ------------------------------------------------------------------------------ forward
def linear_forward(A, W, b, backend=None):
    """``Z = W A + b``; returns ``(Z (n[l], m), cache = (A, W, b))``."""
    bk = resolve(backend)
    A, W, b = C.arrays(bk, A, W, b)
    C.check_linear(A, W, b)
    return bk.linear_forward(W, A, b), (A, W, b)


def linear_activation_forward(A_prev, W, b, activation, slope=0.01, backend=None):
    """``A = g(W A_prev + b)`` with ``g`` the activation named ``activation`` (``"relu"``,
    ``"sigmoid"``, ...); returns ``(A, cache = ((A_prev, W, b), Z))``."""
    bk = resolve(backend)
    A_prev, W, b = C.arrays(bk, A_prev, W, b)
    C.check_linear(A_prev, W, b)
    Z, A = _linear_activation(bk, W, A_prev, b, activation, slope)
    return A, ((A_prev, W, b), Z)


def L_model_forward(X, parameters, hidden_activation=HIDDEN, output_activation=OUTPUT,
                    keep_prob=1.0, seed=None, slope=0.01, backend=None):
    """``[LINEAR -> hidden]*(L-1) -> LINEAR -> output``; returns ``(AL, caches)``, one cache
    per layer. ``keep_prob < 1``: inverted dropout on the hidden layers, masks
    ``D[l] = (rand < keep_prob) / keep_prob`` drawn in layer order from the course's
    ``np.random.seed(seed)`` (its ``forward_propagation_with_dropout`` uses ``seed=1``)."""
    bk = resolve(backend)
    L = C.n_layers(parameters)
    keep_prob = V.check_in_range("keep_prob", keep_prob, 0.0, 1.0, low_open=True)
    rng = C.legacy_rng(seed) if keep_prob < 1.0 else None
    A, caches = C.floats(bk, X, "X"), []
    for l in range(1, L + 1):
        act = hidden_activation if l < L else output_activation
        A, cache = linear_activation_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], act,
                                             slope, backend=bk)
        if l < L and keep_prob < 1.0:
            D = bk.dropout_mask(rng, A.shape, keep_prob, A.dtype)
            A = bk.multiply(A, D)
            cache = cache + (D,)
        caches.append(cache)
    return A, caches


# --------------------------------------------------------------------------------- cost
def compute_cost(AL, Y, loss=None, backend=None):
    """The cross-entropy cost of the output ``AL (n[L], m)`` against ``Y``, a float:
    ``-1/m sum (y log a + (1 - y) log(1 - a))`` for one output row, the categorical one
    (``-1/m sum y log a``) for softmax outputs of several rows; ``loss`` names another.

    The course computes it from ``AL``; here it runs through the loss definition of
    ``xpnet.ops.LOSSES`` from the logits recovered from ``AL`` (``log a - log(1 - a)``), with
    an exact ``a = 0`` or ``1`` moved to ``tiny``, ``1 - eps`` of its dtype, so a saturated
    output gives a large finite cost instead of the course's ``nan``."""
    bk = resolve(backend)
    AL = C.examples(C.floats(bk, AL, "AL"), "AL")
    Y = C.targets(bk, Y, AL)
    definition = LOSSES.resolve(loss if loss is not None else losses.default_loss(
        "binary" if AL.shape[0] == 1 else "multiclass"))
    host = bk.to_numpy(AL)
    if definition.output != "linear" and not (np.all(host >= 0) and np.all(host <= 1)):
        raise ValueError("AL must hold probabilities in [0, 1] (the output of a sigmoid or "
                         "softmax layer); it has values outside")
    ZL = _logits(bk, AL, definition.output)
    return float(bk.item(losses.value(bk, definition, ZL, AL, Y)))


def compute_cost_with_regularization(AL, Y, parameters, lambd, backend=None):
    """``compute_cost(AL, Y) + lambd / (2m) sum_l ||W[l]||_F^2`` (the course's L2 cost)."""
    bk = resolve(backend)
    AL = C.examples(C.floats(bk, AL, "AL"), "AL")
    L = C.n_layers(parameters)
    Ws = [C.floats(bk, parameters[f"W{l}"], f"W{l}") for l in range(1, L + 1)]
    penalty = l2_penalty(bk, Ws, C.hyper("lambd", lambd), AL.shape[1])
    return compute_cost(AL, Y, backend=bk) + float(bk.item(penalty))


def _logits(bk, AL, output):
    if output == "linear":
        return AL
    A = _clipped(bk, AL)
    if output == "softmax":
        return bk.log(A)
    return bk.subtract(bk.log(A), bk.log1p(bk.negative(A)))


def _clipped(bk, AL):
    """``AL`` with exact 0s and 1s moved to ``tiny`` and ``1 - eps`` of its dtype, so that
    logs and divisions stay finite; every other value (a grader's test ``AL`` need not be a
    probability) is left as it is."""
    info = np.finfo(np.dtype(str(AL.dtype)))
    one = bk.where(bk.greater_equal(AL, 1.0), 1.0 - float(info.eps), AL)
    A = bk.where(bk.greater(AL, 1.0), AL, one)                 # exactly 1 -> 1 - eps
    zero = bk.where(bk.greater_equal(A, 0.0), float(info.tiny), A)
    return bk.astype(bk.where(bk.greater(A, 0.0), A, zero), AL.dtype)  # exactly 0 -> tiny


# ----------------------------------------------------------------------------- backward
def linear_backward(dZ, cache, backend=None):
    """``dW = dZ A_prev^T / m``, ``db = sum(dZ, axis=1) / m``, ``dA_prev = W^T dZ`` for the
    cache ``(A_prev, W, b)``; returns ``(dA_prev, dW, db)``."""
    bk = resolve(backend)
    dZ = C.examples(C.floats(bk, dZ, "dZ"), "dZ")
    A_prev, W, b = C.linear_cache(bk, cache, dZ)
    dZ = bk.astype(dZ, W.dtype) if dZ.dtype != W.dtype else dZ
    dW, db = bk.zeros(tuple(W.shape), W.dtype), bk.zeros((W.shape[0], 1), W.dtype)
    dA_prev = bk.linear_backward(dZ, A_prev, W, dW, db)
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation, slope=0.01, backend=None):
    """``dZ = dA * g'(Z)`` then ``linear_backward``; returns ``(dA_prev, dW, db)``. A cache
    with a dropout mask ``D`` applies it to ``dA`` first (``dA * D``)."""
    bk = resolve(backend)
    dA = C.floats(bk, dA, "dA")
    linear_cache, Z, mask = C.activation_cache(bk, cache, dA)
    if mask is not None:
        dA = bk.multiply(dA, mask)
    A = activation_forward(bk, activation, Z, slope)
    dZ = activation_backward(bk, activation, dA, Z, A, slope)
    return linear_backward(dZ, linear_cache, backend=bk)


def L_model_backward(AL, Y, caches, hidden_activation=HIDDEN, output_activation=OUTPUT,
                     lambd=0.0, slope=0.01, backend=None):
    """Backpropagation through ``L_model_forward``'s caches. Returns the course's ``grads``:
    ``dA0 ... dA(L-1)`` (``dA[l] (n[l], m)``), ``dW1 ... dWL``, ``db1 ... dbL`` and also
    ``dZ1 ... dZL``. ``lambd``: ``dW[l] += lambd / m W[l]`` (the course's L2). With dropout
    caches, ``dA[l]`` is stored masked (``dA[l] * D[l]``, ``D`` holding ``1 / keep_prob``), as
    the notebook's ``backward_propagation_with_dropout`` returns it.

    A sigmoid output starts as the course does, from ``dAL = -(Y / AL - (1 - Y) / (1 - AL))``
    (exact 0s and 1s of ``AL`` moved inside as in ``compute_cost``) through ``g'(Z[L])``, so
    the graders' test cases, whose ``AL`` is not ``sigmoid(Z[L])``, give their numbers; when
    it is, that is
    ``A[L] - Y``. Other outputs start from the loss definition's ``dZ[L] = A[L] - Y``."""
    bk = resolve(backend)
    AL = C.examples(C.floats(bk, AL, "AL"), "AL")
    Y = C.targets(bk, Y, AL)
    lambd = C.hyper("lambd", lambd)
    if not isinstance(caches, (list, tuple)) or not caches:
        raise ValueError("caches must be L_model_forward's list of caches, one per layer, got "
                         f"{type(caches).__name__}")
    L, m = len(caches), AL.shape[1]
    grads = {}
    for l in range(L, 0, -1):
        upstream = AL if l == L else grads[f"dA{l}"]
        linear, Z, _ = C.activation_cache(bk, caches[l - 1], upstream)
        if l == L:
            dZ = _output_delta(bk, AL, Y, Z, output_activation, slope)
        else:
            A = activation_forward(bk, hidden_activation, Z, slope)
            dZ = activation_backward(bk, hidden_activation, upstream, Z, A, slope)
        grads[f"dZ{l}"] = dZ
        W = C.linear_cache(bk, linear, dZ)[1]
        dA_prev, dW, db = linear_backward(dZ, linear, backend=bk)
        if l > 1 and len(caches[l - 2]) > 2:          # the course's dA = dA * D / keep_prob
            dA_prev = bk.multiply(dA_prev, C.activation_cache(bk, caches[l - 2], dA_prev)[2])
        if lambd:
            add_l2_gradient(bk, dW, W, lambd, m)
        grads[f"dA{l - 1}"], grads[f"dW{l}"], grads[f"db{l}"] = dA_prev, dW, db
    return grads


def _output_delta(bk, AL, Y, ZL, output, slope):
    """``dZ[L]``: through the course's ``dAL`` for a sigmoid output, else the loss's."""
    name = ACTIVATIONS[output].name
    if name != OUTPUT:
        return losses.delta(bk, losses.for_output(name), ZL, AL, Y)
    A = _clipped(bk, AL)
    not_y = bk.divide(bk.subtract(1, Y), bk.subtract(1, A))
    dAL = bk.negative(bk.subtract(bk.divide(Y, A), not_y))
    return activation_backward(bk, name, dAL, ZL, activation_forward(bk, name, ZL, slope),
                               slope)


# ----------------------------------------------------------------------- update, predict
def update_parameters(parameters, grads, learning_rate, backend=None):
    """``W[l] -= learning_rate dW[l]``, ``b[l] -= learning_rate db[l]``; returns the updated
    ``parameters`` (new arrays under the same keys)."""
    names = [n for l in range(1, C.n_layers(parameters) + 1) for n in (f"W{l}", f"b{l}")]
    C.gradients_for(grads, names)
    return _update(parameters, {f"d{n}": grads[f"d{n}"] for n in names},
                   C.hyper("learning_rate", learning_rate), backend=backend)


def predict(X, parameters, hidden_activation=HIDDEN, output_activation=OUTPUT,
            backend=None):
    """Predictions ``(1, m)``: ``1.0`` where ``A[L] > 0.5`` (binary) or the row of the largest
    ``A[L]`` (softmax), as host NumPy arrays."""
    bk = resolve(backend)
    AL, _ = L_model_forward(X, parameters, hidden_activation, output_activation, backend=bk)
    A = bk.to_numpy(AL)
    if A.shape[0] == 1:
        return (A > 0.5).astype(np.float64)
    return A.argmax(axis=0).reshape(1, -1)
