"""The streaming CSV reader (``xpnet.io``): chunks of lines parsed by numpy into a float array
grown in place, the csv module for any chunk that needs it, and the same results and
errors as a cell-by-cell read wherever the chunks begin and end."""

from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pytest

from xpnet import io as xio

HEADER = "a,b,t\n"


def rows_text(n, eol="\n", trailing=True, start=0):
    lines = [f"{i}.5,{-i}e-3,{i % 2}" for i in range(start, start + n)]
    return eol.join(lines) + (eol if trailing else "")


@pytest.fixture
def three_rows_a_chunk(monkeypatch):
    """Chunks of 3 lines for a 3-column file."""
    monkeypatch.setattr(xio, "CHUNK_CELLS", 9)


@pytest.fixture
def spy(monkeypatch):
    """Counts the chunks each path read."""
    calls = {"fast": 0, "slow": 0}
    fast, slow = xio._fast_rows, xio._slow_rows

    def fast_rows(chunk, layout):
        parsed = fast(chunk, layout)
        calls["fast"] += parsed is not None
        return parsed

    def slow_rows(*args):
        calls["slow"] += 1
        return slow(*args)

    monkeypatch.setattr(xio, "_fast_rows", fast_rows)
    monkeypatch.setattr(xio, "_slow_rows", slow_rows)
    return calls


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 9, 10])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("trailing", [True, False])
def test_rows_at_and_around_chunk_multiples(three_rows_a_chunk, spy, n, eol, trailing):
    table = xio.read_csv_text(HEADER.replace("\n", eol) + rows_text(n, eol, trailing))
    np.testing.assert_array_equal(table.X, [[i + 0.5, -i / 1000] for i in range(n)])
    assert table.y.tolist() == [i % 2 for i in range(n)] and table.y.dtype == np.int64
    assert table.X.flags.c_contiguous and table.X.dtype == np.float64
    assert spy == {"fast": -(-n // 3), "slow": 0}


def test_a_bad_cell_in_the_second_chunk_names_its_row_and_line(three_rows_a_chunk):
    text = HEADER + "\n" + rows_text(4) + "7.5,oops,1\n"          # a blank line before the data
    with pytest.raises(ValueError, match=r"column 'b' is not numeric: row 5 \(line 7\) "
                                         r"holds 'oops'"):
        xio.read_csv_text(text)
    with pytest.raises(ValueError, match=r"column 'a' has a missing value at row 5 \(line 7\)"):
        xio.read_csv_text(HEADER + "\n" + rows_text(4) + "NA,1,1\n")
    with pytest.raises(ValueError, match=r"target column 't' has a missing value at row 5 "
                                         r"\(line 7\)"):
        xio.read_csv_text(HEADER + "\n" + rows_text(4) + "1,1, \n" + rows_text(3))
    with pytest.raises(ValueError, match=r"line 7 has 2 fields but the header has 3"):
        xio.read_csv_text(HEADER + "\n" + rows_text(4) + "1,1\n")
    with pytest.raises(ValueError, match=r"column 'a' holds 'inf' at row 5 \(line 7\)"):
        xio.read_csv_text(HEADER + "\n" + rows_text(4) + "inf,1,1\n")


def test_a_chunk_the_csv_module_reads_leaves_the_next_ones_to_numpy(three_rows_a_chunk, spy):
    text = HEADER + rows_text(3) + rows_text(2) + "\n" + rows_text(6)   # 2nd chunk: a blank
    table = xio.read_csv_text(text)
    assert table.n_samples == 11 and spy == {"fast": 3, "slow": 1}


def test_a_quoted_record_across_a_chunk_boundary(three_rows_a_chunk, spy):
    text = HEADER + rows_text(2) + '9,9,"two\nlines"\n' + rows_text(4) + "1,x,1\n"
    with pytest.raises(ValueError, match=r"row 8 \(line 10\) holds 'x'"):
        xio.read_csv_text(text)
    table = xio.read_csv_text(text.replace("1,x,1\n", ""))
    assert table.y.tolist()[2] == "two\nlines" and table.n_samples == 7
    np.testing.assert_array_equal(table.X[3:, 0], [0.5, 1.5, 2.5, 3.5])


def test_quoted_text_labels_and_header_stay_on_the_fast_path(three_rows_a_chunk, spy):
    """As R's write.csv writes them: the header and the text labels quoted."""
    labels = ["cat" if i % 2 else "dog" for i in range(7)]
    rows = [f'{i},{i / 4},"{label}"\r\n' for i, label in enumerate(labels)]
    text = '"a","b","t"\r\n' + "".join(rows)
    table = xio.read_csv_text(text)
    assert table.feature_names == ("a", "b") and table.y.tolist()[:3] == ["dog", "cat", "dog"]
    assert spy == {"fast": 3, "slow": 0}
    table = xio.read_csv_text(text.replace('"cat"', '"c""at"'))      # a doubled quote: csv
    assert table.y.tolist()[1] == 'c"at' and spy["slow"] == 2


def test_quoted_numbers_and_other_delimiters_read_as_before(three_rows_a_chunk):
    table = xio.read_csv_text('a;b;t\n"1";2;0\n3;"4.5";1\n6;7;"x"\n')
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4.5], [6, 7]])
    assert table.y.tolist() == ["0", "1", "x"]
    with pytest.raises(ValueError, match=r"column 'b' is not numeric: row 2 \(line 3\) "
                                         r"holds '4,5'"):
        xio.read_csv_text('a;b;t\n"1";2;0\n3;"4,5";1\n')
    table = xio.read_csv_text("a\tb\tt\n" + rows_text(7).replace(",", "\t"))
    assert table.n_samples == 7 and table.y.dtype == np.int64


