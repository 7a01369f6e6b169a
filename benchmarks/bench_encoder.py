"""The fused engine's encoder (inference/fast_encoder.py) against the eager encoder it replaces, in the same run.

Batch 64 at 256 px, random weights (speed does not depend on them), with and without the sound
recipe's three class encoders: the encoder alone in ms per batch (eager `model.latent` vs
`FastEncoder.latent`), and the whole fused `generate` with either encoder in front of the same
C++ decoder, as images per second. Best of 5 repeats of 10 calls each.

    python benchmarks/bench_encoder.py                 # threads: torch's default
    python benchmarks/bench_encoder.py --threads 1
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from a2i_cli.core.config import IMAGE_SIZES, ModelConfig  # noqa: E402
from a2i_cli.data.normalize import Normalizer  # noqa: E402
from a2i_cli.inference import ops  # noqa: E402
from a2i_cli.inference.cpu import cpu_features, cpu_name  # noqa: E402
from a2i_cli.inference.engine import FusedEngine  # noqa: E402
from a2i_cli.model.checkpoint import Loaded  # noqa: E402
from a2i_cli.model.network import build_model  # noqa: E402


def best_ms(f, calls: int = 10, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        times.append((time.perf_counter() - t0) / calls)
    return min(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--image-size", type=int, default=256)
    args = ap.parse_args()
    if not 0 <= args.threads <= 1024:
        ap.error(f"--threads {args.threads}: give 0 (torch's default) to 1024")
    if not 1 <= args.batch <= 4096:
        ap.error(f"--batch {args.batch}: give 1 to 4096")
    if args.image_size not in IMAGE_SIZES:
        ap.error(f"--image-size {args.image_size}: give 32, 64, 128 or 256")
    if not ops.has_ops():
        ap.error(f"the C++ ops did not load ({ops.ops_reason()}); {ops.BUILD_HINT}")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(args.batch, 104)).astype(np.float32)
    xt = torch.from_numpy(x)
    norm = Normalizer(mean=np.zeros(104, np.float32), std=np.ones(104, np.float32))
    print(f"{cpu_name()} ({platform.machine()}; {', '.join(cpu_features()) or 'no SIMD flags listed'}), {torch.get_num_threads()} threads, {ops.isa()} kernels, "
          f"batch {args.batch}, {args.image_size} px\n")
    print("| model | eager encoder ms | fast encoder ms | x | fused generate, eager encoder | fused generate, fast encoder | x |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for k in (0, 3):
        model = build_model(ModelConfig(arch="a2i", image_size=args.image_size, n_classes=10, class_encoders=k)).eval()
        engine = FusedEngine(Loaded(model, model.cfg, norm, {}, Path("random.pt")))
        with torch.inference_mode():
            eager_enc = best_ms(lambda: model.latent(xt))
            fast_enc = best_ms(lambda: engine.fast.latent(xt))
            fast_gen = best_ms(lambda: engine.generate(x))
            eager_gen = best_ms(lambda: engine._draw_uint8(model.latent(torch.from_numpy(norm(x))).contiguous()))
        rate = lambda ms: f"{args.batch * 1000 / ms:.0f} img/s"  # noqa: E731
        print(f"| class encoders {k} | {eager_enc:.2f} | {fast_enc:.2f} | {eager_enc / fast_enc:.2f}x | {rate(eager_gen)} | "
              f"{rate(fast_gen)} | {eager_gen / fast_gen:.2f}x |")


if __name__ == "__main__":
    main()
