"""`--engine auto`: the fastest engine measured on this CPU among those that can run here.

    choice = auto_engine(image_size=256, latent=128)
    choice.engine    "fused", "onnx" or "eager"
    choice.reason    why, for summaries and `a2i env`: "avx2 kernels, 15.3x eager on this CPU; ONNX Runtime 2.1x"
    choice.speedups  {"fused": 15.3, "onnx": 2.1}: eager's time / each engine's time

The candidates are eager, fused where the C++ ops load and onnx where the a2i[onnx] extra is
installed (`candidates()`). The fused op is compiled for several instruction sets and is many
times faster than eager on the CPUs it was tuned on, but a CPU nobody measured (or a kernel
variant that loses on it) could make it slower, and ONNX Runtime's speed differs from CPU to
CPU too. So the first time this machine runs a decoder of a given shape, auto times every
candidate on random weights with this process's thread count, in the same interleaved rounds
(a spike of load on a shared machine hits them alike), on one batch of SAMPLES images at
256x256 (as many pixels at smaller sizes: a batch, not one call's overhead, is what the
engines run), and keeps the fastest: about 0.2 s for fused at 256x256, plus a few
seconds for onnx (the decoder is exported to ONNX first). The result is remembered per CPU
model, kernel variant, build of the extension, torch and ONNX Runtime versions, threads,
candidates and decoder shape in $XDG_CACHE_HOME/a2i/engine-choice.json (default
~/.cache/a2i); a file that cannot be read or written only means measuring again. A measurement
taken while the machine is busy (1-minute load above its cores) is used for that run only:
load skews engines unequally (once here: onnx measured 3x fused under load, 0.3x on a quiet machine).
So is one whose three measurements disagree (another winner, or a ratio moving more than 2x): once here a
single measurement put ONNX Runtime at 34x eager and 3x fused on a quiet machine, where it runs at 1.5x
and 0.2x.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import __version__
from . import onnx_export, ops
from .cpu import cpu_name

CACHE_VERSION = 2  # 2: one speedup per candidate engine, measured in the same interleaved rounds
SAMPLES = 4  # images per timed call at 256x256: enough to time, cheap for eager (smaller sizes: as many pixels)
ROUNDS = 5
MEASUREMENTS = 3  # each of ROUNDS interleaved timings; the medians decide
UNSTEADY = 2.0  # an engine's ratio to eager moving more than this between measurements: not remembered
MAX_AGE_DAYS = 30
MAX_CACHE_BYTES = 1 << 20


@dataclass(frozen=True)
class AutoChoice:
    engine: str  # "fused", "onnx" or "eager"
    reason: str  # why, in a few words (the engine's name not included)
    speedup: float | None = None  # eager time / fused time, when measured
    speedups: dict = field(default_factory=dict)  # engine -> eager time / its time, for each one measured
    remembered: bool = False  # the choice is in the cache (read from it, or written to it): the next run will not measure


def candidates() -> list[str]:
    """The engines auto compares here: eager, fused where the C++ ops load, onnx where the a2i[onnx] extra is installed."""
    return ["eager"] + (["fused"] if ops.has_ops() else []) + (["onnx"] if onnx_export.has_onnx() else [])


def samples(image_size: int) -> int:
    """Images per timed call: SAMPLES at 256x256, as many pixels at smaller sizes."""
    return max(SAMPLES, SAMPLES * (256 // max(1, image_size)) ** 2)


def cache_path() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # a relative one is ignored (XDG spec)
    return base / "a2i" / "engine-choice.json"


def _build_id() -> str:
    """Changes whenever the extension is rebuilt (a new build may be faster or slower)."""
    try:
        import a2i_cli._C as ext

        st = Path(ext.__file__).stat()
        return f"{st.st_size}-{st.st_mtime_ns}"
    except Exception:
        return "none"


def _key(image_size: int, latent: int, engines: list[str]) -> str:
    onnx = [f"onnxruntime {onnx_export.ort_version()}"] if "onnx" in engines else []
    return "|".join([cpu_name(), ops.isa(), _build_id(), f"a2i {__version__}", f"torch {torch.__version__}", *onnx,
                     f"threads {torch.get_num_threads()}", f"engines {','.join(engines)}", f"{latent}->{image_size}"])


def _read_cache() -> dict:
    """{"version": .., "entries": {key: {"speedups": {engine: float}, "measured": date}}}, or {} for anything else."""
    path = cache_path()
    try:
        if not path.is_file() or path.stat().st_size > MAX_CACHE_BYTES:  # a FIFO or /dev/zero is never read
            return {}
        with open(path, "rb") as f:
            data = json.loads(f.read(MAX_CACHE_BYTES + 1))
    except (OSError, ValueError, RuntimeError):  # RuntimeError: HOME unknown
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or not isinstance(data.get("entries"), dict):
        return {}
    return data


def _write_cache(key: str, speedups: dict[str, float]) -> bool:
    try:
        path = cache_path()
        data = _read_cache() or {"version": CACHE_VERSION, "entries": {}}
        entries = data["entries"]
        entries[key] = {"speedups": {k: round(v, 3) for k, v in speedups.items()}, "measured": time.strftime("%Y-%m-%d")}
        if len(entries) > 64:  # a long-lived machine with many builds: keep the newest
            for old in list(entries)[:-64]:
                del entries[old]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(data, indent=1))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)  # left only when the replace failed (a folder in the file's place, ...)
        return True
    except (OSError, RuntimeError):
        return False  # not writable: measure again next time


class Measured(dict):
    """engine -> eager time / its time (medians over the rounds); `steady`: every round ranked the engines alike
    and no engine's ratio moved more than UNSTEADY between rounds, so the result may be remembered."""

    steady: bool = True


