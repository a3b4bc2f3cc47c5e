"""Tests generated from the op registries (``xpnet.ops``): a newly registered op is tested the
moment it is registered, with no test code of its own.

- every activation, loss and optimizer on every available backend (numpy, numba, the cupy
  backend on its CPU emulation where a C++ compiler exists, a real GPU where there is one), both
  dtypes, against the ``loops`` backend (float64 rtol 1e-7; float32 rtol 1.3e-6, atol 1e-5);
- a float64 central-difference gradient check for every activation and loss, on every CPU
  backend;
- every initializer's draws against its formula's scale, through the estimator;
- the numba step replay records every op (the output gradient from the loss definition
  included) and replays it bit for bit;
- the backends' fused-kernel tables name only registered ops; a name a backend cannot run is a
  failure, never a skip.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import cupy_emulation as emu
from conftest import assert_close, vectorized_backends
from xpnet import NeuralNetwork, NeuralNetworkRegressor, backends
from xpnet.backends import cupy_backend
from xpnet.network import Architecture, gradient_check
from xpnet.network.model import initialize_parameters
from xpnet.ops import (ACTIVATIONS, INITIALIZERS, LOSSES, OPTIMIZERS, REGISTRIES, Registry,
                       check_kernel_table)
from xpnet.ops import activations as xact, losses as xloss, optimizers as xopt
from xpnet.ops.activations import Activation

LOOPS = backends.resolve("loops")
NUMPY = backends.resolve("numpy")
CPU_BACKENDS = [n for n in backends.available_backends() if n != "cupy"]
_EMULATED = {}


def _backend_names():
    names = vectorized_backends()
    if "cupy" not in names and emu.CXX is not None:
        names.append("cupy-emulated")
    return names


def _get(name):
    if name != "cupy-emulated":
        return backends.resolve(name)
    if name not in _EMULATED:
        cp = emu.make_fake_cupy()
        with pytest.MonkeyPatch.context() as mp:
            emu.install(mp, cp)
            _EMULATED[name] = cupy_backend.create()
    return _EMULATED[name]


@pytest.fixture(params=_backend_names())
def xbackend(request):
    """Each vectorized backend here (the cupy backend emulated on the CPU where no GPU is)."""
    return _get(request.param)


def both(bk, dtype, *host):
    return ([LOOPS.asarray(h, dtype=dtype) for h in host],
            [bk.asarray(h, dtype=dtype) for h in host])


def host(bk, x):
    return np.asarray(bk.to_numpy(x))


def targets(kind, shape, rng):
    n, m = shape
    if kind == "binary":
        return (rng.random((1, m)) < 0.5).astype(float)
    if kind == "multiclass":
        return np.eye(n)[:, rng.integers(0, n, m)]
    return rng.standard_normal((n, m)) * 2


def loss_case(name, rng, m=9):
    """``(ZL, Y, params)`` for the loss ``name``: logits of its output width, targets of the first
    kind it fits, non-default settings."""
    definition = LOSSES[name]
    kind = definition.targets[0]
    n = 1 if kind == "binary" else 4
    Z = rng.standard_normal((n, m)) * 2
    params = {k: v * 0.5 for k, v in definition.params.items()}
    return Z, targets(kind, (n, m), rng), params


# ------------------------------------------------------------------------- activations
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_the_loops_oracle(xbackend, dtype, rng, name):
    Z, dA = rng.standard_normal((5, 7)) * 3, rng.standard_normal((5, 7))
    (lZ, ldA), (vZ, vdA) = both(xbackend, dtype, Z, dA)
    lA, vA = xact.forward(LOOPS, name, lZ, 0.05), xact.forward(xbackend, name, vZ, 0.05)
    assert host(xbackend, vA).dtype == np.dtype(dtype)
    assert_close(host(xbackend, vA), lA, dtype)
    ldZ = xact.backward(LOOPS, name, ldA, lZ, lA, 0.05)
    vdZ = xact.backward(xbackend, name, vdA, vZ, vA, 0.05)
    assert host(xbackend, vdZ).dtype == np.dtype(dtype)
    assert_close(host(xbackend, vdZ), ldZ, dtype)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_bias_plus_activation_matches_the_loops_oracle(xbackend, dtype, rng, name):
    W, A, b = rng.standard_normal((4, 6)), rng.standard_normal((6, 5)), rng.standard_normal((4, 1))
    (lW, lA, lb), (vW, vA, vb) = both(xbackend, dtype, W, A, b)
    lZ, lOut = xact.linear_activation_forward(LOOPS, lW, lA, lb, name, 0.03)
    vZ, vOut = xact.linear_activation_forward(xbackend, vW, vA, vb, name, 0.03)
    assert_close(host(xbackend, vZ), lZ, dtype)
    assert_close(host(xbackend, vOut), lOut, dtype)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_extremes_stay_finite(xbackend, dtype, name):
    Z = np.array([[-1000.0, -30.0, 0.0], [30.0, 1000.0, -1000.0], [1000.0, 0.5, -0.5]])
    vZ = xbackend.asarray(Z, dtype=dtype)
    A = xact.forward(xbackend, name, vZ)
    dZ = xact.backward(xbackend, name, xbackend.ones(Z.shape, dtype), vZ, A)
    assert np.all(np.isfinite(host(xbackend, A))) and np.all(np.isfinite(host(xbackend, dZ)))


def _hidden_and_output(name):
    """A network exercising ``name``: as the hidden activation (sigmoid output), or as the
    output where it is output-only (with the loss computed through it)."""
    act = ACTIVATIONS[name]
    if act.hidden:
        return Architecture((3, 4, 1), name, "sigmoid"), "binary"
    loss = next(d for d in LOSSES.values() if d.output == name)
    return Architecture((3, 4, 3), "tanh", name, loss=loss.name), loss.targets[0]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradient_check(backend, rng, name):
    arch, kind = _hidden_and_output(name)
    X = rng.standard_normal((arch.layer_dims[0], 6))
    Y = targets(kind, (arch.layer_dims[-1], 6), rng)
    assert gradient_check(X, Y, arch, seed=2, backend=backend) < 1e-7


# ------------------------------------------------------------------------------ losses
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_value_and_output_gradient_match_the_loops_oracle(xbackend, dtype, rng, name):
    Z, Y, params = loss_case(name, rng)
    output = LOSSES[name].output
    lA = xact.forward(LOOPS, output, LOOPS.asarray(Z, dtype=dtype))
    (lZ, lY), (vZ, vY) = both(xbackend, dtype, Z, Y)
    vA = xbackend.asarray(lA, dtype=dtype)
    cost = xloss.value(xbackend, name, vZ, vA, vY, **params)
    assert_close(xbackend.item(cost), LOOPS.item(xloss.value(LOOPS, name, lZ, lA, lY, **params)),
                 dtype)
    dZ = xloss.delta(xbackend, name, vZ, vA, vY, **params)
    assert host(xbackend, dZ).shape == Z.shape
    assert_close(host(xbackend, dZ), xloss.delta(LOOPS, name, lZ, lA, lY, **params), dtype)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_output_gradient_is_m_times_dJ_dZ(backend, rng, name):
    """``delta`` is ``m dJ/dZ[L]`` with ``A[L] = g(Z[L])`` through the loss's own output, by
    central differences in float64."""
    bk = backends.resolve(backend)
    Z, Y, params = loss_case(name, rng, m=5)
    output = LOSSES[name].output
    vY = bk.asarray(Y, dtype="float64")

    def J(Zh):
        vZ = bk.asarray(Zh, dtype="float64")
        return bk.item(xloss.value(bk, name, vZ, xact.forward(bk, output, vZ), vY, **params))

    eps, approx = 1e-6, np.empty_like(Z)
    for idx in np.ndindex(*Z.shape):
        up, down = Z.copy(), Z.copy()
        up[idx] += eps
        down[idx] -= eps
        approx[idx] = (J(up) - J(down)) / (2 * eps)
    vZ = bk.asarray(Z, dtype="float64")
    delta = host(bk, xloss.delta(bk, name, vZ, xact.forward(bk, output, vZ), vY, **params))
    np.testing.assert_allclose(delta / Z.shape[1], approx, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_is_finite_at_extreme_logits(xbackend, dtype, rng, name):
    _, Y, params = loss_case(name, rng, m=3)
    Z = np.full(Y.shape, 1000.0)
    Z[..., 0] = -1000.0
    vZ, vY = xbackend.asarray(Z, dtype=dtype), xbackend.asarray(Y, dtype=dtype)
    vA = xact.forward(xbackend, LOSSES[name].output, vZ)
    assert np.isfinite(xbackend.item(xloss.value(xbackend, name, vZ, vA, vY, **params)))


# --------------------------------------------------------------------------- optimizers
def _settings(name):
    """Non-default values of every setting the optimizer reads."""
    odd = {"beta": 0.7, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-3, "bias_correction": True,
           "weight_decay": 0.3}
    missing = set(OPTIMIZERS[name].uses) - set(odd)
    assert not missing, f"add a non-default test value for {sorted(missing)}"
    return {k: odd[k] for k in OPTIMIZERS[name].uses}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_update_matches_the_loops_oracle(xbackend, dtype, rng, name):
    definition = OPTIMIZERS[name]
    theta, hp = rng.standard_normal(11), _settings(name)
    (lt,), (vt,) = both(xbackend, dtype, theta)
    lstate = {s: LOOPS.zeros((11,), dtype) for s in definition.slots}
    vstate = {s: xbackend.zeros((11,), dtype) for s in definition.slots}
    for t in range(1, 4):
        grad = rng.standard_normal(11)
        (lg,), (vg,) = both(xbackend, dtype, grad)
        xopt.update(LOOPS, name, lt, lg, lstate, 0.05, t, **hp)
        xopt.update(xbackend, name, vt, vg, vstate, 0.05, t, **hp)
    assert_close(host(xbackend, vt), lt, dtype)
    for slot in definition.slots:
        assert_close(host(xbackend, vstate[slot]), lstate[slot], dtype)


def test_adamw_is_pytorchs_decoupled_weight_decay(rng):
    """An independent reference (PyTorch's AdamW): decay first, then the Adam step."""
    theta, lr, wd, b1, b2, eps = rng.standard_normal(7), 0.01, 0.1, 0.9, 0.999, 1e-8
    ref, m, v = theta.copy(), np.zeros(7), np.zeros(7)
    state = {"m": np.zeros(7), "v": np.zeros(7)}
    for t in range(1, 6):
        g = rng.standard_normal(7)
        ref *= 1 - lr * wd
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        ref -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        xopt.update(NUMPY, "adamw", theta, g, state, lr, t, weight_decay=wd)
    np.testing.assert_allclose(theta, ref, rtol=1e-12)


def test_adamw_without_decay_is_adam(rng):
    a, b = rng.standard_normal(5), None
    b = a.copy()
    sa, sb = {"m": np.zeros(5), "v": np.zeros(5)}, {"m": np.zeros(5), "v": np.zeros(5)}
    for t in range(1, 4):
        g = rng.standard_normal(5)
        xopt.update(NUMPY, "adamw", a, g, sa, 0.01, t, weight_decay=0.0)
        xopt.update(NUMPY, "adam", b, g, sb, 0.01, t)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------- initializers
#: The course's formula for the standard deviation of each initializer's draws, written out
#: here independently of the code (a new initializer must add its formula).
EXPECTED_SCALE = {"zeros": lambda n_prev, n: 0.0, "random": lambda n_prev, n: 0.01,
                  "xavier": lambda n_prev, n: math.sqrt(1.0 / n_prev),
                  "he": lambda n_prev, n: math.sqrt(2.0 / n_prev),
                  "glorot": lambda n_prev, n: math.sqrt(2.0 / (n_prev + n)),
                  "large": lambda n_prev, n: 10.0}


@pytest.mark.parametrize("name", list(INITIALIZERS))
def test_initializer_draws_have_the_formulas_scale(name):
    assert name in EXPECTED_SCALE, f"write the formula of initializer {name!r} in this test"
    arch = Architecture((300, 200, 1), "relu", "sigmoid")
    W = initialize_parameters(arch, init=name, seed=0, dtype="float64", backend="numpy")["W1"]
    expected = EXPECTED_SCALE[name](300, 200)
    assert W.shape == (200, 300)
    assert abs(np.std(W) - expected) <= 0.02 * expected + 1e-15
    assert abs(np.mean(W)) <= 0.02 * expected + 1e-15


@pytest.mark.parametrize("name", list(INITIALIZERS))
def test_the_estimator_draws_with_the_chosen_initializer(name):
    """What reaches the fitted model: one gd step at a negligible rate leaves W1 as drawn."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, 250)), rng.integers(0, 2, 40)
    model = NeuralNetwork(hidden=(150,), init=name, optimizer="gd", learning_rate=1e-30,
                          epochs=1, batch_size=None, normalize=False, seed=0,
                          dtype="float64", backend="numpy").fit(X, y)
    W = model.parameters_["W1"]
    expected = EXPECTED_SCALE[name](250, 150)
    assert abs(np.std(W) - expected) <= 0.03 * expected + 1e-15


# -------------------------------------------------------------------- through the model
@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("name", list(xact.hidden_activations()))
def test_every_hidden_activation_trains(backend, name):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 4)), rng.integers(0, 3, 60)
    model = NeuralNetwork(hidden=(6,), activation=name, epochs=3, seed=0, backend=backend)
    model.fit(X, y)
    assert model.get_params()["activation"] == name
    assert model.arch_.activations[0] == name and np.all(np.isfinite(model.history_["cost"]))


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_trains_and_lowers_the_cost(backend, name):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = NeuralNetwork(hidden=(8,), optimizer=name, epochs=15, seed=0, backend=backend)
    cost = model.fit(X, y).history_["cost"]
    assert cost[-1] < cost[0]


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_is_a_choice_for_the_targets_it_fits(name):
    definition = LOSSES[name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    kind = definition.targets[0]
    if kind == "regression":
        model, y = NeuralNetworkRegressor(loss=name), X @ np.array([1.0, -2.0, 0.5])
    else:
        model, y = NeuralNetwork(loss=name), rng.integers(0, 2 if kind == "binary" else 3, 60)
    model.set_params(hidden=(5,), epochs=3, seed=0, backend="numpy").fit(X, y)
    assert model.arch_.loss == name and model.arch_.activations[-1] == definition.output
    others = [k for k in ("binary", "multiclass", "regression") if k not in definition.targets]
    for other in others[:1]:
        wrong = rng.integers(0, 2 if other == "binary" else 3, 60) if other != "regression" \
            else X[:, 0]
        est = (NeuralNetworkRegressor if other == "regression" else NeuralNetwork)(
            loss=name, epochs=1, backend="numpy")
        with pytest.raises(ValueError, match=f"loss {name!r} does not fit {other} targets"):
            est.fit(X, wrong)


# --------------------------------------------------------------------- the numba replay
def _fit(backend, kind="multiclass", **kw):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 5))
    reg = kind == "regression"
    y = {"regression": X @ np.arange(1.0, 6.0), "binary": (X[:, 0] > 0).astype(int),
         "multiclass": (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)}[kind]
    cls = NeuralNetworkRegressor if reg else NeuralNetwork
    return cls(hidden=(7,), epochs=3, batch_size=32, seed=4, backend=backend, **kw).fit(X, y)


def _replay_cases():
    cases = [dict(activation=a) for a in xact.hidden_activations()]
    cases += [dict(optimizer=o) for o in OPTIMIZERS]
    for name, definition in LOSSES.items():
        cases.append(dict(loss=name, kind=definition.targets[0]))
    return cases


@pytest.mark.numba
@pytest.mark.parametrize("case", _replay_cases(), ids=lambda c: "-".join(map(str, c.values())))
def test_numba_replays_every_op_bit_for_bit(monkeypatch, case):
    """The recorded step (forward, cost, output gradient, backward) replays each registered op:
    the fit is identical to the eager one, and the runner really replayed."""
    pytest.importorskip("numba")
    from xpnet.backends.numba_backend import NumbaBackend
    from xpnet.network import training

    runners = []
    original = training.full_batch_runner
    monkeypatch.setattr(training, "full_batch_runner",
                        lambda *a: runners.append(original(*a)) or runners[-1])
    replayed = _fit(NumbaBackend(replay=True), **dict(case))
    assert runners[-1].mode == "replaying", runners[-1].error
    eager = _fit(NumbaBackend(replay=False), **dict(case))
    for key, value in replayed.parameters_.items():
        np.testing.assert_array_equal(value, eager.parameters_[key])


# ------------------------------------------------------------------- registry contract
def test_fused_kernel_tables_name_only_registered_ops():
    for name in _backend_names():
        bk = _get(name)
        check_kernel_table(bk.fused, REGISTRIES, bk.name)
        assert all(role in next(r for r in REGISTRIES if op in r).roles
                   for op, role in bk.fused)
    with pytest.raises(ValueError, match="no op is registered as 'sigmiod'"):
        check_kernel_table({("sigmiod", "forward"): None}, REGISTRIES, "mine")
    with pytest.raises(ValueError, match="'adam' is an optimizer, whose kernel roles are update"):
        check_kernel_table({("adam", "forward"): None}, REGISTRIES, "mine")


def test_unknown_names_are_errors_where_they_are_given():
    with pytest.raises(ValueError, match="unknown activation 'swish'; choose one of sigmoid"):
        Architecture((2, 3, 1), "swish", "sigmoid")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        xloss.value(NUMPY, "hinge", np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="unknown optimizer 'nesterov'"):
        xopt.make_optimizer("nesterov")
    with pytest.raises(ValueError, match="unknown initializer 'lecun'"):
        initialize_parameters(Architecture((2, 1)), init="lecun")
    with pytest.raises(TypeError, match="activation must be a name"):
        ACTIVATIONS[3]
    with pytest.raises(ValueError, match="activation must be one of 'sigmoid'.*got 'swish'"):
        NeuralNetwork(activation="swish").fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_a_definition_without_its_formula_fails_loudly():
    registry = Registry("activation", roles=("forward",))

    @registry.register
    class Half(Activation):
        name = "half"

    with pytest.raises(NotImplementedError, match="'half' defines no forward formula"):
        Half.forward(NUMPY, np.ones((2, 2)), 0.01)
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(Half)


def test_registry_names_feed_the_choices():
    from xpnet.commands import tune
    from xpnet.network.hyperparameters import NETWORK

    assert NETWORK["optimizer"].parse.choices == tuple(OPTIMIZERS)
    assert tune.OPTIMIZER_CHOICES == tuple(OPTIMIZERS)
    assert NETWORK["init"].parse.choices == tuple(INITIALIZERS)
    assert set(NETWORK["activation"].parse.choices) == {
        n for n, a in ACTIVATIONS.items() if a.hidden}
    assert None in [NETWORK["loss"].parse("none")]


# ------------------------------------------------------------ the three new definitions
def test_gelu_values_are_the_tanh_form():
    z = np.array([[-3.0, -1.0, 0.0, 0.5, 1.0, 3.0]])
    c = math.sqrt(2 / math.pi)
    expected = 0.5 * z * (1 + np.tanh(c * (z + 0.044715 * z ** 3)))
    np.testing.assert_allclose(xact.forward(NUMPY, "gelu", z), expected, rtol=1e-15)
    assert abs(float(xact.forward(NUMPY, "gelu", np.array([[1.0]]))[0, 0]) - 0.841192) < 1e-6


def test_huber_is_quadratic_inside_delta_and_linear_outside():
    A = np.array([[0.5, -0.5, 3.0, -4.0]])
    Y = np.zeros_like(A)
    cost = float(xloss.value(NUMPY, "huber", A, A, Y, delta=1.0))
    assert cost == pytest.approx((0.125 + 0.125 + 2.5 + 3.5) / 4)
    np.testing.assert_array_equal(xloss.delta(NUMPY, "huber", A, A, Y, delta=1.0),
                                  [[0.5, -0.5, 1.0, -1.0]])
    mse = float(xloss.value(NUMPY, "mse", A[:, :2], A[:, :2], Y[:, :2]))
    assert float(xloss.value(NUMPY, "huber", A[:, :2], A[:, :2], Y[:, :2])) == mse


def test_huber_regression_resists_outliers():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (200, 1))
    y = 3 * X[:, 0] + 0.05 * rng.standard_normal(200)
    y[:10] += 40.0                                   # 5% gross outliers
    kw = dict(hidden=(), epochs=150, learning_rate=0.05, batch_size=None, seed=0,
              backend="numpy", dtype="float64")
    clean = np.linspace(-1, 1, 50).reshape(-1, 1)
    err = {}
    for loss in ("mse", "huber"):
        model = NeuralNetworkRegressor(loss=loss, **kw).fit(X, y)
        err[loss] = np.mean(np.abs(model.predict(clean) - 3 * clean[:, 0]))
    assert err["huber"] < 0.5 * err["mse"]


def test_each_op_name_is_a_string_literal_in_at_most_four_files():
    """One definition per op: its name is spelt in code (string constants, docstrings aside) in
    at most four files under ``xpnet/``: its definition, a pairing or default, and the fused
    kernel tables of the numba and cupy backends."""
    import ast
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1] / "xpnet"
    names = {n for r in REGISTRIES for n in r}
    files = {n: set() for n in names}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                files[node.value].add(path.relative_to(root).as_posix())
    spread = {n: sorted(f) for n, f in files.items() if len(f) > 4}
    assert not spread, f"op names spelt in more than 4 files: {spread}"


def test_the_reference_page_is_generated_from_the_registries():
    """``docs/reference.md`` is what ``python -m xpnet.doctables --write`` writes: a new op or
    hyperparameter shows up in the docs (rerun that command after adding one)."""
    import os

    from xpnet import doctables

    with open(doctables.default_path(), encoding="utf-8") as f:
        committed = f.read()
    assert committed == doctables.page(), "run: python -m xpnet.doctables --write"
    for registry in REGISTRIES:
        for name in registry:
            assert f"`{name}`" in committed
    assert os.path.basename(doctables.default_path()) == "reference.md"
