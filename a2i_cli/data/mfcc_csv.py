"""Reading MFCC values from text: the --mfcc option, one CSV row, or a whole CSV streamed in chunks.

One set of messages for every path that reads features (prepare, generate, batch-generate):

    mfcc_5 is empty | mfcc_5 is 'loud', not a number | mfcc_5 is NaN | mfcc_5 is infinite
    expected 107 fields (as in the header), got 50

Rows are numbered from 1 (the first data row, blank lines not counted, as pandas does).
Files may be gzip-compressed (by content, whatever the name) and UTF-8 or UTF-16 with a BOM.
"""
from __future__ import annotations

import csv
import gzip
import io
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..core.errors import UserError
from .schema import FEATURE_COLUMNS, MFCC_SCHEMA, N_FEATURES, check_columns

FIELD_LIMIT = 1 << 20  # a field longer than this (1 MB) makes its row bad, not the file


def clip(text: str, n: int = 20) -> str:
    text = str(text)
    return text if len(text) <= n else text[:n] + "..."


def value_reason(column: str, text) -> str | None:
    """Why one cell is not a usable feature (None when it is a finite number)."""
    s = str(text).strip()
    if not s:
        return f"{column} is empty"
    try:
        v = float(s)
    except ValueError:
        return f"{column} is {clip(s)!r}, not a number"
    if v != v:
        return f"{column} is NaN"
    if v in (float("inf"), float("-inf")):
        return f"{column} is infinite"
    return None


def parse_cells(cells: Sequence[Sequence[str]], columns: Sequence[str] = FEATURE_COLUMNS) -> tuple[np.ndarray, dict[int, str]]:
    """Rows of feature texts -> ((n, k) float32 with bad rows zeroed, {row index: reason of its first bad cell})."""
    n, k = len(cells), len(columns)
    if n == 0:
        return np.empty((0, k), np.float32), {}
    problems: dict[int, str] = {}
    try:
        feats = np.array(cells, dtype=str).astype(np.float32)  # (n, k): the fast path, every cell a number
    except ValueError:  # some cell is not a number: parse row by row
        feats = np.zeros((n, k), np.float32)
        for i, row in enumerate(cells):
            try:
                feats[i] = np.array(row, dtype=str).astype(np.float32)
            except ValueError:
                problems[i] = next(r for c, t in zip(columns, row) if (r := value_reason(c, t)))
    bad = ~np.isfinite(feats).all(axis=1)
    for i in np.flatnonzero(bad).tolist():
        if i not in problems:
            j = int(np.flatnonzero(~np.isfinite(feats[i]))[0])
            problems[i] = value_reason(columns[j], cells[i][j]) or f"{columns[j]} is out of float32 range"
        feats[i] = 0.0
    return feats, problems


def parse_mfcc(text: str, option: str = "--mfcc") -> np.ndarray:
    """'v1,...,v104' (commas and/or spaces) -> (104,) float32, with the shared messages."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if len(parts) != N_FEATURES:
        raise UserError(f"{option} needs {N_FEATURES} comma-separated numbers (mfcc_1..mfcc_{N_FEATURES}), got {len(parts)}")
    feats, problems = parse_cells([parts])
    if problems:
        raise UserError(f"{option}: {problems[0]}; features must be finite numbers")
    return feats[0]


# --------------------------------------------------------------------------- files


def open_text(path: Path, errors: str = "strict") -> io.TextIOBase:
    """A CSV file as text: gzip by content, UTF-16 by its BOM, else UTF-8 (a BOM skipped)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(4)
    raw = gzip.open(path, "rb") if head[:2] == b"\x1f\x8b" else open(path, "rb")
    if head[:2] == b"\x1f\x8b":
        head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    return io.TextIOWrapper(raw, encoding=encoding, newline="", errors=errors)


def check_file(path: Path, what: str = "input CSV") -> Path:
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a directory; expected a CSV file")
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist")
    return path


def check_delimiter(header: list[str], path: Path) -> None:
    """UserError when the header is one field that splits at ';', tabs or '|': not a comma-separated file."""
    if len(header) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
            if header[0].count(sep) >= 3:
                raise UserError(f"{path} is separated by {name}, not commas; a2i reads comma-separated files: "
                                "save it with commas (and '.' as the decimal point)")


def read_header(path: Path) -> list[str]:
    """The stripped header of a CSV, with one-line errors for unreadable files."""
    try:
        with open_text(path, errors="replace") as f:
            header = next(csv.reader(f))
        if any("\ufffd" in h for h in header):
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "in the header")
    except StopIteration:
        raise UserError(f"{path} is empty; expected a header with {MFCC_SCHEMA}")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text; save it as UTF-8 (or UTF-16 with a byte-order mark)")
    except (csv.Error, OSError, EOFError) as e:
        raise UserError(f"{path} is not a readable CSV ({str(e).splitlines()[0] if str(e) else type(e).__name__})")
    return [h.strip() for h in header]


def check_unique(header: list[str], path: Path) -> None:
    """UserError when a column name appears twice (which value would be meant?)."""
    seen = set()
    for h in header:
        if h in seen:
            raise UserError(f"{path}: column {h!r} appears more than once in the header; keep one")
        seen.add(h)


