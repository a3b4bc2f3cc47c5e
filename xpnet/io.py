"""Reading users' data files for the command line: CSV with a header row, or NPZ with X and y.

``load_table(path, target=...)`` returns a :class:`Table` with ``X (n_samples, n_features)``
float64, ``y (n_samples,)`` (None when the file has no target), the feature names and the
target's name. No pandas needed: CSV is read in one streaming pass, chunks of lines into a
float array grown in place (``np.loadtxt`` for chunks of plain numbers, the standard ``csv``
module for any chunk with quotes, blank lines or a bad cell, which it reports).

CSV rules: the first non-empty row is the header; the delimiter (comma, semicolon, tab) is
detected; the target column is chosen by name (``target=``) and defaults to the last column.
Every feature column must be numeric: a text cell raises ValueError naming the column and the
row, and so does an empty or NA cell. Target labels may be text (classification); numeric
targets that are all whole numbers become int64, other numbers float64.

NPZ rules: arrays ``X`` (2-D) and ``y`` (1-D, optional for prediction); an optional
``feature_names`` array of strings. No pickled objects are loaded (``allow_pickle=False``).

Columns by name: given ``features`` (the names a saved model was trained on), a CSV's feature
columns are found by name, in any order, and returned in the model's order; the one column
left over, if any, is the target. A file with names that do not cover the model's raises
ValueError naming the missing ones; NPZ data with ``feature_names`` is matched the same way
(without, by position).
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import zipfile
from dataclasses import dataclass

import numpy as np

from .network.persistence import HEADER_KEY

__all__ = ["Table", "load_table", "load_csv", "load_npz", "read_csv_text", "select_features",
           "first_non_numeric", "MISSING"]

#: Cells read as "missing" (case-insensitive, after stripping spaces).
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_DELIMITERS = ",;\t"


@dataclass
class Table:
    """``X (n_samples, n_features)`` float64; ``y (n_samples,)`` or None; names; source.
    ``named``: the feature names come from the data (a header, a dataset, an NPZ's
    ``feature_names``), not made up as ``x0, x1, ...``."""

    X: np.ndarray
    y: np.ndarray | None
    feature_names: tuple
    target_name: str | None
    source: str
    named: bool = True

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]


def load_table(path, target=None, *, need_target=True, n_features=None, features=None):
    """Read ``path`` (CSV or NPZ, told apart by content); see the module docstring.

    ``target``: the target column's name (CSV). With ``need_target=False`` a file without
    targets is fine. ``n_features`` (a fitted model's input width) lets a CSV without a
    target column be read whole: when the file has exactly ``n_features`` columns and no
    ``target`` was named, all of them are features. ``features``: the model's feature names
    (module docstring).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"data file {path!r} not found")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory; pass a CSV or NPZ file")
    if _is_zip(path):
        return select_features(load_npz(path, need_target=need_target), features)
    return load_csv(path, target=target, need_target=need_target, n_features=n_features,
                    features=features)


def select_features(table, features):
    """``table`` with its feature columns reordered to the names ``features`` (a fitted
    model's), or unchanged when either side has no names; ValueError when names are missing."""
    if features is None or not table.named:
        return table
    features = tuple(str(n) for n in features)
    if tuple(table.feature_names) == features:
        return table
    _check_covers(table.feature_names, features, table.source)
    extra = [n for n in table.feature_names if n not in features]
    if extra:
        raise ValueError(f"{table.source}: feature columns {_show_names(extra)} are not among "
                         f"the model's ({_show_names(features)}); drop them")
    order = [table.feature_names.index(n) for n in features]
    return Table(table.X[:, order], table.y, features, table.target_name, table.source)


def _check_covers(names, features, source):
    missing = [n for n in features if n not in names]
    if missing:
        raise ValueError(f"{source}: no column{'s' if len(missing) > 1 else ''} "
                         f"{_show_names(missing)}; the model was trained on the columns "
                         f"{_show_names(features)} (matched by name, in any order)")


def _is_zip(path):
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


# ------------------------------------------------------------------------------- NPZ
def load_npz(path, *, need_target=True):
    """``X`` and ``y`` from an ``.npz`` file (names matched case-insensitively)."""
    try:
        fh = open(path, "rb")      # np.load(path) would leak its file when the archive is bad
    except OSError as exc:
        raise ValueError(f"{path}: not a readable NPZ file ({exc})") from None
    with fh:
        try:
            archive = np.load(fh, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path}: not a readable NPZ file ({exc})") from None
        X, y, names = _npz_arrays(archive, path, need_target)
    X = _npz_features(X, path)
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"{path}: y must be 1-D with one target per row of X; got X "
                             f"{X.shape} and y {y.shape}")
    if names is None or len(names) != X.shape[1]:
        return Table(X, y, tuple(f"x{j}" for j in range(X.shape[1])),
                     "y" if y is not None else None, path, named=False)
    return Table(X, y, tuple(str(n) for n in names), "y" if y is not None else None, path)


