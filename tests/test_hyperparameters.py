"""Every hyperparameter, generated from its schema entry (``xpnet.network.hyperparameters``).

The tests below are parametrized over ``NETWORK``, so a new ``Hyper`` entry is tested the
moment it is added: its default in ``NeuralNetwork.__init__`` and ``get_params``,
``set_params``, its validation in ``fit``, its ``xpnet train`` flag and ``--config`` key (the
value must arrive in the fitted model and in the saved ``model.npz``), its place in
``xpnet train --help`` and the persistence of its value.

``xpnet train`` runs in-process (``xpnet.cli.main``) on 80 samples of the moons data for one
epoch with the numpy backend, so each run takes milliseconds.
"""

from __future__ import annotations

import importlib.util

import inspect
import re

import numpy as np
import pytest

import xpnet
from xpnet import _convert as C
from xpnet import cli
from xpnet.backends import use_backend
from xpnet.commands import _options
from xpnet.datasets import make_moons
from xpnet.network.estimator import NeuralNetwork, NeuralNetworkRegressor
from xpnet.network.hyperparameters import NETWORK
from xpnet.ops import LOSSES, OPTIMIZERS
from xpnet.ops.optimizers import DEFAULTS as OPTIMIZER_DEFAULTS

ENTRIES = tuple(NETWORK)
CLI_ENTRIES = tuple(h for h in NETWORK if h.cli)
NON_CLI_ENTRIES = tuple(h for h in NETWORK if not h.cli)

#: The data and length of every ``xpnet train`` run here (entries override them).
BASE = {"dataset": "moons", "n_samples": 80, "epochs": 1}

#: Non-default Python values of entries the CLI does not offer (they have no flag example).
PYTHON_ONLY_VALUES = {"verbose": 2, "warm_start": True}


@pytest.fixture(autouse=True)
def _numpy_backend():
    """``backend=None`` means numpy here (auto could pick numba and spend seconds compiling)."""
    with use_backend("numpy"):
        yield


# ------------------------------------------------------------------------------ helpers
def ids(entries):
    return [h.name for h in entries]


def is_boolean(entry):
    return entry.parse is C.boolean


def choices(entry):
    return tuple(getattr(entry.parse, "choices", ()))


def flag(name):
    return "--" + name.replace("_", "-")


def other_choice(entry):
    """A choice that is neither the Python nor the CLI default (the last such one)."""
    for name in reversed(choices(entry)):
        if name not in (entry.default, entry.flag_default):
            return name
    pytest.fail(f"hyperparameter {entry.name!r} offers no choice besides its default")


def require_example(entry):
    assert entry.example is not None, (
        f"hyperparameter {entry.name!r} has neither choices nor a boolean flag, so its Hyper "
        f"entry needs example= (a non-default value as flag text) for these tests")
    return entry.example


def nondefault_flag_value(entry):
    """The flag text (a bool for --flag / --no-flag) of a non-default value of ``entry``."""
    if is_boolean(entry):
        return not entry.flag_default
    if choices(entry):
        return other_choice(entry)
    return require_example(entry)


def parsed(entry, text):
    """The Python value a flag's text (or bool) stands for."""
    return text if isinstance(text, bool) else entry.parse(text)


def nondefault_value(entry):
    """A Python value of ``entry`` that differs from its default (and from the CLI's)."""
    if entry.cli:
        value = parsed(entry, nondefault_flag_value(entry))
    else:
        assert entry.name in PYTHON_ONLY_VALUES, (
            f"hyperparameter {entry.name!r} is not offered by the CLI; add a non-default "
            f"value for it to PYTHON_ONLY_VALUES in {__name__}")
        value = PYTHON_ONLY_VALUES[entry.name]
    assert value != entry.default and value != entry.flag_default, (
        f"the example value {value!r} of {entry.name!r} is its default")
    return value


def data_context(name, value):
    """Other settings the data needs for ``name=value`` to train: a loss setting (Huber's
    ``delta``) needs its loss, a loss needs targets it fits (regression or many classes)."""
    context = {}
    owners = [loss for loss, d in LOSSES.items() if name in getattr(d, "params", {})]
    loss = owners[0] if owners else (value if name == "loss" else None)
    if owners:
        context["loss"] = loss
    if loss is not None:
        targets = LOSSES[loss].targets
        if "regression" in targets:
            context["task"] = "regression"
        elif "binary" not in targets:
            context["dataset"] = "blobs"        # three classes
    return context


