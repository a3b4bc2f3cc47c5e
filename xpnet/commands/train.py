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
import datetime
import inspect
import os
import time

import numpy as np

from ..cli import CLIError
from ._options import MODEL_KEYS, add_options, dump_config, resolve_and_tell

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


def _evaluate(model, split):
    from ..report import evaluate
    return {name: evaluate(model, X, y) for name, (X, y) in split.items() if X.shape[0]}


# -------------------------------------------------------------------------------- report
def _report(model, data, split, values, task, fit, results):
    from ..report import format_confusion, format_diagnosis, format_metrics
    from ._common import backend_note
    X = data["X"]
    sizes = ", ".join(f"{name} {split[name][0].shape[0]}" for name in ("train", "dev", "test"))
    what = (f"{len(model.classes_)} classes" if task == "classification"
            else f"regression on {data['target_name']!r}")
    epochs = len(model.history_["cost"])
    per_epoch = sum(model.history_["epoch_time"]) / max(epochs, 1)
    lines = [
        f"data:     {data['source']}: {X.shape[0]} samples, {X.shape[1]} features, {what}",
        f"split:    {sizes} (seed {values['seed']}"
        f"{', stratified' if task == 'classification' else ''})",
        f"network:  {_describe_network(model)}",
        f"training: {_describe_training(model, values)}",
        f"backend:  {model.backend_} ({backend_note(values['backend'])}), dtype {values['dtype']}",
        f"time:     {fit['wall']:.2f} s for {epochs} epochs: {fit['training']:.2f} s of training "
        f"({per_epoch:.4f} s per epoch) + {fit['other']:.2f} s of dev evaluation and progress"
        + (f"; before it, {fit['compile']:.2f} s preparing the numba kernels"
           if fit["compile"] else ""),
    ]
    if fit.get("ranks", 1) > 1:
        lines.insert(5, f"mpi:      {fit['ranks']} ranks, data-parallel: each global batch is "
                        "split over the ranks, one gradient Allreduce per step")
    if values.get("preset"):
        settings = ", ".join(f"{k} {_flag_text(v)}" for k, v in values["preset"].items())
        lines.insert(3, f"preset:   {data['label']}: {settings} (the defaults suit digits; "
                        "flags and --config override a preset)")
    if (values["task"] == "auto" and task == "classification" and len(model.classes_) > 20
            and data["y"].dtype.kind in "iuf"):
        lines.append(f"note:     the whole-number target has {len(model.classes_)} distinct "
                     "values, so it is read as classes; use --task regression for a quantity")
    if values["early_stopping"]:
        lines.append(f"early stopping: ran {model.n_epochs_} epochs; kept the weights of epoch "
                     f"{model.best_epoch_}")
    lines += ["", format_metrics(results, task)]
    diagnosis = _diagnosis(results, split, values)
    if diagnosis is not None:
        lines += ["", format_diagnosis(*diagnosis)]
    if task == "classification" and "test" in results:
        lines += ["", "confusion matrix on the test set:",
                  format_confusion(results["test"]["confusion"], results["test"]["labels"])]
    return "\n".join(lines)


def _diagnosis(results, split, values):
    """``(bias_variance result, name of the set compared)`` from train and dev error (test
    error without a dev set), or None with only a training set. Gaps within two standard
    errors of the sets' sizes are not called high (classification)."""
    from ..report import bias_variance, model_error
    other = "dev" if "dev" in results else "test" if "test" in results else None
    if "train" not in results or other is None:
        return None
    sizes = {} if "r2" in results["train"] else {
        "n_train": int(split["train"][0].shape[0]), "n_dev": int(split[other][0].shape[0])}
    d = bias_variance(model_error(results["train"]), model_error(results[other]),
                      values["bayes_error"], **sizes)
    return d, other


def _flag_text(value):
    return ",".join(map(str, value)) if isinstance(value, tuple) else f"{value:g}" \
        if isinstance(value, float) else str(value)


def _describe_network(model):
    dims, acts = model.arch_.layer_dims, model.arch_.activations
    layers = [f"{dims[0]} inputs"] + [f"{n} {a}" for n, a in zip(dims[1:], acts)]
    extras = []
    if model.batch_norm:
        extras.append("batch norm")
    if model.keep_prob != 1.0:
        extras.append(f"dropout keep_prob {model.keep_prob}")
    if model.l2:
        extras.append(f"L2 {model.l2:g}")
    tail = f"; {', '.join(extras)}" if extras else ""
    return " -> ".join(layers) + f" (init {model.init}){tail}"


def _describe_training(model, values):
    from ..network.optimizers import default_learning_rate
    lr = model.learning_rate or default_learning_rate(model.optimizer)
    batch = "full batch" if model.batch_size is None else f"batch {model.batch_size}"
    decay = f", lr_decay {_decay_text(values['lr_decay'])}" if values["lr_decay"] else ""
    return f"{model.optimizer}, learning rate {lr:g}{decay}, {batch}, {values['epochs']} epochs"


def _decay_text(spec):
    """``exponential:base=0.99`` for ``{"kind": "exponential", "base": 0.99}``."""
    if isinstance(spec, dict):
        params = ",".join(f"{k}={v:g}" for k, v in spec.items() if k != "kind")
        return f"{spec['kind']}:{params}" if params else spec["kind"]
    return str(spec)


