"""``xpnet evaluate MODEL DATA``: the metrics of a saved model on labeled data.

``DATA`` is a CSV file with a header row (the target column: ``--target``, default the last
one), an NPZ file with ``X`` and ``y``, or a dataset name. Prints accuracy and the confusion
matrix for a classifier, R^2, MSE and MAE for a regressor; ``--json`` prints them as JSON.
"""

from __future__ import annotations

import json

import numpy as np

from ..cli import CLIError
from ._options import backend


def add_parser(subparsers):
    p = subparsers.add_parser(
        "evaluate", help="metrics of a saved model on labeled data",
        description=__doc__.split("\n\n", 1)[1].replace("``", ""))
    p.add_argument("model", metavar="MODEL", help="a model.npz saved by `xpnet train`")
    p.add_argument("data", metavar="DATA",
                   help="CSV (header row + target column), NPZ (X and y) or a dataset name")
    p.add_argument("--target", metavar="COLUMN", help="the CSV's target column (default: last)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--backend", type=backend, metavar="NAME",
                   help="backend to run the model on (default: the one it was saved with)")
    return p


def run(args):
    from ..report import evaluate, format_confusion, format_metrics, is_regression
    from ._common import load_data, load_model
    from .predict import check_width
    model = load_model(args.model, backend=args.backend)
    table = load_data(args.data, target=args.target, need_target=True, model=model)
    check_width(table, model)
    task = "regression" if is_regression(model) else "classification"
    y = table.y
    if task == "regression":
        if y.dtype.kind not in "biuf":
            raise CLIError(f"{table.source}: the target {table.target_name!r} holds text, but "
                           "this model does regression")
        y = y.astype(np.float64)
    metrics = evaluate(model, table.X, y)
    if args.json:
        print(json.dumps(_jsonable(metrics, task), indent=2))
        return 0
    print(f"model:  {args.model} ({_describe(model, task)})")
    print(f"data:   {table.source}: {table.n_samples} samples, target {table.target_name!r}")
    print()
    print(format_metrics({"data": metrics}, task))
    if task == "classification":
        print()
        print("confusion matrix:")
        print(format_confusion(metrics["confusion"], metrics["labels"]))
    return 0


def _describe(model, task):
    dims = " -> ".join(str(n) for n in model.arch_.layer_dims)
    what = f"{len(model.classes_)} classes" if task == "classification" else "regression"
    return f"{dims}, {what}, backend {model.backend_}"


def _jsonable(metrics, task):
    out = {"task": task}
    for key, value in metrics.items():
        if key == "confusion":
            out["confusion_matrix"] = value.tolist()
        elif key == "labels":
            out["labels"] = [v.item() if isinstance(v, np.generic) else v for v in value]
        else:
            out[key] = value
    return out
