"""BatchNorm folded into the decoder's transposed convolutions: what the fused op and the auto engine's probe run."""
from __future__ import annotations

import torch
from torch import nn

from ..model.network import Decoder


def fold_decoder(model: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Fold every eval-mode BatchNorm into its ConvTranspose2d.

    Accepts an AudioToImage or its Decoder. Returns per layer the weight (cin, cout, 4, 4)
    and bias (cout,) such that act(conv_transpose2d(x, w, b, 2, 1)) == block(x) with the
    running statistics: w' = w * g / sqrt(var + eps), b' = beta + (b - mean) * g / sqrt(var + eps).
    """
    decoder = model.decoder if hasattr(model, "decoder") else model
    if not isinstance(decoder, Decoder):
        raise TypeError(f"fold_decoder needs an AudioToImage or Decoder, got {type(model).__name__}")
    weights, biases = [], []
    with torch.no_grad():
        for block in decoder.layers:
            conv = block[0]
            w = conv.weight.detach().float()  # (cin, cout, 4, 4)
            b = conv.bias.detach().float() if conv.bias is not None else torch.zeros(w.shape[1])
            if len(block) > 1 and isinstance(block[1], nn.BatchNorm2d):
                bn = block[1]
                scale = bn.weight.detach().float() / torch.sqrt(bn.running_var.float() + bn.eps)  # (cout,)
                w = w * scale[None, :, None, None]
                b = bn.bias.detach().float() + (b - bn.running_mean.float()) * scale
            weights.append(w.contiguous())
            biases.append(b.contiguous())
    return weights, biases
