"""PNG encoders and decoders a user could have: speed, file size, and whether Pillow reads back the same pixels.

    python benchmarks/bench_png.py                  # 64 scene-like 256x256 images, best of 5 rounds
    python benchmarks/bench_png.py --images 32 --rounds 3 --json png.json

Images: bench_score.scene() (a smooth colour field, a horizon, a wave and per-pixel noise of
2-20 levels: compresses like a photo) and the same blurred (Gaussian, radius 1.5: like a
generated image). Every codec that is importable here is timed, the others are listed as
missing: install them to compare (`pip install fpng imagecodecs opencv-python-headless
pyspng pyvips pyvips-binary isal deflate zlib-ng`).

Rounds are interleaved (codec A, B, C, ... then again), and each codec's best round is
kept: the machine is shared, so a codec is not penalised for the moment it ran. One core,
one thread (OpenCV's own threads are turned off). "same" checks that Pillow decodes the
encoded file to exactly the input pixels (encoders) or that the decoder returns exactly
Pillow's pixels (decoders). A decoder must also refuse what Pillow refuses: each gets 300
randomly damaged copies of four files (a flipped bit, an overwritten byte, a cut), and
the table counts those it returned pixels for while Pillow raised. The a2i rows are
a2i_cli/core/png.py: what batch-generate and score use.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def pillow_encode(level):
    from PIL import Image

    def f(img):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG", compress_level=level)
        return buf.getvalue()
    return f


def pillow_decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def up_filtered_png(compress):
    """A PNG writer with every row Up-filtered and `compress` making the zlib stream (the a2i writer's shape)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def f(img):
        h, w, _ = img.shape
        rows = img.reshape(h, w * 3)
        raw = np.empty((h, w * 3 + 1), np.uint8)
        raw[:, 0] = 2
        raw[0, 1:] = rows[0]
        np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", compress(raw.tobytes())) + chunk(b"IEND", b""))
    return f


def encoders() -> tuple[dict, list[str]]:
    """{name: (H, W, 3) uint8 -> PNG bytes} of every encoder importable here, and the names of those missing."""
    from a2i_cli.core import png

    enc = {"Pillow level 1 (zlib-ng; a2i without the fast extra)": pillow_encode(1),
           "Pillow level 0 (stored, no compression)": pillow_encode(0),
           "Pillow level 6 (its default)": pillow_encode(6)}
    missing = []
    if png._isal is not None:
        enc["a2i: Up filter + isal level 1 (a2i[fast])"] = png.encode_png
    else:
        missing.append("isal")

    def add(module, name, make):
        try:
            mod = __import__(module)
            enc[name] = make(mod)
        except Exception:  # noqa: BLE001 - not installed or broken: listed as missing
            missing.append(module)

    add("fpng", "fpng (py-fpng-nb)", lambda m: m.from_ndarray)
    add("imagecodecs", "imagecodecs png_encode level 1 (libpng)", lambda m: lambda i: m.png_encode(i, level=1))
    add("imagecodecs", "imagecodecs spng_encode level 1 (libspng)", lambda m: lambda i: m.spng_encode(i, level=1))

    def cv2_enc(cv2, strategy=None):
        cv2.setNumThreads(1)
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1] + ([cv2.IMWRITE_PNG_STRATEGY, strategy] if strategy is not None else [])
        return lambda i: cv2.imencode(".png", cv2.cvtColor(i, cv2.COLOR_RGB2BGR), params)[1].tobytes()

    add("cv2", "OpenCV imencode level 1 (RGB->BGR included)", cv2_enc)
    add("cv2", "OpenCV imencode level 1, Z_RLE", lambda cv2: cv2_enc(cv2, cv2.IMWRITE_PNG_STRATEGY_RLE))
    add("pyvips", "pyvips pngsave_buffer compression 1", lambda m: lambda i: m.Image.new_from_memory(
        i.tobytes(), i.shape[1], i.shape[0], 3, "uchar").pngsave_buffer(compression=1))
    try:
        from zlib_ng import zlib_ng
        enc["Up filter + zlib-ng level 1 (python zlib-ng)"] = up_filtered_png(lambda d: zlib_ng.compress(d, 1))
    except ImportError:
        missing.append("zlib_ng")
    add("deflate", "Up filter + libdeflate level 1 (deflate)", lambda m: up_filtered_png(lambda d: m.zlib_compress(d, 1)))
    return enc, sorted(set(missing))


