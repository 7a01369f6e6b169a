"""Does a video hold together? Flicker while the scene sounds the same, and the delay to follow a scene change.

    python benchmarks/video_quality.py --model runs/train/demo/weights/best.pt --prepared runs/prepare/demo
    python benchmarks/video_quality.py --train      # makes demo data, prepares all nine classes, trains (40 epochs)

The soundtrack is built from the demo's own sound synthesis (a2i_cli/data/demo_audio.py),
with source styles and scene walks of a seed the training data never used: several scenes
of --seconds each, back to back (by default all nine classes, 20 s each). `a2i animate`'s
own frame drawing (media/animate.py draw_frames, no video codec in between) makes the
frames at --fps, once with every frame on its own (--smooth 0, a2i before frame cohesion)
and once for each --smooth. For each:

  flicker    the mean absolute change of a pixel value (0-255) between consecutive frames,
             over the steady parts: frames more than --margin seconds from a scene change
  delay      per scene change in the sound: seconds until the scene classifier of the
             prepared folder (the one `a2i train` scores with) reads the new scene in
             --hold seconds of consecutive frames (negative: the picture changed before the
             boundary, as a centred window hears the next scene coming); mean and worst
  read       the share of steady frames the classifier reads as the scene that sounds
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from a2i_cli.data.classes import CLASS2_LABELS  # noqa: E402
from a2i_cli.data.demo_audio import SR, synth_class  # noqa: E402
from a2i_cli.data.demo_data import scene_parameters  # noqa: E402
from a2i_cli.eval.video import change_delays, flicker  # noqa: E402
from a2i_cli.media.animate import draw_frames, padded_sound  # noqa: E402


def soundtrack(classes: list[str], seconds: int, seed: int) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Scenes back to back: (samples at 16 kHz, [(start second, CLASS2)]). Each scene is one new source: its own
    style and a slow walk of its scene parameters, synthesised a second at a time as the demo data is."""
    rng = np.random.default_rng([seed, 77])
    parts, changes = [], []
    for i, class2 in enumerate(classes):
        style = rng.random(8)
        clips = synth_class(class2, scene_parameters(rng, seconds), style, rng)  # (seconds, 16000)
        parts.append(clips.reshape(-1))
        changes.append((float(i * seconds), class2))
    return np.concatenate(parts).astype(np.float32), changes


def measure(engine, classifier, samples: np.ndarray, changes: list[tuple[float, str]], fps: int, smooth: float,
            margin: float, hold: float) -> dict:
    x16 = padded_sound(samples, SR, engine.recipe)
    n = int(round(len(samples) / SR * fps))
    frames = np.concatenate([f for _, _, f in draw_frames(x16, n, engine, fps, 64, smooth)])  # (n, S, S, 3)
    read = classifier.predict(frames)  # (n,) class index
    idx = {c: i for i, c in enumerate(classifier.classes)}
    t = np.arange(n) / fps
    starts = np.array([c for c, _ in changes])
    scene = np.searchsorted(starts, t, side="right") - 1  # (n,) which scene sounds at frame k
    truth = np.array([idx[changes[s][1]] for s in scene])
    steady = np.ones(n, bool)
    for c in starts[1:]:
        steady &= np.abs(t - c) > margin
    steady_pairs = steady[1:] & steady[:-1]
    delays = change_delays(read, [(c, idx[k]) for c, k in changes[1:]], fps, hold=max(1, int(round(hold * fps))))
    return {
        "smooth": smooth,
        "flicker_steady": float(flicker(frames)[steady_pairs].mean()),
        "delay_mean": float(np.mean(delays)) if delays else float("nan"),
        "delay_worst": float(np.max(delays)) if delays else float("nan"),
        "read_steady": float((read[steady] == truth[steady]).mean()),
        "frames": n,
    }


