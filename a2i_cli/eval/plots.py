"""Pictures for people, drawn with Pillow only: targets beside generated images, a histogram of SSIM."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def pair_grid(targets: np.ndarray, generated: np.ndarray, cols: int = 8, gap: int = 4, labels=None) -> Image.Image:
    """(B, S, S, 3) uint8 x2 -> one image: each pair is a column, target on top, generated below.

    More than `cols` pairs wrap onto further double rows. Optional labels go above each pair.
    """
    if targets.shape != generated.shape:
        raise ValueError(f"targets {targets.shape} and generated {generated.shape} differ")
    n, s = len(targets), targets.shape[1]
    cols = max(1, min(cols, n))
    rows = (n + cols - 1) // cols
    label_h = 12 if labels is not None else 0
    cell_h = label_h + 2 * s + gap
    canvas = Image.new("RGB", (cols * (s + gap) + gap, rows * cell_h + gap), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for i in range(n):
        r, c = divmod(i, cols)
        x, y = gap + c * (s + gap), gap + r * cell_h
        if labels is not None:
            draw.text((x, y), str(labels[i])[: max(4, s // 6)], fill=(0, 0, 0))
        canvas.paste(Image.fromarray(targets[i]), (x, y + label_h))
        canvas.paste(Image.fromarray(generated[i]), (x, y + label_h + s))
    return canvas


def ssim_histogram(values: np.ndarray, bins: int = 40, width: int = 520, height: int = 260) -> Image.Image:
    """A bar chart of SSIM values over [min(0, lowest), 1], drawn with Pillow."""
    values = np.asarray(values, dtype=np.float64)
    lo = min(0.0, float(values.min())) if len(values) else 0.0
    counts, edges = np.histogram(values, bins=bins, range=(lo, 1.0))
    img = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(img)
    left, right, top, bottom = 44, width - 12, 22, height - 30
    d.line([(left, bottom), (right, bottom)], fill=(0, 0, 0))
    d.line([(left, top), (left, bottom)], fill=(0, 0, 0))
    peak = max(1, int(counts.max()) if len(counts) else 1)
    bw = (right - left) / bins
    for i, c in enumerate(counts):
        if c:
            h = (bottom - top) * c / peak
            d.rectangle([left + i * bw + 1, bottom - h, left + (i + 1) * bw - 1, bottom - 1], fill=(60, 110, 180))
    for x in np.linspace(lo, 1.0, 5):
        px = left + (x - lo) / (1.0 - lo) * (right - left)
        d.line([(px, bottom), (px, bottom + 4)], fill=(0, 0, 0))
        d.text((px - 12, bottom + 7), f"{x:.2f}", fill=(0, 0, 0))
    d.text((4, top - 4), str(peak), fill=(0, 0, 0))
    d.text((4, bottom - 10), "0", fill=(0, 0, 0))
    d.text((left, 4), f"SSIM of {len(values)} pairs (median {np.median(values) if len(values) else float('nan'):.3f})",
           fill=(0, 0, 0))
    return img
