"""Hyperparameter search, the course's way: random points instead of a grid, the right scale
for each hyperparameter, then a finer search around the best point; and the grid it replaces.

Search spaces map hyperparameter names to dimensions:

- ``Real(low, high, log=False)``: uniform; with ``log=True`` ``r`` is uniform in
  ``[log10 low, log10 high]`` and the value is ``10 ** r`` (the learning rate
  ``alpha = 10 ** r``, ``r = -4 * np.random.rand()`` in the course);
- ``Beta(low, high)``: ``beta = 1 - 10 ** r`` with ``r`` uniform in
  ``[log10(1 - high), log10(1 - low)]`` (as many samples for 0.9..0.99 as for 0.99..0.999);
- ``Integer(low, high, log=False)``: integers, both ends included;
- ``Choice(options)``: one of the options, equally likely (a plain list means the same).

``random_search`` samples ``n_trials`` points from ``seed``, fits one model per point, scores it
on a dev set, then (``refine=True``) samples a second round in a box around the best point:
coarse to fine. It returns the trials sorted by dev score, best first.

``grid_search`` fits every combination of lists of values instead (``itertools.product``), on
the same split, scored the same way, and returns the same trials: the baseline random search
improves on when few of the hyperparameters matter.

Both run their trials one after another, in ``n_jobs`` threads, or on any
``concurrent.futures`` executor (``executor=``: a process pool, a Dask ``client.get_executor()``
for a cluster); the trials, their order and their scores do not depend on where they ran.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import itertools
import math
import numbers
import pickle
import time

import numpy as np

from .data import train_dev_test_split
from .training import TrainingDiverged

__all__ = ["Real", "Beta", "Integer", "Choice", "random_search", "grid_search", "sample_space"]

#: The most combinations ``grid_search`` fits unless ``max_trials`` allows more.
MAX_GRID_TRIALS = 10_000
#: Training samples of the warm-up fit a worker runs before its first timed trial.
WARM_UP_SAMPLES = 64


class Dimension:
    """One hyperparameter's range: ``sample(rng)`` draws a value, ``narrow(best, fraction)``
    returns a range ``fraction`` as wide around ``best`` inside this one."""

    def sample(self, rng):
        raise NotImplementedError

    def narrow(self, best, fraction):
        raise NotImplementedError


def _check_bounds(kind, low, high):
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise TypeError(f"{kind} {name} must be a finite number, got {v!r}")
    if not low <= high:
        raise ValueError(f"{kind} needs low <= high, got low={low!r}, high={high!r}")


def _box(center, low, high, fraction):
    """A sub-interval ``fraction`` of ``[low, high]`` wide, centered on ``center``, inside it."""
    half = (high - low) * fraction / 2
    lo, hi = center - half, center + half
    if lo < low:
        lo, hi = low, min(high, low + 2 * half)
    if hi > high:
        lo, hi = max(low, high - 2 * half), high
    return lo, hi


class Real(Dimension):
    """A real number in ``[low, high]``; ``log=True`` samples ``10 ** r`` (needs ``low > 0``)."""

    def __init__(self, low, high, log=False):
        _check_bounds("Real", low, high)
        if log and low <= 0:
            raise ValueError(f"Real(log=True) needs low > 0, got {low!r}")
        self.low, self.high, self.log = float(low), float(high), bool(log)

    def _to_r(self, x):
        return math.log10(x) if self.log else x

    def _from_r(self, r):
        return 10.0 ** r if self.log else r

    def sample(self, rng):
        r = rng.uniform(self._to_r(self.low), self._to_r(self.high))
        return float(min(max(self._from_r(r), self.low), self.high))

    def narrow(self, best, fraction):
        lo, hi = _box(self._to_r(best), self._to_r(self.low), self._to_r(self.high), fraction)
        return Real(max(self._from_r(lo), self.low), min(self._from_r(hi), self.high),
                    log=self.log)

    def __repr__(self):
        return f"Real({self.low:g}, {self.high:g}{', log=True' if self.log else ''})"


class Beta(Dimension):
    """An averaging coefficient in ``[low, high] (within [0, 1))`` sampled as ``1 - 10 ** r``."""

    def __init__(self, low, high):
        _check_bounds("Beta", low, high)
        if not 0.0 <= low <= high < 1.0:
            raise ValueError(f"Beta needs 0 <= low <= high < 1, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def sample(self, rng):
        r = rng.uniform(math.log10(1 - self.high), math.log10(1 - self.low))
        return float(min(max(1.0 - 10.0 ** r, self.low), self.high))

    def narrow(self, best, fraction):
        lo, hi = _box(math.log10(1 - best), math.log10(1 - self.high), math.log10(1 - self.low),
                      fraction)
        return Beta(max(1 - 10.0 ** hi, self.low), min(1 - 10.0 ** lo, self.high))

    def __repr__(self):
        return f"Beta({self.low:g}, {self.high:g})"


class Integer(Dimension):
    """An integer in ``[low, high]`` (both included); ``log=True`` samples on a log scale."""

    def __init__(self, low, high, log=False):
        for name, v in (("low", low), ("high", high)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
                raise TypeError(f"Integer {name} must be an int, got {v!r}")
        _check_bounds("Integer", low, high)
        if log and low < 1:
            raise ValueError(f"Integer(log=True) needs low >= 1, got {low!r}")
        self.low, self.high, self.log = int(low), int(high), bool(log)

    def sample(self, rng):
        if self.log:
            r = rng.uniform(math.log(self.low), math.log(self.high + 1))
            return int(min(max(int(math.floor(math.exp(r))), self.low), self.high))
        return int(rng.integers(self.low, self.high + 1))

    def narrow(self, best, fraction):
        if self.log:
            lo, hi = _box(math.log(best), math.log(self.low), math.log(self.high), fraction)
            lo, hi = math.floor(math.exp(lo)), math.ceil(math.exp(hi))
        else:
            lo, hi = _box(best, self.low, self.high, fraction)
            lo, hi = math.floor(lo), math.ceil(hi)
        return Integer(max(int(lo), self.low), min(int(hi), self.high), log=self.log)

    def __repr__(self):
        return f"Integer({self.low}, {self.high}{', log=True' if self.log else ''})"


class Choice(Dimension):
    """One of ``options`` (any values: names, tuples of layer sizes, ...), equally likely."""

    def __init__(self, options):
        if isinstance(options, (str, bytes)) or not hasattr(options, "__len__"):
            raise TypeError(f"Choice needs a list of options, got {options!r}")
        self.options = list(options)
        if not self.options:
            raise ValueError("Choice needs at least one option")

    def sample(self, rng):
        return self.options[int(rng.integers(len(self.options)))]

    def narrow(self, best, fraction):
        """The fine round keeps the best option (categories have no neighborhood)."""
        return Choice([best])

    def __repr__(self):
        return f"Choice({self.options!r})"


def _check_space(space):
    if not isinstance(space, dict) or not space:
        raise TypeError("space must be a non-empty dict {hyperparameter name: Real | Beta | "
                        f"Integer | Choice | list of options}}, got {space!r}")
    checked = {}
    for name, dim in space.items():
        if not isinstance(name, str):
            raise TypeError(f"space keys are hyperparameter names (str), got {name!r}")
        if isinstance(dim, list):
            dim = Choice(dim)
        if not isinstance(dim, Dimension):
            raise TypeError(f"space[{name!r}] must be Real, Beta, Integer, Choice or a list of "
                            f"options, got {dim!r}")
        checked[name] = dim
    return checked


def sample_space(space, rng):
    """One point ``{name: value}`` of ``space`` drawn from the Generator ``rng`` (in key order)."""
    return {name: dim.sample(rng) for name, dim in _check_space(space).items()}


# ----------------------------------------------------------------------------- search
def random_search(estimator, space, X, y, n_trials=20, seed=None, dev=0.2, refine=True,
                  refine_trials=None, refine_fraction=0.25, stratify=False, n_jobs=1,
                  callback=None, executor=None):
    """Random search over ``space`` with a dev set; returns the trials, best dev score first.

    ``estimator`` is an estimator class (called with the sampled hyperparameters), an estimator
    instance (its ``get_params()`` with the sampled ones on top) or a factory ``f(**params)``.
    A class or instance with a ``seed`` hyperparameter left unset gets ``seed``, so every trial
    starts from the same initialization and the search is reproducible from ``seed``.

    ``dev`` is a fraction of ``(X, y)`` held out (split from ``seed``; ``stratify`` keeps class
    proportions) or a tuple ``(X_dev, y_dev)``. With ``refine`` a second round of
    ``refine_trials`` (default ``max(1, n_trials // 2)``) samples a box ``refine_fraction`` as
    wide as each range around the best first-round point. ``n_jobs > 1`` fits trials in threads
    (results do not depend on it). ``callback(trial)`` runs after each trial, in trial order.

    ``executor`` fits the trials elsewhere: any ``concurrent.futures.Executor`` (a
    ``ProcessPoolExecutor``, a ``ThreadPoolExecutor``, a Dask ``client.get_executor()``) or a
    Dask ``Client``; not together with ``n_jobs > 1``. Each round's trials are submitted at
    once and gathered in trial order, so the result is the serial one. A process pool needs a
    picklable ``estimator`` (a class, an instance, or a module-level function: not a lambda)
    and gets the data with each trial; a Dask cluster gets the data once per worker
    (``client.scatter(..., broadcast=True)``) and every worker first runs one short warm-up fit
    (the Numba compile) that no trial's ``fit_time`` includes; a thread pool warms up in this
    process. A process pool's workers cannot each be reached once, so there the first trials
    of each worker include the compile (warm them with ``initializer=``). A trial that
    diverges on a worker is recorded like a serial one; any other error in a trial is raised
    here, naming the trial, and the trials not yet started are cancelled.

    Each trial is a dict: ``trial`` (index), ``round`` (1 coarse, 2 fine), ``params``,
    ``dev_score`` and ``train_score`` (the estimator's ``score``), ``fit_time`` (seconds),
    ``n_epochs`` (when the estimator reports it) and ``error`` (the message when training
    diverged; its scores are ``-inf``).
    """
    space = _check_space(space)
    n_trials = _check_count("n_trials", n_trials)
    refine_trials = max(1, n_trials // 2) if refine_trials is None else _check_count(
        "refine_trials", refine_trials)
    if not 0.0 < refine_fraction <= 1.0:
        raise ValueError(f"refine_fraction must be in (0, 1], got {refine_fraction!r}")
    n_jobs = _check_count("n_jobs", n_jobs)
    executor = _check_executor(executor, n_jobs)
    factory = _factory(estimator, space, seed)
    rng = np.random.default_rng(seed)
    with _Trials(_dev_split(X, y, dev, seed, stratify), n_jobs, executor, callback) as run:
        trials = _run_round(run, factory, space, n_trials, rng, 1, 0)
        if refine:
            best = max(trials, key=_rank_key)
            fine = {name: dim.narrow(best["params"][name], refine_fraction)
                    for name, dim in space.items()}
            trials += _run_round(run, factory, fine, refine_trials, rng, 2, len(trials))
    return sorted(trials, key=_rank_key, reverse=True)


def grid_search(estimator, grid, X, y, dev=0.2, seed=None, stratify=False, n_jobs=1,
                callback=None, max_trials=None, executor=None):
    """Every combination of ``grid`` fitted on one train/dev split; returns the trials, best
    dev score first.

    ``grid`` maps hyperparameter names to lists (or tuples) of values, e.g.
    ``{"eta": [1e-4, 1e-3, 1e-2], "epochs": [10, 50]}``, or is a list of such dicts, each a
    sub-grid (as scikit-learn's ``ParameterGrid``: values that only make sense together).
    Layer sizes and other tuple values are listed: ``{"hidden": [(8,), (8, 4)]}``. The trials
    have a fixed order, which ``trial`` numbers: the sub-grids in list order, each one
    ``itertools.product`` of its lists in the dict's key order (the last key varies fastest);
    ``round`` is 1.

    ``estimator``, ``dev``, ``seed``, ``stratify``, ``n_jobs``, ``callback`` and ``executor``
    work as in ``random_search``: the same split from ``seed``, the same ``seed`` given to a
    class or instance that leaves it unset, the same scores, the same trial dicts sorted the
    same way, so the two searches compare trial for trial. A grid grows as the product of
    its lists: more combinations than ``max_trials`` (default ``MAX_GRID_TRIALS``, 10,000) is
    a ValueError before anything is fitted; pass a larger ``max_trials`` to mean it.

    Why the course prefers random points: hyperparameters do not matter equally, and which
    ones matter is not known in advance. A 3 x 3 grid over the learning rate and a minor
    hyperparameter spends 9 fits on only 3 distinct learning rates (each is repeated for
    every value of the other), where 9 random points try 9 distinct learning rates (and 9
    values of the other) for the same cost. A grid suits few hyperparameters that all matter.
    """
    grids = _check_grid(grid)
    _check_grid_size(grids, max_trials)
    n_jobs = _check_count("n_jobs", n_jobs)
    executor = _check_executor(executor, n_jobs)
    jobs = []
    for sub in grids:
        factory = _factory(estimator, sub, seed)
        for values in itertools.product(*sub.values()):
            jobs.append((factory, len(jobs), 1, dict(zip(sub, values))))
    with _Trials(_dev_split(X, y, dev, seed, stratify), n_jobs, executor, callback) as run:
        trials = run(jobs)
    return sorted(trials, key=_rank_key, reverse=True)


def _check_grid(grid):
    """``grid`` as a list of dicts ``{name: list of values}`` (a dict is a list of one)."""
    grids = [grid] if isinstance(grid, dict) else grid
    if not isinstance(grids, (list, tuple)) or not all(isinstance(g, dict) for g in grids):
        raise TypeError("grid must be a dict {hyperparameter name: list of values} or a list "
                        f"of such dicts, got {grid!r}")
    if not grids or not all(grids):
        raise ValueError(f"grid is empty ({grid!r}): give at least one hyperparameter and its "
                         "values, e.g. {'learning_rate': [0.001, 0.01]}")
    return [_check_values(sub) for sub in grids]


def _check_values(sub):
    for name, values in sub.items():
        if not isinstance(name, str):
            raise TypeError(f"grid keys are hyperparameter names (str), got {name!r}")
        if not isinstance(values, (list, tuple)):
            hint = (" (a range to sample: use random_search)" if isinstance(values, Dimension)
                    else " (an array: pass values.tolist())" if isinstance(values, np.ndarray)
                    else "")
            raise TypeError(f"grid[{name!r}] must be a list or tuple of values, got "
                            f"{values!r}{hint}; one value is [value]")
        if not values:
            raise ValueError(f"grid[{name!r}] is an empty list; give at least one value")
    return dict(sub)


def _check_grid_size(grids, max_trials):
    limit = MAX_GRID_TRIALS if max_trials is None else _check_count("max_trials", max_trials)
    n = sum(math.prod(len(values) for values in sub.values()) for sub in grids)
    if n > limit:
        raise ValueError(f"grid has {n:,} combinations, more than max_trials={limit:,}; "
                         f"shorten its lists, pass max_trials={n} to fit them all, or sample "
                         "the space with random_search")
    return n


def _rank_key(trial):
    # Best dev score first; ties go to the earlier trial.
    return (trial["dev_score"], trial["train_score"], -trial["trial"])


def _check_count(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


class _Build:
    """An estimator factory that pickles (for process and Dask workers, where a lambda would
    not): ``cls(**{**fixed, **params})``."""

    def __init__(self, cls, fixed):
        self.cls, self.fixed = cls, dict(fixed)

    def __call__(self, **params):
        return self.cls(**{**self.fixed, **params})

    def __repr__(self):
        return f"_Build({self.cls.__name__}, {self.fixed!r})"


def _factory(estimator, space, seed):
    if inspect.isclass(estimator):
        names = _param_names(estimator)
        fixed = {"seed": seed} if "seed" in names and "seed" not in space else {}
        _check_names(estimator.__name__, space, names)
        return _Build(estimator, fixed)
    if hasattr(estimator, "get_params") and hasattr(estimator, "fit"):
        base = dict(estimator.get_params())
        _check_names(type(estimator).__name__, space, base)
        if "seed" in base and base["seed"] is None and "seed" not in space:
            base["seed"] = seed
        return _Build(type(estimator), base)
    if callable(estimator):
        return estimator
    raise TypeError("estimator must be an estimator class, an estimator instance or a factory "
                    f"function params -> estimator, got {estimator!r}")


def _param_names(cls):
    if hasattr(cls, "_param_names"):
        return list(cls._param_names())
    sig = inspect.signature(cls.__init__)
    return [p for p in sig.parameters if p != "self"]


def _check_names(owner, space, names):
    unknown = sorted(set(space) - set(names))
    if unknown:
        raise ValueError(f"{owner} has no hyperparameter {', '.join(map(repr, unknown))}; "
                         f"valid: {', '.join(sorted(names))}")


def _dev_split(X, y, dev, seed, stratify):
    if isinstance(dev, tuple):
        if len(dev) != 2:
            raise ValueError("dev as a tuple must be (X_dev, y_dev)")
        return X, y, dev[0], dev[1]
    s = train_dev_test_split(X, y, dev=dev, test=0, seed=seed, stratify=stratify)
    if len(s.y_dev) == 0:
        raise ValueError(f"dev={dev!r} leaves no dev samples; use a larger fraction")
    return s.X_train, s.y_train, s.X_dev, s.y_dev


def _run_round(run, factory, space, n, rng, round_no, first):
    points = [{name: dim.sample(rng) for name, dim in space.items()} for _ in range(n)]
    return run([(factory, first + i, round_no, p) for i, p in enumerate(points)])


# ---------------------------------------------------------------------- where trials run
def _check_executor(executor, n_jobs):
    """``executor`` as a ``concurrent.futures``-style executor (a Dask ``Client`` becomes its
    ``get_executor()``), or None."""
    if executor is None:
        return None
    if n_jobs != 1:
        raise ValueError(f"n_jobs={n_jobs} and executor={executor!r} both say where the trials "
                         "run: give n_jobs (threads of this process) or executor, not both")
    if _dask_client(executor) is executor:
        return executor.get_executor()
    if not callable(getattr(executor, "submit", None)):
        raise TypeError("executor must be a concurrent.futures.Executor (ProcessPoolExecutor, "
                        "ThreadPoolExecutor, a Dask client.get_executor()) or a Dask Client, "
                        f"got {executor!r}")
    return executor


def _dask_client(executor):
    """The ``distributed.Client`` behind ``executor`` (itself, or its ``get_executor()``), or
    None; told by the class's module, so that dask is never imported here."""
    if type(executor).__module__.partition(".")[0] != "distributed":
        return None
    if hasattr(executor, "get_executor") and hasattr(executor, "scatter"):
        return executor
    return getattr(executor, "_client", None)


class _Trials:
    """Runs lists of jobs ``(factory, index, round, params)`` for one search, in this process
    (``n_jobs`` threads) or on ``executor``. The executor's workers get the data and warm up
    once, at the first list; ``callback(trial)`` runs after each trial, in job order."""

    def __init__(self, data, n_jobs, executor, callback):
        self.data, self.n_jobs, self.executor, self.callback = data, n_jobs, executor, callback
        self.sent = None  # the data as the executor's trials receive it

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.sent is not None and self.sent is not self.data:
            self.sent.release()  # the scattered Dask data
        self.sent = None

    def __call__(self, jobs):
        if self.executor is None:
            return _run_trials(jobs, self.data, self.n_jobs, self.callback)
        if self.sent is None:
            self.sent = self._send(jobs[0])
        if isinstance(self.executor, concurrent.futures.ProcessPoolExecutor):
            _check_picklable({id(job[0]): job[0] for job in jobs}.values())
        futures = [self.executor.submit(_fit_one, self.sent, *job) for job in jobs]
        return _gather(futures, jobs, self.callback)

    def _send(self, first):
        factory, _, _, params = first
        client = _dask_client(self.executor)
        if client is not None:
            from ..distributed.dask import share
            return share(client, self.data, _warm_up, factory, params)
        if isinstance(self.executor, concurrent.futures.ThreadPoolExecutor):
            _warm_up(self.data, factory, params)
        return self.data


def _run_trials(jobs, data, n_jobs, callback):
    """The trials of ``jobs`` in job order, in this process (in ``n_jobs`` threads when > 1);
    ``callback(trial)`` after each, in that order."""
    if n_jobs == 1:
        results = []
        for job in jobs:
            results.append(_fit_one(data, *job))
            if callback is not None:
                callback(results[-1])
        return results
    with concurrent.futures.ThreadPoolExecutor(max_workers=n_jobs) as pool:
        futures = [pool.submit(_fit_one, data, *job) for job in jobs]
        return _gather(futures, jobs, callback)


def _check_picklable(factories):
    for factory in factories:
        try:
            pickle.dumps(factory)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise TypeError(f"a ProcessPoolExecutor sends the estimator to its processes by "
                            f"pickle, and {factory!r} does not pickle ({exc}); pass an "
                            "estimator class or instance, or a factory defined at module "
                            "level (not a lambda or a nested function)") from None


def _gather(futures, jobs, callback):
    """The futures' trials in job order; on an error or Ctrl-C the rest are cancelled."""
    results = []
    try:
        for future, job in zip(futures, jobs):
            results.append(_result(future, job))
            if callback is not None:
                callback(results[-1])
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return results


def _result(future, job):
    try:
        return future.result()
    except Exception as exc:
        if hasattr(exc, "add_note"):  # Python 3.11+
            exc.add_note(f"in trial {job[1]} (round {job[2]}), params {job[3]!r}")
        raise


def _warm_up(data, factory, params):
    """One short fit of the first trial's model on a few samples, so that Numba compiles its
    kernels before any trial is timed; returns its seconds. Best effort: an error here is the
    trials' to report, so it is ignored."""
    t0 = time.perf_counter()
    X_tr, y_tr, X_dev, y_dev = data
    n = min(len(y_tr), WARM_UP_SAMPLES)
    try:
        model = factory(**params)
        if "epochs" in _params_of(model):
            model.set_params(epochs=1)
        model.fit(X_tr[:n], y_tr[:n])
        model.score(X_dev[:n], y_dev[:n])
    except Exception:  # noqa: BLE001 - a failing warm-up must not stop the search
        pass
    return time.perf_counter() - t0


def _params_of(model):
    get = getattr(model, "get_params", None)
    return get() if callable(get) and callable(getattr(model, "set_params", None)) else {}


def _fit_one(data, factory, index, round_no, params):
    X_tr, y_tr, X_dev, y_dev = data
    model = factory(**params)
    trial = {"trial": index, "round": round_no, "params": dict(params), "error": None}
    t0 = time.perf_counter()
    try:
        model.fit(X_tr, y_tr)
    except TrainingDiverged as exc:
        trial.update(dev_score=-math.inf, train_score=-math.inf, error=str(exc))
    else:
        trial.update(dev_score=_finite_or_worst(model.score(X_dev, y_dev)),
                     train_score=_finite_or_worst(model.score(X_tr, y_tr)))
    trial["fit_time"] = time.perf_counter() - t0
    trial["n_epochs"] = getattr(model, "n_epochs_", None)
    return trial


def _finite_or_worst(score):
    score = float(score)
    return score if not math.isnan(score) else -math.inf
