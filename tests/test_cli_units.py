"""In-process tests of the command line's parts: data files (xpnet.io), metrics
(xpnet.report), progress display (xpnet.progress), options and TOML config."""

from __future__ import annotations

import argparse
import io
import re

import numpy as np
import pytest

from xpnet import io as xio
from xpnet import progress, report
from xpnet.commands import _options as opts


# ------------------------------------------------------------------------------- CSV
def test_csv_with_text_labels_and_named_target():
    table = xio.read_csv_text("x, y ,label\n1,2,cat\n3,4.5,dog\n\n5,6,cat\n", target="label")
    assert table.feature_names == ("x", "y") and table.target_name == "label"
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4.5], [5, 6]])
    assert table.y.tolist() == ["cat", "dog", "cat"]


def test_csv_target_defaults_to_the_last_column_and_integers_stay_integers():
    table = xio.read_csv_text("label,a,b,k\n9,1,2,0\n8,3,4,1\n")
    assert table.target_name == "k" and table.y.dtype == np.int64
    assert table.feature_names == ("label", "a", "b")
    table = xio.read_csv_text("a,t\n1,0.5\n2,1.25\n")
    assert table.y.dtype == np.float64 and table.y.tolist() == [0.5, 1.25]


def test_csv_semicolons_and_tabs_are_detected():
    for sep in (";", "\t"):
        table = xio.read_csv_text(sep.join(["a", "b", "t"]) + "\n" + sep.join("120") + "\n"
                                  + sep.join("341") + "\n")
        np.testing.assert_array_equal(table.X, [[1, 2], [3, 4]])


def test_csv_non_numeric_feature_names_column_and_row():
    with pytest.raises(ValueError, match=r"column 'b' is not numeric: row 2 \(line 3\) "
                                         r"holds 'oops'"):
        xio.read_csv_text("a,b,t\n1,2,0\n3,oops,1\n")


def test_csv_missing_values_are_named():
    with pytest.raises(ValueError, match=r"column 'a' has a missing value at row 1"):
        xio.read_csv_text("a,b,t\nNA,2,0\n")
    with pytest.raises(ValueError, match=r"target column 't' has a missing value at row 2"):
        xio.read_csv_text("a,b,t\n1,2,0\n1,2,\n")


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("a,b\n", "no data rows"),
    ("1,2,3\n4,5,6\n", "looks like data, not a header"),
    ("a,a,t\n1,2,3\n", "names column 'a' twice"),
    ("a,,t\n1,2,3\n", "column 2 of the header"),
    ("a,b,t\n1,2\n", "line 2 has 2 fields but the header has 3"),
    ("t\n1\n", "only one column"),
])
def test_csv_malformed_files(text, message):
    with pytest.raises(ValueError, match=message):
        xio.read_csv_text(text)


def test_csv_unknown_target_lists_the_columns():
    with pytest.raises(ValueError, match=r"no column named 'z'.*'a', 'b'"):
        xio.read_csv_text("a,b\n1,2\n", target="z")


def test_csv_for_prediction_without_target_column():
    table = xio.read_csv_text("a,b\n1,2\n", need_target=False, n_features=2)
    assert table.y is None and table.feature_names == ("a", "b")


def test_load_table_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        xio.load_table(tmp_path / "missing.csv")
    with pytest.raises(IsADirectoryError):
        xio.load_table(tmp_path)
    (tmp_path / "latin1.csv").write_bytes(b"a,b\n\xe9,1\n")
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        xio.load_table(tmp_path / "latin1.csv")
    np.savez(tmp_path / "d.npz", X=np.ones((4, 3)), y=np.arange(4),
             feature_names=np.array(["p", "q", "r"]))
    table = xio.load_table(tmp_path / "d.npz")
    assert table.X.shape == (4, 3) and table.feature_names == ("p", "q", "r")
    np.testing.assert_array_equal(table.y, np.arange(4))


