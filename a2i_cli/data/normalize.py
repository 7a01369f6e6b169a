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
    def from_dict(cls, d: dict, n: int = 104) -> "Normalizer":
        """From {"mean": [n], "std": [n]}; ValueError unless both are n finite numbers and std > 0."""
        mean, std = np.asarray(d["mean"], dtype=np.float32), np.asarray(d["std"], dtype=np.float32)
        if mean.shape != (n,) or std.shape != (n,):
            raise ValueError(f"normalisation must have {n} means and {n} standard deviations")
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ValueError("normalisation holds non-finite values or a standard deviation <= 0")
        return cls(mean, std)
