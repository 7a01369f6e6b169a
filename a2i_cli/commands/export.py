"""`a2i export`: a checkpoint -> a torch.export program (.pt2) that runs with `--engine export`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.config import ExportConfig, defaults
from ._common import cli_errors, console

D = defaults(ExportConfig)


def register(app: typer.Typer) -> None:
    @app.command("export")
    @cli_errors
    def export_cmd(
        model: Annotated[Optional[Path], typer.Option(help="Checkpoint (.pt) to export; default: the newest runs/train/*/weights/best.pt.")] = D["model"],
        out: Annotated[Optional[Path], typer.Option(help="Where to write the program (.pt2); default: next to the checkpoint.")] = D["out"],
    ) -> None:
        """Export a checkpoint with torch.export (raw features in, uint8 images out)."""
        from ..core.errors import UserError
        from ..core.runs import newest_best
        from ..inference.export import export_checkpoint

        ckpt = model if model is not None else newest_best()
        target = out if out is not None else ckpt.with_suffix(".pt2")
        if target.is_dir():
            raise UserError(f"--out {target} is a directory; give the .pt2 file to write (e.g. {target / 'model.pt2'})")
        path = export_checkpoint(ckpt, target)
        console.print(f"exported {ckpt} -> {path}  (run it with --model {path}; the engine is export)")
