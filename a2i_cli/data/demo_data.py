"""Built-in demo data: a synthetic dataset in exactly the scene schema (docs DATASET.md).

Nine classes, each from 2-3 "source video" folders; consecutive rows are consecutive
seconds of one video. Every second has three scene parameters in [0, 1] (two class
specific ones, e.g. surf and gulls on a beach, plus light) that follow a slow random walk
with some fast jitter. The same parameters set the synthesised audio (demo_audio.py, ->
104 MFCCs through features.clips_to_features) and the drawn picture (demo_scenes.py), so
the sound really predicts the image, across folders too.

    from a2i_cli.data.demo_data import make_demo_dataset
    summary = make_demo_dataset(DemoDataConfig(out=Path("demo"), rows=2000, seed=0))
"""
from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..core.atomic import atomic_path
from ..core.config import DemoDataConfig
from ..core.errors import UserError
from ..core.locks import output_lock
from ..core.progress import NO_PROGRESS, Progress
from .classes import CLASS2_LABELS, class1_for
from .dataset_writer import DatasetWriter
from .demo_audio import synth_class
from .demo_scenes import draw_scene
from .features import clips_to_features

# class -> (source folders, names of the two class parameters)
SCENES: dict[str, tuple[tuple[str, ...], tuple[str, str]]] = {
    "BEACH": (("beach", "beach2", "beach3"), ("surf", "gulls")),
    "CITY": (("london", "newyork", "vegas"), ("traffic", "horns")),
    "CLASSROOM": (("classroom1", "classroom2", "classroom3"), ("chatter", "teacher")),
    "FOOTBALL-MATCH": (("football1", "football2", "football3"), ("crowd_roar", "whistle")),
    "FOREST": (("forest", "forest3"), ("birdsong", "wind")),
    "GROCERY-STORE": (("store1", "store2", "store3"), ("scanner_beeps", "trolleys")),
    "JUNGLE": (("jungle", "jungle2"), ("insects", "rain")),
    "RESTAURANT": (("restaurant1", "restaurant2", "restaurant3"), ("clatter", "music")),
    "RIVER": (("river1", "river2", "river3"), ("flow", "wind")),
}
assert list(SCENES) == CLASS2_LABELS


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
    for (class2, (folders, _)), n in zip(SCENES.items(), per_class):
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


def make_demo_dataset(cfg: DemoDataConfig, progress: Progress = NO_PROGRESS, workers: int | None = None) -> DemoSummary:
    """Write out/dataset.csv, out/dataset.json and out/images/<folder>/*.png; deterministic per seed."""
    if cfg.out.exists() and not cfg.out.is_dir():
        raise UserError(f"--out {cfg.out} is a file; give a folder for the dataset")
    with output_lock(cfg.out, "demo-data"):
        return _make(cfg, progress, workers)


def _make(cfg: DemoDataConfig, progress: Progress, workers: int | None) -> DemoSummary:
    out, rows, seed, image_size = cfg.out, cfg.rows, cfg.seed, cfg.image_size
    csv_path = out / "dataset.csv"
    if csv_path.exists() or (out / "dataset.json").exists():
        if DatasetWriter.source_of(out) != "a2i demo" or DatasetWriter.extended(out):
            raise UserError(f"{out} holds a dataset that `a2i demo-data` did not make (alone); it is left alone: "
                            "choose another --out")
        if csv_path.exists() and not cfg.exist_ok:
            raise UserError(f"{csv_path} already exists; pass --exist-ok to replace it or choose another --out")
        csv_path.unlink(missing_ok=True)  # never leave an old CSV pointing at half-replaced images
        (out / "dataset.json").unlink(missing_ok=True)
        shutil.rmtree(out / "images", ignore_errors=True)
    t0 = time.perf_counter()
    plan = plan_rows(rows)
    summary = DemoSummary(out, rows, seed, image_size)
    for class2, folder, n in plan:
        summary.classes[class2] = summary.classes.get(class2, 0) + n
        summary.folders[folder] = {"class2": class2, "rows": n, "parameters": list(SCENES[class2][1]) + ["light"]}
    writer = DatasetWriter(out, image_size, meta={"source": "a2i demo", "seed": seed, "rows": rows,
                                                  "image_size": image_size, "classes": summary.classes,
                                                  "folders": summary.folders})
    out.mkdir(parents=True, exist_ok=True)

    def audio_features(class2, params, style, frng) -> np.ndarray:
        clips = synth_class(class2, params, style, frng)  # (n, 16000)
        return np.concatenate([clips_to_features(clips[i : i + 64]) for i in range(0, len(clips), 64)])

    def render(job) -> None:
        class2, p, style, layout_seed, row_seed, path = job
        img = draw_scene(class2, p, style, layout_seed, np.random.default_rng(row_seed), image_size)
        with atomic_path(path) as tmp:
            Image.fromarray(img, "RGB").save(tmp, format="PNG", compress_level=1)

    progress.start(rows, "drawing scenes")
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
                records.append((rel, class1_for(class2), class2))
                job = (class2, params[sec], style, [seed, 2, fi], [seed, 3, len(images)], out / rel)
                images.append(pool.submit(render, job))
        for fut in images:
            fut.result()
            progress.advance(1)
        feats = np.concatenate([fut.result() for fut in audio])  # (rows, 104)

    writer.save_meta()
    # the CSV last: its presence means the dataset is complete
    writer.append([(rel, f, c1, c2) for (rel, c1, c2), f in zip(records, feats)], float_format="%.6f")
    summary.seconds = time.perf_counter() - t0
    return summary
