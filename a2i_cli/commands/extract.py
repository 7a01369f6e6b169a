"""`a2i extract videos|audio`: build a scene-schema dataset from videos, or from recordings paired with pictures."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.config import ExtractConfig, Window, defaults
from ._common import cli_errors, console, pick, progress_bar, say

D = defaults(ExtractConfig)

extract_app = typer.Typer(
    help="Build a dataset (scene schema: dataset.csv + images/) from videos or from audio/image pairs.",
    no_args_is_help=True,
)


def finish(report, what: str) -> None:
    """Print bad inputs and a summary; exit 1 when anything was bad."""
    for b in report.bad:
        say("bad:", "bold red", str(b))
    summary = (
        f"{report.out / 'dataset.csv'}: {report.added} rows added, {report.already} already there; "
        f"{report.done} {what} done, {len(report.bad)} bad in {report.seconds:.1f} s"
    )
    if report.bad:
        say("error:", "bold red", f"{summary} (see above)")
        raise typer.Exit(1)
    console.print(summary)


@extract_app.command("videos")
@cli_errors
def videos_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Video files, or folders of them (any container/codec FFmpeg reads).", show_default=False)],
    class2: Annotated[list[str], typer.Option("--class", help="CLASS2 of every row (upper-cased), e.g. beach; one per run.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Dataset folder: rows are appended to OUT/dataset.csv, frames go to OUT/images/<video>/.")] = D["out"],
    class1: Annotated[Optional[str], typer.Option("--class1", help="CLASS1 of every row (default: INDOORS for classroom, grocery-store, restaurant; else OUTDOORS).")] = D["class1"],
    image_size: Annotated[int, typer.Option(help="Frames are centre-cropped to a square and resized to this size.")] = D["image_size"],
    hop: Annotated[float, typer.Option(help="Seconds between rows: row k is the MFCCs of [t, t+1) with t = k * hop and the frame at t + 0.5 s (1 = the Kaggle data).")] = D["hop"],
) -> None:
    """One row every --hop seconds t: the frame at t + 0.5 s and the MFCCs of [t, t+1) (8 windows over that second)."""
    from ..core.errors import UserError
    from ..media.extract_videos import extract_videos

    if len(class2) != 1:
        raise UserError(f"extract videos labels every row with one --class; got {len(class2)} ({', '.join(class2)}): "
                        "run it once per class, with that class's videos")
    cfg = ExtractConfig(out=out, image_size=image_size, class2=class2[0], class1=class1, hop=hop)
    with progress_bar("extracting") as bar:
        report = extract_videos(list(paths), cfg, progress=bar)
    finish(report, "files")


@extract_app.command("audio")
@cli_errors
def audio_cmd(
    pairs: Annotated[Optional[Path], typer.Argument(help="CSV with columns audio,image,CLASS1,CLASS2 (+ optional IMAGE); paths absolute or relative to it.", show_default=False)] = None,
    out: Annotated[Path, typer.Option(help="Dataset folder: rows are appended to OUT/dataset.csv, images go to OUT/images/.")] = D["out"],
    image_size: Annotated[int, typer.Option(help="Images are centre-cropped to a square, converted to RGB and resized to this size.")] = D["image_size"],
    window: Annotated[Window, typer.Option(help="Where the 8 MFCC windows sit: sound = spread over the recording's sound, silence trimmed; second = over its first second, zero-padded (the Kaggle recipe).")] = D["window"],
    pairs_old: Annotated[Optional[Path], typer.Option("--pairs", hidden=True, help="Old spelling: pass PAIRS.")] = None,
) -> None:
    """One row per pair: the MFCCs of the recording (8 windows over its sound, or over its first second) and its picture."""
    from ..core.errors import UserError
    from ..media.extract_pairs import extract_pairs

    pairs = pick(pairs, pairs_old, "--pairs", "PAIRS")
    if pairs is None:
        raise UserError("pass the pairs CSV: a2i extract audio PAIRS.csv --out DIR")
    cfg = ExtractConfig(out=out, image_size=image_size, window=window)
    with progress_bar("extracting") as bar:
        report = extract_pairs(pairs, cfg, progress=bar)
    finish(report, "rows")


def register(app: typer.Typer) -> None:
    app.add_typer(extract_app, name="extract")
