"""xpnet.graph: the course's scalar computation graph (forward values, backward gradients)."""

from __future__ import annotations

import doctest
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import xpnet.graph
from conftest import ROOT
from xpnet import plots
from xpnet.graph import Value, draw, nudge


def course_graph():
    """The lectures' J = 3(a + bc) at a, b, c = 5, 3, 2, every node labelled."""
    a, b, c = Value(5, label="a"), Value(3, label="b"), Value(2, label="c")
    u = b * c
    u.label = "u"
    v = a + u
    v.label = "v"
    J = 3 * v
    J.label = "J"
    return a, b, c, u, v, J


def logistic_graph(w1, w2, b, x1, x2, y):
    """z = w1 x1 + w2 x2 + b, a = sigmoid(z), L = -(y log a + (1 - y) log(1 - a))."""
    w1, w2, b = Value(w1, label="w1"), Value(w2, label="w2"), Value(b, label="b")
    x1, x2 = Value(x1, label="x1"), Value(x2, label="x2")
    z = w1 * x1 + w2 * x2 + b
    a = z.sigmoid()
    L = -(y * a.log() + (1 - y) * (1 - a).log())
    return {"w1": w1, "w2": w2, "b": b, "x1": x1, "x2": x2, "z": z, "a": a, "L": L}


# -- the lectures' example ----------------------------------------------------------------------

def test_the_course_graph_forward_gives_33():
    a, b, c, u, v, J = course_graph()
    assert (u.data, v.data, J.data) == (6.0, 11.0, 33.0)
    assert (J.op, v.op, u.op, a.op) == ("*", "+", "*", "")
    assert J.parents[1] is v and v.parents == (a, u) and u.parents == (b, c)


def test_the_course_graph_backward_gives_3_6_9():
    a, b, c, u, v, J = course_graph()
    assert all(n.grad == 0.0 for n in J.nodes())
    J.backward()
    assert (a.grad, b.grad, c.grad) == (3.0, 6.0, 9.0)
    assert (J.grad, v.grad, u.grad) == (1.0, 3.0, 3.0)
    assert J.parents[0].grad == 11.0  # the constant 3: dJ/d3 = v


def test_repr_shows_data_grad_and_label():
    *_, J = course_graph()
    J.backward()
    assert repr(J) == "Value(data=33.0, grad=1.0, label='J')"
    assert repr(Value(2)) == "Value(data=2.0, grad=0.0)"


def test_nodes_are_in_topological_order_with_the_output_last():
    a, b, c, u, v, J = course_graph()
    order = J.nodes()
    assert len(order) == 7 and order[-1] is J
    assert {id(n) for n in (a, b, c, u, v, J)} <= {id(n) for n in order}
    place = {id(n): i for i, n in enumerate(order)}
    for node in order:
        assert all(place[id(p)] < place[id(node)] for p in node.parents)
    q = Value(1.0)
    assert len((q * q + q).nodes()) == 3  # a node used three times is listed once