def _npz_arrays(archive, path, need_target):
    """``(X, y or None, feature_names or None)`` of an open NPZ data archive."""
    with archive:
        keys = {k.lower(): k for k in archive.files}
        if HEADER_KEY.lower() in keys:
            raise ValueError(f"{path} looks like a saved xpnet model, not a data file; pass "
                             "data as CSV or as NPZ with arrays X and y")
        if "x" not in keys:
            raise ValueError(f"{path}: NPZ data needs an array named 'X' (found: "
                             f"{', '.join(archive.files) or 'none'})")
        try:
            X = archive[keys["x"]]
            y = archive[keys["y"]] if "y" in keys else None
            names = archive[keys["feature_names"]] if "feature_names" in keys else None
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}; save plain numeric arrays") from None
    if y is None and need_target:
        raise ValueError(f"{path}: NPZ data needs an array named 'y' with the targets "
                         f"(found: {', '.join(sorted(keys.values()))})")
    return X, y, names


def _npz_features(X, path):
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise ValueError(f"{path}: X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: X must be numeric, got dtype {X.dtype}")
    return X.astype(np.float64)


# ------------------------------------------------------------------------------- CSV
#: Cells parsed per chunk of lines (under 1 MB of text): the memory a read needs beyond X.
CHUNK_CELLS = 1 << 16


