"""`a2i train`: train the audio-to-image model on a prepared folder."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import cli_errors, console, progress_bar


def register(app: typer.Typer) -> None:
    @app.command("train")
    @cli_errors
    def train_cmd(
        prepared: Annotated[Optional[Path], typer.Argument(help="Prepared folder from `a2i prepare` (default: the newest runs/prepare/*).")] = None,
        epochs: Annotated[Optional[int], typer.Option(help="Total epochs (default 30; with --resume: the run's own, or more).")] = None,
        batch_size: Annotated[int, typer.Option(help="Batch size.")] = 32,
        lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
        seed: Annotated[int, typer.Option(help="Seed for weights and batch order.")] = 0,
        latent: Annotated[int, typer.Option(help="Latent size between encoder and decoder.")] = 128,
        arch: Annotated[str, typer.Option(help="'seed': the student project's model exactly; 'a2i': temporal encoder over the 8 x 13 frames, same decoder.")] = "seed",
        vae: Annotated[bool, typer.Option("--vae", help="Variational encoder (KL term weighted by --kl-weight).")] = False,
        loss: Annotated[str, typer.Option(help="Reconstruction loss: 'mse' or 'mse+ssim'.")] = "mse",
        class_weight: Annotated[float, typer.Option(help="Weight of an auxiliary loss: the latent also predicts CLASS2 (0 = off).")] = 0.0,
        adv_weight: Annotated[float, typer.Option(help="Weight of an adversarial term with a patch discriminator (0 = off).")] = 0.0,
        kl_weight: Annotated[float, typer.Option(help="--vae only: weight of the KL term.")] = 1e-3,
        aug_noise: Annotated[float, typer.Option(help="Augmentation: Gaussian feature noise (std, normalised units).")] = 0.0,
        aug_shift: Annotated[int, typer.Option(help="Augmentation: shift the 8 frames by up to N frames (0-4).")] = 0,
        classifier: Annotated[bool, typer.Option(help="Score class accuracy with a scene classifier (2+ classes).")] = True,
        time_budget: Annotated[Optional[float], typer.Option(help="Stop after the epoch that reaches this many seconds of training.")] = None,
        device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
        name: Annotated[str, typer.Option(help="Run name under runs/train/.")] = "exp",
        exist_ok: Annotated[bool, typer.Option(help="Reuse runs/train/<name> instead of making <name>2.")] = False,
        resume: Annotated[Optional[Path], typer.Option(help="Continue a run: its folder or its weights/last.pt.")] = None,
    ) -> None:
        """Train (Adam; MSE or MSE+SSIM); each epoch prints test scores beside the mean-image and class-mean baselines."""
        from ..errors import UserError
        from ..model import ModelConfig
        from ..runs import newest_run
        from ..train import TrainConfig, Trainer

        if resume is not None:
            trainer = Trainer.resume(resume, epochs=epochs, log=console.print)
        else:
            prepared = prepared or newest_run("prepare", "meta.json")
            try:
                mcfg = ModelConfig(arch=arch, latent=latent, vae=vae)
            except ValueError as e:
                raise UserError(str(e))
            cfg = TrainConfig(prepared=prepared, epochs=30 if epochs is None else epochs, batch_size=batch_size, lr=lr, seed=seed,
                              device=device, model=mcfg, name=name, exist_ok=exist_ok, loss=loss, adv_weight=adv_weight, class_weight=class_weight,
                              kl_weight=kl_weight, aug_noise=aug_noise, aug_shift=aug_shift, classifier=classifier,
                              time_budget=time_budget)
            trainer = Trainer(cfg, log=console.print)
        run_train(trainer)


def run_train(trainer) -> None:
    """Drive a Trainer with a progress bar and one line per epoch (also used by `a2i demo`)."""
    cfg = trainer.cfg
    console.print(f"training {cfg.model.arch} (latent {cfg.model.latent}, {cfg.model.image_size}px) on "
                  f"{len(trainer.x_train)} rows, testing on {len(trainer.x_test)}; device {trainer.device}; seed {cfg.seed}")
    for label, b in (("mean training image", trainer.baseline), ("class-mean oracle", trainer.oracle)):
        acc = f"  class acc {b['class_acc']:.2f}" if b["class_acc"] == b["class_acc"] else ""
        console.print(f"baseline ({label}) on test: SSIM {b['ssim']:.3f}  hist {b['hist']:.3f}  MSE {b['mse']:.1f}{acc}")
    if trainer.classifier:
        console.print(f"scene classifier accuracy on the real test images: {trainer.real_class_acc:.2f}")
    with progress_bar() as bar:
        task = bar.add_task("epoch", total=None, rate="")

        def start(epoch, n):
            bar.reset(task, total=n, description=f"epoch {epoch}/{cfg.epochs}")

        def end(r):
            bar.console.print(
                f"epoch {r['epoch']:>3}  loss {r['train_loss']:.4f} (x bs {r['train_loss_x_bs']:.3f})  "
                f"test loss {r['test_loss']:.4f} (x bs {r['test_loss_x_bs']:.3f})  SSIM {r['test_ssim']:.3f}  "
                f"hist {r['test_hist']:.3f}  MSE {r['test_mse']:.1f}"
                + (f"  class acc {r['test_class_acc']:.2f}" if r["test_class_acc"] == r["test_class_acc"] else "")
                + f"  [{r['seconds']:.1f}s]"
            )

        run_dir = trainer.fit(on_epoch_start=start, on_batch=lambda n: bar.advance(task, n), on_epoch_end=end)
    console.print(f"weights -> {run_dir / 'weights' / 'best.pt'}; scores -> {run_dir / 'results.csv'}; "
                  f"samples -> {run_dir / 'samples.png'}")
