"""The module a2i exports: raw features in, uint8 images out, the normalisation inside (names the weights of a .pt2)."""
from __future__ import annotations

import torch
from torch import nn

from ..model.checkpoint import Loaded
from ..model.network import to_uint8


class RawToImage(nn.Module):
    """(B, 104) raw features -> (B, S, S, 3) uint8 with the checkpoint's normalisation."""

    def __init__(self, loaded: Loaded):
        super().__init__()
        self.model = loaded.model
        self.register_buffer("mean", torch.as_tensor(loaded.norm.mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(loaded.norm.std, dtype=torch.float32))

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return to_uint8(self.model((raw - self.mean) / self.std))
