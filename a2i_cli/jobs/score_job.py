"""Scoring many pairs in parallel: chunks of pairs decoded and scored on local cores, Ray or inline.

    frame, problems = score_pairs(pair_images(generated, targets), backend="local")

On Ray, images on this machine's disk travel inside the tasks (a worker node sees none of
our files); images at URIs are read by the workers themselves.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.progress import NO_PROGRESS, Progress
from ..core.storage import Location
from ..eval.pairing import Pairs
from ..eval.score import METRIC_NAMES, ScoreWorker
from .executors import choose_backend, run_ordered
from .workers import WorkerSpec


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
    for k, res in enumerate(run_ordered(WorkerSpec(ScoreWorker), tasks, backend, workers=workers, ray_address=ray_address)):
        for m in METRIC_NAMES:
            parts[m].append(res["scores"][m])
        problems += [{"name": pairs.names[k * chunk + i], "reason": why} for i, why in res["problems"]]
        progress.advance(len(res["scores"]["ssim"]))
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
