"""`a2i score`: pair generated images with targets, score every pair, write CSV + JSON.

Pairing (first that applies):
  1. GENERATED/manifest.csv with `path` and `IMAGE` columns (written by `a2i demo` and
     batch-generate): each generated path with its IMAGE target, resolved against TARGETS
     (a dataset folder, or the folder of a dataset CSV).
  2. TARGETS is a dataset CSV (IMAGE column): a generated file matches the target whose
     IMAGE file name has the same stem (`forest0.png` <-> `images/forest/forest0.png`).
  3. TARGETS is a folder: files matched by stem (relative path first, then file name).
Targets of another size are resized to the generated size (noted in the summary).
Missing or unreadable images are listed in the summary, not fatal.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from PIL import Image

from .errors import UserError
from .metrics import SSIM_REPORT, score_batch

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
METRIC_NAMES = ("ssim", "hist", "mse", "psnr")


@dataclass
class Pairs:
    generated: list[Path]
    targets: list[Path]
    names: list[str]
    unmatched: list[str] = field(default_factory=list)


def _images_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("."))


def pair_images(generated: Path, targets: Path) -> Pairs:
    generated, targets = Path(generated), Path(targets)
    if not generated.is_dir():
        raise UserError(f"generated folder {generated} does not exist")
    if not targets.exists():
        raise UserError(f"targets {targets} do not exist (a folder of images or a dataset CSV)")
    manifest = generated / "manifest.csv"
    root = targets.parent if targets.is_file() else targets
    if manifest.is_file():
        m = pd.read_csv(manifest, keep_default_na=False)
        if {"path", "IMAGE"} <= set(m.columns):
            gen = [Path(p) if Path(p).is_absolute() else generated / p for p in m["path"]]
            return Pairs(gen, [root / p for p in m["IMAGE"]], [Path(p).stem for p in m["path"]])
    gen_files = _images_under(generated)
    if not gen_files:
        raise UserError(f"no images (.png, .jpg, .webp) found in {generated}")
    if targets.is_file():
        try:
            table = pd.read_csv(targets, usecols=["IMAGE"], keep_default_na=False)
        except ValueError:
            raise UserError(f"{targets} has no IMAGE column; pass a folder of targets or a dataset CSV")
        by_stem = {Path(p).stem: root / p for p in table["IMAGE"]}
    else:
        by_stem = {}
        for p in _images_under(targets):
            by_stem.setdefault(p.stem, p)
            by_stem[str(p.relative_to(targets).with_suffix(""))] = p
    pairs = Pairs([], [], [])
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


def _read_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode to (H, W, 3) uint8; resize to size=(W, H) when given and different."""
    with Image.open(path) as im:
        im.load()
        if im.mode != "RGB":  # convert() copies even when the mode already matches
            im = im.convert("RGB")
        if size is not None and im.size != size:
            im = im.resize(size, Image.Resampling.BOX if im.width > size[0] else Image.Resampling.BICUBIC)
        return np.asarray(im, dtype=np.uint8)


def _load_pair(g: Path, t: Path) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """(generated, target resized to it, "") or (None, None, reason)."""
    for role, path in (("generated image", g), ("target", t)):
        if not Path(path).is_file():
            return None, None, f"{role} {path} does not exist"
    try:
        gen = _read_rgb(g)
    except Exception as e:
        return None, None, f"generated image {g} unreadable ({type(e).__name__})"
    try:
        tgt = _read_rgb(t, (gen.shape[1], gen.shape[0]))
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
        loaded = [_load_pair(g, t) for g, t in zip(gens, tgts)]
        by_shape: dict[tuple, list[int]] = {}
        for i, (g, t, why) in enumerate(loaded):
            if why:
                problems.append((i, why))
            else:
                by_shape.setdefault(g.shape, []).append(i)
        for idx in by_shape.values():
            s = score_batch(np.stack([loaded[i][0] for i in idx]), np.stack([loaded[i][1] for i in idx]))
            for m in METRIC_NAMES:
                scores[m][idx] = s[m]
        return {"scores": scores, "problems": problems}


def score_pairs(pairs: Pairs, chunk: int = 32, progress: Callable[[int], None] | None = None, backend: str = "auto",
                workers: int | None = None, ray_address: str | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Per-pair scores (DataFrame) and the list of problems (pairs that could not be scored).

    Chunks of `chunk` pairs are decoded and scored in worker processes (backend local, every
    core), Ray actors (ray) or here (inline; auto picks it for a few hundred pairs).
    """
    from .parallel import WorkerSpec, choose_backend, run_ordered

    n = len(pairs.generated)
    backend = choose_backend(backend, n, ray_address)
    tasks = ({"generated": [str(p) for p in pairs.generated[i : i + chunk]],
              "targets": [str(p) for p in pairs.targets[i : i + chunk]]} for i in range(0, n, chunk))
    parts = {m: [] for m in METRIC_NAMES}
    problems = []
    for k, res in enumerate(run_ordered(WorkerSpec(ScoreWorker), tasks, backend, workers=workers, ray_address=ray_address)):
        for m in METRIC_NAMES:
            parts[m].append(res["scores"][m])
        problems += [{"name": pairs.names[k * chunk + i], "reason": why} for i, why in res["problems"]]
        if progress:
            progress(len(res["scores"]["ssim"]))
    cols = {m: np.concatenate(parts[m]) if parts[m] else np.empty(0) for m in METRIC_NAMES}
    frame = pd.DataFrame({"name": pairs.names, "generated": [str(p) for p in pairs.generated],
                          "target": [str(p) for p in pairs.targets], **cols})
    frame = frame[~np.isnan(frame["ssim"].to_numpy())] if n else frame
    return frame.sort_values("name", kind="stable").reset_index(drop=True), problems


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
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "scores.csv", out / "summary.json"
    frame.to_csv(out / ".scores.csv.tmp", index=False)
    os.replace(out / ".scores.csv.tmp", csv_path)
    (out / ".summary.json.tmp").write_text(json.dumps(summary, indent=2))
    os.replace(out / ".summary.json.tmp", json_path)
    return csv_path, json_path
