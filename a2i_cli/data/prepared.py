"""A prepared folder (from `a2i prepare`) loaded for training and evaluation, checked before it is trusted."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import UserError, short
from ..core.hashing import files_digest
from .normalize import Normalizer
from .schema import N_FEATURES

MARKER = "meta.json"  # written last: a folder without it is incomplete
DATA_FILES = ("images.npy", "features.npy", "rows.csv")  # what the fingerprint covers
CACHES = ("classifier.pt",)  # files computed from the data, removed when it is prepared again
ROW_COLUMNS = {"row", "IMAGE", "CLASS1", "CLASS2", "folder", "split"}


@dataclass
class Prepared:
    path: Path
    images: np.ndarray  # (N, S, S, 3) uint8, memory-mapped
    features: np.ndarray  # (N, 104) float32 raw
    rows: pd.DataFrame  # row, IMAGE, CLASS1, CLASS2, folder, split
    meta: dict
    norm: Normalizer
    _digest: str | None = field(default=None, repr=False)  # of the data files, once computed

    @classmethod
    def load(cls, path: Path) -> "Prepared":
        path = Path(path)
        again = f"prepare it again (a2i prepare ... --name {path.name} --exist-ok)"
        if path.is_file():
            raise UserError(f"{path} is a file; expected a prepared folder from `a2i prepare`")
        if not (path / MARKER).is_file():
            raise UserError(f"{path} is not a prepared folder (no {MARKER}); run `a2i prepare` first")
        try:
            meta = json.loads((path / MARKER).read_text())
            norm = Normalizer.from_dict(meta["normalisation"], N_FEATURES)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UserError(f"{path / MARKER} is damaged ({type(e).__name__}: {short(e, 120)}); {again}")
        try:
            rows = pd.read_csv(path / "rows.csv", keep_default_na=False)
            images = np.load(path / "images.npy", mmap_mode="r", allow_pickle=False)
            feats = np.load(path / "features.npy", allow_pickle=False)
        except (OSError, ValueError, EOFError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise UserError(f"{path} has a missing or damaged data file ({type(e).__name__}: {short(e, 120)}); {again}")
        problem = _shape_problem(rows, images, feats)
        if problem:
            raise UserError(f"{path}: {problem}; {again}")
        return cls(path, images, feats, rows, meta, norm)

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero((self.rows["split"] == split).to_numpy())

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])

    @property
    def fingerprint(self) -> str:
        """The digest of the data files as they are now; files changed since prepare recorded theirs are refused
        (a resumed run or a cached classifier must not silently meet other data)."""
        if self._digest is None:
            digest = files_digest([self.path / f for f in DATA_FILES])
            recorded = self.meta.get("fingerprint")
            if recorded and recorded != digest:
                raise UserError(f"the data files of {self.path} (images.npy, features.npy, rows.csv) changed after "
                                f"`a2i prepare` wrote them; prepare it again (a2i prepare ... --name {self.path.name} "
                                "--exist-ok)")
            self._digest = digest
        return self._digest


def _shape_problem(rows: pd.DataFrame, images: np.ndarray, feats: np.ndarray) -> str:
    if not ROW_COLUMNS <= set(rows.columns):
        return f"rows.csv lacks the columns {sorted(ROW_COLUMNS - set(rows.columns))}"
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3 or images.shape[1] != images.shape[2]:
        return f"images.npy holds {images.dtype} {images.shape}, not (N, S, S, 3) uint8"
    if feats.dtype != np.float32 or feats.ndim != 2 or feats.shape[1] != N_FEATURES or not np.isfinite(feats).all():
        return f"features.npy holds {feats.dtype} {feats.shape}, not finite (N, {N_FEATURES}) float32"
    if not (len(rows) == len(images) == len(feats)):
        return "images, features and rows.csv disagree in length"
    return ""
