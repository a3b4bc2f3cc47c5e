"""Fuzzing the estimators, the course layer, the computation graph, ``xpnet train`` and
``xpnet.load`` with hypothesis: bad input ends in a clear error, never a crash from deep inside
NumPy, a silent NaN, a traceback on the command line or a lost file.

The contract checked everywhere:

- Python API: a call either works (and then predictions, probabilities and scores are finite)
  or raises ``ValueError``/``TypeError`` with a message (for a hyperparameter: a message that
  names it). ``ZeroDivisionError``, ``IndexError``, ``AttributeError``, ``KeyError``,
  ``OverflowError``, ``MemoryError`` or NumPy's and Numba's own exceptions fail the test.
  ``xpnet.graph.Value`` also documents ``OverflowError`` (a result beyond a float) and
  ``ZeroDivisionError`` (division by zero, ``0 ** -1``), like Python floats.
- ``xpnet train``: exit code 0 (a complete run folder) or 2 with exactly one line on stderr
  (``xpnet train: error: ...``; the parser's errors are one line too, with no usage block),
  never 1 ("internal error") and never a traceback; a failed run leaves no folder.
- ``xpnet.load``: ``ValueError`` (or ``FileNotFoundError``) for any damaged file; a model it
  does return predicts finite values.

The bugs these cases found are pinned in ``test_known_bug_*`` below, each a minimal
reproducer of what once failed; all are fixed, and the fuzz tests hold every input to the
contract (none is skipped as a known bug). Example counts are small
(``fuzz_strategies.fuzz_settings``); scale them with ``XPNET_FUZZ_SCALE`` and draw fresh
examples with ``XPNET_FUZZ_RANDOM=1``.
"""

from __future__ import annotations

import contextlib
import fractions
import gc
import io
import math
import os
import shutil
import sys
import tempfile
import warnings
import zipfile

import numpy as np
import pytest

pytest.importorskip("hypothesis")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fuzz_strategies as fs  # noqa: E402
import xpnet  # noqa: E402
from xpnet import cli  # noqa: E402
from xpnet._convert import boolean  # noqa: E402
from xpnet import course  # noqa: E402
from xpnet.commands._options import OPTIONS  # noqa: E402
from xpnet.graph import Value, nudge  # noqa: E402
from xpnet.network.hyperparameters import ADALINE, LOGISTIC, NETWORK, PERCEPTRON  # noqa: E402
from xpnet.ops import OPTIMIZERS  # noqa: E402

CLEAR = (ValueError, TypeError)
RNG = np.random.default_rng(0)
X = RNG.standard_normal((20, 3))
Y = (X[:, 0] > 0).astype(np.int64)
TINY = {"hidden": (3,), "epochs": 1, "backend": "numpy", "seed": 0}


@contextlib.contextmanager
def quiet():
    """No prints (``verbose``, ``print`` as a callable) and no warnings shown."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def finite(values):
    a = np.asarray(values)
    return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())


def check_fitted(model, X_, y_=None):
    """A fitted model's outputs on ``X_`` are finite (or refused with a clear error)."""
    pred = model.predict(X_)
    assert finite(pred), f"predict returned non-finite values: {pred!r}"
    if hasattr(model, "predict_proba") and getattr(model, "task_", "") != "regression":
        proba = model.predict_proba(X_)
        assert finite(proba), f"predict_proba returned non-finite values: {proba!r}"
    if y_ is not None:
        try:
            score = model.score(X_, y_)
        except CLEAR as exc:
            assert str(exc)
        else:
            assert math.isfinite(score), f"score returned {score!r}"


# ------------------------------------------------------------------- 1. hyperparameters
def network_context(name):
    """Settings under which ``name`` takes effect (its optimizer, activation, loss)."""
    users = [n for n, d in OPTIMIZERS.items() if name in d.uses]
    fixed = {"leaky_slope": {"activation": "leaky_relu"},
             "delta": {"loss": "huber", "task": "regression"},
             "patience": {"early_stopping": True, "epochs": 2},
             "validation_fraction": {"early_stopping": True}}.get(name, {})
    if users:
        return st.sampled_from(users).map(lambda opt: {"optimizer": opt, **fixed})
    return st.just(fixed)


def resolves_to_numba(value):
    return value is None or (isinstance(value, str) and value.strip().lower() in (
        "numba", "auto", ""))


def fit_with(estimator, name, value, make, X_, y_):
    """``make().fit(X_, y_)``; a clear error must name ``name``; returns the model or None
    (also for a fit that hits a known bug)."""
    try:
        with quiet():
            model = make().fit(X_, y_)
    except Exception as exc:  # noqa: BLE001 - classified below
        assert isinstance(exc, CLEAR), f"{name}={value!r}: {type(exc).__name__}: {exc}"
        assert name in str(exc), f"{name}={value!r}: the error does not name it: {exc}"
        return None
    assert not blown_up(model), f"{name}={value!r}: fit returned non-finite parameters"
    return model


def blown_up(model):
    """Parameters a finished fit should never hand back: non-finite ones (fit checks its
    parameters and their outputs after the last update)."""
    params = getattr(model, "parameters_", None) or {}
    return any(not np.isfinite(v).all() for v in params.values())


