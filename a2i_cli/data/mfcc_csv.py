"""Reading MFCC values from text: one set of messages, the --mfcc option, and the checks every CSV gets.

One set of messages for every path that reads features (prepare, generate, batch-generate):

    mfcc_5 is empty | mfcc_5 is 'loud', not a number | mfcc_5 is NaN | mfcc_5 is infinite
    expected 107 fields (as in the header), got 50

Rows are numbered from 1 (the first data row, blank lines not counted, as pandas does).
Files may be local or URIs (core/storage.py), gzip-compressed (by content, whatever the
name) and UTF-8 or UTF-16 with a BOM. Streaming a whole CSV is csv_stream.py's job.
"""
from __future__ import annotations

import csv
import gzip
import io
from typing import Sequence

import numpy as np

from ..core.errors import UserError
from ..core.storage import Location
from .schema import FEATURE_COLUMNS, MFCC_SCHEMA, N_FEATURES


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
    if abs(v) > 3.4e38:
        return f"{column} is {clip(s)}, beyond float32 range"
    return None


def parse_cells(cells: Sequence[Sequence[str]], columns: Sequence[str] = FEATURE_COLUMNS) -> tuple[np.ndarray, dict[int, str]]:
    """Rows of feature texts -> ((n, k) float32 with bad rows zeroed, {row index: reason of its first bad cell})."""
    n, k = len(cells), len(columns)
    if n == 0:
        return np.empty((0, k), np.float32), {}
    problems: dict[int, str] = {}
    with np.errstate(over="ignore", invalid="ignore"):  # 1e39 becomes inf, reported below, not a warning
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
            problems[i] = value_reason(columns[j], cells[i][j]) or f"{columns[j]} is beyond float32 range"
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


def open_binary(source) -> tuple[io.BufferedIOBase, bytes]:
    """(the file's bytes as a stream, gunzipped when gzip by content; its first 4 bytes after that)."""
    loc = Location.of(source)
    with loc.open_input() as f:
        head = f.read(4)
    raw = loc.open_input()
    if head[:2] == b"\x1f\x8b":
        raw = gzip.GzipFile(fileobj=raw)
        head = raw.peek(4)[:4]
    return raw, head


def encoding_of(head: bytes) -> str:
    return "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"


def open_text(source, errors: str = "strict") -> io.TextIOBase:
    """A CSV file (path, URI or Location) as text: gzip by content, UTF-16 by its BOM, else UTF-8."""
    raw, head = open_binary(source)
    return io.TextIOWrapper(raw, encoding=encoding_of(head), newline="", errors=errors)


def check_file(source, what: str = "input CSV") -> Location:
    """The Location of a file that exists; one line naming it when it is missing or a folder."""
    loc = Location.of(source)
    if loc.is_dir():
        raise UserError(f"{what} {loc} is a directory; expected a CSV file")
    if loc.is_local and loc.local.exists() and not loc.local.is_file():
        raise UserError(f"{what} {loc} is not a regular file (a pipe?); save it to a file first (it is read twice)")
    if not loc.is_file():
        raise UserError(f"{what} {loc} does not exist")
    return loc


def check_delimiter(header: list[str], path) -> None:
    """UserError when the header is one field that splits at ';', tabs or '|': not a comma-separated file."""
    if len(header) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
            if header[0].count(sep) >= 3:
                raise UserError(f"{path} is separated by {name}, not commas; a2i reads comma-separated files: "
                                "save it with commas (and '.' as the decimal point)")


def read_header(source, strip: bool = True, expected: str = MFCC_SCHEMA) -> list[str]:
    """The header of a CSV (stripped), with one-line errors for unreadable files; `expected` names the
    columns this kind of file needs (an empty file is told what its header should hold)."""
    try:
        with open_text(source, errors="replace") as f:
            header = next(csv.reader(f))
        if any("\ufffd" in h for h in header):
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "in the header")
        text = ",".join(header)
        if text.count("\x00") > len(text) // 4:  # every other byte NUL: UTF-16 text read as UTF-8
            raise UserError(f"{source} looks like UTF-16 without a byte-order mark; save it as UTF-8")
    except StopIteration:
        raise UserError(f"{source} is empty; expected a header with {expected}")
    except UnicodeDecodeError:
        raise UserError(f"{source} is not UTF-8 text; save it as UTF-8 (or UTF-16 with a byte-order mark)")
    except (csv.Error, OSError, EOFError) as e:
        raise UserError(f"{source} is not a readable CSV ({str(e).splitlines()[0] if str(e) else type(e).__name__})")
    return [h.strip() for h in header] if strip else header


def check_unique(header: list[str], path) -> None:
    """UserError when a column name appears twice (which value would be meant?)."""
    seen = set()
    for h in header:
        if h in seen:
            raise UserError(f"{path}: column {h!r} appears more than once in the header; keep one")
        seen.add(h)


OUTPUT_FIELD_LIMIT = 64 << 20  # characters: a field a2i copied from an input (pyarrow reads up to 4 MB ones)


def allow_long_fields() -> None:
    """Let the csv module re-read the CSVs a2i writes (manifests carry the input's other columns, which may
    hold fields far over the module's 128 KB default): without it a finished run could never be resumed."""
    csv.field_size_limit(max(csv.field_size_limit(), OUTPUT_FIELD_LIMIT))