def cli_cases():
    """``(entry, flag value)``: both directions of a boolean, every other choice of a choice
    entry, the example of any other entry (None where it lacks one: that case fails)."""
    for h in CLI_ENTRIES:
        if is_boolean(h):
            values = [not h.flag_default, h.flag_default]
        elif choices(h):
            values = [c for c in choices(h) if c != h.flag_default]
        else:
            values = [h.example]
        for value in values:
            marks = ()
            if h.name == "distributed" and value == "mpi" and \
                    importlib.util.find_spec("mpi4py") is None:
                marks = pytest.mark.skip(reason="distributed=mpi needs mpi4py "
                                                "(pip install 'xpnet[mpi]')")
            yield pytest.param(h, value, id=f"{h.name}={value}", marks=marks)


def toml_value(value):
    """``value`` as TOML text (the writer ``config.toml`` uses; its round trip is tested below)."""
    return _options._toml_value(value)


def as_flags(settings):
    args = []
    for name, value in settings.items():
        if isinstance(value, bool):
            args.append(flag(name) if value else "--no-" + flag(name)[2:])
        else:
            args += [flag(name), str(value)]
    return args


def cli_params(settings):
    """The ``get_params()`` a model of ``xpnet train`` with ``settings`` must have: the CLI
    defaults, overridden by ``settings``; ``task`` auto resolves to classification on the
    class-labelled datasets used here."""
    from xpnet.commands.train import PRESETS

    params = {h.name: h.flag_default if h.cli else h.default for h in NETWORK}
    if settings.get("data") is None:  # the dataset's preset, under the settings given
        params.update(PRESETS.get(settings.get("dataset", "digits"), {}))
    params.update({k: v for k, v in settings.items() if k in params})
    if params["task"] == "auto":
        params["task"] = "classification"
    return params


def train(out, *args):
    """Run ``xpnet train ARGS --out OUT`` in-process; returns the model it fitted."""
    fitted = []
    fit = NeuralNetwork.fit

    def recording_fit(self, *a, **kw):
        fitted.append(self)
        return fit(self, *a, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(NeuralNetwork, "fit", recording_fit)
        rc = cli.main(["--debug", "train", *map(str, args), "--out", str(out), "--no-plots",
                       "--quiet"])
    assert rc == 0
    assert len(fitted) == 1
    assert (out / "model.npz").is_file() and (out / "config.toml").is_file()
    return fitted[0]


def assert_params(model, expected, name=None):
    params = model.get_params()
    if name is not None:
        assert params[name] == expected[name], f"{name}: {params[name]!r} != {expected[name]!r}"
    assert params == expected


@pytest.fixture(scope="module")
def moons():
    return make_moons(40, seed=0)


# ------------------------------------------------------------------- the schema itself
def test_schema_and_cli_tables_agree():
    assert _options.MODEL_KEYS == tuple(h.name for h in CLI_ENTRIES)
    model_options = {o.dest: o for o in _options.OPTIONS if o.model}
    assert list(model_options) == [h.name for h in CLI_ENTRIES]
    for h in CLI_ENTRIES:
        assert model_options[h.name].default == h.flag_default, h.name
        assert model_options[h.name].convert is h.parse, h.name
    data_or_output = {o.dest for o in _options.OPTIONS if not o.model}
    assert not data_or_output & set(NETWORK.names()), "a CLI setting shadows a hyperparameter"


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_default_and_example_pass_the_entrys_check(entry):
    """The default passes ``check`` unchanged; so does the non-default value the other
    tests use (for a CLI entry: the converted flag text, the value ``xpnet train`` passes)."""
    assert entry.check(entry.name, entry.default) == entry.default
    value = nondefault_value(entry)
    entry.check(entry.name, value)
    if entry.cli:
        entry.check(entry.name, entry.flag_default)


def test_optimizer_settings_are_hyperparameters():
    """Every name an optimizer ``uses`` is a schema entry the estimator hands to optimizers
    (``OPTIMIZER_DEFAULTS``); otherwise its setting would silently never arrive."""
    used = {name for d in OPTIMIZERS.values() for name in d.uses}
    assert used <= set(OPTIMIZER_DEFAULTS), used - set(OPTIMIZER_DEFAULTS)
    assert set(OPTIMIZER_DEFAULTS) <= set(NETWORK.names())
    for name, default in OPTIMIZER_DEFAULTS.items():
        assert NETWORK[name].default == default, name


# ---------------------------------------------------------------------- Python API
@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_constructor_default_is_the_schemas(entry):
    assert NeuralNetwork().get_params()[entry.name] == entry.default
    expected = "regression" if entry.name == "task" else entry.default
    assert NeuralNetworkRegressor().get_params()[entry.name] == expected


@pytest.mark.parametrize("cls", [NeuralNetwork, NeuralNetworkRegressor])
def test_signature_lists_the_schema_in_order(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())
    assert params[0].name == "self"
    defaults = dict(NETWORK.defaults())
    if cls is NeuralNetworkRegressor:
        defaults["task"] = "regression"
    assert [(p.name, p.default) for p in params[1:]] == list(defaults.items())
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params[1:])
    assert list(cls().get_params()) == list(NETWORK.names())
    assert cls().get_params() == defaults


