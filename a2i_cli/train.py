"""Training loop: Adam + MSE, per-epoch test scores beside the mean-training-image baseline.

runs/train/<name>/
    args.yaml            the TrainConfig and model config
    weights/best.pt      lowest test loss so far (config, normalisation, version inside)
    weights/last.pt      every epoch, with optimizer and RNG state for --resume
    results.csv          one line per epoch
    samples.png          targets (top) beside generated (below) for the first test rows
    samples/epoch_NNN.png
"""
from __future__ import annotations

import csv
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from . import __version__
from .checkpoint import read_checkpoint, save_checkpoint
from .classifier import load_or_train_classifier
from .losses import LOSSES, PatchDiscriminator, augment_features, kl_divergence, reconstruction_loss
from .errors import UserError
from .metrics import score_batch
from .model import ModelConfig, build_model, from_uint8, to_uint8
from .prepare import Prepared
from .runs import new_run_dir
from .viz import pair_grid, save_png

SCORES = ("ssim", "hist", "mse", "psnr", "class_acc")
RESULT_FIELDS = [
    "epoch", "train_loss", "train_loss_x_bs", "test_loss", "test_loss_x_bs",
    *(f"{who}_{m}" for who in ("test", "baseline", "oracle") for m in SCORES),
    "real_class_acc", "lr", "seconds",
]


