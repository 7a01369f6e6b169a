"""`a2i prepare`: scene dataset -> a prepared folder that training reads without decoding images.

runs/prepare/<name>/
    images.npy     (N, S, S, 3) uint8, resized once here
    features.npy   (N, 104) float32, raw (normalise with meta.json's statistics)
    rows.csv       row (1-based in dataset.csv), IMAGE, CLASS1, CLASS2, folder, split (train, val or test)
    meta.json      source, classes, counts, normalisation (train rows only), split, seed, recipe
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .. import __version__
from ..core.atomic import atomic_path, write_json
from ..core.config import PrepareConfig
from ..core.errors import UserError, short
from ..core.hashing import files_digest
from ..core.images import read_rgb
from ..core.locks import output_lock
from ..core.paths import NOT_REGULAR, PathOutside, inside, normalise
from ..core.progress import NO_PROGRESS, Progress
from ..core.runs import new_run_dir, safe_name
from .features import KAGGLE_RECIPE, recipe_dict, recipe_from_dict
from .normalize import Normalizer
from .prepared import CACHES, DATA_FILES, MARKER
from .scene_csv import BadRow, read_scene_csv, select_classes
from .splits import split_rows


def load_images(root: Path, paths: list[str], size: int, progress: Progress = NO_PROGRESS,
                allow_outside: bool = False):
    """Decode in threads (Pillow releases the GIL). Returns ((N, size, size, 3) uint8, {index: reason}).

    Each IMAGE must lead to a file inside `root` (core/paths.py) unless allow_outside."""
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    problems: dict[int, str] = {}

    def one(i: int) -> None:
        shown = root / normalise(paths[i])
        try:
            p = inside(root, paths[i], allow_outside, what="IMAGE")
            if p.is_dir():
                problems[i] = f"image {shown} is a directory, not an image file"
            elif p.exists() and not p.is_file():
                problems[i] = f"image {shown} {NOT_REGULAR}"
            else:
                out[i] = read_rgb(p, size)
        except PathOutside as e:
            problems[i] = f"{e}; pass --allow-outside-paths to read it anyway"
        except FileNotFoundError:
            problems[i] = f"image {shown} does not exist"
        except Exception as e:  # truncated, not an image, permission...
            problems[i] = f"image {shown} is unreadable ({type(e).__name__}: {short(e, 160)})"
        progress.advance(1)

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        list(pool.map(one, range(len(paths))))
    return out, problems



class EmptySplit(UserError):
    """The split left no training or no test rows (callers that know a better remedy say theirs)."""

def prepare(cfg: PrepareConfig, progress: Progress = NO_PROGRESS) -> tuple[Path, dict]:
    """Read, check, split and cache a dataset; the run folder is claimed and locked before the work starts."""
    table = select_classes(read_scene_csv(cfg.data, skip_bad=cfg.skip_bad), cfg.classes)
    recipe_of(table.root)  # a bad recipe record is refused before any work
    classes = sorted(table.frame["CLASS2"].unique())
    name = cfg.name or ("all" if len(classes) > 3 else safe_name("-".join(c.lower() for c in classes)))
    out = new_run_dir("prepare", name, cfg.exist_ok, cfg.runs_root)
    fresh = not any(out.iterdir())
    try:
        with output_lock(out, "prepare"):
            return out, _prepare(cfg, table, out, progress)
    except BaseException:
        if fresh and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a new folder that got nothing: leave no empty run behind
        raise


def _prepare(cfg: PrepareConfig, table, out: Path, progress: Progress) -> dict:
    frame, feats = table.frame, table.features
    progress.start(len(frame), "decoding images")
    images, problems = load_images(table.root, list(frame["IMAGE"]), cfg.image_size, progress, cfg.allow_outside_paths)
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
    if not train.any() or not (frame["split"] == "test").any():
        raise EmptySplit("the split left no training or no test rows; use more rows, more folders or --split random")
    norm = Normalizer.fit(feats[train])
    return write_prepared(out, cfg, table, frame, feats, images, norm, bad)


def write_prepared(out: Path, cfg: PrepareConfig, table, frame, feats, images, norm, bad) -> dict:
    """The arrays, rows.csv and, last, meta.json (with the fingerprint caches are keyed by)."""
    for stale in (MARKER, *CACHES):  # an earlier preparation here: incomplete until meta.json is back
        (out / stale).unlink(missing_ok=True)
    with atomic_path(out / "images.npy") as tmp:
        np.save(tmp, images)
    with atomic_path(out / "features.npy") as tmp:
        np.save(tmp, feats)
    with atomic_path(out / "rows.csv") as tmp:
        frame.to_csv(tmp, index=False)
    classes = sorted(frame["CLASS2"].unique())
    meta = {
        "a2i_version": __version__,
        "source": str(Path(cfg.data).resolve()),
        "csv": str(table.csv.resolve()),
        "classes": {c: int((frame["CLASS2"] == c).sum()) for c in classes},
        "counts": {s: int((frame["split"] == s).sum()) for s in ("train", "val", "test")},
        "split": asdict(cfg.split),
        "seed": cfg.split.seed,
        "image_size": cfg.image_size,
        "normalisation": {"fit_on": "train rows", **norm.to_dict()},
        "folders": {s: sorted(frame.loc[frame["split"] == s, "folder"].unique().tolist()) for s in ("train", "val", "test")},
        "skipped_rows": [asdict(b) for b in bad],
        "feature_recipe": recipe_of(table.root),
        "fingerprint": files_digest([out / f for f in DATA_FILES]),
    }
    write_json(out / MARKER, meta)  # meta.json last: its presence marks a complete folder
    return meta


def recipe_of(root: Path) -> dict | str:
    """The feature recipe recorded with the dataset (a2i-made data), else the Kaggle description."""
    p = Path(root, "dataset.json")
    if not p.is_file():
        return KAGGLE_RECIPE
    try:
        meta = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{p} is not valid JSON ({e}); fix it, or remove it if the rows follow the Kaggle recipe")
    except OSError as e:
        raise UserError(f"{p} cannot be read ({e.strerror}); check its permissions")
    if not isinstance(meta, dict):
        raise UserError(f"{p} is not a dataset description (a JSON object); fix or remove it")
    recorded = meta.get("feature_recipe", "unknown")
    recipe = recipe_from_dict(recorded, str(p))  # checked: a string other than the Kaggle description is refused too
    return recipe_dict(recipe) if isinstance(recorded, dict) else recorded


