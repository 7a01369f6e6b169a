"""Scoring many pairs in parallel: chunks of pairs decoded and scored on local cores, Ray or inline.

    frame, problems = score_pairs(pair_images(generated, targets), backend="local")

On Ray, images on this machine's disk travel inside the tasks (a worker node sees none of
our files); images at URIs are read by the workers themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.config import ScoreConfig
from ..core.errors import UserError
from ..core.locks import holder_of, output_lock
from ..core.progress import NO_PROGRESS, Progress
from ..core.runs import new_run_dir
from ..core.storage import Location
from ..eval.pairing import Pairs, pair_images
from ..eval.report import write_report
from ..eval.score import FD_DEFINITION, METRIC_NAMES, ScoreWorker, frechet_of_pairs, summarise, write_outputs
from .executors import choose_backend, run_ordered
from .workers import WorkerSpec, local_cores

if TYPE_CHECKING:  # pandas loads only where a frame is made (not in the workers)
    import pandas as pd


def score_pairs(pairs: Pairs, chunk: int = 32, progress: Progress = NO_PROGRESS, backend: str = "auto",
                workers: int | None = None, ray_address: str | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Per-pair scores (DataFrame sorted by name) and the list of problems (pairs that could not be scored).

    Chunks of `chunk` pairs are decoded and scored in worker processes (backend local, every
    core), Ray actors (ray) or here (inline; auto picks it for a few hundred pairs).
    """
    n = len(pairs.generated)
    backend = choose_backend(backend, n, ray_address)
    tasks = (_task(pairs, i, chunk, ship=backend == "ray") for i in range(0, n, chunk))
    parts: dict[str, list] = {m: [] for m in METRIC_NAMES}
    problems = list(pairs.refused)  # paths that lead outside their root were never paired
    progress.start(n, "scoring")
    results = run_ordered(WorkerSpec(ScoreWorker), tasks, backend, workers=workers, ray_address=ray_address,
                          in_flight=None if backend == "ray" else 4 * (workers or local_cores()))
    for k, res in enumerate(results):
        if k == 0:
            import pandas  # noqa: F401 - loads (0.5 s) while the workers score, not after them
        for m in METRIC_NAMES:
            parts[m].append(res["scores"][m])
        problems += [{"name": pairs.names[k * chunk + i], "reason": why} for i, why in res["problems"]]
        progress.advance(len(res["scores"]["ssim"]))
    import pandas as pd

    cols = {m: np.concatenate(parts[m]) if parts[m] else np.empty(0) for m in METRIC_NAMES}
    frame = pd.DataFrame({"name": pairs.names, "generated": [str(p) for p in pairs.generated],
                          "target": [str(p) for p in pairs.targets], **cols})
    frame = frame[~np.isnan(frame["ssim"].to_numpy())] if n else frame
    return frame.sort_values("name", kind="stable").reset_index(drop=True), problems


def _local_bytes(text: str) -> bytes | None:
    """The bytes of a local image file (None when it is a URI, or unreadable: the worker says why)."""
    loc = Location.of(text)
    if not loc.is_local:
        return None
    try:
        return loc.local.read_bytes()
    except OSError:
        return None


def _task(pairs: Pairs, i: int, chunk: int, ship: bool) -> dict:
    task = {"generated": list(pairs.generated[i : i + chunk]), "targets": list(pairs.targets[i : i + chunk])}
    if ship:
        task["generated_data"] = [_local_bytes(p) for p in task["generated"]]
        task["target_data"] = [_local_bytes(p) for p in task["targets"]]
    return task


@dataclass
class ScoreResult:
    out: Path
    frame: pd.DataFrame
    problems: list[dict]
    unmatched: list[str]
    summary: dict
    csv_path: Path
    json_path: Path
    report: Path


FD_MIN_PAIRS = 10  # fewer images say nothing about a distribution (the covariance of one image is zero)


def score_folder(generated, cfg: ScoreConfig, progress: Progress = NO_PROGRESS) -> ScoreResult:
    """`a2i score`: pair, score and write scores.csv, summary.json and report.md into cfg.out (locked first)."""
    holder = holder_of(generated)
    if holder:
        raise UserError(f"{generated} is being written by a2i ({holder}); score it when that run has finished")
    classifier = None
    if cfg.classifier is not None:  # before any work; torch loads only here (1.5-2 s: plain scoring never needs it)
        from ..model.classifier import load_classifier

        classifier = load_classifier(Path(cfg.classifier))
    pairs = pair_images(generated, cfg.targets, cfg.allow_outside_paths)
    out = Path(cfg.out) if cfg.out is not None else new_run_dir("score", cfg.name, cfg.exist_ok)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the scores")
    with output_lock(out, "score"):
        frame, problems = score_pairs(pairs, cfg.chunk, progress=progress, backend=cfg.backend, workers=cfg.workers,
                                      ray_address=cfg.ray_address)
        summary = summarise(frame, problems, pairs.unmatched)
        if classifier is not None and len(frame) < FD_MIN_PAIRS:  # a covariance needs a set, not one or two images
            summary["fd_note"] = (f"no Fréchet distance: it compares two sets of images and needs at least "
                                  f"{FD_MIN_PAIRS} scored pairs, here {len(frame)}")
        elif classifier is not None:  # --classifier: how far the generated set is from the targets as a whole
            summary["fd"] = frechet_of_pairs(frame, classifier.features)
            summary["fd_classifier"] = str(cfg.classifier)
            summary["definitions"]["fd"] = FD_DEFINITION
        csv_path, json_path = write_outputs(out, frame, summary)
        report = write_report(out, frame, summary, n_examples=cfg.examples)
    return ScoreResult(out, frame, problems, pairs.unmatched, summary, csv_path, json_path, report)
