"""The networks a training run updates and their optimisers: the model, an optional class head and discriminator."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core.config import TrainConfig
from .losses import PatchDiscriminator
from .network import AudioToImage, build_model


@dataclass
class Networks:
    model: AudioToImage
    opt: torch.optim.Optimizer  # the model's (and the class head's) Adam
    class_head: torch.nn.Linear | None = None  # latent -> CLASS2 logits (training only, not in best.pt)
    disc: PatchDiscriminator | None = None  # adversarial term
    opt_d: torch.optim.Optimizer | None = None
    reader: torch.nn.Module | None = None  # the frozen scene classifier of the image-class term
    reader_index: torch.Tensor | None = None  # (n_classes,) the reader's index of each training class

    @classmethod
    def build(cls, cfg: TrainConfig, n_classes: int, device: torch.device) -> "Networks":
        """In a fixed order (model, class head, discriminator), so a seed gives the same initial weights."""
        model = build_model(cfg.model).to(device)
        class_head = None
        if cfg.class_weight > 0 and n_classes > 1:
            class_head = torch.nn.Linear(cfg.model.latent, n_classes).to(device)
        params = list(model.parameters()) + (list(class_head.parameters()) if class_head else [])
        opt = torch.optim.Adam(params, lr=cfg.lr)
        disc = opt_d = None
        if cfg.adv_weight > 0:
            disc = PatchDiscriminator().to(device)
            opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        return cls(model, opt, class_head, disc, opt_d)

    def set_lr(self, lr: float) -> None:
        """The learning rate of every optimiser (the schedule of trainer.epoch_lr)."""
        for opt in (self.opt, self.opt_d):
            for group in (opt.param_groups if opt is not None else []):
                group["lr"] = lr

    def state(self) -> dict:
        """Everything but the model's weights that --resume needs."""
        return {
            "optimizer": self.opt.state_dict(),
            "disc": self.disc.state_dict() if self.disc is not None else None,
            "class_head": self.class_head.state_dict() if self.class_head is not None else None,
            "disc_opt": self.opt_d.state_dict() if self.opt_d is not None else None,
        }

    def load_state(self, blob: dict) -> None:
        self.model.load_state_dict(blob["state_dict"])
        self.opt.load_state_dict(blob["optimizer"])
        if self.class_head is not None and blob.get("class_head") is not None:
            self.class_head.load_state_dict(blob["class_head"])
        if self.disc is not None and blob.get("disc") is not None:
            self.disc.load_state_dict(blob["disc"])
            self.opt_d.load_state_dict(blob["disc_opt"])
