"""``model.save(path)`` / ``xpnet.load(path)``: round trips and every broken-file case."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import xpnet
from xpnet import _atomic, backends
from xpnet._atomic import atomic_open
from xpnet.network import persistence

CPU_BACKENDS = [n for n in backends.available_backends() if n != "cupy"]
ALL_BACKENDS = [pytest.param(n, marks=pytest.mark.gpu) if n == "cupy" else n
                for n in backends.available_backends()]


def classification(rng, m=60, n=4, labels=("cat", "dog", "emu")):
    X = rng.standard_normal((m, n))
    y = np.array(labels, dtype=object)[np.argmax(X[:, :len(labels)], axis=1)]
    return X, y


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X, y = classification(rng)
    model = xpnet.NeuralNetwork(hidden=(6, 5), batch_norm=True, keep_prob=[0.9, 0.8], epochs=3,
                                seed=0, backend="numpy", lr_decay={"kind": "exponential"})
    return model.fit(X, y), X


def assert_same_model(a, b, X):
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    for name, value in a.parameters_.items():
        assert b.parameters_[name].dtype == value.dtype
        np.testing.assert_array_equal(b.parameters_[name], value)
    assert a.get_params() == b.get_params()
    assert a.history_ == b.history_


# ------------------------------------------------------------------------ round trips
def test_round_trip_is_bitwise_identical(fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "model.npz"
    assert model.save(path) == str(path)
    loaded = xpnet.load(path)
    assert type(loaded) is xpnet.NeuralNetwork
    assert_same_model(model, loaded, X)
    assert list(loaded.classes_) == ["cat", "dog", "emu"] and loaded.classes_.dtype == object
    assert loaded.n_features_in_ == 4 and loaded.task_ == "classification"
    assert loaded.n_epochs_ == model.n_epochs_ and loaded.backend_ == "numpy"
    assert loaded.get_params()["hidden"] == (6, 5)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_on_every_backend(backend, dtype, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((12, 3))
    y = rng.integers(0, 2, 12)
    model = xpnet.NeuralNetwork(hidden=(3,), epochs=2, seed=0, backend=backend,
                                dtype=dtype).fit(X, y)
    model.save(tmp_path / "m.npz")
    loaded = xpnet.load(tmp_path / "m.npz")
    assert loaded.backend_ == backend
    assert_same_model(model, loaded, X)


def test_regression_and_multi_output(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 3))
    Y = np.column_stack([X[:, 0] * 2, X[:, 1] - X[:, 2]])
    for y in (Y[:, 0], Y):
        model = xpnet.NeuralNetworkRegressor(hidden=(5,), epochs=3, seed=0,
                                             backend="numpy").fit(X, y)
        model.save(tmp_path / "r.npz")
        loaded = xpnet.load(tmp_path / "r.npz")
        assert type(loaded) is xpnet.NeuralNetworkRegressor and loaded.task_ == "regression"
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        assert loaded.score(X, y) == model.score(X, y)


def test_numeric_labels_and_no_hidden_layer(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 2))
    y = np.where(X[:, 0] > 0, 7, -1)
    model = xpnet.NeuralNetwork(hidden=(), epochs=2, seed=0, backend="numpy").fit(X, y)
    model.save(tmp_path / "m.npz")
    loaded = xpnet.load(tmp_path / "m.npz")
    assert loaded.classes_.dtype == model.classes_.dtype
    assert_same_model(model, loaded, X)


def test_load_on_another_backend(fitted, tmp_path):
    model, X = fitted
    model.save(tmp_path / "m.npz")
    for name in CPU_BACKENDS:
        loaded = xpnet.load(tmp_path / "m.npz", backend=name)
        assert loaded.backend_ == name and loaded.backend == name
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X),
                                   rtol=1.3e-6, atol=1e-5)


def test_a_loaded_model_can_be_trained_again(fitted, tmp_path):
    model, X = fitted
    model.save(tmp_path / "m.npz")
    loaded = xpnet.load(tmp_path / "m.npz")
    refit = loaded.fit(X, model.predict(X))
    assert refit.n_epochs_ == 3


def test_the_file_needs_no_pickle(fitted, tmp_path):
    model, _ = fitted
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    assert all(a.dtype != object for a in arrays.values())
    header = json.loads(str(arrays["xpnet_header"]))
    assert header["format_version"] == 1 and header["xpnet_version"] == xpnet.__version__
    assert header["model_class"] == "NeuralNetwork"
    assert header["hyperparameters"]["learning_rate"] is None
    assert header["hyperparameters"]["lr_decay"] == {"kind": "exponential"}
    assert arrays["param.W1"].shape == (6, 4) and arrays["param.gamma1"].shape == (6, 1)
    assert "param.b1" not in arrays and arrays["param.b3"].shape == (3, 1)
    assert set(arrays) >= {"bn.mean1", "bn.var2", "normalizer.mean_", "classes_"}


def test_values_json_cannot_hold_are_listed_not_fatal(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((20, 2))
    y = (X[:, 0] > 0).astype(int)
    model = xpnet.NeuralNetwork(hidden=(2,), epochs=2, seed=0, backend="numpy",
                                lr_decay=lambda epoch: 0.9 ** epoch).fit(X, y)
    model.save(tmp_path / "m.npz")
    loaded = xpnet.load(tmp_path / "m.npz")
    assert loaded.lr_decay is None
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with np.load(tmp_path / "m.npz") as npz:
        assert "lr_decay" in json.loads(str(npz["xpnet_header"]))["not_saved"]


# ---------------------------------------------------------------------- atomic writes
def test_save_replaces_atomically_and_leaves_no_temp_files(fitted, tmp_path, monkeypatch):
    model, X = fitted
    path = tmp_path / "m.npz"
    model.save(path)
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 half a model")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.fixture(params=["anonymous", "named"])
def temp_kind(request, monkeypatch, tmp_path):
    """Each write test runs with the O_TMPFILE file (where the platform has it) and with the
    named fallback."""
    if request.param == "anonymous" and not _anonymous_supported(tmp_path):
        pytest.skip("no O_TMPFILE on this file system")
    monkeypatch.setattr(_atomic, "USE_O_TMPFILE", request.param == "anonymous")
    return request.param


def _anonymous_supported(folder):
    fd = _atomic._anonymous(str(folder), 0o600)
    if fd is not None:
        os.close(fd)
    return fd is not None


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_failed_save_leaves_the_file_with_either_temporary(fitted, tmp_path, monkeypatch,
                                                             temp_kind):
    model, _ = fitted
    path = tmp_path / "m.npz"
    model.save(path)
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]


def test_resaving_keeps_the_file_mode(fitted, tmp_path, temp_kind):
    """Re-saving over a chmod 600 model used to leave it 644."""
    model, _ = fitted
    path = tmp_path / "m.npz"
    model.save(path)
    for mode in (0o600, 0o640, 0o604):
        os.chmod(path, mode)
        model.save(path)
        assert mode_of(path) == mode
    assert os.listdir(tmp_path) == ["m.npz"]


def test_a_new_file_gets_the_umask_default(fitted, tmp_path, temp_kind):
    old = os.umask(0o027)
    try:
        fitted[0].save(tmp_path / "new.npz")
        with atomic_open(tmp_path / "new.txt", "w") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "new.npz") == 0o640 and mode_of(tmp_path / "new.txt") == 0o640
    assert _atomic._umask() == old


def test_saving_through_a_symlink_writes_its_target(fitted, tmp_path, temp_kind):
    """It used to replace the link by a file."""
    model, X = fitted
    (tmp_path / "store").mkdir()
    real, link = tmp_path / "store" / "model.npz", tmp_path / "link.npz"
    real.write_bytes(b"old")
    os.chmod(real, 0o600)
    link.symlink_to(real)
    assert model.save(link) == str(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert mode_of(real) == 0o600
    np.testing.assert_array_equal(xpnet.load(real).predict_proba(X), model.predict_proba(X))
    assert os.listdir(tmp_path / "store") == ["model.npz"]
    assert sorted(os.listdir(tmp_path)) == ["link.npz", "store"]


def test_text_files_keep_their_mode_and_links_too(tmp_path, temp_kind):
    """atomic_open serves the plots and the CLI's run files as well."""
    real, link = tmp_path / "report.txt", tmp_path / "latest.txt"
    real.write_text("old")
    os.chmod(real, 0o600)
    link.symlink_to(real.name)
    with atomic_open(link, "w", encoding="utf-8", newline="") as fh:
        fh.write("new\r\n")
    assert link.is_symlink() and real.read_bytes() == b"new\r\n" and mode_of(real) == 0o600
    with pytest.raises(ValueError):
        with atomic_open(real, "w") as fh:
            fh.write("half")
            raise ValueError("stop")
    assert real.read_bytes() == b"new\r\n"
    assert sorted(os.listdir(tmp_path)) == ["latest.txt", "report.txt"]


