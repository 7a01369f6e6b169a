"""`a2i generate`: one image from 104 MFCC values or one CSV row, or one image per second of a recording."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import cli_errors, console, progress_bar


def register(app: typer.Typer) -> None:
    @app.command("generate")
    @cli_errors
    def generate_cmd(
        out: Annotated[Optional[Path], typer.Option(help="PNG file to write (default generated.png); with --audio, a folder (default generated/).")] = None,
        model: Annotated[Optional[Path], typer.Option(help="Checkpoint (default: the newest runs/train/*/weights/best.pt).")] = None,
        mfcc: Annotated[Optional[str], typer.Option(help="104 comma-separated MFCC values (mfcc_1..mfcc_104).")] = None,
        csv: Annotated[Optional[Path], typer.Option(help="CSV with columns mfcc_1..mfcc_104 (e.g. a dataset.csv).")] = None,
        row: Annotated[int, typer.Option(help="With --csv: the 1-based data row to use.")] = 1,
        audio: Annotated[Optional[Path], typer.Option(help="A recording (WAV, FLAC, MP3, a video, ...): one image per second, <stem>_0000.png ..., same features as `a2i extract`.")] = None,
        backend: Annotated[str, typer.Option(help="Inference backend: auto picks the fastest that works.")] = "auto",
    ) -> None:
        """Generate images from audio features: one from --mfcc or --csv, or one per second of --audio."""
        from ..checkpoint import newest_best
        from ..engine import load_engine
        from ..errors import UserError
        from ..generate import csv_row_features, parse_mfcc
        from ..viz import save_png

        if sum(x is not None for x in (mfcc, csv, audio)) != 1:
            raise UserError("pass exactly one of --mfcc \"v1,...,v104\", --csv FILE [--row N] or --audio FILE")
        if audio is not None:
            from ..animate import stills_from_audio

            out = out or Path("generated")
            if out.suffix.lower() == ".png":
                raise UserError(f"with --audio, --out is a folder (one image per second goes there), got {out}")
            engine = load_engine(model or newest_best(), backend)
            with progress_bar() as bar:
                task = bar.add_task("generating", total=None, rate="")
                report = stills_from_audio(
                    audio, out, engine, on_total=lambda n: bar.update(task, total=n), progress=lambda n: bar.advance(task, n)
                )
            console.print(
                f"wrote {len(report.files)} images to {report.out} ({report.files[0].name} ...) and {report.manifest.name}; "
                f"backend {report.backend}, model {engine.source}"
            )
            return
        out = out or Path("generated.png")
        feats = parse_mfcc(mfcc) if mfcc is not None else csv_row_features(csv, row)
        if out.suffix.lower() != ".png":
            raise UserError(f"--out {out} must end in .png")
        engine = load_engine(model or newest_best(), backend)
        image = engine.generate(feats[None])[0]
        save_png(image, out)
        console.print(f"wrote {out} ({image.shape[1]}x{image.shape[0]}, backend {engine.backend}, model {engine.source})")
