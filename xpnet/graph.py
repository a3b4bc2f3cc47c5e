"""A scalar computation graph: reverse-mode autodiff on Python floats, as the course draws it.

The "Computation Graph" lecture computes ``J(a, b, c) = 3(a + bc)`` in three steps,
``u = bc``, ``v = a + u``, ``J = 3v``: the forward pass, left to right. "Derivatives with a
Computation Graph" then goes right to left with the chain rule: ``dJ/dv = 3``,
``dJ/da = dJ/dv * dv/da = 3``, ``dJ/du = 3``, ``dJ/db = dJ/du * du/db = 3 * c = 6``,
``dJ/dc = 3 * b = 9``. Every ``Value`` is one box of that picture:

>>> from xpnet.graph import Value
>>> a, b, c = Value(5, label="a"), Value(3, label="b"), Value(2, label="c")
>>> u = b * c
>>> v = a + u
>>> J = 3 * v
>>> J.data
33.0
>>> J.backward()
>>> a.grad, b.grad, c.grad
(3.0, 6.0, 9.0)
>>> v.grad, u.grad
(3.0, 3.0)

The "dvar" of the course's code is ``var.grad``: the derivative of the final output ``J``
with respect to ``var``.

Logistic regression for one example is the same kind of graph,
``z = w1 x1 + w2 x2 + b``, ``a = sigmoid(z)``, ``L = -(y log a + (1 - y) log(1 - a))``, and the
backward pass gives the lecture's closed forms "dz = a - y", "dw1 = x1 dz", "dw2 = x2 dz",
"db = dz":

>>> x1, x2, y = 1.0, 2.0, 1.0
>>> w1, w2, b = Value(0.5, label="w1"), Value(-0.25, label="w2"), Value(0.1, label="b")
>>> z = w1 * x1 + w2 * x2 + b
>>> a = z.sigmoid()
>>> L = -(y * a.log() + (1 - y) * (1 - a).log())
>>> L.backward()
>>> dz = a.data - y
>>> round(z.grad, 12) == round(dz, 12)
True
>>> round(w1.grad, 12) == round(x1 * dz, 12), round(w2.grad, 12) == round(x2 * dz, 12)
(True, True)
>>> round(b.grad, 12) == round(dz, 12)
True

The "Derivatives" lectures nudge ``a`` by 0.001 and watch ``f(a)`` move by slope * 0.001;
``nudge`` returns ``(f(a), f(a + eps), (f(a + eps) - f(a)) / eps)``:

>>> [round(t, 6) for t in nudge(lambda a: a ** 2, 2)]     # a = 2: 4 -> 4.004001, slope ~4
[4.0, 4.004001, 4.001]
>>> [round(t, 6) for t in nudge(lambda a: 3 * a, 11)]     # v = 11 -> 11.001: J 33 -> 33.003
[33.0, 33.003, 3.0]

``draw(J, "J.png")`` (or ``J.draw("J.png")``) pictures the graph, each node a box
``label | data=.. | grad=..`` with its op and arrows, like the lectures' drawings (matplotlib
only, no graphviz; without matplotlib it prints one notice and returns None).

Conventions (where the course is silent):

- A ``Value`` holds a finite real number as a Python float: ``int``, ``float``, NumPy real
  scalars, ``fractions.Fraction``. ``bool`` (and ``numpy.bool_``), strings, lists, arrays,
  complex numbers and ``Value`` itself raise ``TypeError``; ``nan`` and ``inf`` raise
  ``ValueError``. An operation whose result overflows a float raises ``OverflowError``
  (``Value(1000).exp()``: math.exp's limit is about 709.78), so the graph never holds inf/nan.
- Values and local derivatives are computed when a node is built; changing ``.data`` later
  does not recompute the graph.
- ``backward()`` recomputes the gradients of the whole graph from scratch: calling it twice
  gives the same gradients. ``backward(accumulate=True)`` adds the new gradients to the old
  ones instead (the sum of several outputs' gradients, each contribution counted once).
- ``relu`` has derivative 0 at 0; ``x ** p`` for ``0 < p < 1`` has derivative ``inf`` at 0.
- ``**`` takes a constant exponent only (a number, not a ``Value``); there is no ``2 ** x``.
"""

