"""Typed wrappers of the C++ ops in csrc/ (torch.ops.a2i.*) and their pure-PyTorch references.

    has_ops()            True when a2i_cli._C loaded (checked once, never raises)
    ops_status()         one line for `a2i env`
    isa() / isa_list()   the kernel variant in use / every variant this CPU runs, best first
    use_isa(name)        switch variant (benchmarks and tests; A2I_ISA=name picks one at start)
    pack_weight(w)       (cin, cout, 4, 4) -> (2, 2, 2, 2, cin, coutp) kernel layout
    deconv_s2k4(x, w, bias, act, slope)      fused ConvTranspose2d(4, 2, 1) + bias + act
    decoder(z, weights, biases, slope, uint8_out)   the whole decoder in one call
    decoder_layer_times(...)                        the same, timed per layer (benchmarks)

Every op has a `*_ref` twin below written with stock PyTorch; tests compare the two and
the references document exactly what the C++ computes. `register_fake` makes the ops
traceable by torch.compile / torch.export.
"""
from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

ACT_NONE, ACT_LEAKY, ACT_TANH = 0, 1, 2
BUILD_HINT = "build with: pip install --no-build-isolation -e ."


@functools.lru_cache(maxsize=None)
def _load() -> tuple[bool, str]:
    """(loaded, detail): detail is the .so path or the reason it did not load."""
    try:
        ext = importlib.import_module("a2i_cli._C")  # registers torch.ops.a2i.*
    except Exception as e:  # not built, built against another torch, missing symbols, ...
        return False, f"{type(e).__name__}: {e}".splitlines()[0]
    try:
        torch.ops.a2i.decoder  # noqa: B018
    except Exception as e:
        return False, f"a2i_cli._C loaded but torch.ops.a2i.decoder is missing ({e})"
    path = Path(ext.__file__)
    try:
        path = path.relative_to(Path(__file__).resolve().parents[2])
    except ValueError:
        pass
    return True, str(path)


def has_ops() -> bool:
    """True when the compiled ops are importable; never raises."""
    return _load()[0]


def ops_reason() -> str:
    """Why the ops did not load ('' when they did)."""
    ok, detail = _load()
    return "" if ok else detail


def ops_status() -> str:
    ok, detail = _load()
    if ok:
        note = isa_request_note()
        return f"built ({detail}, {isa()} kernels of {', '.join(isa_list())})" + (f"; {note}" if note else "")
    return f"not built: {detail}; {BUILD_HINT}"


def isa() -> str:
    """Kernel variant in use: avx512, avx2, generic (x86-64 baseline or portable) or neon."""
    return torch.ops.a2i.isa() if has_ops() else "none"


def isa_list() -> list[str]:
    """Every kernel variant this build holds and this CPU runs, best first ([] without the ops)."""
    return list(torch.ops.a2i.isa_list()) if has_ops() else []


def use_isa(name: str) -> None:
    """Run the kernels of variant `name` from now on (process-wide); ValueError when this CPU cannot."""
    if not has_ops() or not torch.ops.a2i.set_isa(name):
        raise ValueError(f"kernel variant {name!r} does not run here; this CPU runs {', '.join(isa_list()) or 'none'}")


def isa_request_note() -> str:
    """'' or one line saying that A2I_ISA asked for a variant this CPU cannot run (it is then ignored)."""
    want = os.environ.get("A2I_ISA", "")  # compared as the C++ side compares it: exactly
    if not want or not has_ops() or want in isa_list():
        return ""
    return f"A2I_ISA={want!r} is not a variant this CPU runs ({', '.join(isa_list())}); using {isa()}"


# --------------------------------------------------------------------------- wrappers


def pack_weight(w: torch.Tensor) -> torch.Tensor:
    """(cin, cout, 4, 4) ConvTranspose2d weight -> (2, 2, 2, 2, cin, coutp) kernel layout."""
    return torch.ops.a2i.pack_weight(w)


def deconv_s2k4(
    x: torch.Tensor, w: torch.Tensor, bias: Optional[torch.Tensor] = None, act: int = ACT_NONE, slope: float = 0.2
) -> torch.Tensor:
    """act(conv_transpose2d(x, w, bias, stride=2, padding=1)); x (B, cin, H, W) -> (B, cout, 2H, 2W)."""
    return torch.ops.a2i.deconv_s2k4(x, w, bias, act, slope)


