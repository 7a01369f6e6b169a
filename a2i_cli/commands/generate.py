"""`a2i generate`: one image from 104 MFCC values or one CSV row."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import cli_errors, console


def register(app: typer.Typer) -> None:
    @app.command("generate")
    @cli_errors
    def generate_cmd(
        out: Annotated[Path, typer.Option(help="PNG file to write.")] = Path("generated.png"),
        model: Annotated[Optional[Path], typer.Option(help="Checkpoint (default: the newest runs/train/*/weights/best.pt).")] = None,
        mfcc: Annotated[Optional[str], typer.Option(help="104 comma-separated MFCC values (mfcc_1..mfcc_104).")] = None,
        csv: Annotated[Optional[Path], typer.Option(help="CSV with columns mfcc_1..mfcc_104 (e.g. a dataset.csv).")] = None,
        row: Annotated[int, typer.Option(help="With --csv: the 1-based data row to use.")] = 1,
        backend: Annotated[str, typer.Option(help="Inference backend: auto picks the fastest that works.")] = "auto",
    ) -> None:
        """Generate one image from audio features."""
        from ..checkpoint import newest_best
        from ..engine import load_engine
        from ..errors import UserError
        from ..generate import csv_row_features, parse_mfcc
        from ..viz import save_png

        if (mfcc is None) == (csv is None):
            raise UserError("pass exactly one of --mfcc \"v1,...,v104\" or --csv FILE [--row N]")
        feats = parse_mfcc(mfcc) if mfcc is not None else csv_row_features(csv, row)
        if out.suffix.lower() != ".png":
            raise UserError(f"--out {out} must end in .png")
        engine = load_engine(model or newest_best(), backend)
        image = engine.generate(feats[None])[0]
        save_png(image, out)
        console.print(f"wrote {out} ({image.shape[1]}x{image.shape[0]}, backend {engine.backend}, model {engine.loaded.path})")
