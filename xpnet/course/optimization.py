"""The optimization assignment's steps: mini-batches, momentum, Adam (its corrected moments
inspectable), learning-rate decay. Parameters, gradients and moments are the course's plain
dicts (``v["dW1"]`` is the moment of ``W1``); each update packs them into one flat buffer and
runs the optimizer definition of ``xpnet.ops.OPTIMIZERS`` that the estimators train with.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as V
from ..backends import resolve
from ..network.params import FlatParams
from ..network.schedules import inverse_time, make_schedule
from ..ops import OPTIMIZERS
from ..ops.optimizers import Adam, GradientDescent, Momentum
from ..ops.optimizers import update as optimizer_update
from . import _checks as C

__all__ = ["random_mini_batches", "initialize_velocity", "update_parameters_with_momentum",
           "initialize_adam", "update_parameters_with_adam", "update_parameters_with_gd",
           "update_lr", "schedule_lr_decay"]


def random_mini_batches(X, Y, mini_batch_size=64, seed=0, backend=None):
    """``[(mini_batch_X (n_x, size), mini_batch_Y (n_y, size)), ...]``: the columns shuffled
    by the course's ``np.random.seed(seed); np.random.permutation(m)``, cut into batches of
    ``mini_batch_size``, the last one holding the ``m % mini_batch_size`` left."""
    bk = resolve(backend)
    X = C.floats(bk, X, "X")
    Y = C.targets(bk, Y, bk.zeros((_rows(Y), X.shape[1]), X.dtype))
    if isinstance(mini_batch_size, bool) or not isinstance(mini_batch_size, (int, np.integer)) \
            or mini_batch_size < 1:
        raise ValueError(f"mini_batch_size must be a positive integer, got {mini_batch_size!r}")
    m = X.shape[1]
    perm = C.legacy_rng(seed).permutation(m)
    X, Y = bk.take_columns(X, perm), bk.take_columns(Y, perm)
    size = int(mini_batch_size)
    return [(X[:, k:k + size], Y[:, k:k + size]) for k in range(0, m, size)]


def _rows(Y):
    shape = np.shape(Y) if not hasattr(Y, "shape") else tuple(Y.shape)
    return 1 if len(shape) < 2 else shape[0]


# ---------------------------------------------------------------------- state and steps
def initialize_velocity(parameters, backend=None):
    """``v = {"dW1": 0, "db1": 0, ...}`` shaped like the parameters (momentum's state)."""
    bk = resolve(backend)
    names = _names(parameters)
    return {f"d{n}": bk.zeros(tuple(bk.asarray(parameters[n]).shape),
                              _dtype(bk, parameters[n])) for n in names}


def initialize_adam(parameters, backend=None):
    """``(v, s)``: Adam's first and second moments, zeros shaped like the parameters."""
    return initialize_velocity(parameters, backend), initialize_velocity(parameters, backend)


def update_parameters_with_gd(parameters, grads, learning_rate, backend=None):
    """``W[l] -= learning_rate dW[l]`` (and ``b``); returns the updated ``parameters``."""
    out, _ = _step(GradientDescent.name, parameters, grads, {}, learning_rate, 1, {}, backend)
    return out


def update_parameters_with_momentum(parameters, grads, v, beta, learning_rate, backend=None):
    """``v = beta v + (1 - beta) dW``, ``W -= learning_rate v`` (and ``b``); returns
    ``(parameters, v)``."""
    out, state = _step(Momentum.name, parameters, grads, {"v": v}, learning_rate, 1,
                       {"beta": C.hyper("beta", beta), "bias_correction": False}, backend)
    return out, state["v"]


def update_parameters_with_adam(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9,
                                beta2=0.999, epsilon=1e-8, backend=None):
    """Adam step ``t`` (1-based): ``v = beta1 v + (1 - beta1) dW``, ``s = beta2 s + (1 - beta2)
    dW^2``, ``W -= learning_rate v_corrected / (sqrt(s_corrected) + epsilon)`` with
    ``v_corrected = v / (1 - beta1^t)``, ``s_corrected = s / (1 - beta2^t)``. Returns
    ``(parameters, v, s, v_corrected, s_corrected)``, as the notebook does."""
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"t (Adam's step count) must be an integer >= 1, got {t!r}")
    hp = {name: C.hyper(name, value)
          for name, value in (("beta1", beta1), ("beta2", beta2), ("epsilon", epsilon))}
    out, state, corrected = _step(Adam.name, parameters, grads, {"m": v, "v": s}, learning_rate,
                                  int(t), hp, backend, corrected=True)
    return out, state["m"], state["v"], corrected["m"], corrected["v"]


#: The course's names of the optimizers' state slots (Adam's ``m`` is the course's ``v``).
_COURSE_MOMENT = {(Momentum.name, "v"): "v", (Adam.name, "m"): "v", (Adam.name, "v"): "s"}


def _step(name, parameters, grads, moments, lr, t, hp, backend, corrected=False):
    """One update of the optimizer ``name`` over the dicts, through one flat buffer each."""
    bk = resolve(backend)
    names = _names(parameters)
    C.gradients_for(grads, names)
    for slot in moments:
        C.gradients_for(moments[slot], names, what=_COURSE_MOMENT[name, slot])
    lr = C.hyper("learning_rate", lr)
    theta = FlatParams.from_mapping(bk, parameters, names)
    grad = FlatParams.from_mapping(bk, grads, names, prefix="d", dtype=theta.dtype)
    state = {slot: FlatParams.from_mapping(bk, moments[slot], names, prefix="d",
                                           dtype=theta.dtype) for slot in moments}
    flats = {slot: p.flat for slot, p in state.items()}
    optimizer_update(bk, name, theta.flat, grad.flat, flats, lr, t, **hp)
    out = {k: v for k, v in parameters.items()}
    out.update({n: theta[n].copy() for n in names})
    moments_out = {slot: {f"d{n}": p[f"d{n}"].copy() for n in names}
                   for slot, p in state.items()}
    if not corrected:
        return out, moments_out
    fixed = OPTIMIZERS[name].corrected(bk, flats, t, hp)
    views = {slot: FlatParams(bk, theta.layout, theta.dtype, buffer=fixed[slot], prefix="d")
             for slot in fixed}
    return out, moments_out, {slot: dict(p.items()) for slot, p in views.items()}


def _names(parameters):
    L = C.n_layers(parameters)
    return [n for l in range(1, L + 1) for n in (f"W{l}", f"b{l}")]


def _dtype(bk, x):
    dt = getattr(bk.asarray(x), "dtype", None)
    return dt if dt is not None and dt.kind == "f" else "float64"


# ------------------------------------------------------------------ learning-rate decay
def update_lr(learning_rate0, epoch_num, decay_rate):
    """``learning_rate0 / (1 + decay_rate * epoch_num)``."""
    return schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1)


def schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000):
    """The fixed-interval decay ``learning_rate0 / (1 + decay_rate * floor(epoch_num /
    time_interval))``: xpnet's ``inverse_time`` schedule with ``time_interval``."""
    learning_rate0 = V.check_positive("learning_rate0", learning_rate0)
    V.check_positive("decay_rate", decay_rate, allow_zero=True)
    for name, value, low in (("epoch_num", epoch_num, 0), ("time_interval", time_interval, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    spec = {"kind": inverse_time.__name__, "decay_rate": float(decay_rate),
            "time_interval": int(time_interval)}
    return make_schedule(spec, learning_rate0)(int(epoch_num))