def test_a_refused_link_falls_back_to_a_named_copy(fitted, tmp_path, monkeypatch):
    """Where linkat through /proc is refused, the anonymous file is copied to a named one."""
    if not _anonymous_supported(tmp_path):
        pytest.skip("no O_TMPFILE on this file system")
    model, X = fitted
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)

    def refuse(*args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    model.save(path)
    assert mode_of(path) == 0o600 and os.listdir(tmp_path) == ["m.npz"]
    np.testing.assert_array_equal(xpnet.load(path).predict_proba(X), model.predict_proba(X))


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_the_target_are_removed(fitted, tmp_path):
    """30 kill -9 during saves left 28 orphans nothing cleaned; now each save removes those of
    its target that are an hour old with their process gone, or a day old."""
    dead, hour, day = _dead_pid(), time.time() - 2 * 3600, time.time() - 2 * 86400
    files = {  # name: (mtime, removed?)
        f".m.npz.{dead}.0123abcd.tmp": (hour, True),  # a killed save
        f".m.npz.{dead}.0123abce.tmp": (time.time(), False),  # fresh: maybe another machine's
        f".m.npz.{os.getpid()}.0123abcf.tmp": (hour, False),  # its process runs
        ".m.npz.1.0123abd0.tmp": (hour, False),  # pid 1 runs
        ".m.npz.1.0123abd1.tmp": (day, True),  # a day old: whatever its pid says
        ".m.npz.ab_d1234.tmp": (day, True),  # an orphan of xpnet before this scheme
        ".m.npz.ab_d1235.tmp": (hour, False),
        f".other.npz.{dead}.0123abcd.tmp": (day, False),  # another target's
        f".m.npz.{dead}.0123abcd.tmp.keep": (day, False),
        "m.npz.bak": (day, False),
    }
    for name, (mtime, _) in files.items():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (mtime, mtime))
    os.mkdir(tmp_path / f".m.npz.{dead}.0123abd2.tmp")  # not a file: kept
    fitted[0].save(tmp_path / "m.npz")
    left = set(os.listdir(tmp_path))
    assert left == {"m.npz", f".m.npz.{dead}.0123abd2.tmp"} | {
        name for name, (_, removed) in files.items() if not removed}