@pytest.mark.parametrize("target", [None, "c0", "c2", "c4"])
def test_numpy_chunks_read_the_numbers_as_float_does(monkeypatch, target):
    """Random numbers in every notation: the chunks read by numpy give the values
    ``float()`` gives (the csv module's path, forced on for the reference)."""
    rng = random.Random(7)
    forms = [repr, lambda v: f"{v:.3e}", lambda v: f" {v:g} ", lambda v: f"{v:+.17g}",
             lambda v: str(int(v * 1000)), lambda v: f"{v:E}"]
    values = [rng.choice([rng.uniform(-1e6, 1e6), rng.gauss(0, 1e-9), rng.uniform(0, 1)])
              for _ in range(5 * 400)]
    text = ",".join(f"c{j}" for j in range(5)) + "\n" + "".join(
        ",".join(rng.choice(forms)(v) for v in values[i:i + 5]) + "\n"
        for i in range(0, len(values), 5))
    monkeypatch.setattr(xio, "CHUNK_CELLS", 5 * 64)
    fast = xio.read_csv_text(text, target=target)
    monkeypatch.setattr(xio, "_fast_rows", lambda chunk, layout: None)
    slow = xio.read_csv_text(text, target=target)
    np.testing.assert_array_equal(fast.X, slow.X)
    np.testing.assert_array_equal(fast.y, slow.y)
    assert fast.y.dtype == slow.y.dtype and fast.feature_names == slow.feature_names


def test_columns_by_the_models_names_in_any_order(three_rows_a_chunk):
    table = xio.read_csv_text("t,b,a\n" + "".join(f"{i % 2},{i},{-i}\n" for i in range(7)),
                              need_target=False, features=("a", "b"))
    np.testing.assert_array_equal(table.X, [[-i, i] for i in range(7)])
    assert table.target_name == "t" and table.y.tolist() == [i % 2 for i in range(7)]


def test_old_mac_line_endings_are_read(three_rows_a_chunk):
    table = xio.read_csv_text((HEADER + rows_text(5)).replace("\n", "\r"))
    assert table.n_samples == 5 and table.y.tolist() == [0, 1, 0, 1, 0]


def test_the_array_grows_when_later_lines_are_shorter(tmp_path, monkeypatch):
    monkeypatch.setattr(xio, "CHUNK_CELLS", 30)
    long = "".join(f"{i}.000000000000001,{i}.000000000000001,{i % 2}\n" for i in range(10))
    path = tmp_path / "d.csv"
    path.write_text(HEADER + long + rows_text(500, start=10))
    table = xio.load_csv(path)
    assert table.n_samples == 510 and table.X[-1, 0] == 509.5


def test_a_file_that_stops_being_utf8_half_way(tmp_path, three_rows_a_chunk):
    path = tmp_path / "d.csv"
    path.write_bytes((HEADER + rows_text(20)).encode() + b"\xff\xfe,1,1\n")
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        xio.load_table(path)
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + rows_text(4)).encode())    # a BOM is fine
    assert xio.load_table(path).feature_names == ("a", "b")


def test_reading_needs_little_beyond_the_array(tmp_path, monkeypatch):
    """Python-side allocations while reading stay under the file's size plus the array
    (before the streaming reader: 14 times the file)."""
    path = tmp_path / "d.csv"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 20))
    np.savetxt(path, np.column_stack([X, rng.integers(0, 3, len(X))]), delimiter=",",
               fmt=["%.6f"] * 20 + ["%d"], header=",".join(f"x{j}" for j in range(21)),
               comments="")
    size = path.stat().st_size
    monkeypatch.setattr(xio, "CHUNK_CELLS", 1 << 14, raising=False)
    tracemalloc.start()
    try:
        table = xio.load_csv(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(table.X, X, atol=5e-7)
    assert peak < table.X.nbytes + size, (peak, size)
