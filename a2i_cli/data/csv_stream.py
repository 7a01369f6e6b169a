"""Streaming a CSV of MFCC rows in chunks, fast, with every bad row reported by number and the rest going on.

    stream = CsvStream("mfcc.csv")                 # a path or a URI (s3://...), gzip allowed
    for chunk, errors, n_read in stream.chunks(64, done=rows_already_done):
        chunk.rows, chunk.feats, chunk.extras        # (n,) 1-based data rows, (n, 104) float32, other columns
        errors                                       # [(row, reason)] of this window's bad rows

Three readers, fastest first, each taking over where the previous one gave up (the rows
already handed out are skipped, so nothing is read twice into the output):
  1. pyarrow.csv streaming, the 104 features parsed straight to float32 (~4x the csv
     module); rows with the wrong number of fields are reported through its handler;
  2. pyarrow.csv with every column as text, parsed here (a value that is not a number
     stops reader 1 for the whole block; here it is one bad row);
  3. the csv module, line by line: a field over 1 MB or bytes that are not UTF-8 make one
     bad row (pyarrow stops the file there).
All three number rows alike: 1-based data rows, blank lines not counted.
"""
from __future__ import annotations

import collections
import csv
import sys
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..core.errors import UserError
from .mfcc_csv import (
    check_delimiter,
    check_file,
    check_unique,
    encoding_of,
    open_binary,
    open_text,
    parse_cells,
    read_header,
    value_reason,
)
from .schema import FEATURE_COLUMNS, MFCC_SCHEMA, check_columns

FIELD_LIMIT = 1 << 20  # a field or line longer than this (1 MB) makes its row bad, not the file
TOO_LONG = "\x00a2i: line too long\x00"  # what bounded_lines gives in place of an over-long line


def bounded_lines(f, limit: int = FIELD_LIMIT):
    """The lines of a text file, each at most `limit` characters kept: a longer line is skipped as it is
    read (never held whole) and given as TOO_LONG, so a 2 GB line costs no memory."""
    while line := f.readline(limit):
        if len(line) == limit and not line.endswith("\n"):
            while (more := f.readline(limit)) and not more.endswith("\n"):
                pass
            yield TOO_LONG + "\n"
        else:
            yield line


def quoted_records(lines: Iterator[str], ncols: int) -> Iterator[tuple[str, str]]:
    """(text of one record, "") per record; a record may span lines inside a quoted value. A quote that
    never closes into a record of `ncols` fields spoils its own line only, ("line", why), and the lines
    after it are records again: one stray quote must not swallow the rest of the file."""
    pending: collections.deque[str] = collections.deque()
    source = iter(lines)
    while (line := pending.popleft() if pending else next(source, None)) is not None:
        quotes = line.count('"')
        if quotes % 2 == 0:
            yield line, ""
            continue
        parts, size = [line], len(line)
        while quotes % 2 and size < FIELD_LIMIT:
            more = pending.popleft() if pending else next(source, None)
            if more is None:
                break
            parts.append(more)
            quotes += more.count('"')
            size += len(more)
        text = "".join(parts)
        try:
            fields = len(next(csv.reader([text]), [])) if quotes % 2 == 0 else -1
        except csv.Error:  # a field over the size limit
            fields = -1
        if fields == ncols:
            yield text, ""
        else:
            yield line, 'a quote (") opened on this line is never closed; close or remove it'
            pending.extendleft(reversed(parts[1:]))


BLOCK = 4 << 20  # bytes pyarrow parses at a time


@dataclass
class Chunk:
    rows: np.ndarray  # (n,) int64, 1-based data rows
    feats: np.ndarray  # (n, 104) float32
    extras: list[tuple]  # the carried (non-MFCC) fields of each row


@dataclass
class Block:
    """Consecutive data rows from one reader: the good ones and the bad ones, up to row `upto`."""

    rows: np.ndarray  # (n,) int64
    feats: np.ndarray  # (n, 104) float32
    extras: list[tuple]
    errors: list[tuple[int, str]]
    upto: int  # the last data row this block covers


class Fallback(Exception):
    """A reader cannot go on; the next one takes over after the rows handed out so far."""


