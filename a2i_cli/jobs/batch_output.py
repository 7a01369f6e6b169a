"""A batch-generate output folder: manifest.csv (appended a chunk per write), temporaries, the newest output.

OUT/manifest.csv holds `row`, `path` (relative to OUT), then the input's non-MFCC columns,
one line per image that exists. A chunk's lines are appended with one write() after its
images exist, and a torn last line (a kill mid-write) is dropped when the file is opened
again, so every line names a complete image.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from ..core.atomic import remove_temporaries, write_bytes, write_text
from ..core.config import RUNS
from ..core.errors import UserError
from ..core.runs import newest_run

LAST_FILE = "last_output.txt"  # runs/batch-generate/last_output.txt: the newest OUT, for `a2i score`


class Manifest:
    """manifest.csv, appended one chunk per write(); a torn last line is dropped on open."""

    def __init__(self, path: Path, columns: list[str]):
        self.path = Path(path)
        header = ["row", "path", *columns]
        if self.path.exists() and self.path.stat().st_size > 0:
            self._drop_torn_tail()
            with open(self.path, newline="", encoding="utf-8") as f:
                found = next(csv.reader(f), [])
            if found != header:
                raise UserError(f"{self.path} has columns {found[:6]}... not {header[:6]}...; "
                                "it belongs to another input: pass a new --out")
        else:
            write_bytes(self.path, self.format([header]))
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

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

    def done_rows(self) -> np.ndarray:
        import pandas as pd

        try:
            return pd.read_csv(self.path, usecols=["row"], dtype={"row": np.int64})["row"].to_numpy()
        except (ValueError, pd.errors.EmptyDataError):
            return np.empty(0, np.int64)

    @staticmethod
    def format(lines) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(lines)
        return buf.getvalue().encode("utf-8")

    def append(self, lines: list[list]) -> None:
        if lines:
            os.write(self.fd, self.format(lines))  # one write: a chunk's lines land together

    def close(self) -> None:
        os.close(self.fd)


def clean_temporaries(out: Path) -> None:
    """Remove the half-written images a killed run left in OUT/images/*/."""
    images = Path(out) / "images"
    if images.is_dir():
        for shard in os.scandir(images):
            if shard.is_dir():
                remove_temporaries(Path(shard.path))


def remember_output(out: Path, runs: Path = RUNS) -> None:
    """Record OUT as the newest batch-generate output (read by `a2i score` without arguments)."""
    write_text(Path(runs, "batch-generate", LAST_FILE), str(Path(out).resolve()) + "\n")


def last_output(runs: Path = RUNS) -> Path:
    """The newest batch-generate output: the one recorded in LAST_FILE, else the newest runs/batch-generate/*."""
    rec = Path(runs, "batch-generate", LAST_FILE)
    if rec.is_file():
        p = Path(rec.read_text().strip())
        if (p / "manifest.csv").is_file():
            return p
    return newest_run("batch-generate", "manifest.csv", root=runs)
