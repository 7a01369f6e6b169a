"""Training: `Trainer(cfg).fit()` runs the epochs; `Trainer.resume(run).fit()` continues a run.

runs/train/<name>/
    args.yaml            the resolved TrainConfig (`--arch auto` and the recipe decided) and
                         which rows chose best.pt
    weights/best.pt      lowest validation loss so far (config, normalisation, feature recipe inside;
                         with --ema the averaged weights, which are also the ones scored);
                         the validation rows are carved from the training side by `prepare`,
                         never the test split; without validation rows, the last epoch
    weights/last.pt      every epoch, with optimizer and RNG state for --resume
    results.csv          one line per epoch: losses, test scores, both baselines, best
    results.png          the same as curves, refreshed every epoch (run_log.py)
    samples.png          targets (top) beside generated (below) for the first test rows
    samples/epoch_NNN.png
    tensorboard/         with --tensorboard

The pieces: TrainData (the tensors), Baselines (what to beat), Networks (model and
optimisers), train_epoch (one pass), train_state (the run's files and checkpoints), RunLog.
"""
from __future__ import annotations

import copy
import math
import random
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..core.config import Arch, Loss, TrainConfig, check_image_size
from ..core.errors import UserError, short
from ..core.images import save_png
from ..core.locks import output_lock
from ..core.progress import NO_PROGRESS, Progress
from ..core.runs import new_run_dir, newest_run
from ..data.features import recipe_from_dict
from ..data.prepared import Prepared
from ..eval.plots import pair_grid
from .baselines import Baselines, test_scores
from .checkpoint import weights_mismatch
from .classifier import load_or_train_classifier
from .epoch import train_epoch
from .losses import reconstruction_loss
from .network import from_uint8, to_uint8
from .networks import Networks
from .run_log import RunLog, epoch_legend, format_epoch, run_summary, scores_text, summary_writer_class
from .train_data import TrainData
from .train_state import read_resume, restore_rng, save_weights, write_args
from .warp import FeatureWarp


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available here; use --device cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def epoch_lr(cfg: TrainConfig, epoch: int) -> float:
    """The learning rate of `epoch` (1-based): --lr throughout, or half a cosine from --lr to 0 over --epochs."""
    if cfg.lr_schedule == "cosine":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / cfg.epochs))
    return cfg.lr


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def no_codes_why(cfg: TrainConfig, n_classes: int) -> str:
    """Why class codes cannot work in this run ("" when they can)."""
    return ("it needs data with 2+ classes" if n_classes < 2 else "--arch seed (the student project's model exactly) has no class codes" if cfg.model.arch == Arch.seed
            else "the class term picks the code: it needs --class-weight > 0" if not cfg.class_weight else "")


def class_codes(cfg: TrainConfig, n_classes: int, given: bool) -> int:
    """The model's number of class codes: the training classes when --class-codes applies, else 0. The recipe's
    codes are off where they cannot work (one class, --arch seed, no class term); an explicit --class-codes there is an error."""
    why = no_codes_why(cfg, n_classes)
    if cfg.class_codes and why and given:
        raise UserError(f"--class-codes: {why} (or pass --no-class-codes)")
    return n_classes if cfg.class_codes and not why else 0


