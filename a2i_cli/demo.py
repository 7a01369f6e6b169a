"""Built-in demo data: a synthetic dataset in exactly the scene schema (docs DATASET.md).

Nine classes, each from 2-3 "source video" folders; consecutive rows are consecutive
seconds of one video. Every second has three scene parameters in [0, 1] (two class
specific ones, e.g. surf and gulls on a beach, plus light) that follow a slow random walk
with some fast jitter. The same parameters set the synthesised audio (demo_audio.py, ->
104 MFCCs through features.clips_to_features) and the drawn picture (demo_scenes.py), so
the sound really predicts the image, across folders too.

    from a2i_cli.demo import make_demo_dataset
    summary = make_demo_dataset(Path("demo"), rows=2000, seed=0)
"""
from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd
from PIL import Image

from . import CLASS2_LABELS, FEATURE_COLUMNS
from .demo_audio import synth_class
from .demo_scenes import draw_scene
from .errors import UserError
from .features import RECIPE, clips_to_features

# class -> (CLASS1, source folders, names of the two class parameters)
SCENES: dict[str, tuple[str, tuple[str, ...], tuple[str, str]]] = {
    "BEACH": ("OUTDOORS", ("beach", "beach2", "beach3"), ("surf", "gulls")),
    "CITY": ("OUTDOORS", ("london", "newyork", "vegas"), ("traffic", "horns")),
    "CLASSROOM": ("INDOORS", ("classroom1", "classroom2", "classroom3"), ("chatter", "teacher")),
    "FOOTBALL-MATCH": ("OUTDOORS", ("football1", "football2", "football3"), ("crowd_roar", "whistle")),
    "FOREST": ("OUTDOORS", ("forest", "forest3"), ("birdsong", "wind")),
    "GROCERY-STORE": ("INDOORS", ("store1", "store2", "store3"), ("scanner_beeps", "trolleys")),
    "JUNGLE": ("OUTDOORS", ("jungle", "jungle2"), ("insects", "rain")),
    "RESTAURANT": ("INDOORS", ("restaurant1", "restaurant2", "restaurant3"), ("clatter", "music")),
    "RIVER": ("OUTDOORS", ("river1", "river2", "river3"), ("flow", "wind")),
}
assert list(SCENES) == CLASS2_LABELS

ProgressFn = Callable[[int], None]  # called with the number of rows just finished (advance by n)


@dataclass
class DemoSummary:
    out: Path
    rows: int
    seed: int
    image_size: int
    classes: dict[str, int] = field(default_factory=dict)
    folders: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def csv(self) -> Path:
        return self.out / "dataset.csv"


def plan_rows(rows: int) -> list[tuple[str, str, int]]:
    """(CLASS2, folder, n_rows) per folder, in dataset order; roughly equal rows per class."""
    per_class = np.full(len(SCENES), rows // len(SCENES)) + (np.arange(len(SCENES)) < rows % len(SCENES))
    plan = []
    for (class2, (_, folders, _)), n in zip(SCENES.items(), per_class):
        sizes = np.full(len(folders), n // len(folders)) + (np.arange(len(folders)) < n % len(folders))
        plan += [(class2, f, int(k)) for f, k in zip(folders, sizes) if k > 0]
    return plan


def scene_parameters(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3) parameters in (0, 1) for n consecutive seconds: a slow AR(1) walk plus fast jitter."""
    rho, fast = np.array([0.95, 0.95, 0.96]), np.array([0.7, 0.7, 0.3])
    slow = np.empty((n, 3))
    slow[0] = rng.standard_normal(3)
    for t in range(1, n):
        slow[t] = rho * slow[t - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(3)
    v = 0.9 * slow + fast * rng.standard_normal((n, 3)) + rng.normal(0, 0.3, 3)  # last: folder offset
    return 1.0 / (1.0 + np.exp(-1.5 * v))


def make_demo_dataset(
    out: Path,
    rows: int = 2000,
    seed: int = 0,
    image_size: int = 256,
    progress: Optional[ProgressFn] = None,
    overwrite: bool = False,
    workers: Optional[int] = None,
) -> DemoSummary:
    """Write out/dataset.csv, out/dataset.json and out/images/<folder>/*.png; deterministic per seed."""
    out = Path(out)
    if rows < len(SCENES):
        raise UserError(f"--rows must be at least {len(SCENES)} (one per class), got {rows}")
    if not 8 <= image_size <= 2048:
        raise UserError(f"--image-size must be between 8 and 2048, got {image_size}")
    csv_path = out / "dataset.csv"
    if csv_path.exists():
        if not overwrite:
            raise UserError(f"{csv_path} already exists; pass --overwrite to replace it or choose another --out")
        csv_path.unlink()  # never leave an old CSV pointing at half-replaced images
        meta = out / "dataset.json"
        if meta.exists() and json.loads(meta.read_text()).get("source") == "a2i demo":
            shutil.rmtree(out / "images", ignore_errors=True)
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)

    plan = plan_rows(rows)

    def audio_features(class2, params, style, frng) -> np.ndarray:
        clips = synth_class(class2, params, style, frng)  # (n, 16000)
        return np.concatenate([clips_to_features(clips[i : i + 64]) for i in range(0, len(clips), 64)])

    def render(job) -> None:
        class2, p, style, layout_seed, row_seed, path = job
        img = draw_scene(class2, p, style, layout_seed, np.random.default_rng(row_seed), image_size)
        tmp = path.with_name(path.name + ".tmp")
        Image.fromarray(img, "RGB").save(tmp, format="PNG", compress_level=1)
        os.replace(tmp, path)

    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:  # numpy, FFTs and PNG encoding release the GIL
        audio, images, records = [], [], []
        for fi, (class2, folder, n) in enumerate(plan):
            frng = np.random.default_rng([seed, 1, fi])  # each folder its own stream: order-free
            style = frng.random(8)
            params = scene_parameters(frng, n)
            audio.append(pool.submit(audio_features, class2, params, style, frng))
            (out / "images" / folder).mkdir(parents=True, exist_ok=True)
            for sec in range(n):
                rel = f"images/{folder}/{folder}-{sec}.png"
                records.append((rel, SCENES[class2][0], class2))
                job = (class2, params[sec], style, [seed, 2, fi], [seed, 3, len(images)], out / rel)
                images.append(pool.submit(render, job))
        for fut in images:
            fut.result()
            if progress is not None:
                progress(1)
        feats = np.concatenate([fut.result() for fut in audio])  # (rows, 104)

    summary = DemoSummary(out, rows, seed, image_size)
    for class2, folder, n in plan:
        summary.classes[class2] = summary.classes.get(class2, 0) + n
        summary.folders[folder] = {"class2": class2, "rows": n, "parameters": list(SCENES[class2][2]) + ["light"]}
    meta = {"source": "a2i demo", "seed": seed, "rows": rows, "image_size": image_size,
            "feature_recipe": RECIPE.to_dict(), "classes": summary.classes, "folders": summary.folders}
    (out / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n")

    df = pd.DataFrame(feats, columns=FEATURE_COLUMNS)
    df.insert(0, "IMAGE", [r[0] for r in records])
    df["CLASS1"] = [r[1] for r in records]
    df["CLASS2"] = [r[2] for r in records]
    tmp = out / "dataset.csv.tmp"
    df.to_csv(tmp, index=False, float_format="%.6f")
    os.replace(tmp, csv_path)  # the CSV last: its presence means the dataset is complete
    summary.seconds = time.perf_counter() - t0
    return summary
