"""A score report for people: report.md with the best, median and worst pairs and a histogram of SSIM.

    write_report(out, frame, summary)  ->  out/report.md, out/examples_{best,median,worst}.png, out/ssim_hist.png

Pictures are drawn with Pillow only (targets above generated images, via viz.pair_grid).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from .viz import pair_grid, save_png

GROUPS = ("best", "median", "worst")


def pick_examples(frame: pd.DataFrame, n: int = 6, metric: str = "ssim") -> dict[str, pd.DataFrame]:
    """The n best, the n around the median and the n worst rows by `metric`."""
    ranked = frame.sort_values(metric, ascending=False, kind="stable").reset_index(drop=True)
    n = min(n, len(ranked))
    mid = max(0, len(ranked) // 2 - n // 2)
    return {"best": ranked.head(n), "median": ranked.iloc[mid : mid + n], "worst": ranked.tail(n).iloc[::-1]}


def _load(rows: pd.DataFrame, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    from .score import _read_rgb

    gens = [_read_rgb(Path(p), size) for p in rows["generated"]]
    tgts = [_read_rgb(Path(p), size) for p in rows["target"]]
    return np.stack(tgts), np.stack(gens)


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


def write_report(out: Path, frame: pd.DataFrame, summary: dict, n_examples: int = 6) -> Path:
    """report.md plus its pictures in `out`; returns the report's path."""
    out = Path(out)
    lines = [f"# Score report: {summary['pairs_scored']} pairs", ""]
    if summary.get("pairs_failed") or summary.get("unmatched_generated"):
        lines += [f"{summary.get('pairs_failed', 0)} pairs could not be scored and "
                  f"{summary.get('unmatched_generated', 0)} generated images had no target (see summary.json).", ""]
    if summary.get("metrics"):
        lines += ["| metric | mean | median | std | min | max |", "|---|---:|---:|---:|---:|---:|"]
        for m, st in summary["metrics"].items():
            lines.append(f"| {m} | " + " | ".join(f"{st[k]:.4f}" for k in ("mean", "median", "std", "min", "max")) + " |")
        lines.append("")
    if len(frame):
        save_png(ssim_histogram(frame["ssim"].to_numpy()), out / "ssim_hist.png")
        lines += ["## SSIM distribution", "", "![SSIM histogram](ssim_hist.png)", ""]
        with Image.open(frame["generated"].iloc[0]) as first:
            size = first.size
        for group, rows in pick_examples(frame, n_examples).items():
            try:
                tgts, gens = _load(rows, size)
            except Exception as e:  # a file vanished since scoring: leave the picture out
                lines += [f"## {group.capitalize()} examples", "", f"(not drawn: {type(e).__name__}: {e})", ""]
                continue
            grid = pair_grid(tgts, gens, cols=len(rows), labels=[f"{v:.3f}" for v in rows["ssim"]])
            save_png(grid, out / f"examples_{group}.png")
            names = ", ".join(f"`{n}` ({v:.3f})" for n, v in zip(rows["name"], rows["ssim"]))
            lines += [f"## {group.capitalize()} examples by SSIM", "", "Target above, generated below.", "",
                      f"![{group}](examples_{group}.png)", "", names, ""]
    if summary.get("problems"):
        lines += ["## Pairs that could not be scored", ""]
        lines += [f"- `{p['name']}`: {p['reason']}" for p in summary["problems"][:20]]
        if summary.get("pairs_failed", 0) > 20:
            lines.append(f"- ... {summary['pairs_failed'] - 20} more in summary.json")
        lines.append("")
    lines += ["## Definitions", ""] + [f"- **{k}**: {v}" for k, v in summary.get("definitions", {}).items()]
    path = out / "report.md"
    tmp = out / ".report.md.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
    return path