def table(rows: list[dict], setup: str) -> str:
    out = [f"**video**: {setup}", "",
           "| frames | flicker while steady (0-255) | vs independent | delay to follow a scene change: mean | worst | steady frames read as their scene |",
           "|---|---:|---:|---:|---:|---:|"]
    base = rows[0]["flicker_steady"]
    for r in rows:
        name = "independent (`--smooth 0`)" if not r["smooth"] else f"`--smooth {r['smooth']:g}`"
        out.append(f"| {name} | {r['flicker_steady']:.2f} | {r['flicker_steady'] / base:.2f}x | {r['delay_mean']:+.2f} s | "
                   f"{r['delay_worst']:+.2f} s | {r['read_steady']:.1%} |")
    return "\n".join(out)


def video_table(best: Path, prepared: Path, smooths: list[float], fps: int = 8, seconds: int = 20, seed: int = 1,
                margin: float = 1.5, hold: float = 0.5, classes: list[str] | None = None,
                label: str | None = None) -> tuple[list[dict], str]:
    from a2i_cli.data.prepared import Prepared
    from a2i_cli.inference.engine import load_engine
    from a2i_cli.model.classifier import load_or_train_classifier

    data = Prepared.load(prepared)
    classifier = load_or_train_classifier(data)
    if classifier is None:
        raise SystemExit(f"{prepared} holds one class: the video table needs a model of 2+ classes")
    classes = classes or [c for c in CLASS2_LABELS if c in classifier.classes]
    engine = load_engine(best, "auto", latents=True)
    samples, changes = soundtrack(classes, seconds, seed)
    rows = [measure(engine, classifier, samples, changes, fps, s, margin, hold) for s in [0.0, *smooths]]
    setup = (f"{len(classes)} scenes of {seconds} s back to back ({len(classes) * seconds} s, sources the model never "
             f"heard), {fps} fps, model {label or best}; steady = more than {margin:g} s from a change; a change is followed when "
             f"the scene classifier reads the new scene for {hold:g} s straight")
    return rows, table(rows, setup)


def train_demo(root: Path, epochs: int) -> tuple[Path, Path]:
    from a2i_cli.core.config import DemoDataConfig, ModelConfig, PrepareConfig, TrainConfig
    from a2i_cli.data.demo_data import make_demo_dataset
    from a2i_cli.data.prepare import prepare
    from a2i_cli.model.trainer import Trainer

    make_demo_dataset(DemoDataConfig(out=root / "data", rows=2000, seed=0))
    prepared, _ = prepare(PrepareConfig(data=root / "data", classes=["all"], image_size=64, name="video",
                                        runs_root=root / "runs"))
    trainer = Trainer(TrainConfig(prepared=prepared, epochs=epochs, name="video", runs_root=root / "runs",
                                  model=ModelConfig(arch="auto", image_size=64)), log=print)
    trainer.fit()
    return trainer.run_dir / "weights" / "best.pt", prepared


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="a best.pt of 2+ demo classes")
    ap.add_argument("--prepared", type=Path, help="its prepared folder (for the scene classifier)")
    ap.add_argument("--train", action="store_true", help="make demo data and train the default model first")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--smooth", default="0.25,0.5,1", help="comma list of --smooth seconds to compare with 0")
    ap.add_argument("--fps", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=20, help="seconds per scene")
    ap.add_argument("--seed", type=int, default=1, help="the soundtrack's seed (the demo data uses 0)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    try:
        smooths = [float(s) for s in args.smooth.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--smooth {args.smooth!r} must be a comma list of seconds, e.g. 0.25,0.5")
    if args.train:
        root = Path(tempfile.mkdtemp(prefix="a2i-video-"))
        best, prepared = train_demo(root, args.epochs)
    elif args.model and args.prepared:
        best, prepared = args.model, args.prepared
    else:
        ap.error("pass --model and --prepared, or --train")
    rows, text = video_table(best, prepared, smooths, args.fps, args.seconds, args.seed)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