# --------------------------------------------------------------------------------- files
#: The files a run writes into its folder (a reused folder loses the old ones it lacks).
RUN_FILES = ("model.npz", "history.json", "metrics.json", "report.txt", "config.toml",
             "curves.png", "decision_regions.png", "gradient_norms.png")


def _run_folder(out, label, force=False):
    """A :class:`~xpnet.commands._common.StagedFolder` for the run: ``out``, or a new
    ``./xpnet-runs/<time>-<label>/``, written under a hidden name and moved into place whole
    once complete (an interrupt or an error leaves no folder). An ``out`` that holds an
    earlier run is refused unless ``force``; with it, that run's files are replaced only
    once the new run is complete, and none of them stays beside the new ones."""
    from ._common import StagedFolder
    if out is not None:
        if os.path.exists(out) and not os.path.isdir(out):
            raise CLIError(f"--out {out!r} is a file; give a folder for the run")
        old = [f for f in RUN_FILES if os.path.exists(os.path.join(out, f))]
        if old and not force:
            raise CLIError(f"--out {out!r} already holds a run ({', '.join(old[:3])}"
                           f"{', ...' if len(old) > 3 else ''}); pass --force to replace it, "
                           "or name a new folder")
        return StagedFolder([out], merge=True, replaces=RUN_FILES, force=force)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:40]
    base = os.path.join("xpnet-runs", f"{stamp}-{safe}")
    return StagedFolder([base] + [f"{base}-{n}" for n in range(2, 1000)])


def _save_run(out, model, data, split, values, task, fit, results, text):
    from ._common import write_atomic, write_json
    files = []

    def path(name):
        files.append(name)
        return os.path.join(out, name)

    model.save(path("model.npz"))
    write_json(path("history.json"), _history(model, fit, task))
    write_json(path("metrics.json"), _metrics_json(model, data, split, values, task, fit,
                                                   results))
    write_atomic(path("report.txt"), text + "\n")
    if values["data"] is not None:
        saved = dict(values, data=data["source"], dataset=None)
    else:
        saved = dict(values)
    write_atomic(path("config.toml"), dump_config(saved))
    if values["plots"]:
        files += _plots(out, model, data, task, fit, results)
    return files


def _history(model, fit, task):
    h = model.history_
    history = {"epoch": list(range(1, len(h["cost"]) + 1)), "cost": h["cost"], "lr": h["lr"],
               "epoch_time": h["epoch_time"]}
    for key in ("grad_norm", "activation_std"):
        if key in h:
            history[key] = h[key]
    if fit["dev_history"]["dev_cost"]:
        history.update(fit["dev_history"])
        history["dev_metric"] = "r2" if task == "regression" else "accuracy"
    return history


def _metrics_json(model, data, split, values, task, fit, results):
    from .._version import __version__
    clean = {}
    for name, metrics in results.items():
        clean[name] = {k: v for k, v in metrics.items() if k not in ("confusion", "labels")}
        if "confusion" in metrics:
            clean[name]["confusion_matrix"] = metrics["confusion"].tolist()
    out = {"xpnet_version": __version__, "task": task, "source": data["source"],
           "feature_names": list(data["feature_names"]), "target_name": data["target_name"],
           "n_samples": {name: int(X.shape[0]) for name, (X, _) in split.items()},
           "backend": model.backend_, "dtype": values["dtype"], "epochs": model.n_epochs_,
           "preset": {k: list(v) if isinstance(v, tuple) else v
                      for k, v in values.get("preset", {}).items()},
           "fit_seconds": fit["wall"],
           "training_seconds": fit["training"],
           "dev_and_progress_seconds": fit["other"],
           "kernel_preparation_seconds": fit["compile"],
           "seconds_per_epoch": fit["training"] / max(model.n_epochs_, 1),
           **({"mpi_ranks": fit["ranks"]} if fit.get("ranks", 1) > 1 else {}),
           "metrics": clean}
    diagnosis = _diagnosis(results, split, values)
    if diagnosis is not None:
        out["bias_variance"] = dict(diagnosis[0], compared_with=diagnosis[1],
                                    bayes_error=values["bayes_error"])
    if task == "classification":
        out["classes"] = [c.item() if isinstance(c, np.generic) else c for c in model.classes_]
    return out


def _plots(out, model, data, task, fit, results):
    from ..plots import plot_decision_regions, plot_gradient_norms, plot_history
    names = []
    score = "R^2" if task == "regression" else "accuracy"
    history = {"cost": model.history_["cost"]}
    history.update({k: v for k, v in fit["dev_history"].items() if v})
    title = f"xpnet: {data['label']}"
    if plot_history(history, os.path.join(out, "curves.png"), score, title) is None:
        return names
    names.append("curves.png")
    if "grad_norm" in model.history_:
        plot_gradient_norms(model.history_, os.path.join(out, "gradient_norms.png"),
                            title=f"{title}: gradient norm per layer")
        names.append("gradient_norms.png")
    if task == "classification" and data["X"].shape[1] == 2:
        acc = results.get("test", results["train"])["accuracy"]
        plot_decision_regions(model, data["X"], data["y"],
                              os.path.join(out, "decision_regions.png"),
                              feature_names=data["feature_names"],
                              title=f"{data['label']}: decision regions (test accuracy "
                                    f"{acc:.3f})")
        names.append("decision_regions.png")
    return names
