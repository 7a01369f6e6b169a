"""Checkpoints: the whole config, the normalisation and the version travel with the weights.

A checkpoint is a dict saved with torch.save:
    version, model_config (ModelConfig as dict), state_dict, norm {"mean": [104], "std": [104]},
    train_config, prepared (the prepared data's record, with its feature_recipe), epoch, metrics,
    and for resumable ones optimizer + rng state.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .. import __version__
from ..core.atomic import atomic_path
from ..core.config import ModelConfig
from ..core.errors import UserError, short
from ..core.runs import checkpoint_in
from ..data.features import FeatureRecipe, recipe_from_dict
from ..data.normalize import Normalizer
from .network import AudioToImage, build_model
from .safe_load import load_plain


@dataclass
class Loaded:
    model: AudioToImage  # in eval mode
    cfg: ModelConfig
    norm: Normalizer
    meta: dict  # the rest of the checkpoint (train_config, prepared, epoch, metrics, version)
    path: Path

    @property
    def recipe(self) -> FeatureRecipe:
        return checkpoint_recipe(self.meta, self.path)


def checkpoint_recipe(meta: dict, path: Path | str = "checkpoint") -> FeatureRecipe:
    """The feature recipe the model was trained on (the prepared data's record; Kaggle data and
    checkpoints older than recipes: the `second` recipe). Audio is turned into features with it."""
    prepared = meta.get("prepared") or {}
    if not isinstance(prepared, dict):
        raise UserError(f"{path}: its 'prepared' record is {type(prepared).__name__}, not a JSON object; the file was "
                        "edited or is not an a2i checkpoint: train it again")
    return recipe_from_dict(prepared.get("feature_recipe"), str(path))


def save_checkpoint(path: Path, model: AudioToImage, norm: Normalizer, **extra) -> None:
    """Atomic save: a reader never sees a half-written checkpoint."""
    blob = {
        "version": __version__,
        "model_config": model.cfg.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "norm": norm.to_dict(),
        **extra,
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def weights_mismatch(model: torch.nn.Module, state) -> str | None:
    """Why `state` cannot load into `model`, in words naming the first weight at fault; None when it fits."""
    if not isinstance(state, dict):
        return f"its weights are a {type(state).__name__}, not a mapping of names to tensors"
    own = model.state_dict()
    missing, extra = [k for k in own if k not in state], [k for k in state if k not in own]
    more = lambda names: f" (and {len(names) - 1} more)" if len(names) > 1 else ""  # noqa: E731
    if missing:
        return f"it lacks the weight {missing[0]!r}{more(missing)} that its model_config needs"
    if extra:
        return f"it holds the weight {short(repr(extra[0]), 60)}{more(extra)} that its model_config has no place for"
    for name, want in own.items():
        got = state[name]
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return f"its weight {name!r} is {shape}, where its model_config's network has {tuple(want.shape)}"
    return None


def read_checkpoint(path: Path) -> dict:
    """The checkpoint's dict, loaded without running code (safe_load.py); one-line errors for bad files."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"checkpoint {path} is a directory; expected a .pt file: {checkpoint_in(path)}")
    if not path.exists():  # a pipe or a device: load_plain says so
        raise UserError(f"checkpoint {path} does not exist; train one with `a2i train` or give the path of an existing .pt file")
    blob = load_plain(path, "checkpoint")
    if not isinstance(blob, dict) or "model_config" not in blob or "state_dict" not in blob:
        raise UserError(f"checkpoint {path} is not an a2i checkpoint (no model_config/state_dict)")
    return blob


def load_checkpoint(path: Path) -> Loaded:
    blob = read_checkpoint(path)
    try:
        cfg = ModelConfig(**blob["model_config"])
        model = build_model(cfg)
        why = weights_mismatch(model, blob["state_dict"])
        if why:
            raise UserError(f"{why}; is it from another program or version?")
        model.load_state_dict(blob["state_dict"])
        norm = Normalizer.from_dict(blob["norm"])
        if not all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point()):
            raise UserError("its weights hold NaN or infinite values (did the training diverge?)")
    except UserError as e:
        raise UserError(f"checkpoint {path}: {e}")
    except (TypeError, KeyError, ValueError, RuntimeError) as e:  # fields or weights that do not fit the model
        raise UserError(f"checkpoint {path} does not describe an a2i model ({type(e).__name__}: "
                        f"{short(e, 160)}); is it from another program or version?")
    model.eval()
    meta = {k: v for k, v in blob.items() if k not in ("state_dict", "optimizer", "rng")}
    return Loaded(model=model, cfg=cfg, norm=norm, meta=meta, path=Path(path))
