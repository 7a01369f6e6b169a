"""Image scores, batched: SSIM, histogram similarity, MSE, PSNR, and sharpness (mean gradient magnitude).

All functions take uint8 RGB batches (B, H, W, 3) (numpy or torch) and return (B,) float64.

SSIM follows scikit-image's `structural_similarity` defaults exactly: 7x7 uniform window,
K1=0.01, K2=0.03, sample covariance (N/(N-1)), data range 255 (uint8), computed per
colour channel and averaged (`channel_axis=-1`), mean over the window positions that do
not touch the border (skimage's crop of (7-1)/2 pixels). The uniform filter restricted
to those positions is a valid 7x7 box filter: here exact integer window sums (two
separable passes of shifted adds in int16/int32), so only the final ratio is rounded (float32;
per-image values agree with skimage to ~1e-7). `ssim_reference` calls scikit-image itself.
MSE, histograms and sharpness are exact integer arithmetic too, one pass or a few each.

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


def _ssim_strip_sum(x: np.ndarray, y: np.ndarray, win: int, own: int = 0) -> tuple[float, int]:
    """(Sum over the valid window positions of the SSIM maps of two (h, W, C) uint8 strips, all channels;
    the sum of the squared differences over the strip's first `own` rows, exact, for MSE).

    Window sums are exact integers: Sx, Sy in int16 while they fit (255 * 49 < 2^15; half
    the memory traffic), S(x^2 + y^2) and Sxy in int32 (2 * 255^2 * 49 * 49 < 2^31). The
    variance numerators N*S(x^2 + y^2) - Sx^2 - Sy^2 are formed in int32 too, so the only
    rounding is in the final float32 ratio: skimage's float64 value to ~1e-7. Each float32
    factor is made with its conversion in one pass (np.add(..., dtype=float32)); the 2s of
    the numerator are taken out as one 4 (scaling by 2 is exact in floating point).
    """
    n = win * win
    small = np.int16 if DATA_RANGE * n < 2**15 else np.int32
    big = np.int32 if 2 * DATA_RANGE**2 * n * n < 2**31 else np.int64  # windows up to 11x11 stay in int32
    xy = np.empty((2, *x.shape), small)  # (2, h, W, C): x, y
    xy[0], xy[1] = x, y
    m = np.empty((2, *x.shape), big)  # (2, h, W, C): x^2 + y^2, xy
    np.multiply(xy[0], xy[0], out=m[0], dtype=big)
    m[0] += np.multiply(xy[1], xy[1], dtype=big)
    np.multiply(xy[0], xy[1], out=m[1], dtype=big)
    sq_err = int(m[0, :own].sum(dtype=np.int64)) - 2 * int(m[1, :own].sum(dtype=np.int64)) if own else 0
    sx, sy = _box_sums(_box_sums(xy, win, 2), win, 1)  # each (h-win+1, W-win+1, C)
    ssq, sxy = _box_sums(_box_sums(m, win, 2), win, 1)
    c1 = (SSIM_K1 * DATA_RANGE) ** 2 * n * n  # constants scaled like the integer sums
    c2 = (SSIM_K2 * DATA_RANGE) ** 2 * n * (n - 1)
    sxsy = np.multiply(sx, sy, dtype=big)
    lum = np.multiply(sx, sx, dtype=big)
    lum += np.multiply(sy, sy, dtype=big)  # Sx^2 + Sy^2
    ssq *= n
    ssq -= lum  # n(n-1) * (var_x + var_y)
    sxy *= n
    sxy -= sxsy  # n(n-1) * cov_xy
    num = np.add(sxsy, c1 / 2, dtype=np.float32)
    num *= np.add(sxy, c2 / 2, dtype=np.float32)  # a quarter of (2 SxSy + c1)(2 cov + c2)
    den = np.add(lum, c1, dtype=np.float32)
    den *= np.add(ssq, c2, dtype=np.float32)
    num /= den
    return 4 * float(num.sum(dtype=np.float64)), sq_err


def ssim(a, b, win: int = SSIM_WIN, strip: int = 64) -> np.ndarray:
    """Batched SSIM, equal to skimage.metrics.structural_similarity(channel_axis=-1) per pair.

    Exact integer window sums by separable shifted adds, the colour channels together, in
    strips of `strip` output rows so the working set stays in the CPU cache. ~10x faster
    than scikit-image per pair on one core (benchmarks/bench_score.py), same values.
    """
    return ssim_and_mse(a, b, win, strip)[0]


def ssim_and_mse(a, b, win: int = SSIM_WIN, strip: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(ssim(a, b), mse(a, b)) in one pass over the pixels: the squares and products SSIM forms anyway give
    the squared error, summed over the rows each strip owns (strips overlap by win - 1 rows)."""
    x, y = _as_bhwc(a), _as_bhwc(b)
    if x.shape != y.shape:
        raise ValueError(f"image shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    if min(x.shape[1:3]) < win:
        raise ValueError(f"images must be at least {win}x{win} for SSIM")
    if win % 2 == 0 or win < 1:
        raise ValueError(f"the SSIM window must be odd, got {win}")
    B, H, W, C = x.shape
    out_h = H - win + 1
    out, sq = np.empty(B, np.float64), np.empty(B, np.float64)
    for k in range(B):
        total, err = 0.0, 0
        for r0 in range(0, out_h, strip):
            h = min(strip, out_h - r0) + win - 1
            own = strip if r0 + strip < out_h else h  # the last strip owns the rows to the bottom
            s, e = _ssim_strip_sum(x[k, r0 : r0 + h], y[k, r0 : r0 + h], win, own)
            total += s
            err += e
        out[k] = total / (C * out_h * (W - win + 1))
        sq[k] = err / (H * W * C)
    return out, sq


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
    """(B, H, W, 3) uint8 -> (B, 3, 256) float64 counts (Pillow's histogram: one pass over the pixels)."""
    from PIL import Image

    t = _as_bhwc(a)
    out = np.empty((t.shape[0], 3, 256), np.float64)
    for k in range(t.shape[0]):
        out[k] = np.asarray(Image.fromarray(t[k], "RGB").histogram(), np.float64).reshape(3, 256)
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


def mse(a, b) -> np.ndarray:
    """Mean squared error on the 0..255 scale (skimage.metrics.mean_squared_error on uint8); (B,).

    Exact: differences in int16, their squares summed in int64.
    """
    x, y = _as_bhwc(a), _as_bhwc(b)
    if x.shape != y.shape:
        raise ValueError(f"image shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    out = np.empty(len(x), np.float64)
    for k in range(len(x)):
        d = np.subtract(x[k], y[k], dtype=np.int16)  # (H, W, 3)
        out[k] = int(np.square(d, dtype=np.int32).sum(dtype=np.int64)) / d.size
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
    the real targets (`sharpness_ratio`): 1.0 means as sharp as the real images. The sums
    R+G+B (3 x grey) and their differences are exact integers; grey's gradient is 1/6 of
    theirs (1/3 for the mean, 1/2 for the central difference)."""
    t = _as_bhwc(a)
    out = np.empty(len(t), np.float64)
    for k in range(len(t)):
        s = t[k, :, :, 0].astype(np.int16)  # (H, W): R + G + B
        s += t[k, :, :, 1]
        s += t[k, :, :, 2]
        gx = s[1:-1, 2:] - s[1:-1, :-2]
        gy = s[2:, 1:-1] - s[:-2, 1:-1]
        g2 = np.multiply(gx, gx, dtype=np.int32)
        g2 += np.multiply(gy, gy, dtype=np.int32)
        out[k] = float(np.sqrt(g2, dtype=np.float32).sum(dtype=np.float64)) / (6 * g2.size) if g2.size else float("nan")
    return out


def sharpness_ratio(generated, targets) -> float:
    """Mean sharpness of the generated images over that of their targets (1.0 = as sharp)."""
    real = float(sharpness(targets).mean())
    return float(sharpness(generated).mean()) / real if real > 0 else float("nan")


def colour_error(a, b) -> np.ndarray:
    """How far each image's mean colour is from its pair's: mean over R, G, B of |mean(a_c) - mean(b_c)|,
    0..255 scale; (B,). 0 = the same average colour (a golden beach drawn pinkish-brown scores high)."""
    x, y = _as_bhwc(a), _as_bhwc(b)
    if x.shape != y.shape:
        raise ValueError(f"image shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    mx = x.reshape(len(x), -1, 3).mean(axis=1, dtype=np.float64)  # (B, 3)
    my = y.reshape(len(y), -1, 3).mean(axis=1, dtype=np.float64)
    return np.abs(mx - my).mean(axis=1)


METRICS = {"ssim": ssim, "hist": hist_similarity, "mse": mse, "psnr": psnr}


def score_batch(generated, targets) -> dict[str, np.ndarray]:
    """Every metric for a batch of pairs: {"ssim": (B,), "hist": (B,), "mse": (B,), "psnr": (B,)}."""
    s, m = ssim_and_mse(generated, targets)
    return {"ssim": s, "hist": hist_similarity(generated, targets), "mse": m, "psnr": _psnr_from_mse(m)}