def measure_speedups(image_size: int, latent: int, engines: list[str]) -> Measured:
    """Eager decoder time / each engine's time ("fused", "onnx"), all timed in the same interleaved rounds (a
    spike of load on a shared machine hits every engine alike), measured MEASUREMENTS times: the medians decide,
    and a result whose rounds disagree (another winner, or a ratio that moved more than UNSTEADY) is marked
    unsteady. An engine that fails to build gets 0."""
    calls, failed = {}, {}
    for engine in engines:
        try:
            eager, calls[engine] = _probe(image_size, latent, engine)
        except Exception:  # ONNX Runtime broken here, say: auto must still pick an engine
            failed[engine] = 0.0
    if not calls:
        return Measured(failed)
    rounds = [_measure_once(eager, calls) for _ in range(MEASUREMENTS)]
    result = Measured({**{e: sorted(r[e] for r in rounds)[len(rounds) // 2] for e in calls}, **failed})
    winners = {max([("eager", 1.0), *r.items()], key=lambda kv: kv[1])[0] for r in rounds}
    spread = max(max(r[e] for r in rounds) / max(min(r[e] for r in rounds), 1e-9) for e in calls)
    result.steady = len(winners) == 1 and spread <= UNSTEADY
    return result


class _ToImage(torch.nn.Module):
    def __init__(self, decoder: torch.nn.Module):
        super().__init__()
        self.decoder = decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        from ..model.network import to_uint8

        return to_uint8(self.decoder(z))  # (B, latent) -> (B, S, S, 3) uint8


def _probe(image_size: int, latent: int, engine: str):
    """(eager, other): calls that draw the same random latents with one random-weight decoder, in eager and in
    `engine` (fused or onnx)."""
    from ..core.config import ModelConfig
    from ..model.network import LEAKY_SLOPE, Decoder
    from .fold import fold_decoder

    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        decoder = _ToImage(Decoder(ModelConfig(image_size=image_size, latent=latent))).eval()
    z = torch.randn(samples(image_size), latent, generator=gen)

    def eager():
        return decoder(z)

    if engine == "fused":
        weights, biases = fold_decoder(decoder.decoder)
        packed = [ops.pack_weight(w) for w in weights]
        return eager, lambda: ops.decoder(z, packed, biases, LEAKY_SLOPE, True)
    model = onnx_export.export_module(decoder, latent, input_name="z").SerializeToString()
    session, feed = onnx_export.new_session(model, torch.get_num_threads()), {"z": z.numpy()}
    return eager, lambda: session.run(None, feed)


def _measure_once(eager, others: dict) -> dict[str, float]:
    """Eager's time / each other's for one batch (best of ROUNDS, interleaved)."""
    fns = {"eager": eager, **others}
    best = dict.fromkeys(fns, float("inf"))
    with torch.inference_mode():
        for fn in fns.values():
            fn()  # warm-up: allocations, lazy initialisation
        for _ in range(ROUNDS):
            for name, fn in fns.items():
                t = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t)
    return {name: best["eager"] / max(best[name], 1e-9) for name in others}


def _too_old(measured) -> bool:
    try:
        age = time.time() - time.mktime(time.strptime(str(measured), "%Y-%m-%d"))
    except (ValueError, OverflowError):
        return True
    return not 0 <= age <= MAX_AGE_DAYS * 86400


def auto_engine(image_size: int, latent: int) -> AutoChoice:
    """What `--engine auto` runs for a decoder latent -> image_size on this machine, and why."""
    engines = candidates()
    if engines == ["eager"]:
        return AutoChoice("eager", f"the C++ ops did not load: {ops.ops_reason()}")
    key = _key(image_size, latent, engines)
    speedups = _cached(_read_cache().get("entries", {}).get(key), engines)
    if speedups is not None:
        return dataclasses.replace(_decide(speedups), remembered=True)
    others = [e for e in engines if e != "eager"]
    load = busy()  # read before measuring: our own timing loop must not count as the machine's load
    speedups = measure_speedups(image_size, latent, others)
    if load or not getattr(speedups, "steady", True):  # other work skews engines unequally (a multi-threaded
        choice = _decide(speedups)  # op waits on a descheduled thread): good enough for this run, not for 30 days
        why = f"while this machine was busy ({load})" if load else "unsteadily (the rounds disagreed)"
        return AutoChoice(choice.engine, f"{choice.reason}; measured {why}, so not remembered",
                          choice.speedup, choice.speedups)
    return dataclasses.replace(_decide(speedups), remembered=_write_cache(key, speedups))


def busy() -> str:
    """'load 3.1 on 2 cores' when the machine's 1-minute load average exceeds its cores, else ''."""
    try:
        load, cores = os.getloadavg()[0], len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    except OSError:
        return ""
    return f"load {load:.1f} on {cores} cores" if load > cores else ""


def _cached(entry, engines: list[str]) -> dict[str, float] | None:
    """The speedups of a cache entry that measured every candidate and is recent, else None."""
    if not isinstance(entry, dict) or _too_old(entry.get("measured")):
        return None
    speedups = entry.get("speedups")
    if not isinstance(speedups, dict) or set(speedups) != set(engines) - {"eager"}:
        return None
    valid = all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0  # 0: failed to build here
                for v in speedups.values())
    return {k: float(v) for k, v in speedups.items()} if valid else None


def _decide(speedups: dict[str, float]) -> AutoChoice:
    """onnx only where it beats eager and fused; fused where it is at least eager's speed; else eager."""
    fused, onnx = speedups.get("fused"), speedups.get("onnx")
    kernels = f"{ops.isa()} kernels"
    onnx_note = "" if onnx is None else (
        "; ONNX Runtime could not run the decoder" if onnx == 0 else f"; ONNX Runtime {onnx:.2f}x")
    fused_note = (f"; fused {kernels} {fused:.1f}x" if fused is not None else
                  f"; the C++ ops did not load: {ops.ops_reason()}")
    if onnx is not None and onnx > max(1.0, fused or 0.0):
        return AutoChoice("onnx", f"ONNX Runtime, {onnx:.1f}x eager on this CPU{fused_note}", fused, speedups)
    if fused is not None and fused >= 1.0:
        return AutoChoice("fused", f"{kernels}, {fused:.1f}x eager on this CPU{onnx_note}", fused, speedups)
    if fused is not None:
        return AutoChoice("eager", f"the fused op ({kernels}) measured {fused:.2f}x eager on this CPU{onnx_note}",
                          fused, speedups)
    return AutoChoice("eager", f"ONNX Runtime measured {onnx:.2f}x eager on this CPU{fused_note}", None, speedups)
