"""`a2i demo-data`: write the built-in synthetic dataset (scene schema) to a folder."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..core.config import DemoDataConfig, defaults
from ._common import cli_errors, console, pick, progress_bar

D = defaults(DemoDataConfig)


def register(app: typer.Typer) -> None:
    @app.command("demo-data")
    @cli_errors
    def demo_data_cmd(
        out: Annotated[str, typer.Option(metavar="PATH", help="Folder to write dataset.csv, dataset.json and images/ into.")] = str(D["out"]),
        rows: Annotated[int, typer.Option(help="Total rows (seconds), split evenly over the 9 classes (at least 9).")] = D["rows"],
        seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = D["seed"],
        image_size: Annotated[int, typer.Option(help="Side of the square RGB PNGs in pixels (8-2048).")] = D["image_size"],
        exist_ok: Annotated[bool, typer.Option(help="Replace a demo dataset already in --out.")] = D["exist_ok"],
        overwrite: Annotated[Optional[bool], typer.Option("--overwrite", hidden=True, help="Old spelling of --exist-ok.")] = None,
    ) -> None:
        """Write a synthetic audio/scene dataset whose sounds really predict the pictures."""
        from ..data.demo_data import make_demo_dataset

        exist_ok = bool(pick(exist_ok, overwrite, "--overwrite", "--exist-ok", D["exist_ok"]))
        cfg = DemoDataConfig(out=out, rows=rows, seed=seed, image_size=image_size, exist_ok=exist_ok)
        with progress_bar("drawing scenes") as bar:
            s = make_demo_dataset(cfg, progress=bar)
        console.print(
            f"wrote {s.csv} ({s.rows} rows, {len(s.classes)} classes, {len(s.folders)} folders, "
            f"{s.image_size}x{s.image_size} images, seed {s.seed}) in {s.seconds:.1f} s"
        )
