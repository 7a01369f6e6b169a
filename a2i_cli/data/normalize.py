"""Feature standardisation with statistics of the training rows only (stored with data and checkpoints)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Normalizer:
    mean: np.ndarray  # (104,) float32
    std: np.ndarray  # (104,) float32

    @classmethod
    def fit(cls, feats: np.ndarray) -> "Normalizer":
        feats = np.asarray(feats, dtype=np.float64)
        std = feats.std(axis=0)
        std[std < 1e-8] = 1.0  # constant feature: leave it centred, not blown up
        return cls(feats.mean(axis=0).astype(np.float32), std.astype(np.float32))

    @classmethod
    def identity(cls, n: int) -> "Normalizer":
        return cls(np.zeros(n, np.float32), np.ones(n, np.float32))

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        return ((np.asarray(feats, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        return cls(np.asarray(d["mean"], dtype=np.float32), np.asarray(d["std"], dtype=np.float32))