def test_the_docstring_examples_run():
    result = doctest.testmod(xpnet.graph, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 20


# -- every op against a central difference ------------------------------------------------------

def _any(rng):
    return rng.uniform(-3.0, 3.0)


def _pos(rng):
    return rng.uniform(0.3, 3.0)


def _nonzero(rng):
    return rng.uniform(0.3, 3.0) * rng.choice([-1.0, 1.0])


OPS = {
    "add": (lambda x, y: x + y, (_any, _any)),
    "sub": (lambda x, y: x - y, (_any, _any)),
    "mul": (lambda x, y: x * y, (_any, _any)),
    "div": (lambda x, y: x / y, (_any, _nonzero)),
    "neg": (lambda x: -x, (_any,)),
    "pow_minus1": (lambda x: x ** -1, (_nonzero,)),
    "pow_half": (lambda x: x ** 0.5, (_pos,)),
    "pow_3": (lambda x: x ** 3, (_any,)),
    "pow_0": (lambda x: x ** 0, (_any,)),
    "pow_2.5": (lambda x: x ** 2.5, (_pos,)),
    "pow_numpy_int": (lambda x: x ** np.int64(2), (_any,)),
    "exp": (lambda x: x.exp(), (_any,)),
    "log": (lambda x: x.log(), (_pos,)),
    "tanh": (lambda x: x.tanh(), (_any,)),
    "sigmoid": (lambda x: x.sigmoid(), (lambda rng: rng.uniform(-8.0, 8.0),)),
    "relu": (lambda x: x.relu(), (_nonzero,)),
    "radd": (lambda x: 2.5 + x, (_any,)),
    "rsub": (lambda x: 2.5 - x, (_any,)),
    "rmul": (lambda x: 2.5 * x, (_any,)),
    "rtruediv": (lambda x: 2.5 / x, (_nonzero,)),
    "composite": (lambda x, y: (x * y).tanh() + y / x - (x - y).sigmoid() * 3,
                  (_nonzero, _any)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_each_op_gradient_matches_a_central_difference(name):
    fn, domains = OPS[name]
    rng = np.random.default_rng(sorted(OPS).index(name))
    h = 1e-6
    for _ in range(5):
        point = [float(draw_(rng)) for draw_ in domains]
        inputs = [Value(p) for p in point]
        out = fn(*inputs)
        out.backward()
        for k in range(len(point)):
            up, down = list(point), list(point)
            up[k] += h
            down[k] -= h
            slope = (fn(*map(Value, up)).data - fn(*map(Value, down)).data) / (2 * h)
            assert inputs[k].grad == pytest.approx(slope, rel=1e-5, abs=1e-7), (name, point, k)


def test_the_forward_values_are_the_math_functions():
    x = 0.7
    assert Value(x).exp().data == math.exp(x)
    assert Value(x).log().data == math.log(x)
    assert Value(x).tanh().data == math.tanh(x)
    assert Value(x).sigmoid().data == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-15)
    assert Value(-x).sigmoid().data == pytest.approx(1 / (1 + math.exp(x)), rel=1e-15)
    assert (Value(-x).relu().data, Value(x).relu().data) == (0.0, x)
    assert (Value(x) ** 0.5).data == math.sqrt(x)
    assert (Value(-2) ** 3).data == -8.0 and (Value(3) / 4).data == 0.75


def test_op_names_say_what_made_a_node():
    x = Value(2.0)
    names = [(x + 1).op, (x - 1).op, (x * 2).op, (x / 2).op, (-x).op, (x ** 3).op,
             (x ** -1).op, (x ** 0.5).op, x.exp().op, x.log().op, x.tanh().op,
             x.sigmoid().op, x.relu().op]
    assert names == ["+", "-", "*", "/", "neg", "**3", "**-1", "**0.5", "exp", "log", "tanh",
                     "sigmoid", "relu"]


def test_relu_derivative_is_zero_at_zero_and_numpy_scalars_mix_in():
    z = Value(0.0)
    z.relu().backward()
    assert z.grad == 0.0
    x = Value(2.0)
    out = np.float64(3.0) * x + np.float32(1.0)
    assert isinstance(out, Value) and out.data == 7.0
    out.backward()
    assert x.grad == 3.0


# -- accumulation and repeated backward ---------------------------------------------------------

def test_a_node_used_twice_accumulates_both_contributions():
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0
    (a + a).backward()
    assert a.grad == 2.0
    (a * a * a).backward()
    assert a.grad == 27.0
    b, c = Value(2.0), Value(5.0)
    (a * b + a * c).backward()
    assert (a.grad, b.grad, c.grad) == (7.0, 3.0, 3.0)


def test_backward_twice_gives_the_same_gradients():
    a, b, c, u, v, J = course_graph()
    J.backward()
    first = [n.grad for n in J.nodes()]
    J.backward()
    assert [n.grad for n in J.nodes()] == first
    assert (a.grad, b.grad, c.grad) == (3.0, 6.0, 9.0)


def test_backward_accumulate_adds_each_contribution_once():
    a, b, c, u, v, J = course_graph()
    J.backward()
    J.backward(accumulate=True)
    assert (a.grad, b.grad, c.grad, u.grad, v.grad, J.grad) == (6.0, 12.0, 18.0, 6.0, 6.0, 2.0)
    K = b * 10  # a second output sharing b: d(J + K)/db = 6 + 10
    J.backward()
    K.backward(accumulate=True)
    assert b.grad == 16.0 and a.grad == 3.0


def test_zero_grad_clears_the_whole_graph():
    *_, J = course_graph()
    J.backward()
    J.zero_grad()
    assert all(n.grad == 0.0 for n in J.nodes())


def test_a_10000_node_chain_goes_backward_without_recursion():
    x = Value(1.0)
    y = x
    for _ in range(10_000):
        y = y + x
    assert len(y.nodes()) == 10_001
    y.backward()
    assert x.grad == 10_001.0 and y.data == 10_001.0
    t = Value(0.5)
    s = t
    for _ in range(10_000):
        s = s.tanh()
    s.backward()
    assert math.isfinite(t.grad) and 0.0 < t.grad < 1.0


# -- logistic regression: the closed forms ------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_logistic_regression_gradients_are_the_closed_form(seed, y):
    rng = np.random.default_rng(seed)
    w1, w2, b, x1, x2 = (float(t) for t in rng.normal(size=5))
    g = logistic_graph(w1, w2, b, x1, x2, y)
    g["L"].backward()
    z = w1 * x1 + w2 * x2 + b
    a = 1.0 / (1.0 + math.exp(-z))
    dz = a - y
    assert g["L"].data == pytest.approx(-(y * math.log(a) + (1 - y) * math.log(1 - a)))
    assert g["a"].grad == pytest.approx(-y / a + (1 - y) / (1 - a), rel=1e-10)
    assert g["z"].grad == pytest.approx(dz, rel=1e-10, abs=1e-14)
    assert g["w1"].grad == pytest.approx(x1 * dz, rel=1e-10, abs=1e-14)
    assert g["w2"].grad == pytest.approx(x2 * dz, rel=1e-10, abs=1e-14)
    assert g["b"].grad == pytest.approx(dz, rel=1e-10, abs=1e-14)
    assert g["x1"].grad == pytest.approx(w1 * dz, rel=1e-10, abs=1e-14)


# -- extremes and errors ------------------------------------------------------------------------

@pytest.mark.parametrize("z", [1000.0, -1000.0, 745.0, -745.0, 40.0, -40.0])
def test_sigmoid_and_tanh_are_finite_at_extremes_without_warnings(z):
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        for op in ("sigmoid", "tanh"):
            x = Value(z)
            out = getattr(x, op)()
            out.backward()
            assert math.isfinite(out.data) and math.isfinite(x.grad) and x.grad >= 0.0
    expected = 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
    assert Value(z).sigmoid().data == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert Value(z).tanh().data == math.copysign(1.0, z)


def test_sigmoid_limits_and_small_tail_precision():
    assert Value(1000).sigmoid().data == 1.0
    assert Value(-1000).sigmoid().data == 0.0
    assert Value(-40).sigmoid().data == pytest.approx(math.exp(-40) / (1 + math.exp(-40)),
                                                      rel=1e-12)
    x = Value(40.0)
    x.sigmoid().backward()  # s(x) s(-x), not s (1 - s) == 0.0 after rounding
    assert x.grad / math.exp(-40) == pytest.approx(1.0, rel=1e-9)


def test_exp_is_finite_up_to_its_limit_and_overflow_is_a_clear_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Value(-1000).exp().data == 0.0
        assert math.isfinite(Value(709.0).exp().data)
    with pytest.raises(OverflowError, match=r"exp\(1000\.0\) overflows"):
        Value(1000).exp()
    with pytest.raises(OverflowError, match="overflow"):
        Value(1e308) * 10
    with pytest.raises(OverflowError, match="overflow"):
        Value(1e200) ** 2


def test_a_gradient_that_overflows_is_a_clear_error_and_leaves_the_grads_alone():
    a, b = Value(1e200), Value(1e-200)
    J = (a * b) * 1e200
    a.grad = b.grad = 7.0
    with pytest.raises(OverflowError, match="backward"):
        J.backward()
    assert (a.grad, b.grad) == (7.0, 7.0)
    (a * b).backward()
    assert (a.grad, b.grad) == (1e-200, 1e200)


@pytest.mark.parametrize("x", [0, -1, -0.5, 0.0])
def test_log_of_a_non_positive_value_says_it_needs_a_positive_input(x):
    with pytest.raises(ValueError, match="positive") as info:
        Value(x).log()
    assert repr(float(x)) in str(info.value)


@pytest.mark.parametrize("bad", ["3", [1.0], None, 1 + 2j, True, np.bool_(True),
                                 np.array([1.0]), Value(1.0)],
                         ids=["str", "list", "None", "complex", "bool", "np.bool_", "array",
                              "Value"])
def test_the_constructor_rejects_non_numbers_with_a_type_error(bad):
    with pytest.raises(TypeError, match="real number"):
        Value(bad)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_the_constructor_rejects_non_finite_numbers(bad):
    with pytest.raises(ValueError, match="finite"):
        Value(bad)


def test_the_constructor_takes_numpy_scalars_and_checks_the_label():
    for good in (np.float32(2.5), np.int64(3), 7, 1.5):
        v = Value(good)
        assert type(v.data) is float and v.data == float(good)
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)


@pytest.mark.parametrize("bad", ["2", Value(2.0), True, None, [2]])
def test_power_needs_a_constant_numeric_exponent(bad):
    with pytest.raises(TypeError, match="constant exponent"):
        Value(3.0) ** bad


def test_power_and_division_errors_say_what_went_wrong():
    with pytest.raises(ValueError, match="fractional power"):
        Value(-2.0) ** 0.5
    with pytest.raises(ZeroDivisionError, match="negative power"):
        Value(0.0) ** -1
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        1.0 / Value(0.0)


@pytest.mark.parametrize("other", ["a", None, [1], True])
def test_arithmetic_with_a_non_number_is_a_type_error(other):
    with pytest.raises(TypeError):
        Value(1.0) + other
    with pytest.raises(TypeError):
        other * Value(1.0)


# -- nudge: the lectures' slope demonstration ---------------------------------------------------

def test_nudge_reproduces_the_seed_numbers_for_a_squared():
    before, after, slope = nudge(lambda a: a ** 2, 2)  # seed: a=2, f=4; a=2.001, f=4.004001
    assert before == 4.0 and after == pytest.approx(4.004001, abs=1e-12)
    assert slope == pytest.approx(4.001, abs=1e-9)  # the seed's "d/da f(a) = 4" plus eps
    assert nudge(lambda a: a ** 2, 5)[2] == pytest.approx(10.001, abs=1e-9)  # seed: 10 at a=5


def test_nudge_reproduces_the_seed_slopes_of_3a_a_cubed_and_ln():
    assert nudge(lambda a: 3 * a, 2)[2] == pytest.approx(3.0, abs=1e-9)
    assert nudge(lambda a: 3 * a, 5)[2] == pytest.approx(3.0, abs=1e-9)
    assert nudge(lambda a: a ** 3, 2)[2] == pytest.approx(12.006001, abs=1e-8)  # 3a^2 = 12
    assert nudge(math.log, 2)[2] == pytest.approx(0.4998750, abs=1e-7)  # 1/a = 0.5
    assert nudge(lambda a: Value(a).log(), 2) == nudge(math.log, 2)


def test_nudge_reproduces_the_computation_graph_lecture():
    assert nudge(lambda v: 3 * v, 11)[:2] == pytest.approx((33.0, 33.003))  # v -> 11.001
    J_of_a = lambda a: 3 * (Value(a) + Value(3) * 2)  # noqa: E731
    before, after, slope = nudge(J_of_a, 5)  # a = 5 -> 5.001: J = 33 -> 33.003
    assert (before, after) == pytest.approx((33.0, 33.003)) and slope == pytest.approx(3.0)


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid"])
def test_nudge_slope_agrees_with_backward(name):
    x = Value(1.3)
    getattr(x, name)().backward()
    slope = nudge(lambda a: getattr(Value(a), name)(), 1.3, eps=1e-6)[2]
    assert slope == pytest.approx(x.grad, rel=1e-5)


def test_nudge_rejects_a_zero_eps_and_non_numbers():
    with pytest.raises(ValueError, match="eps"):
        nudge(math.log, 2, eps=0)
    with pytest.raises(TypeError):
        nudge(lambda a: "x", 2)


# -- draw -------------------------------------------------------------------------------------

def test_draw_writes_a_png_of_the_course_graph(tmp_path):
    pytest.importorskip("matplotlib")
    *_, J = course_graph()
    J.backward()
    path = str(tmp_path / "J.png")
    assert draw(J, path, title="J = 3(a + bc)") == path
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_draw_handles_the_logistic_graph_and_a_node_used_twice(tmp_path):
    pytest.importorskip("matplotlib")
    g = logistic_graph(0.5, -0.25, 0.1, 1.0, 2.0, 1.0)
    g["L"].backward()
    assert 15 <= len(g["L"].nodes()) <= 25
    assert g["L"].draw(tmp_path / "L.png") == tmp_path / "L.png"
    q = Value(3.0, label="q")
    r = q * q + q
    r.backward()
    assert draw(r, tmp_path / "q.png") == tmp_path / "q.png"
    for name in ("L.png", "q.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_draw_layout_puts_inputs_left_the_output_right_and_constants_by_their_op():
    a, b, c, u, v, J = course_graph()
    geo = xpnet.graph._layout(J.nodes())
    column = geo["column"]
    assert column[id(a)] == column[id(b)] == column[id(c)] == 0
    assert (column[id(u)], column[id(v)], column[id(J)]) == (1, 2, 3)
    assert column[id(J.parents[0])] == 2  # the constant 3 sits just left of J's "*"
    xs = {id(n): geo["pos"][id(n)][0] for n in J.nodes()}
    assert max(xs.values()) == xs[id(J)] and min(xs.values()) == xs[id(a)]
    assert all(0.0 < y < geo["height"] for _, y in geo["pos"].values())
    assert (a.parents, b.parents) == ((), ())  # the a -> + edge passes column 1 on a waypoint
    assert (id(v), 0, 1) in geo["pos"]


def test_draw_into_a_missing_folder_names_the_folder(tmp_path):
    pytest.importorskip("matplotlib")
    *_, J = course_graph()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        draw(J, tmp_path / "nowhere" / "J.png")


def test_draw_refuses_unreadable_or_wrong_input(tmp_path):
    x = Value(1.0)
    y = x
    for _ in range(100):
        y = y + x
    with pytest.raises(ValueError, match="max_nodes"):
        draw(y, tmp_path / "big.png")
    with pytest.raises(TypeError, match="Value"):
        draw(3.0, tmp_path / "x.png")


def test_draw_without_matplotlib_notices_once_and_returns_none(tmp_path, monkeypatch, capsys):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.colors",
                 "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    monkeypatch.setitem(plots._state, "warned", False)
    *_, J = course_graph()
    assert draw(J, tmp_path / "J.png") is None
    assert J.draw(tmp_path / "J.png") is None
    assert not (tmp_path / "J.png").exists()
    assert capsys.readouterr().err.count("matplotlib is not installed") == 1


def test_importing_the_graph_module_does_not_import_matplotlib():
    code = "import sys, xpnet.graph; print('matplotlib' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
