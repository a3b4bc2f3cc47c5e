"""``xpnet predict MODEL DATA``: predictions of a saved model as CSV (stdout or ``--out``).

``DATA`` is a CSV file with a header row, an NPZ file with ``X``, or a dataset name. The
model's columns are found by the names it was trained on, in any order; one more column is
the target and is left out (``--target`` names it; without names: the last column). The output
has a ``prediction`` column (one per output for multi-output regression) and, with ``--proba``,
one ``proba_<class>`` column per class.
"""

from __future__ import annotations

import csv
import io
import sys

import numpy as np

from ..cli import CLIError
from ._options import backend


def add_parser(subparsers):
    p = subparsers.add_parser(
        "predict", help="predict with a saved model; writes CSV",
        description=__doc__.split("\n\n", 1)[1].replace("``", ""))
    p.add_argument("model", metavar="MODEL", help="a model.npz saved by `xpnet train`")
    p.add_argument("data", metavar="DATA", help="CSV (header row), NPZ (X) or a dataset name")
    p.add_argument("--target", metavar="COLUMN",
                   help="a CSV column to leave out (the target, if the file has it)")
    p.add_argument("--out", metavar="FILE", help="write the CSV here instead of stdout")
    p.add_argument("--proba", action="store_true",
                   help="add class probabilities (classification models)")
    p.add_argument("--backend", type=backend, metavar="NAME",
                   help="backend to run the model on (default: the one it was saved with)")
    return p


def run(args):
    from ..report import is_regression
    from ._common import load_data, load_model, write_atomic
    model = load_model(args.model, backend=args.backend)
    table = load_data(args.data, target=args.target, need_target=False, model=model)
    check_width(table, model)
    if args.proba and is_regression(model):
        raise CLIError("--proba is for classification models; this model does regression")
    text = predictions_csv(model, table.X, proba=args.proba)
    if args.out:
        write_atomic(args.out, text)
        print(f"wrote {table.n_samples} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def check_width(table, model):
    """The data must have exactly the model's number of input features."""
    if table.n_features != model.n_features_in_:
        names = ", ".join(table.feature_names[:6]) + (", ..." if table.n_features > 6 else "")
        hint = ("name the target column with --target COLUMN so it is left out"
                if table.n_features == model.n_features_in_ + 1
                else "pass data with the columns the model was trained on")
        raise CLIError(f"{table.source} has {table.n_features} feature columns ({names}) but "
                       f"the model takes {model.n_features_in_}; {hint}")


def predictions_csv(model, X, proba=False):
    """The predictions of ``model`` on ``X (n_samples, n_features)`` as CSV text."""
    from ..report import is_regression
    pred = np.asarray(model.predict(X))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if is_regression(model):
        pred = pred.reshape(pred.shape[0], -1)
        header = (["prediction"] if pred.shape[1] == 1
                  else [f"prediction_{k + 1}" for k in range(pred.shape[1])])
        writer.writerow(header)
        writer.writerows([[repr(float(v)) for v in row] for row in pred])
        return buffer.getvalue()
    columns = [[_label(v) for v in pred]]
    header = ["prediction"]
    if proba:
        P = model.predict_proba(X)
        header += [f"proba_{_label(c)}" for c in model.classes_]
        columns += [[f"{p:.6g}" for p in P[:, k]] for k in range(P.shape[1])]
    writer.writerow(header)
    writer.writerows(zip(*columns))
    return buffer.getvalue()


def _label(value):
    return str(value.item() if isinstance(value, np.generic) else value)
