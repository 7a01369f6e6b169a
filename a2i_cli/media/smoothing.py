"""Frame-to-frame cohesion for `a2i animate`: each frame's latent averaged with its neighbours' over time.

    z = smooth_latents(mu, sigma=0.5 * fps)   # (N, latent) -> (N, latent), a centred Gaussian over the frames

The average is centred (the frames after weigh as much as those before), so the picture
does not lag the sound: a scene change in the sound moves the latents on both sides of it
alike, and the class the averaged latent predicts switches where the sound does. Near the
ends the weights of the frames that exist are renormalised. With class codes, the code is
added after averaging (Engine.draw), so one class is drawn at a time, never a blend.
`smooth_latents_reference` is the same average written one frame at a time (the tests hold
the two equal).
"""
from __future__ import annotations

import math

import numpy as np


DIRECT_RADIUS = 64  # kernels longer than 2 * 64 + 1 frames are applied by FFT


def gaussian_weights(sigma: float) -> np.ndarray:
    """(2r+1,) weights exp(-k^2 / 2 sigma^2) for k = -r..r, r = ceil(3 sigma), not normalised."""
    r = max(1, math.ceil(3 * sigma))
    k = np.arange(-r, r + 1, dtype=np.float64)
    return np.exp(-0.5 * (k / sigma) ** 2)


def smooth_latents(mu: np.ndarray, sigma: float) -> np.ndarray:
    """(N, L) latents of consecutive frames -> (N, L) float32, each the Gaussian-weighted mean of the frames around it
    (standard deviation `sigma` frames; 0 returns a copy)."""
    mu = np.asarray(mu, dtype=np.float64)
    if sigma <= 0 or len(mu) < 2:
        return mu.astype(np.float32)
    w = gaussian_weights(sigma)
    r = len(w) // 2
    n = len(mu)
    if r > DIRECT_RADIUS:  # a long kernel (--smooth 10 at 60 fps: 3,601 taps): by FFT, the same sums
        from scipy.signal import fftconvolve

        num = fftconvolve(mu, w[:, None], mode="same", axes=0)  # (N, L): sum over the frames that exist
        den = fftconvolve(np.ones(n), w, mode="same")  # (N,): the weights of those frames
        return (num / den[:, None]).astype(np.float32)
    num = np.zeros_like(mu)
    den = np.zeros(n)
    for j, wj in enumerate(w):  # offset k = j - r: frame i gets wj * mu[i + k] where i + k is a frame
        k = j - r
        lo, hi = max(0, -k), min(n, n - k)
        if lo >= hi:
            continue
        num[lo:hi] += wj * mu[lo + k : hi + k]
        den[lo:hi] += wj
    return (num / den[:, None]).astype(np.float32)


def smooth_latents_reference(mu: np.ndarray, sigma: float) -> np.ndarray:
    """The same average, one frame at a time (for the tests)."""
    mu = np.asarray(mu, dtype=np.float64)
    if sigma <= 0 or len(mu) < 2:
        return mu.astype(np.float32)
    r = max(1, math.ceil(3 * sigma))
    out = np.empty_like(mu)
    for i in range(len(mu)):
        js = np.arange(max(0, i - r), min(len(mu), i + r + 1))
        w = np.exp(-0.5 * ((js - i) / sigma) ** 2)
        out[i] = (w[:, None] * mu[js]).sum(0) / w.sum()
    return out.astype(np.float32)
