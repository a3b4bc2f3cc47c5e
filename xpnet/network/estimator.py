"""``NeuralNetwork``: the scikit-learn-style estimator over the L-layer network.

At this boundary ``X`` is ``(n_samples, n_features)`` and ``y`` is ``(n_samples,)``; the
estimator transposes once into the course layout ``X (n[0], m)``. The output layer follows the
target: sigmoid for two classes, softmax for more, linear for regression (``task``).
"""

from __future__ import annotations

import numpy as np

from .. import _validation as V
from ..report import r2_score
from .._blas import training_threads
from .._estimator import Estimator
from ..backends import Backend, resolve
from ..ops import LOSSES
from ..ops.activations import hidden_activations
from ..ops.losses import default_loss, losses_for
from ..ops.optimizers import DEFAULTS as OPTIMIZER_SETTINGS
from ..ops.optimizers import default_learning_rate
from . import weights
from .divergence import check_final, scale_hints
from .hyperparameters import NETWORK, TASKS
from .model import (Architecture, compute_cost, forward, initialize_bn_state,
                    initialize_parameters)
from .optimizers import make_optimizer
from .params import FlatParams
from .scaling import InputScaling
from .schedules import make_schedule
from .training import EarlyStopper, Timer, check_finite, run_epoch

#: The activations offered for hidden layers (from the registry).
HIDDEN_ACTIVATIONS = hidden_activations()
__all__ = ["NeuralNetwork", "NeuralNetworkRegressor", "TASKS", "HIDDEN_ACTIVATIONS"]


class _State:
    """What one fit holds on the device."""

    dist = None  # the MPI context of a data-parallel fit (xpnet.distributed.mpi)


