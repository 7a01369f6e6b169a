"""Sharpness-aware minimisation (SAM, Foret et al. 2021) for the class encoders (--class-sam).

Each step's gradient of the class term is taken not at the class encoders' weights w but at
w + rho g / |g| (g: the class term's gradient at w), the nearby weights where the loss rises
most, so training settles where the loss is flat around the weights: a class that is still read
right when a new voice moves the features a little. Only the class encoders and their heads are
moved (each member on its own, with its own |g|, as if trained apart: rho is a distance over one
member's weights) and only their gradients are taken at the moved weights; the main encoder, the
decoder and the discriminator have their own gradients. The step's forward pass runs at the
moved weights, so the decoder reads (cut from the graph) class features from weights rho away,
and the class encoders' batch-norm statistics are updated twice per step, once at each weight;
the recipe's measurements (docs/quality.md) were taken so. One extra forward and backward of
the small class encoders per step.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .network import AudioToImage


class ClassSAM:
    def __init__(self, model: AudioToImage, rho: float):
        if not model.cfg.class_encoders:
            raise ValueError("ClassSAM needs a model with class encoders")
        self.model, self.rho = model, rho
        self.members = [[*enc.parameters(), *head.parameters()]
                        for enc, head in zip(model.class_encoders, model.codes.heads)]

    def perturb(self, x: torch.Tensor, truth: torch.Tensor) -> list[list[torch.Tensor]]:
        """Move each member's weights by rho g / |g| for the batch (x (B, 104), truth (B,) class indices); return
        the weights as they were, for restore() after the backward pass that takes the gradient at the moved ones."""
        losses = [F.cross_entropy(head(enc(x)), truth) for enc, head in zip(self.model.class_encoders, self.model.codes.heads)]
        grads = torch.autograd.grad(sum(losses), [p for ps in self.members for p in ps], allow_unused=True)
        saved, k = [], 0
        with torch.no_grad():
            for params in self.members:
                g = [torch.zeros_like(p) if d is None else d for p, d in zip(params, grads[k: k + len(params)])]
                k += len(params)
                scale = self.rho / (torch.sqrt(sum((d * d).sum() for d in g)) + 1e-12)
                saved.append([p.detach().clone() for p in params])
                for p, d in zip(params, g):
                    p.add_(d * scale)
        return saved

    def restore(self, saved: list[list[torch.Tensor]]) -> None:
        """Put the weights back exactly as perturb() found them (their .grad, taken at the moved weights, stays)."""
        with torch.no_grad():
            for params, old in zip(self.members, saved):
                for p, w in zip(params, old):
                    p.copy_(w)
