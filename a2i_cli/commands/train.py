"""`a2i train`: train the audio-to-image model on a prepared folder, or resume a run."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.config import Arch, Device, Loss, ModelConfig, TrainConfig, defaults
from ._common import cli_errors, console, progress_bar

D, M = defaults(TrainConfig), defaults(ModelConfig)


def register(app: typer.Typer) -> None:
    @app.command("train")
    @cli_errors
    def train_cmd(
        prepared: Annotated[Optional[Path], typer.Argument(help="Prepared folder from `a2i prepare` (default: the newest runs/prepare/*).", show_default=False)] = D["prepared"],
        epochs: Annotated[Optional[int], typer.Option(help=f"Total epochs (default {D['epochs']}; with --resume: the run's own, or more).", show_default=False)] = None,
        batch_size: Annotated[int, typer.Option(help="Batch size.")] = D["batch_size"],
        lr: Annotated[float, typer.Option(help="Adam learning rate.")] = D["lr"],
        seed: Annotated[int, typer.Option(help="Seed for weights and batch order.")] = D["seed"],
        latent: Annotated[int, typer.Option(help="Latent size between encoder and decoder.")] = M["latent"],
        arch: Annotated[Arch, typer.Option(help="seed: the student project's model exactly; a2i: temporal encoder over the 8 x 13 frames, same decoder.")] = M["arch"],
        vae: Annotated[bool, typer.Option("--vae", help="Variational encoder (KL term weighted by --kl-weight).")] = M["vae"],
        loss: Annotated[Loss, typer.Option(help="Reconstruction loss.")] = D["loss"],
        class_weight: Annotated[float, typer.Option(help="Weight of an auxiliary loss: the latent also predicts CLASS2 (0 = off).")] = D["class_weight"],
        adv_weight: Annotated[float, typer.Option(help="Weight of an adversarial term with a patch discriminator (0 = off).")] = D["adv_weight"],
        kl_weight: Annotated[float, typer.Option(help="--vae only: weight of the KL term.")] = D["kl_weight"],
        aug_noise: Annotated[float, typer.Option(help="Augmentation: Gaussian feature noise (std, normalised units).")] = D["aug_noise"],
        aug_shift: Annotated[int, typer.Option(help="Augmentation: shift the 8 frames by up to N frames (0-4).")] = D["aug_shift"],
        classifier: Annotated[bool, typer.Option(help="Score class accuracy with a scene classifier (2+ classes).")] = D["classifier"],
        time_budget: Annotated[Optional[float], typer.Option(help="Stop after the epoch that reaches this many seconds of training.")] = D["time_budget"],
        device: Annotated[Device, typer.Option(help="auto: CUDA when present.")] = D["device"],
        name: Annotated[str, typer.Option(help="Run name under runs/train/.")] = D["name"],
        exist_ok: Annotated[bool, typer.Option(help="Reuse runs/train/<name> instead of making <name>2.")] = D["exist_ok"],
        resume: Annotated[Optional[Path], typer.Option(help="Continue a run: its folder or its weights/last.pt (with --epochs to go further).")] = None,
    ) -> None:
        """Train (Adam; MSE or MSE+SSIM); each epoch prints test scores beside the mean-image and class-mean baselines."""
        from ..core.errors import UserError
        from ..model.trainer import Trainer

        if resume is not None:
            if prepared is not None:
                raise UserError("--resume continues a run on the data it was trained on; do not pass PREPARED with it")
            given = {"--batch-size": batch_size != D["batch_size"], "--lr": lr != D["lr"], "--seed": seed != D["seed"],
                     "--latent": latent != M["latent"], "--arch": arch != M["arch"], "--vae": vae != M["vae"],
                     "--loss": loss != D["loss"], "--class-weight": class_weight != D["class_weight"],
                     "--adv-weight": adv_weight != D["adv_weight"], "--kl-weight": kl_weight != D["kl_weight"],
                     "--aug-noise": aug_noise != D["aug_noise"], "--aug-shift": aug_shift != D["aug_shift"],
                     "--no-classifier": classifier != D["classifier"], "--time-budget": time_budget != D["time_budget"],
                     "--device": device != D["device"], "--name": name != D["name"], "--exist-ok": exist_ok}
            changed = [option for option, differs in given.items() if differs]
            if changed:
                raise UserError(f"--resume continues a run with the settings it started with; {', '.join(changed)} "
                                "cannot change (only --epochs can); start a new run to train otherwise")
            trainer = Trainer.resume(resume, epochs=epochs, log=console.print)
        else:
            mcfg = ModelConfig(arch=arch, latent=latent, vae=vae)
            cfg = TrainConfig(prepared=prepared, epochs=D["epochs"] if epochs is None else epochs, batch_size=batch_size,
                              lr=lr, seed=seed, device=device, model=mcfg, name=name, exist_ok=exist_ok, loss=loss,
                              adv_weight=adv_weight, class_weight=class_weight, kl_weight=kl_weight, aug_noise=aug_noise,
                              aug_shift=aug_shift, classifier=classifier, time_budget=time_budget)
            trainer = Trainer(cfg, log=console.print)
        with progress_bar("epoch") as bar:
            trainer.fit(progress=bar)
