"""`a2i demo`: the whole job on built-in demo data, offline, in a few minutes on a CPU."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..core.config import Arch, DemoConfig, Engine, Loss, defaults
from ._common import cli_errors, console, print_summary, progress_bar

D = defaults(DemoConfig)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @cli_errors
    def demo_cmd(
        classes: Annotated[list[str], typer.Option("--class", help="Class(es) to prepare and train on (repeat the option); 'all' for all nine.")] = D["classes"],
        rows: Annotated[int, typer.Option(help="Rows of demo data to make (all classes).")] = D["rows"],
        epochs: Annotated[int, typer.Option(help="Training epochs.")] = D["epochs"],
        arch: Annotated[Arch, typer.Option(help="Model: auto (a2i with its recipe on 2+ classes, seed on one), a2i, or seed (the student project's model and recipe exactly).")] = D["arch"],
        loss: Annotated[Optional[Loss], typer.Option(help="Training loss (default: the architecture's recipe; a2i: mse+ssim, seed: mse).", show_default=False)] = D["loss"],
        image_size: Annotated[int, typer.Option(help="Image size to train at: 32, 64, 128 or 256.")] = D["image_size"],
        batch_size: Annotated[int, typer.Option(help="Training rows per step, 2 or more (BatchNorm needs two).")] = D["batch_size"],
        seed: Annotated[int, typer.Option(help="Seed for the data, the split and training.")] = D["seed"],
        engine: Annotated[Engine, typer.Option(help="How the trained model runs to draw the test images.")] = D["engine"],
        name: Annotated[str, typer.Option(help="Run name under runs/<command>/.")] = D["name"],
        exist_ok: Annotated[bool, typer.Option(help="Reuse runs/*/<name> instead of making <name>2.")] = D["exist_ok"],
    ) -> None:
        """Make demo data, prepare it (all nine classes by default), train, generate the test images and score them."""
        from ..pipeline import run_demo

        cfg = DemoConfig(classes=list(classes), rows=rows, epochs=epochs, arch=arch, loss=loss, image_size=image_size,
                         batch_size=batch_size, seed=seed, engine=engine, name=name, exist_ok=exist_ok)
        with progress_bar() as bar:
            result = run_demo(cfg, log=console.print, progress=bar)
        print_summary(result.summary, baseline=result.summary["baseline_mean_training_image"])
        colour = result.summary["colour_error"]
        console.print(f"colour: the generated images' mean RGB is {colour['generated']:.1f} levels (0-255) from their "
                      f"targets' on average; the mean training image's {colour['mean_image']:.1f}")
        console.print(f"targets (top) beside generated (below): {result.picture}")
        console.print(f"scores: {result.run / 'scores' / 'scores.csv'}, {result.run / 'scores' / 'summary.json'}; "
                      f"model: {result.best}")
