"""`a2i export`: a checkpoint -> a torch.export program (.pt2, runs with `--engine export`) or an ONNX model (.onnx)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.config import ExportConfig, ExportFormat, defaults
from ._common import cli_errors, console

D = defaults(ExportConfig)


def register(app: typer.Typer) -> None:
    @app.command("export")
    @cli_errors
    def export_cmd(
        model: Annotated[Optional[Path], typer.Option(help="Checkpoint (.pt) to export; default: the newest runs/train/*/weights/best.pt.")] = D["model"],
        out: Annotated[Optional[Path], typer.Option(help="Where to write the program (.pt2 or .onnx); default: next to the checkpoint.")] = D["out"],
        format: Annotated[Optional[ExportFormat], typer.Option(help="pt2: a torch.export archive (needs only torch); onnx: an ONNX model for ONNX Runtime (writing it needs pip install \"a2i\\[onnx]\"). Default: from --out's suffix, else pt2.", show_default=False)] = D["format"],
    ) -> None:
        """Export a checkpoint (raw features in, uint8 images out): a torch.export .pt2, or an .onnx."""
        from ..core.errors import UserError
        from ..core.runs import newest_best
        from ..inference.export import SUFFIXES, export_checkpoint, export_format

        if out is not None and out.is_dir():
            suffix = SUFFIXES[export_format(None, format)]
            raise UserError(f"--out {out} is a directory; give the {suffix} file to write (e.g. {out / ('model' + suffix)})")
        fmt = export_format(out, format)  # a --format that disagrees with --out fails before any work
        ckpt = model if model is not None else newest_best()
        target = out if out is not None else ckpt.with_suffix(SUFFIXES[fmt])
        if target.is_dir():
            raise UserError(f"{target} is a directory; pass --out with the {SUFFIXES[fmt]} file to write")
        path = export_checkpoint(ckpt, target, fmt)
        if fmt == ExportFormat.onnx:
            from ..inference.onnx_export import INPUT, OPSET, OUTPUT

            console.print(f"exported {ckpt} -> {path}  (ONNX opset {OPSET}: input {INPUT!r} (B, 104) float32 raw "
                          f"features, output {OUTPUT!r} (B, S, S, 3) uint8; runs with onnxruntime alone)")
        else:
            console.print(f"exported {ckpt} -> {path}  (run it with --model {path}; the engine is export)")
