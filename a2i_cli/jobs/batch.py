"""Batch generation: one image per CSV row, streamed, resumable, on local cores or a Ray cluster.

    result = batch_generate("mfcc.csv", BatchConfig(out=Path("imgs"), model=Path("best.pt")))

Input, model and output may be local paths or URIs (s3://, gs://, hdfs://, file://).
Output folder (OUT):
    images/000000/000000042.png   the image of data row 42 (predictor.py)
    manifest.csv                  row, path (relative to OUT), then the input's other columns (batch_output.py)
    errors.csv                    row, reason: rows that could not be used (only when there are some)
    batch.json                    the input, model (with size and hash) and options, and the counts

Where images are written: with a Ray backend and a local OUT the workers send the encoded
images back and this process writes them (a worker node needs no path of ours); with a URI
OUT the workers write to it themselves and report each chunk written before its manifest
lines are; on local cores the workers write to OUT directly.

Resuming: a rerun into the same OUT checks that input and model are unchanged, drops
manifest lines whose image is gone, skips the rows listed and does the rest. The run ends
with every listed image checked against a listing of OUT: exit 0 only when all are there.
"""
from __future__ import annotations

import collections
import csv
import io
import json
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import __version__
from ..core.config import BatchConfig
from ..core.errors import UserError
from ..core.locks import LOCK_NAME, lock_output
from ..core.progress import NO_PROGRESS, Progress
from ..core.runs import new_run_dir, newest_best
from ..core.storage import Location
from ..data.csv_stream import CsvStream
from ..data.recipe_check import engine_norm, first_rows, training_warning
from .batch_check import bytes_fingerprint, check_model, check_resume, input_record
from .batch_output import check_listed, clean_temporaries, open_manifest, remember_output
from .executors import choose_backend, forks_workers, run_ordered
from .predictor import Predictor, folder_identity, write_image
from .workers import WorkerDied, WorkerSpec


@dataclass
class BatchResult:
    out: Location
    total: int | None = 0  # data rows in the input (None: not counted, a remote input)
    written: int = 0  # images written by this run
    skipped: int = 0  # rows already done by an earlier run
    failed: int = 0  # bad rows (listed in errors.csv)
    present: int = 0  # manifest rows whose image is at OUT after the run
    seconds: float = 0.0
    backend: str = ""
    engine: str = ""
    engines: dict = field(default_factory=dict)  # engine -> number of nodes that ran it
    engine_choice: str = ""  # why the engine (auto) or its kernels (fused), as the last worker saw it
    errors_path: Location | None = None
    manifest_path: object = None
    first_errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


def batch_generate(csv_path, cfg: BatchConfig, progress: Progress = NO_PROGRESS,
                   predictor_kwargs: dict | None = None, warn: Callable[[str], None] | None = None) -> BatchResult:
    """Generate one image per good row of `csv_path` into cfg.out; see the module docstring.

    `warn` gets one line when the CSV's first rows sit far from the model's training rows (another
    feature recipe?, data/recipe_check.py); without it that check is skipped."""
    choose_backend(cfg.backend, None, cfg.ray_address)  # a bad backend fails before anything is written
    stream = CsvStream(csv_path)
    clash = [c for c in stream.extra_columns if c in ("row", "path")]
    if clash:
        raise UserError(f"{stream.source}: its column {clash[0]!r} would clash with the manifest's own {clash[0]!r} "
                        "column; rename it")
    if stream.count_rows() == 0:
        raise UserError(f"{stream.source} has a header but no data rows; nothing to generate")
    model = Location.of(cfg.model if cfg.model is not None else newest_best())
    model_bytes, engine = check_model(model, str(cfg.engine))
    note = warn and training_warning(first_rows(stream), engine_norm(engine), engine.recipe, stream.source, model)
    if note:
        warn(note)
    out = Location.of(cfg.out if cfg.out is not None else new_run_dir("batch-generate", cfg.name, cfg.exist_ok))
    if out.is_file():
        raise UserError(f"--out {out} is a file; give a folder for the images")
    if out.is_local and out.local.is_symlink() and not out.local.exists():
        raise UserError(f"--out {out} is a link to {os.readlink(out.local)}, which does not exist; give a real folder")
    check_ours(out)
    with lock_output(out, "batch-generate") as held:
        return _run(stream, model, model_bytes, engine, out, cfg, progress, predictor_kwargs, held)


def check_ours(out: Location) -> None:
    """A local --out is new, empty, or a batch-generate output (batch.json): a2i never overwrites or deletes
    files it did not write there."""
    if not out.is_local or not out.local.is_dir() or (out.local / "batch.json").is_file():
        return
    if (out.local / "manifest.csv").is_file():
        return  # check_resume names this case
    foreign = sorted(name for name in os.listdir(out.local) if name != LOCK_NAME)
    if foreign:
        raise UserError(f"--out {out} already holds files a2i did not write there ({foreign[0]}"
                        f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}) and no batch.json; "
                        "give a new or empty folder")


