"""A batch-generate output folder, local or a URI: manifest.csv, the images it lists, the newest output.

OUT/manifest.csv holds `row`, `path` (relative to OUT), then the input's non-MFCC columns,
one line per image that exists. A line is written only after its image is complete:
- local OUT: a chunk's lines are appended with one write() after its images are renamed
  into place; a torn last line (a kill mid-write) is dropped when the file is opened again;
- URI OUT (s3://, gs://, ...): object stores cannot append, so lines go to numbered part
  objects (OUT/manifest.parts/NNNNNN.csv, one PUT every few thousand rows) and, at the end
  of the run, into OUT/manifest.csv, after which the parts are deleted.
Either way `done_rows()` reads back what is there, and `missing()` checks every listed
image against a listing of OUT/images, so a rerun redoes exactly what is not there.
"""
from __future__ import annotations

import csv
import errno
import io
import os
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from ..core.atomic import atomic_path, remove_temporaries, write_text
from ..core.config import RUNS
from ..core.errors import UserError
from ..core.runs import newest_run
from ..core.storage import Location
from ..data.mfcc_csv import allow_long_fields

SHARD = 1000  # images per sub-folder
EXTENSIONS = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}


def image_relpath(row: int, ext: str) -> str:
    """Where OUT keeps the image of data row `row`: images/<row // 1000, 6 digits>/<row, 9 digits><ext>."""
    return f"images/{row // SHARD:06d}/{row:09d}{ext}"


LAST_FILE = "last_output.txt"  # runs/batch-generate/last_output.txt: the newest OUT, for `a2i score`
PARTS = "manifest.parts"
PART_ROWS = 5000  # manifest lines per part object (URI outputs)


def format_lines(lines) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(lines)
    return buf.getvalue().encode("utf-8")


def _read_lines(data: bytes) -> list[list[str]]:
    allow_long_fields()
    return list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))))


class Manifest:
    """OUT/manifest.csv of a local OUT, appended one chunk per write(); a torn last line is dropped on open."""

    def __init__(self, out: Location, columns: list[str]):
        self.path = out.local / "manifest.csv"
        self.header = ["row", "path", *columns]
        if self.path.is_symlink() or (self.path.exists() and not self.path.is_file()):
            raise UserError(f"{self.path} is not a regular file (a link?); pass a new --out")
        if self.path.exists() and self.path.stat().st_size > 0:
            self._drop_torn_tail()
            allow_long_fields()
            with open(self.path, newline="", encoding="utf-8", errors="replace") as f:
                found = next(csv.reader(f), [])
            if found != self.header:
                raise UserError(f"{self.path} has columns {found[:6]}... not {self.header[:6]}...; "
                                "it belongs to another input: pass a new --out")
        else:
            Location.of(self.path).write_bytes(format_lines([self.header]))
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)

    def _drop_torn_tail(self) -> None:
        with open(self.path, "rb+") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 1))
            if f.read(1) == b"\n":
                return
            pos = size
            while pos > 0:  # find the last newline, reading backwards
                step = min(1 << 16, pos)
                f.seek(pos - step)
                block = f.read(step)
                i = block.rfind(b"\n")
                if i >= 0:
                    f.truncate(pos - step + i + 1)
                    return
                pos -= step
            f.truncate(0)

    def iter_lines(self) -> Iterator[list[str]]:
        allow_long_fields()
        with open(self.path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f)
            next(reader, None)
            yield from reader

    def append(self, lines: list[list]) -> None:
        if lines:
            data = format_lines(lines)
            try:
                n = os.write(self.fd, data)  # one write: a chunk's lines land together
            except OSError as e:
                raise OSError(e.errno, e.strerror, str(self.path)) from None
            if n != len(data):  # a disk that filled up mid-write: cut the torn line off again
                self._drop_torn_tail()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))

    def drop(self, rows: set[int]) -> None:
        """Remove the lines of `rows` (atomically, streaming), e.g. those whose images went missing."""
        os.close(self.fd)
        with atomic_path(self.path) as tmp, open(tmp, "wb") as f:
            f.write(format_lines([self.header]))
            for line in self.iter_lines():
                if not (line and line[0].isdigit() and int(line[0]) in rows):
                    f.write(format_lines([line]))
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)

    def flush(self) -> None:
        pass

    def close(self, final: bool = True) -> None:
        os.close(self.fd)


