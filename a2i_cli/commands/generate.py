"""`a2i generate`: one image from 104 MFCC values or one CSV row, or images of a recording (by the model's feature recipe)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.config import Engine, GenerateConfig, defaults
from ._common import cli_errors, console, pick, progress_bar

D = defaults(GenerateConfig)
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")


def is_csv(path: Path) -> bool:
    """A CSV of MFCC rows, by name or by content (a header naming mfcc_1), else a recording."""
    if path.name.lower().endswith(CSV_SUFFIXES):
        return True
    from ..core.errors import UserError
    from ..data.mfcc_csv import read_header

    if not path.is_file():
        return False
    try:
        return "mfcc_1" in read_header(path)
    except UserError:
        return False


def register(app: typer.Typer) -> None:
    @app.command("generate")
    @cli_errors
    def generate_cmd(
        input: Annotated[Optional[Path], typer.Argument(help="A CSV with mfcc_1..mfcc_104 (the image of --row), or a recording (WAV, FLAC, MP3, a video...): features by the model's recipe, one image per second (recipe `second`) or one for the whole recording (recipe `sound`), as `a2i extract` made its rows.", show_default=False)] = None,
        mfcc: Annotated[Optional[str], typer.Option(help="Instead of INPUT: 104 comma-separated MFCC values (mfcc_1..mfcc_104).")] = None,
        row: Annotated[int, typer.Option(help="With a CSV: the 1-based data row to draw.")] = D["row"],
        out: Annotated[Optional[Path], typer.Option(help="PNG file to write (default generated.png); with a recording, a folder (default generated/).")] = D["out"],
        model: Annotated[Optional[Path], typer.Option(help="Checkpoint .pt or exported .pt2 (default: the newest runs/train/*/weights/best.pt).")] = D["model"],
        engine: Annotated[Engine, typer.Option(help="How the model runs: auto picks the fastest of fused, onnx (with the a2i\\[onnx] extra) and eager measured on this CPU (a2i env shows which and why).")] = D["engine"],
        csv: Annotated[Optional[Path], typer.Option(hidden=True, help="Old spelling: pass the CSV as INPUT.")] = None,
        audio: Annotated[Optional[Path], typer.Option(hidden=True, help="Old spelling: pass the recording as INPUT.")] = None,
        backend: Annotated[Optional[Engine], typer.Option(hidden=True, help="Old spelling of --engine.")] = None,
    ) -> None:
        """Generate images from sound: from a CSV row, 104 --mfcc values, or a recording (with the model's feature recipe)."""
        from ..core.errors import UserError
        from ..core.images import save_png
        from ..core.runs import newest_best
        from ..data.csv_stream import read_row
        from ..data.mfcc_csv import parse_mfcc
        from ..inference.engine import load_engine

        engine = pick(engine, backend, "--backend", "--engine", D["engine"])
        csv = pick(None, csv, "--csv", "INPUT")
        audio = pick(None, audio, "--audio", "INPUT")
        given = [x for x in (input, csv, audio) if x is not None]
        if len(given) + (mfcc is not None) != 1:
            raise UserError("pass exactly one input: a CSV or a recording as INPUT, or --mfcc \"v1,...,v104\"")
        cfg = GenerateConfig(out=out, model=model, engine=engine, row=row)
        source = given[0] if given else None
        if source is not None and (audio is not None or (csv is None and not is_csv(source))):
            from ..media.stills import stills_from_audio

            folder = cfg.out or Path("generated")
            eng = load_engine(cfg.model or newest_best(), cfg.engine)
            with progress_bar("generating") as bar:
                report = stills_from_audio(source, folder, eng, progress=bar)
            console.print(f"wrote {len(report.files)} image{'s' if len(report.files) != 1 else ''} to {report.out} ({report.files[0].name} ...) and "
                          f"{report.manifest.name}; engine {report.engine}{_why(eng)}, model {eng.source}")
            return
        target = cfg.out or Path("generated.png")
        if target.suffix.lower() != ".png" or target.is_dir():
            raise UserError(f"--out {target} must be a .png file to write, not {'a directory' if target.is_dir() else repr(target.name)}; end it in .png (e.g. --out {target.with_suffix('.png')})")
        feats = parse_mfcc(mfcc) if mfcc is not None else read_row(source, cfg.row, "input CSV")
        eng = load_engine(cfg.model or newest_best(), cfg.engine)
        image = eng.generate(feats[None])[0]
        save_png(image, target)
        console.print(f"wrote {target} ({image.shape[1]}x{image.shape[0]}, engine {eng.name}{_why(eng)}, model {eng.source})")


def _why(engine) -> str:
    """' (auto: <why>)' for --engine auto, ' (avx2 kernels)' for fused, else ''."""
    return f" ({engine.choice})" if engine.choice else ""