class NeuralNetwork(InputScaling, Estimator):
    """A fully connected L-layer network trained by (mini-batch) gradient descent.

    Parameters mirror the course: ``hidden`` sizes of the hidden layers, their ``activation``,
    ``init``, ``optimizer`` with ``learning_rate`` (default: the optimizer's own), ``batch_size``
    (None: full batch; 1: stochastic; otherwise mini-batch, reshuffled every epoch), ``epochs``,
    ``l2`` (lambda), ``keep_prob`` (inverted dropout; one value or one per hidden layer),
    ``batch_norm``, ``lr_decay`` (see ``xpnet.network.schedules``), ``early_stopping`` with
    ``patience`` on a ``validation_fraction`` dev split (the best weights are restored),
    ``normalize``, ``seed``, ``dtype``, ``backend`` (name or Backend; default the current one),
    the optimizers' settings and the loss (default: the one the target pairs with; ``huber``
    with its ``delta`` for regression). The choices of ``activation``, ``init``, ``optimizer``
    and ``loss`` are the registries of ``xpnet.ops``; every parameter is one entry of the schema
    ``xpnet.network.hyperparameters.NETWORK``, listed with its default at the end of this text.

    After ``fit``: ``classes_``, ``parameters_`` (``{"W1": (n1, n0), "b1": (n1, 1), ...}`` NumPy
    arrays), ``history_`` (``cost`` per epoch; ``dev_cost``/``dev_score`` with a dev split;
    ``lr``, ``epoch_time``), ``n_epochs_``, ``best_epoch_``, ``backend_`` (its name).
    """

    schema = NETWORK
    __init__ = NETWORK.make_init("NeuralNetwork")
    _fitted_attribute = "_params"

    @property
    def _estimator_type(self):
        """A regressor with ``task="regression"``, else a classifier (scikit-learn's tags)."""
        return "regressor" if self.task == "regression" else "classifier"

    def _multi_output(self):
        return True

    # ------------------------------------------------------------ hyperparameters
    def _check_hyperparameters(self):
        """Every hyperparameter checked by its schema entry; returns the hidden sizes."""
        self._hp = self.schema.check(self)
        return self._hp["hidden"]

    # ---------------------------------------------------------------- targets
    def _resolve_task(self, y):
        """``task``; ``"auto"`` (asked for explicitly) picks regression for non-integer numbers.
        The default, classification, rejects continuous targets ("Unknown label type")."""
        if self.task != "auto":
            return self.task
        if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (np.round(y) == y)):
            return "regression"
        return "classification"

    def _encode_targets(self, y, classes=None, resume=False):
        """``(Y, kind, idx)``: ``Y`` in course layout, ``(1, m)`` for two classes/one output,
        one-hot ``(C, m)``; ``kind`` is binary, multiclass or regression (it picks the loss);
        ``idx`` each example's class index (None for regression). A resumed fit keeps
        ``classes_``; ``classes`` (partial_fit's first call) fixes them in advance."""
        if self.task_ == "regression":
            y = V.check_regression_targets(y)
            return (y.reshape(-1, 1) if y.ndim == 1 else y).T, "regression", None
        if resume:
            idx = _class_indices(self.classes_, y, "y")
        elif classes is not None:
            self.classes_, _ = V.encode_classes(V.check_y(classes, None, name="classes"),
                                                name="classes")
            idx = _class_indices(self.classes_, y, "y")
        else:
            self.classes_, idx = V.encode_classes(y)
        return _one_hot(idx, len(self.classes_)) + (idx,)

    def _loss_for(self, kind):
        """The loss definition: ``loss`` when given (it must fit targets of ``kind``), else
        the default for ``kind``."""
        if self.loss is None:
            return default_loss(kind)
        definition = LOSSES[self.loss]
        if kind not in definition.targets:
            raise ValueError(f"loss {self.loss!r} does not fit {kind} targets; for these "
                             f"targets choose one of {', '.join(losses_for(kind))} (or None)")
        return definition

    # -------------------------------------------------------------------- fit
    def fit(self, X, y, dev=None, callback=None, sample_weight=None):
        """Train on ``X (n_samples, n_features)``, ``y (n_samples,)``; returns self.

        ``dev=(X_dev, y_dev)`` is evaluated after every epoch (``history_["dev_cost"]``,
        ``["dev_score"]``) and, with ``early_stopping``, watched instead of a split of ``X``.
        ``callback(epoch, logs)`` runs after each epoch with ``logs`` the epoch's history row;
        returning True from it stops training. ``sample_weight (n_samples,)``: each example's
        weight in the cost, ``sum_i w_i l_i / sum_i w_i`` (times ``class_weight``'s; the dev
        cost stays unweighted). With ``warm_start`` a fitted model trains on from its
        parameters and optimizer state.
        """
        resume = self._hp_value("warm_start") and self.__sklearn_is_fitted__()
        return self._fit(X, y, dev, callback, sample_weight, resume=resume)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``(X, y)`` from the current parameters and optimizer state (the
        first call initializes them, with the normalizer's statistics from its ``X``); for
        streams and data that does not fit in memory. A classifier's first call may list in
        ``classes`` every label later calls will bring (default: the labels of its ``y``).
        Returns self."""
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True (it has no dev "
                             "split to watch); set early_stopping=False, or use fit")
        return self._fit(X, y, None, None, sample_weight, resume=self.__sklearn_is_fitted__(),
                         epochs=1, classes=classes)

    def _hp_value(self, name):
        """One hyperparameter, checked (read before the full check of ``_fit``)."""
        return self.schema[name].check(name, getattr(self, name))

    def _fit(self, X, y, dev, callback, sample_weight, resume, epochs=None, classes=None):
        from ..distributed import context
        dist = context(self.distributed)
        if dist is None:
            return self._fit_on(None, X, y, dev, callback, sample_weight, resume, epochs, classes)
        with dist.fit_guard():  # a rank's error is every rank's error, or ends the job
            return self._fit_on(dist, X, y, dev, callback, sample_weight, resume, epochs,
                                classes)

    def _fit_on(self, dist, X, y, dev, callback, sample_weight, resume, epochs, classes):
        hidden = self._check_hyperparameters()
        names = V.feature_names(X)
        X = V.check_fitted_X(self, X) if resume else V.check_X(X)
        y = self._check_targets(y, X.shape[0])
        if dist is not None:
            self._agree(dist, X, y, dev, sample_weight)
        if not resume:
            self.task_ = self._resolve_task(np.asarray(y))
            self.n_features_in_ = X.shape[1]
            V.set_feature_names(self, names)
        Y, kind, idx = self._encode_targets(y, classes=classes, resume=resume)
        loss = self._loss_for(kind)
        w = weights.combine(weights.check_sample_weight(sample_weight, X.shape[0]),
                            weights.class_weight_factors(self._hp["class_weight"],
                                                         getattr(self, "classes_", None), idx)
                            if idx is not None else None)
        rng = getattr(self, "_rng", None) if resume else None
        rng = rng if rng is not None else np.random.default_rng(
            self.seed if dist is None else self._hp["seed"])
        if self.task_ == "regression":
            if not resume:
                self._fit_target_scaling(Y, w)
            Y = self._scale_targets(Y)
        if dev is not None:
            X_tr, Y_tr, w_tr = X, Y, w
            X_dev, Y_dev = self._check_dev(dev)
            if self.task_ == "regression":
                Y_dev = self._scale_targets(Y_dev)
        else:
            X_tr, Y_tr, w_tr, X_dev, Y_dev = self._split(X, Y, w, rng)
        bk = resolve(self.backend)
        if not resume:
            self._fit_normalizer(X_tr, w_tr, bk)
        st = (self._resume if resume else self._setup)(bk, hidden, loss, Y.shape[0],
                                                       X_tr.shape[0])
        st.dist = dist
        if w_tr is not None:  # mean 1: the weighted cost is sum w l / sum w
            st.weights = bk.asarray((w_tr * (len(w_tr) / w_tr.sum())).reshape(1, -1),
                                    dtype=st.dtype)
        self._train(st, self._to_device(X_tr), bk.asarray(Y_tr, dtype=st.dtype),
                    None if X_dev is None else self._to_device(X_dev),
                    None if Y_dev is None else bk.asarray(Y_dev, dtype=st.dtype), rng, callback,
                    epochs=epochs, resume=resume)
        self._optimizer, self._rng = st.optimizer, rng
        return self

    def _agree(self, dist, X, y, dev, sample_weight):
        """The ranks of a data-parallel fit check at once that they hold the same data,
        settings and version (``RankMismatch`` on every rank otherwise) and agree on a seed
        where none is given."""
        from ..distributed.mpi import fingerprint, labels_fingerprint
        from .._version import __version__
        hp = {k: _same_text(v) for k, v in self.get_params().items() if k != "verbose"}
        hp["backend"] = resolve(self.backend).name
        items = {"xpnet version": __version__, "numpy version": np.__version__,
                 **fingerprint("X", X), **labels_fingerprint("y", y),
                 **fingerprint("sample_weight", sample_weight), **{
                     f"hyperparameter {k}": v for k, v in hp.items()}}
        if isinstance(dev, (tuple, list)) and len(dev) == 2:
            items.update({**fingerprint("X_dev", V.to_numpy(dev[0], "X_dev")),
                          **labels_fingerprint("y_dev", V.to_numpy(dev[1], "y_dev"))})
        dist.check_same(items)
        self._hp["seed"] = dist.agreed_seed(self._hp["seed"])

    def _check_targets(self, y, n_samples):
        shape = V.to_numpy(y, "y").shape  # no np.ndim(y): it may refuse __array_function__
        if self.task == "regression" and len(shape) == 2 and shape[1] > 1:
            y = V.check_regression_targets(y)  # multi-output regression
            if y.shape[0] != n_samples:
                raise ValueError(f"y has {y.shape[0]} rows but X has {n_samples} samples")
            return y
        return V.check_y(y, n_samples)

    def _check_dev(self, dev):
        """``dev=(X_dev, y_dev)`` validated and encoded like the training targets."""
        if not isinstance(dev, (tuple, list)) or len(dev) != 2:
            raise TypeError("dev must be a pair (X_dev, y_dev)")
        X_dev = V.check_fitted_X(self, dev[0], name="X_dev")
        y_dev = self._check_targets(dev[1], X_dev.shape[0])
        if self.task_ == "regression":
            y_dev = V.check_regression_targets(y_dev)
            return X_dev, (y_dev.reshape(-1, 1) if y_dev.ndim == 1 else y_dev).T
        return X_dev, _one_hot(_class_indices(self.classes_, y_dev, "y_dev"),
                               len(self.classes_))[0]

    def _split(self, X, Y, w, rng):
        """``(X_tr, Y_tr, w_tr, X_dev, Y_dev)``: the early-stopping dev split, drawn from
        ``rng`` (none without early stopping)."""
        if not self.early_stopping:
            return X, Y, w, None, None
        m = X.shape[0]
        n_dev = int(round(m * self.validation_fraction))
        if n_dev < 1 or m - n_dev < 1:
            raise ValueError(f"early_stopping needs a dev split: validation_fraction="
                             f"{self.validation_fraction} of {m} samples leaves none for one side")
        perm = rng.permutation(m)
        dev, tr = perm[:n_dev], perm[n_dev:]
        return X[tr], Y[:, tr], None if w is None else w[tr], X[dev], Y[:, dev]

    def _setup(self, bk, hidden, loss, n_out, m):
        hp = self._hp
        st = _State()
        st.bk, st.dtype = bk, np.dtype(hp["dtype"])
        self._bk, self._dtype = bk, st.dtype
        st.arch = self._architecture(hidden, loss, n_out)
        try:
            st.params = initialize_parameters(st.arch, hp["init"], hp["seed"], st.dtype, bk)
        except (MemoryError, ValueError) as exc:
            if isinstance(exc, ValueError) and "too big" not in str(exc):
                raise
            count = sum(a * b for a, b in zip(st.arch.layer_dims[:-1], st.arch.layer_dims[1:]))
            raise ValueError(f"hidden={hidden}: the network's {count:,} weights do not fit in "
                             "memory; choose smaller hidden layers") from None
        st.grads = st.params.zeros_like(prefix="d")
        st.bn_state = initialize_bn_state(st.arch, st.params)
        st.optimizer = make_optimizer(hp["optimizer"],
                                      **{k: hp[k] for k in OPTIMIZER_SETTINGS})
        st.optimizer.init(st.params)
        return self._publish(st, bk, m)

    def _architecture(self, hidden, loss, n_out):
        """The network the hyperparameters describe: ``(n[0],) + hidden + (n_out,)`` with
        ``loss`` through its output activation."""
        hp = self._hp
        return Architecture((self.n_features_in_,) + hidden + (n_out,), hp["activation"],
                            loss.output, loss=loss.name,
                            loss_params={k: hp[k] for k in loss.params},
                            slope=hp["leaky_slope"], batch_norm=hp["batch_norm"],
                            keep_prob=hp["keep_prob"])

    def _publish(self, st, bk, m):
        """The batch size and L2 of the state; the fitted attributes the state now holds."""
        hp = self._hp
        st.batch_size = None if hp["batch_size"] is None else min(hp["batch_size"], m)
        st.l2 = hp["l2"]
        st.record_gradients = hp["record_gradients"]
        self.arch_, self._params, self._bn_state = st.arch, st.params, st.bn_state
        self.backend_ = bk.name
        return st

    def _resume(self, bk, hidden, loss, n_out, m):
        """The training state of a fitted model, to train on (``warm_start``, ``partial_fit``):
        its parameters, batch-norm statistics and optimizer state, on ``bk``."""
        hp = self._hp
        dims = (self.n_features_in_,) + hidden + (n_out,)
        arch = self.arch_
        if (dims != arch.layer_dims or hp["batch_norm"] != arch.batch_norm
                or loss.name != arch.loss or np.dtype(hp["dtype"]) != self._dtype):
            raise ValueError(f"cannot train on from the fitted network: it has layers "
                             f"{arch.layer_dims}, loss {arch.loss}, dtype {self._dtype}"
                             f"{' and batch norm' if arch.batch_norm else ''}, not {dims}, "
                             f"{loss.name}, {hp['dtype']}; fit with warm_start=False to start "
                             "over")
        st = _State()
        st.bk, st.dtype = bk, self._dtype
        st.params, st.bn_state = self._params, self._bn_state
        if bk is not self._bk:  # the backend changed: move the arrays
            st.params, st.bn_state = (FlatParams(bk, p.layout, p.dtype, buffer=bk.asarray(
                p.backend.to_numpy(p.flat), dtype=p.dtype)) for p in (st.params, st.bn_state))
        self._bk = bk
        st.arch = self._architecture(hidden, loss, n_out)
        st.grads = st.params.zeros_like(prefix="d")
        optimizer = getattr(self, "_optimizer", None)
        fresh = make_optimizer(hp["optimizer"], **{k: hp[k] for k in OPTIMIZER_SETTINGS})
        if (optimizer is None or optimizer.name != fresh.name or optimizer.hp != fresh.hp
                or any(slot.backend is not bk for slot in optimizer.slots.values())):
            optimizer = fresh
            optimizer.init(st.params)
        st.optimizer = optimizer
        return self._publish(st, bk, m)

    def _train(self, st, X, Y, X_dev, Y_dev, rng, callback, epochs=None, resume=False):
        hp = self._hp
        lr0 = hp["learning_rate"] or default_learning_rate(hp["optimizer"])
        schedule = make_schedule(hp["lr_decay"], lr0)
        stopper = EarlyStopper(hp["patience"]) if X_dev is not None and hp["early_stopping"] \
            else None
        if not resume or not hasattr(self, "history_"):
            self.history_ = {"cost": [], "lr": [], "epoch_time": []}
        start = len(self.history_["cost"])  # a resumed fit goes on counting epochs
        # Overflow on the way to a divergence is reported once, by check_finite, not as a
        # spray of NumPy warnings from inside the products.
        with training_threads(st.arch.layer_dims, st.batch_size or X.shape[1]), \
                np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._epochs(st, X, Y, X_dev, Y_dev, rng, callback, schedule, stopper,
                         range(start, start + (hp["epochs"] if epochs is None else epochs)))
        self.n_epochs_ = len(self.history_["cost"])
        self.best_epoch_ = self.n_epochs_
        if stopper is not None:
            stopper.restore(st)
            self.best_epoch_ = stopper.best_epoch + 1
        check_final(self, st, X, Y)

    def _epochs(self, st, X, Y, X_dev, Y_dev, rng, callback, schedule, stopper, epochs):
        timer = Timer(st.bk)
        for epoch in epochs:
            lr = schedule(epoch)
            cost = run_epoch(st, X, Y, lr, rng)
            check_finite(cost, epoch, lr, st.initial_cost, lambda: scale_hints(self, st, X, Y))
            row = {"epoch": epoch + 1, "cost": cost, "lr": lr, "epoch_time": timer.lap()}
            if st.record_gradients:
                row["grad_norm"] = st.epoch_grad_norms
                row["activation_std"] = st.epoch_activation_std
            stop = False
            if X_dev is not None:
                row.update(self._dev_metrics(st, X_dev, Y_dev))
            if stopper is not None:
                stop = stopper.update(epoch, row["dev_cost"], st)
            for key, value in row.items():
                if key != "epoch":
                    self.history_.setdefault(key, []).append(value)
            if st.dist is None or st.dist.is_root:
                self._report(row)
            if callback is not None and callback(epoch, row):
                stop = True
            if st.dist is not None:  # every rank stops at the same epoch
                stop = st.dist.any(stop)
            if stop:
                break
            timer.reset()  # training time only: not the dev pass, report or callback

    def _dev_metrics(self, st, X_dev, Y_dev):
        AL, caches = forward(X_dev, st.params, st.arch, backend=st.bk, bn_state=st.bn_state)
        dev_cost = st.bk.item(compute_cost(AL, Y_dev, caches, st.arch, st.params, backend=st.bk))
        return {"dev_cost": dev_cost, "dev_score": self._score_output(AL, Y_dev)}

    def _score_output(self, AL, Y):
        bk = self._bk
        A, Yh = bk.to_numpy(AL), bk.to_numpy(Y)
        if self.task_ == "regression":
            return r2_score(Yh.T, A.T)
        if A.shape[0] == 1:
            return float(np.mean((A[0] >= 0.5) == (Yh[0] >= 0.5)))
        return float(np.mean(A.argmax(axis=0) == Yh.argmax(axis=0)))

    def _report(self, row):
        if not self.verbose:
            return
        every = 1 if self.verbose > 1 else max(1, int(self.epochs) // 10)
        if row["epoch"] % every == 0 or row["epoch"] == 1:
            extra = "".join(f"  {k} {row[k]:.4f}" for k in ("dev_cost", "dev_score") if k in row)
            print(f"epoch {row['epoch']:>4}/{self.epochs}  cost {row['cost']:.5f}{extra}  "
                  f"({row['epoch_time']:.3f}s)", flush=True)

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        """(Also: the optimizer state and random stream kept for ``warm_start`` and
        ``partial_fit`` are not pickled; a copy that trains on starts them afresh.)"""
        return self._state_for_pickle()

    def _state_for_pickle(self):
        """A fitted model pickles (and deep-copies, and goes through joblib) with its device
        arrays as host arrays and its backend by name; unpickling rebinds that backend."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("_optimizer", "_rng")}
        if isinstance(state.get("backend"), Backend):
            state["backend"] = state["backend"].name
        if isinstance(state.get("_hp", {}).get("backend"), Backend):
            state["_hp"] = {**state["_hp"], "backend": state["_hp"]["backend"].name}
        bk = state.pop("_bk", None)
        for key in ("_params", "_bn_state"):
            if key in state:
                flat = state[key]
                state[key] = (flat.layout, str(np.dtype(flat.dtype)),
                              flat.backend.to_numpy(flat.flat).copy())
        if bk is not None:
            state["_bk"] = bk.name
        return state

    def __setstate__(self, state):
        from .params import FlatParams

        state = dict(state)
        name = state.pop("_bk", None)
        if name is not None:
            bk = resolve(name)
            state["_bk"] = bk
            for key in ("_params", "_bn_state"):
                if key in state:
                    layout, dtype, host = state[key]
                    state[key] = FlatParams(bk, layout, np.dtype(dtype),
                                            buffer=bk.asarray(host, dtype=dtype))
        self.__dict__.update(state)

    def _output(self, X, batch=8192):
        """``A[L]`` as a host array ``(n[L], n_samples)``, computed in batches."""
        self._check_fitted()
        X = V.check_fitted_X(self, X)
        outs = []
        for start in range(0, X.shape[0], batch):
            Xd = self._to_device(X[start:start + batch])
            AL, _ = forward(Xd, self._params, self.arch_, backend=self._bk,
                            bn_state=self._bn_state)
            outs.append(self._bk.to_numpy(AL))
        out = np.concatenate(outs, axis=1)
        if not np.isfinite(out).all():
            peak = float(np.max(np.abs(X))) if X.size else 0.0
            bad = int((~np.isfinite(out)).any(axis=0).sum())
            raise ValueError(f"the model's outputs are not finite for {bad} "
                             f"of the {X.shape[0]} samples: X reaches |x| = {peak:.3g}, beyond "
                             f"what a {self._dtype} network trained on data around "
                             f"{float(np.max(np.abs(self.mean_)) + np.max(self.std_)):.3g} can "
                             "take; check the inputs' units")
        return out

    @property
    def predict_proba(self):
        """Class probabilities ``(n_samples, n_classes)`` (columns in ``classes_`` order) of a
        classifier; a regressor has no such method (``hasattr`` is False, as scikit-learn's
        tools expect)."""
        if self.task == "regression" or getattr(self, "task_", None) == "regression":
            raise AttributeError(f"{type(self).__name__} with task='regression' has no "
                                 "predict_proba: it predicts values, not class probabilities")
        return self._predict_proba

    def _predict_proba(self, X):
        A = self._output(X)
        if A.shape[0] == 1:
            return np.vstack([1.0 - A[0], A[0]]).T
        return A.T

    def predict(self, X):
        """Labels ``(n_samples,)`` (classification) or values (regression)."""
        if getattr(self, "task_", None) == "regression":
            A = self._output(X).T.astype(np.float64)  # values in float64, whatever trained
            A = self._unscale_targets(A)
            return A[:, 0] if A.shape[1] == 1 else A
        proba = self._predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y):
        """Accuracy (classification) or R^2 (regression) on ``(X, y)``."""
        self._check_fitted()
        X = V.check_fitted_X(self, X)
        pred = self.predict(X)
        if self.task_ == "regression":
            y = V.check_regression_targets(y)
            if y.size != pred.size:
                raise ValueError(f"y has {y.shape[0]} rows but X has {X.shape[0]} samples")
            return r2_score(y.reshape(pred.shape), pred)
        y = V.check_y(y, X.shape[0])
        return float(np.mean(pred == y))

    @property
    def parameters_(self):
        """``{"W1": (n1, n0), "b1": (n1, 1), ...}`` as NumPy arrays (copies)."""
        self._check_fitted()
        return self._params.to_numpy()

    def save(self, path):
        """Save to ``path`` (``.npz`` with a JSON header; see ``xpnet.load``)."""
        from .persistence import save_model
        return save_model(self, path)


