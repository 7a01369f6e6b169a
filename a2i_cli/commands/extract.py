"""`a2i extract videos|audio`: build a scene-schema dataset from videos, or from recordings paired with pictures."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import cli_errors, console, err_console, progress_bar

extract_app = typer.Typer(
    help="Build a dataset (scene schema: dataset.csv + images/) from videos or from audio/image pairs.",
    no_args_is_help=True,
)


def _finish(report, what: str) -> None:
    """Print bad inputs and a summary; exit 1 when anything was bad."""
    for b in report.bad:
        err_console.print(f"[bold red]bad:[/] {b}", markup=True, highlight=False)
    summary = (
        f"{report.out / 'dataset.csv'}: {report.added} rows added, {report.already} already there; "
        f"{report.done} {what} done, {len(report.bad)} bad in {report.seconds:.1f} s"
    )
    if report.bad:
        err_console.print(f"[bold red]error:[/] {summary} (see above)", markup=True, highlight=False)
        raise typer.Exit(1)
    console.print(summary)


@extract_app.command("videos")
@cli_errors
def videos_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Video files, or folders of them (any container/codec FFmpeg reads).")],
    out: Annotated[Path, typer.Option(help="Dataset folder: rows are appended to OUT/dataset.csv, frames go to OUT/images/<video>/.")],
    class2: Annotated[str, typer.Option("--class", help="CLASS2 of every row (upper-cased), e.g. beach.")],
    class1: Annotated[Optional[str], typer.Option("--class1", help="CLASS1 of every row (default: INDOORS for classroom, grocery-store, restaurant; else OUTDOORS).")] = None,
    image_size: Annotated[int, typer.Option(help="Frames are centre-cropped to a square and resized to this size.")] = 256,
) -> None:
    """One row per whole second t: the frame at t + 0.5 s and the MFCCs of [t, t+1)."""
    from ..extract import extract_videos

    with progress_bar() as bar:
        task = bar.add_task("extracting", total=None, rate="")

        def step(path: Path, added: int, already: int) -> None:
            bar.update(task, advance=1, rate=f"{path.name}: +{added}")

        report = extract_videos(
            list(paths), out, class2=class2, class1=class1, image_size=image_size,
            on_total=lambda n: bar.update(task, total=n), progress=step,
        )
    _finish(report, "files")


@extract_app.command("audio")
@cli_errors
def audio_cmd(
    pairs: Annotated[Path, typer.Option(help="CSV with columns audio,image,CLASS1,CLASS2 (+ optional IMAGE); paths absolute or relative to it.")],
    out: Annotated[Path, typer.Option(help="Dataset folder: rows are appended to OUT/dataset.csv, images go to OUT/images/.")],
    image_size: Annotated[int, typer.Option(help="Images are centre-cropped to a square, converted to RGB and resized to this size.")] = 256,
) -> None:
    """One row per pair: the first second of the recording (zero-padded) and its picture."""
    from ..extract import extract_pairs

    with progress_bar() as bar:
        task = bar.add_task("extracting", total=None, rate="")
        report = extract_pairs(
            pairs, out, image_size=image_size,
            on_total=lambda n: bar.update(task, total=n), progress=lambda n: bar.advance(task, n),
        )
    _finish(report, "rows")


def register(app: typer.Typer) -> None:
    app.add_typer(extract_app, name="extract")