def _run(stream: CsvStream, model: Location, model_bytes: bytes, engine, out: Location, cfg: BatchConfig,
         progress: Progress, predictor_kwargs: dict | None, held) -> BatchResult:
    record = {**input_record(stream.source), "model": str(model.local.resolve()) if model.is_local else str(model),
              "model_file": bytes_fingerprint(model_bytes), "format": str(cfg.format)}
    check_resume(out, record)
    if not out.child("batch.json").is_file():  # before anything else is written: no output exists without it
        out.child("batch.json").write_bytes(json.dumps(record, indent=2).encode())
    manifest = open_manifest(out, stream.extra_columns)
    clean_temporaries(out)
    done, gone = check_listed(out, manifest)
    if gone:  # listed but no longer there: redo them
        manifest.drop(gone)
        done = np.setdiff1d(done, np.fromiter(gone, np.int64, len(gone)))
    total = stream.count_rows()
    result = BatchResult(out=out, total=total, manifest_path=manifest.path)
    result.backend = choose_backend(cfg.backend, None if total is None else total - len(done), cfg.ray_address)
    options = {"version": __version__, "backend": str(result.backend), "png_level": cfg.png_level, "quality": cfg.quality}
    out.child("batch.json").write_bytes(json.dumps({**record, **options}, indent=2).encode())
    remember_output(out)
    deliver = "return" if result.backend == "ray" and out.is_local else "write"
    spec = WorkerSpec(Predictor, {"model": model_bytes, "model_name": model.text.rsplit("/", 1)[-1],
                                  "model_shown": str(model), "out": str(out),
                                  "engine": str(cfg.engine), "fmt": str(cfg.format), "png_level": cfg.png_level,
                                  "quality": cfg.quality, "deliver": deliver,
                                  "out_identity": folder_identity(out.local) if deliver == "return" else None,
                                  # this process's engine, where the workers are forked from it (or are it)
                                  "prebuilt": engine if result.backend == "inline" or (
                                      result.backend == "local" and forks_workers()) else None,
                                  **(predictor_kwargs or {})})
    errors = io.StringIO()
    err_w = csv.writer(errors, lineterminator="\n")
    progress.start(total, "generating")
    t0 = time.perf_counter()
    if hasattr(manifest, "record"):  # a URI OUT: no manifest part is ever put without its batch.json
        manifest.record = json.dumps({**record, **options}, indent=2).encode()
    finished = False
    try:
        _generate(stream, spec, cfg, done, manifest, result, err_w, progress, out, held)
        finished = True
    finally:
        result.seconds = time.perf_counter() - t0
        if held.still_ours():  # a run that lost its lock writes nothing more
            manifest.close(final=finished)  # after a fault, only the buffered lines are put; a rerun joins
            if finished or result.failed:
                _write_errors(out, result, errors.getvalue())
    held.check()  # the final record and the manifest's last rewrite are the lock holder's alone
    _finish(out, manifest, result, record, options)
    return result


def _generate(stream, spec, cfg, done, manifest, result, err_w, progress, out, held) -> None:
    in_order: collections.deque = collections.deque()  # chunks submitted, in order
    nodes: dict[str, set] = collections.defaultdict(set)
    made: set = set()

    def tasks():
        for chunk, errors, n_read in stream.chunks(cfg.batch_size, done):
            skipped = n_read - len(chunk.rows) - len(errors)
            result.skipped += skipped
            if errors:
                err_w.writerows(errors)
                result.failed += len(errors)
                result.first_errors += errors[: max(0, 5 - len(result.first_errors))]
            if skipped or errors:
                progress.advance(skipped + len(errors))
            if len(chunk.rows):
                in_order.append(chunk)
                yield {"row": chunk.rows, "feats": chunk.feats}

    for res in run_ordered(spec, tasks(), result.backend, workers=cfg.workers, ray_address=cfg.ray_address):
        held.check()  # a remote lock taken over while we were stalled: stop before writing more lines
        chunk = in_order.popleft()
        if not np.array_equal(chunk.rows, res["row"]):
            raise WorkerDied("a worker answered for other rows than it was given; rerun to resume", code=3)
        for rel, blob in zip(res["path"], res.get("data") or []):  # deliver="return": written here
            write_image(out, rel, blob, made)
        manifest.append([[r, p, *e] for r, p, e in zip(chunk.rows.tolist(), res["path"], chunk.extras)])
        result.written += len(chunk.rows)
        result.engine = res["engine"]
        result.engine_choice = res.get("choice") or result.engine_choice
        nodes[res["engine"]].add(res.get("node", "local"))
        progress.advance(len(chunk.rows))
    result.engines = {engine: len(ids) for engine, ids in nodes.items()}


def _write_errors(out: Location, result: BatchResult, text: str) -> None:
    path = out.child("errors.csv")
    if result.failed:
        path.write_bytes(("row,reason\n" + text).encode("utf-8"))
        result.errors_path = path
    elif path.exists():
        path.delete()  # an earlier run's bad rows were fixed


def _finish(out: Location, manifest, result: BatchResult, record: dict, options: dict) -> None:
    """Count what is really at OUT; a listed image that is not there fails the run (rerun to redo it)."""
    listed, gone = check_listed(out, manifest)
    result.present = len(listed) - len(gone)
    out.child("batch.json").write_bytes(json.dumps(
        {**record, **options, "engine": result.engine, "engines": result.engines, "rows": result.total,
         "written": result.written, "skipped": result.skipped, "failed": result.failed, "present": result.present,
         "seconds": round(result.seconds, 3)}, indent=2).encode())
    if gone:
        manifest.drop(gone)
        raise WorkerDied(f"{len(gone)} images listed as written are not at {out} (first: row {min(gone)}); "
                         "their manifest lines were removed: rerun the same command to make them", code=3)

