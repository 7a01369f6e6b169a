"""`a2i batch-generate`: one image per row of an MFCC CSV, streamed and resumable."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import cli_errors, console, progress_bar


def register(app: typer.Typer) -> None:
    @app.command("batch-generate")
    @cli_errors
    def batch_generate_cmd(
        csv: Annotated[Path, typer.Argument(help="CSV with mfcc_1..mfcc_104; other columns (IMAGE, CLASS2, ids) go to the manifest.")],
        out: Annotated[Optional[Path], typer.Option(help="Output folder; rerun into the same folder to resume (default: a new runs/batch-generate/<name>).")] = None,
        name: Annotated[str, typer.Option(help="Run name under runs/batch-generate/ when --out is not given.")] = "exp",
        model: Annotated[Optional[Path], typer.Option(help="Checkpoint (default: the newest runs/train/*/weights/best.pt).")] = None,
        engine: Annotated[str, typer.Option(help="Inference engine passed to the model loader (auto, eager, fused, export).")] = "auto",
        backend: Annotated[str, typer.Option(help="Execution: local (a process per core), ray, or auto (ray when --ray-address or RAY_ADDRESS is given, in-process for 256 rows or fewer, else local).")] = "auto",
        ray_address: Annotated[Optional[str], typer.Option(help="Join this Ray cluster ('auto' or host:port) instead of starting a private local instance.")] = None,
        workers: Annotated[Optional[int], typer.Option(help="Worker processes / Ray actors (default: every core).")] = None,
        batch_size: Annotated[int, typer.Option(help="Rows per inference batch (and per manifest write).")] = 64,
        format: Annotated[str, typer.Option("--format", help="Image format: png, jpg or webp.")] = "png",
        png_level: Annotated[int, typer.Option(help="PNG zlib level 0-9: 1 writes several times faster than Pillow's default 6 on photo-like images, files a little larger.")] = 1,
        quality: Annotated[int, typer.Option(help="JPEG/WebP quality 1-100.")] = 90,
    ) -> None:
        """Generate an image for every row of a CSV: images/, manifest.csv, errors.csv (exit 1 if rows failed)."""
        from ..batch import batch_generate
        from ..checkpoint import newest_best
        from ..runs import new_run_dir

        model = model or newest_best()
        out = out or new_run_dir("batch-generate", name)
        with progress_bar() as bar:
            task = bar.add_task("generating", total=None, rate="")
            state = {"t0": None, "n": 0}

            def advance(n: int, total: int) -> None:
                import time

                state["t0"] = state["t0"] or time.perf_counter()
                state["n"] += n
                dt = time.perf_counter() - state["t0"]
                bar.update(task, advance=n, total=total, rate=f"{state['n'] / dt:,.0f} rows/s" if dt > 0.5 else "")

            result = batch_generate(csv, out, model, engine=engine, backend=backend, ray_address=ray_address,
                                    fmt=format, png_level=png_level, quality=quality, batch_size=batch_size,
                                    workers=workers, progress=advance)
        console.print(
            f"{result.written} images written to {result.out} in {result.seconds:.1f} s "
            f"({result.rate:,.0f} images/s, backend {result.backend}, engine {result.engine or 'not started'})"
            + (f"; {result.skipped} rows already done" if result.skipped else "")
            + f"; manifest {result.manifest_path}"
        )
        if result.failed:
            first = "; ".join(f"row {r}: {why}" for r, why in result.first_errors[:3])
            console.print(f"[yellow]{result.failed} of {result.total} rows failed (listed in {result.errors_path}): {first}[/]")
            raise typer.Exit(1)
