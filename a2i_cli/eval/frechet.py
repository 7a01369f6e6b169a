"""Fréchet distance between two sets of feature vectors: how far generated images are, as a whole, from real ones.

Each set is summarised by a Gaussian (mean mu, covariance S) of its features, taken from a
network that never saw a generated image (a2i's scene classifier, the digit reader of the
benchmark); the distance is

    FD = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2))

(Fréchet / 2-Wasserstein distance of the two Gaussians; FID is this with Inception features).
0 for the same set, |mu_a - mu_b|^2 for a set and its shifted copy; lower is better. A set of
blurry class averages has the right means but too little spread, and pays in the trace terms.

tr((S_a S_b)^(1/2)) is computed in float64 as tr((A S_b A)^(1/2)) with A = S_a^(1/2): both
matrices are symmetric positive semi-definite, so an eigen-decomposition (eigenvalues clipped
at 0) is exact up to rounding and stays real and finite when there are fewer vectors than
dimensions (a singular covariance), where a general sqrtm of S_a S_b can turn complex.
`trace_sqrt_product_reference` is the textbook scipy.linalg.sqrtm form, kept for the tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class FeatureStats:
    mean: np.ndarray  # (D,) float64
    cov: np.ndarray  # (D, D) float64, sample covariance (N - 1); zeros for a single vector
    n: int

    @classmethod
    def of(cls, feats: np.ndarray) -> "FeatureStats":
        """Mean and covariance of (N, D) feature vectors, N >= 1."""
        x = np.asarray(feats, dtype=np.float64)
        if x.ndim != 2 or not len(x):
            raise ValueError(f"expected (N, D) features with N >= 1, got shape {x.shape}")
        mean = x.mean(0)
        d = x - mean
        cov = d.T @ d / max(len(x) - 1, 1)  # (D, D)
        return cls(mean, cov, len(x))


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric PSD matrix (eigenvalues below 0 from rounding clipped)."""
    w, v = np.linalg.eigh((s + s.T) * 0.5)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def trace_sqrt_product(s_a: np.ndarray, s_b: np.ndarray) -> float:
    """tr((S_a S_b)^(1/2)) for symmetric PSD S_a, S_b: the eigenvalues of S_a S_b are those of A S_b A, A = S_a^(1/2)."""
    a = _psd_sqrt(s_a)
    m = a @ s_b @ a  # (D, D), symmetric PSD
    w = np.linalg.eigvalsh((m + m.T) * 0.5)
    return float(np.sqrt(np.clip(w, 0.0, None)).sum())


def trace_sqrt_product_reference(s_a: np.ndarray, s_b: np.ndarray) -> float:
    """The same by scipy.linalg.sqrtm of the (non-symmetric) product, as pytorch-fid computes it (tests only)."""
    from scipy import linalg

    return float(np.trace(linalg.sqrtm(s_a @ s_b)).real)


def frechet_distance(a: FeatureStats, b: FeatureStats) -> float:
    """FD between two feature distributions; >= 0 (tiny negative rounding clipped)."""
    diff = a.mean - b.mean
    fd = diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2.0 * trace_sqrt_product(a.cov, b.cov)
    return float(max(fd, 0.0))


def frechet_of_features(a: np.ndarray, b: np.ndarray) -> float:
    """FD between two sets of (N, D) and (M, D) feature vectors."""
    return frechet_distance(FeatureStats.of(a), FeatureStats.of(b))


def frechet_of_images(generated: np.ndarray, real: FeatureStats | np.ndarray,
                      embed: Callable[[np.ndarray], np.ndarray]) -> float:
    """FD of (N, S, S, 3) uint8 images to real ones (their images, or their FeatureStats already computed),
    in the feature space of `embed` ((B, S, S, 3) uint8 -> (B, D) features)."""
    if not isinstance(real, FeatureStats):
        real = FeatureStats.of(embed(real))
    return frechet_distance(FeatureStats.of(embed(generated)), real)