def test_save_errors(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        xpnet.NeuralNetwork().save(tmp_path / "m.npz")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((10, 2))
    model = xpnet.NeuralNetwork(hidden=(2,), epochs=1, seed=0).fit(X, X[:, 0] > 0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.save(tmp_path / "missing" / "m.npz")
    with pytest.raises(IsADirectoryError):
        model.save(tmp_path)


# -------------------------------------------------------------------- broken files
@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "m.npz"
    fitted[0].save(path)
    return path


def rewrite(path, header_update=None, drop=(), extra=None):
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    header = json.loads(str(arrays["xpnet_header"]))
    header.update(header_update or {})
    arrays["xpnet_header"] = np.array(json.dumps(header))
    for name in drop:
        arrays.pop(name)
    arrays.update(extra or {})
    np.savez(path, **arrays)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        xpnet.load(tmp_path / "nope.npz")


@pytest.mark.parametrize("version", [2, 0, "1"])
def test_unknown_format_version(saved, version):
    rewrite(saved, {"format_version": version})
    with pytest.raises(ValueError, match="unknown format version"):
        xpnet.load(saved)


def test_a_newer_version_says_to_upgrade(saved):
    rewrite(saved, {"format_version": 7, "xpnet_version": "9.0"})
    with pytest.raises(ValueError, match="upgrade xpnet"):
        xpnet.load(saved)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99, 100, 10])
def test_truncated_file(saved, keep):
    data = saved.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    saved.write_bytes(data[:n])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        xpnet.load(saved)


def test_empty_file(saved):
    saved.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        xpnet.load(saved)


