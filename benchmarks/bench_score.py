"""Scoring throughput: `a2i score` against a per-pair skimage.metrics.structural_similarity loop.

    python benchmarks/bench_score.py                    # 2000 pairs of 256x256 PNGs
    python benchmarks/bench_score.py --pairs 500 --naive-pairs 200

Both sides start from the same PNG files on disk and decode them (the loop with Pillow,
a2i with whatever a2i_cli/core/png.py picks). Every measurement runs --repeat times
(rounds of all of them, default 2) and the best of each is reported. The naive
loop opens each pair and calls structural_similarity(channel_axis=-1, data_range=255),
one pair at a time, on --naive-pairs pairs (its per-pair rate does not depend on the
count). a2i is timed twice: the whole `a2i score` command in its own process (start-up,
pairing, SSIM + histogram + MSE + PSNR, CSV/JSON/report writing) and the library call
score_pairs alone (decode + all four metrics). Values: the largest |a2i SSIM - skimage
SSIM| over the pairs both scored. The loop runs once more in a fresh process whose
allocator keeps freed memory (as a2i's workers do): on machines where page faults are
expensive that alone speeds it up, and the run prints a2i against that loop too.
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


def naive_tuned_rate(gen: Path, data: Path, n: int) -> float:
    """Pairs/s of the same loop in a fresh process whose allocator keeps freed memory, as a2i's workers do
    (jobs/workers.keep_freed_memory): how much of the speed-up is a2i avoiding page faults."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
            "from a2i_cli.jobs.workers import keep_freed_memory; keep_freed_memory()\n"
            "from pathlib import Path; from bench_score import naive_loop\n"
            f"s, v = naive_loop(Path({str(gen)!r}), Path({str(data)!r}), {n}); print(len(v) / s)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--naive-pairs", type=int, default=300)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=2, help="rounds of every measurement; the best of each is kept")
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

    n_naive = min(args.naive_pairs, args.pairs)
    out = work / "score_out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    naive_rate = cli_rate = lib_rate = tuned_rate = 0.0
    for _ in range(args.repeat):  # rounds of everything, best of each: the machine is shared
        naive_s, naive_vals = naive_loop(gen, data, n_naive)
        naive_rate = max(naive_rate, len(naive_vals) / naive_s)
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "a2i_cli.cli", "score", str(gen), str(data), "--out", str(out),
                               "--backend", "local", *workers], cwd=work, env=env, capture_output=True, text=True)
        cli_rate = max(cli_rate, args.pairs / (time.perf_counter() - t0))
        if proc.returncode:
            sys.exit(proc.stderr[-3000:])
        t0 = time.perf_counter()
        frame, _ = score_pairs(pair_images(gen, data), backend="local", workers=args.workers)
        lib_rate = max(lib_rate, args.pairs / (time.perf_counter() - t0))
        tuned_rate = max(tuned_rate, naive_tuned_rate(gen, data, n_naive))

    scores = pd.read_csv(out / "scores.csv").set_index("name")["ssim"]
    diff = max(abs(scores[k] - v) for k, v in naive_vals.items())
    res = {
        "pairs": args.pairs, "size": args.size, "cores": args.workers or local_cores(),
        "naive_pairs": len(naive_vals), "naive_pairs_per_s": round(naive_rate, 1),
        "rounds": args.repeat,
        "a2i_score_cli_pairs_per_s": round(cli_rate, 1),
        "score_pairs_library_pairs_per_s": round(lib_rate, 1),
        "speedup_cli": round(cli_rate / naive_rate, 1),
        "speedup_library": round(lib_rate / naive_rate, 1),
        "max_abs_ssim_difference": float(diff),
        "naive_tuned_malloc_pairs_per_s": round(tuned_rate, 1),
        "speedup_cli_vs_tuned_naive": round(cli_rate / tuned_rate, 1),
    }
    print(f"best of {args.repeat} rounds:\n")
    print("| method | pairs | pairs/s | vs skimage loop |\n|---|---:|---:|---:|")
    print(f"| skimage structural_similarity, per pair (1 process) | {res['naive_pairs']} | {res['naive_pairs_per_s']} | 1x |")
    print(f"| `a2i score` command (whole process, {res['cores']} cores) | {args.pairs} | {res['a2i_score_cli_pairs_per_s']} | {res['speedup_cli']}x |")
    print(f"| score_pairs library call ({res['cores']} cores) | {args.pairs} | {res['score_pairs_library_pairs_per_s']} | {res['speedup_library']}x |")
    print(f"\nlargest |a2i SSIM - skimage SSIM| over {len(naive_vals)} pairs: {diff:.2e}")
    print(f"the skimage loop in a process that keeps freed memory as a2i's workers do: {res['naive_tuned_malloc_pairs_per_s']}"
          f" pairs/s ({tuned_rate / naive_rate:.2f}x the plain loop); `a2i score` = {res['speedup_cli_vs_tuned_naive']}x that")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