def decoders() -> tuple[dict, list[str]]:
    """{name: PNG bytes -> (H, W, 3) uint8 RGB} of every decoder importable here, and the names of those missing."""
    from a2i_cli.core import images

    dec = {"Pillow (a2i without the fast extra)": pillow_decode,
           "a2i read_rgb (imagecodecs' libspng with a2i[fast])": lambda b: images.read_rgb(io.BytesIO(b))}
    missing = []

    def add(module, name, make):
        try:
            dec[name] = make(__import__(module))
        except Exception:  # noqa: BLE001
            missing.append(module)

    add("pyspng", "pyspng load (libspng)", lambda m: m.load)
    add("imagecodecs", "imagecodecs png_decode (libpng)", lambda m: m.png_decode)
    add("imagecodecs", "imagecodecs spng_decode (libspng)", lambda m: m.spng_decode)

    def cv2_dec(cv2):
        cv2.setNumThreads(1)
        return lambda b: cv2.cvtColor(cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    add("cv2", "OpenCV imdecode (BGR->RGB included)", cv2_dec)
    add("pyvips", "pyvips new_from_buffer", lambda m: lambda b: m.Image.new_from_buffer(b, "").numpy())
    return dec, sorted(set(missing))


def damaged_decoded(decode, files: list[bytes], trials: int = 300) -> int:
    """How many randomly damaged copies of `files` (a flipped bit, an overwritten byte, a cut) `decode` returns
    pixels for where Pillow raises: a decoder that does is not a stand-in for Pillow."""
    rng = np.random.default_rng(1)
    wrong = 0
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # libpng (OpenCV, pyvips) prints a line for every damaged file
    try:
        wrong = _damaged_decoded(decode, files, trials, rng)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return wrong


def _damaged_decoded(decode, files, trials, rng) -> int:
    wrong = 0
    for trial in range(trials):
        data = bytearray(files[trial % len(files)])
        i = int(rng.integers(8, len(data)))
        if trial % 3 == 0:
            data[i] ^= 1 << int(rng.integers(0, 8))
        elif trial % 3 == 1:
            data[i] = int(rng.integers(0, 256))
        else:
            data = data[:i]
        try:
            decode(bytes(data))
        except Exception:  # noqa: BLE001 - refused: fine
            continue
        try:
            pillow_decode(bytes(data))
        except Exception:  # noqa: BLE001
            wrong += 1
    return wrong


def make_images(n: int, size: int) -> dict[str, list[np.ndarray]]:
    from bench_score import scene
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    sharp = [scene(rng, size) for _ in range(n)]
    blurred = [np.asarray(Image.fromarray(s).filter(ImageFilter.GaussianBlur(1.5))) for s in sharp]
    return {"scene": sharp, "blurred scene": blurred}


def best_of(jobs: dict, items: list, rounds: int) -> dict[str, float]:
    """Seconds per item of each job (best round), rounds interleaved across jobs."""
    best = {name: float("inf") for name in jobs}
    for _ in range(rounds):
        for name, f in jobs.items():
            t0 = time.perf_counter()
            for x in items:
                f(x)
            best[name] = min(best[name], (time.perf_counter() - t0) / len(items))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=64, help="images per set")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; each codec's best is kept")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    enc, enc_missing = encoders()
    dec, dec_missing = decoders()
    ref_enc, ref_dec = next(iter(enc)), next(iter(dec))
    report = {"encoders": {}, "decoders": {}, "missing": sorted(set(enc_missing + dec_missing))}
    for set_name, imgs in make_images(args.images, args.size).items():
        files, same = {}, {}
        for name, f in dict(enc).items():
            try:
                files[name] = [f(i) for i in imgs]
            except Exception as e:  # noqa: BLE001
                print(f"{name}: failed ({type(e).__name__}: {e})")
                continue
            same[name] = all(np.array_equal(pillow_decode(b), i) for b, i in zip(files[name], imgs))
        t = best_of({n: enc[n] for n in files}, imgs, args.rounds)
        ref_kb = np.mean([len(b) for b in files[ref_enc]]) / 1024
        print(f"\nencoding {len(imgs)} {set_name} images {args.size}x{args.size}x3, one core, best of {args.rounds}:\n")
        print("| encoder | ms/image | x Pillow level 1 | KB | size vs Pillow level 1 | Pillow reads the same pixels |")
        print("|---|---:|---:|---:|---:|---|")
        for name in files:
            kb = np.mean([len(b) for b in files[name]]) / 1024
            row = {"ms": round(t[name] * 1e3, 3), "speedup": round(t[ref_enc] / t[name], 2), "kb": round(kb, 1),
                   "size_ratio": round(kb / ref_kb, 3), "same": same[name]}
            report["encoders"].setdefault(set_name, {})[name] = row
            print(f"| {name} | {row['ms']:.3f} | {row['speedup']:.1f}x | {row['kb']:.1f} | {row['size_ratio']:.2f} | "
                  f"{'yes' if row['same'] else 'NO'} |")

        pillow_files = files[ref_enc]
        want = [pillow_decode(b) for b in pillow_files]
        ok = {}
        for name, f in dict(dec).items():
            try:
                ok[name] = all(np.array_equal(f(b), w) for b, w in zip(pillow_files, want))
            except Exception as e:  # noqa: BLE001
                print(f"{name}: failed ({type(e).__name__}: {e})")
        t = best_of({n: dec[n] for n in ok}, pillow_files, args.rounds)
        own = [name for name in files if name.startswith("a2i")]
        t_own = best_of({n: dec[n] for n in ok}, files[own[0]], args.rounds) if own else {}
        print(f"\ndecoding the Pillow level 1 files of these {set_name} images ({ref_kb:.0f} KB), one core, best of "
              f"{args.rounds}{'; last column: the files a2i[fast] writes' if own else ''}:\n")
        print("| decoder | ms/image | x Pillow | same pixels as Pillow | damaged files decoded that Pillow refuses |"
              + (" ms/image, a2i's files |" if own else ""))
        print("|---|---:|---:|---|---:|" + ("---:|" if own else ""))
        for name in ok:
            row = {"ms": round(t[name] * 1e3, 3), "speedup": round(t[ref_dec] / t[name], 2), "same": ok[name],
                   "damaged_decoded": damaged_decoded(dec[name], pillow_files[:4])}
            if own:
                row["ms_a2i_files"] = round(t_own[name] * 1e3, 3)
            report["decoders"].setdefault(set_name, {})[name] = row
            print(f"| {name} | {row['ms']:.3f} | {row['speedup']:.2f}x | {'yes' if row['same'] else 'NO'} | "
                  f"{row['damaged_decoded']} of 300 |" + (f" {row['ms_a2i_files']:.3f} |" if own else ""))
    if report["missing"]:
        print(f"\nnot installed here (not timed): {', '.join(report['missing'])}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
