"""``xpnet gradcheck``: the course's gradient check on a small random network.

Builds ``--layers`` (default 4,5,3,1) with random inputs ``X (n[0], m)`` and targets ``Y``,
compares backpropagation with two-sided differences over ``theta`` in float64 and prints
``||dtheta_approx - dtheta|| / (||dtheta_approx|| + ||dtheta||)`` overall and per parameter.
Exit code 0 when it is below ``--threshold`` (default 1e-7), 1 otherwise.
"""

from __future__ import annotations


import numpy as np

from ..cli import CLIError
from ..ops import ACTIVATIONS, LOSSES
from ..ops.activations import ReLU, hidden_activations
from ..ops.losses import default_loss
from ._options import backend, hidden_sizes, keep_prob, nonneg_float, positive_float
from ._options import positive_int, seed

#: Output activations with a loss, from the registry (sigmoid, softmax, linear).
OUTPUTS = tuple(dict.fromkeys(d.output for d in LOSSES.values()))


def add_parser(subparsers):
    p = subparsers.add_parser(
        "gradcheck", help="check backpropagation against numerical gradients",
        description=__doc__.split("\n\n", 1)[1].replace("``", ""))
    p.add_argument("--layers", type=hidden_sizes, default=(4, 5, 3, 1), metavar="SIZES",
                   help="layer sizes n[0],...,n[L] (default: 4,5,3,1)")
    p.add_argument("--activation", choices=hidden_activations(), default=ReLU.name,
                   help="hidden activation (default: relu)")
    p.add_argument("--output", choices=OUTPUTS, default=None,
                   help="output activation (default: sigmoid for one unit, else softmax)")
    p.add_argument("--samples", type=positive_int, default=10, metavar="M",
                   help="examples m (default: 10)")
    p.add_argument("--l2", type=nonneg_float, default=0.0, metavar="LAMBDA",
                   help="L2 lambda (default: 0)")
    p.add_argument("--keep-prob", type=keep_prob, default=1.0, metavar="P",
                   help="dropout keep probability, masks frozen (default: 1)")
    p.add_argument("--batch-norm", action="store_true", help="batch norm in hidden layers")
    p.add_argument("--epsilon", type=positive_float, default=1e-7, metavar="EPS",
                   help="the finite-difference step (default: 1e-7)")
    p.add_argument("--threshold", type=positive_float, default=1e-7, metavar="T",
                   help="largest difference that passes (default: 1e-7)")
    p.add_argument("--seed", type=seed, default=1, metavar="N", help="random seed (default: 1)")
    p.add_argument("--backend", type=backend, default=None, metavar="NAME",
                   help="backend (default: XPNET_BACKEND, else auto)")
    return p


def run(args):
    from ..backends import resolve
    from ..network import Architecture
    from ..network.gradcheck import gradient_check
    dims = tuple(args.layers)
    if len(dims) < 2:
        raise CLIError(f"--layers needs at least an input and an output size, got {dims}")
    output = args.output or default_loss("binary" if dims[-1] == 1 else "multiclass").output
    if ACTIVATIONS[output].columnwise and dims[-1] < 2:
        raise CLIError("a softmax output needs at least 2 units; end --layers with 2 or more")
    bk = resolve(args.backend)
    arch = Architecture(dims, args.activation, output, batch_norm=args.batch_norm,
                        keep_prob=args.keep_prob)
    X, Y = _data(dims, output, args.samples, args.seed)
    diff, approx, grad = gradient_check(X, Y, arch, epsilon=args.epsilon, l2=args.l2,
                                        seed=args.seed, backend=bk, return_vectors=True)
    print(f"network: {' -> '.join(map(str, dims))} ({args.activation} hidden, {output} output"
          f"{', batch norm' if args.batch_norm else ''}"
          f"{f', keep_prob {args.keep_prob}' if args.keep_prob != 1.0 else ''}"
          f"{f', L2 {args.l2:g}' if args.l2 else ''}); m = {args.samples}; "
          f"backend {bk.name}, float64; epsilon {args.epsilon:g}")
    print(f"{'parameter':<10} {'shape':>10}  relative difference")
    for name, shape, d in _per_parameter(arch, approx, grad):
        print(f"{name:<10} {str(shape):>10}  {d:.3e}")
    ok = diff < args.threshold
    print(f"relative difference {diff:.3e}: {_verdict(diff, args.threshold)}")
    if not ok and ACTIVATIONS[args.activation].kinked:
        print("note: a ReLU kink (some Z exactly 0, e.g. with dropout and zero biases) also "
              "inflates the difference; compare with --activation tanh")
    return 0 if ok else 1


def _data(dims, output, m, seed_value):
    """Random ``X (n[0], m)`` and targets of the kind ``output``'s default loss fits."""
    rng = np.random.default_rng(seed_value)
    X = rng.standard_normal((dims[0], m))
    kind = next(k for k in ("binary", "multiclass", "regression")
                if default_loss(k).output == output)
    if kind == "regression":
        Y = rng.standard_normal((dims[-1], m))
    elif kind == "multiclass":
        Y = np.eye(dims[-1])[rng.integers(0, dims[-1], m)].T
    else:
        Y = rng.integers(0, 2, (dims[-1], m)).astype(np.float64)
    return X, Y


def _per_parameter(arch, approx, grad):
    """``(name, shape, relative difference)`` for each parameter block of ``theta``."""
    out, start = [], 0
    for name, shape in arch.layout():
        size = int(np.prod(shape))
        a, g = approx[start:start + size], grad[start:start + size]
        denom = np.linalg.norm(a) + np.linalg.norm(g)
        out.append((name, shape, float(np.linalg.norm(a - g) / denom) if denom else 0.0))
        start += size
    return out


def _verdict(diff, threshold=1e-7):
    """The reading of ``diff``: passed or not against ``threshold``, then the course's scale."""
    if diff >= threshold:
        return (f"FAILED: above the threshold {threshold:g} "
                f"({_scale(diff) if diff >= 1e-7 else 'fine by the course scale, but the '}"
                f"{'' if diff >= 1e-7 else 'threshold asks for less'})")
    return _scale(diff)


def _scale(diff):
    """The course's reading: < 1e-7 great, < 1e-5 fine, < 1e-3 suspicious, else wrong."""
    if diff < 1e-7:
        return "great, backpropagation matches the numerical gradient"
    if diff < 1e-5:
        return "probably fine, but look closer"
    if diff < 1e-3:
        return "suspicious: check the backward pass"
    return "wrong: backpropagation has a bug"
