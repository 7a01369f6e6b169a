"""`torch.export` artifacts: a checkpoint -> a .pt2 that runs without the training code (or an .onnx).

The exported graph takes raw MFCC features (B, 104) float32 and returns (B, S, S, 3)
uint8: the normalisation and the uint8 conversion are part of the graph, so only torch is
needed to run it. The model config, normalisation, feature recipe and version travel in the extra file
`a2i.json` (read back by `load_program`).

`a2i export --format onnx` (or an --out ending in .onnx) writes the same graph as ONNX
instead (onnx_export.py), for ONNX Runtime without torch; .pt2 stays the default because
it needs nothing beyond torch.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from .. import __version__
from ..core.atomic import atomic_path
from ..core.config import ExportFormat, ModelConfig, choice
from ..core.errors import UserError
from ..core.paths import NOT_REGULAR
from ..model.checkpoint import Loaded, load_checkpoint
from .program_check import read_program
from .raw_to_image import RawToImage

EXTRA = "a2i.json"
MAX_BATCH = 4096


def export_program(loaded: Loaded) -> torch.export.ExportedProgram:
    module = RawToImage(loaded).eval()
    example = torch.zeros(2, loaded.cfg.n_features)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with torch.no_grad():
        return torch.export.export(module, (example,), dynamic_shapes={"raw": {0: batch}})


SUFFIXES = {ExportFormat.pt2: ".pt2", ExportFormat.onnx: ".onnx"}
WHAT = {ExportFormat.pt2: "torch.export archive", ExportFormat.onnx: "ONNX model"}


def export_format(out: Path | None, fmt: str | None = None) -> ExportFormat:
    """The format `a2i export` writes: --format when given, else by --out's suffix, else pt2.

    A --format that disagrees with --out's suffix, or a suffix that is neither, is a UserError."""
    fmt = choice(ExportFormat, fmt, "--format") if fmt is not None else None
    if out is None:
        return fmt or ExportFormat.pt2
    by_suffix = {v: k for k, v in SUFFIXES.items()}.get(Path(out).suffix.lower())
    if fmt is not None and by_suffix is not None and by_suffix != fmt:
        raise UserError(f"--out {out} ends in {Path(out).suffix} but --format is {fmt}; pass --format {by_suffix} "
                        f"or an --out ending in {SUFFIXES[fmt]}")
    if by_suffix is None:
        if fmt is not None:
            raise UserError(f"--out {out} should end in {SUFFIXES[fmt]} ({WHAT[fmt]}) for --format {fmt}")
        raise UserError(f"--out {out} should end in .pt2 (torch.export archive) or .onnx (ONNX model)")
    return by_suffix


def export_checkpoint(ckpt: Path, out: Path, fmt: str | None = None) -> Path:
    """Write `out` (.pt2, or .onnx: see export_format) from the checkpoint `ckpt`; atomic like checkpoints."""
    out = Path(out)
    fmt = export_format(out, fmt)
    if fmt == ExportFormat.onnx:
        from .onnx_export import require_onnx

        require_onnx("a2i export --format onnx")  # before the checkpoint is read
    if Path(ckpt).suffix == ".pt2" and Path(ckpt).is_file():
        raise UserError(f"--model {ckpt} is already an exported program; `a2i export` reads a checkpoint (.pt), "
                        "e.g. runs/train/<name>/weights/best.pt")
    loaded = load_checkpoint(ckpt)
    if fmt == ExportFormat.onnx:
        from .onnx_export import export_onnx

        return export_onnx(loaded, out)
    ep = export_program(loaded)
    meta = {
        "version": __version__,
        "model_config": loaded.cfg.to_dict(),
        "norm": loaded.norm.to_dict(),
        "feature_recipe": loaded.recipe.to_dict(),
        "source": str(ckpt),
        "torch": torch.__version__,
    }
    with atomic_path(out) as tmp:
        torch.export.save(ep, tmp, extra_files={EXTRA: json.dumps(meta)})
    return out


def load_program(path: Path) -> tuple[nn.Module, ModelConfig, dict]:
    """A .pt2 from export_checkpoint -> (callable module, config, metadata).

    The archive is never given to torch.export.load (which runs code from it): the network is
    rebuilt from its config and raw weights and exported here (program_check.py)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"exported program {path} is a directory; expected a .pt2 file")
    if path.exists() and not path.is_file():
        raise UserError(f"exported program {path} {NOT_REGULAR}; give a .pt2 file")
    if not path.is_file():
        raise UserError(f"exported program {path} does not exist; make one with `a2i export --model CKPT --out {path}`")
    loaded, meta = read_program(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ep = export_program(loaded)
    return ep.module(), loaded.cfg, meta
