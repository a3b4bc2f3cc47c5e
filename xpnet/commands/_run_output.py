"""What ``xpnet train`` makes of a fitted run: the evaluation on each split, the report text
(accuracy or R^2, the bias/variance diagnosis, the network and training described), and the
run folder with its files (model, history, metrics, report, config, plots), written whole.
"""

from __future__ import annotations

import datetime
import os

import numpy as np

from ..cli import CLIError
from ._options import dump_config


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
