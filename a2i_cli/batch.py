"""Batch generation: one image per CSV row, streamed, resumable, on local cores or Ray.

    result = batch_generate("mfcc.csv", Path("imgs"), Path("best.pt"), backend="local")

Output folder (OUT):
    images/000000/000000042.png   the image of data row 42: images/<row // 1000, 6 digits>/<row, 9 digits>
                                  (1000 files per folder, so a million rows never make one huge folder)
    manifest.csv                  row (1-based data row of the input), path (relative to OUT), then
                                  every non-MFCC column of the input (IMAGE, CLASS2, ids ...), in row order
    errors.csv                    row, reason: rows that could not be used (only when there are some)
    batch.json                    the input, model and options, and the counts of the last run

Streaming: the CSV is read with the csv module in chunks of `batch_size` rows; at most
two chunks per worker are in flight, so memory does not grow with the row count.

Resuming: every image is written under a temporary name and renamed; a chunk's manifest
lines are appended with one write() after its images exist. A rerun into the same OUT
drops a torn last manifest line, skips the rows listed, and regenerates the rest (the
same model gives the same bytes, and the rename replaces any image whose manifest line
was lost), so after a kill -9 and a rerun every row has one image and one manifest line.
Rows in errors.csv are checked again on a rerun (the input may have been fixed).
"""
from __future__ import annotations

import collections
import csv
import io
import json
import operator
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from . import FEATURE_COLUMNS, __version__
from .errors import UserError
from .generate import is_number
from .parallel import WorkerSpec, choose_backend, run_ordered
from .runs import RUNS

FORMATS = {"png": ("PNG", ".png"), "jpg": ("JPEG", ".jpg"), "webp": ("WEBP", ".webp")}
SHARD = 1000  # images per sub-folder
LAST_FILE = "last_output.txt"  # runs/batch-generate/last_output.txt: the newest OUT, for `a2i score`


def image_relpath(row: int, ext: str) -> str:
    return f"images/{row // SHARD:06d}/{row:09d}{ext}"


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def encode_image(img: np.ndarray, fmt: str, png_level: int = 1, quality: int = 90) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    pil = Image.fromarray(img)
    if fmt == "png":
        pil.save(buf, format="PNG", compress_level=png_level)
    elif fmt == "jpg":
        pil.save(buf, format="JPEG", quality=quality)
    else:
        pil.save(buf, format="WEBP", quality=quality, method=2)
    return buf.getvalue()


class Predictor:
    """Loads the model once; each call turns a batch of features into image files.

    __call__({"row": (B,) int64, "feats": (B, 104) float32}) -> {"row": (B,), "path": (B,) str, "engine": str}
    """

    def __init__(self, ckpt: str, out: str, engine: str = "auto", fmt: str = "png", png_level: int = 1,
                 quality: int = 90, crash_once: str | None = None):
        from .engine import load_engine

        self.engine = load_engine(Path(ckpt), engine, option="--engine")
        self.out = Path(out)
        self.fmt, self.ext = fmt, FORMATS[fmt][1]
        self.png_level, self.quality = png_level, quality
        self.crash_once = crash_once  # tests: this process kills itself once (marker file) to prove retries
        self._made: set[Path] = set()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict:
        import torch

        if self.crash_once and not os.path.exists(self.crash_once):
            Path(self.crash_once).write_text(str(os.getpid()))
            os.kill(os.getpid(), 9)
        rows = np.asarray(batch["row"], dtype=np.int64)
        with torch.inference_mode():
            images = self.engine.generate(batch["feats"])  # (B, S, S, 3) uint8
        paths = []
        for row, img in zip(rows.tolist(), images):
            rel = image_relpath(row, self.ext)
            path = self.out / rel
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(path.parent)
            write_atomic(path, encode_image(img, self.fmt, self.png_level, self.quality))
            paths.append(rel)
        return {"row": rows, "path": np.array(paths), "engine": self.engine.backend}


# ---------------------------------------------------------------- reading the CSV


@dataclass
class Chunk:
    rows: np.ndarray  # (n,) int64, 1-based data rows
    feats: np.ndarray  # (n, 104) float32
    extras: list[tuple]  # the carried (non-MFCC) fields of each row