def decoder(
    z: torch.Tensor,
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor],
    slope: float = 0.2,
    uint8_out: bool = False,
) -> torch.Tensor:
    """z (B, latent) -> (B, 3, S, S) float in [-1, 1], or (B, S, S, 3) uint8 when uint8_out."""
    return torch.ops.a2i.decoder(z, list(weights), list(biases), slope, uint8_out)


def decoder_layer_times(
    z: torch.Tensor, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], slope: float = 0.2,
    uint8_out: bool = True,
) -> list[float]:
    """Runs `decoder` once and returns its seconds per layer (for benchmarks, not for results)."""
    return list(torch.ops.a2i.decoder_layer_times(z, list(weights), list(biases), slope, uint8_out))


# --------------------------------------------------------------------------- references


def _act_ref(y: torch.Tensor, act: int, slope: float) -> torch.Tensor:
    if act == ACT_LEAKY:
        return F.leaky_relu(y, slope)
    if act == ACT_TANH:
        return torch.tanh(y)
    return y


def pack_weight_ref(w: torch.Tensor) -> torch.Tensor:
    """Wp[py][px][r][j][ci][co] = w[ci][co][3-py-2r][3-px-2j], co zero-padded to a multiple of 16."""
    cin, cout = w.shape[:2]
    p = w.flip(2, 3).reshape(cin, cout, 2, 2, 2, 2).permute(3, 5, 2, 4, 0, 1)  # (py, px, r, j, ci, co)
    return F.pad(p, (0, -cout % 16)).contiguous()


def unpack_weight_ref(wp: torch.Tensor, cout: int) -> torch.Tensor:
    """Inverse of pack_weight_ref: (2, 2, 2, 2, cin, coutp) -> (cin, cout, 4, 4)."""
    cin = wp.shape[4]
    w = wp[..., :cout].permute(4, 5, 2, 0, 3, 1).reshape(cin, cout, 4, 4)  # (ci, co, r, py, j, px)
    return w.flip(2, 3).contiguous()


def deconv_s2k4_ref(
    x: torch.Tensor, w: torch.Tensor, bias: Optional[torch.Tensor] = None, act: int = ACT_NONE, slope: float = 0.2
) -> torch.Tensor:
    return _act_ref(F.conv_transpose2d(x, w, bias, stride=2, padding=1), act, slope)


def decoder_ref(
    z: torch.Tensor,
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor],
    slope: float = 0.2,
    uint8_out: bool = False,
) -> torch.Tensor:
    x = z[:, :, None, None]  # (B, latent, 1, 1)
    for i, (w, b) in enumerate(zip(weights, biases)):
        if w.dim() == 6:
            w = unpack_weight_ref(w, b.shape[0])
        last = i == len(weights) - 1
        x = deconv_s2k4_ref(x, w, b, ACT_TANH if last else ACT_LEAKY, slope)  # (B, C, 2H, 2W)
    if uint8_out:
        return ((x.clamp(-1, 1) + 1) * 127.5).round_().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    return x


# --------------------------------------------------------------------------- fake kernels

if has_ops():

    @torch.library.register_fake("a2i::pack_weight")
    def _pack_weight_fake(w):
        cin, cout = w.shape[0], w.shape[1]
        return w.new_empty((2, 2, 2, 2, cin, (cout + 15) // 16 * 16))

    @torch.library.register_fake("a2i::deconv_s2k4")
    def _deconv_fake(x, w, bias, act, slope):
        torch._check(x.dim() == 4, lambda: f"x must have rank 4, got {x.dim()}")
        torch._check(x.shape[1] == w.shape[0], lambda: "channel count mismatch between x and w")
        return x.new_empty((x.shape[0], w.shape[1], 2 * x.shape[2], 2 * x.shape[3]))

    @torch.library.register_fake("a2i::decoder")
    def _decoder_fake(z, weights, biases, slope, uint8_out):
        torch._check(z.dim() == 2, lambda: f"z must have rank 2, got {z.dim()}")
        size = 2 ** len(weights)
        if uint8_out:
            return z.new_empty((z.shape[0], size, size, 3), dtype=torch.uint8)
        return z.new_empty((z.shape[0], biases[-1].shape[0], size, size))
