"""The networks a training run updates and their optimisers: the model, an optional class head and discriminator,
and an optional exponential moving average (EMA) of the model's weights, which is what gets scored and saved."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..core.config import TrainConfig
from ..core.errors import short
from .losses import PatchDiscriminator
from .network import AudioToImage, build_model


@dataclass
class Networks:
    model: AudioToImage
    opt: torch.optim.Optimizer  # the model's (and the class head's) Adam
    class_head: torch.nn.Linear | None = None  # latent -> CLASS2 logits (training only, not in best.pt; without class codes)
    disc: PatchDiscriminator | None = None  # adversarial term
    opt_d: torch.optim.Optimizer | None = None
    reader: torch.nn.Module | None = None  # the frozen scene classifier of the image-class term
    reader_index: torch.Tensor | None = None  # (n_classes,) the reader's index of each training class
    ema: AveragedModel | None = None  # --ema: the average of the model's weights (and BatchNorm statistics)

    @property
    def scored(self) -> AudioToImage:
        """The weights that are evaluated and saved as the run's model: the EMA when there is one."""
        return self.ema.module if self.ema is not None else self.model

    def step_done(self) -> None:
        """After each optimiser step: move the average towards the new weights."""
        if self.ema is not None:
            self.ema.update_parameters(self.model)

    @classmethod
    def build(cls, cfg: TrainConfig, n_classes: int, device: torch.device) -> "Networks":
        """In a fixed order (model, class head, discriminator), so a seed gives the same initial weights."""
        model = build_model(cfg.model).to(device)
        class_head = None
        if cfg.class_weight > 0 and n_classes > 1 and model.codes is None:  # class codes have their own head
            class_head = torch.nn.Linear(cfg.model.latent, n_classes).to(device)
        params = list(model.parameters()) + (list(class_head.parameters()) if class_head else [])
        opt = torch.optim.Adam(params, lr=cfg.lr)
        disc = opt_d = None
        if cfg.adv_weight > 0:
            disc = PatchDiscriminator().to(device)
            opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        ema = None
        if cfg.ema:  # built last: it copies the model and draws no random numbers
            ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
        return cls(model, opt, class_head, disc, opt_d, ema=ema)

    def set_lr(self, lr: float) -> None:
        """The learning rate of every optimiser (the schedule of trainer.epoch_lr)."""
        for opt in (self.opt, self.opt_d):
            for group in (opt.param_groups if opt is not None else []):
                group["lr"] = lr

    def state(self) -> dict:
        """Everything but the scored weights (the checkpoint's state_dict) that --resume needs."""
        ema = self.ema is not None
        return {
            "train_state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()} if ema else None,
            "ema_steps": int(self.ema.n_averaged) if ema else None,
            "optimizer": self.opt.state_dict(),
            "disc": self.disc.state_dict() if self.disc is not None else None,
            "class_head": self.class_head.state_dict() if self.class_head is not None else None,
            "disc_opt": self.opt_d.state_dict() if self.opt_d is not None else None,
        }

    def load_state(self, blob: dict) -> None:
        """From last.pt: with an EMA its state_dict is the average and train_state_dict the weights being trained."""
        if self.ema is not None:
            self.model.load_state_dict(blob["train_state_dict"])
            self.ema.module.load_state_dict(blob["state_dict"])
            steps = blob["ema_steps"]
            if type(steps) is not int or not 0 < steps < 2**62:
                raise ValueError(f"ema_steps {short(repr(steps), 40)} is not a count of steps")
            self.ema.n_averaged.fill_(steps)
        else:
            self.model.load_state_dict(blob["state_dict"])
        self.opt.load_state_dict(blob["optimizer"])
        check_adam_state(self.opt, "optimizer")
        if self.class_head is not None and blob.get("class_head") is not None:
            self.class_head.load_state_dict(blob["class_head"])
        if self.disc is not None and blob.get("disc") is not None:
            self.disc.load_state_dict(blob["disc"])
            self.opt_d.load_state_dict(blob["disc_opt"])
            check_adam_state(self.opt_d, "disc_opt")


def check_adam_state(opt: torch.optim.Optimizer, key: str) -> None:
    """ValueError unless every moment Adam keeps has the shape of its weight (torch checks it only at the next step)."""
    for group in opt.param_groups:
        for p in group["params"]:
            for name, value in opt.state.get(p, {}).items():
                if name != "step" and (not isinstance(value, torch.Tensor) or value.shape != p.shape):
                    shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                    raise ValueError(f"its {key} state {name!r} is {shape} for a weight of shape {tuple(p.shape)}")
