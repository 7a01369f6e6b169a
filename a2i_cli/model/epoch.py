"""One training epoch: shuffled batches, augmentation, the reconstruction loss and the optional extra terms."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.config import TrainConfig
from ..core.progress import NO_PROGRESS, Progress
from .classifier import CLS_SIZE
from .losses import augment_features, hinge_d_loss, hinge_g_loss, kl_divergence, reconstruction_loss
from .network import from_uint8
from .networks import Networks
from .sam import ClassSAM
from .train_data import TrainData
from .warp import FeatureWarp


def train_epoch(nets: Networks, data: TrainData, cfg: TrainConfig, device: torch.device,
                progress: Progress = NO_PROGRESS, warp: FeatureWarp | None = None) -> float:
    """Update the networks once over the training rows; return the mean per-pixel reconstruction loss.
    `warp` (--aug-warp) stretches each row's spectrum before the other augmentations."""
    nets.model.train()
    n = len(data.x_train)
    codes = nets.model.codes  # class codes: the decoder draws the true class's code in training
    y_class = data.y_class if nets.class_head is not None or nets.reader is not None or codes is not None else None
    sam = ClassSAM(nets.model, cfg.class_sam) if cfg.class_sam and codes is not None and codes.members else None
    perm = torch.randperm(n)
    total, count = 0.0, 0
    for i in range(0, n, cfg.batch_size):
        idx = perm[i : i + cfg.batch_size]
        if len(idx) < 2 and n >= 2:  # BatchNorm needs 2+ samples: fold a lone tail sample away
            continue
        x = data.x_train[idx] if warp is None else warp(data.x_train[idx])  # (B, 104)
        x = augment_features(x, cfg.aug_noise, cfg.aug_shift, offset=cfg.aug_offset,
                             mask=cfg.aug_mask, stretch=cfg.aug_stretch).to(device)  # (B, 104)
        y = from_uint8(data.y_train[idx]).to(device)  # (B, 3, S, S) in [-1, 1]
        saved = sam.perturb(x, y_class[idx].to(device)) if sam is not None else None  # class encoders moved uphill
        mu, logvar = nets.model.encode(x)
        z = mu if logvar is None else mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        if codes is not None:
            z = codes.add(nets.model.for_decoder(z), y_class[idx].to(device))
        out = nets.model.decoder(z)
        loss = reconstruction_loss(cfg.loss, out, y, cfg.ssim_weight)
        total_loss = loss
        if logvar is not None:
            total_loss = total_loss + cfg.kl_weight * kl_divergence(mu, logvar)
        if nets.class_head is not None or codes is not None:
            members = codes.member_logits(mu) if codes is not None else [nets.class_head(mu)]  # each (B, n_classes)
            truth = y_class[idx].to(device)
            total_loss = total_loss + cfg.class_weight * sum(F.cross_entropy(m, truth) for m in members) / len(members)
        if nets.disc is not None:
            total_loss = total_loss + cfg.adv_weight * adversarial_step(nets, out, y)
        if nets.reader is not None:  # the generated picture must show the class of its sound
            logits = nets.reader(F.adaptive_avg_pool2d(out, CLS_SIZE))  # (B, n_reader_classes)
            target = nets.reader_index[y_class[idx]].to(device)
            total_loss = total_loss + cfg.image_class_weight * F.cross_entropy(logits, target)
        nets.opt.zero_grad(set_to_none=True)
        total_loss.backward()
        if saved is not None:  # their gradients were taken at the moved weights; the step starts from the old ones
            sam.restore(saved)
        nets.opt.step()
        nets.step_done()
        total += loss.item() * len(idx)
        count += len(idx)
        progress.advance(len(idx))
    return total / max(count, 1)


def adversarial_step(nets: Networks, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Update the discriminator once on (real, fake) with the hinge loss; return the generator's adversarial loss
    (the discriminator's score of `fake`, negated, through the just-updated discriminator)."""
    d_loss = hinge_d_loss(nets.disc(real), nets.disc(fake.detach()))  # (B, 1, S/8, S/8) scores each
    nets.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    nets.opt_d.step()
    nets.disc.requires_grad_(False)  # the generator's loss reaches `fake` only: no discriminator gradients to discard
    g_loss = hinge_g_loss(nets.disc(fake))
    nets.disc.requires_grad_(True)
    return g_loss
