"""The computation graph: ``J = 3(a + bc)`` forward and backward, and logistic regression.

Reproduces "Computation Graph" and "Derivatives with a Computation Graph" of seed 000 (and
seed 004's ``J(x, y, z) = 4(x + yz)``): ``u = bc``, ``v = a + u``, ``J = 3v`` at a, b, c =
5, 3, 2 gives v = 11 and J = 33; going back with the chain rule, dJ/dv = 3, dJ/du = 3,
dJ/da = 3, dJ/db = 3 c = 6, dJ/dc = 3 b = 9. ``xpnet.graph.Value`` builds the graph and
``backward()`` fills every ``grad``; ``xpnet.graph.nudge`` repeats the lectures' nudges (a = 2
to 2.001 moves a^2 from 4 to 4.004001; v = 11 to 11.001 moves J from 33 to 33.003); the
graph of one logistic-regression example shows dz = a - y, dw1 = x1 dz, db = dz. Both graphs
are drawn with ``Value.draw``.

Run:  XPNET_BACKEND=numpy python examples/12_computation_graph.py [--out DIR] [--quick]
"""

from __future__ import annotations

from _common import out_path, parse_args, table, wrote
from xpnet.graph import Value, draw, nudge

#: The derivatives the lecture computes by hand (seed 000).
SEED_GRADS = {"J": 1, "v": 3, "u": 3, "a": 3, "b": 6, "c": 9}


def main(argv=None):
    args = parse_args(__doc__, argv)

    a, b, c = Value(5, label="a"), Value(3, label="b"), Value(2, label="c")
    u = b * c
    u.label = "u"
    v = a + u
    v.label = "v"
    J = 3 * v
    J.label = "J"
    J.backward()
    nodes = {"J": J, "v": v, "u": u, "a": a, "b": b, "c": c}
    print("J = 3 (a + b c) at a = 5, b = 3, c = 2:  u = b c, v = a + u, J = 3 v")
    print(f"J = {J.data:g}   (u = {u.data:g}, v = {v.data:g})\n")
    table(["node", "value", "dJ/dnode (seed)", "dJ/dnode (xpnet)"],
          [[name, node.data, SEED_GRADS[name], node.grad] for name, node in nodes.items()])
    wrote(J.draw(out_path(args, "graph_J.png"), title="J = 3(a + bc): data and grad"))

    # --- the seed 004 variant: J(x, y, z) = 4 (x + y z), dJ/dx = 4, dJ/dy = 4z, dJ/dz = 4y
    x, yy, z = Value(1.0, label="x"), Value(2.0, label="y"), Value(3.0, label="z")
    J4 = 4 * (x + yy * z)
    J4.backward()
    print(f"J(x, y, z) = 4 (x + y z) at (1, 2, 3): J = {J4.data:g}")
    print(f"dJ/dx = {x.grad:g} (4), dJ/dy = {yy.grad:g} (4z = 12), dJ/dz = {z.grad:g} "
          "(4y = 8)\n")

    # --- nudges: f(a) moves by about slope * 0.001
    rows = []
    for name, f, at, slope in (("f(a) = 3a", lambda t: 3 * t, 2.0, "3"),
                               ("f(a) = a^2", lambda t: t ** 2, 2.0, "2a = 4"),
                               ("f(a) = a^2", lambda t: t ** 2, 5.0, "2a = 10"),
                               ("J(v) = 3v", lambda t: 3 * t, 11.0, "3")):
        before, after, measured = nudge(f, at)
        rows.append([name, at, at + 0.001, round(before, 6), round(after, 6), round(measured, 4),
                     slope])
    table(["function", "a", "a + 0.001", "f(a)", "f(a + 0.001)", "(difference) / 0.001",
           "derivative"], rows, title="nudge(f, a, eps=0.001)", digits=8)

    # --- logistic regression for one example
    x1, x2, y = 1.0, 2.0, 1.0
    w1, w2, bias = Value(0.5, label="w1"), Value(-0.25, label="w2"), Value(0.1, label="b")
    zz = w1 * x1 + w2 * x2 + bias
    zz.label = "z"
    act = zz.sigmoid()
    act.label = "a"
    loss = -(y * act.log() + (1 - y) * (1 - act).log())
    loss.label = "L"
    loss.backward()
    dz = act.data - y
    table(["derivative", "graph (backward)", "closed form", "formula"],
          [["dL/dz", zz.grad, dz, "a - y"], ["dL/dw1", w1.grad, x1 * dz, "x1 dz"],
           ["dL/dw2", w2.grad, x2 * dz, "x2 dz"], ["dL/db", bias.grad, dz, "dz"]],
          title=f"one logistic-regression example: x = ({x1:g}, {x2:g}), y = {y:g}, "
                f"w = (0.5, -0.25), b = 0.1\n-> a = {act.data:.6f}, L = {loss.data:.6f}",
          digits=8)
    wrote(draw(loss, out_path(args, "graph_logistic.png"),
               title="logistic regression, one example"))


if __name__ == "__main__":
    main()
