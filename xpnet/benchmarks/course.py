"""The course's own vectorization examples, each against its for-loop version.

- ``dot``: ``c = a . b`` of two 1,000,000-element vectors (the course: about 1.5 ms
  vectorized against 400-500 ms with ``for i in range(n): c += a[i] * b[i]``);
- ``matvec``: ``u = A v`` (``u[i] += A[i][j] * v[j]`` in two loops);
- ``exp``: ``u = exp(v)`` elementwise (``u[i] = math.exp(v[i])``);
- ``logreg-grad``: the logistic-regression gradient over ``m`` examples, the course's two-loop
  algorithm against ``Z = w^T X + b``, ``A = sigma(Z)``, ``dZ = A - Y``, ``dw = X dZ^T / m``,
  ``db = sum(dZ) / m`` (and the cost ``J``).

Float64, like the course's ``np.random.rand``.
"""

from __future__ import annotations

from ..kernels import loops as K
from ..network.logistic import BCE
from ..ops import losses
from ..ops.activations import linear_activation_forward
from .registry import Group, Sizes, register

DTYPE = "float64"
LOGREG_FEATURES = 100


# ----------------------------------------------------------------------------- dot product
def _dot_inputs(n, rng):
    return {"a": rng.random(n), "b": rng.random(n)}


def _dot_backend(bk, inputs):
    # The row vector a^T (1, n) times the column b (n, 1), in the backend's one matmul op.
    a = bk.asarray(inputs["a"].reshape(1, -1), dtype=DTYPE)
    b = bk.asarray(inputs["b"].reshape(-1, 1), dtype=DTYPE)
    return lambda: bk.matmul(a, b)


def _dot_loops(inputs):
    a, b = inputs["a"], inputs["b"]
    return lambda: K.dot(a, b)


def _dot_torch(inputs, device):
    import torch

    a = torch.from_numpy(inputs["a"]).to(device)
    b = torch.from_numpy(inputs["b"]).to(device)
    return lambda: torch.dot(a, b)


register(Group(
    name="dot", title="dot product c = a . b of two vectors", unit="element", dtype=DTYPE,
    scales=Sizes(full=1_000_000, quick=1_000_000),
    loops_scales=Sizes(full=1_000_000, quick=200_000),
    make_inputs=_dot_inputs, backend_work=_dot_backend, loops_work=_dot_loops,
    describe=lambda n: f"a, b ({n},)", peers={"torch": _dot_torch}))


# ---------------------------------------------------------------------- matrix times vector
def _matvec_inputs(n, rng):
    return {"A": rng.random((n, n)), "v": rng.random((n, 1))}


def _matvec_backend(bk, inputs):
    A = bk.asarray(inputs["A"], dtype=DTYPE)
    v = bk.asarray(inputs["v"], dtype=DTYPE)
    return lambda: bk.matmul(A, v)


def _matvec_torch(inputs, device):
    import torch

    A = torch.from_numpy(inputs["A"]).to(device)
    v = torch.from_numpy(inputs["v"][:, 0]).to(device)
    return lambda: torch.mv(A, v)


register(Group(
    name="matvec", title="u = A v, matrix times vector", unit="multiply-add", dtype=DTYPE,
    scales=Sizes(full=2048, quick=1024), loops_scales=Sizes(full=512, quick=128),
    items=lambda n: n * n, make_inputs=_matvec_inputs, backend_work=_matvec_backend,
    describe=lambda n: f"A ({n}, {n}), v ({n}, 1)", peers={"torch": _matvec_torch}))


# --------------------------------------------------------------------------- elementwise exp
def _exp_inputs(n, rng):
    return {"v": rng.standard_normal(n)}


def _exp_backend(bk, inputs):
    v = bk.asarray(inputs["v"], dtype=DTYPE)
    return lambda: bk.exp(v)


register(Group(
    name="exp", title="u = exp(v), elementwise over a vector", unit="element", dtype=DTYPE,
    scales=Sizes(full=1_000_000, quick=1_000_000),
    loops_scales=Sizes(full=200_000, quick=20_000),
    make_inputs=_exp_inputs, backend_work=_exp_backend, describe=lambda n: f"v ({n},)"))


# ----------------------------------------------------------- logistic-regression gradient
def _logreg_inputs(m, rng):
    n_x = LOGREG_FEATURES
    return {"X": rng.standard_normal((n_x, m)),
            "Y": (rng.random((1, m)) < 0.5).astype(DTYPE),
            "w": rng.standard_normal((n_x, 1)) * 0.01, "b": 0.1}


def _logreg_backend(bk, inputs):
    """``dw^T = dZ X^T / m`` (the course's ``dw = X dZ^T / m``, transposed), ``db`` and ``J``.

    The work returns ``(dw^T (1, n_x), db (1, 1), J)``, like the loops version's ``(dw, db, J)``.
    """
    n_x = inputs["X"].shape[0]
    X = bk.asarray(inputs["X"], dtype=DTYPE)
    Y = bk.asarray(inputs["Y"], dtype=DTYPE)
    wT = bk.asarray(inputs["w"].T, dtype=DTYPE)
    b = bk.asarray([[inputs["b"]]], dtype=DTYPE)
    dwT = bk.zeros((1, n_x), dtype=DTYPE)
    db = bk.zeros((1, 1), dtype=DTYPE)

    def work():
        Z, A = linear_activation_forward(bk, wT, X, b, BCE.output)
        J = losses.value(bk, BCE, Z, A, Y)
        dZ = bk.subtract(A, Y)
        bk.linear_backward(dZ, X, wT, dwT, db, need_dA_prev=False)
        return dwT, db, J
    return work


def _logreg_loops(inputs):
    X, Y, w, b = inputs["X"], inputs["Y"], inputs["w"], inputs["b"]
    return lambda: K.logreg_gradient_loops(X, Y, w, b)


register(Group(
    name="logreg-grad", title="logistic-regression gradient dw, db and cost J over m examples",
    unit="example", dtype=DTYPE,
    scales=Sizes(full=50_000, quick=10_000), loops_scales=Sizes(full=2_000, quick=200),
    make_inputs=_logreg_inputs, backend_work=_logreg_backend, loops_work=_logreg_loops,
    describe=lambda m: f"X ({LOGREG_FEATURES}, {m}), w ({LOGREG_FEATURES}, 1)"))
