"""`a2i prepare`: scene dataset -> a prepared folder that training reads without decoding PNGs.

runs/prepare/<name>/
    images.npy     (N, S, S, 3) uint8, resized once here
    features.npy   (N, 104) float32, raw (normalise with meta.json's statistics)
    rows.csv       row (1-based in dataset.csv), IMAGE, CLASS1, CLASS2, folder, split
    meta.json      source, classes, counts, normalisation (train rows only), split, seed, recipe
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from PIL import Image

from . import __version__
from .checkpoint import Normalizer
from .data import BadRow, read_scene_csv, select_classes
from .errors import UserError
from .model import check_image_size
from .runs import new_run_dir
from .splits import SplitConfig, split_rows


@dataclass
class PrepareConfig:
    data: Path = Path("data")
    classes: list[str] = field(default_factory=lambda: ["BEACH"])
    split: SplitConfig = field(default_factory=SplitConfig)
    image_size: int = 256
    skip_bad: bool = False
    name: str | None = None  # default: the class names, lower case
    exist_ok: bool = False
    runs_root: Path = Path("runs")

    def __post_init__(self) -> None:
        try:
            check_image_size(self.image_size)
        except ValueError as e:
            raise UserError(str(e))


def load_image(path: Path, size: int) -> np.ndarray:
    """Decode any image to (size, size, 3) uint8 RGB (area resampling when it must shrink)."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.size != (size, size):
            im = im.resize((size, size), Image.Resampling.BOX if im.width > size else Image.Resampling.BICUBIC)
        return np.asarray(im, dtype=np.uint8)


def _load_images(root: Path, paths: list[str], size: int, progress: Callable[[int], None] | None):
    """Decode in threads (Pillow releases the GIL). Returns (images, {index: reason})."""
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    problems: dict[int, str] = {}

    def one(i: int) -> None:
        p = root / paths[i]
        try:
            out[i] = load_image(p, size)
        except FileNotFoundError:
            problems[i] = f"image {p} does not exist"
        except Exception as e:  # truncated, not an image, permission...
            problems[i] = f"image {p} is unreadable ({type(e).__name__}: {e})"
        if progress:
            progress(1)

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        list(pool.map(one, range(len(paths))))
    return out, problems


def prepare(cfg: PrepareConfig, progress: Callable[[int], None] | None = None, on_total=None) -> tuple[Path, dict]:
    table = select_classes(read_scene_csv(cfg.data, skip_bad=cfg.skip_bad), cfg.classes)
    frame, feats = table.frame, table.features
    if on_total:
        on_total(len(frame))
    images, problems = _load_images(table.root, list(frame["IMAGE"]), cfg.image_size, progress)
    bad = list(table.bad)
    if problems:
        img_bad = [BadRow(int(frame["row"].iloc[i]), r) for i, r in sorted(problems.items())]
        if not cfg.skip_bad:
            b = img_bad[0]
            more = f"; {len(img_bad)} rows have bad images" if len(img_bad) > 1 else ""
            raise UserError(f"{table.csv} row {b.row}: {b.reason}{more}; fix it or pass --skip-bad to skip such rows")
        bad += img_bad
        keep = np.ones(len(frame), dtype=bool)
        keep[list(problems)] = False
        frame, feats, images = frame[keep].reset_index(drop=True), feats[keep], images[keep]
    if len(frame) == 0:
        raise UserError(f"{table.csv}: no usable rows left for the chosen classes")

    split = split_rows(frame, cfg.split)
    frame = frame.assign(split=split)
    use = split != ""
    frame, feats, images = frame[use].reset_index(drop=True), feats[use], images[use]
    train = (frame["split"] == "train").to_numpy()
    if not train.any() or train.all():
        raise UserError("the split left no training or no test rows; use more rows, more folders or --split random")
    norm = Normalizer.fit(feats[train])

    classes = sorted(frame["CLASS2"].unique())
    name = cfg.name or ("all" if len(classes) > 3 else "-".join(c.lower() for c in classes))
    out = new_run_dir("prepare", name, cfg.exist_ok, cfg.runs_root)
    np.save(out / "images.npy", images)
    np.save(out / "features.npy", feats)
    frame.to_csv(out / "rows.csv", index=False)
    meta = {
        "a2i_version": __version__,
        "source": str(Path(cfg.data).resolve()),
        "csv": str(table.csv.resolve()),
        "classes": {c: int((frame["CLASS2"] == c).sum()) for c in classes},
        "counts": {"train": int(train.sum()), "test": int((~train).sum())},
        "split": asdict(cfg.split),
        "seed": cfg.split.seed,
        "image_size": cfg.image_size,
        "normalisation": {"fit_on": "train rows", **norm.to_dict()},
        "folders": {s: sorted(frame.loc[frame["split"] == s, "folder"].unique().tolist()) for s in ("train", "test")},
        "skipped_rows": [asdict(b) for b in bad],
        "feature_recipe": _recipe_of(table.root),
    }
    tmp = out / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, out / "meta.json")  # meta.json last: its presence marks a complete folder
    return out, meta


def _recipe_of(root: Path) -> dict | str:
    """The feature recipe recorded with the dataset (a2i-made data), else the Kaggle description."""
    p = Path(root, "dataset.json")
    if p.is_file():
        try:
            return json.loads(p.read_text()).get("feature_recipe", "unknown")
        except (json.JSONDecodeError, OSError):
            pass
    return "Kaggle scene dataset: 16 kHz, 8 windows of 0.25 s, 13 MFCC, frame-major (authors' code not public)"


@dataclass
class Prepared:
    path: Path
    images: np.ndarray  # (N, S, S, 3) uint8
    features: np.ndarray  # (N, 104) float32 raw
    rows: pd.DataFrame
    meta: dict
    norm: Normalizer

    @classmethod
    def load(cls, path: Path) -> "Prepared":
        path = Path(path)
        if not (path / "meta.json").is_file():
            raise UserError(f"{path} is not a prepared folder (no meta.json); run `a2i prepare` first")
        meta = json.loads((path / "meta.json").read_text())
        rows = pd.read_csv(path / "rows.csv", keep_default_na=False)
        images = np.load(path / "images.npy", mmap_mode="r")
        feats = np.load(path / "features.npy")
        if not (len(rows) == len(images) == len(feats)):
            raise UserError(f"{path}: images, features and rows.csv disagree in length; prepare it again")
        norm = Normalizer.from_dict(meta["normalisation"])
        return cls(path, images, feats, rows, meta, norm)

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero((self.rows["split"] == split).to_numpy())

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])
