"""Pictures for people: targets beside generated images."""
from __future__ import annotations

import os
from pathlib import Path

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


def save_png(image: Image.Image | np.ndarray, path: Path, compress_level: int = 6) -> Path:
    """Atomic PNG write (temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    im.save(tmp, format="PNG", compress_level=compress_level)
    os.replace(tmp, path)
    return path
