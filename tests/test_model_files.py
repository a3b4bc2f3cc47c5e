"""Model files from outside: crafted, damaged or hostile ``.npz`` files are refused by
``xpnet.load`` with a ValueError before they cost memory, and a save killed with SIGKILL leaves
the previous model intact."""

from __future__ import annotations

import io
import json
import os
import pickle
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import xpnet
from xpnet.network import model_file, persistence

from kill_helpers import SAVE_CHILD, anonymous_supported, start_and_kill

MiB = 2**20


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A binary, a three-class (batch norm) and a regression model, saved once."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4))
    folder = tmp_path_factory.mktemp("models")
    fits = {
        "binary": xpnet.NeuralNetwork(hidden=(6,), epochs=2, seed=0, backend="numpy")
        .fit(X, (X[:, 0] > 0).astype(int)),
        "multi": xpnet.NeuralNetwork(hidden=(5,), batch_norm=True, epochs=2, seed=0,
                                     backend="numpy").fit(X, np.argmax(X[:, :3], axis=1)),
        "regression": xpnet.NeuralNetworkRegressor(hidden=(3,), epochs=2, seed=0,
                                                   backend="numpy").fit(X, X[:, 0]),
    }
    for name, model in fits.items():
        model.save(folder / f"{name}.npz")
    return folder, X


