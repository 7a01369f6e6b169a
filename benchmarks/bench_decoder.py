"""Decoder throughput on CPU: eager vs stock variants vs the fused C++ op, side by side.

    python benchmarks/bench_decoder.py [--batches 1,16,64,256] [--compile] [--json FILE]

Every variant maps z (B, latent) to the uint8 image (B, S, S, 3), i.e. what the engine
returns. Prints images/s (best of the repeats, median alongside), the ratio to eager and
the share of the compute limit: decoder FLOPs per image (valid transposed-conv taps, from
the layer shapes) times images/s over the torch.mm GFLOP/s measured in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from a2i_cli.core.config import ModelConfig  # noqa: E402
from a2i_cli.inference import ops  # noqa: E402
from a2i_cli.inference.engine import fold_decoder  # noqa: E402
from a2i_cli.model.network import LEAKY_SLOPE, build_model, decoder_channels, to_uint8  # noqa: E402


def decoder_flops(latent: int, size: int) -> int:
    """2 * multiply-adds of the valid taps: an input of side H gives (4H - 2)^2 taps per (cin, cout)."""
    chans = decoder_channels(latent, size)
    return sum(2 * (4 * 2**i - 2) ** 2 * cin * cout for i, (cin, cout) in enumerate(zip(chans[:-1], chans[1:])))


def mm_gflops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = min(timeit(lambda: a @ b, repeats, 0.0))
    return 2 * n**3 / best / 1e9


def timeit(fn, repeats: int, budget_s: float) -> list[float]:
    fn()  # warm-up (allocations, lazy init, compilation)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - start < budget_s and len(times) < 50):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


class Folded(nn.Module):
    """Best stock PyTorch: BatchNorm folded into the convolutions, channels_last, inplace acts."""

    def __init__(self, model: nn.Module):
        super().__init__()
        weights, biases = fold_decoder(model)
        self.convs = nn.ModuleList()
        for w, b in zip(weights, biases):
            conv = nn.ConvTranspose2d(w.shape[0], w.shape[1], 4, 2, 1)
            conv.weight.data.copy_(w)
            conv.bias.data.copy_(b)
            self.convs.append(conv)
        self.to(memory_format=torch.channels_last)

    def forward(self, z):
        x = z[:, :, None, None].contiguous(memory_format=torch.channels_last)
        for i, conv in enumerate(self.convs):
            x = conv(x)
            x = torch.tanh_(x) if i == len(self.convs) - 1 else torch.nn.functional.leaky_relu_(x, LEAKY_SLOPE)
        return x


class ToImage(nn.Module):
    def __init__(self, decoder: nn.Module):
        super().__init__()
        self.decoder = decoder

    def forward(self, z):
        return to_uint8(self.decoder(z))


def variants(model, latent: int, args) -> dict:
    out = {"eager": ToImage(model.decoder).eval(), "stock (BN folded, channels_last)": ToImage(Folded(model)).eval()}
    if args.compile:
        out["torch.compile"] = torch.compile(ToImage(Folded(model)).eval())
    ex = torch.export.export(
        ToImage(model.decoder).eval(), (torch.randn(2, latent),),
        dynamic_shapes={"z": {0: torch.export.Dim("batch", min=1, max=4096)}},
    )
    out["torch.export"] = ex.module()
    try:
        import onnxruntime as ort  # noqa: F401

        out["onnxruntime"] = onnx_variant(model, latent, args)
    except ImportError:
        print("note: onnxruntime is not installed; skipping the ONNX Runtime variant", file=sys.stderr)
    if ops.has_ops():
        weights, biases = fold_decoder(model)
        packed = [ops.pack_weight(w) for w in weights]
        out["fused (a2i::decoder)"] = lambda z: ops.decoder(z, packed, biases, LEAKY_SLOPE, True)
    else:
        print(f"note: fused op not built ({ops.ops_reason()}); {ops.BUILD_HINT}", file=sys.stderr)
    return out


def onnx_variant(model, latent: int, args):
    import io

    import numpy as np
    import onnxruntime as ort

    buf = io.BytesIO()
    torch.onnx.export(ToImage(Folded(model)).eval(), (torch.randn(2, latent),), buf, input_names=["z"],
                      output_names=["img"], dynamic_axes={"z": {0: "b"}, "img": {0: "b"}})
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(buf.getvalue(), so, providers=["CPUExecutionProvider"])
    return lambda z: torch.from_numpy(np.asarray(sess.run(None, {"z": z.numpy()})[0]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", default="1,16,64,256", help="comma-separated batch sizes")
    p.add_argument("--size", type=int, default=256, help="image size (32, 64, 128 or 256)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--repeats", type=int, default=5, help="minimum timed runs per cell")
    p.add_argument("--budget", type=float, default=1.5, help="seconds of extra repeats per cell")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (slow to build)")
    p.add_argument("--json", type=Path, help="write the numbers to this file")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = ModelConfig(image_size=args.size)
    model = build_model(cfg).eval()
    flops = decoder_flops(cfg.latent, args.size)
    peak = mm_gflops()
    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, {args.threads} threads, kernels: {ops.isa()}; torch.mm {peak:.1f} GFLOP/s; "
          f"decoder {flops / 1e6:.1f} MFLOP/image at {args.size}x{args.size}; load average {load:.1f} "
          f"on {os.cpu_count()} CPUs (other jobs make every number noisy)")
    rows = []
    with torch.inference_mode():
        fns = variants(model, cfg.latent, args)
        for batch in [int(b) for b in args.batches.split(",")]:
            z = torch.randn(batch, cfg.latent)
            ref = fns["eager"](z)
            eager_ips = None
            for name, fn in fns.items():
                out = fn(z)
                max_diff = int((out.int() - ref.int()).abs().max())
                times = timeit(lambda: fn(z), args.repeats, args.budget)
                ips, med = batch / min(times), batch / statistics.median(times)
                eager_ips = eager_ips or ips
                share = ips * flops / (peak * 1e9)
                rows.append(dict(variant=name, batch=batch, images_per_s=ips, images_per_s_median=med,
                                 vs_eager=ips / eager_ips, compute_share=share, latency_ms=1e3 * min(times),
                                 max_u8_diff=max_diff))
                print(f"batch {batch:4d}  {name:34s} {ips:9.1f} img/s (median {med:8.1f})  "
                      f"{ips / eager_ips:5.2f}x eager  {100 * share:5.1f}% of mm  {1e3 * min(times):8.2f} ms  "
                      f"max|diff| {max_diff}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"torch": torch.__version__, "threads": args.threads, "isa": ops.isa(),
                                         "mm_gflops": peak, "load_average": load, "decoder_mflop": flops / 1e6, "size": args.size,
                                         "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