@pytest.mark.parametrize("cls", [NeuralNetwork, NeuralNetworkRegressor])
@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_constructor_and_set_params_round_trip(cls, entry):
    value = nondefault_value(cls.schema[entry.name])    # not the regressor's task default
    defaults = cls().get_params()
    expected = dict(defaults, **{entry.name: value})
    assert cls(**{entry.name: value}).get_params() == expected
    model = cls()
    assert model.set_params(**{entry.name: value}) is model
    assert model.get_params() == expected
    model.set_params(**{entry.name: defaults[entry.name]})
    assert model.get_params() == defaults


def test_set_params_rejects_an_unknown_name():
    model = NeuralNetwork()
    with pytest.raises(ValueError, match="invalid parameter 'hiden' for estimator NeuralNetwork"):
        model.set_params(hiden=(8,))
    assert model.get_params() == NETWORK.defaults()
    with pytest.raises(TypeError):
        NeuralNetwork(hiden=(8,))


#: Values tried against every entry's ``check``; each one it rejects must make ``fit`` fail.
BAD_CANDIDATES = ("bogus", "false", -1, 0, 1.5, None)
#: More bad values for particular entries.
EXTRA_BAD = {"dtype": ("int32",)}
#: Entries whose ``check`` passes everything (checked where they are used) and bad values
#: for them. A new pass-through entry has to be listed here.
CHECKED_WHERE_USED = {
    "keep_prob": (-1, 0, 1.5, (0.5, 0.5), "bogus", None, True),
    "lr_decay": ("bogus", -1, True, {"kind": "bogus"}, {"kind": "exponential", "bogus": 1.0}),
    "backend": ("bogus", -1, True),
}
UNLISTED = object()


def _rejects(entry, value):
    try:
        entry.check(entry.name, value)
    except (TypeError, ValueError):
        return True
    return False


def bad_cases():
    for h in ENTRIES:
        candidates = BAD_CANDIDATES + EXTRA_BAD.get(h.name, ())
        bad = [v for v in candidates if _rejects(h, v)]
        if not bad:
            bad = list(CHECKED_WHERE_USED.get(h.name, ()))
            if not bad:
                yield pytest.param(h, UNLISTED, id=f"{h.name}-unlisted")
        for value in bad:
            yield pytest.param(h, value, id=f"{h.name}={value!r}")


@pytest.mark.parametrize("entry, bad", list(bad_cases()))
def test_fit_rejects_a_bad_value_naming_it(entry, bad, moons):
    """``NeuralNetwork(name=bad).fit`` raises TypeError or ValueError whose message names
    the parameter, for each value of ``BAD_CANDIDATES`` the entry's ``check`` rejects (or, for
    a pass-through check, the values of ``CHECKED_WHERE_USED``)."""
    if bad is UNLISTED:
        pytest.fail(f"the check of {entry.name!r} accepts every value tried; list bad values "
                    f"for it in CHECKED_WHERE_USED")
    X, y = moons
    params = {"epochs": 1, "backend": "numpy", entry.name: bad}
    with pytest.raises((TypeError, ValueError)) as info:
        NeuralNetwork(**params).fit(X, y)
    assert entry.name in str(info.value)


# -------------------------------------------------------------------- xpnet train flags
@pytest.mark.parametrize("entry, value", list(cli_cases()))
def test_flag_reaches_the_fitted_and_the_saved_model(entry, value, tmp_path):
    """``xpnet train --NAME VALUE``: the fitted model's ``get_params()[NAME]`` is the
    converted VALUE, every other hyperparameter keeps its CLI default, and ``xpnet.load``
    of the run's ``model.npz`` gives the same ``get_params()``."""
    text = nondefault_flag_value(entry) if value is None else value
    context = data_context(entry.name, parsed(entry, text))
    model = train(tmp_path / "run", *as_flags({**BASE, **context, entry.name: text}))
    expected = cli_params({**BASE, **context, entry.name: parsed(entry, text)})
    assert_params(model, expected, entry.name)
    assert_params(xpnet.load(tmp_path / "run" / "model.npz"), expected, entry.name)


