"""The L-layer network in course notation: initialize, forward, cost, backward, update.

Shapes: ``X = A[0] (n[0], m)`` with examples as columns, ``W[l] (n[l], n[l-1])``,
``b[l] (n[l], 1)``, ``Z[l] = W[l] A[l-1] + b[l]``, ``A[l] = g[l](Z[l])``, ``dZ[L] = A[L] - Y``,
``dW[l] = dZ[l] A[l-1]^T / m``, ``db[l] = sum(dZ[l], axis=1) / m``.

Parameters and gradients are ``FlatParams``: dict-like views into one flat buffer, so an
optimizer updates every layer in one call. The estimators in ``xpnet.network.estimator`` are
built from these functions; learners can call them directly::

    arch = Architecture((2, 4, 3), hidden_activation="tanh", output_activation="softmax")
    params = initialize_parameters(arch, init="xavier", seed=1, dtype="float64")
    AL, caches = forward(X, params, arch)
    cost = compute_cost(AL, Y, caches, arch)
    grads = backward(Y, caches, params, arch)
    update_parameters(params, grads, learning_rate=0.1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .. import _validation as V
from ..backends import resolve
from ..backends.base import np_dtype
from ..ops import ACTIVATIONS, LOSSES, losses
from ..ops.activations import ReLU, linear_activation_forward
from ..ops.activations import backward as activation_backward
from ..ops.activations import forward as activation_forward
from ..ops.initializers import DEFAULT_INIT, draw_weights
from ..ops.optimizers import GradientDescent
from ..ops.optimizers import update as optimizer_update
from . import batchnorm as bn
from .params import FlatParams

#: The output of a network built without one named: the binary classifier's.
DEFAULT_OUTPUT = losses.default_loss("binary").output


@dataclass
class Architecture:
    """The structure of an L-layer network.

    ``layer_dims`` is ``(n[0], n[1], ..., n[L])``. ``hidden_activation`` is one name or one per
    hidden layer (names from ``xpnet.ops.ACTIVATIONS``). ``loss`` (a name from
    ``xpnet.ops.LOSSES``) defaults to the one paired with ``output_activation``; ``loss_params``
    are its settings (Huber's ``delta``). ``keep_prob`` is the inverted-dropout keep
    probability, one value or one per hidden layer (the output layer never drops). With
    ``batch_norm`` every hidden layer normalizes ``Z`` (``gamma``, ``beta`` replace ``b``); the
    output layer keeps its bias.
    """

    layer_dims: tuple
    hidden_activation: object = ReLU.name
    output_activation: str = DEFAULT_OUTPUT
    loss: str = None
    loss_params: dict = None
    slope: float = 0.01
    batch_norm: bool = False
    keep_prob: object = 1.0
    bn_eps: float = 1e-5
    bn_momentum: float = 0.9
    activations: list = field(init=False)
    keep_probs: list = field(init=False)

    def __post_init__(self):
        self.layer_dims = tuple(int(n) for n in self.layer_dims)
        if len(self.layer_dims) < 2 or min(self.layer_dims) < 1:
            raise ValueError(f"layer_dims must hold at least 2 positive sizes, got "
                             f"{self.layer_dims}")
        L = len(self.layer_dims) - 1
        hidden = _per_layer(self.hidden_activation, L - 1, "hidden_activation")
        self.activations = [ACTIVATIONS[a].name for a in hidden]
        self.activations.append(ACTIVATIONS[self.output_activation].name)
        if self.loss is None:
            self.loss = losses.for_output(self.output_activation).name
        definition = LOSSES[self.loss]
        if definition.output != self.output_activation:
            raise ValueError(f"loss {self.loss!r} is computed through a {definition.output!r} "
                             f"output, not {self.output_activation!r}")
        self.loss_params = definition.options(self.loss_params)
        kp = [float(k) for k in _per_layer(self.keep_prob, L - 1, "keep_prob")]
        for k in kp:
            if not 0.0 < k <= 1.0:
                raise ValueError(f"keep_prob must be in (0, 1], got {k}")
        self.keep_probs = kp + [1.0]

    @property
    def L(self):
        """Number of layers with parameters (hidden + output)."""
        return len(self.layer_dims) - 1

    def uses_bn(self, l):
        """Whether layer ``l`` (1-based) is batch-normalized."""
        return self.batch_norm and l < self.L

    def layout(self):
        """``[(name, shape)]`` of the trainable parameters, in layer order."""
        out = []
        for l in range(1, self.L + 1):
            n, n_prev = self.layer_dims[l], self.layer_dims[l - 1]
            out.append((f"W{l}", (n, n_prev)))
            if self.uses_bn(l):
                out += [(f"gamma{l}", (n, 1)), (f"beta{l}", (n, 1))]
            else:
                out.append((f"b{l}", (n, 1)))
        return out

    def bn_layout(self):
        """``[(name, shape)]`` of the batch-norm running statistics (not trained)."""
        out = []
        for l in range(1, self.L):
            if self.uses_bn(l):
                out += [(f"mean{l}", (self.layer_dims[l], 1)), (f"var{l}", (self.layer_dims[l], 1))]
        return out


def _per_layer(value, n, name):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} entries but the network has {n} hidden "
                             "layers; give one value or one per hidden layer")
        return list(value)
    return [value] * n


def initialize_parameters(arch, init=DEFAULT_INIT, seed=None, dtype="float32", backend=None,
                          legacy_seed=None):
    """Parameters ``W[l]`` from ``init``, ``b[l] = 0`` (``gamma = 1``, ``beta = 0`` with BN).

    Weights are drawn on the host from ``numpy.random.default_rng(seed)`` in layer order, then
    moved, so one seed gives identical parameters on every backend. ``legacy_seed`` draws them
    instead as the course does, ``np.random.seed(legacy_seed)`` then ``np.random.randn`` per
    layer (from a ``RandomState``; the global state is left alone), so an assignment's
    ``initialize_parameters_deep`` numbers come out. Returns ``FlatParams``.
    """
    bk = resolve(backend)
    dt = np_dtype(dtype)
    params = FlatParams(bk, arch.layout(), dt)
    if legacy_seed is not None and seed is not None:
        raise ValueError("give seed (xpnet's Generator) or legacy_seed (the course's "
                         "np.random.seed), not both")
    rng = np.random.default_rng(seed) if legacy_seed is None else \
        np.random.RandomState(legacy_seed)
    host = draw_weights(init, arch.layer_dims, rng)
    for name, shape in arch.layout():
        if name.startswith("gamma"):
            host[name] = np.ones(shape)
        elif not name.startswith("W"):
            host[name] = np.zeros(shape)
    params.load(host)
    return params


def as_params(params, arch, backend=None):
    """``params`` as ``FlatParams``: a plain dict ``{"W1": (n[1], n[0]), "b1": (n[1], 1),
    ...}`` (the course's ``parameters``; host or device arrays, lists too) is copied into one
    flat buffer in ``arch``'s layout, its shapes checked. ``FlatParams`` pass through."""
    if isinstance(params, FlatParams):
        return params
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays or FlatParams, got "
                        f"{type(params).__name__}")
    flat = FlatParams.from_mapping(resolve(backend), params, [n for n, _ in arch.layout()])
    return flat


def initialize_bn_state(arch, params):
    """Running mean 0 and variance 1 for each batch-normalized layer (``FlatParams``)."""
    state = FlatParams(params.backend, arch.bn_layout(), params.dtype)
    state.load({name: (np.ones(s) if name.startswith("var") else np.zeros(s))
                for name, s in arch.bn_layout()})
    return state


def forward(X, params, arch, backend=None, training=False, rng=None, masks=None, bn_state=None,
            bn_sync=None):
    """Forward propagation. ``X (n[0], m)``; returns ``(A[L] (n[L], m), caches)``.

    ``training`` turns on inverted dropout (masks drawn from the host Generator ``rng``, or the
    given ``masks`` dict ``{l: D[l]}`` reused, e.g. frozen for gradient checking) and batch
    statistics for batch norm (updating ``bn_state`` when given). Without ``training``, batch
    norm uses ``bn_state``'s running statistics and nothing is dropped. ``bn_sync``: batch
    statistics over a global batch split across ranks (``xpnet.network.batchnorm``).
    """
    params = as_params(params, arch, backend)
    bk = resolve(backend) if backend is not None else params.backend
    caches = []
    A = bk.asarray(X) if not hasattr(X, "dtype") else X
    for l in range(1, arch.L + 1):
        cache = {"A_prev": A}
        act = arch.activations[l - 1]
        if arch.uses_bn(l):
            Z = bk.matmul(params[f"W{l}"], A)
            A_in = _bn_forward(bk, Z, params, arch, l, training, bn_state, cache, bn_sync)
            A = activation_forward(bk, act, A_in, arch.slope)
            cache["Z"] = A_in
        else:
            Z, A = linear_activation_forward(bk, params[f"W{l}"], A, params[f"b{l}"], act,
                                             arch.slope)
            cache["Z"] = Z
        cache["A"] = A
        kp = arch.keep_probs[l - 1]
        if training and kp < 1.0:
            D = masks.get(l) if masks is not None and l in masks else _dropout_mask(
                bk, rng, A.shape, kp, A.dtype)
            if masks is not None:
                masks[l] = D
            cache["D"] = D
            A = bk.multiply(A, D)
        caches.append(cache)
    return A, caches


def _bn_forward(bk, Z, params, arch, l, training, bn_state, cache, sync=None):
    gamma, beta = params[f"gamma{l}"], params[f"beta{l}"]
    if training:
        Zt, cache["bn"], mu, var = bn.forward_train(bk, Z, gamma, beta, arch.bn_eps, sync)
        if bn_state is not None:
            bn.update_running(bk, bn_state[f"mean{l}"], bn_state[f"var{l}"], mu, var,
                              arch.bn_momentum)
        return Zt
    if bn_state is None:
        raise ValueError("batch-norm inference needs the running statistics (bn_state)")
    return bn.forward_infer(bk, Z, gamma, beta, bn_state[f"mean{l}"], bn_state[f"var{l}"],
                            arch.bn_eps)


def _dropout_mask(bk, rng, shape, keep_prob, dtype):
    """Inverted-dropout mask ``D``: ``1 / keep_prob`` where kept, 0 where dropped."""
    if rng is None:
        raise ValueError("dropout in training needs a random Generator (rng)")
    return bk.dropout_mask(rng, shape, keep_prob, dtype)


def compute_cost(AL, Y, caches, arch, params=None, l2=0.0, backend=None, weights=None):
    """Mean loss over the ``m`` columns (+ ``l2 / (2m) * sum ||W[l]||_F^2``); a 0-d array.
    ``weights (1, m)``: the columns' sample weights (mean 1 over the training set).

    The loss is ``arch.loss``'s definition (``xpnet.ops.LOSSES``); the cross-entropies are
    computed from the logits ``Z[L]`` (``caches[-1]["Z"]``), finite for any ``z``.
    """
    if params is not None:
        params = as_params(params, arch, backend)
    bk = resolve(backend) if backend is not None else _backend_of(params, caches)
    cost = losses.value(bk, arch.loss, caches[-1]["Z"], AL, Y, weights=weights,
                        **arch.loss_params)
    if l2:
        Ws = [params[f"W{l}"] for l in range(1, arch.L + 1)]
        cost = bk.add(cost, l2_penalty(bk, Ws, l2, Y.shape[1]))
    return cost


def l2_penalty(bk, Ws, l2, m):
    """The L2 term of the cost, ``l2 / (2m) * sum_l ||W[l]||_F^2`` (0-d), over ``Ws``."""
    sq = 0.0
    for W in Ws:
        sq = bk.add(sq, bk.sum(bk.multiply(W, W)))
    return bk.multiply(sq, l2 / (2 * m))


def add_l2_gradient(bk, dW, W, l2, m):
    """``dW += l2 / m * W`` in place: the L2 term's gradient."""
    return bk.add(dW, bk.multiply(W, l2 / m), out=dW)


def _backend_of(params, caches):
    return params.backend if params is not None else resolve(None)


def backward(Y, caches, params, arch, grads=None, l2=0.0, backend=None, weights=None,
             bn_sync=None):
    """Backpropagation; writes ``dW[l]``, ``db[l]`` (``dgamma``, ``dbeta``) into ``grads``.

    ``Y (n[L], m)``. ``dZ[L]`` is the loss definition's output gradient (``A[L] - Y`` for each
    classic loss with its paired output activation).
    With ``l2``, ``dW[l] += l2 / m * W[l]``; with sample ``weights (1, m)``, ``dZ[L]``'s columns
    are scaled by them. ``bn_sync``: the forward's (batch-norm sums over the global batch).
    Returns ``grads`` (``FlatParams`` named ``dW1``, ...).
    """
    params = as_params(params, arch, backend)
    bk = resolve(backend) if backend is not None else params.backend
    if grads is None:
        grads = params.zeros_like(prefix="d")
    L = arch.L
    m = Y.shape[1]
    last = caches[-1]
    dZ = losses.delta(bk, arch.loss, last["Z"], last["A"], Y, weights=weights,
                      **arch.loss_params)
    for l in range(L, 0, -1):
        cache = caches[l - 1]
        if l < L:
            dA = dA_prev
            if "D" in cache:
                dA = bk.multiply(dA, cache["D"])
            dZ = activation_backward(bk, arch.activations[l - 1], dA, cache["Z"], cache["A"],
                                     arch.slope)
            if arch.uses_bn(l):
                dZ = bn.backward(bk, dZ, cache["bn"], grads[f"dgamma{l}"], grads[f"dbeta{l}"],
                                 bn_sync)
        db = None if arch.uses_bn(l) else grads[f"db{l}"]
        dA_prev = bk.linear_backward(dZ, cache["A_prev"], params[f"W{l}"], grads[f"dW{l}"], db,
                                     need_dA_prev=l > 1)
        if l2:
            add_l2_gradient(bk, grads[f"dW{l}"], params[f"W{l}"], l2, m)
    return grads


def update_parameters(params, grads, learning_rate, backend=None):
    """Plain gradient-descent step ``theta -= learning_rate * dtheta`` over all parameters.

    ``FlatParams`` are updated in place (one call over the flat buffer). A plain dict
    ``{"W1": ..., "b1": ...}`` with gradients ``{"dW1": ..., "db1": ...}`` (dict or
    ``FlatParams``) gets new arrays under its keys (the course's
    ``parameters = update_parameters(parameters, grads, learning_rate)``). Returns ``params``.
    """
    learning_rate = V.check_positive("learning_rate", learning_rate)
    if isinstance(params, FlatParams) and isinstance(grads, FlatParams):
        optimizer_update(params.backend, GradientDescent.name, params.flat, grads.flat, {},
                         learning_rate, 1)
        return params
    bk = resolve(backend) if backend is not None or not isinstance(params, FlatParams) \
        else params.backend
    flat = FlatParams.from_mapping(bk, params) if not isinstance(params, FlatParams) else params
    names = [n for n, _ in flat.layout]
    dflat = FlatParams.from_mapping(bk, grads, names, prefix="d", dtype=flat.dtype)
    optimizer_update(bk, GradientDescent.name, flat.flat, dflat.flat, {}, learning_rate, 1)
    if flat is not params:
        for name in names:
            params[name] = flat[name].copy()
    return params


def predict_output(X, params, arch, bn_state=None):
    """``A[L]`` at inference (no dropout, running batch-norm statistics)."""
    AL, _ = forward(X, params, arch, training=False, bn_state=bn_state)
    return AL
