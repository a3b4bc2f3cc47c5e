"""``xpnet train``: train a network on a shipped dataset or your own file, report, save a run.

With no arguments it trains the default network (one hidden layer of 64 ReLU units, Adam, 30
epochs) on the bundled handwritten digits. The data is split (seeded, stratified for classes)
into train/dev/test; progress shows the training cost and the dev metric per epoch (stderr);
the report (stdout) gives train/dev/test accuracy and the test confusion matrix (or R^2, MSE
and MAE for regression), a bias/variance diagnosis with the course's remedies, the time per
epoch, the backend and the dtype. The run folder gets ``model.npz``, ``history.json``,
``metrics.json``, ``report.txt``, ``config.toml`` (rerun with ``--config``) and, with
matplotlib, ``curves.png``, for two features ``decision_regions.png`` and with
``--record-gradients`` ``gradient_norms.png``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import time

import numpy as np

from ..cli import CLIError
from ._options import MODEL_KEYS, add_options, resolve_and_tell
from ._run_output import _evaluate, _report, _run_folder, _save_run

DESCRIPTION = """Train a network and save the run. With no options: the bundled handwritten
digits, one hidden layer of 64 ReLU units, Adam, 30 epochs. The data is split (seeded,
stratified for classes) into train/dev/test; progress (stderr) shows the cost and the dev
metric per epoch; the report (stdout) gives train/dev/test accuracy and the test confusion
matrix (R^2, MSE, MAE for regression), a bias/variance diagnosis (high bias, high variance,
both or neither, with the course's remedies; --bayes-error sets the Bayes error), the time
per epoch, the backend and the dtype. The run folder (--out, default
./xpnet-runs/<time>-<data>/) gets model.npz, history.json, metrics.json, report.txt,
config.toml (rerun it with --config) and, with matplotlib, curves.png, for two features
decision_regions.png and with --record-gradients gradient_norms.png."""

EXAMPLES = """examples:
  xpnet train                                   digits, 64 hidden units, Adam, 30 epochs
  xpnet train --dataset moons --hidden 16,16    a synthetic 2-D set (+ decision regions)
  xpnet train --data mydata.csv --target label  your own CSV (header row; default target:
                                                the last column)
  xpnet train --config run.toml --epochs 50     settings from TOML, flags override them
"""


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train", help="train a network and save the model, history, report and plots",
        description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="FILE.toml",
                   help="read settings from a TOML file (keys as the flags, e.g. hidden = "
                        "[64, 32]); flags given on the command line win")
    add_options(p)
    return p


#: Settings under which each bundled dataset trains well (the defaults suit digits): applied
#: beneath the config file and the flags, and named in the report. Test accuracy with them
#: (seed 0): docs/cli.md and the README.
PRESETS = {
    "iris": {"epochs": 300, "learning_rate": 0.01},
    "planar": {"hidden": (32, 32), "epochs": 300, "learning_rate": 0.01},
    "moons": {"hidden": (32, 32), "epochs": 300, "learning_rate": 0.01},
    "spirals": {"hidden": (32, 32), "epochs": 300, "learning_rate": 0.01},
    "blobs": {"hidden": (32, 32), "epochs": 300, "learning_rate": 0.01},
}


def apply_preset(values, given):
    """Fill in the dataset's preset for each setting neither the config file nor a flag set;
    returns ``{name: value}`` of what it applied."""
    if values["data"] is not None:
        return {}
    preset = PRESETS.get(str(values["dataset"]).strip().lower(), {})
    applied = {k: v for k, v in preset.items() if k not in given}
    values.update(applied)
    return applied


def run(args):
    values, given = resolve_and_tell(args)
    ctx = _distributed(values)
    if ctx is None:
        return _run(values, given)
    try:  # one rank's error ends every rank (MPI_Abort), never a hang
        return _run(values, given, ctx)
    except (Exception, KeyboardInterrupt) as exc:
        return ctx.fail(exc, "xpnet train", debug=getattr(args, "debug", False))


def _distributed(values):
    """The MPI context when this run is data-parallel (``--distributed``; the default, auto,
    when launched by mpiexec or srun with more than one rank), else None."""
    from ..distributed import context
    return context(values["distributed"])


def _run(values, given, ctx=None):
    """The run; with ``ctx`` (MPI) on every rank, rank 0 alone printing and writing."""
    writer = ctx is None or ctx.is_root
    if ctx is not None:
        values["seed"] = ctx.agreed_seed(values["seed"])  # one split and dataset for all
        values["quiet"] = values["quiet"] or not writer
    if values["data"] is not None and "dataset" in given:
        raise CLIError(f"--dataset {values['dataset']} and --data {values['data']} both name "
                       "the data; give one of them")
    values["preset"] = apply_preset(values, given)
    _check_backend(values["backend"])
    data = _load(values)
    task = _resolve_task(values["task"], data)
    split = _split(data, values, task)
    model = _make_model(values, task)
    if not writer:  # the other ranks train their shards and write nothing
        _fit(model, split, values, task)
        return 0
    with _run_folder(values["out"], data["label"], values["force"]) as stage:
        fit = _fit(model, split, values, task)
        if ctx is not None:
            fit["ranks"] = ctx.size
        if data["named"]:  # predict/evaluate find the columns by these names
            model.feature_names_in_ = np.asarray(data["feature_names"], dtype=str)
        results = _evaluate(model, split)
        text = _report(model, data, split, values, task, fit, results)
        stage.doing = "while saving the run"
        files = _save_run(stage.path, model, data, split, values, task, fit, results, text)
        out = stage.commit()
    print(text)
    print(f"\nrun folder: {out}")
    for name in files:
        print(f"  {name}")
    return 0


# ---------------------------------------------------------------------------------- data
def _check_backend(name):
    """Load the backend now, so a bad name or a missing package fails before any work."""
    from ..backends import resolve
    resolve(name)


def _load(values):
    """``{"X", "y", "feature_names", "named", "target_name", "label", "source"}``."""
    if values["data"] is not None:
        return _load_file(values)
    return _load_named(values)


def _load_file(values):
    from ..io import load_table
    for flag in ("n_samples", "noise", "n_classes"):
        if values[flag] is not None:
            raise CLIError(f"--{flag.replace('_', '-')} is for the synthetic datasets, not for "
                           "--data files")
    path = os.path.abspath(values["data"])
    table = load_table(path, target=values["target"])
    label = os.path.splitext(os.path.basename(path))[0] or "data"
    return {"X": table.X, "y": table.y, "feature_names": table.feature_names,
            "named": table.named, "target_name": table.target_name, "label": label,
            "source": path}


def _load_named(values):
    from .. import datasets
    from ._common import load_dataset
    name = values["dataset"].strip().lower()
    if values["target"] is not None:
        raise CLIError("--target names a column of a --data file; the datasets have their "
                       "targets built in")
    kwargs = {k: values[k] for k in ("n_samples", "noise", "n_classes") if values[k] is not None}
    if name in datasets.DATASETS and name not in ("iris", "digits"):
        accepted = inspect.signature(getattr(datasets, f"make_{name}")).parameters
        for key in kwargs:
            if key not in accepted:
                takes = [f"--{k.replace('_', '-')}" for k in ("n_samples", "noise", "n_classes")
                         if k in accepted]
                raise CLIError(f"--{key.replace('_', '-')} does not apply to dataset {name!r} "
                               f"(it takes {', '.join(takes)})")
        kwargs["seed"] = values["seed"]
    elif kwargs:
        raise CLIError(f"dataset {name!r} is fixed; --n-samples, --noise and --n-classes are "
                       "for planar, moons, spirals and blobs")
    X, y, names = load_dataset(name, **kwargs)
    return {"X": X, "y": y, "feature_names": names, "named": True, "target_name": "class",
            "label": name, "source": f"dataset {name}"}


def _resolve_task(task, data):
    """``classification`` or ``regression`` (``auto``: non-integer numbers are regression)."""
    from ..io import first_non_numeric
    y = data["y"]
    bad = first_non_numeric(y)
    if task == "regression" and bad is not None:
        raise CLIError(f"target {data['target_name']!r} holds text ({bad[1]!r} at row "
                       f"{bad[0] + 1}); regression needs numbers; use --task classification")
    if task != "auto":
        return task
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        return "regression"
    return "classification"


def _split(data, values, task):
    from ..network.data import train_dev_test_split
    X, y = data["X"], data["y"]
    if task == "regression":
        y = y.astype(np.float64)
    parts = train_dev_test_split(X, y, dev=values["dev_size"], test=values["test_size"],
                                 seed=values["seed"], stratify=task == "classification")
    return {"train": (parts.X_train, parts.y_train), "dev": (parts.X_dev, parts.y_dev),
            "test": (parts.X_test, parts.y_test)}


def _make_model(values, task):
    from ..network.estimator import NeuralNetwork
    params = {key: values[key] for key in MODEL_KEYS}
    params["task"] = task
    return NeuralNetwork(**params)


# ------------------------------------------------------------------------------ training
class _Monitor:
    """The ``fit`` callback: shows each epoch's row (with the dev metrics ``fit`` computed)."""

    def __init__(self, display):
        self.display = display
        self.done = 0  # epochs finished

    def __call__(self, epoch, logs):
        self.display(epoch, logs)
        self.done = int(logs.get("epoch", epoch + 1))
        return False


def _fit(model, split, values, task):
    from ..progress import make_progress
    display = make_progress(values["epochs"], quiet=values["quiet"],
                            score_name="r2" if task == "regression" else "acc")
    dev = split["dev"] if split["dev"][0].shape[0] else None
    compile_s = _warm_up(model, split["train"], values["quiet"], values["epochs"])
    t0 = time.perf_counter()
    monitor = _Monitor(display)
    try:
        model.fit(*split["train"], dev=dev, callback=monitor)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: say how far training came
        raise type(exc)(f"interrupted during training, in epoch {monitor.done + 1} of "
                        f"{values['epochs']}") from None
    finally:
        display.close()
    wall = time.perf_counter() - t0
    h = model.history_
    training = sum(h["epoch_time"])
    return {"wall": wall, "training": training, "other": max(wall - training, 0.0),
            "compile": compile_s,
            "dev_history": {"dev_cost": h.get("dev_cost", []), "dev_score": h.get("dev_score", [])}}


#: A warm-up longer than this was compiling kernels, not loading them from the cache.
COMPILE_NOTE_S = 1.0


#: A loops-backend run estimated longer than this is announced before it starts.
LONG_RUN_S = 60.0


def _warm_up(model, train, quiet, epochs):
    """Run the network once on a few training rows before the real fit. On the numba backend
    that compiles (first run) or loads (later runs) the kernels it uses outside epoch 1's
    time, said when compiling took a while; on the loops backend it times the for-loops and
    says how long the run will take when that is long. Returns the numba preparation's
    seconds (0 on the other backends)."""
    import sys

    from ..backends import resolve
    name = resolve(model.backend).name
    if name not in ("numba", "loops"):
        return 0.0
    X, y = train
    if name == "loops":
        _estimate_loops(model, X, y, epochs, quiet)
        return 0.0
    if not quiet:
        print("numba: preparing the compiled kernels (compiled and cached on the first run, "
              "loaded from the cache after)...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    twin = _one_epoch_twin(model)
    rows = min(len(y), 2 * (twin.batch_size or 2) + 1)  # full batches (replayed) and a partial
    try:
        twin.fit(X[:rows], y[:rows])
    except ValueError:  # e.g. one class in the first rows: the real fit says what is wrong
        pass
    seconds = time.perf_counter() - t0
    if not quiet and seconds > COMPILE_NOTE_S:
        print(f"numba: kernels compiled in {seconds:.1f} s and cached; later runs load them "
              "in well under a second", file=sys.stderr, flush=True)
    return seconds


def _one_epoch_twin(model):
    """A fresh model of ``model``'s settings that trains one epoch, quietly, without a dev
    split: what the warm-up and the loops estimate run on a few rows."""
    return type(model)(**{**model.get_params(), "epochs": 1, "early_stopping": False,
                          "verbose": 0, "distributed": None})  # each rank warms up alone


def _estimate_loops(model, X, y, epochs, quiet):
    """Time one epoch of the loops backend on 8 and on 24 rows and extrapolate the time per
    row (the difference, free of the fixed costs) to the whole run."""
    import sys

    twin = _one_epoch_twin(model)
    times = []
    for rows in (8, 24):
        t0 = time.perf_counter()
        try:
            twin.fit(X[:rows], y[:rows])
        except ValueError:
            return None
        times.append(time.perf_counter() - t0)
    if len(y) < 24:
        return None
    estimate = max(times[1] - times[0], 0.0) / 16 * len(y) * epochs
    if not quiet and estimate > LONG_RUN_S:
        print(f"loops: this run will take about {_duration(estimate)} (the loops backend is the "
              f"course's for-loop baseline, thousands of times slower than numpy); "
              f"--backend numpy or numba trains it in seconds", file=sys.stderr, flush=True)
    return estimate


def _duration(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
