"""A prepared folder (from `a2i prepare`) loaded for training and evaluation."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import UserError
from .normalize import Normalizer


@dataclass
class Prepared:
    path: Path
    images: np.ndarray  # (N, S, S, 3) uint8, memory-mapped
    features: np.ndarray  # (N, 104) float32 raw
    rows: pd.DataFrame  # row, IMAGE, CLASS1, CLASS2, folder, split
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
