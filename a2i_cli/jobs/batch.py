"""Batch generation: one image per CSV row, streamed, resumable, on local cores or Ray.

    result = batch_generate(Path("mfcc.csv"), BatchConfig(out=Path("imgs"), model=Path("best.pt")))

Output folder (OUT):
    images/000000/000000042.png   the image of data row 42 (predictor.py)
    manifest.csv                  row (1-based data row of the input), path (relative to OUT), then
                                  every non-MFCC column of the input (IMAGE, CLASS2, ids ...), in row order
    errors.csv                    row, reason: rows that could not be used (only when there are some)
    batch.json                    the input, model and options, and the counts of the last run

Streaming: the CSV is read in chunks of `batch_size` rows; at most two chunks per worker
are in flight, so memory does not grow with the row count.

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
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..core.atomic import temporary_name, write_json
from ..core.config import BatchConfig
from ..core.errors import UserError
from ..core.hashing import fingerprint
from ..core.locks import output_lock
from ..core.progress import NO_PROGRESS, Progress
from ..core.runs import new_run_dir, newest_best
from ..data.mfcc_csv import CsvStream
from ..inference.engine import is_program
from ..inference.export import load_program
from ..model.checkpoint import read_checkpoint
from .batch_output import Manifest, clean_temporaries, remember_output
from .executors import choose_backend, run_ordered
from .predictor import Predictor
from .workers import WorkerSpec


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


def check_model(model: Path) -> None:
    """A missing or broken model fails here, in one line, before anything is written."""
    if is_program(model):
        load_program(model)
    else:
        read_checkpoint(model)


def batch_generate(csv_path: Path, cfg: BatchConfig, progress: Progress = NO_PROGRESS,
                   predictor_kwargs: dict | None = None) -> BatchResult:
    """Generate one image per good row of `csv_path` into cfg.out; see the module docstring."""
    choose_backend(cfg.backend, None, cfg.ray_address)  # a bad backend fails before anything is written
    stream = CsvStream(csv_path)
    model = Path(cfg.model) if cfg.model is not None else newest_best()
    check_model(model)
    out = Path(cfg.out) if cfg.out is not None else new_run_dir("batch-generate", cfg.name, cfg.exist_ok)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the images")
    with output_lock(out, "batch-generate"):
        return _run(stream, model, out, cfg, progress, predictor_kwargs)


def check_resume(out: Path, record: dict) -> None:
    """A rerun into OUT must have the same input, model and format as the run that started there."""
    record_path = out / "batch.json"
    if not record_path.is_file():
        if (out / "manifest.csv").is_file():
            raise UserError(f"{out} holds a manifest.csv but no batch.json, so its input is unknown; pass a new --out")
        return
    try:
        old = json.loads(record_path.read_text())
        if not isinstance(old, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise UserError(f"{record_path} is damaged ({e}); pass a new --out to start afresh")
    for key in ("input", "model", "format"):
        if old.get(key) != record[key]:
            raise UserError(f"{out} holds a run with {key} {old.get(key)}, not {record[key]}; "
                            "pass a new --out (or the same inputs to resume)")
    for key, what in (("input_file", "input CSV"), ("model_file", "model")):
        if key in old and old[key] != record[key]:
            path = record[key.split("_")[0]]
            raise UserError(f"the {what} {path} has changed since the run in {out} started (its size or content "
                            "differ from batch.json); resuming would mix two inputs: restore it, or pass a new --out "
                            "to start afresh")


def _run(stream: CsvStream, model: Path, out: Path, cfg: BatchConfig, progress: Progress,
         predictor_kwargs: dict | None) -> BatchResult:
    record_path = out / "batch.json"
    record = {"input": str(stream.path.resolve()), "input_file": fingerprint(stream.path),
              "model": str(model.resolve()), "model_file": fingerprint(model), "format": str(cfg.format)}
    check_resume(out, record)
    manifest = Manifest(out / "manifest.csv", stream.extra_columns)
    done = manifest.done_rows()
    clean_temporaries(out)

    total = stream.count_rows()
    result = BatchResult(out=out, total=total, manifest_path=manifest.path)
    result.backend = choose_backend(cfg.backend, total - len(done), cfg.ray_address)
    options = {"version": __version__, "backend": str(result.backend), "png_level": cfg.png_level, "quality": cfg.quality}
    write_json(record_path, {**record, **options})
    remember_output(out)
    progress.start(total, "generating")

    in_order: collections.deque = collections.deque()  # chunks submitted, in order
    errors_tmp = temporary_name(out / "errors.csv")  # renamed over errors.csv only when rows failed
    err_f = open(errors_tmp, "w", newline="", encoding="utf-8")
    err_w = csv.writer(err_f, lineterminator="\n")
    err_w.writerow(["row", "reason"])

    def tasks():
        for chunk, errors, n_read in stream.chunks(cfg.batch_size, done):
            skipped = n_read - len(chunk.rows) - len(errors)
            result.skipped += skipped
            if errors:
                err_w.writerows(errors)
                err_f.flush()
                result.failed += len(errors)
                result.first_errors += errors[: max(0, 5 - len(result.first_errors))]
            if skipped or errors:
                progress.advance(skipped + len(errors))
            if len(chunk.rows):
                in_order.append(chunk)
                yield {"row": chunk.rows, "feats": chunk.feats}

    spec = WorkerSpec(Predictor, {"ckpt": str(model), "out": str(out), "engine": str(cfg.engine),
                                  "fmt": str(cfg.format), "png_level": cfg.png_level, "quality": cfg.quality,
                                  **(predictor_kwargs or {})})
    t0 = time.perf_counter()
    try:
        for res in run_ordered(spec, tasks(), result.backend, workers=cfg.workers, ray_address=cfg.ray_address):
            chunk = in_order.popleft()
            assert np.array_equal(chunk.rows, res["row"]), "results out of order"
            manifest.append([[r, p, *e] for r, p, e in zip(chunk.rows.tolist(), res["path"].tolist(), chunk.extras)])
            result.written += len(chunk.rows)
            result.engine = res["engine"]
            progress.advance(len(chunk.rows))
        err_f.close()
        if result.failed:
            os.replace(errors_tmp, out / "errors.csv")
            result.errors_path = out / "errors.csv"
        else:
            (out / "errors.csv").unlink(missing_ok=True)
    finally:
        result.seconds = time.perf_counter() - t0
        manifest.close()
        err_f.close()
        errors_tmp.unlink(missing_ok=True)
    write_json(record_path, {**record, **options, "engine": result.engine, "rows": total, "written": result.written,
                             "skipped": result.skipped, "failed": result.failed, "seconds": round(result.seconds, 3)})
    return result
