"""The batch-generate worker: loads the model once, turns each batch of features into image files.

    Predictor(ckpt, out)({"row": (B,) int64, "feats": (B, 104) float32})
        -> {"row": (B,), "path": (B,) str relative to out, "engine": the engine that ran}

Images go to OUT/images/<row // 1000, 6 digits>/<row, 9 digits>.<ext> (1000 files per
folder, so a million rows never make one huge folder), written atomically: a rerun that
writes the same row again replaces the file whole.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..core.atomic import write_bytes
from ..core.errors import UserError
from ..core.images import encode
from ..core.paths import PathOutside, inside
from ..inference.engine import load_engine

SHARD = 1000  # images per sub-folder
EXTENSIONS = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}


def image_relpath(row: int, ext: str) -> str:
    return f"images/{row // SHARD:06d}/{row:09d}{ext}"


class Predictor:
    def __init__(self, ckpt: str, out: str, engine: str = "auto", fmt: str = "png", png_level: int = 1,
                 quality: int = 90, crash_once: str | None = None):
        self.engine = load_engine(Path(ckpt), engine, option="--engine")
        self.out = Path(out)
        self.fmt, self.ext = str(fmt), EXTENSIONS[str(fmt)]
        self.png_level, self.quality = png_level, quality
        self.crash_once = crash_once  # tests: this process kills itself once (marker file) to prove retries
        self._made: set[Path] = set()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict:
        if self.crash_once and not os.path.exists(self.crash_once):
            Path(self.crash_once).write_text(str(os.getpid()))
            os.kill(os.getpid(), 9)
        rows = np.asarray(batch["row"], dtype=np.int64)
        images = self.engine.generate(batch["feats"])  # (B, S, S, 3) uint8, under inference_mode
        paths = []
        for row, img in zip(rows.tolist(), images):
            rel = image_relpath(row, self.ext)
            path = self.out / rel
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    inside(self.out, str(path.parent.relative_to(self.out)), what="image folder")  # no symlink out
                except PathOutside as e:
                    raise UserError(f"{e}; remove that link or pass a new --out")
                self._made.add(path.parent)
            write_bytes(path, encode(img, self.fmt, self.png_level, self.quality))
            paths.append(rel)
        return {"row": rows, "path": np.array(paths), "engine": self.engine.name}