class CsvStream:
    """A CSV with mfcc_1..mfcc_104 read in chunks; bad rows are reported, not fatal."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"input CSV {self.path} does not exist")
        with open(self.path, newline="", encoding="utf-8-sig") as f:
            try:
                header = next(csv.reader(f))
            except StopIteration:
                raise UserError(f"{self.path} is empty; expected a header with mfcc_1..mfcc_104")
            except (csv.Error, UnicodeDecodeError) as e:
                raise UserError(f"{self.path} is not a readable CSV ({e})")
        self.header = [h.strip() for h in header]
        missing = [c for c in FEATURE_COLUMNS if c not in self.header]
        if missing:
            shown = ", ".join(missing[:8]) + (f" ... ({len(missing)} of {len(FEATURE_COLUMNS)})" if len(missing) > 8 else "")
            raise UserError(f"{self.path} lacks MFCC columns: {shown}; expected mfcc_1..mfcc_104 (lower case)")
        self.feature_idx = [self.header.index(c) for c in FEATURE_COLUMNS]
        self.extra_columns = [h for h in self.header if h not in FEATURE_COLUMNS]
        self.extra_idx = [i for i, h in enumerate(self.header) if h not in FEATURE_COLUMNS]

    def count_rows(self) -> int:
        """Data lines (for the progress bar): newlines minus the header, without parsing."""
        n, last = 0, b"\n"
        with open(self.path, "rb") as f:
            while block := f.read(1 << 22):
                n += block.count(b"\n")
                last = block[-1:]
        return max(0, n - 1 + (last != b"\n"))

    def chunks(self, size: int, done: np.ndarray | None = None) -> Iterator[tuple[Chunk, list[tuple[int, str]], int]]:
        """Yield (chunk of good rows not in `done`, [(row, reason) of bad rows], rows read)."""
        done = np.sort(done) if done is not None and len(done) else None
        ncols = len(self.header)
        get_feats = operator.itemgetter(*self.feature_idx)
        get_extra = operator.itemgetter(*self.extra_idx) if self.extra_idx else (lambda r: ())
        one_extra = len(self.extra_idx) == 1
        with open(self.path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            next(reader)
            row = 0
            while True:
                records: list[tuple[int, list[str]]] = []
                try:
                    for rec in reader:
                        if not rec:  # blank line: not a data row (as pandas)
                            continue
                        row += 1
                        records.append((row, rec))
                        if len(records) == size:
                            break
                except csv.Error as e:
                    raise UserError(f"{self.path}: CSV syntax error after data row {row} ({e})")
                if not records:
                    return
                n_read = len(records)
                if done is not None:
                    nums = np.fromiter((r for r, _ in records), np.int64, len(records))
                    pos = np.searchsorted(done, nums).clip(max=len(done) - 1)
                    keep = done[pos] != nums
                    records = [rec for rec, k in zip(records, keep.tolist()) if k]
                errors = []
                good = []
                for r, rec in records:
                    if len(rec) != ncols:
                        errors.append((r, f"expected {ncols} fields, got {len(rec)}"))
                    else:
                        good.append((r, rec))
                feats, good, bad = self._parse(good, get_feats)
                errors += bad
                errors.sort()
                extras = [(e,) if one_extra else e for e in (get_extra(rec) for _, rec in good)]
                chunk = Chunk(np.array([r for r, _ in good], np.int64), feats, extras)
                yield chunk, errors, n_read

    def _parse(self, good, get_feats):
        """Features of the rows that parse and are finite; the others as (row, reason)."""
        if not good:
            return np.empty((0, len(FEATURE_COLUMNS)), np.float32), [], []
        try:
            feats = np.array([get_feats(rec) for _, rec in good]).astype(np.float32)
        except ValueError:  # some value is not a number: find which, row by row
            feats, ok, bad = [], [], []
            for r, rec in good:
                vals = get_feats(rec)
                try:
                    feats.append(np.array(vals).astype(np.float32))
                    ok.append((r, rec))
                except ValueError:
                    col = next(c for c, v in zip(FEATURE_COLUMNS, vals) if not is_number(v))
                    bad.append((r, f"{col} is not a number ({_clip(vals[FEATURE_COLUMNS.index(col)])!r})"))
            feats = np.stack(feats) if feats else np.empty((0, len(FEATURE_COLUMNS)), np.float32)
            good = ok
        else:
            bad = []
        finite = np.isfinite(feats).all(axis=1)
        if not finite.all():
            for i in np.flatnonzero(~finite).tolist():
                col = FEATURE_COLUMNS[int(np.flatnonzero(~np.isfinite(feats[i]))[0])]
                bad.append((good[i][0], f"{col} is not finite ({feats[i][FEATURE_COLUMNS.index(col)]})"))
            feats = feats[finite]
            good = [g for g, k in zip(good, finite.tolist()) if k]
        return feats, good, bad


def _clip(s: str, n: int = 20) -> str:
    return s if len(s) <= n else s[:n] + "..."


# ---------------------------------------------------------------- the output folder


class Manifest:
    """manifest.csv, appended one chunk per write(); a torn last line is dropped on open."""

    def __init__(self, path: Path, columns: list[str]):
        self.path = path
        header = ["row", "path", *columns]
        if path.exists() and path.stat().st_size > 0:
            self._drop_torn_tail()
            with open(path, newline="", encoding="utf-8") as f:
                found = next(csv.reader(f), [])
            if found != header:
                raise UserError(f"{path} has columns {found[:6]}... not {header[:6]}...; "
                                "it belongs to another input: pass a new --out")
        else:
            write_atomic(path, self._format([header]))
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND)

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
    def _format(lines) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(lines)
        return buf.getvalue().encode("utf-8")

    def append(self, lines: list[list]) -> None:
        if lines:
            os.write(self.fd, self._format(lines))  # one write: a chunk's lines land together

    def close(self) -> None:
        os.close(self.fd)


def _clean_temporaries(out: Path) -> None:
    images = out / "images"
    if images.is_dir():
        for shard in os.scandir(images):
            if shard.is_dir():
                for entry in os.scandir(shard.path):
                    if entry.name.startswith(".") and ".tmp" in entry.name:
                        os.unlink(entry.path)


def remember_output(out: Path, runs: Path = RUNS) -> None:
    """Record OUT as the newest batch-generate output (read by `a2i score` without arguments)."""
    folder = Path(runs, "batch-generate")
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / LAST_FILE, (str(Path(out).resolve()) + "\n").encode())


def last_output(runs: Path = RUNS) -> Path:
    """The newest batch-generate output: the one recorded in LAST_FILE, else the newest runs/batch-generate/*."""
    rec = Path(runs, "batch-generate", LAST_FILE)
    if rec.is_file():
        p = Path(rec.read_text().strip())
        if (p / "manifest.csv").is_file():
            return p
    from .runs import newest_run

    return newest_run("batch-generate", "manifest.csv", root=runs)


# ---------------------------------------------------------------- the run


@dataclass
class BatchResult:
    out: Path
    total: int = 0  # data rows in the input
    written: int = 0  # images written by this run
    skipped: int = 0  # rows already done by an earlier run
    failed: int = 0  # bad rows (listed in errors.csv)
    seconds: float = 0.0
    backend: str = ""
    engine: str = ""
    errors_path: Path | None = None
    manifest_path: Path | None = None
    first_errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


def batch_generate(csv_path: Path, out: Path, model: Path, engine: str = "auto", backend: str = "auto",
                   ray_address: str | None = None, fmt: str = "png", png_level: int = 1, quality: int = 90,
                   batch_size: int = 64, workers: int | None = None,
                   progress: Callable[[int, int], None] | None = None, predictor_kwargs: dict | None = None) -> BatchResult:
    """Generate one image per good row of `csv_path` into `out`; see the module docstring.

    progress(advance, total) is called as rows are finished (written, skipped or failed).
    """
    from .checkpoint import read_checkpoint
    from .engine import BACKENDS as ENGINES

    if fmt not in FORMATS:
        raise UserError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not 0 <= png_level <= 9:
        raise UserError(f"--png-level must be 0..9, got {png_level}")
    if not 1 <= quality <= 100:
        raise UserError(f"--quality must be 1..100, got {quality}")
    if batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {batch_size}")
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be positive, got {workers}")
    if engine not in ENGINES:
        raise UserError(f"unknown --engine {engine!r}; choose one of {', '.join(ENGINES)}")
    choose_backend(backend, None, ray_address)  # a bad --backend fails before anything is written
    stream = CsvStream(csv_path)
    model = Path(model)
    if model.suffix == ".pt2":  # an `a2i export` program: check it loads, in one line
        from .export import load_program

        load_program(model)
    else:
        read_checkpoint(model)  # a missing or broken model fails here, in one line
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    record_path = out / "batch.json"
    record = {"input": str(Path(csv_path).resolve()), "model": str(model.resolve()), "format": fmt}
    if record_path.is_file():
        old = json.loads(record_path.read_text())
        for key in ("input", "model", "format"):
            if old.get(key) != record[key]:
                raise UserError(f"{out} holds a run with {key} {old.get(key)}, not {record[key]}; "
                                "pass a new --out (or the same inputs to resume)")
    manifest = Manifest(out / "manifest.csv", stream.extra_columns)
    done = manifest.done_rows()
    _clean_temporaries(out)

    total = stream.count_rows()
    result = BatchResult(out=out, total=total, manifest_path=manifest.path)
    result.backend = choose_backend(backend, total - len(done), ray_address)
    write_atomic(record_path, json.dumps({**record, "version": __version__, "backend": result.backend,
                                          "png_level": png_level, "quality": quality}, indent=2).encode())
    remember_output(out)

    errors_tmp = out / ".errors.csv.partial"
    err_f = open(errors_tmp, "w", newline="", encoding="utf-8")
    err_w = csv.writer(err_f, lineterminator="\n")
    err_w.writerow(["row", "reason"])
    in_order: collections.deque = collections.deque()  # (rows, extras) of submitted chunks, in order

    def tasks():
        for chunk, errors, n_read in stream.chunks(batch_size, done):
            skipped = n_read - len(chunk.rows) - len(errors)
            result.skipped += skipped
            if errors:
                err_w.writerows(errors)
                err_f.flush()
                result.failed += len(errors)
                if len(result.first_errors) < 5:
                    result.first_errors += errors[: 5 - len(result.first_errors)]
            if progress and (skipped or errors):
                progress(skipped + len(errors), total)
            if len(chunk.rows):
                in_order.append(chunk)
                yield {"row": chunk.rows, "feats": chunk.feats}

    spec = WorkerSpec(Predictor, {"ckpt": str(model), "out": str(out), "engine": engine, "fmt": fmt,
                                  "png_level": png_level, "quality": quality, **(predictor_kwargs or {})})
    t0 = time.perf_counter()
    try:
        for res in run_ordered(spec, tasks(), result.backend, workers=workers, ray_address=ray_address):
            chunk = in_order.popleft()
            assert np.array_equal(chunk.rows, res["row"]), "results out of order"
            manifest.append([[r, p, *e] for r, p, e in zip(chunk.rows.tolist(), res["path"].tolist(), chunk.extras)])
            result.written += len(chunk.rows)
            result.engine = res["engine"]
            if progress:
                progress(len(chunk.rows), total)
    finally:
        result.seconds = time.perf_counter() - t0
        manifest.close()
        err_f.close()
    errors_path = out / "errors.csv"
    if result.failed:
        os.replace(errors_tmp, errors_path)
        result.errors_path = errors_path
    else:
        errors_tmp.unlink()
        errors_path.unlink(missing_ok=True)
    write_atomic(record_path, json.dumps({**record, "version": __version__, "backend": result.backend,
                                          "engine": result.engine, "png_level": png_level, "quality": quality,
                                          "rows": total, "written": result.written, "skipped": result.skipped,
                                          "failed": result.failed, "seconds": round(result.seconds, 3)},
                                         indent=2).encode())
    return result