@pytest.mark.parametrize("entry, value", list(cli_cases()))
def test_config_key_reaches_the_fitted_model(entry, value, tmp_path):
    """The same through ``--config``: a TOML file with key NAME (a native TOML value)."""
    text = nondefault_flag_value(entry) if value is None else value
    settings = {**BASE, **data_context(entry.name, parsed(entry, text)),
                entry.name: parsed(entry, text)}
    model = train(tmp_path / "run", "--config", write_config(tmp_path / "s.toml", settings))
    assert_params(model, cli_params(settings), entry.name)


@pytest.mark.parametrize("entry", NON_CLI_ENTRIES, ids=ids(NON_CLI_ENTRIES))
def test_an_entry_without_cli_is_no_config_key(entry, tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text(f"{entry.name} = {toml_value(nondefault_value(entry))}\n")
    with pytest.raises(ValueError, match=f"unknown setting '{entry.name}'"):
        _options.load_config(config)


def _all_nondefault():
    """``(flag settings, Python settings)``: every CLI entry at a non-default value."""
    texts = {h.name: nondefault_flag_value(h) for h in CLI_ENTRIES}
    values = {h.name: parsed(h, texts[h.name]) for h in CLI_ENTRIES}
    context = {}
    for name, value in values.items():
        context.update(data_context(name, value))
    for name, value in context.items():
        if name in values:
            assert values[name] == value, f"{name}: the non-default values need {value!r}"
    return {**BASE, **context, **texts}, {**BASE, **context, **values}


NONE_SETTINGS = {"hidden": "none", "batch_size": "full", "seed": "none", "loss": "none",
                 "learning_rate": "none", "lr_decay": "none"}


def write_config(path, settings):
    path.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in settings.items()))
    return path


@pytest.mark.parametrize("case", ["every-entry-non-default", "none-values"])
def test_the_runs_config_toml_reproduces_the_model(case, tmp_path):
    """The ``config.toml`` a run writes, given back with ``--config``, builds a model with
    the same ``get_params()``, and writes the same ``config.toml`` again. ``none-values``
    (given in a TOML file as text: ``--seed none`` does not work, see
    ``test_a_flag_meaning_none_reaches_the_model``) covers values written as a
    ``none_text`` ("full", "none") or left out as comments."""
    if case == "none-values":
        values = {**BASE, **{k: NETWORK[k].parse(v) for k, v in NONE_SETTINGS.items()}}
        config = write_config(tmp_path / "settings.toml", {**BASE, **NONE_SETTINGS})
        first = train(tmp_path / "first", "--config", config)
    else:
        flags, values = _all_nondefault()
        first = train(tmp_path / "first", *as_flags(flags))
    expected = cli_params(values)
    assert_params(first, expected)
    written = (tmp_path / "first" / "config.toml").read_text()
    loaded = _options.load_config(tmp_path / "first" / "config.toml")
    for name, value in values.items():
        assert loaded.get(name) == value, f"config.toml: {name} = {loaded.get(name)!r}"
    second = train(tmp_path / "second", "--config", tmp_path / "first" / "config.toml")
    assert_params(second, expected)
    assert (tmp_path / "second" / "config.toml").read_text() == written
    if case != "none-values":   # seeded: the very same training
        assert second.history_["cost"] == first.history_["cost"]


def none_flag_cases():
    """``(entry, text, over)``: the CLI entries whose flag text (``none_text``, else "none")
    converts to None, given over the CLI default (where that is not None) and over a
    ``--config`` value."""
    for h in CLI_ENTRIES:
        text = h.none_text or "none"
        try:
            if h.parse(text) is not None:
                continue
        except C.Bad:
            continue
        if h.flag_default is not None:
            yield pytest.param(h, text, "default", id=f"{h.name}={text}-over-default")
        yield pytest.param(h, text, "config", id=f"{h.name}={text}-over-config")


@pytest.mark.parametrize("entry, text, over", list(none_flag_cases()))
def test_a_flag_meaning_none_reaches_the_model(entry, text, over, tmp_path):
    """``--NAME none`` (or the entry's ``none_text``) sets NAME to None, over the CLI default
    and over a value from ``--config`` (flags win over the config file)."""
    args = []
    settings = dict(BASE)
    if over == "config":
        value = nondefault_value(entry)
        settings.update(data_context(entry.name, value))
        config = write_config(tmp_path / "settings.toml", {**settings, entry.name: value})
        args = ["--config", config]
    else:
        args = as_flags(settings)
    model = train(tmp_path / "run", *args, flag(entry.name), text)
    assert_params(model, cli_params({**settings, entry.name: None}), entry.name)


