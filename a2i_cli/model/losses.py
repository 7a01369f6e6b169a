"""Training losses: MSE, MSE + (1 - SSIM), and an adversarial term (hinge loss, spectral-norm patch discriminator).

The SSIM here is differentiable and runs on [-1, 1] images during training (7x7 uniform
window like scikit-image, on images mapped to [0, 1]). Reported scores use eval/metrics.py on uint8 images.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..core.config import N_COEFFS, N_FRAMES, Loss


def ssim_torch(x: torch.Tensor, y: torch.Tensor, win: int = 7) -> torch.Tensor:
    """Mean SSIM of (B, 3, S, S) images in [-1, 1]; differentiable.

    Images are mapped to [0, 1] first: SSIM's luminance term is not shift-invariant, and
    this makes it the same function as the uint8 metric up to rounding.
    """
    x, y = (x + 1) * 0.5, (y + 1) * 0.5
    c1, c2 = 0.01**2, 0.03**2

    def box(t):
        return F.avg_pool2d(t, win, stride=1)

    ux, uy = box(x), box(y)
    vx = box(x * x) - ux * ux
    vy = box(y * y) - uy * uy
    vxy = box(x * y) - ux * uy
    n = win * win / (win * win - 1.0)
    s = ((2 * ux * uy + c1) * (2 * n * vxy + c2)) / ((ux * ux + uy * uy + c1) * (n * (vx + vy) + c2))
    return s.mean()


def reconstruction_loss(kind: str, out: torch.Tensor, target: torch.Tensor, ssim_weight: float = 0.5) -> torch.Tensor:
    """The --loss of (B, 3, S, S) images in [-1, 1]: MSE, or MSE + ssim_weight * (1 - SSIM) (--ssim-weight)."""
    mse = F.mse_loss(out, target)
    if kind == Loss.mse:
        return mse
    if kind == Loss.mse_ssim:
        return mse + ssim_weight * (1.0 - ssim_torch(out, target))
    raise ValueError(f"unknown --loss {kind!r}; choose one of {', '.join(Loss)}")


class PatchDiscriminator(nn.Module):
    """A small PatchGAN with spectral norm: (B, 3, S, S) -> (B, 1, S/8, S/8) real/fake scores per patch.

    Each output scores a 38x38-pixel patch, so it judges texture and edges, not the layout
    (the reconstruction and class terms judge that). Spectral norm on every conv keeps each
    layer 1-Lipschitz: the scores cannot blow up, so the hinge loss below needs no BatchNorm
    (which would mix real and fake batches) and its gradients stay small and smooth.
    Unconditional: it sees an image, not the sound or the class."""

    def __init__(self, width: int = 32):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        layers, cin = [], 3
        for cout in (width, width * 2, width * 4):
            layers += [sn(nn.Conv2d(cin, cout, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            cin = cout
        layers += [sn(nn.Conv2d(cin, 1, 3, padding=1))]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 3, S, S) -> (B, 1, S/8, S/8)


def hinge_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's hinge loss: real scores pushed above +1, fake below -1 (no gain past the margin)."""
    return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()


def hinge_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """The generator's side of the hinge loss: raise the discriminator's score of its images."""
    return -d_fake.mean()


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)), mean over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()


def augment_features(x: torch.Tensor, noise: float, shift: int, gen: torch.Generator | None = None,
                     offset: float = 0.0, mask: float = 0.0, stretch: float = 0.0) -> torch.Tensor:
    """A random tempo (`stretch`, stretch_frames), feature noise (std in normalised units), a random shift of the 8 frames by up to `shift`
    frames (edge frames repeated), a random offset per coefficient shared by the 8 frames
    (std `offset`: another voice or microphone moves a coefficient in every frame alike), and
    masks: with probability `mask` one random frame is set to 0 (the training mean), and apart
    from it, with probability `mask`, two random coefficients of 2-13 in every frame (the log
    energy never), so no one frame or coefficient decides; per sample. (B, 104) -> (B, 104)."""
    if stretch > 0:
        x = stretch_frames(x, stretch, gen)
    if shift > 0:
        frames = x.view(len(x), N_FRAMES, N_COEFFS)
        s = torch.randint(-shift, shift + 1, (len(x),), generator=gen)
        pos = (torch.arange(N_FRAMES)[None, :] - s[:, None]).clamp(0, N_FRAMES - 1)  # (B, 8)
        x = torch.gather(frames, 1, pos[:, :, None].expand(-1, -1, N_COEFFS)).reshape(len(x), N_FRAMES * N_COEFFS)
    if noise > 0:
        x = x + noise * torch.randn(x.shape, generator=gen)
    if offset > 0:
        shared = offset * torch.randn((len(x), 1, N_COEFFS), generator=gen)  # (B, 1, 13): the same in every frame
        x = (x.reshape(len(x), N_FRAMES, N_COEFFS) + shared).reshape(len(x), N_FRAMES * N_COEFFS)
    if mask > 0:
        x = mask_features(x, mask, gen)
    return x


def stretch_frames(x: torch.Tensor, stretch: float, gen: torch.Generator | None = None) -> torch.Tensor:
    """(B, 104) -> each row's 8 frames read again at a random tempo around a random frame (SpecAugment's time warp, on
    frames): output frame t reads the input at c + (t - c) r, r log-uniform in [1/(1 + stretch), 1 + stretch] and c
    uniform in [0, 7] per row, linear between frames, edge frames repeated. A faster or slower word, or one whose
    sounds sit closer or further apart."""
    b = len(x)
    frames = x.reshape(b, N_FRAMES, N_COEFFS)
    rate = torch.exp((2 * torch.rand(b, 1, generator=gen) - 1) * math.log1p(stretch))  # (B, 1)
    centre = torch.rand(b, 1, generator=gen) * (N_FRAMES - 1)  # (B, 1)
    pos = (centre + (torch.arange(N_FRAMES)[None] - centre) * rate).clamp(0, N_FRAMES - 1)  # (B, 8) where each reads
    lo = pos.floor().long().clamp(max=N_FRAMES - 2)  # (B, 8)
    w = (pos - lo)[:, :, None]  # (B, 8, 1)
    below = torch.gather(frames, 1, lo[:, :, None].expand(-1, -1, N_COEFFS))  # (B, 8, 13)
    above = torch.gather(frames, 1, (lo + 1)[:, :, None].expand(-1, -1, N_COEFFS))
    return ((1 - w) * below + w * above).reshape(b, N_FRAMES * N_COEFFS)


MASKED_COEFFS = 2  # coefficients masked together (of 2-13)


def mask_features(x: torch.Tensor, p: float, gen: torch.Generator | None = None) -> torch.Tensor:
    """(B, 104) -> a copy with, per row, one frame zeroed (probability p) and MASKED_COEFFS coefficients of 2-13
    zeroed in all 8 frames (probability p, drawn apart; the two may be the same coefficient)."""
    b = len(x)
    frames = x.reshape(b, N_FRAMES, N_COEFFS).clone()  # (B, 8, 13)
    rows = torch.arange(b)
    hit = torch.rand(b, generator=gen) < p
    which = torch.randint(0, N_FRAMES, (b,), generator=gen)
    frames[rows[hit], which[hit], :] = 0
    hit = torch.rand(b, generator=gen) < p
    for _ in range(MASKED_COEFFS):
        c = torch.randint(1, N_COEFFS, (b,), generator=gen)  # 1..12: never the log energy (coefficient 1)
        frames[rows[hit], :, c[hit]] = 0
    return frames.reshape(b, N_FRAMES * N_COEFFS)
