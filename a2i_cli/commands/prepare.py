"""`a2i prepare`: pick classes, split without leakage, normalise, cache."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.config import PrepareConfig, SplitConfig, SplitMethod, defaults
from ._common import cli_errors, console, pick, progress_bar, say

D, S = defaults(PrepareConfig), defaults(SplitConfig)


def register(app: typer.Typer) -> None:
    @app.command("prepare")
    @cli_errors
    def prepare_cmd(
        data: Annotated[Optional[Path], typer.Argument(help="Dataset folder holding dataset.csv and images/ (scene schema).", show_default=str(D["data"]))] = None,
        classes: Annotated[list[str], typer.Option("--class", help="CLASS2 to keep (case-insensitive, repeatable); 'all' keeps every class.")] = D["classes"],
        split: Annotated[SplitMethod, typer.Option(help="source: whole source folders on one side (no leakage); random: the seed project's random protocol.")] = S["method"],
        test_fraction: Annotated[float, typer.Option(help="Share of rows for the test side.")] = S["test_fraction"],
        train_size: Annotated[Optional[int], typer.Option(help="--split random only: training rows (e.g. 360).")] = S["train_size"],
        test_size: Annotated[Optional[int], typer.Option(help="--split random only: test rows (e.g. 120).")] = S["test_size"],
        seed: Annotated[int, typer.Option(help="Seed of the split.")] = S["seed"],
        test_folders: Annotated[list[str], typer.Option("--test-folder", help="--split source: put exactly these source folders (e.g. a speaker) on the test side; repeatable.")] = list(S["test_folders"]),
        val_fraction: Annotated[float, typer.Option(help="Share of the training side kept as validation rows, which choose best.pt (a contiguous block of each training folder; --split random: rows the split left unused). 0 = none.")] = S["val_fraction"],
        image_size: Annotated[int, typer.Option(help="Resize images once, here: 32, 64, 128 or 256.")] = D["image_size"],
        skip_bad: Annotated[bool, typer.Option(help="Skip rows with bad features or images (listed) instead of stopping.")] = D["skip_bad"],
        allow_outside_paths: Annotated[bool, typer.Option(help="Read IMAGE paths that lead outside DATA (absolute, '..', symlinks); off: such rows are refused.")] = D["allow_outside_paths"],
        name: Annotated[Optional[str], typer.Option(help="Run name under runs/prepare/ (default: the class names).")] = D["name"],
        exist_ok: Annotated[bool, typer.Option(help="Reuse runs/prepare/<name> instead of making <name>2.")] = D["exist_ok"],
        data_old: Annotated[Optional[Path], typer.Option("--data", hidden=True, help="Old spelling: pass DATA.")] = None,
    ) -> None:
        """Read a scene dataset, pick classes, split, normalise and cache it for training."""
        from ..data.prepare import prepare
        from ..data.recipe_check import prepared_warning

        data = pick(data, data_old, "--data", "DATA") or D["data"]
        cfg = PrepareConfig(
            data=data, classes=list(classes), image_size=image_size, skip_bad=skip_bad, name=name, exist_ok=exist_ok,
            allow_outside_paths=allow_outside_paths,
            split=SplitConfig(method=split, test_fraction=test_fraction, train_size=train_size, test_size=test_size,
                              seed=seed, test_folders=tuple(test_folders), val_fraction=val_fraction),
        )
        with progress_bar("decoding images") as bar:
            out, meta = prepare(cfg, progress=bar)
        skipped = meta["skipped_rows"]
        if skipped:
            rows = ", ".join(str(b["row"]) for b in skipped[:20]) + (" ..." if len(skipped) > 20 else "")
            console.print(f"skipped {len(skipped)} bad rows: {rows} (reasons in {out / 'meta.json'})")
        console.print("classes: " + ", ".join(f"{k} {v}" for k, v in meta["classes"].items()))
        folders = meta["folders"]
        trained = set(folders["train"]) | set(folders["val"])
        blocks = cfg.split.method == SplitMethod.source  # a folder on both sides was cut into blocks
        held = [f for f in folders["test"] if not blocks or f not in trained]  # whole folders on the test side
        cut = [f for f in folders["test"] if blocks and f in trained]
        console.print(f"split {cfg.split.method}: {meta['counts']['train']} train / {meta['counts']['val']} validation / "
                      f"{meta['counts']['test']} test rows"
                      + (f"; test folders: {', '.join(held)}" if held else "")
                      + (f"; cut into blocks: {', '.join(cut)}" if cut else ""))
        console.print(f"prepared -> {out}")
        note = prepared_warning(out, meta)
        if note:
            say("warning:", "yellow", note)
