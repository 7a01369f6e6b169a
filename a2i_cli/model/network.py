"""The audio-to-image model: an MLP encoder and a transposed-convolution decoder.

`--arch seed` is the student project's model exactly (see docs DATASET.md):

    encoder: 104 -> 1024 -> 768 -> 512 -> 256 -> latent, LeakyReLU(0.2) between layers
    decoder: ConvTranspose2d(k=4, s=2, p=1) from 1x1 up to the image size, channels
             latent -> 256 -> 128 -> 64 -> 32 -> 16 -> 8 -> 4 -> 3 at 256x256,
             BatchNorm2d + LeakyReLU(0.2) after each layer but the last, Tanh at the end.

`--arch a2i` keeps that decoder (so the fused C++ engine serves it) and reads the 104
features as 8 frames x 13 coefficients with a temporal convolutional encoder; `vae=True`
makes the encoder variational (it predicts a mean and log-variance; inference uses the mean).
With class codes (`n_classes` > 0, the a2i default on 2+ classes) the latent also predicts
the class, and the decoder draws from the latent plus a learnt code of the predicted class
(training: of the true class), so a picture shows one class, not a blend of the likely ones.

For smaller images (a power of two from 32 to 256) the decoder has log2(size) layers and
keeps the widest channel counts: 64x64 is latent -> 256 -> 128 -> 64 -> 32 -> 16 -> 3.
Images are produced in [-1, 1]; `to_uint8` maps them to 0..255.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import UserError
from ..core.config import CLASS_LATENT, N_COEFFS, N_FRAMES, Arch, ModelConfig, check_image_size

SEED_DECODER = (256, 128, 64, 32, 16, 8, 4)
LEAKY_SLOPE = 0.2
CLASS_FRAME_ORDER = False  # class encoders pool over time (docs/quality.md#class-encoders)


def decoder_channels(latent: int, image_size: int) -> list[int]:
    """Channel counts from the latent to RGB: [latent, 256, ..., 3], len = log2(size) + 1."""
    n_layers = int(math.log2(check_image_size(image_size)))
    return [latent, *SEED_DECODER[: n_layers - 1], 3]


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        layers: list[nn.Module] = []
        width = cfg.n_features
        for w in cfg.encoder_widths:
            layers += [nn.Linear(width, w), nn.LeakyReLU(LEAKY_SLOPE)]
            width = w
        layers.append(nn.Linear(width, cfg.latent))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 104) -> (B, latent)


class TemporalEncoder(nn.Module):
    """(B, 104) -> 8 frames x 13 coefficients -> 1-D convolutions over time -> latent.

    Mean and max pooling over the frames make it tolerant to where in the second a sound
    falls; the flattened frames keep the order for sounds that change within the second.
    With `frame_order` False the head reads the pooled features only: the convolutions still
    see the order of neighbouring frames, but not where in the 8 a sound sits (spoken digits:
    a new voice places its sounds elsewhere; docs/quality.md#voices-never-heard).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c = cfg.temporal_channels
        self.frame_order = cfg.frame_order
        self.conv = nn.Sequential(
            nn.Conv1d(N_COEFFS, c, 3, padding=1), nn.BatchNorm1d(c), nn.LeakyReLU(LEAKY_SLOPE),
            nn.Conv1d(c, c, 3, padding=1), nn.BatchNorm1d(c), nn.LeakyReLU(LEAKY_SLOPE),
            nn.Conv1d(c, c, 3, padding=1), nn.BatchNorm1d(c), nn.LeakyReLU(LEAKY_SLOPE),
        )
        self.head = nn.Sequential(
            nn.Linear(c * N_FRAMES * self.frame_order + 2 * c, 512), nn.LeakyReLU(LEAKY_SLOPE), nn.Dropout(0.2),
            nn.Linear(512, cfg.latent * (2 if cfg.vae else 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.view(-1, N_FRAMES, N_COEFFS).transpose(1, 2)  # (B, 13, 8)
        h = self.conv(frames)  # (B, C, 8)
        pooled = torch.cat([h.flatten(1), h.mean(-1), h.amax(-1)] if self.frame_order else [h.mean(-1), h.amax(-1)],
                           dim=1)  # (B, C*8 + 2C), or (B, 2C) without the frame order
        return self.head(pooled)  # (B, latent) or (B, 2*latent) for a VAE


class ClassCodes(nn.Module):
    """latent -> class logits, and one learnt code per class that is added to the latent before the decoder.

    Trained on the true class (the decoder learns to draw each class from its code, and the
    latent keeps what differs within a class); at inference the predicted class is added, so
    the picture commits to the class the sound is heard as.

    With `members` class encoders (ModelConfig.class_encoders) the last members x CLASS_LATENT
    dimensions of the latent are theirs: member j's head reads only its own slice, and the
    logits are the mean of the members' log-probabilities (an ensemble); without, one head
    reads the whole latent.
    """

    def __init__(self, latent: int, n_classes: int, members: int = 0):
        super().__init__()
        self.latent, self.members = latent, members
        if members:
            self.heads = nn.ModuleList(nn.Linear(CLASS_LATENT, n_classes) for _ in range(members))
        else:
            self.head = nn.Linear(latent, n_classes)  # the class term's logits (cross-entropy in training)
        self.code = nn.Linear(n_classes, latent, bias=False)  # column k: the code of class k

    def member_logits(self, mu: torch.Tensor) -> list[torch.Tensor]:
        """(B, latent) -> each member's (B, n_classes) logits (one entry without class encoders); the class term
        trains each member on its own."""
        if not self.members:
            return [self.head(mu)]
        start = self.latent - self.members * CLASS_LATENT
        return [head(mu[:, start + j * CLASS_LATENT: start + (j + 1) * CLASS_LATENT]) for j, head in enumerate(self.heads)]

    def logits(self, mu: torch.Tensor) -> torch.Tensor:
        """(B, latent) -> (B, n_classes): the head's logits, or the members' mean log-probabilities."""
        if not self.members:
            return self.head(mu)
        return torch.stack([F.log_softmax(m, 1) for m in self.member_logits(mu)]).mean(0)

    def add(self, z: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """(B, latent) + the code of each row's class ((B,) int64) -> (B, latent)."""
        return z + self.code.weight.t()[classes]


class Decoder(nn.Module):
    """`layers` is a ModuleList of blocks: [ConvTranspose2d, BatchNorm2d, LeakyReLU] ... [ConvTranspose2d, Tanh]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        chans = decoder_channels(cfg.latent, cfg.image_size)
        blocks = []
        for i, (cin, cout) in enumerate(zip(chans[:-1], chans[1:])):
            last = i == len(chans) - 2
            conv = nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=1, bias=last)
            if last:
                blocks.append(nn.Sequential(conv, nn.Tanh()))
            else:
                blocks.append(nn.Sequential(conv, nn.BatchNorm2d(cout), nn.LeakyReLU(LEAKY_SLOPE)))
        self.layers = nn.ModuleList(blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z[:, :, None, None]  # (B, latent, 1, 1)
        for block in self.layers:
            x = block(x)  # (B, C, 2H, 2W)
        return x  # (B, 3, S, S) in [-1, 1]


class AudioToImage(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.arch == Arch.seed:
            cfg_enc = cfg if not cfg.vae else ModelConfig(**{**cfg.to_dict(), "latent": 2 * cfg.latent, "vae": False})
            self.encoder = Encoder(cfg_enc)
        else:
            k = cfg.class_encoders
            if k and not cfg.n_classes:
                raise UserError(f"model_config class_encoders {k} needs class codes (n_classes 2+), got n_classes 0")
            main = ModelConfig(**{**cfg.to_dict(), "latent": cfg.latent - k * CLASS_LATENT, "class_encoders": 0}) if k else cfg
            self.encoder = TemporalEncoder(main)
            own = ModelConfig(**{**main.to_dict(), "latent": CLASS_LATENT, "frame_order": CLASS_FRAME_ORDER})
            self.class_encoders = nn.ModuleList(TemporalEncoder(own) for _ in range(k))  # none: no weights
        self.codes = ClassCodes(cfg.latent, cfg.n_classes, cfg.class_encoders) if cfg.n_classes else None
        self.decoder = Decoder(cfg)

    def encode(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, 104) -> (mean latent (B, latent), log-variance (B, latent) or None); with class encoders the latent
        is the main encoder's (B, latent - k*CLASS_LATENT) followed by each class encoder's (B, CLASS_LATENT)."""
        h = self.encoder(feats)
        if self.cfg.class_encoders:
            h = torch.cat([h, *(e(feats) for e in self.class_encoders)], dim=1)
        if not self.cfg.vae:
            return h, None
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-10, 10)

    def for_decoder(self, z: torch.Tensor) -> torch.Tensor:
        """Training: (B, latent) -> the same values, with the class encoders' dimensions cut from the graph, so the
        image terms train the main encoder and the class term alone trains the class encoders."""
        k = self.cfg.class_encoders * CLASS_LATENT
        return z if not k else torch.cat([z[:, : self.cfg.latent - k], z[:, self.cfg.latent - k:].detach()], dim=1)

    def latent(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, 104) -> the decoder's input at inference (B, latent): the mean latent, plus its predicted class's code."""
        mu, _ = self.encode(feats)
        return self.with_code(mu)

    def with_code(self, mu: torch.Tensor) -> torch.Tensor:
        """(B, latent) mean latent -> the decoder's input: plus the code of the class it predicts (with class codes)."""
        if self.codes is None:
            return mu
        return self.codes.add(mu, self.codes.logits(mu).argmax(1))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.latent(feats))  # (B, 104) -> (B, 3, S, S)


def build_model(cfg: ModelConfig) -> AudioToImage:
    return AudioToImage(cfg)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, S, S) float in [-1, 1] -> (B, S, S, 3) uint8, rounding to nearest."""
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round_()
    return x.to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def from_uint8(images: torch.Tensor) -> torch.Tensor:
    """(B, S, S, 3) uint8 -> (B, 3, S, S) float in [-1, 1]."""
    return images.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