@pytest.mark.parametrize("name", NETWORK.names())
@fs.fuzz_settings(25)
@given(data=st.data())
def test_each_network_hyperparameter_takes_any_value_or_names_itself(name, data):
    value = data.draw(fs.anything(), label=name)
    context = data.draw(network_context(name), label="context")
    if name == "epochs" and fs.too_costly_size(value, 3) or \
            name == "hidden" and fs.too_costly_size(value, 16) or \
            name == "backend" and resolves_to_numba(value):
        return  # valid but slow (a long fit, a big layer, numba's compile): not this test's
    kwargs = {**TINY, **context, name: value}
    task = kwargs.get("task")
    regression = isinstance(task, str) and task.strip().lower() == "regression"
    y_ = X[:, 0] if regression else Y
    model = fit_with("NeuralNetwork", name, value, lambda: xpnet.NeuralNetwork(**kwargs), X, y_)
    if model is not None:
        with quiet():
            check_fitted(model, X, y_)


SINGLE_UNIT = [(xpnet.Perceptron, PERCEPTRON, {"epochs": 2}),
               (xpnet.Adaline, ADALINE, {"epochs": 2}),
               (xpnet.LogisticRegression, LOGISTIC, {"iterations": 3, "backend": "numpy"})]


@pytest.mark.parametrize("cls, name, base", [
    pytest.param(cls, h.name, base, id=f"{cls.__name__}-{h.name}")
    for cls, schema, base in SINGLE_UNIT for h in schema])
@fs.fuzz_settings(25)
@given(data=st.data())
def test_each_single_unit_hyperparameter_takes_any_value_or_names_itself(cls, name, base,
                                                                         data):
    value = data.draw(fs.anything(), label=name)
    context = {}
    if cls is xpnet.Adaline and name in ("batch_size", "shuffle"):
        context = {"solver": "minibatch" if name == "batch_size" else "sgd"}
    if name in ("epochs", "iterations") and fs.too_costly_size(value, 5) or \
            name == "backend" and resolves_to_numba(value):
        return
    kwargs = {**base, **context, name: value}
    model = fit_with(cls.__name__, name, value, lambda: cls(**kwargs), X, Y)
    if model is not None:
        with quiet():
            check_fitted(model, X, Y)


# ---------------------------------------------------------------------- 2. X and y inputs
ESTIMATORS = {
    "NeuralNetwork": lambda: xpnet.NeuralNetwork(**TINY),
    "NeuralNetworkRegressor": lambda: xpnet.NeuralNetworkRegressor(**TINY),
    "Perceptron": lambda: xpnet.Perceptron(epochs=2),
    "Adaline-sgd": lambda: xpnet.Adaline(epochs=2, solver="sgd", seed=0),
    "LogisticRegression": lambda: xpnet.LogisticRegression(iterations=3, backend="numpy"),
}


def refused_clearly(exc):
    assert isinstance(exc, CLEAR), f"{type(exc).__name__}: {exc}"
    assert str(exc).strip(), f"{type(exc).__name__} without a message"


@pytest.mark.parametrize("which", list(ESTIMATORS))
@fs.fuzz_settings(60)
@given(data=st.data())
def test_fit_predict_score_take_any_X_and_y_or_refuse_clearly(which, data):
    X_ = data.draw(fs.features(), label="X")
    try:
        n = len(X_)
    except TypeError:  # a scalar, None, a 0-d array
        n = 3
    y_ = data.draw(fs.labels_for(n), label="y")
    try:
        with quiet():
            model = ESTIMATORS[which]().fit(X_, y_)
    except Exception as exc:  # noqa: BLE001
        return refused_clearly(exc)
    with quiet():
        check_fitted(model, X_, y_)


@pytest.mark.parametrize("which", list(ESTIMATORS))
@fs.fuzz_settings(40)
@given(X_=fs.features())
def test_a_fitted_model_predicts_any_X_finitely_or_refuses_clearly(which, X_):
    model = FITTED[which]
    with quiet():
        for method in ("predict", "predict_proba", "decision_function", "net_input",
                       "activation"):
            if not hasattr(model, method):
                continue
            try:
                out = getattr(model, method)(X_)
            except Exception as exc:  # noqa: BLE001
                refused_clearly(exc)
                continue
            assert finite(out), f"{method} returned non-finite values {out!r}"


def _fit_all():
    with quiet():
        return {name: (make().fit(X, X[:, 0]) if name == "NeuralNetworkRegressor"
                       else make().fit(X, Y)) for name, make in ESTIMATORS.items()}


FITTED = _fit_all()