@dataclass
class TrainConfig:
    prepared: Path
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    model: ModelConfig = field(default_factory=ModelConfig)
    name: str = "exp"
    exist_ok: bool = False
    runs_root: Path = Path("runs")
    n_samples: int = 8
    loss: str = "mse"  # mse | mse+ssim
    adv_weight: float = 0.0  # > 0 adds a patch-discriminator (adversarial) term
    class_weight: float = 0.0  # > 0: the latent also predicts CLASS2 (cross-entropy, training only)
    kl_weight: float = 1e-3  # VAE only
    aug_noise: float = 0.0  # feature noise, in normalised units
    aug_shift: int = 0  # random shift of the 8 frames by up to this many frames
    classifier: bool = True  # score class accuracy with a scene classifier (2+ classes)
    time_budget: float | None = None  # seconds: stop after the epoch that reaches it

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise UserError(f"--loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.class_weight < 0 or self.adv_weight < 0 or self.aug_noise < 0 or not 0 <= self.aug_shift <= 4:
            raise UserError(f"--class-weight ({self.class_weight}), --adv-weight ({self.adv_weight}) and --aug-noise "
                            f"({self.aug_noise}) must be >= 0, --aug-shift ({self.aug_shift}) between 0 and 4")
        for opt, v in (("--epochs", self.epochs), ("--batch-size", self.batch_size)):
            if v < 1:
                raise UserError(f"{opt} must be at least 1, got {v}")
        if not self.lr > 0:
            raise UserError(f"--lr must be positive, got {self.lr}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise UserError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA device is available here; use --device cpu")


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def mean_image(images: np.ndarray, chunk: int = 256) -> np.ndarray:
    """The mean of (N, S, S, 3) uint8 images, rounded: (S, S, 3) uint8."""
    acc = np.zeros(images.shape[1:], dtype=np.float64)
    for i in range(0, len(images), chunk):
        acc += images[i : i + chunk].sum(axis=0, dtype=np.float64)
    return np.round(acc / len(images)).astype(np.uint8)


def _scores(gen: np.ndarray, tgt: np.ndarray, chunk: int = 64) -> dict[str, float]:
    parts = [score_batch(gen[i : i + chunk], tgt[i : i + chunk]) for i in range(0, len(gen), chunk)]
    return {k: float(np.mean(np.concatenate([p[k] for p in parts]))) for k in parts[0]}


class Trainer:
    """`Trainer(cfg).fit()`; `Trainer.resume(run_dir).fit()` continues a run to its epochs."""

    def __init__(self, cfg: TrainConfig, run_dir: Path | None = None, log: Callable[[str], None] = print):
        self.cfg, self.log = cfg, log
        self.data = Prepared.load(cfg.prepared)
        cfg.model.image_size = self.data.image_size  # the prepared data sets the image size
        self.device = pick_device(cfg.device)
        self.classifier = load_or_train_classifier(self.data, log=log) if cfg.classifier else None
        seed_everything(cfg.seed)  # after the classifier: a cached or fresh one must not change the run
        self.model = build_model(cfg.model).to(self.device)
        tr, te = self.data.indices("train"), self.data.indices("test")
        # optional auxiliary head: the latent also predicts CLASS2 (training only, not in best.pt)
        train_labels = self.data.rows["CLASS2"].iloc[tr]
        classes = sorted(train_labels.unique())
        self.class_head = None
        if cfg.class_weight > 0 and len(classes) > 1:
            self.class_head = torch.nn.Linear(cfg.model.latent, len(classes)).to(self.device)
            self.y_class = torch.tensor(train_labels.map({c: i for i, c in enumerate(classes)}).to_numpy())
        params = list(self.model.parameters()) + (list(self.class_head.parameters()) if self.class_head else [])
        self.opt = torch.optim.Adam(params, lr=cfg.lr)
        self.start_epoch, self.best_loss, self.history = 0, float("inf"), []
        self.run_dir = run_dir or new_run_dir("train", cfg.name, cfg.exist_ok, cfg.runs_root)
        norm = self.data.norm
        self.x_train = torch.from_numpy(norm(self.data.features[tr]))
        self.y_train = torch.from_numpy(np.ascontiguousarray(self.data.images[tr]))  # (N, S, S, 3) uint8
        self.x_test = norm(self.data.features[te])
        self.y_test = np.ascontiguousarray(self.data.images[te])
        self.test_rows = self.data.rows.iloc[te]
        self.test_labels = list(self.test_rows["CLASS2"])
        self.disc = self.opt_d = None
        if cfg.adv_weight > 0:
            self.disc = PatchDiscriminator().to(self.device)
            self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        # baselines on the same test rows: the mean training image, and the mean training
        # image of the row's own class (an oracle that knows the label)
        base = mean_image(self.y_train.numpy())
        train_labels = self.data.rows["CLASS2"].iloc[tr].to_numpy()
        class_means = {c: mean_image(self.y_train.numpy()[train_labels == c]) for c in np.unique(train_labels)}
        oracle = np.stack([class_means.get(c, base) for c in self.test_labels])
        self.baseline = self._scores(np.broadcast_to(base, self.y_test.shape).copy())
        self.oracle = self._scores(oracle)
        self.real_class_acc = self.classifier.test_accuracy if self.classifier else float("nan")
        self.mean_train_image = base

    def _scores(self, gen: np.ndarray) -> dict[str, float]:
        out = _scores(gen, self.y_test)
        out["class_acc"] = self.classifier.accuracy(gen, self.test_labels) if self.classifier else float("nan")
        return out

    @classmethod
    def resume(cls, run: Path, epochs: int | None = None, log: Callable[[str], None] = print) -> "Trainer":
        run = Path(run)
        last = run / "weights" / "last.pt" if run.is_dir() else run
        run_dir = last.parent.parent
        blob = read_checkpoint(last)
        if "optimizer" not in blob:
            raise UserError(f"{last} has no optimizer state; resume from a run's weights/last.pt")
        tc = dict(blob["train_config"])
        tc["model"] = ModelConfig(**blob["model_config"])
        tc["prepared"], tc["runs_root"] = Path(tc["prepared"]), Path(tc["runs_root"])
        if epochs is not None:
            tc["epochs"] = epochs
        self = cls(TrainConfig(**tc), run_dir=run_dir, log=log)
        self.model.load_state_dict(blob["state_dict"])
        self.opt.load_state_dict(blob["optimizer"])
        if self.class_head is not None and blob.get("class_head") is not None:
            self.class_head.load_state_dict(blob["class_head"])
        if self.disc is not None and blob.get("disc") is not None:
            self.disc.load_state_dict(blob["disc"])
            self.opt_d.load_state_dict(blob["disc_opt"])
        self.start_epoch, self.best_loss = int(blob["epoch"]), float(blob.get("best_loss", float("inf")))
        self.history = list(blob.get("history", []))
        torch.set_rng_state(blob["rng"]["torch"])
        np.random.set_state(blob["rng"]["numpy"])
        random.setstate(blob["rng"]["python"])
        if self.start_epoch >= self.cfg.epochs:
            raise UserError(f"{run_dir} already finished {self.start_epoch} epochs; pass --epochs N with N > {self.start_epoch}")
        return self

    def _train_epoch(self, on_batch: Callable[[int], None] | None) -> float:
        self.model.train()
        n = len(self.x_train)
        perm = torch.randperm(n)
        total, count = 0.0, 0
        for i in range(0, n, self.cfg.batch_size):
            idx = perm[i : i + self.cfg.batch_size]
            if len(idx) < 2 and n >= 2:  # BatchNorm needs 2+ samples: fold a lone tail sample away
                continue
            x = augment_features(self.x_train[idx], self.cfg.aug_noise, self.cfg.aug_shift).to(self.device)
            y = from_uint8(self.y_train[idx]).to(self.device)  # (B, 3, S, S) in [-1, 1]
            mu, logvar = self.model.encode(x)
            z = mu if logvar is None else mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            out = self.model.decoder(z)
            loss = reconstruction_loss(self.cfg.loss, out, y)
            total_loss = loss
            if logvar is not None:
                total_loss = total_loss + self.cfg.kl_weight * kl_divergence(mu, logvar)
            if self.class_head is not None:
                total_loss = total_loss + self.cfg.class_weight * F.cross_entropy(self.class_head(mu), self.y_class[idx].to(self.device))
            if self.disc is not None:
                total_loss = total_loss + self.cfg.adv_weight * self._adversarial_step(out, y)
            self.opt.zero_grad(set_to_none=True)
            total_loss.backward()
            self.opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
            if on_batch:
                on_batch(len(idx))
        return total / max(count, 1)

    def _adversarial_step(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Update the discriminator on (real, fake); return the generator's adversarial loss."""
        bce = F.binary_cross_entropy_with_logits
        d_real, d_fake = self.disc(real), self.disc(fake.detach())
        d_loss = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        g_out = self.disc(fake)
        return bce(g_out, torch.ones_like(g_out))

    @torch.inference_mode()
    def evaluate(self, batch: int = 64) -> tuple[float, dict[str, float], np.ndarray]:
        """One pass over the test split: (per-pixel MSE on [-1, 1], scores, (N, S, S, 3) uint8)."""
        self.model.eval()
        gen, sq = [], 0.0
        for i in range(0, len(self.x_test), batch):
            out = self.model(torch.from_numpy(self.x_test[i : i + batch]).to(self.device)).cpu()  # (B, 3, S, S)
            sq += F.mse_loss(out, from_uint8(torch.from_numpy(self.y_test[i : i + batch])), reduction="sum").item()
            gen.append(to_uint8(out).numpy())
        gen = np.concatenate(gen)
        return sq / self.y_test.size, self._scores(gen), gen

    def _save(self, name: str, epoch: int, record: dict, with_state: bool) -> None:
        extra = {
            "train_config": _jsonable(asdict(self.cfg)) | {"model": None},
            "prepared": {k: self.data.meta.get(k) for k in ("source", "classes", "counts", "split", "image_size", "feature_recipe")},
            "epoch": epoch,
            "metrics": record,
            "best_loss": self.best_loss,
        }
        if with_state:
            extra |= {
                "optimizer": self.opt.state_dict(),
                "history": self.history,
                "disc": self.disc.state_dict() if self.disc is not None else None,
                "class_head": self.class_head.state_dict() if self.class_head is not None else None,
                "disc_opt": self.opt_d.state_dict() if self.opt_d is not None else None,
                "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
            }
        save_checkpoint(self.run_dir / "weights" / name, self.model, self.data.norm, **extra)

    def _write_args(self) -> None:
        args = _jsonable(asdict(self.cfg)) | {"device_used": str(self.device), "a2i_version": __version__}
        lines = [f"{k}: {json.dumps(v)}" for k, v in args.items()]  # JSON values are valid YAML
        (self.run_dir / "args.yaml").write_text("\n".join(lines) + "\n")

    def _write_results(self) -> None:
        tmp = self.run_dir / ".results.csv.tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=RESULT_FIELDS)
            w.writeheader()
            w.writerows(self.history)
        os.replace(tmp, self.run_dir / "results.csv")

    def fit(self, on_epoch_start=None, on_batch=None, on_epoch_end=None) -> Path:
        """Train to cfg.epochs. Callbacks: on_epoch_start(epoch, n_rows), on_batch(n), on_epoch_end(record)."""
        self._write_args()
        n_show = min(self.cfg.n_samples, len(self.y_test))
        started = time.perf_counter()
        for epoch in range(self.start_epoch + 1, self.cfg.epochs + 1):
            t0 = time.perf_counter()
            if on_epoch_start:
                on_epoch_start(epoch, len(self.x_train))
            train_loss = self._train_epoch(on_batch)
            test_loss, scores, gen = self.evaluate()
            bs = self.cfg.batch_size
            record = {
                "epoch": epoch, "train_loss": train_loss, "train_loss_x_bs": train_loss * bs,
                "test_loss": test_loss, "test_loss_x_bs": test_loss * bs,
                **{f"test_{k}": v for k, v in scores.items()},
                **{f"baseline_{k}": v for k, v in self.baseline.items()},
                **{f"oracle_{k}": v for k, v in self.oracle.items()},
                "real_class_acc": self.real_class_acc,
                "lr": self.cfg.lr, "seconds": round(time.perf_counter() - t0, 2),
            }
            self.history.append(record)
            grid = pair_grid(self.y_test[:n_show], gen[:n_show], labels=list(self.test_rows["CLASS2"][:n_show]))
            save_png(grid, self.run_dir / "samples" / f"epoch_{epoch:03d}.png")
            save_png(grid, self.run_dir / "samples.png")
            if test_loss < self.best_loss:
                self.best_loss = test_loss
                self._save("best.pt", epoch, record, with_state=False)
            self._save("last.pt", epoch, record, with_state=True)
            self._write_results()
            if on_epoch_end:
                on_epoch_end(record)
            if self.cfg.time_budget is not None and time.perf_counter() - started >= self.cfg.time_budget:
                self.log(f"time budget of {self.cfg.time_budget:.0f}s reached after epoch {epoch}")
                break
        return self.run_dir


def _jsonable(d):
    if isinstance(d, dict):
        return {k: _jsonable(v) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return [_jsonable(v) for v in d]
    if isinstance(d, Path):
        return str(d)
    return d


def train(cfg: TrainConfig, log: Callable[[str], None] = print) -> Path:
    """Library entry point: train and return the run folder."""
    return Trainer(cfg, log=log).fit()
