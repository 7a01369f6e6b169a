"""Scoring generated images: pair them with targets, score a chunk of pairs, summarise, write CSV + JSON.

Pairing (first that applies):
  1. GENERATED/manifest.csv with `path` and `IMAGE` columns (written by `a2i demo` and
     batch-generate): each generated path with its IMAGE target, resolved against TARGETS
     (a dataset folder, or the folder of a dataset CSV).
  2. TARGETS is a dataset CSV (IMAGE column): a generated file matches the target whose
     IMAGE file name has the same stem (`forest0.png` <-> `images/forest/forest0.png`).
  3. TARGETS is a folder: files matched by stem (relative path first, then file name).
Targets of another size are resized to the generated size (noted in the summary).
Missing or unreadable images are listed in the summary, not fatal. Running the chunks on
many cores or a Ray cluster is jobs/score_job.py's business.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from ..core.atomic import atomic_path, write_json
from ..core.errors import UserError
from ..core.images import read_rgb
from ..core.paths import PathOutside, inside, normalise
from ..data.mfcc_csv import open_text
from .metrics import SSIM_REPORT, score_batch

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
METRIC_NAMES = ("ssim", "hist", "mse", "psnr")


@dataclass
class Pairs:
    generated: list[Path]
    targets: list[Path]
    names: list[str]
    unmatched: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)  # {"name", "reason"}: paths that lead outside their root


def _images_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("."))


def _read_table(path: Path, what: str) -> pd.DataFrame:
    try:
        with open_text(path) as f:
            return pd.read_csv(f, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError) as e:
        raise UserError(f"{what} {path} is not a readable CSV ({str(e).splitlines()[0][:120] if str(e) else type(e).__name__})")


def pair_images(generated: Path, targets: Path, allow_outside: bool = False) -> Pairs:
    """Pair generated images with targets (see the module docstring); paths from files stay inside their roots."""
    generated, targets = Path(generated), Path(targets)
    if generated.is_file():
        raise UserError(f"generated folder {generated} is a file; expected the folder batch-generate wrote")
    if not generated.is_dir():
        raise UserError(f"generated folder {generated} does not exist")
    if not targets.exists():
        raise UserError(f"targets {targets} do not exist (a folder of images or a dataset CSV)")
    root = targets.parent if targets.is_file() else targets
    manifest = generated / "manifest.csv"
    if manifest.is_file():
        m = _read_table(manifest, "manifest")
        if {"path", "IMAGE"} <= set(m.columns):
            pairs = Pairs([], [], [])
            for i, (gp, ip) in enumerate(zip(m["path"], m["IMAGE"]), start=1):
                name = PurePosixPath(normalise(gp)).stem or f"row{i}"
                try:
                    g = inside(generated, gp, allow_outside, what=f"manifest row {i}: path")
                    t = inside(root, ip, allow_outside, what=f"manifest row {i}: IMAGE")
                except PathOutside as e:
                    pairs.refused.append({"name": name, "reason": f"{e}; pass --allow-outside-paths to follow it"})
                    continue
                pairs.generated.append(g)
                pairs.targets.append(t)
                pairs.names.append(name)
            return pairs
    gen_files = _images_under(generated)
    if not gen_files:
        raise UserError(f"no images (.png, .jpg, .webp) found in {generated}")
    refused = []
    if targets.is_file():
        table = _read_table(targets, "targets")
        if "IMAGE" not in table.columns:
            raise UserError(f"{targets} has no IMAGE column; pass a folder of targets or a dataset CSV")
        by_stem = {}
        for i, p in enumerate(table["IMAGE"], start=1):
            try:
                by_stem[PurePosixPath(normalise(p)).stem] = inside(root, p, allow_outside, what=f"{targets.name} row {i}: IMAGE")
            except PathOutside as e:
                refused.append({"name": PurePosixPath(normalise(p)).stem, "reason": str(e)})
    else:
        by_stem = {}
        for p in _images_under(targets):
            by_stem.setdefault(p.stem, p)
            by_stem[str(p.relative_to(targets).with_suffix(""))] = p
    pairs = Pairs([], [], [], refused=refused)
    for g in gen_files:
        rel = str(g.relative_to(generated).with_suffix(""))
        t = by_stem.get(rel) or by_stem.get(g.stem)
        if t is None:
            pairs.unmatched.append(str(g))
            continue
        pairs.generated.append(g)
        pairs.targets.append(t)
        pairs.names.append(rel)
    if not pairs.generated:
        raise UserError(f"no generated image in {generated} matches a target in {targets} by file name")
    return pairs


def load_pair(g: Path, t: Path) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """(generated, target resized to it, "") or (None, None, reason)."""
    for role, path in (("generated image", g), ("target", t)):
        if Path(path).is_dir():
            return None, None, f"{role} {path} is a directory, not an image file"
        if not Path(path).is_file():
            return None, None, f"{role} {path} does not exist"
    try:
        gen = read_rgb(g)
    except Exception as e:
        return None, None, f"generated image {g} unreadable ({type(e).__name__})"
    try:
        tgt = read_rgb(t, (gen.shape[1], gen.shape[0]))
    except Exception as e:
        return None, None, f"target {t} unreadable ({type(e).__name__})"
    return gen, tgt, ""


class ScoreWorker:
    """Decodes and scores one chunk of pairs: {"generated": [paths], "targets": [paths]} ->
    {"scores": {metric: (n,) float64, NaN where the pair failed}, "problems": [(i, reason)]}."""

    def __call__(self, task: dict) -> dict:
        gens, tgts = task["generated"], task["targets"]
        n = len(gens)
        scores = {m: np.full(n, np.nan) for m in METRIC_NAMES}
        problems = []
        loaded = [load_pair(g, t) for g, t in zip(gens, tgts)]
        by_shape: dict[tuple, list[int]] = {}
        for i, (g, t, why) in enumerate(loaded):
            if why:
                problems.append((i, why))
            else:
                by_shape.setdefault(g.shape, []).append(i)
        for idx in by_shape.values():
            try:
                batch = score_batch(np.stack([loaded[i][0] for i in idx]), np.stack([loaded[i][1] for i in idx]))
            except ValueError as e:  # e.g. images smaller than the SSIM window
                problems += [(i, f"cannot be scored: {e}") for i in idx]
                continue
            for m in METRIC_NAMES:
                scores[m][idx] = batch[m]
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
        "definitions": {
            "ssim": SSIM_REPORT,
            "hist": "Pearson correlation of 256-bin histograms per RGB channel, averaged (seed project / OpenCV HISTCMP_CORREL)",
            "mse": "mean squared error on the 0..255 scale",
            "psnr": "10*log10(255^2/mse) dB, capped at 100 dB for identical images",
            "resizing": "targets of another size are resized to the generated size (box filter when shrinking)",
        },
        "problems": problems[:1000],
        "unmatched": unmatched[:1000],
    }


def write_outputs(out: Path, frame: pd.DataFrame, summary: dict) -> tuple[Path, Path]:
    csv_path, json_path = Path(out) / "scores.csv", Path(out) / "summary.json"
    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=False)
    write_json(json_path, summary)
    return csv_path, json_path
