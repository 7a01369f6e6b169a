"""Vocal tract length warping of MFCC rows: a training augmentation for data with few voices.

A longer or shorter vocal tract moves every formant by about the same factor, which is the
largest difference between two voices saying the same word. Vocal tract length perturbation
(Jaitly and Hinton, 2013) stretches the spectrum of each training example by a random factor
near 1, so the model meets more voices than the data holds. a2i only has the 104 MFCC
features, not the audio, so the stretch is done in the cepstral domain: coefficients 2-13 of
a window are the DCT (1..12) of its log mel energies (the first is the log energy, which a
stretch leaves alone); undo the DCT, read each mel band's log energy at its centre frequency
divided by the factor (linear between band centres, the edge bands held), and take the DCT
again. That is one 12 x 12 matrix per factor, built from the recipe's filterbank.

Measured on spoken digits (voices never heard, docs/quality.md#voices-never-heard).
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.config import N_COEFFS, N_FRAMES
from ..core.errors import UserError
from ..data.features import FeatureRecipe, dct_matrix, mel_points
from ..data.normalize import Normalizer

STEPS = 21  # factors drawn from, evenly spaced over [1 - max_warp, 1 + max_warp]


def band_centres(recipe: FeatureRecipe) -> np.ndarray:
    """(n_mels,) centre frequencies in Hz of the recipe's mel filters (features.mel_filterbank)."""
    return mel_points(recipe)[1:-1]


def warp_matrix(recipe: FeatureRecipe, factor: float) -> np.ndarray:
    """(12, 12) matrix taking coefficients 2-13 of a window to those of its spectrum stretched by `factor`
    (> 1: formants move up, a shorter vocal tract). factor 1 gives the identity."""
    centres = band_centres(recipe)
    n = len(centres)
    source = centres / factor  # where band m reads its log energy
    j = np.clip(np.searchsorted(centres, source) - 1, 0, n - 2)  # (n,) the band centre at or below
    gap = centres[j + 1] - centres[j]  # 0 only for a filterbank squeezed into a few Hz (an edited recipe)
    t = np.clip(np.divide(source - centres[j], gap, out=np.zeros(n), where=gap > 0), 0.0, 1.0)  # edge bands held
    interp = np.zeros((n, n))
    interp[np.arange(n), j] = 1 - t
    interp[np.arange(n), j + 1] += t
    dct = dct_matrix(n, N_COEFFS)[1:]  # (12, n): coefficients 2-13; orthonormal rows
    return dct @ interp @ dct.T


class FeatureWarp:
    """Warps normalised (B, 104) rows: each row's 8 windows by one factor drawn uniformly from STEPS values."""

    def __init__(self, recipe: FeatureRecipe, norm: Normalizer, max_warp: float, steps: int = STEPS):
        factors = np.linspace(1 - max_warp, 1 + max_warp, steps)
        with np.errstate(all="ignore"):
            matrices = np.stack([warp_matrix(recipe, f) for f in factors])  # (A, 12, 12)
        if not np.isfinite(matrices).all():
            raise UserError(f"--aug-warp: the data's mel filterbank ({recipe.n_mels} bands, {recipe.fmin:g}-{recipe.fmax:g} Hz) "
                            "cannot be stretched; make the data again with a2i, or pass --aug-warp 0")
        self.matrices = torch.from_numpy(matrices.astype(np.float32))
        self.mean = torch.from_numpy(np.asarray(norm.mean, np.float32)).view(N_FRAMES, N_COEFFS)  # (8, 13)
        self.std = torch.from_numpy(np.asarray(norm.std, np.float32)).view(N_FRAMES, N_COEFFS)

    def __call__(self, x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """(B, 104) normalised -> (B, 104) normalised, warped in the features' own units."""
        raw = x.reshape(len(x), N_FRAMES, N_COEFFS) * self.std + self.mean  # (B, 8, 13)
        pick = torch.randint(0, len(self.matrices), (len(x),), generator=gen)
        ceps = torch.einsum("bij,bfj->bfi", self.matrices[pick], raw[:, :, 1:])  # (B, 8, 12)
        raw = torch.cat([raw[:, :, :1], ceps], dim=2)
        return ((raw - self.mean) / self.std).reshape(len(x), N_FRAMES * N_COEFFS)
