"""The streamed CSV reader: three readers, one answer; rows numbered alike; memory bounded by chunks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from a2i_cli.data.csv_stream import CsvStream, Fallback


def collect(stream: CsvStream, size: int = 7, done=None) -> list:
    return [(c.rows.tolist(), c.feats.round(4).tolist(), c.extras, e, n) for c, e, n in stream.chunks(size, done)]


def only(stream: CsvStream, reader: str) -> CsvStream:
    """The stream forced to one reader (no fallback)."""
    stream.blocks = {"arrow": lambda: stream._arrow_blocks(True, 0), "arrow-text": lambda: stream._arrow_blocks(False, 0),
                     "csv": lambda: stream._python_blocks(0)}[reader]
    return stream


@pytest.fixture
def messy(tmp_path, make_csv) -> Path:
    """Short and long rows, NaN and inf, a blank line, and a quoted IMAGE with a newline in it."""
    path = make_csv(tmp_path / "m.csv", 30, bad={2: "short", 5: "long", 9: "nan", 12: "inf", 20: "short", 30: "short"})
    lines = path.read_text().splitlines()
    lines.insert(4, "")
    lines[7] = lines[7].replace("images/x/x6.png", '"images/x\nx6.png"')
    path.write_text("\n".join(lines) + "\n")
    return path


def test_three_readers_give_the_same_chunks(messy):
    reference = collect(only(CsvStream(messy), "csv"))
    assert collect(only(CsvStream(messy), "arrow")) == reference
    assert collect(only(CsvStream(messy), "arrow-text")) == reference
    stream = CsvStream(messy)
    assert collect(stream) == reference and stream.reader_used == "arrow"
    rows = [r for chunk in reference for r in chunk[0]]
    errors = dict(e for chunk in reference for e in chunk[3])
    assert sorted(rows + list(errors)) == list(range(1, 31))  # every data row once, the blank line none
    assert errors[9] == "mfcc_5 is NaN" and errors[12] == "mfcc_5 is infinite" and "got 108" in errors[5]
    extras = {r: e for chunk in reference for r, e in zip(chunk[0], chunk[2])}
    assert extras[6] == ("id6", "images/x\nx6.png", "BEACH")  # the quoted newline kept


def test_a_bad_value_or_a_huge_line_hands_over_to_the_next_reader(tmp_path, make_csv):
    text = make_csv(tmp_path / "t.csv", 20, bad={3: "text"})
    with pytest.raises(Fallback):
        collect(only(CsvStream(text), "arrow"))
    stream = CsvStream(text)
    got = collect(stream)
    assert stream.reader_used == "arrow-text" and got == collect(only(CsvStream(text), "csv"))
    lines = text.read_bytes().split(b"\n")
    lines.insert(10, b"z" * (6 << 20))  # a 6 MB garbage line
    lines[15] = lines[15].replace(b"images/x", b"images/\xe9")  # bytes that are not UTF-8: pyarrow gives up
    (tmp_path / "h.csv").write_bytes(b"\n".join(lines))
    stream = CsvStream(tmp_path / "h.csv")
    got = collect(stream)
    errors = [e for chunk in got for e in chunk[3]]
    assert stream.reader_used == "csv" and [r for r, _ in errors] == [3, 10]
    assert sum(len(chunk[0]) for chunk in got) == 19  # the row with the stray byte is kept, its IMAGE repaired


def test_done_rows_are_skipped_and_windows_cover_every_row(tmp_path, make_csv):
    path = make_csv(tmp_path / "d.csv", 50)
    got = collect(CsvStream(path), size=8, done=np.arange(1, 21))
    assert [n for *_, n in got] == [8] * 6 + [2]
    assert [r for chunk in got for r in chunk[0]] == list(range(21, 51))


def test_unterminated_quote_on_the_first_data_line_spoils_that_row_only(tmp_path, make_csv):
    """The pairs reader's bug, checked here too: a quote on line 2 that never closes, a quoted IMAGE later
    (the quotes pair up by count), and one on the last line without a newline: each is one bad row."""
    make_csv(tmp_path / "in.csv", 4)
    lines = (tmp_path / "in.csv").read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(",images/", ',"images/').replace(".png,", '.png",')
    (tmp_path / "q.csv").write_text("".join([lines[0], '"unterminated,quote\n', *lines[1:], '"also,open']))
    chunks = collect(CsvStream(tmp_path / "q.csv"), size=64)
    assert [r for c in chunks for r in c[0]] == [2, 3, 4, 5]
    errors = [e for c in chunks for e in c[3]]
    assert [row for row, _ in errors] == [1, 6]
    assert "never closed; close or remove it" in errors[0][1]


def test_empty_cells_are_named_and_every_reader_agrees(tmp_path, make_csv):
    path = make_csv(tmp_path / "e.csv", 40)
    lines = path.read_text().splitlines()
    for row, col in ((1, 1), (17, 104), (40, 50)):  # mfcc_<col> left empty in data row <row>
        fields = lines[row].split(",")
        fields[col] = ""  # id, mfcc_1, ..., mfcc_104, IMAGE, CLASS2
        lines[row] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    reference = collect(only(CsvStream(path), "csv"), size=16)
    assert collect(only(CsvStream(path), "arrow"), size=16) == reference
    errors = dict(e for chunk in reference for e in chunk[3])
    assert set(errors) == {1, 17, 40} and all(why.endswith("is empty") for why in errors.values())