@fs.fuzz_settings(25)
@given(data=st.data())
def test_dataframes_with_odd_columns_fit_or_refuse_clearly(data):
    pd = pytest.importorskip("pandas")
    n = data.draw(st.integers(0, 12), label="rows")
    k = data.draw(st.integers(1, 3), label="columns")
    names = data.draw(st.lists(st.one_of(st.sampled_from(["a", "b", "a", ""]), st.integers(0, 2),
                                         st.none()), min_size=k, max_size=k), label="names")
    columns = {}
    for j in range(k):
        kind = data.draw(st.sampled_from(["float", "int", "Int64", "str", "category", "bool",
                                          "object", "datetime"]), label=f"kind{j}")
        base = RNG.standard_normal(n)
        columns[j] = {
            "float": pd.Series(base), "int": pd.Series((base * 3).astype(int)),
            "Int64": pd.Series(pd.array([1, None] * (n // 2) + [1] * (n % 2), dtype="Int64")),
            "str": pd.Series(["a", "1"] * (n // 2) + ["b"] * (n % 2)),
            "category": pd.Series(pd.Categorical(["x", "y"] * (n // 2) + ["x"] * (n % 2))),
            "bool": pd.Series(base > 0),
            "object": pd.Series([1, "a", None] * (n // 3) + [2.0] * (n % 3), dtype=object),
            "datetime": pd.Series(pd.date_range("2020-01-01", periods=n)),
        }[kind]
    frame = pd.DataFrame(columns)
    frame.columns = names
    y_ = Y[:n] if n <= len(Y) else np.resize(Y, n)
    for make in (ESTIMATORS["NeuralNetwork"], ESTIMATORS["Adaline-sgd"]):
        try:
            with quiet():
                model = make().fit(frame, y_)
        except Exception as exc:  # noqa: BLE001
            refused_clearly(exc)
            continue
        with quiet():
            check_fitted(model, frame, y_)


def test_one_numba_fit_refuses_bad_input_like_numpy():
    """The one numba case: the same bad inputs, the same kinds of answers."""
    if "numba" not in xpnet.available_backends():
        pytest.skip("numba is not installed")
    cases = [(np.where(X > 1, np.nan, X), Y), (X, Y[:5]), (X.astype(str), Y),
             (X[:, :0], Y), (X, np.zeros(20)), (X * 1e300, Y), (X.astype(np.float16), Y)]
    for X_, y_ in cases:
        for backend in ("numpy", "numba"):
            try:
                with quiet():
                    model = xpnet.NeuralNetwork(**{**TINY, "backend": backend}).fit(X_, y_)
            except Exception as exc:  # noqa: BLE001
                refused_clearly(exc)
                outcome = type(exc)
            else:
                with quiet():
                    check_fitted(model, X_, y_)
                outcome = None
            if backend == "numpy":
                expected = outcome
            else:
                assert outcome is expected, (X_.dtype, X_.shape, outcome, expected)


# ------------------------------------------------------------- 3. course functions, Value
def small_arrays():
    return st.one_of(fs.clean_matrices(st.integers(0, 4), st.integers(0, 4)),
                     fs.clean_matrices(st.integers(1, 3), st.integers(1, 3)),
                     fs.wild_arrays())


def arraylike():
    return st.one_of(small_arrays(), small_arrays(), st.none(), st.floats(),
                     st.lists(st.floats(-2, 2), max_size=3), st.text(max_size=2),
                     st.just([[1.0, 2.0], [3.0]]))


def scalars():
    return st.one_of(fs.numbers_(), st.none(), st.text(max_size=3), st.booleans())


@st.composite
def parameter_dicts(draw, prefix=""):
    layers = draw(st.integers(0, 2))
    out = {}
    for l in range(1, layers + 1):
        for p in "Wb":
            if draw(st.integers(0, 9)):
                out[f"{prefix}{p}{l}"] = draw(small_arrays())
    if draw(st.integers(0, 5)) == 0:
        out[draw(st.sampled_from(["W3", "x", "dW1", "b0"]))] = draw(small_arrays())
    return out


def caches():
    linear = st.tuples(small_arrays(), small_arrays(), small_arrays())
    return st.one_of(linear, st.tuples(linear, small_arrays()),
                     st.tuples(linear, small_arrays(), small_arrays()))


NAMES = st.one_of(st.sampled_from(["relu", "sigmoid", "tanh", "softmax", "linear",
                                   "leaky_relu", "gelu", "nope", ""]), st.none(), st.integers())
J_FUNCTIONS = [lambda t: float(np.sum(np.asarray(t) ** 2)), lambda t: 3.0, lambda t: "x",
               lambda t: None, lambda t: np.array([1.0, 2.0]), lambda t: math.nan]
NP = {"backend": "numpy"}

COURSE = {
    "linear_forward": (course.linear_forward, dict(A=arraylike(), W=arraylike(),
                                                   b=arraylike())),
    "linear_activation_forward": (course.linear_activation_forward, dict(
        A_prev=arraylike(), W=arraylike(), b=arraylike(), activation=NAMES, slope=scalars())),
    "L_model_forward": (course.L_model_forward, dict(
        X=arraylike(), parameters=parameter_dicts(), hidden_activation=NAMES,
        output_activation=NAMES, keep_prob=scalars(), seed=scalars())),
    "compute_cost": (course.compute_cost, dict(AL=arraylike(), Y=arraylike(),
                                               loss=st.one_of(st.none(), NAMES, fs.texts()))),
    "compute_cost_with_regularization": (course.compute_cost_with_regularization, dict(
        AL=arraylike(), Y=arraylike(), parameters=parameter_dicts(), lambd=scalars())),
    "linear_backward": (course.linear_backward, dict(dZ=arraylike(), cache=caches())),
    "linear_activation_backward": (course.linear_activation_backward, dict(
        dA=arraylike(), cache=caches(), activation=NAMES, slope=scalars())),
    "L_model_backward": (course.L_model_backward, dict(
        AL=arraylike(), Y=arraylike(), caches=st.lists(caches(), max_size=2),
        hidden_activation=NAMES, output_activation=NAMES, lambd=scalars())),
    "update_parameters": (course.update_parameters, dict(
        parameters=parameter_dicts(), grads=parameter_dicts("d"), learning_rate=scalars())),
    "predict": (course.predict, dict(X=arraylike(), parameters=parameter_dicts())),
    "initialize_parameters_deep": (course.initialize_parameters_deep, dict(
        layer_dims=st.one_of(st.lists(st.integers(-1, 6), max_size=4), fs.anything()),
        seed=scalars(), init=NAMES | fs.texts(), dtype=fs.texts())),
    "initialize_with_zeros": (course.initialize_with_zeros, dict(dim=scalars(),
                                                                 dtype=fs.texts())),
    "propagate": (course.propagate, dict(w=arraylike(), b=scalars() | arraylike(),
                                         X=arraylike(), Y=arraylike())),
    "optimize": (course.optimize, dict(w=arraylike(), b=scalars(), X=arraylike(),
                                       Y=arraylike(), num_iterations=scalars(),
                                       learning_rate=scalars())),
    "predict_logistic": (course.predict_logistic, dict(w=arraylike(), b=scalars(),
                                                       X=arraylike())),
    "random_mini_batches": (course.random_mini_batches, dict(
        X=arraylike(), Y=arraylike(), mini_batch_size=scalars(), seed=scalars())),
    "initialize_adam": (course.initialize_adam, dict(parameters=parameter_dicts())),
    "update_parameters_with_gd": (course.update_parameters_with_gd, dict(
        parameters=parameter_dicts(), grads=parameter_dicts("d"), learning_rate=scalars())),
    "update_parameters_with_momentum": (course.update_parameters_with_momentum, dict(
        parameters=parameter_dicts(), grads=parameter_dicts("d"), v=parameter_dicts("d"),
        beta=scalars(), learning_rate=scalars())),
    "update_parameters_with_adam": (course.update_parameters_with_adam, dict(
        parameters=parameter_dicts(), grads=parameter_dicts("d"), v=parameter_dicts("d"),
        s=parameter_dicts("d"), t=scalars(), learning_rate=scalars(), beta1=scalars(),
        beta2=scalars(), epsilon=scalars())),
    "update_lr": (course.update_lr, dict(learning_rate0=scalars(), epoch_num=scalars(),
                                         decay_rate=scalars())),
    "schedule_lr_decay": (course.schedule_lr_decay, dict(
        learning_rate0=scalars(), epoch_num=scalars(), decay_rate=scalars(),
        time_interval=scalars())),
    "gradient_check": (course.gradient_check, dict(
        J=st.sampled_from(J_FUNCTIONS) | st.none(), theta=arraylike() | scalars(),
        grad=arraylike() | scalars(), epsilon=scalars())),
    "dictionary_to_vector": (course.dictionary_to_vector, dict(parameters=parameter_dicts())),
    "vector_to_dictionary": (course.vector_to_dictionary, dict(
        theta=arraylike(), shapes=st.dictionaries(st.sampled_from(["W1", "b1"]), st.tuples(
            st.integers(0, 3), st.integers(0, 3)), max_size=2))),
}
TAKES_BACKEND = {"linear_forward", "linear_activation_forward", "L_model_forward",
                 "compute_cost", "compute_cost_with_regularization", "linear_backward",
                 "linear_activation_backward", "L_model_backward", "update_parameters",
                 "predict", "initialize_parameters_deep", "initialize_with_zeros", "propagate",
                 "optimize", "predict_logistic", "random_mini_batches", "initialize_adam",
                 "update_parameters_with_gd", "update_parameters_with_momentum",
                 "update_parameters_with_adam"}


@pytest.mark.parametrize("name", list(COURSE))
@fs.fuzz_settings(30)
@given(data=st.data())
def test_course_functions_take_any_input_or_refuse_clearly(name, data):
    func, strategies = COURSE[name]
    args = {k: data.draw(s, label=k) for k, s in strategies.items()}
    if name == "optimize" and fs.too_costly_size(args["num_iterations"], 5):
        return
    if name == "initialize_parameters_deep" and fs.too_costly_size(args["layer_dims"], 64):
        return
    if name == "initialize_with_zeros" and fs.too_costly_size(args["dim"], 10**6):
        return
    if name == "random_mini_batches" and fs.outside_int64(args["mini_batch_size"]):
        return
    kwargs = {**args, **(NP if name in TAKES_BACKEND else {})}
    try:
        with quiet():
            func(**kwargs)
    except Exception as exc:  # noqa: BLE001
        refused_clearly(exc)


LEAVES = st.one_of(st.integers(-5, 5), st.floats(-1e6, 1e6, allow_subnormal=False),
                   st.sampled_from(fs.HUGE_INTS + fs.SPECIAL_FLOATS),
                   st.fractions(max_denominator=9), fs.numpy_scalars(), st.booleans(),
                   st.text(max_size=2), st.none(), st.complex_numbers(max_magnitude=2))
OPS = ["+", "-", "*", "/", "r+", "r-", "r*", "r/", "neg", "**", "exp", "log", "tanh",
       "sigmoid", "relu"]
VALUE_ERRORS = (TypeError, ValueError, OverflowError, ZeroDivisionError)


def apply(op, a, b):
    if op == "neg":
        return -a
    if op in ("exp", "log", "tanh", "sigmoid", "relu"):
        return getattr(a, op)()
    if op == "**":
        return a ** (b.data if isinstance(b, Value) else b)
    left, right = (b, a) if op.startswith("r") else (a, b)
    return {"+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right,
            "/": lambda: left / right}[op[-1]]()


def build_graph(data, leaves):
    nodes = [Value(data.draw(leaves, label="leaf"))]
    for _ in range(data.draw(st.integers(1, 6), label="ops")):
        a = data.draw(st.sampled_from(nodes), label="a")
        b = data.draw(st.one_of(st.sampled_from(nodes), leaves), label="b")
        nodes.append(apply(data.draw(st.sampled_from(OPS), label="op"), a, b))
    return nodes[-1]


@fs.fuzz_settings(300)
@given(data=st.data())
def test_value_graphs_of_any_numbers_give_finite_data_or_documented_errors(data):
    try:
        out = build_graph(data, LEAVES)
        out.backward()
    except VALUE_ERRORS as exc:
        assert str(exc).strip()
        return
    assert all(math.isfinite(node.data) for node in out.nodes())


@fs.fuzz_settings(200)
@given(data=st.data())
def test_value_gradients_of_moderate_numbers_are_finite(data):
    """Leaves of moderate size (no exp, no powers): gradients cannot overflow, so they are
    finite; the overflow of large ones is the known bug ``value_gradient_overflow``."""
    leaves = st.one_of(st.integers(-10, 10), st.sampled_from([0.5, -0.25, 1.5, 2.5]))
    nodes = [Value(data.draw(leaves, label="leaf"))]
    try:
        for _ in range(data.draw(st.integers(1, 5), label="ops")):
            a = data.draw(st.sampled_from(nodes), label="a")
            b = data.draw(st.one_of(st.sampled_from(nodes), leaves), label="b")
            op = data.draw(st.sampled_from(["+", "-", "*", "/", "r-", "r/", "neg", "tanh",
                                            "sigmoid", "relu"]), label="op")
            nodes.append(apply(op, a, b))
    except ZeroDivisionError:
        return
    out = nodes[-1]
    out.backward()
    twice = [n.grad for n in out.nodes()]
    out.backward()
    assert [n.grad for n in out.nodes()] == twice
    assert all(math.isfinite(g) for g in twice), twice


@fs.fuzz_settings(60)
@given(a=LEAVES, eps=LEAVES)
def test_nudge_takes_any_numbers_or_refuses_clearly(a, eps):
    try:
        nudge(lambda v: v * v, a, eps)
    except VALUE_ERRORS as exc:
        assert str(exc).strip()


# ---------------------------------------------------------------------------- 4. the CLI
TRAIN = ["train", "--dataset", "moons", "--n-samples", "40", "--epochs", "1", "--no-plots",
         "--quiet", "--backend", "numpy"]
CLI_OPTIONS = [o for o in OPTIONS if o.dest not in ("out", "data", "config")]
BOOLEAN_FLAGS = [o for o in CLI_OPTIONS if o.convert is boolean]
VALUED_FLAGS = [o for o in CLI_OPTIONS if o not in BOOLEAN_FLAGS]
COSTLY = {"epochs": 20, "n_samples": 200, "n_classes": 20, "patience": 10**9}


def show_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_cli(argv):
    """``(exit code, stdout, stderr)`` of ``xpnet.cli.main(argv)`` in this process; Python
    warnings are printed to that stderr every time, as a first run of the command would."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings():
        warnings.simplefilter("always")
        for hidden in (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                       ResourceWarning):  # what Python hides by default (npz_fd_leak)
            warnings.simplefilter("ignore", hidden)
        warnings.showwarning = show_warning  # not pytest's recorder: onto the captured stderr
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def error_lines(err):
    """stderr's lines but the progress rows (``--no-quiet``: ``epoch 1/1  cost ...``)."""
    return [line for line in err.splitlines() if line.strip() and not line.startswith("epoch ")]


def check_cli_outcome(code, err, folder, argv):
    assert code in (0, 2), f"exit {code} for {argv}: {err}"
    assert "Traceback" not in err and "internal error" not in err, err
    run = os.path.join(folder, "run")
    if code == 0:
        assert os.path.isfile(os.path.join(run, "model.npz")), os.listdir(folder)
        with quiet():
            model = xpnet.load(os.path.join(run, "model.npz"))
            assert not blown_up(model), f"{argv}: saved non-finite parameters"
            check_fitted(model, X[:, :2])
        return
    assert not os.path.exists(run)
    assert [n for n in os.listdir(folder) if n.startswith(".")] == []
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("xpnet"), err


def costly_flag(opt, text):
    try:
        value = opt.convert(text)
    except Exception:  # noqa: BLE001 - the CLI will refuse it: fine
        return False
    if opt.dest == "backend":
        return value in (None, "numba", "auto")
    if opt.dest == "hidden":
        return fs.too_costly_size(value, 64)
    return fs.int_like(value) and value > COSTLY.get(opt.dest, 10**12)


@fs.fuzz_settings(120)
@given(data=st.data())
def test_train_flag_values_exit_0_or_2_with_one_line(data):
    argv = list(TRAIN)
    for _ in range(data.draw(st.integers(1, 3), label="flags")):
        if data.draw(st.integers(0, 4), label="boolean?") == 0:
            opt = data.draw(st.sampled_from(BOOLEAN_FLAGS), label="flag")
            argv.append(data.draw(st.sampled_from([opt.flag_name, "--no-" + opt.flag_name[2:],
                                                   opt.flag_name + "=yes"])))
            continue
        opt = data.draw(st.sampled_from(VALUED_FLAGS), label="flag")
        text = data.draw(fs.flag_text(), label="text")
        if costly_flag(opt, text):
            return
        argv.append(f"{opt.flag_name}={text}")
    with tempfile.TemporaryDirectory() as folder:
        argv += ["--out", os.path.join(folder, "run")]
        code, _, err = run_cli(argv)
        check_cli_outcome(code, err, folder, argv)


@fs.fuzz_settings(80)
@given(content=fs.csv_files(),
       target=st.one_of(st.none(), st.sampled_from(["a", "label", "zz", ""])))
def test_train_on_any_csv_file_exits_0_or_2_with_one_line(content, target):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "data.csv")
        with open(path, "wb") as fh:
            fh.write(content)
        argv = ["train", "--data", path, "--epochs", "1", "--no-plots", "--quiet",
                "--backend", "numpy", "--out", os.path.join(folder, "run")]
        if target is not None:
            argv += ["--target", target]
        code, _, err = run_cli(argv)
        if code == 0:
            assert os.path.isfile(os.path.join(folder, "run", "model.npz"))
            assert sorted(os.listdir(folder)) == ["data.csv", "run"]
            return
        lines = error_lines(err)
        assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err)
        assert os.listdir(folder) == ["data.csv"]
        with open(path, "rb") as fh:
            assert fh.read() == content  # the data file is never touched


# ---------------------------------------------------------------------- 5. model files
def _saved_models():
    with quiet():
        fits = {
            "binary": xpnet.NeuralNetwork(**TINY).fit(X, Y),
            "multi": xpnet.NeuralNetwork(**{**TINY, "batch_norm": True}).fit(
                X, np.argmax(X, axis=1)),
            "regression": xpnet.NeuralNetworkRegressor(**TINY).fit(X, X[:, 0]),
            "words": xpnet.NeuralNetwork(**TINY).fit(X, np.array(["no", "yes"])[Y]),
        }
    folder = tempfile.mkdtemp(prefix="xpnet-fuzz-models-")
    try:
        blobs = {}
        for name, model in fits.items():
            path = os.path.join(folder, f"{name}.npz")
            model.save(path)
            with open(path, "rb") as fh:
                blobs[name] = fh.read()
    finally:
        shutil.rmtree(folder)
    return blobs


BLOBS = _saved_models()


@fs.fuzz_settings(200)
@given(blob=fs.damaged(BLOBS))
def test_a_damaged_model_file_loads_finitely_or_raises_value_error(blob):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.npz")
        with open(path, "wb") as fh:
            fh.write(blob)
        try:
            with quiet():
                model = xpnet.load(path)
        except (ValueError, FileNotFoundError) as exc:
            assert str(exc).strip()
            return
        with quiet():
            check_fitted(model, X)
        with open(path, "rb") as fh:
            assert fh.read() == blob  # loading never writes


# --------------------------------------------------------------- 6. the bugs found, pinned
def expect_clear_error(call, *words):
    with quiet(), pytest.raises(CLEAR) as info:
        call()
    for word in words:
        assert word in str(info.value)


def works_or_names(call, *words):
    """The call works with finite outputs, or raises ValueError/TypeError naming ``words``:
    what a fix may choose (a Fraction learning rate may well be accepted)."""
    try:
        with quiet():
            out = call()
    except CLEAR as exc:
        for word in words:
            assert word in str(exc), exc
        return
    assert all_finite(out)


def all_finite(out):
    """Every number in ``out`` (a fitted model: its parameters; dicts, tuples, arrays)."""
    if hasattr(out, "get_params"):
        out = getattr(out, "parameters_", None) or getattr(out, "w_", 0.0)
    if isinstance(out, dict):
        return all(all_finite(v) for v in out.values())
    if isinstance(out, (list, tuple)):
        return all(all_finite(v) for v in out)
    try:
        return finite(np.asarray(out, dtype=float))
    except (TypeError, ValueError):
        return True


def fit_tiny(**kw):
    return lambda: xpnet.NeuralNetwork(**{**TINY, **kw}).fit(X, Y)


@pytest.mark.parametrize("name, value", [
    ("learning_rate", 2**64), ("epsilon", 2**64), ("beta1", -2**64),
    ("learning_rate", fractions.Fraction(1, 100)), ("keep_prob", 10**400),
    ("class_weight", {0: fractions.Fraction(1, 2)})])
def test_known_bug_huge_int_hyperparameter(name, value):
    works_or_names(fit_tiny(**{name: value}), name)


@pytest.mark.parametrize("cls", [xpnet.Perceptron, xpnet.Adaline, xpnet.LogisticRegression])
def test_known_bug_huge_int_single_unit(cls):
    name = "learning_rate" if cls is xpnet.LogisticRegression else "eta"
    for value in (2**63, 2**64):
        works_or_names(lambda: cls(**{name: value}).fit(X, Y), name)


@pytest.mark.parametrize("hidden", [(10**18,), (2**40,)],
                         ids=["too-big-for-numpy", "memory-error"])
def test_known_bug_huge_hidden(hidden):
    works_or_names(fit_tiny(hidden=hidden), "hidden")


@pytest.mark.parametrize("name", ["warm_start", "class_weight"])
def test_known_bug_array_hyperparameter(name):
    for value in (np.array([]), np.array([1.0, 2.0])):
        works_or_names(fit_tiny(**{name: value}), name)


@pytest.mark.parametrize("dtype", [",", "1e-3"])
def test_known_bug_dtype_struct_spec(dtype):
    expect_clear_error(fit_tiny(dtype=dtype), "dtype")
    expect_clear_error(lambda: xpnet.LogisticRegression(dtype=dtype, iterations=2).fit(X, Y),
                       "dtype")
    expect_clear_error(lambda: course.initialize_with_zeros(3, dtype=dtype, backend="numpy"),
                       "dtype")
    expect_clear_error(lambda: course.initialize_parameters_deep([2, 3], dtype=dtype,
                                                                 backend="numpy"), "dtype")


@pytest.mark.parametrize("kw", [
    {"learning_rate": 1e38}, {"optimizer": "adamw", "weight_decay": 1e300},
    {"optimizer": "adamw", "weight_decay": 1.4e41}], ids=["adam-lr", "adamw-wd", "adamw-wd-f32"])
def test_known_bug_last_update_unchecked(kw):
    works_or_names(lambda: xpnet.NeuralNetwork(**{**TINY, **kw}).fit(X, Y).predict_proba(X),
                   *[k for k in kw if k != "optimizer"])


@pytest.mark.parametrize("kw, name", [
    ({"l2": 1e308}, "l2"), ({"weight_decay": 1e308, "optimizer": "adamw"}, "weight_decay"),
    ({"leaky_slope": 1e308, "activation": "leaky_relu"}, "leaky_slope")])
def test_known_bug_diverged_blames_learning_rate(kw, name):
    works_or_names(fit_tiny(epochs=2, **kw), name)


@pytest.mark.parametrize("func", [lambda epoch: 1 / epoch, lambda: 1.0, len],
                         ids=["ZeroDivisionError", "wrong-arity", "len"])
def test_known_bug_lr_decay_callable_raises(func):
    works_or_names(fit_tiny(epochs=2, lr_decay=func), "lr_decay")


def test_known_bug_regressor_score_overflows():
    y_ = X[:, 0] * 1e155
    with quiet():
        model = xpnet.NeuralNetworkRegressor(**TINY).fit(X, y_)
        assert np.isfinite(model.predict(X)).all()
        assert math.isfinite(model.score(X, y_))


@pytest.mark.parametrize("which", ["NeuralNetwork", "NeuralNetworkRegressor"])
def test_known_bug_predict_beyond_float32(which):
    model = FITTED[which]
    predict = model.predict_proba if which == "NeuralNetwork" else model.predict
    works_or_names(lambda: predict(X * 1e100))


def _npy_header_edited(blob, old, new):
    """The model ``blob`` with ``old`` replaced by ``new`` (same length) in the .npy header of
    its first member (the JSON header's array)."""
    assert len(old) == len(new)
    members = fs.zip_members(blob)
    name, data = members[0]
    members[0] = (name, data.replace(old, new, 1))
    return fs.zip_bytes(members)


@pytest.mark.parametrize("old, new", [(b"'shape': (", b"'shape':(("), (b"'<U", b"',U")],
                         ids=["TokenError", "SyntaxError"])
def test_known_bug_npy_header_parser_errors(tmp_path, old, new):
    path = tmp_path / "m.npz"
    path.write_bytes(_npy_header_edited(BLOBS["binary"], old, new))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        xpnet.load(path)


def test_known_bug_csv_field_limit(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,b\n1,0\n" + "x" * 200_000 + "\n")
    code, _, err = run_cli(["train", "--data", str(path), "--epochs", "1", "--no-plots",
                            "--quiet", "--backend", "numpy", "--out", str(tmp_path / "run")])
    assert code == 2 and "internal error" not in err, err


def test_known_bug_cli_diverged_run_warns_and_blames_nothing(tmp_path):
    code, _, err = run_cli([*TRAIN, "--learning-rate", "1e38", "--out", tmp_path / "run"])
    assert code == 2 and not (tmp_path / "run").exists(), err
    lines = error_lines(err)
    assert len(lines) == 1 and "learning" in lines[0], err


def test_known_bug_npz_fd_leak(tmp_path):
    from xpnet.io import load_table
    path = tmp_path / "bad.csv"
    path.write_bytes(b"PK\x03\x04")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="not a readable NPZ file"):
            load_table(str(path))
        gc.collect()
    assert not [w for w in seen if issubclass(w.category, ResourceWarning)]


def test_known_bug_cli_saves_a_model_that_predicts_nan(tmp_path):
    code, _, err = run_cli([*TRAIN, "--learning-rate", "1e20", "--out", tmp_path / "run"])
    if code == 0:
        with quiet():
            proba = xpnet.load(tmp_path / "run" / "model.npz").predict_proba(X[:, :2])
        assert np.isfinite(proba).all()
    else:
        assert code == 2 and "learning" in err, err


ZEROS = {"W1": np.zeros((2, 3)), "b1": np.zeros((2, 1))}
DZEROS = {"dW1": np.zeros((2, 3)), "db1": np.zeros((2, 1))}


@pytest.mark.parametrize("call", [
    pytest.param(lambda: course.linear_backward(
        np.zeros((2, 4)), (None, np.zeros((2, 3)), np.zeros((2, 1))), backend="numpy"),
        id="linear_backward-None-in-cache"),
    pytest.param(lambda: course.linear_activation_backward(
        np.zeros((2, 4)), ((np.zeros((3, 4)), 3, np.zeros((2, 1))), np.zeros((2, 4))), "relu",
        backend="numpy"), id="linear_activation_backward-int-in-cache"),
    pytest.param(lambda: course.linear_backward(
        np.zeros((2, 4)), (np.zeros((3, 4)), np.array(0.0), np.zeros((2, 1))),
        backend="numpy"), id="linear_backward-0d-W"),
])
def test_known_bug_course_cache_unchecked(call):
    expect_clear_error(call)


@pytest.mark.parametrize("call", [
    pytest.param(lambda: course.propagate(np.zeros((2, 1)), 0.0, np.zeros((2, 0)),
                                          np.zeros((1, 0)), backend="numpy"), id="propagate"),
    pytest.param(lambda: course.optimize(np.zeros((2, 1)), 0.0, np.zeros((2, 0)),
                                         np.zeros((1, 0)), num_iterations=1, backend="numpy"),
                 id="optimize"),
    pytest.param(lambda: course.model(np.zeros((2, 0)), np.zeros((1, 0)), np.zeros((2, 1)),
                                      np.zeros((1, 1)), num_iterations=1, backend="numpy"),
                 id="model"),
    pytest.param(lambda: course.linear_backward(np.zeros((2, 0)), (
        np.zeros((3, 0)), np.zeros((2, 3)), np.zeros((2, 1))), backend="numpy"),
        id="linear_backward"),
    pytest.param(lambda: course.L_model_backward(np.full((1, 0), 0.5), np.zeros((1, 0)), [(
        (np.zeros((3, 0)), np.zeros((1, 3)), np.zeros((1, 1))), np.zeros((1, 0)))],
        backend="numpy"), id="L_model_backward"),
    pytest.param(lambda: course.compute_cost_with_regularization(
        np.zeros((1, 0)), np.zeros((1, 0)), dict(ZEROS), 0.1, backend="numpy"),
        id="compute_cost_with_regularization"),
    pytest.param(lambda: course.compute_cost(np.zeros((1, 0)), np.zeros((1, 0)),
                                             backend="numpy"), id="compute_cost-nan"),
])
def test_known_bug_course_zero_examples(call):
    works_or_names(call)


@pytest.mark.parametrize("call", [
    pytest.param(lambda: course.update_parameters_with_adam(
        dict(ZEROS), dict(DZEROS), dict(DZEROS), dict(DZEROS), 1, 0.01, 1.0,
        backend="numpy"), id="adam-beta1=1"),
    pytest.param(lambda: course.update_parameters_with_adam(
        dict(ZEROS), dict(DZEROS), dict(DZEROS), dict(DZEROS), 2, 0.01, -1.0,
        backend="numpy"), id="adam-beta1=-1-t=2"),
    pytest.param(lambda: course.gradient_check(lambda t: t * 2, 1.0, 2.0, epsilon=0),
                 id="gradient_check-epsilon=0"),
    pytest.param(lambda: course.update_lr(0.1, 10**400, 1.0), id="update_lr-huge-epoch"),
    pytest.param(lambda: course.update_parameters_with_gd(dict(ZEROS), dict(DZEROS), 10**400,
                                                          backend="numpy"), id="gd-huge-lr"),
    pytest.param(lambda: course.gradient_check(lambda t: t * 2, 1.0, 2.0, epsilon=10**400),
                 id="gradient_check-huge-epsilon"),
    pytest.param(lambda: course.gradient_check(lambda t: t * 2, 10**400, 2.0),
                 id="gradient_check-huge-theta"),
    pytest.param(lambda: course.gradient_check(lambda t: t * 2, 1.0, None),
                 id="gradient_check-grad-None-would-be-nan"),
    pytest.param(lambda: course.L_model_forward(np.zeros((3, 2)), dict(ZEROS), keep_prob=10**400,
                                                backend="numpy"), id="keep_prob-huge"),
    pytest.param(lambda: course.model(None, None, None, None, num_iterations=1,
                                      backend="numpy"), id="model-None"),
    pytest.param(lambda: course.gradient_check_n(
        {"W1": np.zeros((1, 3)), "b1": np.zeros((1, 1))}, {}, np.zeros((3, 2)),
        np.zeros((1, 2))), id="gradient_check_n-no-gradients"),
    pytest.param(lambda: course.vector_to_dictionary(np.zeros(3), np.zeros(3)),
                 id="vector_to_dictionary-shapes-array"),
    pytest.param(lambda: course.compute_cost_with_regularization(
        np.full((1, 3), 0.5), np.ones((1, 3)), dict(ZEROS), np.zeros((0, 3)),
        backend="numpy"), id="compute_cost_with_regularization-lambd-array"),
])
def test_known_bug_course_unchecked_arguments(call):
    works_or_names(call)


@pytest.mark.parametrize("learning_rate", [None, math.nan, math.inf])
def test_known_bug_course_learning_rate_unchecked(learning_rate):
    params = {"W1": np.ones((2, 3)), "b1": np.ones((2, 1))}
    grads = {"dW1": np.ones((2, 3)), "db1": np.ones((2, 1))}
    for func in (course.update_parameters, course.update_parameters_with_gd):
        try:
            with quiet():
                out = func(dict(params), dict(grads), learning_rate, backend="numpy")
        except CLEAR as exc:
            assert "learning_rate" in str(exc)
        else:
            assert all(np.isfinite(v).all() for v in out.values())


def test_known_bug_course_numba_typing_error():
    if "numba" not in xpnet.available_backends():
        pytest.skip("numba is not installed")
    expect_clear_error(lambda: course.update_parameters(
        dict(ZEROS), dict(DZEROS), np.zeros((1, 2)), backend="numba"))


def test_known_bug_value_gradient_overflow():
    a, b = Value(1e200), Value(1e-200)
    J = (a * b) * 1e200 - (a * b) * 1e200
    try:
        J.backward()
    except OverflowError:
        return
    assert math.isfinite(b.grad)


def test_zip_helpers_round_trip():
    """The damage helpers rebuild an archive that still loads when nothing is changed."""
    blob = fs.zip_bytes(fs.zip_members(BLOBS["multi"]))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.npz")
        with open(path, "wb") as fh:
            fh.write(blob)
        with quiet():
            check_fitted(xpnet.load(path), X)
    assert zipfile.is_zipfile(io.BytesIO(blob))
