"""Whole-job recipes built from the library: the demo (data -> prepare -> train -> generate -> score).

    result = run_demo(DemoConfig(), log=print)  # nine classes, the a2i recipe, 64 px, 40 epochs

Also the two pieces the demo adds to the library: generating every row of a prepared
split (named after its targets, with a manifest `a2i score` reads) and a picture of
targets beside generated images.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .core.atomic import atomic_path
from .core.config import Arch, DemoConfig, DemoDataConfig, ModelConfig, PrepareConfig, SplitConfig, TrainConfig
from .core.errors import UserError
from .data.prepare import EmptySplit
from .core.images import read_rgb, save_png
from .core.progress import NO_PROGRESS, Progress
from .core.runs import new_run_dir
from .data.demo_data import make_demo_dataset
from .data.prepare import prepare
from .data.prepared import Prepared
from .eval.metrics import colour_error
from .eval.pairing import pair_images
from .eval.plots import pair_grid
from .eval.score import summarise, write_outputs
from .inference.engine import Engine, load_engine
from .jobs.score_job import score_pairs
from .model.trainer import Trainer


def generate_split(engine: Engine, prepared: Prepared, out: Path, split: str = "test", batch: int = 64) -> Path:
    """Generate an image for every row of a prepared split; write PNGs and manifest.csv.

    Files are named after the target's file name (forest0.png), manifest.csv holds
    row, path, IMAGE, CLASS1, CLASS2 so `a2i score` pairs them with the targets.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    idx = prepared.indices(split)
    rows = prepared.rows.iloc[idx]
    names = [Path(p).stem + ".png" for p in rows["IMAGE"]]
    if len(set(names)) != len(names):  # stems repeat across folders: fall back to row numbers
        names = [f"{r:08d}.png" for r in rows["row"]]
    for i in range(0, len(idx), batch):
        imgs = engine.generate(prepared.features[idx[i : i + batch]])  # (B, S, S, 3) uint8
        for name, img in zip(names[i : i + batch], imgs):
            save_png(img, out / name, compress_level=1)
    manifest = pd.DataFrame({"row": rows["row"].to_numpy(), "path": names, "IMAGE": rows["IMAGE"].to_numpy(),
                             "CLASS1": rows["CLASS1"].to_numpy(), "CLASS2": rows["CLASS2"].to_numpy()})
    with atomic_path(out / "manifest.csv") as tmp:
        manifest.to_csv(tmp, index=False)
    return out / "manifest.csv"


def comparison_picture(prepared: Prepared, generated: Path, out: Path, n: int = 16, split: str = "test") -> Path:
    """Targets beside generated images for n rows spread over the split."""
    idx = prepared.indices(split)
    pick = idx[np.linspace(0, len(idx) - 1, min(n, len(idx))).round().astype(int)]
    manifest = pd.read_csv(Path(generated) / "manifest.csv", keep_default_na=False).set_index("row")
    gens = [read_rgb(Path(generated) / manifest.loc[r, "path"]) for r in prepared.rows["row"].iloc[pick]]
    grid = pair_grid(np.asarray(prepared.images[pick]), np.stack(gens), labels=list(prepared.rows["CLASS2"].iloc[pick]))
    return save_png(grid, out)


def colour_check(prepared: Prepared, generated: Path, mean_image: np.ndarray, split: str = "test") -> dict[str, float]:
    """Mean colour error (eval.metrics.colour_error, 0-255) of the generated test images and of the mean training
    image against the same targets (the prepared test images, at the model's size): are the colours right?"""
    idx = prepared.indices(split)
    targets = np.asarray(prepared.images[idx])  # (N, S, S, 3) uint8
    manifest = pd.read_csv(Path(generated) / "manifest.csv", keep_default_na=False).set_index("row")
    gens = np.stack([read_rgb(Path(generated) / manifest.loc[r, "path"]) for r in prepared.rows["row"].iloc[idx]])
    return {"generated": float(colour_error(gens, targets).mean()),
            "mean_image": float(colour_error(np.broadcast_to(mean_image, targets.shape), targets).mean())}


@dataclass
class DemoResult:
    run: Path  # runs/demo/<name>
    best: Path  # the trained checkpoint
    summary: dict  # score summary with the mean-image baseline
    picture: Path  # targets (top) beside generated images (below)
    engine: str


def run_demo(cfg: DemoConfig, log: Callable[[str], None] = print, progress: Progress = NO_PROGRESS) -> DemoResult:
    """The whole job on built-in demo data, offline: five steps, each logged."""
    run = new_run_dir("demo", cfg.name, cfg.exist_ok, cfg.runs_root)
    name = run.name  # demo2 when demo is taken: prepare and train use the same name, so the three runs go together
    log(f"1/5 demo data -> {run / 'data'}")
    make_demo_dataset(DemoDataConfig(out=run / "data", rows=cfg.rows, seed=cfg.seed, exist_ok=cfg.exist_ok), progress)

    log(f"2/5 prepare {', '.join(cfg.classes)} at {cfg.image_size}px, split by source folder")
    pcfg = PrepareConfig(data=run / "data", classes=list(cfg.classes), image_size=cfg.image_size, name=name,
                         exist_ok=cfg.exist_ok, runs_root=cfg.runs_root, split=SplitConfig(seed=cfg.seed))
    try:
        prepared_dir, meta = prepare(pcfg, progress)
    except EmptySplit:
        raise UserError(f"--rows {cfg.rows} is too few for a split by source folder of {', '.join(cfg.classes)}: "
                        f"no training or no test rows were left; give more --rows (the default is 2000)") from None
    log(f"   {meta['counts']['train']} train / {meta['counts'].get('val', 0)} validation / {meta['counts']['test']} test rows -> {prepared_dir}")

    log("3/5 train")
    tcfg = TrainConfig(prepared=prepared_dir, epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                       model=ModelConfig(arch=cfg.arch, image_size=cfg.image_size), name=name, exist_ok=cfg.exist_ok,
                       runs_root=cfg.runs_root, loss=cfg.loss)
    trainer = Trainer(tcfg, log=log)
    trainer.fit(progress)
    best = trainer.run_dir / "weights" / "best.pt"

    log("4/5 generate the test images")
    engine = load_engine(best, cfg.engine)
    prepared = Prepared.load(prepared_dir)
    generated = run / "generated"
    generate_split(engine, prepared, generated)
    why = f", {engine.choice}" if engine.choice else ""
    log(f"   {len(prepared.indices('test'))} images -> {generated} (engine {engine.name}{why})")

    log("5/5 score")
    pairs = pair_images(generated, run / "data")
    frame, problems = score_pairs(pairs, progress=progress)
    summary = summarise(frame, problems, pairs.unmatched)
    summary["baseline_mean_training_image"] = trainer.baselines.baseline
    summary["colour_error"] = colour_check(prepared, generated, trainer.baselines.mean_image)
    write_outputs(run / "scores", frame, summary)
    picture = comparison_picture(prepared, generated, run / "comparison.png")
    return DemoResult(run=run, best=best, summary=summary, picture=picture, engine=engine.name)
