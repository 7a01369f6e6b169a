"""A score report for people: report.md with the best, median and worst pairs and a histogram of SSIM.

    write_report(out, frame, summary)  ->  out/report.md, out/examples_{best,median,worst}.png, out/ssim_hist.png

Pictures are drawn with Pillow only (plots.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..core.atomic import write_text
from ..core.images import read_rgb, save_png
from .plots import pair_grid, ssim_histogram
from .score import image_source

if TYPE_CHECKING:  # pandas loads only where a frame is made (not in the workers)
    import pandas as pd

GROUPS = ("best", "median", "worst")


def pick_examples(frame: pd.DataFrame, n: int = 6, metric: str = "ssim") -> dict[str, pd.DataFrame]:
    """The n best, the n around the median and the n worst rows by `metric`."""
    ranked = frame.sort_values(metric, ascending=False, kind="stable").reset_index(drop=True)
    n = min(n, len(ranked))
    mid = max(0, len(ranked) // 2 - n // 2)
    return {"best": ranked.head(n), "median": ranked.iloc[mid : mid + n], "worst": ranked.tail(n).iloc[::-1]}


def _load(rows: pd.DataFrame, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    gens = [read_rgb(image_source(p), size) for p in rows["generated"]]
    tgts = [read_rgb(image_source(p), size) for p in rows["target"]]
    return np.stack(tgts), np.stack(gens)


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
    if "fd" in summary:  # a2i score --classifier: one number for the two sets
        lines += [f"Fréchet distance (FD) of the generated images to the targets, in the features of "
                  f"{summary.get('fd_classifier', 'the classifier')}: {summary['fd']:.3f} (0 = the same distribution, "
                  "lower is better).", ""]
    elif "fd_note" in summary:
        lines += [summary["fd_note"] + ".", ""]
    if len(frame):
        save_png(ssim_histogram(frame["ssim"].to_numpy()), out / "ssim_hist.png", compress_level=1)
        lines += ["## SSIM distribution", "", "![SSIM histogram](ssim_hist.png)", ""]
        with Image.open(image_source(frame["generated"].iloc[0])) as first:
            size = first.size
        for group, rows in pick_examples(frame, n_examples).items():
            try:
                tgts, gens = _load(rows, size)
            except Exception as e:  # a file vanished since scoring: leave the picture out
                lines += [f"## {group.capitalize()} examples", "", f"(not drawn: {type(e).__name__}: {e})", ""]
                continue
            grid = pair_grid(tgts, gens, cols=len(rows), labels=[f"{v:.3f}" for v in rows["ssim"]])
            save_png(grid, out / f"examples_{group}.png", compress_level=1)
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
    return write_text(out / "report.md", "\n".join(lines) + "\n")
