"""The estimators' hyperparameters, each defined once: name, default, check, converter, help.

``NETWORK`` is the schema of ``NeuralNetwork`` (and, with ``task="regression"``, of
``NeuralNetworkRegressor``). Everything else is read from it: the constructor's parameters and
their defaults (``Schema.make_init``), ``get_params``/``set_params``, validation in ``fit``
(``Schema.check``), the ``xpnet train`` flags and ``--config`` TOML keys
(``xpnet.commands._options``), the ``config.toml`` a run writes back, and the hyperparameters a
saved model's header holds. A new hyperparameter is one ``Hyper`` entry plus the code that
uses it (docs/extending.md).

``check(name, value)`` validates a Python value given to the estimator (TypeError for the wrong
kind, ValueError for a bad value, each naming the parameter) and returns it, normalized;
``parse(text)`` turns a flag's text or a TOML value into such a value (``xpnet._convert``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace

import numpy as np

from .. import _convert as C
from .. import _validation as V
from ..backends import CHOICES as BACKEND_CHOICES
from ..distributed import CHOICES as DISTRIBUTED
from ..distributed import check_distributed
from ..ops import INITIALIZERS, LOSSES, OPTIMIZERS
from ..ops.activations import ReLU, hidden_activations
from ..ops.initializers import DEFAULT_INIT
from ..ops.losses import Huber
from ..ops.optimizers import DEFAULTS as OPT, Adam
from .schedules import check_lr_decay

TASKS = ("auto", "classification", "regression")
_SAME = object()


# ------------------------------------------------------------------------------ checks
def _choice(source):
    """Check: one of the names of ``source`` (a registry, a callable giving names, a tuple)."""
    def check(name, value):
        names = source() if callable(source) else tuple(source)
        return V.check_choice(name, value, names)
    return check


def _optional(check):
    def optional(name, value):
        return None if value is None else check(name, value)
    return optional


def _positive(name, value):
    return V.check_positive(name, value)


def _nonneg(name, value):
    return V.check_positive(name, value, allow_zero=True)


def _positive_int(name, value):
    return V.check_positive(name, value, integer=True)


def _unit(name, value):
    return V.check_in_range(name, value, 0.0, 1.0, high_open=True)


def _open_unit(name, value):
    return V.check_in_range(name, value, 0.0, 1.0, low_open=True, high_open=True)


def _finite(name, value):
    return V.check_in_range(name, value, None, None)


def _boolean(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _seed(name, value):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be None or a non-negative integer, got {value!r} "
                        f"({type(value).__name__})")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 (or None for a fresh one), got {value}")
    return int(value)


def _verbose(name, value):
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if not isinstance(value, numbers.Integral) or value < 0:
        raise TypeError(f"{name} must be a non-negative integer (0 silent, 1 every tenth "
                        f"epoch, 2 every epoch), got {value!r}")
    return int(value)


def _hidden(name, value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = (int(value),)
    try:
        sizes = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {value!r}") from None
    for n in sizes:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"hidden layer sizes must be positive integers, got {value!r}")
        if n > MAX_LAYER_UNITS:
            raise ValueError(f"{name}: a layer of {n} units is beyond what any machine holds "
                             f"(at most {MAX_LAYER_UNITS:,} units per layer), got {value!r}")
    return tuple(int(n) for n in sizes)


#: The largest hidden layer accepted: a 10^7-unit layer already needs 400 MB per input.
MAX_LAYER_UNITS = 10 ** 7


def _dtype(name, value):
    return V.check_dtype(name, value)


def _keep_prob(name, value):
    """One probability in (0, 1], or one per hidden layer (a list or tuple)."""
    for v in (value if isinstance(value, (list, tuple)) else [value]):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a number in (0, 1] or one per hidden layer, got "
                            f"{value!r}")
        V.check_in_range(name, v, 0.0, 1.0, low_open=True)
    return value


def _class_weight(name, value):
    """None, "balanced", or ``{label: weight}`` with finite weights >= 0."""
    if value is None or (isinstance(value, str) and value == "balanced"):
        return value
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be None, 'balanced' or a dict {{label: weight}}, got "
                        f"{value!r}")
    for label, weight in value.items():
        V.check_positive(f"{name}[{label!r}]", weight, allow_zero=True)
    return value


def _passed(name, value):
    """Checked where it is used (the backend when it is resolved)."""
    return value


def _lr_decay(name, value):
    """Every parameter of a schedule in its range (a callable's values at each epoch)."""
    check_lr_decay(value)
    return value


# ------------------------------------------------------------------------------ schema
@dataclass(frozen=True)
class Hyper:
    """One hyperparameter. ``help`` may name ``{choices}`` (filled from ``parse.choices``) and
    ``{users}`` (the optimizers that read it). ``cli_default``: the ``xpnet train`` default
    where it differs. ``example``: a non-default value as flag text, for the round-trip tests
    (choices need none: any other choice serves). ``group``: the ``xpnet train`` option group."""

    name: str
    default: object
    check: object
    parse: object
    help: str
    metavar: str = None
    cli_default: object = _SAME
    none_text: str = None
    example: str = None
    group: str = "model"
    cli: bool = True

    @property
    def flag_default(self):
        return self.default if self.cli_default is _SAME else self.cli_default

    def help_text(self, default=_SAME):
        """The help with its ``{choices}``, ``{users}`` and ``{rates}`` filled in and, unless it
        names one itself, ``(default: ...)``: ``default`` (the CLI's by default)."""
        choices = getattr(self.parse, "choices", ())
        users = [n for n, d in OPTIMIZERS.items() if self.name in d.uses]
        rates = ", ".join(f"{n} {d.default_learning_rate:g}" for n, d in OPTIMIZERS.items())
        text = self.help.format(choices=", ".join(choices), users=", ".join(users) or "none",
                                rates=rates)
        if "(default" in text:
            return text
        value = self.flag_default if default is _SAME else default
        return f"{text} (default: {_show(value, self.none_text)})"


@dataclass(frozen=True)
class Schema:
    """The ordered hyperparameters of an estimator."""

    entries: tuple
    by_name: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_name", {h.name: h for h in self.entries})
        if len(self.by_name) != len(self.entries):
            raise ValueError("a hyperparameter is declared twice")

    def __iter__(self):
        return iter(self.entries)

    def __getitem__(self, name):
        return self.by_name[name]

    def names(self):
        return tuple(self.by_name)

    def defaults(self):
        return {h.name: h.default for h in self.entries}

    def with_defaults(self, **defaults):
        """The same schema with other defaults (``NeuralNetworkRegressor``'s ``task``)."""
        unknown = set(defaults) - set(self.by_name)
        if unknown:
            raise ValueError(f"no hyperparameters {sorted(unknown)}")
        return Schema(tuple(replace(h, default=defaults[h.name]) if h.name in defaults else h
                            for h in self.entries))

    def check(self, estimator):
        """``{name: checked value}`` of ``estimator``'s hyperparameters (raises on a bad one)."""
        return {h.name: h.check(h.name, getattr(estimator, h.name)) for h in self.entries}

    def make_init(self, qualname):
        """An ``__init__`` with one keyword parameter per entry, in order, with its default:
        a real signature (``help()``, ``inspect.signature``, scikit-learn's ``get_params``)."""
        args = ", ".join(f"{h.name}=_defaults[{h.name!r}]" for h in self.entries)
        body = "\n".join(f"    self.{h.name} = {h.name}" for h in self.entries)
        source = f"def __init__(self, {args}):\n{body}\n"
        namespace = {}
        exec(source, {"_defaults": self.defaults()}, namespace)  # noqa: S102 - our own text
        init = namespace["__init__"]
        init.__qualname__ = f"{qualname}.__init__"
        init.__doc__ = "Set the hyperparameters (checked in ``fit``):\n\n" + self.doc()
        return init

    def doc(self):
        """One line per hyperparameter: name and help with the Python default (docstrings)."""
        return "\n".join(f"- ``{h.name}``: {h.help_text(default=h.default)}"
                         for h in self.entries)


def _show(value, none_text=None):
    """A default as the help shows it: on/off, 64,32, none."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return none_text or "none"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _h(name, default, check, parse, help, **kw):
    return Hyper(name, default, check, parse, help, **kw)


NETWORK = Schema((
    _h("hidden", (64,), _hidden, C.hidden_sizes,
       "hidden layer sizes, e.g. 64,32 ('none': no hidden layer)", metavar="SIZES",
       example="16,8"),
    _h("activation", ReLU.name, _choice(hidden_activations), C.choice(hidden_activations),
       "hidden activation: {choices}", metavar="NAME"),
    _h("init", DEFAULT_INIT, _choice(INITIALIZERS), C.choice(INITIALIZERS),
       "weight initialization: {choices}", metavar="NAME"),
    _h("optimizer", Adam.name, _choice(OPTIMIZERS), C.choice(OPTIMIZERS),
       "optimizer: {choices}", metavar="NAME"),
    _h("learning_rate", None, _optional(_positive), C.optional_positive_float,
       "learning rate alpha (default: the optimizer's: {rates})", metavar="LR",
       example="0.05"),
    _h("batch_size", 64, _optional(_positive_int), C.batch_size,
       "mini-batch size, or 'full' for batch gradient descent", metavar="N",
       none_text="full", example="32"),
    _h("epochs", 100, _positive_int, C.positive_int, "passes over the training set",
       metavar="N", cli_default=30, example="2"),
    _h("l2", 0.0, _nonneg, C.nonneg_float, "L2 regularization lambda", metavar="LAMBDA",
       example="0.01"),
    _h("keep_prob", 1.0, _keep_prob, C.keep_prob, "dropout keep probability, one or one per "
       "hidden layer (1: no dropout)", metavar="P", example="0.5"),
    _h("batch_norm", False, _boolean, C.boolean, "batch normalization in the hidden layers"),
    _h("lr_decay", None, _lr_decay, C.lr_decay, "learning-rate decay: none, "
       + ", ".join(C.SCHEDULES) + "; parameters as name:key=value (e.g. exponential:base=0.9)",
       metavar="SPEC", example="exponential:base=0.9"),
    _h("early_stopping", False, _boolean, C.boolean, "stop when the cost on a validation part "
       "of the training set stops improving, and keep the best weights"),
    _h("patience", 10, _positive_int, C.positive_int, "epochs without improvement before "
       "early stopping", metavar="N", example="3"),
    _h("validation_fraction", 0.1, _open_unit, C.open_fraction, "part of the training set "
       "early stopping watches", metavar="F", example="0.2"),
    _h("normalize", True, _boolean, C.boolean, "standardize the inputs (and a regressor's "
       "targets, restored at predict) with training statistics"),
    _h("seed", None, _seed, C.seed, "random seed for the split, initialization and shuffling "
       "('none' for a fresh one)", metavar="N", cli_default=0, none_text="none", example="7"),
    _h("dtype", "float32", _dtype, C.choice("float32", "float64"), "{choices}",
       metavar="DTYPE"),
    _h("backend", None, _passed, C.backend, ", ".join(BACKEND_CHOICES) + " (default: "
       "XPNET_BACKEND, else auto)", metavar="NAME", example="numpy"),
    _h("verbose", 0, _verbose, C.nonneg_int, "print progress: 1 every tenth epoch, 2 every "
       "epoch (the CLI shows its own progress)", metavar="N", cli=False),
    _h("task", "classification", _choice(TASKS), C.choice(*TASKS),
       "{choices} (auto: non-integer numeric targets are regression)", metavar="TASK",
       cli_default="auto"),
    _h("leaky_slope", 0.01, _finite, C.finite_float, "slope of leaky_relu for z < 0",
       metavar="X", example="0.2"),
    _h("beta", OPT["beta"], _unit, C.unit_interval, "velocity / second-moment beta (used by: "
       "{users})", metavar="X", example="0.8"),
    _h("beta1", OPT["beta1"], _unit, C.unit_interval, "first-moment beta1 (used by: {users})",
       metavar="X", example="0.8"),
    _h("beta2", OPT["beta2"], _unit, C.unit_interval, "second-moment beta2 (used by: {users})",
       metavar="X", example="0.99"),
    _h("epsilon", OPT["epsilon"], _positive, C.positive_float, "epsilon added to the root "
       "(used by: {users})", metavar="X", example="1e-6"),
    _h("bias_correction", OPT["bias_correction"], _boolean, C.boolean, "bias-correct "
       "momentum's velocity, v / (1 - beta^t) (used by: {users}; Adam always corrects)"),
    _h("loss", None, _optional(_choice(LOSSES)), C.optional_choice(LOSSES),
       "loss: {choices} (default: the one the target pairs with: binary_crossentropy, "
       "categorical_crossentropy or mse); huber for regression with outliers",
       metavar="NAME"),
    _h("weight_decay", OPT["weight_decay"], _nonneg, C.nonneg_float, "decoupled weight "
       "decay, theta *= 1 - lr * weight_decay each step (used by: {users})", metavar="X",
       example="0.1"),
    _h("delta", Huber.params["delta"], _positive, C.positive_float,
       "the Huber loss's delta: quadratic within it, linear beyond (used by: loss huber)",
       metavar="X", example="0.5"),
    _h("class_weight", None, _class_weight, C.optional_choice("balanced"),
       "weights of the classes in the cost: none, balanced (n / (n_classes * count)); in "
       "Python also a dict {{label: weight}}", metavar="SPEC", example=None),
    _h("warm_start", False, _boolean, C.boolean, "fit again from the fitted parameters and "
       "optimizer state instead of a new initialization (Python; partial_fit always does)",
       cli=False),
    _h("record_gradients", False, _boolean, C.boolean, "record each layer's gradient norm "
       "||dW[l]||_F per epoch (the mean over its mini-batches) in history_['grad_norm'] and "
       "its activations' spread std(A[l]) in history_['activation_std'], to see vanishing or "
       "exploding gradients; xpnet train draws gradient_norms.png"),
    _h("distributed", None, check_distributed, C.choice(*DISTRIBUTED), "data-parallel "
       "training over MPI, one model on all ranks of mpiexec/srun: auto (when launched with "
       "more than one rank), mpi (required: pip install 'xpnet[mpi]'), none (each process "
       "alone; the default in Python); docs/distributed.md", metavar="MODE",
       cli_default="auto", group="model"),
))


# ------------------------------------------------------- the course's single-unit models
#: Adaline's solvers: batch, stochastic and mini-batch gradient descent.
SOLVERS = ("gd", "sgd", "minibatch")


def _solver(name, value):
    return V.check_choice(name, value, SOLVERS)


_ETA = _h("eta", 0.01, _positive, C.positive_float, "learning rate eta", metavar="X", cli=False)
_SEED = _h("seed", None, _seed, C.seed, "seeds the shuffling", metavar="N", cli=False)

PERCEPTRON = Schema((
    _ETA,
    _h("epochs", 50, _positive_int, C.positive_int, "passes over the training set",
       metavar="N", cli=False),
    replace(_SEED, help="accepted for a uniform API; the perceptron rule is deterministic "
                        "(zero weights, samples in data order), so it has no effect"),
))

ADALINE = Schema((
    _ETA,
    _h("epochs", 50, _positive_int, C.positive_int, "passes over the training set",
       metavar="N", cli=False),
    _h("solver", SOLVERS[0], _solver, C.choice(*SOLVERS), "gd: one batch update per epoch; "
       "sgd: one update per sample; minibatch: one update per batch_size samples",
       metavar="NAME", cli=False),
    _h("shuffle", True, _boolean, C.boolean, "sgd, minibatch: reshuffle the samples every "
       "epoch", cli=False),
    _SEED,
    _h("batch_size", 32, _positive_int, C.positive_int, "minibatch: samples per update (the "
       "last batch of an epoch takes the rest)", metavar="N", cli=False),
))

LOGISTIC = Schema((
    _h("learning_rate", 0.1, _positive, C.positive_float, "learning rate alpha", metavar="LR",
       cli=False),
    _h("iterations", 1000, _positive_int, C.positive_int, "gradient-descent steps",
       metavar="N", cli=False),
    _h("vectorized", True, _boolean, C.boolean, "the matrix form on a backend (True) or the "
       "course's two for-loops (False)", cli=False),
    _h("backend", None, _passed, C.backend, "the backend of the vectorized form",
       metavar="NAME", cli=False),
    _h("dtype", "float64", _dtype, C.choice("float32", "float64"), "{choices}",
       metavar="DTYPE", cli=False),
))