@dataclass
class Chunk:
    rows: np.ndarray  # (n,) int64, 1-based data rows
    feats: np.ndarray  # (n, 104) float32
    extras: list[tuple]  # the carried (non-MFCC) fields of each row


class CsvStream:
    """A CSV with mfcc_1..mfcc_104 read in chunks; bad rows are reported with their reason, not fatal."""

    def __init__(self, path: Path, what: str = "input CSV"):
        self.path = check_file(path, what)
        self.header = read_header(self.path)
        check_delimiter(self.header, self.path)
        check_columns(self.header, self.path, FEATURE_COLUMNS, MFCC_SCHEMA)
        check_unique(self.header, self.path)
        self.feature_idx = [self.header.index(c) for c in FEATURE_COLUMNS]
        self.extra_columns = [h for h in self.header if h not in FEATURE_COLUMNS]
        self.extra_idx = [i for i, h in enumerate(self.header) if h not in FEATURE_COLUMNS]

    def count_rows(self) -> int:
        """Data lines (for the progress bar): newlines minus the header, without parsing."""
        n, last = 0, b"\n"
        with open_text(self.path) as t:
            f = t.buffer
            while block := f.read(1 << 22):
                n += block.count(b"\n")
                last = block[-1:]
        return max(0, n - 1 + (last != b"\n"))

    def records(self) -> Iterator[tuple[int, list[str] | None, str]]:
        """(row, fields, "") per data row, or (row, None, reason) for a row that cannot be split."""
        limit = csv.field_size_limit()
        csv.field_size_limit(FIELD_LIMIT)
        try:
            with open_text(self.path, errors="replace") as f:  # a stray non-UTF-8 byte spoils its row only
                reader = csv.reader(f)
                next(reader)
                row = 0
                while True:
                    try:
                        rec = next(reader)
                    except StopIteration:
                        return
                    except csv.Error as e:  # an over-long field or a broken quote: this row only
                        row += 1
                        yield row, None, f"unreadable CSV line ({e})"
                        continue
                    except UnicodeDecodeError:
                        raise UserError(f"{self.path} has bytes that are not UTF-8 after data row {row}; "
                                        "save it as UTF-8 (or UTF-16 with a byte-order mark)")
                    if not rec:  # blank line: not a data row (as pandas)
                        continue
                    row += 1
                    yield row, rec, ""
        finally:
            csv.field_size_limit(limit)

    def chunks(self, size: int, done: np.ndarray | None = None) -> Iterator[tuple[Chunk, list[tuple[int, str]], int]]:
        """Yield (chunk of good rows not in `done`, [(row, reason) of bad rows], rows read)."""
        done = np.sort(done) if done is not None and len(done) else None
        records = self.records()
        while True:
            batch = [r for _, r in zip(range(size), records)]
            if not batch:
                return
            n_read = len(batch)
            if done is not None:
                nums = np.fromiter((r for r, _, _ in batch), np.int64, len(batch))
                pos = np.searchsorted(done, nums).clip(max=len(done) - 1)
                batch = [b for b, k in zip(batch, (done[pos] != nums).tolist()) if k]
            chunk, errors = self.parse(batch)
            yield chunk, errors, n_read

    def parse(self, batch: list[tuple[int, list[str] | None, str]]) -> tuple[Chunk, list[tuple[int, str]]]:
        """Records from `records()` -> (chunk of the good rows, sorted [(row, reason)] of the bad ones)."""
        ncols = len(self.header)
        get_feats = operator.itemgetter(*self.feature_idx)
        get_extra = operator.itemgetter(*self.extra_idx) if self.extra_idx else (lambda r: ())
        errors, good = [], []
        for r, rec, why in batch:
            if rec is None:
                errors.append((r, why))
            elif len(rec) != ncols:
                errors.append((r, f"expected {ncols} fields (as in the header), got {len(rec)}"))
            else:
                good.append((r, rec))
        feats, problems = parse_cells([get_feats(rec) for _, rec in good])
        if problems:
            errors += [(good[i][0], why) for i, why in problems.items()]
            keep = [i for i in range(len(good)) if i not in problems]
            good, feats = [good[i] for i in keep], feats[keep]
        errors.sort()
        one_extra = len(self.extra_idx) == 1
        extras = [(e,) if one_extra else e for e in (get_extra(rec) for _, rec in good)]
        return Chunk(np.array([r for r, _ in good], np.int64), feats, extras), errors


def read_row(path: Path, row: int, what: str = "--csv") -> np.ndarray:
    """Features of data row `row` (1-based, as in manifests and error messages): (104,) float32."""
    if row < 1:
        raise UserError(f"--row is 1-based (the first data row is 1), got {row}")
    stream = CsvStream(path, what)
    for record in stream.records():
        if record[0] == row:
            chunk, errors = stream.parse([record])
            if errors:
                raise UserError(f"{stream.path} row {row}: {errors[0][1]}")
            return chunk.feats[0]
    raise UserError(f"{stream.path} has fewer than {row} data rows")
