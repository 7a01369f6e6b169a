"""Image similarity scores, batched: SSIM, histogram similarity, MSE, PSNR.

All functions take uint8 RGB batches (B, H, W, 3) (numpy or torch) and return (B,) float64.

SSIM follows scikit-image's `structural_similarity` defaults exactly: 7x7 uniform window,
K1=0.01, K2=0.03, sample covariance (N/(N-1)), data range 255 (uint8), computed per
colour channel and averaged (`channel_axis=-1`), mean over the window positions that do
not touch the border (skimage's crop of (7-1)/2 pixels). The uniform filter restricted
to those positions is a valid 7x7 box filter, done here as two separable 1-D box sums
over the whole batch in float64. `ssim_reference` calls scikit-image itself.

Histogram similarity is the seed project's: Pearson correlation of the 256-bin histograms
of each channel (OpenCV's HISTCMP_CORREL), averaged over the three channels.
"""
from __future__ import annotations

import numpy as np
import torch

SSIM_WIN = 7
SSIM_K1, SSIM_K2 = 0.01, 0.03
DATA_RANGE = 255.0
PSNR_CAP = 100.0  # dB reported for identical images (skimage returns inf)
SSIM_REPORT = (
    "SSIM: scikit-image definition (7x7 uniform window, K1=0.01, K2=0.03, sample covariance, "
    "data_range=255 on uint8 RGB, per channel then averaged, border of 3 px excluded)"
)


def _as_nchw(x) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dtype != torch.uint8:
        raise TypeError(f"expected uint8 images, got {t.dtype}")
    if t.ndim == 3:
        t = t[None]
    if t.ndim != 4 or t.shape[-1] != 3:
        raise ValueError(f"expected (B, H, W, 3) images, got {tuple(t.shape)}")
    return t.permute(0, 3, 1, 2).to(torch.float64)  # (B, 3, H, W)


def _box(x: torch.Tensor, win: int) -> torch.Tensor:
    """Valid win x win mean over the last two dims, separably, by running sums (float64)."""
    def run(t: torch.Tensor, dim: int) -> torch.Tensor:
        c = torch.cumsum(t, dim=dim)
        n = t.shape[dim]
        head = c.narrow(dim, win - 1, 1)
        tail = c.narrow(dim, win, n - win) - c.narrow(dim, 0, n - win)
        return torch.cat([head, tail], dim=dim)

    return run(run(x, -1), -2) / (win * win)


def ssim(a, b, win: int = SSIM_WIN) -> np.ndarray:
    """Batched SSIM, equal to skimage.metrics.structural_similarity(channel_axis=-1) per pair."""
    x, y = _as_nchw(a), _as_nchw(b)
    if x.shape != y.shape:
        raise ValueError(f"image shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    if min(x.shape[-2:]) < win:
        raise ValueError(f"images must be at least {win}x{win} for SSIM")
    B, C, H, W = x.shape
    ux, uy, uxx, uyy, uxy = (_box(t, win) for t in (x, y, x * x, y * y, x * y))  # (B, C, H-6, W-6)
    cov_norm = win * win / (win * win - 1.0)
    vx, vy, vxy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy), cov_norm * (uxy - ux * uy)
    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean(dim=(2, 3)).mean(dim=1).numpy()  # (B,)


def ssim_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """scikit-image itself, one pair at a time (the definition `ssim` must match)."""
    from skimage.metrics import structural_similarity

    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 3:
        a, b = a[None], b[None]
    return np.array([structural_similarity(x, y, channel_axis=-1, data_range=DATA_RANGE) for x, y in zip(a, b)])


def histograms(a) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, 256) float64 counts."""
    t = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a)
    if t.ndim == 3:
        t = t[None]
    B = t.shape[0]
    offs = (torch.arange(B * 3).reshape(B, 1, 3) * 256).to(torch.int64)
    idx = t.reshape(B, -1, 3).to(torch.int64) + offs
    return torch.bincount(idx.reshape(-1), minlength=B * 3 * 256).reshape(B, 3, 256).to(torch.float64)


def hist_similarity(a, b) -> np.ndarray:
    """Mean over channels of the Pearson correlation of 256-bin histograms; (B,)."""
    ha, hb = histograms(a), histograms(b)
    da, db = ha - ha.mean(-1, keepdim=True), hb - hb.mean(-1, keepdim=True)
    num = (da * db).sum(-1)
    den = torch.sqrt((da * da).sum(-1) * (db * db).sum(-1))
    corr = torch.where(den > 0, num / den.clamp_min(1e-300), (ha == hb).all(-1).to(torch.float64))
    return corr.mean(-1).numpy()


def mse(a, b) -> np.ndarray:
    """Mean squared error on the 0..255 scale (skimage.metrics.mean_squared_error on uint8); (B,)."""
    x, y = _as_nchw(a), _as_nchw(b)
    return ((x - y) ** 2).mean(dim=(1, 2, 3)).numpy()


def psnr(a, b) -> np.ndarray:
    """Peak signal-to-noise ratio in dB, data range 255, capped at 100 dB for identical images; (B,)."""
    m = mse(a, b)
    with np.errstate(divide="ignore"):
        out = 10 * np.log10(DATA_RANGE**2 / m)
    return np.minimum(out, PSNR_CAP)


METRICS = {"ssim": ssim, "hist": hist_similarity, "mse": mse, "psnr": psnr}


def score_batch(generated, targets) -> dict[str, np.ndarray]:
    """Every metric for a batch of pairs: {"ssim": (B,), "hist": (B,), "mse": (B,), "psnr": (B,)}."""
    return {name: fn(generated, targets) for name, fn in METRICS.items()}