@pytest.fixture
def binary(models, tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes((models[0] / "binary.npz").read_bytes())
    return path


@pytest.fixture
def multi(models, tmp_path):
    path = tmp_path / "multi.npz"
    path.write_bytes((models[0] / "multi.npz").read_bytes())
    return path


# ------------------------------------------------------------------------ crafting files
def npy_header(shape, dtype):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(
        np.dtype(dtype)), "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()


def npy(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=True)
    return buf.getvalue()


def craft(src, dst, zeros=None, arrays=None, header=None, arch=None, fitted=None, drop=(),
          extra_members=None, compression=zipfile.ZIP_DEFLATED):
    """Copy the model ``src`` to ``dst`` changing members on the way: ``zeros={name: (shape,
    dtype)}`` streams that many zero bytes (the inflated data never exists in memory here),
    ``arrays={name: array}`` replaces or adds members, ``header``/``arch``/``fitted`` update the
    JSON header, ``drop`` removes members, ``extra_members={filename: bytes}`` adds raw ones."""
    zeros, arrays = zeros or {}, dict(arrays or {})
    with zipfile.ZipFile(src) as zin:
        members = {i.filename[:-4]: zin.read(i) for i in zin.infolist()}
    doc = json.loads(str(np.lib.format.read_array(io.BytesIO(members["xpnet_header"]))[()]))
    doc.update(header or {})
    doc["architecture"].update(arch or {})
    doc["fitted"].update(fitted or {})
    members["xpnet_header"] = npy(np.array(json.dumps(doc)))
    members.update({name: npy(value) for name, value in arrays.items()})
    with zipfile.ZipFile(dst, "w", compression) as zout:
        for name, data in members.items():
            if name in drop:
                continue
            if name in zeros:
                _write_zeros(zout, name + ".npy", *zeros[name])
            else:
                zout.writestr(name + ".npy", data)
        for filename, data in (extra_members or {}).items():
            zout.writestr(filename, data)
    return dst


def _write_zeros(zout, filename, shape, dtype):
    left = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    chunk = bytes(16 * MiB)
    with zout.open(filename, "w", force_zip64=True) as fh:
        fh.write(npy_header(shape, dtype))
        while left:
            fh.write(chunk[:min(left, len(chunk))])
            left -= min(left, len(chunk))


def arrays_of(path):
    with np.load(path) as npz:
        return {name: npz[name] for name in npz.files if name != "xpnet_header"}


def load_peak(path, **kwargs):
    """``(exception, peak bytes traced)`` of loading ``path``."""
    tracemalloc.start()
    try:
        persistence.load_model(path, **kwargs)
        error = None
    except ValueError as exc:
        error = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak


# ---------------------------------------------------------------- 1. bounded by the file
def test_a_zip_bomb_is_refused_before_it_inflates(binary, tmp_path):
    """The issue's file: one member inflating to 1.5 GB from 1.6 MB (here 200 MB from 0.2 MB,
    same ratio); load used to inflate it before refusing its shape."""
    bomb = craft(binary, tmp_path / "bomb.npz", zeros={"param.W1": ((50 * MiB,), "float32")})
    assert os.path.getsize(bomb) < MiB
    error, peak = load_peak(bomb)
    assert error is not None and "refused before reading its arrays" in str(error)
    assert "200.0 MiB uncompressed" in str(error) and str(bomb) in str(error)
    assert peak < 8 * MiB


def test_an_architecture_consistent_bomb_is_refused(binary, tmp_path):
    """Header, shapes and sizes all agree on a 10-million-feature network: what the file holds
    (a few hundred KB) caps it, before anything is allocated."""
    n = 10_000_000
    bomb = craft(binary, tmp_path / "bomb.npz", arch={"layer_dims": [n, 6, 1]},
                 fitted={"n_features_in_": n},
                 zeros={"param.W1": ((6, n), "float32"), "normalizer.mean_": ((n,), "float64"),
                        "normalizer.std_": ((n,), "float64")})
    error, peak = load_peak(bomb)
    assert error is not None and "refused before reading its arrays" in str(error)
    assert peak < 8 * MiB


def test_a_member_larger_than_its_shape_is_refused_before_reading(binary, tmp_path):
    """Within the whole-file bound (32 MiB) but far beyond what W1 (6, 4) needs."""
    path = craft(binary, tmp_path / "big.npz", zeros={"param.W1": ((5_000_000,), "float32")})
    error, peak = load_peak(path)
    assert error is not None
    assert "param.W1 declares 19.1 MiB uncompressed, more than the 4.1 KiB of shape (6, 4)" \
        in str(error)
    assert peak < 4 * MiB


def test_arrays_are_checked_against_the_architecture(binary, tmp_path):
    W1 = arrays_of(binary)["param.W1"]
    cases = [({"param.W1": W1.T}, r"param.W1 has shape \(4, 6\) and dtype float32, expected "
                                  r"shape \(6, 4\) float32"),
             ({"param.W1": W1.astype(np.float64)}, "param.W1 has shape .* dtype float64"),
             ({"normalizer.mean_": np.zeros(3)}, r"normalizer.mean_ has shape \(3,\)"),
             ({"normalizer.std_": np.ones(4, dtype=np.complex64)},
              r"normalizer.std_ has shape \(4,\) and dtype complex64")]
    for change, message in cases:
        path = craft(binary, tmp_path / "x.npz", arrays=change)
        with pytest.raises(ValueError, match="truncated or corrupt: " + message):
            xpnet.load(path)


def test_members_the_architecture_does_not_have_are_refused(binary, tmp_path):
    cases = [(dict(arrays={"evil": np.zeros(3)}), r"holds arrays \['evil'\] that its header"),
             (dict(header={"arrays": ["param.W1", "param.W9"]}), r"lists arrays \['param.W9'\]"),
             (dict(header={"arrays": ["param.W1"]}), r"does not list the arrays \[.*param.W2"),
             (dict(extra_members={"notes.txt": b"hi"}), "'notes.txt' is not an .npy array"),
             (dict(drop=["classes_"]), r"the arrays \['classes_'\] listed in its header are "
                                       "missing")]
    for change, message in cases:
        path = craft(binary, tmp_path / "x.npz", **change)
        with pytest.raises(ValueError, match=message):
            xpnet.load(path)


def test_duplicate_encrypted_or_exotic_members_are_refused(binary, tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = craft(binary, tmp_path / "dup.npz",
                     extra_members={"param.W1.npy": npy(np.ones(3))})
    with pytest.raises(ValueError, match="'param.W1.npy' is there twice"):
        xpnet.load(path)
    path = craft(binary, tmp_path / "lzma.npz", compression=zipfile.ZIP_LZMA)
    with pytest.raises(ValueError, match="compressed with method 14"):
        xpnet.load(path)


def test_pickled_members_are_never_unpickled(binary, tmp_path):
    """An object array (a pickle) in place of classes_ is refused from its .npy header; its
    payload never runs."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = np.array([Payload(), Payload()], dtype=object)
    path = craft(binary, tmp_path / "pickle.npz", arrays={"classes_": evil})
    with pytest.raises(ValueError, match="classes_ has shape .* dtype object"):
        xpnet.load(path)
    assert not marker.exists()
    pickle.dumps(evil)  # the payload is a real one


# -------------------------------------------------- 2. the header's architecture is checked
@pytest.mark.parametrize("dims, message", [
    ([1e6, 1e6, 1], "layer_dims .* are not 2 to 1001 whole numbers"),
    ([4, -6, 1], "layer_dims"),
    ([4, 0, 1], "layer_dims"),
    ([4, 6.5, 1], "layer_dims"),
    ([4, True, 1], "layer_dims"),
    ([4, "6", 1], "layer_dims"),
    ([4], "layer_dims"),
    ("4-6-1", "layer_dims"),
    ([4] + [6] * 5000 + [1], r"layer_dims \[4, 6, 6, .*\.\.\.\]"),
])
def test_an_impossible_architecture_is_a_value_error(binary, tmp_path, dims, message):
    path = craft(binary, tmp_path / "x.npz", arch={"layer_dims": dims})
    with pytest.raises(ValueError, match="truncated or corrupt: its " + message):
        xpnet.load(path)


def test_a_huge_declared_network_is_a_value_error_not_memory_error(binary, tmp_path):
    """layer_dims [1e6, 1e6, 1] as integers used to raise MemoryError (3.6 TiB)."""
    path = craft(binary, tmp_path / "x.npz", arch={"layer_dims": [1000000, 1000000, 1]},
                 fitted={"n_features_in_": 1000000})
    error, peak = load_peak(path)
    assert isinstance(error, ValueError)
    assert "declares a network of 1,000,002,000,001 parameters" in str(error)
    assert peak < 4 * MiB
    path = craft(binary, tmp_path / "y.npz", arch={"layer_dims": [1000000, 1000000, 1]})
    with pytest.raises(ValueError, match="n_features_in_ 4 is not layer_dims"):
        xpnet.load(path)


def test_other_header_fields_are_checked(binary, tmp_path):
    cases = [({"fitted": {"task_": "ranking"}}, "task_ 'ranking' is neither"),
             ({"arch": {"batch_norm": "false"}}, "batch_norm 'false' is not true or false"),
             ({"fitted": {"dtype": "float16"}}, "dtype must be 'float32' or 'float64'"),
             ({"arch": {"activations": ["relu", "nope"]}}, "does not describe a network")]
    for change, message in cases:
        path = craft(binary, tmp_path / "x.npz", **change)
        with pytest.raises(ValueError, match=message):
            xpnet.load(path)


def test_the_bound_can_be_raised_for_a_model_of_constant_weights(tmp_path, monkeypatch):
    """A zeros-initialized network keeps all-zero weights: it compresses ~60x. Under a small
    bound it is refused with the advice; max_bytes loads it."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 300))
    model = xpnet.NeuralNetwork(hidden=(200,), init="zeros", epochs=1, seed=0,
                                backend="numpy").fit(X, X[:, 0] > 0)
    model.save(tmp_path / "z.npz")
    assert xpnet.load(tmp_path / "z.npz").predict(X).tolist() == model.predict(X).tolist()
    monkeypatch.setattr(model_file, "INFLATE_SLACK", 0)
    with pytest.raises(ValueError, match=r"load_model\(path, max_bytes=\d+\)") as info:
        xpnet.load(tmp_path / "z.npz")
    need = int(str(info.value).rsplit("max_bytes=", 1)[1].rstrip(")"))
    loaded = persistence.load_model(tmp_path / "z.npz", max_bytes=need)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


# ------------------------------------------------------------------- 3. values are checked
@pytest.mark.parametrize("name, value, message", [
    ("param.W1", lambda a: _poke(a, np.nan), "param.W1 holds 1 NaN or infinite value"),
    ("param.b2", lambda a: _poke(a, np.inf), "param.b2 holds 1 NaN or infinite value"),
    ("normalizer.mean_", lambda a: _poke(a, -np.inf), "normalizer.mean_ holds 1 NaN"),
    ("normalizer.std_", lambda a: _poke(a, np.nan), "normalizer.std_ holds 1 NaN"),
    ("normalizer.std_", lambda a: _poke(a, 0.0), r"normalizer.std_ holds 1 value\(s\) <= 0"),
    ("normalizer.std_", lambda a: -a, r"normalizer.std_ holds 4 value\(s\) <= 0"),
])
def test_non_finite_or_non_positive_values_are_refused(binary, tmp_path, name, value, message):
    path = craft(binary, tmp_path / "x.npz", arrays={name: value(arrays_of(binary)[name])})
    with pytest.raises(ValueError, match=message + ".*retrain and save again"):
        xpnet.load(path)


def test_batch_norm_statistics_are_checked(multi, tmp_path):
    arrays = arrays_of(multi)
    for name, value, message in [("bn.mean1", _poke(arrays["bn.mean1"], np.nan), "bn.mean1 "),
                                 ("bn.var1", _poke(arrays["bn.var1"], -1.0), "bn.var1 holds neg"),
                                 ("param.gamma1", _poke(arrays["param.gamma1"], np.inf), "gam")]:
        path = craft(multi, tmp_path / "x.npz", arrays={name: value})
        with pytest.raises(ValueError, match=message):
            xpnet.load(path)


def _poke(array, value):
    out = array.copy()
    out.flat[0] = value
    return out


def test_inconsistent_classes_are_refused(binary, multi, tmp_path):
    """A binary model with one label used to give IndexError at predict."""
    cases = [(binary, np.array([1]), r"classes_ has shape \(1,\) .* expected shape \(2,\) "
                                     r"labels \(the output layer has 1 unit\(s\): 2 classes\)"),
             (binary, np.array([1, 1]), "classes_ holds duplicate labels"),
             (binary, np.array([1, 0]), "classes_ is not sorted"),
             (binary, np.array([0.0, np.nan]), "classes_ holds 1 NaN"),
             (multi, np.array(["a", "b"]), r"expected shape \(3,\)"),
             (multi, np.array(["a", "b", "c", "d"]), r"classes_ has shape \(4,\)"),
             (multi, np.array(["a", "b", "a"]), "duplicate labels")]
    for source, classes, message in cases:
        path = craft(source, tmp_path / "x.npz", arrays={"classes_": classes})
        with pytest.raises(ValueError, match=message):
            xpnet.load(path)


def test_the_saved_models_still_load(models):
    folder, X = models
    for name in ("binary", "multi", "regression"):
        assert xpnet.load(folder / f"{name}.npz").predict(X).shape == (40,)


def test_regression_target_scaling_arrays_are_checked(models, tmp_path):
    """A regressor's target scaling (saved with normalize=True): target.std_ must be
    positive."""
    source = models[0] / "regression.npz"
    listed = json.loads(str(np.load(source)["xpnet_header"]))["arrays"]
    assert "target.std_" in listed and "target.mean_" in listed
    path = craft(source, tmp_path / "t.npz", arrays={"target.std_": np.array([0.0])})
    with pytest.raises(ValueError, match=r"target.std_ holds 1 value\(s\) <= 0"):
        xpnet.load(path)


# -------------------------------------------------------------- 4. kill -9 during a save
@pytest.mark.parametrize("how", ["anonymous", "named"])
def test_a_save_killed_with_sigkill_leaves_the_model_intact(models, tmp_path, how):
    if how == "anonymous" and not anonymous_supported(tmp_path):
        pytest.skip("no O_TMPFILE on this file system")
    folder, X = models
    (tmp_path / "models").mkdir()
    path, ready = tmp_path / "models" / "m.npz", tmp_path / "ready"
    path.write_bytes((folder / "multi.npz").read_bytes())
    before = path.read_bytes()
    pid = start_and_kill(SAVE_CHILD, ready, [path, path, how], tmp_path)
    assert path.read_bytes() == before
    assert xpnet.load(path).predict(X).shape == (40,)
    orphans = sorted(n for n in os.listdir(path.parent) if n != "m.npz")
    if how == "anonymous":
        assert orphans == []  # the half-written file never had a name
        return
    assert len(orphans) == 1 and orphans[0].startswith(f".m.npz.{pid}.")
    orphan = path.parent / orphans[0]
    assert orphan.stat().st_size > MiB
    xpnet.load(path).save(path)  # a fresh orphan may be a live save elsewhere: kept
    assert orphan.exists()
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))
    xpnet.load(path).save(path)  # an hour old and its process gone: removed
    assert os.listdir(path.parent) == ["m.npz"]