from __future__ import annotations

import math
import numbers
import sys

from .ops.activations import ReLU, Sigmoid, Tanh

__all__ = ["Value", "nudge", "draw"]

#: The largest x whose exp(x) is a finite float (about 709.78).
EXP_MAX = math.log(sys.float_info.max)


def _real(x, what):
    """``x`` as a finite Python float; TypeError for a non-number, ValueError for nan/inf."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{what} needs a real number (int, float or NumPy real scalar), "
                        f"got {type(x).__name__} {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{what} needs a finite number, got {x!r}")
    return x


def _node(data, op, parents, local):
    """An op's result: ``local[k]`` is d(result)/d(parents[k]) at the current values."""
    if not math.isfinite(data):
        raise OverflowError(f"{op} overflowed: its result {data!r} is not a finite float")
    out = Value.__new__(Value)
    out.data, out.grad, out.label = float(data), 0.0, None
    out.op, out.parents, out._local = op, tuple(parents), tuple(float(d) for d in local)
    return out


def _divide(x, y):
    if y == 0.0:
        raise ZeroDivisionError(f"division by zero: {x!r} / {y!r}")
    return x / y


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp({x!r}) overflows a float (exp needs an input below "
                            f"{EXP_MAX:.2f})") from None


def _log(x):
    if x <= 0.0:
        raise ValueError(f"log needs a positive input, got {x!r}")
    return math.log(x)


