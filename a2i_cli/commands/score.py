"""`a2i score`: SSIM, histogram similarity, MSE and PSNR of generated images against targets."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import cli_errors, console, err_console, progress_bar


def register(app: typer.Typer) -> None:
    @app.command("score")
    @cli_errors
    def score_cmd(
        generated: Annotated[Optional[Path], typer.Argument(help="Folder of generated images (manifest.csv used when present); default: the newest batch-generate output.")] = None,
        targets: Annotated[Optional[Path], typer.Argument(help="Folder of target images (matched by file name) or a dataset CSV; default: --data.")] = None,
        data: Annotated[Path, typer.Option(help="Dataset folder the manifest's IMAGE paths are relative to (when TARGETS is not given).")] = Path("data"),
        out: Annotated[Optional[Path], typer.Option(help="Output folder (default: runs/score/<name>).")] = None,
        name: Annotated[str, typer.Option(help="Run name under runs/score/ when --out is not given.")] = "exp",
        backend: Annotated[str, typer.Option(help="Execution: local (process per core), ray, or auto (ray with a cluster address or RAY_ADDRESS, in-process for a few hundred pairs, else local).")] = "auto",
        ray_address: Annotated[Optional[str], typer.Option(help="Join this Ray cluster ('auto' or host:port) instead of starting a private local instance.")] = None,
        workers: Annotated[Optional[int], typer.Option(help="Worker processes / Ray actors (default: every core).")] = None,
        examples: Annotated[int, typer.Option(help="Pairs shown per group (best, median, worst) in report.md.")] = 6,
    ) -> None:
        """Score generated images against their targets: scores.csv, summary.json, report.md and a table."""
        from ..batch import last_output
        from ..errors import UserError
        from ..report import write_report
        from ..runs import new_run_dir
        from ..score import pair_images, score_pairs, summarise, write_outputs

        if workers is not None and workers < 1:
            raise UserError(f"--workers must be positive, got {workers}")
        if generated is None:
            generated = last_output()
            console.print(f"scoring the newest batch-generate output {generated} against {targets or data}")
        if examples < 0:
            raise UserError(f"--examples must be 0 or more, got {examples}")
        pairs = pair_images(generated, targets or data)
        out = out or new_run_dir("score", name)
        with progress_bar() as bar:
            task = bar.add_task("scoring", total=len(pairs.generated), rate="")
            frame, problems = score_pairs(pairs, progress=lambda n: bar.advance(task, n), backend=backend,
                                          workers=workers, ray_address=ray_address)
        summary = summarise(frame, problems, pairs.unmatched)
        csv_path, json_path = write_outputs(out, frame, summary)
        report = write_report(out, frame, summary, n_examples=examples)
        print_summary(summary)
        console.print(f"per-image scores -> {csv_path}; summary -> {json_path}; report -> {report}")
        if problems or pairs.unmatched:
            for p in problems[:3]:
                err_console.print(f"not scored: {p['name']}: {p['reason']}")
            console.print(f"[yellow]{len(problems)} pairs could not be scored, {len(pairs.unmatched)} generated images "
                          f"had no target (listed in {json_path})[/]")
        if problems:  # every output is written; the exit code tells a script that some pairs failed
            raise typer.Exit(1)


def print_summary(summary: dict, baseline: dict | None = None) -> None:
    from rich.table import Table

    table = Table(title=f"{summary['pairs_scored']} pairs")
    table.add_column("metric")
    table.add_column("mean", justify="right")
    table.add_column("median", justify="right")
    table.add_column("min", justify="right")
    table.add_column("max", justify="right")
    if baseline:
        table.add_column("mean-image baseline", justify="right")
    fmt = {"ssim": "{:.4f}", "hist": "{:.4f}", "mse": "{:.1f}", "psnr": "{:.2f}"}
    label = {"ssim": "SSIM", "hist": "histogram similarity", "mse": "MSE (0-255)", "psnr": "PSNR (dB)"}
    for m, st in summary["metrics"].items():
        cells = [fmt[m].format(st[k]) for k in ("mean", "median", "min", "max")]
        if baseline:
            cells.append(fmt[m].format(baseline[m]))
        table.add_row(label[m], *cells)
    console.print(table)
