"""Scoring generated images: a chunk of pairs decoded and scored, the summary, CSV + JSON outputs.

Pairs come from pairing.py. Images are read from local paths or URIs, or from bytes a
task carries (a Ray worker on another node does not see this machine's files). Targets of
another size are resized to the generated size. Missing or unreadable images are listed
in the summary, not fatal. Running the chunks on many cores or a Ray cluster is
jobs/score_job.py's business.
"""
from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..core.atomic import atomic_path, write_json
from ..core.errors import UserError, short
from ..core.images import read_rgb
from ..core.paths import NOT_REGULAR
from ..core.retry import StorageError
from ..core.storage import Location
from .frechet import FeatureStats, frechet_distance
from .metrics import SSIM_REPORT, score_batch, sharpness

if TYPE_CHECKING:  # pandas loads only where a frame is made (not in the workers)
    import pandas as pd

METRIC_NAMES = ("ssim", "hist", "mse", "psnr", "sharpness", "target_sharpness")
FD_DEFINITION = ("Fréchet distance of the generated images to their targets: each set summarised by the mean mu and "
                 "covariance S of a scene classifier's features (its last conv block averaged over positions, 128 "
                 "values), then |mu_g - mu_t|^2 + tr(S_g) + tr(S_t) - 2 tr((S_g S_t)^(1/2)); 0 = the same "
                 "distribution, lower is better; comparable only between runs scored with the same classifier")


def image_source(text: str, data: bytes | None = None):
    """What read_rgb opens: the bytes a task carried, a local path, or the bytes of a URI."""
    if data is not None:
        return io.BytesIO(data)
    loc = Location.of(text)
    return loc.local if loc.is_local else io.BytesIO(loc.read_bytes())


def load_pair(g: str, t: str, g_data: bytes | None = None,
              t_data: bytes | None = None) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """(generated, target resized to it, "") or (None, None, reason)."""
    sources = []
    for role, path, data in (("generated image", g, g_data), ("target", t, t_data)):
        loc = Location.of(path)
        if data is not None or not loc.is_local:
            try:
                sources.append(image_source(path, data))
            except StorageError:  # the store failed (after its retries): the job stops, exit 3, a rerun resumes
                raise
            except UserError as e:  # missing or not readable: this pair's problem, the others go on
                return None, None, f"{role} {path} {'does not exist' if 'does not exist' in str(e) else short(e, 160)}"
            continue
        local = loc.local
        why = _not_an_image_file(local)
        if why:
            return None, None, f"{role} {path} {why}"
        sources.append(local)
    try:
        gen = read_rgb(sources[0])
    except Exception as e:
        return None, None, f"generated image {g} unreadable ({type(e).__name__}: {short(e, 120)})"
    try:
        tgt = read_rgb(sources[1], (gen.shape[1], gen.shape[0]))
    except Exception as e:
        return None, None, f"target {t} unreadable ({type(e).__name__}: {short(e, 120)})"
    return gen, tgt, ""


def _not_an_image_file(local: Path) -> str:
    """Why a local path cannot be an image file ("" when it is a regular file): one stat, pathlib's answers."""
    try:
        mode = os.stat(local).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "does not exist"
    except OSError:  # e.g. no permission to look: the checks as pathlib makes them
        if local.is_dir():
            return "is a directory, not an image file"
        return "" if local.is_file() else (NOT_REGULAR if local.exists() else "does not exist")
    if stat.S_ISDIR(mode):
        return "is a directory, not an image file"
    return "" if stat.S_ISREG(mode) else NOT_REGULAR


class ScoreWorker:
    """Decodes and scores one chunk of pairs: {"generated": [paths], "targets": [paths], optional
    "generated_data"/"target_data": [bytes or None]} ->
    {"scores": {metric: (n,) float64, NaN where the pair failed}, "problems": [(i, reason)]}."""

    def __call__(self, task: dict) -> dict:
        gens, tgts = task["generated"], task["targets"]
        n = len(gens)
        scores = {m: np.full(n, np.nan) for m in METRIC_NAMES}
        problems = []
        g_data, t_data = task.get("generated_data") or [None] * n, task.get("target_data") or [None] * n
        for i, args in enumerate(zip(gens, tgts, g_data, t_data)):
            gen, tgt, why = load_pair(*args)
            if why:
                problems.append((i, why))
                continue
            try:  # one pair at a time: no stacked copies, and the images of one pair stay in the cache
                pair = score_batch(gen[None], tgt[None]) | {"sharpness": sharpness(gen), "target_sharpness": sharpness(tgt)}
            except ValueError as e:  # e.g. images smaller than the SSIM window
                problems.append((i, f"cannot be scored: {e}"))
                continue
            for m in METRIC_NAMES:
                scores[m][i] = pair[m][0]
        return {"scores": scores, "problems": problems}


def summarise(frame: pd.DataFrame, problems: list[dict], unmatched: list[str]) -> dict:
    return {
        "pairs_scored": int(len(frame)),
        "pairs_failed": len(problems),
        "unmatched_generated": len(unmatched),
        "metrics": {
            m: {"mean": float(frame[m].mean()), "median": float(frame[m].median()), "std": float(frame[m].std(ddof=0)),
                "min": float(frame[m].min()), "max": float(frame[m].max())}
            for m in METRIC_NAMES
        } if len(frame) else {},
        "sharpness_vs_targets": float(frame["sharpness"].mean() / frame["target_sharpness"].mean())
        if len(frame) and frame["target_sharpness"].mean() > 0 else float("nan"),
        "definitions": {
            "ssim": SSIM_REPORT,
            "hist": "Pearson correlation of 256-bin histograms per RGB channel, averaged (seed project / OpenCV HISTCMP_CORREL)",
            "mse": "mean squared error on the 0..255 scale",
            "psnr": "10*log10(255^2/mse) dB, capped at 100 dB for identical images",
            "sharpness": "mean gradient magnitude of the grey levels (central differences, 0-255 scale) of the "
                         "generated image; target_sharpness: the same of its target; sharpness_vs_targets: the ratio "
                         "of their means (1 = as sharp as the real images)",
            "resizing": "targets of another size are resized to the generated size (box filter when shrinking)",
        },
        "problems": problems[:1000],
        "unmatched": unmatched[:1000],
    }


def frechet_of_pairs(frame: pd.DataFrame, embed: Callable[[np.ndarray], np.ndarray], chunk: int = 128) -> float:
    """The Fréchet distance (eval/frechet.py) of the scored pairs' generated images to their targets, in the feature
    space of `embed` ((B, H, W, 3) uint8 -> (B, D)); the images are read again, a chunk at a time. NaN for no pairs."""
    feats: dict[str, list[np.ndarray]] = {"gen": [], "tgt": []}
    for i in range(0, len(frame), chunk):
        rows = frame.iloc[i : i + chunk]
        for g, t in zip(rows["generated"], rows["target"]):
            gen, tgt, why = load_pair(g, t)
            if why:  # gone since it was scored: left out of both sets
                continue
            feats["gen"].append(embed(gen[None]))  # (1, D); one at a time: generated images may differ in size
            feats["tgt"].append(embed(tgt[None]))
    if not feats["gen"]:
        return float("nan")
    return frechet_distance(FeatureStats.of(np.concatenate(feats["gen"])), FeatureStats.of(np.concatenate(feats["tgt"])))


def write_outputs(out: Path, frame: pd.DataFrame, summary: dict) -> tuple[Path, Path]:
    csv_path, json_path = Path(out) / "scores.csv", Path(out) / "summary.json"
    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=False)
    write_json(json_path, summary)
    return csv_path, json_path
