"""Checkpoints: the whole config, the normalisation and the version travel with the weights.

A checkpoint is a dict saved with torch.save:
    version, model_config (ModelConfig as dict), state_dict, norm {"mean": [104], "std": [104]},
    train_config, prepared (the prepared data's record), epoch, metrics,
    and for resumable ones optimizer + rng state.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .errors import UserError
from .model import AudioToImage, ModelConfig, build_model


@dataclass
class Normalizer:
    """Feature standardisation with statistics from training rows only."""

    mean: np.ndarray  # (104,) float32
    std: np.ndarray  # (104,) float32

    @classmethod
    def fit(cls, feats: np.ndarray) -> "Normalizer":
        feats = np.asarray(feats, dtype=np.float64)
        std = feats.std(axis=0)
        std[std < 1e-8] = 1.0  # constant feature: leave it centred, not blown up
        return cls(feats.mean(axis=0).astype(np.float32), std.astype(np.float32))

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        return ((np.asarray(feats, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        return cls(np.asarray(d["mean"], dtype=np.float32), np.asarray(d["std"], dtype=np.float32))


@dataclass
class Loaded:
    model: AudioToImage  # in eval mode
    cfg: ModelConfig
    norm: Normalizer
    meta: dict  # the rest of the checkpoint (train_config, prepared, epoch, metrics, version)
    path: Path


def save_checkpoint(path: Path, model: AudioToImage, norm: Normalizer, **extra) -> None:
    """Atomic save: a reader never sees a half-written checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "version": __version__,
        "model_config": model.cfg.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "norm": norm.to_dict(),
        **extra,
    }
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(blob, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist; train one with `a2i train` or give the path of an existing .pt file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # corrupt or not a torch file
        raise UserError(f"checkpoint {path} could not be read ({type(e).__name__}: {e}); is it an a2i .pt file?")
    if not isinstance(blob, dict) or "model_config" not in blob or "state_dict" not in blob:
        raise UserError(f"checkpoint {path} is not an a2i checkpoint (no model_config/state_dict)")
    return blob


def load_checkpoint(path: Path) -> Loaded:
    blob = read_checkpoint(path)
    cfg = ModelConfig(**blob["model_config"])
    model = build_model(cfg)
    model.load_state_dict(blob["state_dict"])
    model.eval()
    meta = {k: v for k, v in blob.items() if k not in ("state_dict", "optimizer", "rng")}
    return Loaded(model=model, cfg=cfg, norm=Normalizer.from_dict(blob["norm"]), meta=meta, path=Path(path))


def newest_best(runs_dir: Path = Path("runs")) -> Path:
    """The newest runs/train/*/weights/best.pt (by modification time)."""
    found = sorted(Path(runs_dir, "train").glob("*/weights/best.pt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise UserError(
            f"no trained model found under {Path(runs_dir, 'train')}/*/weights/best.pt; "
            "run `a2i train` (or `a2i demo`) first, or pass --model CKPT"
        )
    return found[-1]