def _same_text(value):
    """A hyperparameter as text that is equal on two ranks when it means the same (a function
    by its name, not its address)."""
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return repr(value)


def _class_indices(classes, y, name):
    """Each label of ``y``'s index in the sorted ``classes``; a label not among them is a
    ValueError."""
    y = np.asarray(y)
    unknown = set(np.unique(y).tolist()) - set(np.asarray(classes).tolist())
    if unknown:
        raise ValueError(f"{name} has labels not seen in fit: {sorted(unknown, key=str)[:5]} "
                         f"(the classes are {np.asarray(classes).tolist()[:10]}; give every "
                         "label in partial_fit's classes on its first call, or fit again)")
    return np.searchsorted(classes, y).astype(np.int64)


def _one_hot(idx, C):
    """``(Y, kind)`` of class indices: ``(1, m)`` 0/1 for two classes, one-hot ``(C, m)``."""
    if C == 2:
        return idx.reshape(1, -1).astype(np.float64), "binary"
    Y = np.zeros((C, idx.shape[0]))
    Y[idx, np.arange(idx.shape[0])] = 1.0
    return Y, "multiclass"


NeuralNetwork.__doc__ += "\n    Hyperparameters:\n\n" + "\n".join(
    "    " + line for line in NETWORK.doc().splitlines()) + "\n"


class NeuralNetworkRegressor(NeuralNetwork):
    """``NeuralNetwork`` with ``task="regression"``: linear output, mean-squared-error cost
    (``loss="huber"`` with its ``delta`` for targets with outliers). Same hyperparameters, one
    schema: only the default of ``task`` differs.

    With ``normalize=True`` (the default) the targets are standardized too: the network trains
    on ``(y - target_mean_) / target_std_`` (per output column, with the sample weights) and
    ``predict`` returns ``output * target_std_ + target_mean_``, so targets around 1e20 or 1e-20
    train like targets around 1. ``history_["cost"]``, ``dev_cost`` and Huber's ``delta`` are
    then in standardized units; R^2 is the same either way. ``normalize=False`` trains on the
    raw targets (``target_mean_ = target_std_ = None``)."""

    schema = NETWORK.with_defaults(task="regression")
    __init__ = schema.make_init("NeuralNetworkRegressor")
