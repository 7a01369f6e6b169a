"""Image scores, batched: SSIM, histogram similarity, MSE, PSNR, and sharpness (mean gradient magnitude).

All functions take uint8 RGB batches (B, H, W, 3) (numpy or torch) and return (B,) float64.

SSIM follows scikit-image's `structural_similarity` defaults exactly: 7x7 uniform window,
K1=0.01, K2=0.03, sample covariance (N/(N-1)), data range 255 (uint8), computed per
colour channel and averaged (`channel_axis=-1`), mean over the window positions that do
not touch the border (skimage's crop of (7-1)/2 pixels). The uniform filter restricted
to those positions is a valid 7x7 box filter: here exact integer window sums (two
separable passes of shifted adds in int16/int32), so only the final ratio is rounded (float32;
per-image values agree with skimage to ~1e-7). `ssim_reference` calls scikit-image itself.

Histogram similarity is the seed project's: Pearson correlation of the 256-bin histograms
of each channel (OpenCV's HISTCMP_CORREL), averaged over the three channels.
"""
from __future__ import annotations

import numpy as np

SSIM_WIN = 7
SSIM_K1, SSIM_K2 = 0.01, 0.03
DATA_RANGE = 255.0
PSNR_CAP = 100.0  # dB reported for identical images (skimage returns inf)
SSIM_REPORT = (
    "SSIM: scikit-image definition (7x7 uniform window, K1=0.01, K2=0.03, sample covariance, "
    "data_range=255 on uint8 RGB, per channel then averaged, border of 3 px excluded)"
)


def _as_bhwc(x) -> np.ndarray:
    """uint8 images as a (B, H, W, C) numpy array (no copy when already one)."""
    t = x.detach().cpu().numpy() if type(x).__module__.startswith("torch") else np.asarray(x)  # torch stays unimported
    if t.dtype != np.uint8:
        raise TypeError(f"expected uint8 images, got {t.dtype}")
    if t.ndim == 3:
        t = t[None]
    if t.ndim != 4 or t.shape[-1] != 3:
        raise ValueError(f"expected (B, H, W, 3) images, got {tuple(t.shape)}")
    return t


def _box_sums(m: np.ndarray, win: int, axis: int) -> np.ndarray:
    """Exact sums over `win` consecutive elements along `axis` ("valid" positions), int32.

    By doubling: s2 = m + m shifted by 1, s4 = s2 + s2 shifted by 2, ...; the window is
    then the sum of the powers of two in `win` (7 = 4 + 2 + 1: four adds in all).
    """
    n = m.shape[axis]
    out_n = n - win + 1

    def take(a: np.ndarray, start: int, length: int) -> np.ndarray:
        idx = [slice(None)] * a.ndim
        idx[axis] = slice(start, start + length)
        return a[tuple(idx)]

    powers, p, s = [(1, m)], 1, m
    while 2 * p <= win:
        s = take(s, 0, n - 2 * p + 1) + take(s, p, n - 2 * p + 1)
        p *= 2
        powers.append((p, s))
    parts, offset = [], 0
    for p, arr in reversed(powers):
        if win - offset >= p:
            parts.append(take(arr, offset, out_n))
            offset += p
    if len(parts) == 1:
        return parts[0]
    total = np.add(parts[0], parts[1])
    for part in parts[2:]:
        total += part
    return total


def _ssim_plane_sum(x: np.ndarray, y: np.ndarray, win: int) -> float:
    """Sum over the valid window positions of the SSIM map of two (h, W) uint8 planes.

    Window sums are exact integers: Sx, Sy in int16 while they fit (255 * 49 < 2^15; half
    the memory traffic), S(x^2 + y^2) and Sxy in int32 (2 * 255^2 * 49 * 49 < 2^31). The
    variance numerators N*S(x^2 + y^2) - Sx^2 - Sy^2 are formed in int32 too, so the only
    rounding is in the final float32 ratio: skimage's float64 value to ~1e-7.
    """
    n = win * win
    small = np.int16 if DATA_RANGE * n < 2**15 else np.int32
    big = np.int32 if 2 * DATA_RANGE**2 * n * n < 2**31 else np.int64  # windows up to 11x11 stay in int32
    xy = np.empty((2, *x.shape), small)  # (2, h, W): x, y
    xy[0], xy[1] = x, y
    m = np.empty((2, *x.shape), big)  # (2, h, W): x^2 + y^2, xy
    np.multiply(xy[0], xy[0], out=m[0], dtype=big)
    m[0] += np.multiply(xy[1], xy[1], dtype=big)
    np.multiply(xy[0], xy[1], out=m[1], dtype=big)
    sx, sy = _box_sums(_box_sums(xy, win, 2), win, 1).astype(big)  # each (h-win+1, W-win+1)
    ssq, sxy = _box_sums(_box_sums(m, win, 2), win, 1)
    c1 = (SSIM_K1 * DATA_RANGE) ** 2 * n * n  # constants scaled like the integer sums
    c2 = (SSIM_K2 * DATA_RANGE) ** 2 * n * (n - 1)
    sxsy = sx * sy
    lum = sx * sx
    lum += sy * sy  # Sx^2 + Sy^2
    ssq *= n
    ssq -= lum  # n(n-1) * (var_x + var_y)
    sxy *= n
    sxy -= sxsy  # n(n-1) * cov_xy
    num = sxsy.astype(np.float32)
    num *= 2
    num += c1
    t = sxy.astype(np.float32)
    t *= 2
    t += c2
    num *= t
    den = lum.astype(np.float32)
    den += c1
    t = ssq.astype(np.float32)
    t += c2
    den *= t
    num /= den
    return float(num.sum(dtype=np.float64))


