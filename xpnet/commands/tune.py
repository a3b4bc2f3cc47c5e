"""``xpnet tune``: random hyperparameter search on a bundled dataset, coarse then fine.

The dataset is split once (stratified, from ``--seed``) into train, dev and test parts. Each
trial trains a ``NeuralNetwork`` on train and is scored on dev; the best trial is then scored
once on the held-out test part. Progress goes to stderr, the table of trials to stdout;
``--json`` writes the trials. ``--scheduler local[:N]`` runs the trials on a local Dask cluster
of N worker processes, ``--scheduler tcp://host:8786`` on a running one (``pip install
'xpnet[dask]'``); same seed, same trials and scores as in one process.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys

import numpy as np

from ..cli import CLIError, deferred_signals
from ..ops import OPTIMIZERS
from ..ops.optimizers import Adam

#: The optimizers a search may use: every registered one.
OPTIMIZER_CHOICES = OPTIMIZERS.names()


def add_parser(subparsers):
    p = subparsers.add_parser(
        "tune", help="random hyperparameter search (log-scale rates, coarse to fine)",
        description="Random search over the learning rate (log-uniform, alpha = 10 ** r), the "
                    "hidden width, the mini-batch size, L2 and the momentum beta "
                    "(beta = 1 - 10 ** r), then a finer second round around the best trial. "
                    "Trials are scored on a dev split; the best is scored on the test split.")
    p.add_argument("--dataset", default=None,
                   help="dataset name (digits, iris, planar, moons, spirals, blobs; "
                        "default digits)")
    p.add_argument("--data", metavar="FILE", default=None,
                   help="your own data instead: a CSV file with a header row, or NPZ with "
                        "arrays X and y (as xpnet train reads it)")
    p.add_argument("--target", metavar="COLUMN", default=None,
                   help="the CSV column to predict (default: the last column)")
    p.add_argument("--trials", type=int, default=10, help="first-round trials (default 10)")
    p.add_argument("--refine-trials", type=int, default=None,
                   help="second-round trials (default: half of --trials)")
    p.add_argument("--no-refine", action="store_true", help="skip the fine second round")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and the search")
    p.add_argument("--epochs", type=int, default=20, help="epochs per trial (default 20)")
    p.add_argument("--optimizer", default=Adam.name, choices=OPTIMIZER_CHOICES,
                   help="optimizer of every trial (default adam)")
    p.add_argument("--dev", type=float, default=0.2, help="dev fraction (default 0.2)")
    p.add_argument("--test", type=float, default=0.2, help="test fraction (default 0.2)")
    p.add_argument("--backend", default=None, help="backend name (default: the current one)")
    p.add_argument("--jobs", type=int, default=1, help="trials fitted in parallel threads")
    p.add_argument("--scheduler", metavar="WHERE", default=None,
                   help="run the trials on Dask: 'local' or 'local:N' starts a cluster of N "
                        "worker processes here (default N: one per core), 'tcp://host:8786' "
                        "joins a running scheduler; 'none' (default): in this process. "
                        "Needs: pip install 'xpnet[dask]'")
    p.add_argument("--json", metavar="PATH", help="write the trials as JSON to PATH")
    return p


def search_space(optimizer):
    """The default space of ``xpnet tune`` for ``optimizer``: the learning rate on a log scale
    from a decade below the optimizer's default (at most 1e-3) to two decades above (at most 1):
    1e-4 to 0.1 for Adam and RMSprop, 1e-3 to 1 for gradient descent and momentum; and its
    momentum-like beta (``beta1`` or ``beta``, whichever it reads) as ``1 - 10 ** r``."""
    from ..network.search import Beta, Choice, Integer, Real

    definition = OPTIMIZERS[optimizer]
    lr = definition.default_learning_rate
    space = {
        "learning_rate": Real(min(lr / 10, 1e-3), min(lr * 100, 1.0), log=True),
        "hidden": Integer(8, 128, log=True),
        "batch_size": Choice([32, 64, 128]),
        "l2": Real(1e-4, 1.0, log=True),
    }
    beta = next((name for name in ("beta1", "beta") if name in definition.uses), None)
    if beta is not None:
        space[beta] = Beta(0.8, 0.99)
    return space


def _check_args(args):
    for name in ("trials", "epochs", "jobs"):
        if getattr(args, name) < 1:
            raise CLIError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.refine_trials is not None and args.refine_trials < 1:
        raise CLIError(f"--refine-trials must be >= 1, got {args.refine_trials}")
    if args.json:
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder):
            raise CLIError(f"--json {args.json}: the folder {folder} does not exist")
    args.dask = _check_scheduler(args)


def _check_scheduler(args):
    """``parse_scheduler``'s reading of ``--scheduler`` (None: no Dask)."""
    from ..distributed.dask import distributed, parse_scheduler
    try:
        scheduler = parse_scheduler(args.scheduler)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if scheduler is None:
        return None
    if args.jobs != 1:
        raise CLIError(f"--jobs {args.jobs} and --scheduler {args.scheduler} both say where "
                       "the trials run; give one of them")
    try:
        distributed()
    except ImportError as exc:
        raise CLIError(f"--scheduler {args.scheduler}: {exc}") from None
    return scheduler


