"""Scoring throughput: `a2i score` against a per-pair skimage.metrics.structural_similarity loop.

    python benchmarks/bench_score.py                    # 2000 pairs of 256x256 PNGs
    python benchmarks/bench_score.py --pairs 500 --naive-pairs 200

Both sides start from the same PNG files on disk and decode them (Pillow). The naive
loop opens each pair and calls structural_similarity(channel_axis=-1, data_range=255),
one pair at a time, on --naive-pairs pairs (its per-pair rate does not depend on the
count). a2i is timed twice: the whole `a2i score` command in its own process (start-up,
pairing, SSIM + histogram + MSE + PSNR, CSV/JSON/report writing) and the library call
score_pairs alone (decode + all four metrics). Values: the largest |a2i SSIM - skimage
SSIM| over the pairs both scored.
"""
from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def scene(rng, size: int) -> np.ndarray:
    """A smooth colour field with a horizon, a wave and noise: compresses and scores like a scene photo."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = rng.uniform(40, 200, 3) + 50 * np.sin(rng.uniform(2, 9) * xx + rng.uniform(0, 6))[..., None] * rng.uniform(-1, 1, 3)
    img = img + np.where(yy > rng.uniform(0.3, 0.7), -45, 25)[..., None]
    return np.clip(img + rng.normal(0, rng.uniform(2, 20), (size, size, 3)), 0, 255).astype(np.uint8)


def make_pairs(work: Path, n: int, size: int) -> Path:
    """work/data/images/t{i}.png targets, work/gen/g{i}.png generated (a blurred, shifted copy), manifest.csv."""
    from PIL import Image, ImageFilter

    gen = work / "gen"
    if (gen / "manifest.csv").is_file():
        return gen
    (work / "data/images").mkdir(parents=True, exist_ok=True)
    gen.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = ["row,path,IMAGE"]
    for i in range(n):
        t = scene(rng, size)
        Image.fromarray(t).save(work / f"data/images/t{i}.png", compress_level=1)
        g = Image.fromarray(np.clip(t.astype(int) + rng.integers(-30, 30, 3), 0, 255).astype(np.uint8))
        g.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 3))).save(gen / f"g{i:06d}.png", compress_level=1)
        lines.append(f"{i + 1},g{i:06d}.png,images/t{i}.png")
    (gen / "manifest.csv").write_text("\n".join(lines) + "\n")
    return gen


def naive_loop(gen: Path, data: Path, n: int) -> tuple[float, dict[str, float]]:
    import pandas as pd
    from PIL import Image
    from skimage.metrics import structural_similarity

    m = pd.read_csv(gen / "manifest.csv").head(n)
    values = {}
    t0 = time.perf_counter()
    for p, t in zip(m["path"], m["IMAGE"]):
        a = np.asarray(Image.open(gen / p).convert("RGB"))
        b = np.asarray(Image.open(data / t).convert("RGB"))
        values[Path(p).stem] = structural_similarity(a, b, channel_axis=-1, data_range=255)
    return time.perf_counter() - t0, values


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--naive-pairs", type=int, default=300)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import pandas as pd

    from a2i_cli.eval.pairing import pair_images
    from a2i_cli.jobs.score_job import score_pairs
    from a2i_cli.jobs.workers import local_cores

    work = args.work or Path(tempfile.mkdtemp(prefix="a2i-bench-score-"))
    if args.work is None:  # ours: gone at exit, error or not
        atexit.register(shutil.rmtree, work, True)
    gen = make_pairs(work, args.pairs, args.size)
    data = work / "data"
    workers = ["--workers", str(args.workers)] if args.workers else []

    naive_s, naive_vals = naive_loop(gen, data, min(args.naive_pairs, args.pairs))
    naive_rate = len(naive_vals) / naive_s

    out = work / "score_out"
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "a2i_cli.cli", "score", str(gen), str(data), "--out", str(out),
                           "--backend", "local", *workers], cwd=work, env=env, capture_output=True, text=True)
    cli_s = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    pairs = pair_images(gen, data)
    t0 = time.perf_counter()
    frame, _ = score_pairs(pairs, backend="local", workers=args.workers)
    lib_s = time.perf_counter() - t0

    scores = pd.read_csv(out / "scores.csv").set_index("name")["ssim"]
    diff = max(abs(scores[k] - v) for k, v in naive_vals.items())
    res = {
        "pairs": args.pairs, "size": args.size, "cores": args.workers or local_cores(),
        "naive_pairs": len(naive_vals), "naive_pairs_per_s": round(naive_rate, 1),
        "a2i_score_cli_pairs_per_s": round(args.pairs / cli_s, 1),
        "score_pairs_library_pairs_per_s": round(args.pairs / lib_s, 1),
        "speedup_cli": round(args.pairs / cli_s / naive_rate, 1),
        "speedup_library": round(args.pairs / lib_s / naive_rate, 1),
        "max_abs_ssim_difference": float(diff),
    }
    print("| method | pairs | pairs/s | vs skimage loop |\n|---|---:|---:|---:|")
    print(f"| skimage structural_similarity, per pair (1 process) | {res['naive_pairs']} | {res['naive_pairs_per_s']} | 1x |")
    print(f"| `a2i score` command (whole process, {res['cores']} cores) | {args.pairs} | {res['a2i_score_cli_pairs_per_s']} | {res['speedup_cli']}x |")
    print(f"| score_pairs library call ({res['cores']} cores) | {args.pairs} | {res['score_pairs_library_pairs_per_s']} | {res['speedup_library']}x |")
    print(f"\nlargest |a2i SSIM - skimage SSIM| over {len(naive_vals)} pairs: {diff:.2e}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
