"""Spoken digit -> handwritten digit: a scene-schema dataset from real recordings and real digits.

Each Free Spoken Digit Dataset recording `{digit}_{speaker}_{index}.wav` (8 kHz) is paired
with a handwritten MNIST image of the same digit (the k-th image of that digit in
mnist/mnist_digits_a.npz, k = speaker number * 50 + index: deterministic, and no two
recordings share a picture), upscaled to the image size. CLASS2 is the digit's name
(ZERO..NINE), CLASS1 the speaker, and IMAGE is images/<speaker>/<recording>.png, so the
folders are the speakers and `a2i prepare --split source` holds out whole speakers.

It goes through `a2i extract audio` (a pairs.csv and the library call), so the whole
pipeline runs on real data:

    python examples/spoken_digits.py runs/digits_data            # data from ../shared/data
    a2i prepare runs/digits_data --class all --split source --image-size 64
    a2i train runs/prepare/all --epochs 20

Nothing from the shared data is copied into the repository: everything goes to OUT
(OUT/sources/ holds the MNIST digits as PNG files for the pairs file).
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DIGITS = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"]
TAKES = 50  # FSDD: 50 takes of each digit by each speaker
NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)$")


def write_pairs(data: Path, out: Path, takes: int | None = None) -> tuple[Path, int]:
    """OUT/pairs.csv (audio,image,CLASS1,CLASS2,IMAGE) and OUT/sources/mnist/*.png; returns (path, rows)."""
    fsdd, npz = data / "fsdd", data / "mnist" / "mnist_digits_a.npz"
    if not fsdd.is_dir() or not npz.is_file():
        # SystemExit, not UserError: this script runs before a2i_cli is imported
        raise SystemExit(f"error: {data} must hold fsdd/ and mnist/mnist_digits_a.npz (see shared/data/README.md)")
    mnist = np.load(npz)
    images, labels = mnist["images"], mnist["labels"]
    by_digit = {d: np.flatnonzero(labels == d) for d in range(10)}
    recordings = []
    for wav in sorted(fsdd.glob("*.wav")):
        m = NAME.match(wav.stem)
        if m and (takes is None or int(m.group(3)) < takes):
            recordings.append((wav, int(m.group(1)), m.group(2), int(m.group(3))))
    speakers = sorted({r[2] for r in recordings})
    src = out / "sources" / "mnist"
    src.mkdir(parents=True, exist_ok=True)
    pairs = out / "pairs.csv"
    with open(pairs, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["audio", "image", "CLASS1", "CLASS2", "IMAGE"])
        for wav, digit, speaker, index in recordings:
            k = (speakers.index(speaker) * TAKES + index) % len(by_digit[digit])
            i = int(by_digit[digit][k])
            png = src / f"mnist_{i:04d}.png"
            if not png.exists():
                Image.fromarray(images[i], "L").save(png)  # 28 x 28, white on black
            w.writerow([str(wav.resolve()), str(png.relative_to(out)), speaker, DIGITS[digit], f"images/{speaker}/{wav.stem}.png"])
    return pairs, len(recordings)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="dataset folder to write (dataset.csv, dataset.json, images/, pairs.csv, sources/)")
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data", help="the shared data folder (default ../shared/data)")
    ap.add_argument("--image-size", type=int, default=256, help="side of the square images (MNIST's 28 px are upscaled)")
    ap.add_argument("--window", default="sound", choices=["sound", "second"],
                    help="where the 8 MFCC windows sit (a2i extract audio --window): over the sound, or its first second")
    ap.add_argument("--takes", type=int, default=None, help="only the first N takes of each digit by each speaker (a quick subset)")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from a2i_cli.core.config import ExtractConfig
    from a2i_cli.core.errors import UserError
    from a2i_cli.media.extract_pairs import extract_pairs

    t0 = time.perf_counter()
    pairs, n = write_pairs(args.data.resolve(), args.out, args.takes)
    try:
        report = extract_pairs(pairs, ExtractConfig(out=args.out, image_size=args.image_size, window=args.window))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for b in report.bad:
        print(f"bad: {b}", file=sys.stderr)
    print(
        f"{args.out / 'dataset.csv'}: {report.added} rows added, {report.already} already there, {len(report.bad)} bad "
        f"({n} recordings, {time.perf_counter() - t0:.1f} s)\n"
        f"next: a2i prepare {args.out} --class all --split source --image-size {min(args.image_size, 256)}"
    )
    return 1 if report.bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
