"""Writing a scene dataset: DIR/dataset.csv (appended atomically, keyed by IMAGE) + DIR/dataset.json.

    writer = DatasetWriter(Path("mydata"), image_size=256, meta={"source": "a2i extract"})
    writer.append([(IMAGE, features (104,), CLASS1, CLASS2), ...])   # new keys only
    writer.save_meta()

dataset.json records the feature recipe (features.py); a writer refuses a folder made with
another recipe (e.g. `extract audio --window sound` rows beside `extract videos` rows, which
spread their windows over a fixed second), so rows that are not comparable never mix. The CSV is rewritten by copy + append +
rename, so an interrupted run leaves the previous complete file.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.atomic import atomic_path, write_json
from ..core.config import between
from ..core.errors import UserError
from .features import RECIPE, FeatureRecipe, recipe_dict, recipe_difference, recipe_from_dict
from .schema import FEATURE_COLUMNS, REQUIRED


def _video_record_ok(v) -> bool:
    """A video's record as extract_video writes it: hop > 0, whole rows/bytes/mtime/image_size, text path and classes."""
    def number(x) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    def whole(x) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= 0

    return (isinstance(v, dict) and number(v.get("hop", 1.0)) and v.get("hop", 1.0) > 0
            and all(whole(v.get(k, 0)) for k in ("rows", "bytes", "mtime", "image_size"))
            and all(isinstance(v.get(k, ""), str) for k in ("path", "CLASS1", "CLASS2")))


