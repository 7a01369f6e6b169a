"""`a2i batch-generate`: one image per row of an MFCC CSV, streamed and resumable, on local cores or Ray."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..core.config import Backend, BatchConfig, Engine, ImageFormat, defaults
from ._common import cli_errors, library_log, console, progress_bar, say

D = defaults(BatchConfig)


def register(app: typer.Typer) -> None:
    @app.command("batch-generate")
    @cli_errors
    def batch_generate_cmd(
        csv: Annotated[str, typer.Argument(help="CSV with mfcc_1..mfcc_104 (gzip allowed), a path or a URI (s3://...); other columns (IMAGE, CLASS2, ids) go to the manifest.", show_default=False)],
        out: Annotated[Optional[str], typer.Option(help="Output folder, a path or a URI (s3://bucket/prefix); rerun into the same folder to resume (default: a new runs/batch-generate/<name>).")] = D["out"],
        name: Annotated[str, typer.Option(help="Run name under runs/batch-generate/ when --out is not given.")] = D["name"],
        exist_ok: Annotated[bool, typer.Option(help="Reuse runs/batch-generate/<name> (resuming it) instead of making <name>2.")] = D["exist_ok"],
        model: Annotated[Optional[str], typer.Option(help="Checkpoint .pt or exported .pt2, a path or a URI (default: the newest runs/train/*/weights/best.pt).")] = D["model"],
        engine: Annotated[Engine, typer.Option(help="How the model runs: auto picks the fastest of fused, onnx (with the a2i\\[onnx] extra) and eager measured on this CPU (a2i env shows which and why).")] = D["engine"],
        backend: Annotated[Backend, typer.Option(help="Where work runs: local (a process per core), ray, or auto (ray when --ray-address or RAY_ADDRESS is given, in-process for 256 rows or fewer, else local).")] = D["backend"],
        ray_address: Annotated[Optional[str], typer.Option(help="Join this Ray cluster ('auto' or host:port) instead of starting a private local instance.")] = D["ray_address"],
        workers: Annotated[Optional[int], typer.Option(help="Worker processes / Ray actors (default: every core).")] = D["workers"],
        batch_size: Annotated[int, typer.Option(help="Rows per inference batch (and per manifest write).")] = D["batch_size"],
        format: Annotated[ImageFormat, typer.Option("--format", help="Image format.")] = D["format"],
        png_level: Annotated[int, typer.Option(help="PNG zlib level 0-9: 1 writes several times faster than Pillow's default 6 on photo-like images, files a little larger.")] = D["png_level"],
        quality: Annotated[int, typer.Option(help="JPEG/WebP quality 1-100.")] = D["quality"],
    ) -> None:
        """Generate an image for every row of a CSV: images/, manifest.csv, errors.csv (exit 1 if rows failed)."""
        from ..jobs.batch import batch_generate

        cfg = BatchConfig(out=out, name=name, exist_ok=exist_ok, model=model, engine=engine, backend=backend,
                          ray_address=ray_address, workers=workers, batch_size=batch_size, format=format,
                          png_level=png_level, quality=quality)
        with library_log("batch-generate"), progress_bar("generating") as bar:
            result = batch_generate(csv, cfg, progress=bar, warn=lambda note: say("warning:", "yellow", note))
        engines = ", ".join(f"{e} on {n} node{'s' if n > 1 else ''}" for e, n in result.engines.items())
        console.print(
            f"{result.written} images written to {result.out} in {result.seconds:.1f} s "
            f"({result.rate:,.0f} images/s, backend {'in-process' if result.backend == 'inline' else result.backend}, "
            f"engine {engines or 'not started'}{f' ({result.engine_choice})' if result.engine_choice else ''})"
            + (f"; {result.skipped} rows already done" if result.skipped else "")
            + f"; {result.present} images at {result.out} listed in {result.manifest_path}"
        )
        if result.failed:
            first = "; ".join(f"row {r}: {why}" for r, why in result.first_errors[:3])
            of = f" of {result.written + result.skipped + result.failed}"  # data rows read (blank lines are none)
            say("warning:", "yellow", f"{result.failed}{of} rows failed (listed in {result.errors_path}): {first}", console)
            raise typer.Exit(1)
