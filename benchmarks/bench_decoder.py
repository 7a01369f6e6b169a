"""Decoder throughput on CPU: eager vs stock variants vs the fused C++ op, side by side.

    python benchmarks/bench_decoder.py [--batches 1,16,64,256] [--compile] [--layers] [--json FILE]

Every variant maps z (B, latent) to the uint8 image (B, S, S, 3), i.e. what the engine
returns. Prints images/s (best of the repeats, median alongside), the ratio to eager and
the share of the compute limit: decoder FLOPs per image (valid transposed-conv taps, from
the layer shapes) times images/s over the torch.mm GFLOP/s measured in the same run (best
of 10 at the start and again at the end; the summary uses the higher, the rows the first).
Every variant runs with the allocator settings of a2i's own processes (freed memory kept for
reuse, jobs/workers.py: keep_freed_memory); --fresh-memory runs with glibc's defaults.

The fused op is timed once per kernel variant this CPU runs (avx512, avx2, generic = plain
x86-64, neon), switched in-process (A2I_ISA=<variant> times that variant alone, through the same
switch the library uses); ONNX Runtime is timed when installed
(pip install -e ".[onnx]"), torch.compile with --compile. A summary at the end gives each
fused variant against eager, ONNX Runtime and torch.mm at batch 64 (else the largest batch).

--layers also compares, layer by layer, the fused op's own time in each layer
(a2i::decoder_layer_times) with the lower bound of the other design: the same layer as
torch.mm (the BLAS torch ships) of the im2col matrix by the packed weights, 4 output
parities, with no im2col, bias, activation or layout cost counted.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("A2I_SIM_VARIANTS", None)  # avx512sim (a test-only variant that spills by design) is never timed

from a2i_cli.core.config import ModelConfig  # noqa: E402
from a2i_cli.inference import ops  # noqa: E402
from a2i_cli.inference.cpu import cpu_features, cpu_name  # noqa: E402
from a2i_cli.inference.engine import fold_decoder  # noqa: E402
from a2i_cli.jobs.workers import keep_freed_memory  # noqa: E402
from a2i_cli.model.network import LEAKY_SLOPE, build_model, decoder_channels, to_uint8  # noqa: E402


def decoder_flops(latent: int, size: int) -> int:
    """2 * multiply-adds of the valid taps: an input of side H gives (4H - 2)^2 taps per (cin, cout)."""
    chans = decoder_channels(latent, size)
    return sum(2 * (4 * 2**i - 2) ** 2 * cin * cout for i, (cin, cout) in enumerate(zip(chans[:-1], chans[1:])))


def mm_gflops(n: int = 2048, repeats: int = 10) -> float:
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
        print('note: onnxruntime is not installed (pip install -e ".[onnx]"); skipping the ONNX Runtime variant',
              file=sys.stderr)
    if ops.has_ops():
        weights, biases = fold_decoder(model)
        packed = [ops.pack_weight(w) for w in weights]
        forced = os.environ.get("A2I_ISA", "")
        if ops.isa_request_note():
            print(f"note: {ops.isa_request_note()}", file=sys.stderr)
        # one block per kernel variant this CPU runs; A2I_ISA=<variant> measures that one alone
        for isa in [forced] if forced in ops.isa_list() else ops.isa_list():
            def fused(z, isa=isa):
                ops.use_isa(isa)
                return ops.decoder(z, packed, biases, LEAKY_SLOPE, True)

            out[f"fused {isa} (a2i::decoder)"] = fused
    else:
        print(f"note: fused op not built ({ops.ops_reason()}); {ops.BUILD_HINT}", file=sys.stderr)
    return out


def onnx_variant(model, latent: int, args):
    import numpy as np
    import onnxruntime as ort

    from a2i_cli.inference.onnx_export import export_module

    # a2i's own exporter (dynamo, dynamic batch); ONNX Runtime's default session options (spinning threads),
    # its strongest setting on a quiet machine, so that the baseline is not weakened
    proto = export_module(ToImage(Folded(model)), latent, input_name="z", output_name="img")
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(proto.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return lambda z: torch.from_numpy(np.asarray(sess.run(None, {"z": z.numpy()})[0]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", default="1,16,64,256", help="comma-separated batch sizes")
    p.add_argument("--size", type=int, default=256, help="image size (32, 64, 128 or 256)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--repeats", type=int, default=5, help="minimum timed runs per cell")
    p.add_argument("--budget", type=float, default=1.5, help="seconds of extra repeats per cell")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (slow to build)")
    p.add_argument("--layers", action="store_true", help="also compare each layer with torch.mm's lower bound")
    p.add_argument("--json", type=Path, help="write the numbers to this file")
    p.add_argument("--fresh-memory", action="store_true",
                   help="glibc's default allocator settings (a2i's processes keep freed memory for reuse)")
    args = p.parse_args()
    if not args.fresh_memory:  # as every a2i process runs: the same for every variant
        keep_freed_memory()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = ModelConfig(image_size=args.size)
    model = build_model(cfg).eval()
    flops = decoder_flops(cfg.latent, args.size)
    peak = mm_gflops()
    load = os.getloadavg()[0]
    cpu = f"{cpu_name()} ({platform.machine()}; {', '.join(cpu_features()) or 'no SIMD flags listed'})"
    print(f"CPU {cpu}; kernel variants it runs: {', '.join(ops.isa_list()) or 'none (ops not built)'}")
    print(f"torch {torch.__version__}, {args.threads} threads; torch.mm {peak:.1f} GFLOP/s; "
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
    if ops.has_ops():
        ops.use_isa(ops.isa_list()[0])
    # torch.mm again at the end: a busy moment at the start must not make the shares look high
    again = mm_gflops()
    if again > peak:
        print(f"\ntorch.mm measured {again:.1f} GFLOP/s at the end (vs {peak:.1f} at the start): shares use {again:.1f}")
        for r in rows:
            r["compute_share"] *= peak / again
        peak = again
    summary(rows, peak)
    layers = layer_table(model, args, peak) if args.layers else []
    if args.json:
        args.json.write_text(json.dumps({"torch": torch.__version__, "threads": args.threads, "cpu": cpu,
                                         "isa_list": ops.isa_list(), "mm_gflops": peak, "load_average": load,
                                         "decoder_mflop": flops / 1e6, "size": args.size, "rows": rows,
                                         "layers": layers}, indent=1))


def summary(rows: list[dict], peak: float) -> None:
    """Each fused variant at batch 64 (else the largest): x eager, x ONNX Runtime, share of torch.mm, batch-1 latency."""
    batches = {r["batch"] for r in rows}
    big = 64 if 64 in batches else max(batches)
    at = {r["variant"]: r for r in rows if r["batch"] == big}
    one = {r["variant"]: r for r in rows if r["batch"] == 1}
    onnx = at.get("onnxruntime")
    print(f"\nsummary, batch {big} (torch.mm {peak:.1f} GFLOP/s in this run):")
    for name, r in at.items():
        if not name.startswith("fused"):
            continue
        vs_onnx = f"{r['images_per_s'] / onnx['images_per_s']:5.2f}x onnxruntime" if onnx else "(no onnxruntime)"
        lat = ""
        if name in one:
            ort1 = one.get("onnxruntime")
            lat = f"; batch 1 {one[name]['latency_ms']:.2f} ms" + (f" vs onnxruntime {ort1['latency_ms']:.2f} ms" if ort1 else "")
        print(f"  {name:34s} {r['images_per_s']:8.1f} img/s  {r['vs_eager']:5.2f}x eager  {vs_onnx}  "
              f"{100 * r['compute_share']:5.1f}% of torch.mm{lat}")


def layer_table(model, args, peak: float) -> list[dict]:
    """Per layer at batch 64 (else the largest): the fused op's own time per layer vs torch.mm's lower bound."""
    batches = {int(b) for b in args.batches.split(",")}
    batch = 64 if 64 in batches else max(batches)
    weights, biases = fold_decoder(model)
    packed = [ops.pack_weight(w) for w in weights]
    chans = [w.shape[0] for w in weights] + [weights[-1].shape[1]]
    z = torch.randn(batch, chans[0])
    print(f"\nper layer, batch {batch}: the fused op's time in each layer (a2i::decoder_layer_times; best of "
          f"{args.repeats}) vs the BLAS design's lower bound (torch.mm of the im2col matrix by the packed weights, "
          f"4 parities; im2col, bias, activation and layout not counted); % = share of torch.mm")
    fused = {}
    with torch.inference_mode():
        for isa in ops.isa_list():
            ops.use_isa(isa)
            runs = [ops.decoder_layer_times(z, packed, biases, LEAKY_SLOPE, True) for _ in range(args.repeats + 1)][1:]
            fused[isa] = [min(r[i] for r in runs) for i in range(len(weights))]
        out = []
        for i in range(len(weights)):
            h, cin, cout = 2**i, chans[i], chans[i + 1]
            fl = 2 * (4 * h - 2) ** 2 * cin * cout * batch
            a, wm = torch.randn(batch * h * h, 4 * cin), torch.randn(4 * cin, cout)
            row = {"layer": i, "shape": f"{cin}x{h}x{h} -> {cout}x{2 * h}x{2 * h}", "mflop": fl / 1e6,
                   "mm_ms": 4e3 * min(timeit(lambda: torch.mm(a, wm), args.repeats, 0.3))}
            share = lambda ms: 100 * fl / (ms / 1e3) / peak / 1e9  # noqa: E731
            cells = [f"torch.mm {row['mm_ms']:7.2f} ms ({share(row['mm_ms']):3.0f}%)"]
            for isa, t in fused.items():
                row[f"{isa}_ms"] = 1e3 * t[i]
                cells.append(f"fused {isa} {1e3 * t[i]:7.2f} ms ({share(1e3 * t[i]):3.0f}%)")
            print(f"  L{i} {row['shape']:24s} " + "  ".join(cells), flush=True)
            out.append(row)
    if ops.has_ops():
        ops.use_isa(ops.isa_list()[0])
    return out


if __name__ == "__main__":
    main()
