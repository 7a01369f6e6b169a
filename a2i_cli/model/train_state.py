"""A training run's files: weights/best.pt and last.pt (with what --resume needs), args.yaml, results.csv."""
from __future__ import annotations

import csv
import json
import random
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..core.atomic import atomic_path, write_text
from ..core.config import RECIPE_FIELDS, ModelConfig, TrainConfig
from ..core.errors import UserError
from ..data.normalize import Normalizer
from .baselines import SCORES
from .checkpoint import read_checkpoint, save_checkpoint
from .networks import Networks

RESULT_FIELDS = [
    "epoch", "train_loss", "train_loss_x_bs", "val_loss", "test_loss", "test_loss_x_bs",
    *(f"{who}_{m}" for who in ("test", "baseline", "oracle") for m in SCORES),
    "real_class_acc", "best", "lr", "seconds",
]
PREPARED_KEYS = ("source", "classes", "counts", "split", "image_size", "feature_recipe", "fingerprint")


def jsonable(d):
    """Config dicts as plain JSON types: paths and enums become str."""
    if isinstance(d, dict):
        return {k: jsonable(v) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return [jsonable(v) for v in d]
    if isinstance(d, (Path, str)):
        return str(d)
    return d


def save_weights(path: Path, nets: Networks, norm: Normalizer, cfg: TrainConfig, prepared_meta: dict, epoch: int,
                 record: dict, best_loss: float, history: list[dict] | None = None) -> None:
    """best.pt (history None: weights and config only) or last.pt (history given: optimiser and RNG state too)."""
    extra = {
        "train_config": jsonable(asdict(cfg)) | {"model": None},
        "prepared": {k: prepared_meta.get(k) for k in PREPARED_KEYS},
        "epoch": epoch,
        "metrics": record,
        "best_loss": best_loss,
    }
    if history is not None:
        extra |= nets.state() | {"history": history, "rng": rng_state()}
    save_checkpoint(path, nets.scored, norm, **extra)


def read_resume(run: Path, epochs: int | None) -> tuple[TrainConfig, Path, dict]:
    """A run folder (or its last.pt) -> (its TrainConfig with `epochs` applied, the run folder, the checkpoint)."""
    run = Path(run)
    last = run / "weights" / "last.pt" if run.is_dir() else run
    run_dir = last.parent.parent
    blob = read_checkpoint(last)
    if "optimizer" not in blob:
        raise UserError(f"{last} has no optimizer state; resume from a run's weights/last.pt")
    try:
        tc = dict(blob["train_config"])
        tc["model"] = ModelConfig(**blob["model_config"])
        tc["prepared"], tc["runs_root"] = Path(tc["prepared"]), Path(tc["runs_root"])
        tc.setdefault("aug_offset", 0.0)  # runs from before these options trained without them
        tc.setdefault("aug_mask", 0.0)
        tc.setdefault("aug_warp", 0.0)
        tc.setdefault("lr_schedule", "constant")
        tc.setdefault("image_class_weight", 0.0)
        tc.setdefault("ema", 0.0)
        tc.setdefault("class_codes", False)
        tc.setdefault("frame_order", True)
        tc.setdefault("class_encoders", 0)
        tc.setdefault("aug_stretch", 0.0)
        tc.setdefault("class_sam", 0.0)
        tc.setdefault("ssim_weight", 0.5 if tc.get("loss") == "mse+ssim" else 0.0)  # the weight before the option
        unset = [k for k in RECIPE_FIELDS if k in tc and tc[k] is None]  # null would mean "the recipe's", which may have changed since
        if unset:
            raise UserError(f"{unset[0]} is null, where a run records the value it trained with")
        cfg = TrainConfig(**tc)
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{last} does not hold an a2i training configuration ({type(e).__name__}: {e}); start a new run")
    except UserError as e:  # a value no option accepts: the file is at fault, not the command line
        raise UserError(f"{last} holds a training configuration a2i refuses ({e}); start a new run")
    if cfg.class_sam and not cfg.model.class_encoders:  # a run records class_sam 0 when it had no class encoders
        raise UserError(f"{last} records class_sam {cfg.class_sam:g} for a model without class encoders; it cannot be "
                        "resumed as it was trained: start a new run")
    if cfg.ssim_weight and cfg.loss == "mse":  # a run records ssim_weight 0 when its loss had no SSIM term
        raise UserError(f"{last} records ssim_weight {cfg.ssim_weight:g} with loss mse; it cannot be resumed as it was "
                        "trained: start a new run")
    if (blob.get("train_state_dict") is not None) != bool(cfg.ema):
        raise UserError(f"{last} holds {'an' if blob.get('train_state_dict') is not None else 'no'} EMA of the weights "
                        f"but records ema {cfg.ema!r}; it cannot be resumed as it was trained: start a new run")
    if not cfg.prepared.is_dir():  # moved, or a relative path read from another working folder
        where = "" if cfg.prepared.is_absolute() else f" (relative to the folder the run was started in, not {Path.cwd()})"
        raise UserError(f"{run_dir} was trained on the prepared folder {cfg.prepared}{where}, which is not there; resume "
                        "from the folder the run was started in, or put the prepared data back at that path")
    return (cfg if epochs is None else replace(cfg, epochs=epochs)), run_dir, blob


def rng_state() -> dict:
    """The three generators' states as tensors and plain data (a checkpoint holds nothing else)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    numpy_state = {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                   "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
    return {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}


def restore_rng(blob: dict) -> None:
    rng = blob["rng"]
    torch.set_rng_state(rng["torch"])
    state = rng["numpy"]
    if isinstance(state, dict):
        state = (state["name"], state["keys"].numpy().astype(np.uint32), state["pos"], state["has_gauss"],
                 state["cached_gaussian"])
    np.random.set_state(state)  # a2i 0.1.0 checkpoints hold numpy's own tuple
    python = rng["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))


def write_args(run_dir: Path, cfg: TrainConfig, device: torch.device, selection: str = "") -> None:
    """args.yaml: the resolved config, the device, and which rows choose best.pt."""
    args = jsonable(asdict(cfg)) | {"device_used": str(device), "a2i_version": __version__, "best_pt_chosen_on": selection}
    lines = [f"{k}: {json.dumps(v)}" for k, v in args.items()]  # JSON values are valid YAML
    write_text(run_dir / "args.yaml", "\n".join(lines) + "\n")


def write_results(run_dir: Path, history: list[dict]) -> None:
    with atomic_path(run_dir / "results.csv") as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=RESULT_FIELDS)
            w.writeheader()
            w.writerows(history)