def run(args):
    from .. import datasets
    from ..network.data import train_dev_test_split
    from ..network.estimator import NeuralNetwork, NeuralNetworkRegressor
    from ..network.search import random_search

    _check_args(args)
    X, y, label, regression = _load(args, datasets)
    split = train_dev_test_split(X, y, dev=args.dev, test=args.test, seed=args.seed,
                                 stratify=not regression)
    model_class = NeuralNetworkRegressor if regression else NeuralNetwork
    base = model_class(optimizer=args.optimizer, epochs=args.epochs, seed=args.seed,
                       backend=args.backend)
    space = search_space(args.optimizer)
    fine = 0 if args.no_refine else (args.refine_trials or max(1, args.trials // 2))
    total = args.trials + fine
    metric = "R^2" if regression else "accuracy"
    print(f"xpnet tune: {label}, {len(split.y_train)} train / {len(split.y_dev)} dev / "
          f"{len(split.y_test)} test, {total} trials of {args.epochs} epochs ({args.optimizer})",
          file=sys.stderr, flush=True)
    with _executor(args) as executor:
        trials = random_search(
            base, space, split.X_train, split.y_train, n_trials=args.trials, seed=args.seed,
            dev=(split.X_dev, split.y_dev), refine=not args.no_refine,
            refine_trials=args.refine_trials, stratify=True, n_jobs=args.jobs,
            callback=_progress(total), executor=executor)
    print(format_table(trials))
    best = trials[0]
    test_score = None
    if math.isfinite(best["dev_score"]):
        model = model_class(**{**base.get_params(), **best["params"]})
        model.fit(split.X_train, split.y_train)
        test_score = model.score(split.X_test, split.y_test)
        print(f"\nbest (trial {best['trial']}): {_format_params(best['params'])}\n"
              f"dev {metric} {best['dev_score']:.4f}, test {metric} {test_score:.4f}")
    if args.json:
        _write_json(args, trials, test_score)
    return 0


@contextlib.contextmanager
def _executor(args):
    """None (trials in this process) or the executor of the Dask cluster ``--scheduler``
    names, closed when the search ends, also on Ctrl-C."""
    if args.dask is None:
        yield None
        return
    from ..distributed.dask import Cluster, describe
    dask_cluster = Cluster(args.dask)
    client = dask_cluster.open()
    try:
        print(f"xpnet tune: trials on {describe(client, args.dask)}", file=sys.stderr,
              flush=True)
        yield client.get_executor()
    finally:
        with deferred_signals():
            dask_cluster.close()


def _load(args, datasets):
    """``(X, y, label, regression)`` from ``--data``/``--target`` or ``--dataset``."""
    if args.data is not None:
        if args.dataset is not None:
            raise CLIError(f"--dataset {args.dataset} and --data {args.data} both name the "
                           "data; give one of them")
        from ..io import load_table
        table = load_table(os.path.abspath(args.data), target=args.target)
        y = table.y
        regression = y.dtype.kind == "f" and not np.all(y == np.round(y))
        return table.X, (y.astype(np.float64) if regression else y), args.data, regression
    if args.target is not None:
        raise CLIError("--target names a column of a --data file; the datasets have their "
                       "targets built in")
    name = args.dataset or "digits"
    generated = str(name).strip().lower() not in ("iris", "digits")
    X, y = datasets.load(name, **({"seed": args.seed} if generated else {}))
    return X, y, name, False


def _progress(total):
    done = []

    def callback(trial):
        done.append(trial)
        status = (f"dev {trial['dev_score']:.4f}" if trial["error"] is None
                  else "diverged")
        print(f"[{len(done):>3}/{total}] round {trial['round']}  {status}  "
              f"{trial['fit_time']:.2f}s  {_format_params(trial['params'])}",
              file=sys.stderr, flush=True)
    return callback


def _format_value(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _format_params(params):
    return " ".join(f"{k}={_format_value(v)}" for k, v in params.items())


def format_table(trials):
    """The trials as an aligned text table, best first."""
    names = list(trials[0]["params"]) if trials else []
    header = ["rank", "trial", "round", "dev", "train", "time_s"] + names
    rows = []
    for rank, t in enumerate(trials, start=1):
        rows.append([str(rank), str(t["trial"]), str(t["round"]), _score(t["dev_score"]),
                     _score(t["train_score"]), f"{t['fit_time']:.2f}"]
                    + [_format_value(t["params"][n]) for n in names])
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in [header] + rows]
    return "\n".join(lines)


def _score(value):
    return f"{value:.4f}" if math.isfinite(value) else "diverged"


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _write_json(args, trials, test_score):
    doc = {"dataset": args.dataset, "data": args.data, "seed": args.seed,
           "epochs": args.epochs, "optimizer": args.optimizer, "scheduler": args.scheduler,
           "test_score_of_best": test_score,
           "trials": _json_safe(trials)}
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
    print(f"wrote {len(trials)} trials to {args.json}", file=sys.stderr)
