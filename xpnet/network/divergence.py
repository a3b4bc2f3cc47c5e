"""What a diverged fit says: the checks of the parameters ``fit`` returns and the hints that
name a cause other than the learning rate (inputs or targets too large, a huge ``l2``,
``weight_decay`` or ``leaky_slope``, an initialization far above He's).
"""

from __future__ import annotations

import numpy as np

from ..ops import OPTIMIZERS
from ..ops.initializers import He, weight_scale
from .model import forward
from .training import TrainingDiverged

__all__ = ["check_final", "scale_hints"]


def check_final(model, st, X, Y):
    """The epoch's cost is taken before its last update: check what ``fit`` returns, its
    parameters and its outputs on a few training columns, for values no model may hold."""
    bk = st.bk
    with np.errstate(over="ignore", invalid="ignore"):
        peak = float(bk.item(bk.max(bk.abs(st.params.flat))))
        AL, _ = forward(X[:, :min(256, X.shape[1])], st.params, st.arch, backend=bk,
                        bn_state=st.bn_state)
        out = float(bk.item(bk.sum(AL)))
    if np.isfinite(peak) and np.isfinite(out):
        return
    hints = " ".join(scale_hints(model, st, X, Y))
    lr = model.history_["lr"][-1] if model.history_["lr"] else float("nan")
    raise TrainingDiverged(
        f"training diverged in its last update: the parameters (max |theta| = {peak:.3g}) "
        f"give non-finite outputs. {hints + ' Otherwise l' if hints else 'L'}ower "
        f"learning_rate (it was {lr:g}), or lower weight_decay or l2 if they are large.")


def scale_hints(model, st, X, Y):
    """Sentences on inputs or targets too large to train on (for a divergence error)."""
    bk, hints = st.bk, []
    x = float(bk.item(bk.max(bk.abs(X))))
    if x > 1e3:
        after = " after standardizing" if model.normalize else ""
        hints.append(f"The inputs are large (max |x| = {x:.3g}{after}): standardize them "
                     "(normalize=True) or rescale them.")
    if model.task_ == "regression":
        t = float(bk.item(bk.max(bk.abs(Y))))
        if t > 1e3:
            hints.append(f"The targets are large (max |y| = {t:.3g}): rescale them.")
    hp = model._hp
    for name in ("l2", "weight_decay", "leaky_slope"):
        used = name != "weight_decay" or name in OPTIMIZERS[hp["optimizer"]].uses
        if name == "leaky_slope":
            used = hp["activation"] == "leaky_relu"
        if used and abs(hp[name]) > 1e3:
            hints.append(f"{name}={hp[name]:g} is far too large to train with; lower it.")
    dims = st.arch.layer_dims
    drawn = max(weight_scale(model.init, a, b) for a, b in zip(dims[:-1], dims[1:]))
    if drawn > 2 * max(weight_scale(He.name, a, b) for a, b in zip(dims[:-1], dims[1:])):
        hints.append(f"The initialization init={model.init!r} draws weights with a standard "
                     f"deviation of {drawn:.3g}, far above He's: use init='he' (ReLU) or "
                     "'xavier' (tanh).")
    return hints