def ssim(a, b, win: int = SSIM_WIN, strip: int = 64) -> np.ndarray:
    """Batched SSIM, equal to skimage.metrics.structural_similarity(channel_axis=-1) per pair.

    Exact integer window sums by separable shifted adds, one colour plane at a time in
    strips of `strip` output rows so the working set stays in the CPU cache. ~5x faster
    than scikit-image per pair on one core (benchmarks/bench_score.py), same values.
    """
    x, y = _as_bhwc(a), _as_bhwc(b)
    if x.shape != y.shape:
        raise ValueError(f"image shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    if min(x.shape[1:3]) < win:
        raise ValueError(f"images must be at least {win}x{win} for SSIM")
    if win % 2 == 0 or win < 1:
        raise ValueError(f"the SSIM window must be odd, got {win}")
    B, H, W, C = x.shape
    out_h = H - win + 1
    out = np.empty(B, np.float64)
    for k in range(B):
        total = 0.0
        for c in range(C):
            px, py = x[k, :, :, c], y[k, :, :, c]
            for r0 in range(0, out_h, strip):
                h = min(strip, out_h - r0) + win - 1
                total += _ssim_plane_sum(px[r0 : r0 + h], py[r0 : r0 + h], win)
        out[k] = total / (C * out_h * (W - win + 1))
    return out


def ssim_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """scikit-image itself, one pair at a time (the definition `ssim` must match)."""
    from skimage.metrics import structural_similarity

    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 3:
        a, b = a[None], b[None]
    return np.array([structural_similarity(x, y, channel_axis=-1, data_range=DATA_RANGE) for x, y in zip(a, b)])


def histograms(a):
    """(B, H, W, 3) uint8 -> (B, 3, 256) float64 counts (a torch tensor)."""
    import torch

    return torch.from_numpy(_histograms(a))


def _histograms(a) -> np.ndarray:
    t = _as_bhwc(a)
    out = np.empty((t.shape[0], 3, 256), np.float64)
    for k in range(t.shape[0]):
        for c in range(3):
            out[k, c] = np.bincount(t[k, :, :, c].ravel(), minlength=256)
    return out


def hist_similarity(a, b) -> np.ndarray:
    """Mean over channels of the Pearson correlation of 256-bin histograms; (B,)."""
    ha, hb = _histograms(a), _histograms(b)  # (B, 3, 256)
    da, db = ha - ha.mean(-1, keepdims=True), hb - hb.mean(-1, keepdims=True)
    num = (da * db).sum(-1)
    den = np.sqrt((da * da).sum(-1) * (db * db).sum(-1))
    same = (ha == hb).all(-1).astype(np.float64)  # two constant histograms: equal or not
    corr = np.where(den > 0, num / np.maximum(den, 1e-300), same)
    return corr.mean(-1)


_SQUARES = np.arange(256, dtype=np.int64) ** 2


def mse(a, b) -> np.ndarray:
    """Mean squared error on the 0..255 scale (skimage.metrics.mean_squared_error on uint8); (B,).

    Exact: a histogram of |a - b| (uint8) times the squares 0..255^2, in int64.
    """
    x, y = _as_bhwc(a), _as_bhwc(b)
    if x.shape != y.shape:
        raise ValueError(f"image shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    out = np.empty(len(x), np.float64)
    for k in range(len(x)):
        absdiff = np.maximum(x[k], y[k]) - np.minimum(x[k], y[k])  # (H, W, 3) uint8, no overflow
        out[k] = int(np.bincount(absdiff.ravel(), minlength=256) @ _SQUARES) / absdiff.size
    return out


def _psnr_from_mse(m: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out = 10 * np.log10(DATA_RANGE**2 / m)
    return np.minimum(out, PSNR_CAP)


def psnr(a, b) -> np.ndarray:
    """Peak signal-to-noise ratio in dB, data range 255, capped at 100 dB for identical images; (B,)."""
    return _psnr_from_mse(mse(a, b))


def sharpness(a) -> np.ndarray:
    """Mean gradient magnitude of each image's grey levels (mean of RGB, 0..255 scale); (B,).

    Central differences inside the image, sqrt(gx^2 + gy^2) averaged over the pixels:
    a blurry average of many pictures has weak edges and scores low. Reported relative to
    the real targets (`sharpness_ratio`): 1.0 means as sharp as the real images."""
    t = _as_bhwc(a)
    out = np.empty(len(t), np.float64)
    for k in range(len(t)):
        g = t[k].astype(np.float32).mean(-1)  # (H, W)
        gx = (g[1:-1, 2:] - g[1:-1, :-2]) * 0.5
        gy = (g[2:, 1:-1] - g[:-2, 1:-1]) * 0.5
        out[k] = float(np.sqrt(gx * gx + gy * gy).mean(dtype=np.float64))
    return out


def sharpness_ratio(generated, targets) -> float:
    """Mean sharpness of the generated images over that of their targets (1.0 = as sharp)."""
    real = float(sharpness(targets).mean())
    return float(sharpness(generated).mean()) / real if real > 0 else float("nan")


METRICS = {"ssim": ssim, "hist": hist_similarity, "mse": mse, "psnr": psnr}


def score_batch(generated, targets) -> dict[str, np.ndarray]:
    """Every metric for a batch of pairs: {"ssim": (B,), "hist": (B,), "mse": (B,), "psnr": (B,)}."""
    m = mse(generated, targets)
    return {"ssim": ssim(generated, targets), "hist": hist_similarity(generated, targets), "mse": m, "psnr": _psnr_from_mse(m)}