def _float_matrix(cols: list, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """float32 arrow arrays -> (n, len(cols)) float32 (nulls as NaN) and the null mask (None without nulls),
    read from the buffers: pyarrow's to_numpy imports pandas (0.5 s of a batch-generate driver) and copies."""
    feats, nulls = np.empty((n, len(cols)), np.float32), None
    for j, c in enumerate(cols):
        feats[:, j] = np.frombuffer(c.buffers()[1], np.float32, count=n, offset=c.offset * 4) if n else 0
        if c.null_count:
            bits = np.frombuffer(c.buffers()[0], np.uint8)
            null = ~np.unpackbits(bits, count=c.offset + n, bitorder="little")[c.offset :].astype(bool)
            feats[null, j] = np.nan
            nulls = np.zeros((n, len(cols)), bool) if nulls is None else nulls
            nulls[:, j] = null
    return feats, nulls


class CsvStream:
    """A CSV with mfcc_1..mfcc_104 (local or URI) read in chunks; bad rows are reported, not fatal."""

    def __init__(self, source, what: str = "input CSV"):
        self.source = check_file(source, what)
        raw = read_header(self.source, strip=False)
        self.header = [h.strip() for h in raw]
        self.raw_header = raw
        check_delimiter(self.header, self.source)
        check_unique(self.header, self.source)  # first: a duplicated name is why another looks missing
        check_columns(self.header, self.source, FEATURE_COLUMNS, MFCC_SCHEMA)
        self.feature_idx = [self.header.index(c) for c in FEATURE_COLUMNS]
        self.extra_idx = [i for i, h in enumerate(self.header) if h not in FEATURE_COLUMNS]
        self.extra_columns = [self.header[i] for i in self.extra_idx]
        self.reader_used = ""  # which reader finished the last pass (for tests and records)
        self._lines: int | None = None  # count_rows, once counted

    @property
    def path(self):
        """The local path (for records); the Location's text for a URI."""
        return self.source.local if self.source.is_local else self.source

    def count_rows(self) -> int | None:
        """Data lines for the progress bar (newlines minus the header, not parsed); None for remote files."""
        if not self.source.is_local:
            return None
        if self._lines is not None:
            return self._lines
        n, last = 0, b"\n"
        raw, _ = open_binary(self.source)
        with raw:
            while block := raw.read(1 << 22):
                n += block.count(b"\n")
                last = block[-1:]
        self._lines = max(0, n - 1 + (last != b"\n"))
        return self._lines

    # ------------------------------------------------------------------ the readers

    def _arrow_blocks(self, floats: bool, skip: int) -> Iterator[Block]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        invalid: dict[int, str] = {}

        def handler(row) -> str:
            if row.number is None or row.number < 1:
                raise Fallback("row numbers unknown")
            if "\n" in (row.text or ""):  # a stray quote swallowed the lines after it: the line reader copes
                raise Fallback("a value spans lines")
            invalid[row.number - 1] = f"expected {row.expected_columns} fields (as in the header), got {row.actual_columns}"
            return "skip"

        feature_names = {self.raw_header[i] for i in self.feature_idx}
        types = {h: (pa.float32() if floats and h in feature_names else pa.string()) for h in self.raw_header}
        raw, head = open_binary(self.source)
        enc = encoding_of(head)
        hook = sys.unraisablehook

        def quiet(unraisable) -> None:  # pyarrow could not decode a bad row's bytes for `handler`: it falls
            if unraisable.object is not handler:  # back to the next reader, which reports that row; no traceback
                hook(unraisable)

        sys.unraisablehook = quiet
        try:
            reader = pacsv.open_csv(
                raw,
                read_options=pacsv.ReadOptions(use_threads=False, block_size=BLOCK,
                                               encoding="utf8" if enc == "utf-8-sig" else "utf16"),
                parse_options=pacsv.ParseOptions(invalid_row_handler=handler, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=False,
                                                     quoted_strings_can_be_null=False))
            r = 1  # the next data row number
            for batch in reader:
                n = batch.num_rows
                numbers = np.empty(n, np.int64)
                k = 0
                while k < n:
                    if r in invalid:
                        r += 1
                        continue
                    numbers[k] = r
                    k += 1
                    r += 1
                while r in invalid:  # bad rows right after this batch
                    r += 1
                errors = sorted((row, invalid.pop(row)) for row in list(invalid) if row < r)
                feats, extras, bad = self._arrow_values(batch, floats)
                keep = np.ones(n, bool)
                for i, why in bad.items():
                    keep[i] = False
                    errors.append((int(numbers[i]), why))
                errors.sort()
                sel = numbers > skip
                rows, feats = numbers[keep & sel], feats[keep & sel]
                extras = [e for e, k2 in zip(extras, (keep & sel).tolist()) if k2]
                errors = [e for e in errors if e[0] > skip]
                if r - 1 > skip:
                    yield Block(rows, feats, extras, errors, r - 1)
            trailing = sorted((row, why) for row, why in invalid.items() if row > skip)
            if trailing:
                yield Block(np.empty(0, np.int64), np.empty((0, len(FEATURE_COLUMNS)), np.float32), [], trailing,
                            max(row for row, _ in trailing))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, OSError, EOFError) as e:
            raise Fallback(str(e).splitlines()[0] if str(e) else type(e).__name__)
        finally:
            sys.unraisablehook = hook
            raw.close()

    def _arrow_values(self, batch, floats: bool) -> tuple[np.ndarray, list[tuple], dict[int, str]]:
        """(features (n, 104) float32, extras, {index: reason} of rows whose values are not finite numbers)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        cols = [batch.column(i) for i in self.feature_idx]
        bad: dict[int, str] = {}
        nulls = None
        if floats:
            feats, nulls = _float_matrix(cols, batch.num_rows)
        else:
            try:
                feats, _ = _float_matrix([pc.cast(c, pa.float32()) for c in cols], batch.num_rows)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # some value is not a number: per row
                cells = list(zip(*(c.to_pylist() for c in cols)))
                feats, problems = parse_cells(cells)
                bad.update(problems)
        finite = np.isfinite(feats).all(axis=1) if len(feats) else np.ones(0, bool)
        for i in np.flatnonzero(~finite).tolist():
            if i in bad:
                continue
            j = int(np.flatnonzero(~np.isfinite(feats[i]))[0])
            if nulls is not None and nulls[i, j]:
                bad[i] = f"{FEATURE_COLUMNS[j]} is empty"
            else:
                bad[i] = value_reason(FEATURE_COLUMNS[j], str(feats[i, j])) or f"{FEATURE_COLUMNS[j]} is not finite"
        extra_cols = [batch.column(i).to_pylist() for i in self.extra_idx]
        extras = list(zip(*extra_cols)) if extra_cols else [()] * batch.num_rows
        return feats, extras, bad

    def records(self) -> Iterator[tuple[int, list[str] | None, str]]:
        """(row, fields, "") per data row, or (row, None, reason) for a row that cannot be split (csv module)."""
        limit = csv.field_size_limit()
        csv.field_size_limit(FIELD_LIMIT)
        try:
            with open_text(self.source, errors="replace") as f:  # a stray non-UTF-8 byte spoils its row only
                lines = bounded_lines(f)
                next(lines, None)  # the header
                row = 0
                for text, why in quoted_records(lines, len(self.header)):
                    if why:
                        row += 1
                        yield row, None, why
                        continue
                    try:
                        rec = next(csv.reader([text]), [])
                    except csv.Error as e:  # an over-long field or a broken quote: this row only
                        row += 1
                        yield row, None, f"unreadable CSV line ({e})"
                        continue
                    if not rec:  # blank line: not a data row (as pandas)
                        continue
                    row += 1
                    if rec == [TOO_LONG]:
                        yield row, None, f"a line longer than {FIELD_LIMIT >> 20} MB"
                    else:
                        yield row, rec, ""
        finally:
            csv.field_size_limit(limit)

    def _python_blocks(self, skip: int, size: int = 1024) -> Iterator[Block]:
        batch: list = []
        for record in self.records():
            if record[0] <= skip:
                continue
            batch.append(record)
            if len(batch) == size:
                yield self._parse_block(batch)
                batch = []
        if batch:
            yield self._parse_block(batch)

    def _parse_block(self, batch: list) -> Block:
        chunk, errors = self.parse(batch)
        return Block(chunk.rows, chunk.feats, chunk.extras, errors, batch[-1][0])

    def parse(self, batch: list[tuple[int, list[str] | None, str]]) -> tuple[Chunk, list[tuple[int, str]]]:
        """Records from `records()` -> (chunk of the good rows, sorted [(row, reason)] of the bad ones)."""
        ncols = len(self.header)
        errors, good = [], []
        for r, rec, why in batch:
            if rec is None:
                errors.append((r, why))
            elif len(rec) != ncols:
                errors.append((r, f"expected {ncols} fields (as in the header), got {len(rec)}"))
            else:
                good.append((r, rec))
        feats, problems = parse_cells([[rec[i] for i in self.feature_idx] for _, rec in good])
        if problems:
            errors += [(good[i][0], why) for i, why in problems.items()]
            keep = [i for i in range(len(good)) if i not in problems]
            good, feats = [good[i] for i in keep], feats[keep]
        errors.sort()
        extras = [tuple(rec[i] for i in self.extra_idx) for _, rec in good]
        return Chunk(np.array([r for r, _ in good], np.int64), feats, extras), errors

    def blocks(self) -> Iterator[Block]:
        """Blocks of consecutive data rows from the fastest reader that copes with this file."""
        done = 0
        readers = (("arrow", lambda s: self._arrow_blocks(True, s)), ("arrow-text", lambda s: self._arrow_blocks(False, s)),
                   ("csv", self._python_blocks))
        for name, reader in readers:
            try:
                for block in reader(done):
                    done = max(done, block.upto)
                    yield block
                self.reader_used = name
                return
            except Fallback:
                continue
        raise UserError(f"{self.source} could not be read as CSV")  # the csv module never gives up

    # ------------------------------------------------------------------ chunks of a fixed size

    def chunks(self, size: int, done: np.ndarray | None = None) -> Iterator[tuple[Chunk, list[tuple[int, str]], int]]:
        """Yield (chunk of good rows not in `done`, [(row, reason)] of bad rows, data rows covered), `size` rows at a time."""
        done = np.sort(done) if done is not None and len(done) else None
        rows = np.empty(0, np.int64)
        feats = np.empty((0, len(FEATURE_COLUMNS)), np.float32)
        extras: list[tuple] = []
        errors: list[tuple[int, str]] = []
        start = upto = 0  # data rows up to `start` are handed out; blocks reach `upto`
        for block in self.blocks():
            rows = np.concatenate([rows, block.rows])  # once per block: windows below are slices
            feats = np.concatenate([feats, block.feats])
            extras += block.extras
            errors += block.errors
            upto = max(upto, block.upto)
            first = 0
            while upto >= start + size:
                end = start + size
                k = int(np.searchsorted(rows, end, side="right"))
                yield (*self._window(rows[first:k], feats[first:k], extras[first:k], errors, end, done), size)
                errors = [e for e in errors if e[0] > end]
                first, start = k, end
            rows, feats, extras = rows[first:], feats[first:], extras[first:]
        if upto > start:
            yield (*self._window(rows, feats, extras, errors, upto, done), upto - start)

    @staticmethod
    def _window(rows, feats, extras, errors, end, done) -> tuple[Chunk, list[tuple[int, str]]]:
        """The chunk of a window's good rows not already done, and the window's bad rows (those up to `end`)."""
        if done is not None and len(rows):
            pos = np.searchsorted(done, rows).clip(max=len(done) - 1)
            keep = done[pos] != rows
            rows, feats = rows[keep], feats[keep]
            extras = [e for e, k in zip(extras, keep.tolist()) if k]
        return Chunk(rows, feats, [tuple(e) for e in extras]), [e for e in errors if e[0] <= end]


def read_row(source, row: int, what: str = "input CSV") -> np.ndarray:
    """Features of data row `row` (1-based, as in manifests and error messages): (104,) float32."""
    if row < 1:
        raise UserError(f"--row is 1-based (the first data row is 1), got {row}")
    stream = CsvStream(source, what)
    for record in stream.records():
        if record[0] == row:
            chunk, errors = stream.parse([record])
            if errors:
                raise UserError(f"{stream.source} row {row}: {errors[0][1]}")
            return chunk.feats[0]
    raise UserError(f"{stream.source} has fewer than {row} data rows")