class PartManifest:
    """The manifest of a URI OUT: lines buffered into part objects, joined into manifest.csv at the end."""

    def __init__(self, out: Location, columns: list[str]):
        self.out = out
        self.path = out.child("manifest.csv")
        self.header = ["row", "path", *columns]
        self.buffer: list[list] = []
        self.last_put = time.monotonic()
        self.record: bytes | None = None  # batch.json's content: put again before a part if the store lost it
        if self.path.exists():
            found = (_read_lines(self.path.read_bytes()) or [[]])[0]
            if found != self.header:
                raise UserError(f"{self.path} has columns {found[:6]}... not {self.header[:6]}...; "
                                "it belongs to another input: pass a new --out")
        self.parts = sorted(self.out.child(PARTS).list_files())
        self.next_part = 1 + max([int(p.split(".")[0]) for p in self.parts if p.split(".")[0].isdigit()] or [0])

    def iter_lines(self) -> Iterator[list[str]]:
        if self.path.exists():
            yield from _read_lines(self.path.read_bytes())[1:]
        for part in self.parts:
            yield from _read_lines(self.out.child(PARTS).child(part).read_bytes(retry_missing=True))

    def append(self, lines: list[list]) -> None:
        self.buffer += lines
        if len(self.buffer) >= PART_ROWS or time.monotonic() - self.last_put > 30:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            name = f"{self.next_part:06d}.csv"
            record = self.out.child("batch.json")
            if self.record is not None and not record.exists():  # no part without the input and model it is of
                record.write_bytes(self.record)
            self.out.child(PARTS).child(name).write_bytes(format_lines(self.buffer))
            self.parts.append(name)
            self.next_part += 1
            self.buffer = []
        self.last_put = time.monotonic()

    def drop(self, rows: set[int]) -> None:
        """Rewrite manifest.csv from everything there but `rows`, in row order, each row once."""
        self.flush()
        lines = {int(line[0]): line for line in self.iter_lines() if line and line[0].isdigit()}
        self.path.write_bytes(format_lines([self.header, *(lines[r] for r in sorted(lines) if r not in rows)]))
        self._drop_parts()

    def _drop_parts(self) -> None:
        for part in self.parts:
            self.out.child(PARTS).child(part).delete()
        self.parts = []

    def close(self, final: bool = True) -> None:
        """Put what is buffered; with final, join everything into manifest.csv (rows in order, once each)."""
        self.flush()
        if final and self.parts:
            self.drop(set())


def open_manifest(out: Location, columns: list[str]):
    return PartManifest(out, columns) if out.is_uri and not out.is_local else Manifest(out, columns)


def check_listed(out: Location, manifest) -> tuple[np.ndarray, set[int]]:
    """(sorted unique rows the manifest lists, those of them whose image is not at OUT, or is empty).

    One listing per image folder (1,000 images), a few kept at a time: memory stays flat."""
    listings: dict[str, dict[str, int]] = {}
    rows, gone = [], set()
    for line in manifest.iter_lines():
        if len(line) < 2 or not line[0].isdigit():
            continue
        rows.append(int(line[0]))
        if line[1] != image_relpath(rows[-1], _suffix(line[1])):  # not where a2i writes this row (edited, or
            # leading outside OUT): not taken as done, the row is redone
            gone.add(rows[-1])
            continue
        folder, _, name = line[1].rpartition("/")
        if folder not in listings:
            if len(listings) > 8:
                listings.pop(next(iter(listings)))
            listings[folder] = out.child(folder).list_sizes() if folder else {}
        if not listings[folder].get(name):  # missing, or 0 bytes: not an image
            gone.add(rows[-1])
    return np.unique(np.asarray(rows, np.int64)), gone


def _suffix(rel: str) -> str:
    """The image suffix of a manifest path, when it is one a2i writes ("" otherwise)."""
    ext = "." + rel.rpartition(".")[2]
    return ext if ext in EXTENSIONS.values() else ""


def clean_temporaries(out: Location) -> None:
    """Remove the half-written files a killed run left in a local OUT and OUT/images/*/."""
    if not out.is_local:
        return
    remove_temporaries(out.local)
    images = out.local / "images"
    if images.is_dir():
        for shard in os.scandir(images):
            if shard.is_dir():
                remove_temporaries(Path(shard.path))


def remember_output(out: Location, runs: Path = RUNS) -> None:
    """Record OUT as the newest batch-generate output (read by `a2i score` without arguments)."""
    text = str(out.local.resolve()) if out.is_local else str(out)
    write_text(Path(runs, "batch-generate", LAST_FILE), text + "\n")


def last_output(runs: Path = RUNS) -> Location:
    """The newest batch-generate output: the one recorded in LAST_FILE, else the newest runs/batch-generate/*."""
    rec = Path(runs, "batch-generate", LAST_FILE)
    if rec.is_file():
        loc = Location.of(rec.read_text().strip())
        if loc.child("manifest.csv").is_file():
            return loc
    return Location.of(newest_run("batch-generate", "manifest.csv", root=runs))
