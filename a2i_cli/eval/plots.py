"""Pictures for people, drawn with Pillow only: targets beside generated images, a histogram of SSIM, line charts of a run."""
from __future__ import annotations

import math

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


def tick_labels(lo: float, hi: float, n: int = 5) -> list[tuple[float, str]]:
    """(value, text) for n evenly spaced ticks over [lo, hi]: plain numbers with as few decimals as keep each
    within a tenth of the spacing (1547, 15470, 0.012), scientific only past 8 characters, never cut short."""
    step = (hi - lo) / max(n - 1, 1)
    values = [lo + step * k for k in range(n)]
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 and math.isfinite(step) else 4

    def text(y: float, d: int) -> str:
        t = f"{y:.{d}f}"
        t = t[1:] if t.startswith("-") and float(t) == 0 else t
        return t if len(t) <= 8 else f"{y:.2e}"

    if step > 0 and any(abs(float(text(y, decimals)) - y) > step / 10 for y in values):
        decimals += 1
    return [(y, text(y, decimals)) for y in values]


PALETTE = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (127, 127, 127)]


def line_panel(title: str, epochs: list[float], series: dict[str, list[float]], width: int = 420,
               height: int = 260) -> Image.Image:
    """One chart: each series a coloured line over the epochs (NaN points skipped), legend on top."""
    img = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(img)
    values = [v for vs in series.values() for v in vs if v == v and abs(v) != float("inf")]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    ticks = tick_labels(lo, hi)
    left = max(40, 10 + int(max(d.textlength(t) for _, t in ticks)))  # room for the widest label, no more
    right, top, bottom = width - 10, 20 + 12 * ((len(series) + 1) // 2), height - 24
    x0, x1 = (min(epochs), max(epochs)) if epochs else (0, 1)
    x1 = x1 if x1 > x0 else x0 + 1

    def xy(x: float, y: float) -> tuple[float, float]:
        return left + (x - x0) / (x1 - x0) * (right - left), bottom - (y - lo) / (hi - lo) * (bottom - top)

    d.text((4, 2), title, fill=(0, 0, 0))
    d.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    for y, text in ticks:
        py = xy(x0, y)[1]
        d.line([(left - 4, py), (left, py)], fill=(0, 0, 0))
        d.text((left - 6 - d.textlength(text), py - 6), text, fill=(0, 0, 0))  # right-aligned to the tick
    for x in sorted({int(round(x0 + (x1 - x0) * k / 4)) for k in range(5)}):
        px = xy(x, lo)[0]
        d.line([(px, bottom), (px, bottom + 4)], fill=(0, 0, 0))
        d.text((px - 6, bottom + 6), str(x), fill=(0, 0, 0))
    for i, (name, vs) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        lx, ly = 8 + (i % 2) * (width // 2), 16 + 12 * (i // 2)
        d.line([(lx, ly + 5), (lx + 14, ly + 5)], fill=colour, width=2)
        d.text((lx + 18, ly), name, fill=(0, 0, 0))
        points = [xy(x, v) for x, v in zip(epochs, vs) if v == v and abs(v) != float("inf")]
        if len(points) > 1:
            d.line(points, fill=colour, width=2)
        for px, py in points[-1:] if len(points) > 1 else points:
            d.ellipse([px - 2, py - 2, px + 2, py + 2], fill=colour)
    return img


def panels_grid(panels: list[Image.Image], cols: int = 3) -> Image.Image:
    """Charts of one size side by side, `cols` per row."""
    w, h = panels[0].size
    rows = (len(panels) + cols - 1) // cols
    canvas = Image.new("RGB", (cols * w, rows * h), (255, 255, 255))
    for i, p in enumerate(panels):
        canvas.paste(p, ((i % cols) * w, (i // cols) * h))
    return canvas
