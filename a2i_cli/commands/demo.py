"""`a2i demo`: the whole job on built-in demo data, offline, in a few minutes on a CPU."""
from __future__ import annotations

from typing import Annotated

import typer

from ._common import cli_errors, console, progress_bar


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @cli_errors
    def demo_cmd(
        classes: Annotated[list[str], typer.Option("--class", help="Class(es) to prepare and train on; 'all' for all nine.")] = ["BEACH"],
        rows: Annotated[int, typer.Option(help="Rows of demo data to make (all classes).")] = 2000,
        epochs: Annotated[int, typer.Option(help="Training epochs.")] = 80,
        loss: Annotated[str, typer.Option(help="Training loss: 'mse+ssim' (sharper, beats the mean image on SSIM) or 'mse'.")] = "mse+ssim",
        image_size: Annotated[int, typer.Option(help="Image size to train at: 32, 64, 128 or 256.")] = 128,
        batch_size: Annotated[int, typer.Option(help="Training batch size.")] = 32,
        seed: Annotated[int, typer.Option(help="Seed for the data, the split and training.")] = 0,
        name: Annotated[str, typer.Option(help="Run name under runs/<command>/.")] = "demo",
    ) -> None:
        """Make demo data, prepare one class, train, generate the test images and score them."""
        from ..demo import make_demo_dataset
        from ..engine import load_engine
        from ..model import ModelConfig
        from ..pipeline import comparison_picture, generate_split
        from ..prepare import PrepareConfig, Prepared, prepare
        from ..runs import new_run_dir
        from ..score import pair_images, score_pairs, summarise, write_outputs
        from ..splits import SplitConfig
        from ..train import TrainConfig, Trainer
        from .score import print_summary
        from .train import run_train

        from ..errors import UserError
        from ..model import check_image_size

        try:  # fail before spending a minute on the data
            check_image_size(image_size)
        except ValueError as e:
            raise UserError(str(e))
        run = new_run_dir("demo", name)
        console.print(f"[bold]1/5 demo data[/] -> {run / 'data'}")
        with progress_bar(transient=True) as bar:
            task = bar.add_task("drawing scenes", total=rows, rate="")
            make_demo_dataset(run / "data", rows=rows, seed=seed, progress=lambda n: bar.advance(task, n))

        console.print(f"[bold]2/5 prepare[/] {', '.join(classes)} at {image_size}px, split by source folder")
        pcfg = PrepareConfig(data=run / "data", classes=list(classes), image_size=image_size, name=name,
                             split=SplitConfig(seed=seed))
        prepared_dir, meta = prepare(pcfg)
        console.print(f"   {meta['counts']['train']} train / {meta['counts']['test']} test rows -> {prepared_dir}")

        console.print("[bold]3/5 train[/]")
        tcfg = TrainConfig(prepared=prepared_dir, epochs=epochs, batch_size=batch_size, seed=seed,
                           model=ModelConfig(image_size=image_size), name=name, loss=loss)
        trainer = Trainer(tcfg, log=console.print)
        run_train(trainer)
        best = trainer.run_dir / "weights" / "best.pt"

        console.print("[bold]4/5 generate[/] the test images")
        engine = load_engine(best, "auto")
        prepared = Prepared.load(prepared_dir)
        generated = run / "generated"
        generate_split(engine, prepared, generated)
        console.print(f"   {len(prepared.indices('test'))} images -> {generated} (backend {engine.backend})")

        console.print("[bold]5/5 score[/]")
        pairs = pair_images(generated, run / "data")
        frame, problems = score_pairs(pairs)
        summary = summarise(frame, problems, pairs.unmatched)
        summary["baseline_mean_training_image"] = trainer.baseline
        write_outputs(run / "scores", frame, summary)
        print_summary(summary, baseline=trainer.baseline)
        picture = comparison_picture(prepared, generated, run / "comparison.png")
        console.print(f"targets (top) beside generated (below): [bold]{picture}[/]")
        console.print(f"scores: {run / 'scores' / 'scores.csv'}, {run / 'scores' / 'summary.json'}; model: {best}")
