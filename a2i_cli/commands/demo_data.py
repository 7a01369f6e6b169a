"""`a2i demo-data`: write the built-in synthetic dataset (scene schema) to a folder."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from ._common import cli_errors, console, progress_bar


def register(app: typer.Typer) -> None:
    @app.command("demo-data")
    @cli_errors
    def demo_data_cmd(
        out: Annotated[Path, typer.Option(help="Folder to write dataset.csv, dataset.json and images/ into.")],
        rows: Annotated[int, typer.Option(min=9, help="Total rows (seconds), split evenly over the 9 classes.")] = 2000,
        seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 0,
        image_size: Annotated[int, typer.Option(min=8, max=2048, help="Side of the square RGB PNGs in pixels.")] = 256,
        overwrite: Annotated[bool, typer.Option(help="Replace an existing dataset.csv in --out.")] = False,
    ) -> None:
        """Write a synthetic audio/scene dataset whose sounds really predict the pictures."""
        from ..demo import make_demo_dataset

        with progress_bar(transient=True) as bar:
            task = bar.add_task("drawing scenes", total=rows, rate="")
            s = make_demo_dataset(
                out, rows=rows, seed=seed, image_size=image_size, overwrite=overwrite,
                progress=lambda n: bar.advance(task, n),
            )
        console.print(
            f"wrote {s.csv} ({s.rows} rows, {len(s.classes)} classes, {len(s.folders)} folders, "
            f"{s.image_size}x{s.image_size} images, seed {s.seed}) in {s.seconds:.1f} s"
        )
