"""`--engine auto`: the fused C++ decoder where it is measured faster than eager on this CPU, else eager.

    choice = auto_engine(image_size=256, latent=128)
    choice.engine   "fused" or "eager"
    choice.reason   why, for summaries and `a2i env`: "avx2 kernels, 15.3x eager on this CPU"

The fused op is compiled for several instruction sets and is many times faster than eager
on the CPUs it was tuned on, but a CPU nobody measured (or a kernel variant that loses on
it) could make it slower. So the first time this machine runs a decoder of a given shape,
auto times both decoders on random weights with this process's thread count (about 0.1 s
at 256x256) and keeps the faster. The result is remembered per CPU model, kernel variant,
build of the extension, torch version, threads and decoder shape in
$XDG_CACHE_HOME/a2i/engine-choice.json (default ~/.cache/a2i); a file that cannot be
read or written only means measuring again.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import __version__
from . import ops
from .cpu import cpu_name

CACHE_VERSION = 1
SAMPLES = 4  # images per timed call: enough to time, cheap for eager at 256x256
ROUNDS = 5
CLOSE = 1.5  # speedups below this are measured twice more (the median of three decides)
MAX_AGE_DAYS = 30
MAX_CACHE_BYTES = 1 << 20


@dataclass(frozen=True)
class AutoChoice:
    engine: str  # "fused" or "eager"
    reason: str  # why, in a few words (the engine's name not included)
    speedup: float | None = None  # eager time / fused time, when measured


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


def _key(image_size: int, latent: int) -> str:
    return "|".join([cpu_name(), ops.isa(), _build_id(), f"a2i {__version__}", f"torch {torch.__version__}",
                     f"threads {torch.get_num_threads()}", f"{latent}->{image_size}"])


def _read_cache() -> dict:
    """{"version": .., "entries": {key: {"speedup": float, "measured": date}}}, or {} for anything else."""
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


def _write_cache(key: str, speedup: float) -> None:
    try:
        path = cache_path()
        data = _read_cache() or {"version": CACHE_VERSION, "entries": {}}
        entries = data["entries"]
        entries[key] = {"speedup": round(speedup, 3), "measured": time.strftime("%Y-%m-%d")}
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
    except (OSError, RuntimeError):
        pass  # not writable: measure again next time


def measure_speedup(image_size: int, latent: int) -> float:
    """Eager decoder time / fused op time, the median of three measurements when they are close."""
    first = _measure_once(image_size, latent)
    if first >= CLOSE:
        return first
    return sorted([first, _measure_once(image_size, latent), _measure_once(image_size, latent)])[1]


def _measure_once(image_size: int, latent: int) -> float:
    """Eager decoder time / fused op time for SAMPLES images of random weights (best of ROUNDS, interleaved)."""
    from ..core.config import ModelConfig
    from ..model.network import LEAKY_SLOPE, Decoder, to_uint8
    from .fold import fold_decoder

    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        decoder = Decoder(ModelConfig(image_size=image_size, latent=latent)).eval()
    weights, biases = fold_decoder(decoder)
    packed = [ops.pack_weight(w) for w in weights]
    z = torch.randn(SAMPLES, latent, generator=gen)

    def eager():
        return to_uint8(decoder(z))

    def fused():
        return ops.decoder(z, packed, biases, LEAKY_SLOPE, True)

    best = {eager: float("inf"), fused: float("inf")}
    with torch.inference_mode():
        for fn in best:
            fn()  # warm-up: allocations, lazy initialisation
        for _ in range(ROUNDS):
            for fn in best:
                t = time.perf_counter()
                fn()
                best[fn] = min(best[fn], time.perf_counter() - t)
    return best[eager] / max(best[fused], 1e-9)


def _too_old(measured) -> bool:
    try:
        age = time.time() - time.mktime(time.strptime(str(measured), "%Y-%m-%d"))
    except (ValueError, OverflowError):
        return True
    return not 0 <= age <= MAX_AGE_DAYS * 86400


def auto_engine(image_size: int, latent: int) -> AutoChoice:
    """What `--engine auto` runs for a decoder latent -> image_size on this machine, and why."""
    if not ops.has_ops():
        return AutoChoice("eager", f"the C++ ops did not load: {ops.ops_reason()}")
    key = _key(image_size, latent)
    entry = _read_cache().get("entries", {}).get(key)
    speedup = entry.get("speedup") if isinstance(entry, dict) else None
    if not isinstance(speedup, (int, float)) or not speedup > 0 or _too_old(entry.get("measured")):
        speedup = measure_speedup(image_size, latent)
        _write_cache(key, speedup)
    if speedup >= 1.0:
        return AutoChoice("fused", f"{ops.isa()} kernels, {speedup:.1f}x eager on this CPU", speedup)
    return AutoChoice("eager", f"the fused op ({ops.isa()} kernels) measured {speedup:.2f}x eager on this CPU", speedup)