class Trainer:
    def __init__(self, cfg: TrainConfig, run_dir: Path | None = None, log: Callable[[str], None] = print):
        self.cfg, self.log = cfg, log
        if cfg.tensorboard:
            summary_writer_class()  # before any work and before the run folder exists
        if cfg.prepared is None:
            cfg.prepared = newest_run("prepare", "meta.json", cfg.runs_root)
        prepared = Prepared.load(cfg.prepared)
        recipe = recipe_from_dict(prepared.meta.get("feature_recipe"), str(cfg.prepared))
        over_sound = recipe.over_sound
        icw_given, codes_given = cfg.image_class_weight is not None, cfg.class_codes is not None
        encoders_given, sam_given, ssim_given = cfg.class_encoders is not None, bool(cfg.class_sam), bool(cfg.ssim_weight)
        loss_from = "--loss mse" if cfg.loss is not None else ("the seed recipe's: --arch auto trains seed on data of one class, "
                                                               f"{cfg.prepared}" if cfg.model.arch == Arch.auto else "the seed recipe's")
        cfg = self.cfg = cfg.resolved(prepared.rows["CLASS2"].nunique(), over_sound)  # --arch auto and the recipe
        cfg.model.image_size = check_image_size(prepared.image_size, f"the image size of {cfg.prepared}")
        trained_classes = prepared.rows["CLASS2"].iloc[prepared.indices("train")].nunique()  # = len(TrainData.classes)
        cfg.model.n_classes = class_codes(cfg, trained_classes, codes_given)
        cfg.class_codes = bool(cfg.model.n_classes)  # args.yaml records what the run does
        if cfg.model.class_encoders and not cfg.model.n_classes:
            if encoders_given:
                why = no_codes_why(cfg, trained_classes) or "--no-class-codes"
                raise UserError(f"--class-encoders: the class encoders read the class that class codes draw, and this "
                                f"run has none (class codes: {why}); leave the option out or pass --class-encoders 0")
            cfg.model.class_encoders = cfg.class_encoders = 0  # the recipe's, without class codes: off
        if cfg.class_sam and not cfg.model.class_encoders:
            if sam_given:
                raise UserError("--class-sam trains the class encoders, and this run has none; pass --class-encoders 1 "
                                "or more (with class codes), or leave --class-sam out")
            cfg.class_sam = 0.0  # the recipe's, without class encoders: off
        if cfg.loss == Loss.mse and cfg.ssim_weight:
            if ssim_given:
                raise UserError(f"--ssim-weight weighs the SSIM term of --loss mse+ssim, and this run's loss is mse ({loss_from}); "
                                "pass --loss mse+ssim, or leave --ssim-weight out")
            cfg.ssim_weight = 0.0  # the recipe's, without an SSIM term: unused, and args.yaml says so
        self.device = pick_device(cfg.device)
        self.classifier = load_or_train_classifier(prepared, log=log) if cfg.classifier else None
        seed_everything(cfg.seed)  # after the classifier: a cached or fresh one must not change the run
        self.data = TrainData.from_prepared(prepared)
        self.warp = FeatureWarp(recipe, prepared.norm, cfg.aug_warp) if cfg.aug_warp else None
        self.nets = Networks.build(cfg, len(self.data.classes), self.device)
        if cfg.image_class_weight and self.classifier is None and not icw_given:
            cfg.image_class_weight = 0.0  # the recipe's term, without a classifier to ask: off
        if cfg.image_class_weight and self.classifier is None:
            raise UserError("--image-class-weight needs the scene classifier: data with 2+ classes and no --no-classifier "
                            "(or pass --image-class-weight 0)")
        if cfg.image_class_weight:  # the scene classifier, frozen: it judges the pictures, it does not learn
            reader = copy.deepcopy(self.classifier.model).to(self.device).eval()
            reader.requires_grad_(False)
            index = {c: i for i, c in enumerate(self.classifier.classes)}
            self.nets.reader = reader
            self.nets.reader_index = torch.tensor([index[c] for c in self.data.classes])
        self.run_dir = run_dir or new_run_dir("train", cfg.name, cfg.exist_ok, cfg.runs_root)
        self.run_log = RunLog(self.run_dir, cfg.tensorboard, cfg.loss)
        self.baselines = Baselines.compute(self.data, self.classifier)
        self.start_epoch, self.best_loss, self.history = 0, float("inf"), []

    @property
    def model(self):
        """The weights that are scored and saved (with --ema their moving average, not the ones the optimiser moves)."""
        return self.nets.scored

    @classmethod
    def resume(cls, run: Path, epochs: int | None = None, log: Callable[[str], None] = print) -> "Trainer":
        cfg, run_dir, blob = read_resume(run, epochs)
        recorded = (blob.get("prepared") or {}).get("fingerprint")
        if recorded and recorded != Prepared.load(cfg.prepared).fingerprint:  # before any work (the classifier)
            raise UserError(f"the prepared data in {cfg.prepared} changed since {run_dir} was trained on it; resuming "
                            f"would mix two datasets: start a new run with `a2i train {cfg.prepared}`")
        self = cls(cfg, run_dir=run_dir, log=log)
        recorded_codes = blob["model_config"].get("n_classes", 0)
        if recorded_codes != self.cfg.model.n_classes:  # the run's data and class_codes decide it; the file must agree
            raise UserError(f"{run} cannot be resumed: its model_config records n_classes {short(repr(recorded_codes), 40)}, "
                            f"but the run trains {self.cfg.model.n_classes} class codes; start a new run")
        recorded_encoders = blob["model_config"].get("class_encoders", 0)
        if recorded_encoders != self.cfg.model.class_encoders:  # train_config decides it; model_config must agree
            raise UserError(f"{run} cannot be resumed: its train_config records class_encoders "
                            f"{short(repr(cfg.class_encoders), 40)}, but its model_config {short(repr(recorded_encoders), 40)}; "
                            "start a new run")
        why = weights_mismatch(self.model, blob["state_dict"])
        if why:
            raise UserError(f"{run} cannot be resumed: {why}; start a new run")
        try:
            self.nets.load_state(blob)
            self.start_epoch, self.best_loss = int(blob["epoch"]), float(blob.get("best_loss", float("inf")))
            self.history = list(blob.get("history", []))
            restore_rng(blob)
        except (KeyError, ValueError, RuntimeError, TypeError, IndexError, OverflowError) as e:
            raise UserError(f"{run} cannot be resumed: its saved state does not fit the model ({type(e).__name__}: "
                            f"{short(e, 120)}); start a new run")
        weights = [*self.nets.model.state_dict().values(), *self.model.state_dict().values()]
        if not all(torch.isfinite(v).all() for v in weights if v.is_floating_point()):
            raise UserError(f"{run} cannot be resumed: its last.pt holds NaN or infinite weights; start a new run")
        if self.start_epoch >= self.cfg.epochs:
            raise UserError(f"{run_dir} already finished {self.start_epoch} epochs; pass --epochs N with N > {self.start_epoch}")
        return self

    @torch.inference_mode()
    def generate(self, x: np.ndarray, y: np.ndarray, batch: int = 64) -> tuple[float, np.ndarray]:
        """(per-pixel MSE on [-1, 1] against y, (N, S, S, 3) uint8) for normalised features x."""
        self.model.eval()
        gen, sq = [], 0.0
        for i in range(0, len(x), batch):
            out = self.model(torch.from_numpy(x[i : i + batch]).to(self.device)).cpu()  # (B, 3, S, S)
            sq += F.mse_loss(out, from_uint8(torch.from_numpy(y[i : i + batch])), reduction="sum").item()
            gen.append(to_uint8(out).numpy())
        size = y.shape[1:]
        return sq / max(y.size, 1), np.concatenate(gen) if gen else np.zeros((0, *size), np.uint8)

    def evaluate(self) -> tuple[float, dict[str, float], np.ndarray]:
        """One pass over the test split: (per-pixel MSE on [-1, 1], scores, (N, S, S, 3) uint8)."""
        loss, gen = self.generate(self.data.x_test, self.data.y_test)
        return loss, test_scores(gen, self.data, self.classifier, self.baselines.real_stats), gen

    @torch.inference_mode()
    def validation_loss(self, batch: int = 64) -> float:
        """The training reconstruction loss (--loss) on the validation rows (NaN without any): what chooses best.pt."""
        x, y = self.data.x_val, self.data.y_val
        if not len(x):
            return float("nan")
        self.model.eval()
        total = 0.0
        for i in range(0, len(x), batch):
            out = self.model(torch.from_numpy(x[i : i + batch]).to(self.device)).cpu()  # (B, 3, S, S)
            target = from_uint8(torch.from_numpy(y[i : i + batch]))
            total += reconstruction_loss(self.cfg.loss, out, target, self.cfg.ssim_weight).item() * len(out)
        return total / len(x)

    def selection(self) -> str:
        """Which rows choose best.pt, in words (args.yaml, the log)."""
        n = len(self.data.x_val)
        if not n:
            return "last epoch (the prepared data has no validation rows; prepare it again with --val-fraction > 0)"
        folders = sorted(self.data.prepared.rows.loc[self.data.prepared.rows["split"] == "val", "folder"].unique())
        return (f"lowest validation loss ({self.cfg.loss}): {n} rows of rows.csv with split == val ({self.data.prepared.meta['split']['method']}"
                f" split; from {len(folders)} training folders), never the test rows")

    def describe(self) -> list[str]:
        """What is about to run, and the baselines to beat (printed before the first epoch)."""
        cfg, b = self.cfg, self.baselines
        vae = f", VAE with KL weight {cfg.kl_weight:g}" if cfg.model.vae else ""
        lines = [f"training {cfg.model.arch} (latent {cfg.model.latent}{vae}, {cfg.model.image_size}px) on "
                 f"{len(self.data.x_train)} rows, testing on {len(self.data.x_test)}; device {self.device}; seed {cfg.seed}",
                 f"recipe: loss {cfg.loss}{f' (SSIM weight {cfg.ssim_weight:g})' if cfg.loss == Loss.mse_ssim else ''}, class weight {cfg.class_weight:g}, adversarial weight {cfg.adv_weight:g}, "
                 f"feature noise {cfg.aug_noise:g}, frame shift {cfg.aug_shift}, voice offset {cfg.aug_offset:g}, mask {cfg.aug_mask:g}, warp {cfg.aug_warp:g}, "
                 f"tempo stretch {cfg.aug_stretch:g}, "
                 f"image class weight {cfg.image_class_weight:g}, class codes {'on' if cfg.model.n_classes else 'off'}, "
                 f"{'' if cfg.model.arch == Arch.seed else 'frame order ' + ('on' if cfg.model.frame_order else 'off') + ', '}"
                 f"{f'class encoders {cfg.model.class_encoders}, ' if cfg.model.n_classes else ''}"
                 f"{f'class SAM {cfg.class_sam:g}, ' if cfg.model.class_encoders else ''}"
                 f"lr {cfg.lr:g} {cfg.lr_schedule}, EMA {cfg.ema:g}; "
                 f"best.pt: {self.selection()}"]
        for label, s in (("mean training image", b.baseline), ("class-mean oracle", b.oracle)):
            lines.append(f"baseline ({label}) on test: {scores_text(s)}")
        if self.classifier:
            lines.append(f"scene classifier accuracy on the real test images: {b.real_class_acc:.0%}; FD (Fréchet distance "
                         f"of its features to the real test images, lower is better) of the real training images: "
                         f"{b.real_train_fd:.2f}")
        return lines

    def _record(self, epoch: int, train_loss: float, val_loss: float, test_loss: float, scores: dict,
                seconds: float) -> dict:
        bs = self.cfg.batch_size
        chosen = val_loss if val_loss == val_loss else -float(epoch)  # no validation rows: the last epoch
        return {
            "epoch": epoch, "train_loss": train_loss, "train_loss_x_bs": train_loss * bs, "val_loss": val_loss,
            "test_loss": test_loss, "test_loss_x_bs": test_loss * bs, "best": int(chosen < self.best_loss),
            **{f"test_{k}": v for k, v in scores.items()},
            **{f"baseline_{k}": v for k, v in self.baselines.baseline.items()},
            **{f"oracle_{k}": v for k, v in self.baselines.oracle.items()},
            "real_class_acc": self.baselines.real_class_acc,
            "lr": self.nets.opt.param_groups[0]["lr"], "seconds": round(seconds, 2),
        }

    def _save(self, epoch: int, record: dict, gen: np.ndarray) -> None:
        n_show = min(self.cfg.n_samples, len(self.data.y_test))
        grid = pair_grid(self.data.y_test[:n_show], gen[:n_show], labels=list(self.data.test_rows["CLASS2"][:n_show]))
        save_png(grid, self.run_dir / "samples" / f"epoch_{epoch:03d}.png")
        save_png(grid, self.run_dir / "samples.png")
        args = (self.nets, self.data.prepared.norm, self.cfg, self.data.prepared.meta, epoch, record)
        if record["best"]:
            self.best_loss = record["val_loss"] if record["val_loss"] == record["val_loss"] else -float(epoch)
            save_weights(self.run_dir / "weights" / "best.pt", *args, self.best_loss)
        save_weights(self.run_dir / "weights" / "last.pt", *args, self.best_loss, history=self.history)
        self.run_log.epoch(self.history, np.asarray(grid))

    def fit(self, progress: Progress = NO_PROGRESS, on_epoch_end: Callable[[dict], None] | None = None) -> Path:
        """Train to cfg.epochs (or the time budget), logging a line per epoch; returns the run folder."""
        with output_lock(self.run_dir, "train"):
            if self.start_epoch == 0:  # a new run (also one reusing a folder with --exist-ok): nothing stale stays
                for stale in ("samples", "weights"):
                    shutil.rmtree(self.run_dir / stale, ignore_errors=True)
                (self.run_dir / "results.csv").unlink(missing_ok=True)
            try:
                return self._fit(progress, on_epoch_end)
            except KeyboardInterrupt:
                raise UserError(f"interrupted; what the finished epochs wrote is kept: continue with "
                                f"`a2i train --resume {self.run_dir}`", code=130) from None

    def _fit(self, progress: Progress, on_epoch_end: Callable[[dict], None] | None) -> Path:
        for line in [*self.describe(), epoch_legend(self.cfg.loss, len(self.data.x_test), len(self.data.x_val) > 0, self.cfg.ssim_weight)]:
            self.log(line)
        write_args(self.run_dir, self.cfg, self.device, self.selection())
        started = time.perf_counter()
        for epoch in range(self.start_epoch + 1, self.cfg.epochs + 1):
            t0 = time.perf_counter()
            progress.start(len(self.data.x_train), f"epoch {epoch}/{self.cfg.epochs}")
            self.nets.set_lr(epoch_lr(self.cfg, epoch))
            train_loss = train_epoch(self.nets, self.data, self.cfg, self.device, progress, self.warp)
            val_loss = self.validation_loss()
            test_loss, scores, gen = self.evaluate()
            if not (np.isfinite(train_loss) and np.isfinite(test_loss)):
                raise UserError(f"training diverged in epoch {epoch} (loss {train_loss:.3g}, test loss {test_loss:.3g}); "
                                f"lower --lr (it is {self.cfg.lr:g}) or the loss weights and train again", code=3)
            record = self._record(epoch, train_loss, val_loss, test_loss, scores, time.perf_counter() - t0)
            self.history.append(record)
            self._save(epoch, record, gen)
            self.log(format_epoch(record, self.cfg.epochs, self.cfg.loss))
            if on_epoch_end:
                on_epoch_end(record)
            if self.cfg.time_budget is not None and time.perf_counter() - started >= self.cfg.time_budget:
                self.log(f"time budget of {self.cfg.time_budget:.0f}s reached after epoch {epoch}")
                break
        self.run_log.close()
        for line in run_summary(self.history, self.run_dir, self.cfg.loss):
            self.log(line)
        return self.run_dir


def train(cfg: TrainConfig, log: Callable[[str], None] = print, progress: Progress = NO_PROGRESS) -> Path:
    """Library entry point: train and return the run folder."""
    return Trainer(cfg, log=log).fit(progress)