def _sigmoid(x):
    """``1 / (1 + e^-x)`` in the split-branch form: no exp of a large positive number."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


#: op -> (forward(x, y), local derivatives (d/dx, d/dy) at x, y)
_BINARY = {
    "+": (lambda x, y: x + y, lambda x, y: (1.0, 1.0)),
    "-": (lambda x, y: x - y, lambda x, y: (1.0, -1.0)),
    "*": (lambda x, y: x * y, lambda x, y: (y, x)),
    "/": (_divide, lambda x, y: (1.0 / y, -(x / y) / y)),
}

#: op -> (forward(x), local derivative at x given the output out)
_UNARY = {
    "neg": (lambda x: -x, lambda x, out: -1.0),
    "exp": (_exp, lambda x, out: out),
    "log": (_log, lambda x, out: 1.0 / x),
    Tanh.name: (math.tanh, lambda x, out: 1.0 - out * out),
    Sigmoid.name: (_sigmoid, lambda x, out: out * _sigmoid(-x)),
    ReLU.name: (lambda x: x if x > 0.0 else 0.0, lambda x, out: 1.0 if x > 0.0 else 0.0),
}


def _exponent(p):
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"** needs a constant exponent (int or float), got {type(p).__name__} "
                        f"{p!r}")
    p = int(p) if isinstance(p, numbers.Integral) else float(p)
    if not math.isfinite(p):
        raise ValueError(f"** needs a finite exponent, got {p!r}")
    return p


def _power(x, p):
    try:
        out = x ** p
    except ZeroDivisionError:
        raise ZeroDivisionError(f"0.0 cannot be raised to the negative power {p!r}") from None
    except OverflowError:
        raise OverflowError(f"{x!r} ** {p!r} overflows a float") from None
    if isinstance(out, complex):
        raise ValueError(f"a negative number to a fractional power is not real: {x!r} ** {p!r}")
    return out


def _power_local(x, p):
    """``d/dx x**p = p x**(p-1)``: 0 for p = 0, inf at x = 0 for 0 < p < 1."""
    if p == 0:
        return 0.0
    if x == 0.0 and p < 1:
        return math.inf
    try:
        return p * x ** (p - 1)
    except OverflowError:
        raise OverflowError(f"the derivative of x ** {p!r} at x = {x!r} overflows a "
                            f"float") from None


def _as_value(x):
    """``x`` itself if a Value, a constant leaf for a plain number, None for anything else."""
    if isinstance(x, Value):
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    return Value(x)


def _fmt(x):
    return f"{x + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0


class Value:
    """One node of a scalar computation graph: its number, its gradient and where it came from.

    ``Value(data, label=None)``. Attributes: ``data`` (the float computed in the forward pass),
    ``grad`` (d output / d this node after ``output.backward()``; 0.0 before), ``parents`` (the
    nodes it was computed from, a tuple), ``op`` (``"+"``, ``"-"``, ``"*"``, ``"/"``, ``"neg"``,
    ``"**3"``, ``"exp"``, ``"log"``, ``"tanh"``, ``"sigmoid"``, ``"relu"``; ``""`` for an input)
    and ``label`` (a name for pictures and ``repr``; assign it freely, ``u.label = "u"``).

    The course's example, ``J = 3(a + bc)`` at ``a, b, c = 5, 3, 2``:

    >>> a, b, c = Value(5), Value(3), Value(2)
    >>> u = b * c
    >>> v = a + u
    >>> J = 3 * v
    >>> J.label = "J"
    >>> J.backward()
    >>> J
    Value(data=33.0, grad=1.0, label='J')
    >>> a.grad, b.grad, c.grad, u.grad, v.grad
    (3.0, 6.0, 9.0, 3.0, 3.0)

    And logistic regression for one example, ``dz = a - y``, ``dw1 = x1 dz``, ``db = dz``:

    >>> w1, w2, b, x1, x2, y = Value(0.3), Value(-0.2), Value(0.1), 2.0, 1.0, 0.0
    >>> z = w1 * x1 + w2 * x2 + b
    >>> a = z.sigmoid()
    >>> L = -(y * a.log() + (1 - y) * (1 - a).log())
    >>> L.backward()
    >>> dz = a.data - y
    >>> abs(z.grad - dz) < 1e-12, abs(w1.grad - x1 * dz) < 1e-12, abs(b.grad - dz) < 1e-12
    (True, True, True)

    Plain numbers mix in on either side (``3 * v``, ``1 - a``, ``2 / x``) as constant leaves;
    ``**`` takes a constant exponent (``x ** 2``, ``x ** -1``, ``x ** 0.5``).
    """

    __slots__ = ("data", "grad", "label", "op", "parents", "_local")
    __array_ufunc__ = None  # NumPy scalars on the left defer to Value (np.float64(3) * v)

    def __init__(self, data, label=None):
        if label is not None and not isinstance(label, str):
            raise TypeError(f"Value's label must be a str or None, got {type(label).__name__}")
        self.data = _real(data, "Value")
        self.grad = 0.0
        self.label = label
        self.op = ""
        self.parents = ()
        self._local = ()

    def __repr__(self):
        label = "" if self.label is None else f", label={self.label!r}"
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    # -- arithmetic ---------------------------------------------------------------------------

    def _binary(self, other, op, swap=False):
        other = _as_value(other)
        if other is None:
            return NotImplemented
        x, y = (other, self) if swap else (self, other)
        forward, local = _BINARY[op]
        return _node(forward(x.data, y.data), op, (x, y), local(x.data, y.data))

    def _unary(self, op):
        forward, local = _UNARY[op]
        out = forward(self.data)
        return _node(out, op, (self,), (local(self.data, out),))

    def __add__(self, other):
        return self._binary(other, "+")

    def __radd__(self, other):
        return self._binary(other, "+", swap=True)

    def __sub__(self, other):
        return self._binary(other, "-")

    def __rsub__(self, other):
        return self._binary(other, "-", swap=True)

    def __mul__(self, other):
        return self._binary(other, "*")

    def __rmul__(self, other):
        return self._binary(other, "*", swap=True)

    def __truediv__(self, other):
        return self._binary(other, "/")

    def __rtruediv__(self, other):
        return self._binary(other, "/", swap=True)

    def __neg__(self):
        return self._unary("neg")

    def __pow__(self, exponent):
        p = _exponent(exponent)
        return _node(_power(self.data, p), f"**{p:g}", (self,), (_power_local(self.data, p),))

    def exp(self):
        """``e^x``; OverflowError above x = 709.78 (the result would not be a finite float)."""
        return self._unary("exp")

    def log(self):
        """The natural log ``ln x``; ValueError for x <= 0."""
        return self._unary("log")

    def tanh(self):
        """``tanh x`` (math.tanh: finite for any x); derivative ``1 - tanh(x)^2``."""
        return self._unary(Tanh.name)

    def sigmoid(self):
        """``1 / (1 + e^-x)``, split-branch (finite for any x); derivative ``s(x) s(-x)``."""
        return self._unary(Sigmoid.name)

    def relu(self):
        """``max(0, x)``; derivative 1 for x > 0, else 0 (0 at x = 0)."""
        return self._unary(ReLU.name)

    # -- the backward pass --------------------------------------------------------------------

    def nodes(self):
        """Every node this one depends on, itself last, each after all of its parents.

        Iterative depth-first search: a 10,000-node chain needs no recursion."""
        order, seen, stack = [], {id(self)}, [(self, iter(self.parents))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((parent, iter(parent.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
        return order

    def backward(self, accumulate=False):
        """Set ``node.grad`` = d self / d node for every node of the graph (self's grad is 1).

        Right to left in reverse topological order, with the chain rule: a node's gradient is
        the sum over its uses of (the user's gradient) * (the local derivative), so a node used
        twice (``a * a``, ``a + a``) gets both contributions. The gradients are computed from
        scratch, so calling ``backward()`` twice gives the same gradients; with
        ``accumulate=True`` they are added to the gradients already there."""
        order = self.nodes()
        grads = {id(self): 1.0}
        for node in reversed(order):
            g = grads.get(id(node), 0.0)
            if g == 0.0:
                continue
            for parent, local in zip(node.parents, node._local):
                total = grads.get(id(parent), 0.0) + g * local
                if not math.isfinite(total):
                    raise OverflowError(
                        f"backward() overflowed: the gradient reaching {parent!r} through "
                        f"{node.op or 'an input'} is {total!r}, not a finite float (scale the "
                        "computation's numbers down)")
                grads[id(parent)] = total
        for node in order:
            g = grads.get(id(node), 0.0)
            node.grad = node.grad + g if accumulate else g

    def zero_grad(self):
        """Set the gradient of every node of this graph to 0.0."""
        for node in self.nodes():
            node.grad = 0.0

    def draw(self, path, title=None, max_nodes=60):
        """``draw(self, path, title, max_nodes)``: a PNG picture of the graph; see ``draw``."""
        return draw(self, path, title=title, max_nodes=max_nodes)


def nudge(f, a, eps=1e-3):
    """The course's slope demonstration: ``(f(a), f(a + eps), (f(a + eps) - f(a)) / eps)``.

    Nudge ``a`` by ``eps`` (0.001 as in the lectures) and ``f`` moves by about slope * eps.
    ``f`` takes a float and returns a number or a ``Value`` (its ``.data`` is used), so both
    ``nudge(math.log, 2)`` and ``nudge(lambda a: Value(a).log(), 2)`` work.

    >>> [round(t, 6) for t in nudge(lambda a: a ** 3, 2)]   # d/da a^3 = 3a^2 = 12
    [8.0, 8.012006, 12.006001]
    >>> round(nudge(math.log, 2)[2], 4)                     # d/da ln a = 1/a = 0.5
    0.4999
    """
    a, eps = _real(a, "nudge's a"), _real(eps, "nudge's eps")
    if eps == 0.0:
        raise ValueError("nudge needs a nonzero eps")
    before, after = _output(f(a)), _output(f(a + eps))
    return before, after, (after - before) / eps


def _output(y):
    return y.data if isinstance(y, Value) else _real(y, "nudge's f(a)")


# -- the picture ------------------------------------------------------------------------------

_CHAR_W = 0.6 * 8 / 72  # inches per character of the 8-point monospace box text
_ROW_H = 0.85
_BOX_H = 0.46
_OP_H = 0.4
_EDGE = "#555555"
_COLORS = {"input": "#dbe9f6", "node": "#f4f4f4", "output": "#d9f0d3", "op": "#fde0c5"}


def draw(output, path, title=None, max_nodes=60):
    """Write a PNG picture of the graph that ends at ``output``; return ``path``.

    Each node is a box ``label | data=.. | grad=..``; the op that made it (``+``, ``*``,
    ``sigmoid``...) sits in a small box on its left, with arrows from the operands. Columns
    follow the depth from the inputs: labelled inputs in the first column, the output in the
    last; an unlabelled input (a constant such as the 3 of ``3 * v``) sits just left of the op
    that uses it. Drawn with matplotlib's Agg canvas (no graphviz, no display); without
    matplotlib, prints one notice and returns None. More than ``max_nodes`` nodes raise
    ValueError: such a picture is unreadable (the layout is made for about 20)."""
    if not isinstance(output, Value):
        raise TypeError(f"draw needs a Value, got {type(output).__name__}")
    order = output.nodes()
    if len(order) > max_nodes:
        raise ValueError(f"the graph has {len(order)} nodes, more than max_nodes={max_nodes} "
                         f"that a picture can show readably")
    from . import plots
    mpl = plots._matplotlib()
    if mpl is None:
        return None
    Figure = mpl[0]
    geo = _layout(order)
    fig, ax = _figure(Figure, geo, title)
    for node in order:
        _draw_node(ax, node, geo, node is output)
    return plots._save(fig, path)


def _figure(figure_class, geo, title):
    """A figure whose data units are inches (one axes over all of it, no ticks), titled."""
    height = geo["height"] + (0.4 if title else 0.0)
    fig = figure_class(figsize=(geo["width"], height))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, geo["width"])
    ax.set_ylim(0.0, height)
    ax.set_axis_off()
    if title:
        ax.text(geo["width"] / 2, geo["height"] + 0.15, title, ha="center", va="center",
                fontsize=11, fontweight="bold")
    return fig, ax


def _box_text(node):
    text = f"data={_fmt(node.data)} | grad={_fmt(node.grad)}"
    return text if node.label is None else f"{node.label} | {text}"


def _columns(order):
    """node id -> column: depth from the inputs; an unlabelled input next to its first use."""
    depth, first_use = {}, {}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(p)] for p in node.parents), default=-1)
        for parent in node.parents:
            first_use.setdefault(id(parent), node)
    for node in order:
        if not node.parents and node.label is None and id(node) in first_use:
            depth[id(node)] = depth[id(first_use[id(node)])] - 1
    return depth, first_use


def _slots(order, column):
    """Per column, the items it holds: node ids, and a waypoint ``(node id, k, column)`` of
    each edge ``parents[k] -> node`` that passes through it (so no edge crosses a box)."""
    cols = [[] for _ in range(1 + max(column.values()))]
    preds = {}
    for node in order:
        cols[column[id(node)]].append(id(node))
        preds[id(node)] = []
        for k, parent in enumerate(node.parents):
            prev = id(parent)
            for c in range(column[id(parent)] + 1, column[id(node)]):
                cols[c].append((id(node), k, c))
                preds[(id(node), k, c)] = [prev]
                prev = (id(node), k, c)
            preds[id(node)].append(prev)
    return cols, preds


def _rank_column(items, preds, rank, user_preds):
    """Sort one column by the mean row of each item's predecessors (the barycenter rule); an
    item without any (an input) keeps its place, a constant goes beside its op's operands."""
    keys = {}
    for item in items:
        rows = [rank[p] for p in preds.get(item, ()) if p in rank]
        if rows:
            keys[item] = sum(rows) / len(rows)
    for i, item in enumerate(items):
        if item not in keys:
            near = [keys[p] for p in user_preds.get(item, ()) if p in keys]
            keys[item] = min(near) - 0.5 if near else i - (len(items) - 1) / 2
    items.sort(key=keys.__getitem__)
    for i, item in enumerate(items):
        rank[item] = i - (len(items) - 1) / 2


def _layout(order):
    """Positions (inches, bottom-left origin) of every node's box and every edge waypoint."""
    column, first_use = _columns(order)
    cols, preds = _slots(order, column)
    user_preds = {i: preds[id(user)] for i, user in first_use.items()}
    rank = {}
    for items in cols:
        _rank_column(items, preds, rank, user_preds)
    box_w = _CHAR_W * max(len(_box_text(n)) for n in order) + 0.3
    op_w = _CHAR_W * max([len(n.op) for n in order] + [1]) + 0.25
    gap = op_w + 0.9
    height = _ROW_H * max(len(items) for items in cols) + 0.3
    pos = {}
    for c, items in enumerate(cols):  # column 0 holds inputs only: no op boxes on its left
        for item in items:
            pos[item] = (0.3 + c * (box_w + gap) + box_w / 2, height / 2 - _ROW_H * rank[item])
    return {"pos": pos, "column": column, "box_w": box_w, "op_w": op_w, "gap": gap,
            "height": height, "width": 0.6 + len(cols) * (box_w + gap) - gap}


def _draw_node(ax, node, geo, is_output):
    from matplotlib.patches import FancyBboxPatch
    x, y = geo["pos"][id(node)]
    w, h = geo["box_w"], _BOX_H
    kind = "output" if is_output else ("node" if node.parents else "input")
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02",
                                facecolor=_COLORS[kind], edgecolor="#444444", linewidth=0.8))
    ax.text(x, y, _box_text(node), ha="center", va="center", fontsize=8, family="monospace")
    if node.parents:
        _draw_op(ax, node, geo, FancyBboxPatch)