@pytest.mark.parametrize("arrays, message", [
    ({"A": np.ones((2, 2))}, "needs an array named 'X'"),
    ({"X": np.ones((2, 2))}, "needs an array named 'y'"),
    ({"X": np.ones((3, 2)), "y": np.ones(2)}, "one target per row"),
    ({"X": np.array([["a", "b"]]), "y": np.ones(1)}, "X must be numeric"),
    ({"xpnet_header": np.array("{}"), "X": np.ones((1, 1))}, "saved xpnet model"),
])
def test_npz_problems(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        xio.load_table(tmp_path / "d.npz")


# ---------------------------------------------------------------------------- metrics
def test_confusion_matrix_rows_true_columns_predicted():
    cm = report.confusion_matrix(["a", "b", "b", "c"], ["a", "c", "b", "c"],
                                 labels=["a", "b", "c"])
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    text = report.format_confusion(cm, ["a", "b", "c"])
    assert text.splitlines()[0] == "true \\ predicted"
    assert text.splitlines()[3].split() == ["b", "0", "1", "1"]


def test_regression_metrics():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert report.r2_score(y, y) == 1.0
    assert report.r2_score(y, np.full(4, 2.5)) == pytest.approx(0.0)
    assert report.mean_squared_error(y, y + 1) == 1.0
    assert report.half_mse(y, y + 2) == pytest.approx(2.0)
    assert report.mean_absolute_error(y, y - 3) == 3.0


def test_log_loss_and_label_alignment():
    P = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert report.log_loss([0, 1], P) == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    classes, y = report.align_labels(np.array(["0", "1"]), np.array([1, 0]))
    assert y.tolist() == ["1", "0"]


def test_evaluate_a_fitted_classifier():
    from xpnet import NeuralNetwork
    X = np.array([[0.0], [0.1], [0.9], [1.0]] * 5)
    y = np.array(["lo", "lo", "hi", "hi"] * 5)
    model = NeuralNetwork(hidden=(4,), epochs=200, learning_rate=0.05, seed=0).fit(X, y)
    result = report.evaluate(model, X, y)
    assert result["accuracy"] == 1.0
    assert result["labels"].tolist() == ["hi", "lo"]
    assert result["confusion"].sum() == 20
    dev = report.dev_metrics(model, X, y)
    assert dev["dev_score"] == 1.0 and dev["dev_cost"] < 0.5


# --------------------------------------------------------------------------- progress
class _Terminal(io.StringIO):
    def isatty(self):
        return True


LOGS = {"epoch": 1, "cost": 0.5, "lr": 0.1, "epoch_time": 0.01, "dev_cost": 0.6,
        "dev_score": 0.75}


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    display = progress.make_progress(3, stream=stream)
    assert isinstance(display, progress.PlainProgress)
    for e in range(3):
        display(e, dict(LOGS, epoch=e + 1))
    display.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and lines[2].startswith("epoch 3/3  cost 0.5000  dev_cost 0.6000")
    assert "dev_acc 0.7500" in lines[2]


def test_plain_lines_are_thinned_for_long_runs():
    stream = io.StringIO()
    display = progress.make_progress(1000, stream=stream)
    for e in range(1000):
        display(e, dict(LOGS, epoch=e + 1))
    lines = stream.getvalue().splitlines()
    assert 40 <= len(lines) <= 52
    assert lines[0].startswith("epoch    1/1000") and lines[-1].startswith("epoch 1000/1000")


def test_tqdm_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    stream = _Terminal()
    display = progress.make_progress(2, stream=stream, score_name="r2")
    assert isinstance(display, progress.TqdmProgress)
    display(0, LOGS)
    display(1, dict(LOGS, epoch=2))
    display.close()
    text = stream.getvalue()
    assert "2/2" in text and "dev_r2=0.7500" in text


def test_quiet_shows_nothing():
    stream = _Terminal()
    display = progress.make_progress(2, quiet=True, stream=stream)
    display(0, LOGS)
    display.close()
    assert stream.getvalue() == ""


# ---------------------------------------------------------------------------- options
@pytest.mark.parametrize("convert, text, value", [
    (opts.hidden_sizes, "64,32", (64, 32)),
    (opts.hidden_sizes, [16], (16,)),
    (opts.hidden_sizes, "none", ()),
    (opts.batch_size, "full", None),
    (opts.batch_size, "32", 32),
    (opts.keep_prob, "0.8", 0.8),
    (opts.keep_prob, "0.8,0.9", (0.8, 0.9)),
    (opts.lr_decay, "exponential:base=0.9", {"kind": "exponential", "base": 0.9}),
    (opts.lr_decay, "none", None),
    (opts.seed, "none", None),
    (opts.backend, "NumPy", "numpy"),
])
def test_option_converters(convert, text, value):
    assert convert(text) == value


@pytest.mark.parametrize("convert, text", [
    (opts.hidden_sizes, "64,-1"), (opts.batch_size, "0"), (opts.keep_prob, "1.5"),
    (opts.lr_decay, "cosine"), (opts.positive_int, "2.5"), (opts.backend, "tpu"),
    (opts.fraction, "1.0"), (opts.boolean, "maybe"),
])
def test_option_converters_reject(convert, text):
    with pytest.raises(argparse.ArgumentTypeError):
        convert(text)


def test_config_round_trip(tmp_path):
    values = {opt.dest: opt.default for opt in opts.OPTIONS}
    values.update(hidden=(32, 16), batch_size=None, lr_decay={"kind": "staircase", "step": 5.0},
                  keep_prob=(0.8, 0.9), backend="numpy", seed=None, data=str(tmp_path / "d.csv"))
    text = opts.dump_config(values)
    (tmp_path / "c.toml").write_text(text)
    loaded = opts.load_config(tmp_path / "c.toml")
    for key, value in loaded.items():
        assert value == values[key], key
    assert loaded["batch_size"] is None and loaded["seed"] is None


def test_config_errors(tmp_path):
    (tmp_path / "bad.toml").write_text("epochs = \n")
    with pytest.raises(ValueError, match="invalid TOML"):
        opts.load_config(tmp_path / "bad.toml")
    (tmp_path / "bad.toml").write_text("epochs = 0\n")
    with pytest.raises(ValueError, match="epochs: must be a positive integer"):
        opts.load_config(tmp_path / "bad.toml")


def test_a_model_saved_on_a_missing_backend_names_the_cli_option(tmp_path, monkeypatch):
    import xpnet
    from xpnet.backends import BackendUnavailable
    from xpnet.cli import CLIError
    from xpnet.commands._common import load_model
    from xpnet.network import persistence

    X = np.random.default_rng(0).standard_normal((20, 3))
    model = xpnet.NeuralNetwork(hidden=(4,), epochs=1, seed=0, backend="numpy")
    model.fit(X, X[:, 0] > 0).save(tmp_path / "m.npz")
    real = persistence.resolve

    def resolve(name):
        if name == "numpy":
            raise BackendUnavailable("backend 'numpy' cannot load here: a test says so")
        return real(name)

    monkeypatch.setattr(persistence, "resolve", resolve)
    with pytest.raises(BackendUnavailable, match="pass backend='numpy'"):
        xpnet.load(tmp_path / "m.npz")
    with pytest.raises(CLIError) as err:
        load_model(str(tmp_path / "m.npz"))
    message = str(err.value)
    assert "a test says so" in message and "add --backend numpy" in message
    assert "backend=" not in message
    with pytest.raises(BackendUnavailable, match="a test says so"):
        load_model(str(tmp_path / "m.npz"), backend="numpy")
    assert load_model(str(tmp_path / "m.npz"), backend="loops").backend == "loops"


# ------------------------------------------------------------------ columns matched by name
FEATURES = ("a", "b", "c", "d")


def test_csv_columns_are_found_by_the_models_names_in_any_order():
    text = "label,d,b,a,c\nx,4,2,1,3\ny,8,6,5,7\n"
    table = xio.read_csv_text(text, need_target=False, features=FEATURES)
    assert table.feature_names == FEATURES and table.target_name == "label"
    np.testing.assert_array_equal(table.X, [[1, 2, 3, 4], [5, 6, 7, 8]])
    assert table.y.tolist() == ["x", "y"]
    only = xio.read_csv_text("c,a,d,b\n3,1,4,2\n", need_target=False, features=FEATURES)
    np.testing.assert_array_equal(only.X, [[1, 2, 3, 4]])
    assert only.y is None and only.target_name is None
    first = xio.read_csv_text("y,c,a,d,b\n0,3,1,4,2\n", target="y", features=FEATURES)
    np.testing.assert_array_equal(first.X, [[1, 2, 3, 4]])
    assert first.y.tolist() == [0]


@pytest.mark.parametrize("text,kwargs,message", [
    ("a,b,c,y\n1,2,3,0\n", {}, "no column 'd'; the model was trained on the columns 'a'"),
    ("id,a,b,c,d,y\n9,1,2,3,4,0\n", {}, "columns 'id', 'y' are not among the model's features"),
    ("id,a,b,c,d,y\n9,1,2,3,4,0\n", {"target": "y"}, "columns 'id' are not among"),
    ("a,b,c,d,y\n1,2,3,4,0\n", {"target": "b"}, "--target 'b' is one of the model's feature"),
    ("a,b,c,d\n1,2,3,4\n", {"need_target": True}, "no target column"),
])
def test_csv_columns_by_name_errors(text, kwargs, message):
    kwargs = {"need_target": False, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        xio.read_csv_text(text, features=FEATURES, source="f.csv", **kwargs)


def test_select_features_reorders_named_tables_and_leaves_unnamed_ones():
    X = np.arange(8.0).reshape(2, 4)
    table = xio.Table(X, None, ("d", "c", "b", "a"), None, "data.npz")
    picked = xio.select_features(table, FEATURES)
    np.testing.assert_array_equal(picked.X, X[:, ::-1])
    assert picked.feature_names == FEATURES
    unnamed = xio.Table(X, None, ("x0", "x1", "x2", "x3"), None, "data.npz", named=False)
    assert xio.select_features(unnamed, FEATURES) is unnamed
    assert xio.select_features(table, None) is table
    with pytest.raises(ValueError, match="no column 'a'"):
        xio.select_features(xio.Table(X, None, ("d", "c", "b", "e"), None, "t"), FEATURES)
    wide = xio.Table(np.ones((1, 5)), None, ("a", "b", "c", "d", "e"), None, "t")
    with pytest.raises(ValueError, match="columns 'e' are not among the model's"):
        xio.select_features(wide, FEATURES)


def test_npz_without_feature_names_is_unnamed(tmp_path):
    np.savez(tmp_path / "plain.npz", X=np.ones((2, 3)))
    np.savez(tmp_path / "named.npz", X=np.ones((2, 3)), feature_names=np.array(["p", "q", "r"]))
    assert not xio.load_table(tmp_path / "plain.npz", need_target=False).named
    named = xio.load_table(tmp_path / "named.npz", need_target=False)
    assert named.named and named.feature_names == ("p", "q", "r")
