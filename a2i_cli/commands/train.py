"""`a2i train`: train the audio-to-image model on a prepared folder, or resume a run."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.config import RECIPES, SOUND_RECIPES, Arch, Device, Loss, ModelConfig, Schedule, TrainConfig, defaults
from ._common import cli_errors, console, progress_bar

D, M = defaults(TrainConfig), defaults(ModelConfig)
ARCH = D["model"].arch


def by_arch(field: str) -> str:
    """'default: a2i 1, seed 0' for a recipe option (RECIPES in core/config.py)."""
    text = "default: " + ", ".join(f"{a} {v}" for a, v in ((a, RECIPES[a][field]) for a in RECIPES))
    sound = [f"{a} {r[field]}" for a, r in SOUND_RECIPES.items() if field in r]
    return text + (f"; on `sound`-recipe data {', '.join(sound)}" if sound else "")


def typed_options(ctx: typer.Context, skip: tuple[str, ...]) -> list[str]:
    """The options typed on this command line (as typed: --no-x for a False flag pair), except `skip`; a value
    equal to the default counts too, so --resume can refuse every option but --epochs."""
    typed = []
    for p in ctx.command.params:
        source = ctx.get_parameter_source(p.name)  # typer's own click: compare by name
        if p.param_type_name == "option" and p.name not in skip and getattr(source, "name", "") == "COMMANDLINE":
            typed.append(p.secondary_opts[0] if p.secondary_opts and ctx.params.get(p.name) is False else p.opts[0])
    return typed


def register(app: typer.Typer) -> None:
    @app.command("train")
    @cli_errors
    def train_cmd(
        ctx: typer.Context,
        prepared: Annotated[Optional[Path], typer.Argument(help="Prepared folder from `a2i prepare` (default: the newest runs/prepare/*).", show_default=False)] = D["prepared"],
        epochs: Annotated[Optional[int], typer.Option(help=f"Total epochs (default {D['epochs']}; with --resume: the run's own, or more).", show_default=False)] = None,
        batch_size: Annotated[int, typer.Option(help="Training rows per step, 2 or more (BatchNorm needs two).")] = D["batch_size"],
        lr: Annotated[float, typer.Option(help="Adam learning rate.")] = D["lr"],
        lr_schedule: Annotated[Optional[Schedule], typer.Option(help=f"The learning rate over the epochs: constant, or cosine from --lr to 0 at the last epoch ({by_arch('lr_schedule')}).", show_default=False)] = D["lr_schedule"],
        seed: Annotated[int, typer.Option(help="Seed for weights and batch order.")] = D["seed"],
        latent: Annotated[int, typer.Option(help="Latent size between encoder and decoder.")] = M["latent"],
        arch: Annotated[Arch, typer.Option(help="auto: a2i on data with 2+ classes, seed on one class; seed: the student project's model and recipe exactly; a2i: temporal encoder over the 8 x 13 frames, same decoder.")] = ARCH,
        vae: Annotated[bool, typer.Option("--vae", help="Variational encoder (KL term weighted by --kl-weight).")] = M["vae"],
        loss: Annotated[Optional[Loss], typer.Option(help=f"Reconstruction loss ({by_arch('loss')}).", show_default=False)] = D["loss"],
        ssim_weight: Annotated[Optional[float], typer.Option(help=f"With --loss mse+ssim: the weight of 1 - SSIM beside the MSE (on images in [-1, 1]), 0 to 1000; refused with --loss mse (default: a2i {RECIPES['a2i']['ssim_weight']:g}, on `sound`-recipe data {SOUND_RECIPES['a2i']['ssim_weight']:g}; seed {RECIPES['seed']['ssim_weight']:g} with --loss mse+ssim, 0 with its own loss mse; see docs/quality.md, the discriminator).", show_default=False)] = D["ssim_weight"],
        class_weight: Annotated[Optional[float], typer.Option(help=f"Weight of an auxiliary loss: the latent also predicts CLASS2, 0 = off ({by_arch('class_weight')}).", show_default=False)] = D["class_weight"],
        adv_weight: Annotated[Optional[float], typer.Option(help=f"Weight of an adversarial term with a patch discriminator, 0 = off ({by_arch('adv_weight')}).", show_default=False)] = D["adv_weight"],
        kl_weight: Annotated[float, typer.Option(help="--vae only: weight of the KL term.")] = D["kl_weight"],
        aug_noise: Annotated[Optional[float], typer.Option(help=f"Augmentation: Gaussian feature noise, std in normalised units ({by_arch('aug_noise')}).", show_default=False)] = D["aug_noise"],
        aug_shift: Annotated[Optional[int], typer.Option(help=f"Augmentation: shift the 8 frames by up to N frames, 0-4 ({by_arch('aug_shift')}).", show_default=False)] = D["aug_shift"],
        aug_offset: Annotated[Optional[float], typer.Option(help=f"Augmentation: a random offset per coefficient, the same in all 8 frames (another voice or microphone), std in normalised units ({by_arch('aug_offset')}).", show_default=False)] = D["aug_offset"],
        aug_mask: Annotated[Optional[float], typer.Option(help=f"Augmentation, 0-1: with this probability one random frame of a training row is set to the training mean, and (drawn separately, with the same probability) two random coefficients of 2-13 in all 8 frames, so no one frame or coefficient decides ({by_arch('aug_mask')}).", show_default=False)] = D["aug_mask"],
        aug_warp: Annotated[Optional[float], typer.Option(help=f"Augmentation, W from 0 to 0.5: stretch each training row's spectrum by a random factor from 1 - W to 1 + W, as a longer or shorter vocal tract would (coefficients 2-13 through the recipe's mel filterbank), so a few voices stand for many ({by_arch('aug_warp')}).", show_default=False)] = D["aug_warp"],
        aug_stretch: Annotated[Optional[float], typer.Option(help=f"Augmentation, S from 0 to 1: read each training row's 8 frames again at a random tempo, from 1/(1 + S) to 1 + S times, around a random frame (linear between frames), as a voice that says a word faster or slower would ({by_arch('aug_stretch')}).", show_default=False)] = D["aug_stretch"],
        image_class_weight: Annotated[Optional[float], typer.Option(help=f"Weight of a term that asks the frozen scene classifier to read the sound's class in the generated image, 0 = off; needs the classifier ({by_arch('image_class_weight')}).", show_default=False)] = D["image_class_weight"],
        class_codes: Annotated[Optional[bool], typer.Option("--class-codes/--no-class-codes", help="The decoder draws the class the latent predicts, from a learnt code per class, so the picture shows one class, not a blend; an explicit --class-codes needs --class-weight > 0, 2+ classes and --arch a2i (default: on with a2i on 2+ classes and a class term, else off).", show_default=False)] = D["class_codes"],
        frame_order: Annotated[Optional[bool], typer.Option("--frame-order/--no-frame-order", help="--arch a2i: the encoder's head reads the 8 frames in order as well as their mean and max over time; --no-frame-order keeps only the mean and max, so where in the 8 frames a sound sits does not count (default: on; see docs/quality.md, pooling over time).", show_default=False)] = D["frame_order"],
        class_encoders: Annotated[Optional[int], typer.Option(help=f"With class codes: read the class from this many small encoders of its own (0-7), each pooled over time, trained by the class term alone, and given 16 of the --latent dimensions (the main encoder gets the rest); their log-probabilities are averaged; 0 = the class is read from the latent the picture is drawn from ({by_arch('class_encoders')}, as many as leave half the latent, and 0 with --vae or without class codes; see docs/quality.md, class encoders).", show_default=False)] = D["class_encoders"],
        class_sam: Annotated[Optional[float], typer.Option(help=f"With class encoders: train them sharpness-aware (SAM), each step's class gradient taken at the weights moved uphill by this distance (over each class encoder's and its head's weights, each on its own), 0 to 1, 0 = plain; refused when given without class encoders ({by_arch('class_sam')}, and 0 without class encoders; see docs/quality.md, voices never heard).", show_default=False)] = D["class_sam"],
        ema: Annotated[Optional[float], typer.Option(help=f"Score and save an exponential moving average of the weights, updated after every step with this decay, 0 to 0.9999, 0 = off ({by_arch('ema')}); it starts at the initial weights, so give it many more than 1/(1 - decay) steps.", show_default=False)] = D["ema"],
        classifier: Annotated[bool, typer.Option(help="Score class accuracy with a scene classifier (2+ classes).")] = D["classifier"],
        time_budget: Annotated[Optional[float], typer.Option(help="Stop after the epoch that reaches this many seconds of training.")] = D["time_budget"],
        tensorboard: Annotated[bool, typer.Option("--tensorboard", help="Also log the scalars and sample grids to <run>/tensorboard (needs the optional extra: pip install 'a2i\\[tensorboard]').")] = D["tensorboard"],
        device: Annotated[Device, typer.Option(help="auto: CUDA when present.")] = D["device"],
        name: Annotated[str, typer.Option(help="Run name under runs/train/.")] = D["name"],
        exist_ok: Annotated[bool, typer.Option(help="Reuse runs/train/<name> instead of making <name>2.")] = D["exist_ok"],
        resume: Annotated[Optional[Path], typer.Option(help="Continue a run: its folder or its weights/last.pt (with --epochs to go further).")] = None,
    ) -> None:
        """Train (Adam); each epoch prints test scores beside the mean-image and class-mean baselines and redraws results.png."""
        from ..core.errors import UserError
        from ..model.trainer import Trainer

        if resume is not None:
            if prepared is not None:
                raise UserError("--resume continues a run on the data it was trained on; do not pass PREPARED with it")
            changed = typed_options(ctx, skip=("resume", "epochs"))
            if changed:
                raise UserError(f"--resume continues a run with the settings it started with: give only --epochs "
                                f"(also given: {', '.join(changed)}); start a new run to train otherwise")
            trainer = Trainer.resume(resume, epochs=epochs, log=console.print)
        else:
            mcfg = ModelConfig(arch=arch, latent=latent, vae=vae)
            cfg = TrainConfig(prepared=prepared, epochs=D["epochs"] if epochs is None else epochs, batch_size=batch_size,
                              lr=lr, lr_schedule=lr_schedule, seed=seed, device=device, model=mcfg, name=name, exist_ok=exist_ok, loss=loss, ssim_weight=ssim_weight,
                              adv_weight=adv_weight, class_weight=class_weight, kl_weight=kl_weight, aug_noise=aug_noise,
                              aug_shift=aug_shift, aug_offset=aug_offset, aug_mask=aug_mask, aug_warp=aug_warp, aug_stretch=aug_stretch,
                              image_class_weight=image_class_weight,
                              ema=ema, class_codes=class_codes, frame_order=frame_order, class_encoders=class_encoders, class_sam=class_sam, classifier=classifier, time_budget=time_budget, tensorboard=tensorboard)
            trainer = Trainer(cfg, log=console.print)
        with progress_bar("epoch") as bar:
            trainer.fit(progress=bar)
