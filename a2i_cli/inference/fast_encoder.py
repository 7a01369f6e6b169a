"""The a2i encoders for inference as plain matrix products: the fused engine's encoder.

A TemporalEncoder's three Conv1d(k=3) + BatchNorm over 8 frames are, in eval mode, three
matrix products: each frame's row is its neighbours' features side by side (B*8, 3*Cin) times
the folded weight (3*Cin, Cout). One large GEMM per layer instead of PyTorch's small-sequence
convolution costs about half as much here (AMD EPYC, 2 threads, batch 64: 1.1 vs 1.9 ms per
class encoder), which matters once a model has class encoders beside its main encoder
(docs/speed.md). Reference: network.TemporalEncoder / AudioToImage.encode in eval mode;
tests/test_fast_encoder.py checks they agree.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.config import Arch, N_COEFFS, N_FRAMES
from ..model.network import LEAKY_SLOPE, AudioToImage, TemporalEncoder


class FastTemporal:
    """A frozen copy of an eval-mode TemporalEncoder: (B, 104) -> (B, out), the same values to float rounding."""

    def __init__(self, enc: TemporalEncoder):
        self.frame_order = enc.frame_order
        self.convs = []  # per layer: weight (3*Cin, Cout), bias (Cout,), BatchNorm folded in
        with torch.no_grad():
            for i in (0, 3, 6):
                conv, bn = enc.conv[i], enc.conv[i + 1]
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (Cout,)
                w = conv.weight * scale[:, None, None]  # (Cout, Cin, 3)
                b = bn.bias + (conv.bias - bn.running_mean) * scale
                self.convs.append((w.permute(2, 1, 0).reshape(-1, w.shape[0]).contiguous(), b.contiguous()))
            self.head = [(enc.head[0].weight.t().contiguous(), enc.head[0].bias.detach().clone()),
                         (enc.head[3].weight.t().contiguous(), enc.head[3].bias.detach().clone())]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(-1, N_FRAMES, N_COEFFS)  # (B, 8, 13)
        for w, b in self.convs:
            p = F.pad(h, (0, 0, 1, 1))  # (B, 10, Cin): a zero frame either side, as padding=1
            u = torch.cat([p[:, :-2], p[:, 1:-1], p[:, 2:]], dim=2)  # (B, 8, 3*Cin): frames t-1, t, t+1
            h = F.leaky_relu(torch.addmm(b, u.reshape(-1, u.shape[2]), w), LEAKY_SLOPE).view(len(x), N_FRAMES, -1)
        pooled = [h.mean(1), h.amax(1)]  # (B, C) each
        if self.frame_order:  # the head reads channel-major (B, C*8), as TemporalEncoder's flatten of (B, C, 8)
            pooled.insert(0, h.transpose(1, 2).reshape(len(x), -1))
        (w1, b1), (w2, b2) = self.head
        g = F.leaky_relu(torch.addmm(b1, torch.cat(pooled, dim=1), w1), LEAKY_SLOPE)  # (B, 512); dropout: eval
        return torch.addmm(b2, g, w2)  # (B, out)


class FastEncoder:
    """AudioToImage.encode / .latent of an eval-mode a2i model through FastTemporal; any other model: its own."""

    def __init__(self, model: AudioToImage):
        self.model = model
        temporal = model.cfg.arch == Arch.a2i and isinstance(model.encoder, TemporalEncoder)
        self.parts = [FastTemporal(model.encoder), *map(FastTemporal, model.class_encoders)] if temporal else None

    def mean(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, 104) normalised -> (B, latent) mean latent, as model.encode(feats)[0]."""
        if self.parts is None:
            return self.model.encode(feats)[0]
        h = torch.cat([part(feats) for part in self.parts], dim=1) if len(self.parts) > 1 else self.parts[0](feats)
        return h.chunk(2, dim=1)[0] if self.model.cfg.vae else h

    def latent(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, 104) -> the decoder's input, as model.latent(feats): the mean latent plus its class's code."""
        return self.model.with_code(self.mean(feats))