def load_csv(path, target=None, *, need_target=True, n_features=None, features=None):
    """Read a CSV file with a header row; see the module docstring for the rules. One
    streaming pass: chunks of lines are parsed into a float array grown in place."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return _read_csv(fh, target, need_target, n_features, features, path,
                             os.path.getsize(path))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file; pass a CSV file with a header "
                         "row, or NPZ with arrays X and y") from None


def read_csv_text(text, target=None, *, need_target=True, n_features=None, features=None,
                  source="<csv>"):
    """Parse CSV ``text`` (header first) into a :class:`Table`."""
    return _read_csv(io.StringIO(text, newline=""), target, need_target, n_features, features,
                     source, len(text))


def _read_csv(fh, target, need_target, n_features, features, source, size):
    try:
        return _parse_csv(fh, target, need_target, n_features, features, source, size)
    except csv.Error as exc:   # a field beyond the csv module's limit, a NUL byte, ...
        raise ValueError(f"{source}: not a CSV table xpnet can read ({exc}); check the file "
                         "(a cell of more than 131,072 characters is refused)") from None


def _parse_csv(fh, target, need_target, n_features, features, source, size):
    lines, dialect = _sniff(fh)
    header, line = _header(lines, dialect, source)
    chunks = _chunks(lines, max(1, CHUNK_CELLS // len(header)))
    first = next(chunks, None)
    if first is None:
        raise ValueError(f"{source}: the file has a header but no data rows")
    if features is not None:
        f_cols, t_col = _named_columns(header, tuple(str(n) for n in features), target,
                                       need_target, source)
    else:
        t_col = _target_column(header, target, need_target, n_features, source)
        f_cols = [j for j in range(len(header)) if j != t_col]
    if not f_cols:
        raise ValueError(f"{source}: no feature columns left besides the target "
                         f"{header[t_col]!r}")
    layout = _Layout(header, f_cols, t_col, dialect, source)
    rows = _Rows(len(f_cols), _rows_estimate(first, size))
    _read_rows(itertools.chain([first], chunks), lines, line, layout, rows)
    if not rows.n:
        raise ValueError(f"{source}: the file has a header but no data rows")
    X, row_lines, cells = rows.finish()
    y = None if t_col is None else _target_values(cells, row_lines, header[t_col], source)
    return Table(X, y, tuple(header[j] for j in f_cols),
                 header[t_col] if t_col is not None else None, source)


def _sniff(fh):
    """``(the file's lines, dialect)``: the delimiter is detected on the first 20 lines."""
    first = list(itertools.islice(fh, 20))
    sample = "\n".join("".join(first).splitlines()[:20])
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    return itertools.chain(first, fh), dialect


def _header(lines, dialect, source):
    """The first non-empty row's names and its line number (``lines`` goes on after it)."""
    reader = csv.reader(lines, dialect)
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [cell.strip() for cell in row]
            _check_header(header, reader.line_num, source)
            return header, reader.line_num
    raise ValueError(f"{source}: the file is empty; a CSV needs a header row and data rows")


def _chunks(lines, size):
    while True:
        chunk = list(itertools.islice(lines, size))
        if not chunk:
            return
        yield chunk


def _rows_estimate(chunk, size):
    """Rows in a file of ``size`` characters with lines as long as those of ``chunk``, 10%
    more: room reserved, not touched (untouched pages cost no memory; the array grows if
    the estimate was short and is trimmed at the end)."""
    return int(1.1 * size * len(chunk) / max(sum(map(len, chunk)), 1)) + 1


@dataclass
class _Layout:
    """Where the feature and target cells of a row are, and how to read them."""

    header: list
    f_cols: list
    t_col: int | None
    dialect: object
    source: str

    @property
    def width(self):
        return len(self.header)

    def check_fields(self, row, line):
        if len(row) != self.width:
            raise ValueError(f"{self.source}: line {line} has {len(row)} fields but the "
                             f"header has {self.width}; every row needs one value per column")

    def numbers(self, row, row_number, line):
        return [_number(row[j], self.header[j], row_number, line, self.source)
                for j in self.f_cols]


class _Rows:
    """The data rows read so far: their features (a float array, grown in place), line
    numbers and target cells."""

    def __init__(self, n_features, capacity):
        self.X = np.empty((capacity, n_features))
        self.line = np.empty(capacity, dtype=np.int64)
        self.cells, self.n = [], 0

    def reserve(self, k):
        if self.n + k > len(self.line):
            capacity = max(self.n + k, len(self.line) * 3 // 2)
            self.X.resize((capacity, self.X.shape[1]), refcheck=False)
            self.line.resize(capacity, refcheck=False)

    def extend(self, X, cells, first_line):
        self.reserve(len(X))
        self.X[self.n:self.n + len(X)] = X
        self.line[self.n:self.n + len(X)] = np.arange(first_line, first_line + len(X))
        self.cells += cells or ()
        self.n += len(X)

    def append(self, values, cell, line):
        self.extend([values], None if cell is None else [cell], line)

    def finish(self):
        """``(X, line numbers, target cells)`` trimmed to the rows read."""
        self.X.resize((self.n, self.X.shape[1]), refcheck=False)
        self.line.resize(self.n, refcheck=False)
        return self.X, self.line, self.cells


def _read_rows(chunks, lines, line, layout, rows):
    """Each chunk in one numpy call where it is plain numbers, else through the csv module
    (:func:`_slow_rows`); ``line``: the header's line number."""
    for chunk in chunks:
        parsed = _fast_rows(chunk, layout)
        if parsed is None:
            line = _slow_rows(chunk, lines, line, layout, rows)
        else:
            rows.extend(*parsed, first_line=line + 1)
            line += len(chunk)


def _fast_rows(chunk, layout):
    """``(X, target cells)`` of ``chunk``, or None when a line needs the csv module: a wrong
    number of fields, a blank line, a quote outside a plain quoted target cell, a feature
    cell that is not a finite number (:func:`_slow_rows` names the problem)."""
    d = layout.dialect.delimiter
    if set(map(str.count, chunk, itertools.repeat(d, len(chunk)))) != {layout.width - 1}:
        return None
    if layout.width == 1 and not all(map(str.strip, chunk)):  # blank lines: csv skips them
        return None
    cells = None if layout.t_col is None else _raw_cells(chunk, layout.t_col, layout.width, d)
    q = layout.dialect.quotechar
    if q and q in "".join(chunk):
        cells = _unquoted(chunk, cells, q)
        if cells is None:
            return None
    try:
        X = np.loadtxt(chunk, delimiter=d, usecols=layout.f_cols, comments=None, ndmin=2,
                       dtype=np.float64)
    except ValueError:
        return None
    if X.shape[0] != len(chunk) or not np.isfinite(X).all():
        return None
    return X, cells


def _raw_cells(chunk, t, width, d):
    """Column ``t`` of each line (the last one with its line ending)."""
    if t == width - 1:
        return [line[line.rfind(d) + 1:] for line in chunk]
    if t == 0:
        return [line[:line.find(d)] for line in chunk]
    if t < width // 2:
        return [line.split(d, t + 1)[t] for line in chunk]
    return [line.rsplit(d, width - t)[1] for line in chunk]


def _unquoted(chunk, cells, q):
    """``cells`` with plain quoted ones (``"cat"``) unquoted, or None when a quote is
    anywhere else (a feature cell, a doubled quote): the csv module reads those."""
    if cells is None or sum(line.count(q) for line in chunk) != sum(c.count(q) for c in cells):
        return None
    out = []
    for cell in cells:
        if q in cell:
            cell = cell.rstrip("\r\n")
            if len(cell) < 2 or cell[0] != q or cell[-1] != q or q in cell[1:-1]:
                return None
            cell = cell[1:-1]
        out.append(cell)
    return out


def _slow_rows(chunk, lines, line, layout, rows):
    """The rows of ``chunk`` through the csv module (a quoted record may run on into
    ``lines``), every cell checked; returns the line number of the last line read."""
    reader = csv.reader(itertools.chain(chunk, lines), layout.dialect)
    for row in reader:
        if any(cell.strip() for cell in row):
            at = line + reader.line_num
            layout.check_fields(row, at)
            cell = None if layout.t_col is None else row[layout.t_col]
            rows.append(layout.numbers(row, rows.n + 1, at), cell, at)
        if reader.line_num >= len(chunk):
            break
    return line + reader.line_num


def _check_header(header, line, source):
    for j, name in enumerate(header):
        if not name:
            raise ValueError(f"{source}: column {j + 1} of the header (line {line}) has no "
                             "name; the first row must name every column")
    seen = set()
    for name in header:
        if name in seen:
            raise ValueError(f"{source}: the header names column {name!r} twice; column "
                             "names must be unique")
        seen.add(name)
    if all(_is_number(name) for name in header):
        raise ValueError(f"{source}: the first row ({', '.join(header[:4])}...) looks like "
                         "data, not a header; add a header row naming the columns")


def _named_columns(header, features, target, need_target, source):
    """``(feature column indices in the order of features, target index or None)``."""
    _check_covers(header, features, source)
    f_cols = [header.index(n) for n in features]
    rest = [j for j in range(len(header)) if j not in f_cols]
    if target is not None:
        t_col = _target_column(header, target, need_target, None, source)
        if t_col in f_cols:
            raise ValueError(f"{source}: --target {target!r} is one of the model's feature "
                             "columns; name the column that holds the targets")
        rest.remove(t_col)
    else:
        t_col = rest.pop() if len(rest) == 1 else None
    if rest:
        raise ValueError(f"{source}: columns {_show_names([header[j] for j in rest])} are not "
                         f"among the model's features ({_show_names(features)}); name the "
                         "target column with --target and drop the others")
    if t_col is None and need_target:
        raise ValueError(f"{source}: no target column: the file holds only the model's "
                         f"feature columns ({_show_names(features)}); add the targets")
    return f_cols, t_col


def _target_column(header, target, need_target, n_features, source):
    """Index of the target column, or None (no target in this file)."""
    if target is not None:
        if target not in header:
            raise ValueError(f"{source}: no column named {target!r} (--target); the columns "
                             f"are {_show_names(header)}")
        return header.index(target)
    if n_features is not None and len(header) == n_features and not need_target:
        return None
    if len(header) < 2:
        if need_target:
            raise ValueError(f"{source}: only one column ({header[0]!r}); a training file "
                             "needs feature columns and a target column")
        return None
    return len(header) - 1


def _show_names(names, limit=12):
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _number(cell, column, row, line, source):
    value = cell.strip()
    if value.lower() in MISSING:
        raise ValueError(f"{source}: column {column!r} has a missing value at row {row} "
                         f"(line {line}); fill or drop it before training")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{source}: column {column!r} is not numeric: row {row} (line {line}) "
                         f"holds {value!r}; encode it as numbers (e.g. one-hot) or drop the "
                         "column") from None
    if not np.isfinite(number):
        raise ValueError(f"{source}: column {column!r} holds {value!r} at row {row} "
                         f"(line {line}); values must be finite")
    return number


def _target_values(cells, lines, column, source):
    """Numbers when every label parses (int64 if all whole), else the stripped strings;
    ``lines``: each row's line number."""
    values = [cell.strip() for cell in cells]
    for row, value in enumerate(values, start=1):
        if value.lower() in MISSING:
            raise ValueError(f"{source}: target column {column!r} has a missing value at row "
                             f"{row} (line {lines[row - 1]}); fill or drop that row")
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        return np.array(values)
    if not np.all(np.isfinite(numbers)):
        raise ValueError(f"{source}: target column {column!r} holds non-finite numbers")
    if np.all(numbers == np.round(numbers)) and np.all(np.abs(numbers) < 2 ** 53):
        return numbers.astype(np.int64)
    return numbers


def first_non_numeric(y):
    """``(index, value)`` of the first label in ``y`` that is not a number, or None."""
    if y.dtype.kind in "biuf":
        return None
    for i, value in enumerate(y):
        if not _is_number(str(value)):
            return i, (value.item() if isinstance(value, np.generic) else value)
    return None