class DatasetWriter:
    """DIR/dataset.csv + DIR/dataset.json, appended to atomically and keyed by IMAGE."""

    def __init__(self, out: Path, image_size: int = 256, meta: dict | None = None, recipe: FeatureRecipe = RECIPE,
                 window_option: str | None = None):
        """`window_option`: the option that picks the recipe's placement in the running command (extract audio's
        --window), advised when a folder's recipe differs only there; None where the command has one recipe."""
        between(image_size, 8, 2048, "--image-size")
        self.out = Path(out)
        self.csv = self.out / "dataset.csv"
        self.json = self.out / "dataset.json"
        self.image_size = image_size
        self.feature_recipe = recipe
        self.recipe = recipe_dict(recipe)
        self.window_option = window_option
        if self.out.exists() and not self.out.is_dir():
            raise UserError(f"--out {self.out} is a file; give a dataset folder")
        self.meta = self._read_meta(meta or {"source": "a2i extract"})
        made_at = self.meta.get("image_size")
        if self.csv.is_file() and made_at not in (None, image_size):
            raise UserError(f"{self.out} holds {made_at} px images; pass --image-size {made_at} to add to it, "
                            "or extract into a new --out")
        self.keys = self._read_keys()

    @staticmethod
    def source_of(out: Path) -> str | None:
        """The "source" recorded in OUT/dataset.json (None without a readable one)."""
        try:
            meta = json.loads(Path(out, "dataset.json").read_text())
        except (OSError, ValueError):
            return None
        return meta.get("source") if isinstance(meta, dict) else None

    @staticmethod
    def extended(out: Path) -> bool:
        """True when `a2i extract` added rows to the dataset in OUT (its dataset.json lists videos or pairs)."""
        try:
            meta = json.loads(Path(out, "dataset.json").read_text())
        except (OSError, ValueError):
            return False
        return isinstance(meta, dict) and bool(meta.get("videos") or meta.get("pairs"))

    def _read_meta(self, fresh: dict) -> dict:
        if not self.json.is_file():
            if self.csv.is_file():
                raise UserError(
                    f"{self.csv} exists but {self.json} does not, so its feature recipe is unknown and new rows "
                    "might not be comparable; extract into a new --out folder"
                )
            return {**fresh, "feature_recipe": self.recipe}
        try:
            meta = json.loads(self.json.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UserError(f"{self.json} is not valid JSON ({e}); fix or remove it")
        if not isinstance(meta, dict):
            raise UserError(f"{self.json} is not a dataset description (a JSON object); fix or remove it")
        for key, kind in (("sources", dict), ("videos", dict), ("pairs", list), ("image_size", int)):
            if key in meta and (not isinstance(meta[key], kind) or isinstance(meta[key], bool)):
                raise UserError(f"{self.json}: {key!r} is {json.dumps(meta[key])[:40]}, not a JSON "
                                f"{'object' if kind is dict else 'list' if kind is list else 'whole number'}; the file was "
                                "edited: fix it, or extract into a new --out folder")
        bad_video = next((k for k, v in (meta.get("videos") or {}).items() if not _video_record_ok(v)), None)
        if bad_video is not None or not 8 <= meta.get("image_size", 8) <= 2048:
            what = f"the record of video {bad_video!r}" if bad_video is not None else "'image_size'"
            raise UserError(f"{self.json}: {what} was edited or damaged; fix it, or extract into a new --out folder")
        old = meta.get("feature_recipe")
        if not isinstance(old, dict):
            raise UserError(f"{self.json} records no feature recipe ({old!r}), so new rows might not be comparable "
                            "with its rows; extract into a new --out folder")
        diff = recipe_difference(recipe_from_dict(old, str(self.json)), self.feature_recipe)
        if diff:
            placement = old.get("placement", "second")
            raise UserError(
                f"{self.out} was made with another feature recipe ({diff}); its rows would not be comparable "
                f"with new ones: extract into a new --out folder"
                + (f", or match it with {self.window_option} {placement}"
                   if self.window_option and placement != self.feature_recipe.placement else "")
            )
        meta["feature_recipe"] = self.recipe  # an older record of the same recipe, completed
        return meta

    def _read_keys(self) -> set[str]:
        if not self.csv.is_file():
            return set()
        try:
            header = [str(c) for c in pd.read_csv(self.csv, nrows=0).columns]
        except pd.errors.EmptyDataError:
            raise UserError(f"{self.csv} is empty; remove it or choose another --out")
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise UserError(f"{self.csv} is not a readable CSV ({str(e).splitlines()[0]})")
        if header != REQUIRED:
            raise UserError(
                f"{self.csv} does not have exactly the scene columns IMAGE, mfcc_1..mfcc_104, CLASS1, CLASS2 in order; "
                "new rows cannot be appended to it; choose another --out"
            )
        return set(pd.read_csv(self.csv, usecols=["IMAGE"], dtype=str, keep_default_na=False)["IMAGE"])

    def append(self, rows: list[tuple[str, np.ndarray, str, str]], float_format: str | None = None,
               dtype=np.float32) -> int:
        """Add (IMAGE, features (104,), CLASS1, CLASS2) rows whose IMAGE is new: copy + append + rename."""
        rows = [r for r in rows if r[0] not in self.keys]
        if not rows:
            return 0
        self.out.mkdir(parents=True, exist_ok=True)
        if not self.json.is_file():  # the recipe goes first: an interrupted first run leaves a folder a rerun resumes
            self.save_meta()
        frame = pd.DataFrame(np.stack([r[1] for r in rows]).astype(dtype), columns=FEATURE_COLUMNS)
        frame.insert(0, "IMAGE", [r[0] for r in rows])
        frame["CLASS1"] = [r[2] for r in rows]
        frame["CLASS2"] = [r[3] for r in rows]
        with atomic_path(self.csv) as tmp:
            if self.csv.is_file():
                shutil.copyfile(self.csv, tmp)
                with open(tmp, "rb+") as f:
                    f.seek(0, os.SEEK_END)
                    if f.tell():
                        f.seek(-1, os.SEEK_END)
                        if f.read(1) != b"\n":
                            f.write(b"\n")
                frame.to_csv(tmp, mode="a", header=False, index=False, lineterminator="\n", float_format=float_format)
            else:
                frame.to_csv(tmp, index=False, lineterminator="\n", float_format=float_format)
        self.keys.update(r[0] for r in rows)
        return len(rows)

    def save_meta(self) -> None:
        self.meta["feature_recipe"] = self.recipe
        self.meta.setdefault("image_size", self.image_size)
        write_json(self.json, self.meta)