def test_corrupted_bytes_inside_an_array(saved):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("param.W1.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 10, start + 30):
        data[i] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        xpnet.load(saved)


def test_random_bytes_are_not_a_model(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(ValueError, match="not an xpnet model"):
        xpnet.load(path)


def test_other_npz_and_npy_files_are_not_models(tmp_path):
    np.savez(tmp_path / "data.npz", X=np.ones(3))
    with pytest.raises(ValueError, match="not an xpnet model"):
        xpnet.load(tmp_path / "data.npz")
    np.save(tmp_path / "a.npy", np.ones(3))
    with pytest.raises(ValueError, match="not an xpnet model"):
        xpnet.load(tmp_path / "a.npy")
    np.savez(tmp_path / "other.npz", xpnet_header=np.array(json.dumps({"format": "other"})))
    with pytest.raises(ValueError, match="not an xpnet model"):
        xpnet.load(tmp_path / "other.npz")


def test_header_that_is_not_json(saved):
    rewrite(saved)
    with np.load(saved) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["xpnet_header"] = np.array('{"format": "xpnet-model", ')
    np.savez(saved, **arrays)
    with pytest.raises(ValueError, match="truncated or corrupt.*JSON"):
        xpnet.load(saved)


def test_missing_or_misshapen_arrays(saved, fitted):
    rewrite(saved, drop=["param.W2"])
    with pytest.raises(ValueError, match="truncated or corrupt.*param.W2"):
        xpnet.load(saved)
    fitted[0].save(saved)
    rewrite(saved, extra={"param.W1": np.zeros((2, 2), dtype=np.float32)})
    with pytest.raises(ValueError, match="truncated or corrupt.*shape"):
        xpnet.load(saved)


def test_unknown_model_class(saved):
    rewrite(saved, {"model_class": "Transformer"})
    with pytest.raises(ValueError, match="Transformer"):
        xpnet.load(saved)


def test_format_constants():
    assert persistence.FORMAT_VERSION == 1 and persistence.HEADER_KEY == "xpnet_header"


def test_misshapen_feature_names(saved, fitted):
    model, X = fitted
    model.feature_names_in_ = np.array([f"f{j}" for j in range(X.shape[1])])
    try:
        model.save(saved)
    finally:
        del model.feature_names_in_
    assert xpnet.load(saved).feature_names_in_.tolist() == [f"f{j}" for j in range(X.shape[1])]
    rewrite(saved, extra={"feature_names_in_": np.array(["only", "two"])})
    with pytest.raises(ValueError, match="truncated or corrupt.*feature_names_in_ has shape"):
        xpnet.load(saved)
    rewrite(saved, extra={"feature_names_in_": np.zeros(X.shape[1])})
    with pytest.raises(ValueError, match="feature_names_in_ .* expected"):
        xpnet.load(saved)


def test_a_format_1_file_written_before_the_op_registries_still_loads():
    """``tests/data/model_format1_xpnet0.1.npz`` was saved by xpnet 0.1 before the op registries
    and the hyperparameter schema (no ``loss_params``, no ``loss``/``delta``/``weight_decay``
    hyperparameters; batch norm and dropout on): it loads, predicts the very probabilities it
    predicted then, and the new hyperparameters take their defaults."""
    from xpnet.datasets import load_digits

    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    model = xpnet.load(os.path.join(here, "model_format1_xpnet0.1.npz"), backend="numpy")
    expected = np.load(os.path.join(here, "model_format1_xpnet0.1_proba.npy"))
    np.testing.assert_array_equal(model.predict_proba(load_digits().X[:50]), expected)
    params = model.get_params()
    assert params["loss"] is None and params["delta"] == 1.0 and params["weight_decay"] == 0.01
    assert model.arch_.loss == "categorical_crossentropy" and model.arch_.loss_params == {}


def test_save_refuses_what_load_would_refuse(fitted, tmp_path, monkeypatch):
    model, _ = fitted
    monkeypatch.setattr(model, "std_", np.where(np.arange(4) == 2, 0.0, 1.0))
    with pytest.raises(ValueError, match=r"cannot save this model: normalizer.std_ holds 1 "
                                         r"value\(s\) <= 0.*retrain it"):
        model.save(tmp_path / "m.npz")
    monkeypatch.setattr(model, "std_", np.ones(4))
    monkeypatch.setattr(model, "feature_names_in_", np.array(["a" * 5000, "b", "c", "d"]),
                        raising=False)
    with pytest.raises(ValueError, match="feature_names_in_ holds a string of more than 4096"):
        model.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []
