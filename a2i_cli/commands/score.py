"""`a2i score`: SSIM, histogram similarity, MSE, PSNR and sharpness of generated images against their targets, and
with --classifier the Fréchet distance of the two sets."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.config import Backend, ScoreConfig, defaults
from ._common import cli_errors, library_log, console, err_console, pick, print_summary, progress_bar, say

D = defaults(ScoreConfig)


def register(app: typer.Typer) -> None:
    @app.command("score")
    @cli_errors
    def score_cmd(
        generated: Annotated[Optional[str], typer.Argument(help="Folder of generated images, a path or a URI (its manifest.csv pairs them with targets); default: the newest batch-generate output.", show_default=False)] = None,
        targets: Annotated[Optional[str], typer.Argument(help="Folder of target images (matched by file name), or the dataset folder / CSV a manifest's IMAGE paths are relative to; a path or a URI.", show_default=False)] = None,
        out: Annotated[Optional[Path], typer.Option(help="Output folder (default: runs/score/<name>).")] = D["out"],
        name: Annotated[str, typer.Option(help="Run name under runs/score/ when --out is not given.")] = D["name"],
        exist_ok: Annotated[bool, typer.Option(help="Reuse runs/score/<name> instead of making <name>2.")] = D["exist_ok"],
        backend: Annotated[Backend, typer.Option(help="Where work runs: local (a process per core), ray, or auto (ray with a cluster address or RAY_ADDRESS, in-process for a few hundred pairs, else local).")] = D["backend"],
        ray_address: Annotated[Optional[str], typer.Option(help="Join this Ray cluster ('auto' or host:port) instead of starting a private local instance.")] = D["ray_address"],
        workers: Annotated[Optional[int], typer.Option(help="Worker processes / Ray actors (default: every core).")] = D["workers"],
        examples: Annotated[int, typer.Option(help="Pairs shown per group (best, median, worst) in report.md.")] = D["examples"],
        allow_outside_paths: Annotated[bool, typer.Option(help="Follow manifest or CSV paths that lead outside GENERATED / TARGETS (off: such pairs are refused and listed).")] = D["allow_outside_paths"],
        classifier: Annotated[Optional[Path], typer.Option(help="A scene classifier a2i trained (runs/prepare/<name>/classifier.pt): also report the Fréchet distance (FD) of the generated images to the targets in its features (lower is better).", show_default=False)] = D["classifier"],
        data: Annotated[Optional[str], typer.Option(hidden=True, help="Old spelling: pass TARGETS.")] = None,
    ) -> None:
        """Score generated images against their targets: scores.csv, summary.json, report.md and a table."""
        from ..jobs.batch_output import last_output
        from ..jobs.score_job import score_folder

        targets = pick(targets, data, "--data", "TARGETS") or D["targets"]
        cfg = ScoreConfig(targets=targets, out=out, name=name, exist_ok=exist_ok, backend=backend,
                          ray_address=ray_address, workers=workers, examples=examples,
                          allow_outside_paths=allow_outside_paths, classifier=classifier)
        if generated is None:
            generated = last_output()
            console.print(f"scoring the newest batch-generate output {generated} against {cfg.targets}")
        with library_log("score"), progress_bar("scoring") as bar:
            result = score_folder(generated, cfg, progress=bar)
        summary, problems, json_path = result.summary, result.problems, result.json_path
        csv_path, report, pairs_unmatched = result.csv_path, result.report, result.unmatched
        print_summary(summary)
        if "fd" in summary:
            console.print(f"Fréchet distance (FD) of the generated images to the targets in the features of "
                          f"{summary['fd_classifier']}: {summary['fd']:.3f} (0 = the same distribution, lower is better)")
        if "fd_note" in summary:
            err_console.print(f"note: {summary['fd_note']}")
        console.print(f"per-image scores -> {csv_path}; summary -> {json_path}; report -> {report}")
        if problems or pairs_unmatched:
            shown = 3
            for p in problems[:shown]:
                err_console.print(f"not scored: {p['name']}: {p['reason']}")
            if len(problems) > shown:
                listed = len(summary.get("problems", problems))
                first = f", which lists the first {listed}" if listed < len(problems) else ""
                err_console.print(f"... and {len(problems) - shown} more (see {json_path}{first})")
            say("warning:", "yellow", f"{len(problems)} pairs could not be scored, {len(pairs_unmatched)} generated "
                f"images had no target (listed in {json_path})", console)
        if problems:  # every output is written; the exit code tells a script that some pairs failed
            raise typer.Exit(1)