# ------------------------------------------------------------------------ --help
def help_blocks(capsys, monkeypatch):
    """``{group title: {flag: help text}}`` of ``xpnet train --help``."""
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--help"])
    assert exit_info.value.code == 0
    groups, block = {}, None
    for line in capsys.readouterr().out.splitlines():
        heading = re.fullmatch(r"(\S.*):", line)
        if heading:
            current = groups.setdefault(heading.group(1), {})
            block = None
        elif re.match(r"  -", line) and groups:
            names, _, text = line.strip().partition("  ")
            block = [text]
            for name in re.findall(r"--?[\w-]+", names):
                current[name] = block
        elif block is not None and line.strip():
            block.append(line)
    return {title: {name: " ".join(" ".join(b).split()) for name, b in flags.items()}
            for title, flags in groups.items()}


@pytest.fixture
def train_help(capsys, monkeypatch):
    return help_blocks(capsys, monkeypatch)


def test_help_lists_every_flag_in_the_model_group(train_help):
    """The "model options" group holds exactly a flag per CLI entry (and --no-FLAG for the
    booleans); entries without ``cli`` have no flag anywhere."""
    expected = set()
    for h in CLI_ENTRIES:
        expected.add(flag(h.name))
        if is_boolean(h):
            expected.add("--no-" + flag(h.name)[2:])
    model = train_help["model options"]
    assert set(model) == expected, (sorted(expected - set(model)), sorted(set(model) - expected))
    for h in CLI_ENTRIES:
        assert model[flag(h.name)], f"{flag(h.name)} has no help"
    every_flag = {name for flags in train_help.values() for name in flags}
    for h in NON_CLI_ENTRIES:
        assert flag(h.name) not in every_flag


@pytest.mark.parametrize("entry", [h for h in CLI_ENTRIES if choices(h)],
                         ids=ids(h for h in CLI_ENTRIES if choices(h)))
def test_help_names_every_choice(entry, train_help):
    text = train_help["model options"][flag(entry.name)]
    for name in choices(entry):
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (name, text)


@pytest.mark.parametrize("entry", CLI_ENTRIES, ids=ids(CLI_ENTRIES))
def test_help_states_the_real_default(entry, train_help):
    """Where a flag's help says ``(default: X)`` and X is a value of the flag, it is the
    default ``xpnet train`` uses (a hand-written default in the help can go stale)."""
    text = train_help["model options"][flag(entry.name)]
    match = re.search(r"\(default: ([^,;)]+)", text)
    if match is None:
        pytest.skip("its help states no default")
    try:
        stated = entry.parse(match.group(1).strip())
    except C.Bad:
        pytest.skip(f"its default is described in words: {match.group(1)!r}")
    assert stated == entry.flag_default, text


USERS = {name: [n for n, d in OPTIMIZERS.items() if name in d.uses] for name in NETWORK.names()}
OPTIMIZER_SETTINGS = [h for h in CLI_ENTRIES if USERS[h.name]]


def test_the_optimizer_settings_include_the_known_ones():
    assert {"beta", "beta1", "beta2", "epsilon", "weight_decay"} <= \
        {h.name for h in OPTIMIZER_SETTINGS}


@pytest.mark.parametrize("entry", OPTIMIZER_SETTINGS, ids=ids(OPTIMIZER_SETTINGS))
def test_help_names_the_optimizers_that_read_the_setting(entry, train_help):
    text = train_help["model options"][flag(entry.name)]
    match = re.search(r"used by: ([^;)]*)", text)
    assert match, f"{flag(entry.name)} does not say which optimizers use it: {text!r}"
    assert [n.strip() for n in match.group(1).split(",")] == USERS[entry.name], text


# ------------------------------------------------------------------------ persistence
@pytest.mark.parametrize("cls", [NeuralNetwork, NeuralNetworkRegressor])
def test_save_and_load_keep_every_non_default_value(cls, tmp_path, moons):
    """A model fitted with every hyperparameter at a non-default value (regression, the
    loss that reads ``delta``) saves and loads with identical ``get_params()``."""
    _, values = _all_nondefault()
    params = {h.name: values.get(h.name, nondefault_value(h)) for h in ENTRIES}
    X, y = moons
    model = cls(**params).fit(X, y.astype(np.float64))
    loaded = xpnet.load(model.save(tmp_path / "model.npz"))
    assert type(loaded) is cls
    assert loaded.get_params() == model.get_params() == params
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
