"""Hypothesis strategies for ``tests/test_fuzz.py``: hostile values for hyperparameters, arrays
and labels for the estimators, flag text and CSV files for ``xpnet train``, and damage for
saved model files.

Sizes stay tiny (a dozen rows, a few columns) so that every example trains in milliseconds.
``fuzz_settings(n)`` gives ``n`` examples (times ``XPNET_FUZZ_SCALE``, default 1), no deadline,
no example database (nothing is written into the checkout) and, unless ``XPNET_FUZZ_RANDOM=1``,
derandomized draws, so that the suite gives the same verdict on every run; set both to fuzz
for real, e.g. ``XPNET_FUZZ_SCALE=50 XPNET_FUZZ_RANDOM=1 pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import fractions
import io
import math
import numbers
import os
import warnings
import zipfile

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SCALE = float(os.environ.get("XPNET_FUZZ_SCALE", "1") or 1)
RANDOM = os.environ.get("XPNET_FUZZ_RANDOM", "") not in ("", "0")


def fuzz_settings(n):
    """``n`` examples (scaled), no deadline, no database, derandomized unless asked not to."""
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, database=None,
                    derandomize=not RANDOM, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


# ----------------------------------------------------------------------------- any value
HUGE_INTS = [2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**18, 10**100, 10**400,
             -2**63 - 1, -10**100]
SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, -1e308, 5e-324,
                  2.2250738585072014e-308, 1e-300, 1.0 - 2**-53, 1.0 + 2**-52, 0.5, 1.0, 2.0,
                  1e-3, 0.9, 0.999, 3.4e38, 6.6e4]
#: Words an estimator or a flag may meet: names of choices, booleans spelt out, numbers in
#: text, schedule specs good and bad.
WORDS = ["", " ", "true", "false", "True", "no", "yes", "on", "off", "none", "None", "null",
         "full", "auto", "0", "1", "-1", "2", "1.5", "1e-3", "-0", "0.0", "nan", "inf", "-inf",
         "1e308", "1e309", "abc", "relu", "sigmoid", "tanh", "leaky_relu", "softmax", "linear",
         "gelu", "adam", "adamw", "gd", "sgd", "momentum", "rmsprop", "he", "xavier", "glorot",
         "zeros", "random", "large", "float32", "float64", "float16", "int32", "numpy", "loops",
         "cupy", "classification", "regression", "mse", "huber", "binary_crossentropy",
         "categorical_crossentropy", "balanced", "exponential", "inverse_time", "inverse_sqrt",
         "staircase", "exponential:base=0.9", "exponential:base=-1", "exponential:base=0",
         "exponential:base=1e400", "exponential:base=", "exponential:", ":", "exponential:foo=1",
         "staircase:step=0", "staircase:step=1.5", "staircase:factor=nan",
         "inverse_time:decay_rate=-1", "inverse_time:time_interval=0", "inverse_sqrt:k=0",
         "64,32", "3,", ",", "0,3", "3,-1", "1,2,3", "[1, 2]", "{}", "0x10", "1_000", "\u0663",
         "\uff13", "\x00", "\u00e9", "a" * 300, "1" * 400, "digits", "iris", "moons", "gd,sgd",
         "minibatch", "99999999999999999999"]


def _callable_pool():
    """Callables an ``lr_decay`` (or any other parameter) may be given."""
    return [lambda epoch: 1.0, lambda epoch: 0.5 ** epoch, lambda epoch: -1.0,
            lambda epoch: math.nan, lambda epoch: math.inf, lambda epoch: 0.0,
            lambda epoch: "x", lambda epoch: None, lambda epoch: [1.0],
            lambda epoch: 10.0 ** (400 * (epoch + 1)), lambda epoch: np.float32(0.9),
            lambda epoch: 1e-320, print, len, abs, float, int, str, np.exp, object]


def numpy_scalars():
    return st.one_of(
        st.floats(width=64).map(np.float64), st.floats(width=32).map(np.float32),
        st.floats(width=16).map(np.float16), st.integers(-2**63, 2**63 - 1).map(np.int64),
        st.integers(-128, 127).map(np.int8), st.integers(0, 2**64 - 1).map(np.uint64),
        st.booleans().map(np.bool_), st.just(np.float64("nan")), st.just(np.longdouble(1.5)))


def numbers_():
    return st.one_of(st.integers(-3, 3), st.integers(), st.sampled_from(HUGE_INTS),
                     st.floats(), st.sampled_from(SPECIAL_FLOATS),
                     st.fractions(max_denominator=12),
                     st.complex_numbers(max_magnitude=10), numpy_scalars())


def texts():
    return st.one_of(st.sampled_from(WORDS), st.text(max_size=12),
                     st.from_regex(r"-?[0-9]{0,3}(\.[0-9]{0,3})?(e-?[0-9]{1,3})?", fullmatch=True))


def containers(inner):
    small = st.one_of(st.integers(-2, 8), st.floats(-2, 2), st.sampled_from(WORDS[:12]))
    return st.one_of(
        st.lists(small, max_size=4), st.lists(small, max_size=4).map(tuple),
        st.dictionaries(st.sampled_from(["kind", "base", "step", "factor", "k", "decay_rate",
                                         "time_interval", 0, 1, "a"]),
                        st.one_of(small, inner), max_size=3),
        st.lists(small, max_size=3).map(set), st.lists(small, max_size=4).map(np.array))


def anything():
    """None, booleans, numbers of every kind, text, containers, callables, odd objects."""
    base = st.one_of(st.none(), st.booleans(), numbers_(), texts(),
                     st.sampled_from(_callable_pool()), st.just(object()),
                     st.binary(max_size=4), st.just(Ellipsis), st.just(np.float64))
    return st.one_of(base, containers(base))


# ------------------------------------------------------------------------ known bug filters
def outside_int64(value):
    """A Python integer (or Fraction) that ``np.isfinite`` refuses, or a container holding
    one: the known bug ``huge_int_hyperparameter`` of the real-valued checks."""
    if isinstance(value, dict):
        return any(outside_int64(v) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return any(outside_int64(v) for v in value)
    if isinstance(value, fractions.Fraction):
        return True
    return (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
            and not isinstance(value, np.integer) and not -2**63 <= value < 2**64)


def int_like(value):
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def too_costly_size(value, limit):
    """An int (or a sequence holding one) above ``limit``: a valid size too slow to train
    or too big to allocate here (the huge ones are the known bug ``huge_hidden``)."""
    items = value if isinstance(value, (list, tuple, set, np.ndarray)) else [value]
    try:
        return any(int_like(v) and v > limit for v in items) or (
            isinstance(value, (list, tuple, np.ndarray)) and len(value) > 4)
    except TypeError:
        return False


# --------------------------------------------------------------------------- arrays and y
NUMERIC_DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_,
                  np.complex128, np.longdouble]


def clean_matrices(rows=st.integers(0, 14), cols=st.integers(0, 4)):
    """Ordinary float64 data of a random (possibly empty) shape."""
    return st.tuples(rows, cols).flatmap(lambda shape: hnp.arrays(
        np.float64, shape, elements=st.floats(-10, 10, allow_subnormal=False)))


def wild_arrays():
    """Numeric arrays of any small shape (0-d to 3-d, empty sides) and dtype, every float
    value allowed (NaN, inf, subnormals, 1e308)."""
    return st.sampled_from(NUMERIC_DTYPES).flatmap(lambda dt: hnp.arrays(
        dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)))


def cell_values():
    return st.one_of(st.floats(-5, 5), st.integers(-3, 3), st.none(), st.sampled_from(WORDS[:30]),
                     st.just(math.nan), st.booleans(), st.complex_numbers(max_magnitude=2),
                     st.lists(st.integers(0, 2), max_size=2))


def object_arrays():
    return st.tuples(st.integers(0, 10), st.integers(1, 3)).flatmap(lambda s: st.lists(
        st.lists(cell_values(), min_size=s[1], max_size=s[1]), min_size=s[0], max_size=s[0])
        .map(lambda rows: _object_array(rows, s)))


def _object_array(rows, shape):
    out = np.empty(shape, dtype=object)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            out[i, j] = v
    return out


def text_arrays():
    return st.tuples(st.integers(0, 10), st.integers(1, 3)).flatmap(lambda s: hnp.arrays(
        "U6", s, elements=st.one_of(st.sampled_from(["1", "2.5", "-0", "nan", "inf", "", "a",
                                                     "1e400", " 3 "]), st.text(NO_NUL,
                                                                               max_size=4))))


#: Characters a NumPy unicode array can hold (it drops trailing NULs).
NO_NUL = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))


def ragged_lists():
    return st.lists(st.lists(st.floats(-5, 5), min_size=0, max_size=4), min_size=1, max_size=8)


def features():
    """What a user may pass as X: clean and wild arrays, object/str arrays, ragged lists,
    nested lists, scalars, None, dicts, strings."""
    return st.one_of(
        clean_matrices(), clean_matrices(), clean_matrices().map(lambda a: a * 1e300),
        clean_matrices().map(lambda a: a.tolist()), wild_arrays(), object_arrays(),
        text_arrays(), ragged_lists(), st.none(), st.floats(), st.text(max_size=3),
        st.just({"a": [1, 2]}), st.just(set()))


def labels_for(n):
    """Targets for ``n`` samples (and wrong lengths, shapes and kinds)."""
    length = st.one_of(st.just(n), st.just(n), st.just(n), st.integers(0, n + 2))
    return st.one_of(
        length.flatmap(lambda k: hnp.arrays(np.int64, k, elements=st.integers(0, 2))),
        length.flatmap(lambda k: hnp.arrays(np.int64, k, elements=st.just(1))),
        length.flatmap(lambda k: hnp.arrays(np.float64, k)),
        length.flatmap(lambda k: hnp.arrays(np.float64, k, elements=st.floats(-3, 3))),
        length.flatmap(lambda k: hnp.arrays("U3", k, elements=st.sampled_from(["a", "b", ""]))),
        length.flatmap(lambda k: hnp.arrays(np.bool_, k)),
        length.flatmap(lambda k: st.lists(cell_values(), min_size=k, max_size=k)),
        length.flatmap(lambda k: hnp.arrays(np.int64, (k, 1), elements=st.integers(0, 1))),
        length.flatmap(lambda k: hnp.arrays(np.int64, (k, 2), elements=st.integers(0, 1))),
        length.flatmap(lambda k: hnp.arrays(np.complex128, k)),
        st.none(), st.just(1.0), st.text(max_size=3))


# ------------------------------------------------------------------------------ CLI input
def flag_text():
    return st.one_of(st.sampled_from(WORDS), st.text(max_size=16),
                     st.from_regex(r"-?[0-9]{0,3}(\.[0-9]{0,3})?(e-?[0-9]{1,3})?", fullmatch=True),
                     st.lists(st.integers(-2, 40), min_size=1, max_size=3)
                     .map(lambda v: ",".join(map(str, v))))


CSV_CELLS = ["1", "0", "-1", "2.5", "1e308", "1e309", "inf", "-inf", "nan", "NA", "", "a",
             "x y", '"1"', '"a,b"', '"', '""', "1,5", "0x1f", "1_0", "\x00", "\u00e9", "\ufeff1",
             " 3 ", "1e-320", "-0", "TRUE", "9" * 400, "1;2", "\t", "\r", 'a"b', "?", "null"]


@st.composite
def csv_files(draw):
    """Bytes of a small CSV file: good and bad cells, wrong field counts, empty files,
    header-only files, blank lines, binary junk, BOMs, other encodings, long lines (below the
    csv module's 131,072-character field limit: above it is the known bug
    ``csv_field_limit``)."""
    kind = draw(st.sampled_from(["table"] * 8 + ["empty", "binary", "header"]))
    if kind == "empty":
        return b""
    if kind == "binary":
        return draw(st.binary(min_size=1, max_size=300))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    ncol = draw(st.integers(1, 5))
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "label", "x", "", "y", '"q"',
                                           '"a,b"', "a"]), min_size=ncol, max_size=ncol))
    lines = [sep.join(names)]
    if kind == "table":
        for _ in range(draw(st.integers(0, 24))):
            n = draw(st.one_of(st.just(ncol), st.just(ncol), st.integers(0, ncol + 2)))
            if draw(st.booleans()) or draw(st.booleans()):
                row = [repr(draw(st.floats(-3, 3))) for _ in range(n)]
                if n:
                    row[-1] = draw(st.sampled_from(["0", "1", "0", "1"] + CSV_CELLS))
            else:
                row = [draw(st.sampled_from(CSV_CELLS)) for _ in range(n)]
            lines.append(sep.join(row))
        if draw(st.integers(0, 9)) == 0:
            lines.append("")
        if draw(st.integers(0, 14)) == 0:
            lines.append(draw(st.sampled_from("x9")) * draw(st.integers(10_000, 120_000)))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode("utf-8")


# ----------------------------------------------------------------------------- model files
def zip_members(blob):
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def zip_bytes(members, compression=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", compression) as zf:
        warnings.simplefilter("ignore")  # "Duplicate name": a duplicate is what we want
        for name, data in members:
            zf.writestr(name, data)
    return out.getvalue()


@st.composite
def damaged(draw, blobs):
    """A saved model (one of ``blobs``) damaged: bit flips, truncation, inserted or copied
    bytes, or archive members swapped, dropped, renamed, duplicated, taken from another model
    or stored uncompressed."""
    name = draw(st.sampled_from(sorted(blobs)))
    data = bytearray(blobs[name])
    kind = draw(st.sampled_from(["flip", "flip", "truncate", "insert", "copy", "members"]))
    size = len(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, size - 1))] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        del data[draw(st.integers(0, size - 1)):]
    elif kind == "insert":
        at = draw(st.integers(0, size))
        data[at:at] = draw(st.binary(min_size=1, max_size=64))
    elif kind == "copy":
        a, b, n = draw(st.integers(0, size - 1)), draw(st.integers(0, size - 1)), \
            draw(st.integers(1, 64))
        data[a:a + n] = data[b:b + n]
    else:
        members = zip_members(bytes(data))
        other = dict(zip_members(blobs[draw(st.sampled_from(sorted(blobs)))]))
        names = [m[0] for m in members]
        op = draw(st.sampled_from(["swap", "drop", "rename", "duplicate", "foreign", "stored"]))
        i, j = draw(st.integers(0, len(names) - 1)), draw(st.integers(0, len(names) - 1))
        if op == "swap":
            members[i], members[j] = (members[i][0], members[j][1]), (members[j][0],
                                                                      members[i][1])
        elif op == "drop":
            del members[i]
        elif op == "rename":
            members[i] = (draw(st.sampled_from(["x.npy", "param.W9.npy", "classes_",
                                                "xpnet_header.npy", names[j]])), members[i][1])
        elif op == "duplicate":
            members.append(members[i])
        elif op == "foreign" and names[i] in other:
            members[i] = (names[i], other[names[i]])
        try:
            return zip_bytes(members, zipfile.ZIP_STORED if op == "stored"
                             else zipfile.ZIP_DEFLATED)
        except (ValueError, zipfile.BadZipFile):
            return bytes(data)
    return bytes(data)