def _draw_op(ax, node, geo, patch_class):
    x, y = geo["pos"][id(node)]
    ox, ow, half = x - geo["box_w"] / 2 - geo["gap"] / 2, geo["op_w"], geo["box_w"] / 2
    ax.add_patch(patch_class((ox - ow / 2, y - _OP_H / 2), ow, _OP_H, boxstyle="round,pad=0.02",
                             facecolor=_COLORS["op"], edgecolor="#aa6633", linewidth=0.8))
    ax.text(ox, y, node.op, ha="center", va="center", fontsize=8, family="monospace")
    _arrow(ax, (ox + ow / 2, y), (x - half, y), 0.0)
    uses = {}
    for k, parent in enumerate(node.parents):
        px, py = geo["pos"][id(parent)]
        points = [(px + half, py)]
        for c in range(geo["column"][id(parent)] + 1, geo["column"][id(node)]):
            wx, wy = geo["pos"][(id(node), k, c)]
            points += [(wx - half, wy), (wx + half, wy)]
        uses[id(parent)] = uses.get(id(parent), -1) + 1  # a parent used twice: two arcs
        ax.plot([p[0] for p in points], [p[1] for p in points], color=_EDGE, linewidth=0.9)
        _arrow(ax, points[-1], (ox - ow / 2, y), 0.3 * uses[id(parent)])


def _arrow(ax, start, end, rad):
    ax.annotate("", xy=end, xytext=start,
                arrowprops={"arrowstyle": "-|>", "color": _EDGE, "linewidth": 0.9,
                            "shrinkA": 0, "shrinkB": 1, "connectionstyle": f"arc3,rad={rad}"})
