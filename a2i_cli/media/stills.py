"""`a2i generate AUDIO`: images from a recording, with the feature recipe the model was trained on.

    stills_from_audio(Path("walk.wav"), Path("out/"), engine)   # out/walk_0000.png, ... + manifest.json

As the training rows were made (`engine.recipe`): a model of the `second` recipe (videos,
Kaggle rows) draws one image per second, image t from the audio of [t, t+1)
(`sliding_features`, 1 s hop); a model of the `sound` recipe (`extract audio`, one
recording per row) draws one image from the whole recording, its windows spread over the
recording's sound.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.atomic import write_json
from ..core.errors import UserError
from ..core.images import save_png
from ..core.locks import output_lock
from ..core.progress import NO_PROGRESS, Progress
from ..data.features import features_of, sliding_features
from .animate import batches, read_soundtrack


@dataclass
class StillsReport:
    out: Path
    files: list[Path]
    manifest: Path
    engine: str
    seconds: float


def stills_from_audio(audio_path: Path, out: Path, engine, batch_size: int = 64,
                      progress: Progress = NO_PROGRESS) -> StillsReport:
    """One image per second of the recording: OUT/<stem>_0000.png ... + OUT/manifest.json."""
    t0 = time.perf_counter()
    out = Path(out)
    if out.suffix.lower() == ".png" or (out.exists() and not out.is_dir()):
        per = "one image per recording" if engine.recipe.over_sound else "one image per second"
        raise UserError(f"with audio input, --out is a folder ({per} goes there, with manifest.json), got {out}")
    audio = read_soundtrack(audio_path, mono=True)
    with output_lock(out, "generate"):
        return _stills(audio_path, audio, out, engine, batch_size, progress, t0)


def _stills(audio_path: Path, audio, out: Path, engine, batch_size: int, progress: Progress, t0: float) -> StillsReport:
    recipe = engine.recipe
    if recipe.over_sound:  # one row per recording, as `extract audio` made them
        starts, ends = np.zeros(1), np.array([audio.duration])
        feats = features_of(audio.samples[0], audio.sample_rate, recipe)[None]  # (1, 104)
    else:
        starts, feats = sliding_features(audio.samples[0], audio.sample_rate, 1.0, recipe)  # (T,), (T, 104)
        ends = starts + recipe.clip_seconds
    stem = Path(audio_path).stem
    progress.start(len(feats), "generating")
    files, entries = [], []
    for a, b in batches(len(feats), batch_size):
        images = engine.generate(feats[a:b])  # (B, S, S, 3) uint8
        for j, image in enumerate(images, start=a):
            path = save_png(image, out / f"{stem}_{j:04d}.png")
            files.append(path)
            entries.append({"file": path.name, "start_s": float(starts[j]), "end_s": float(ends[j]), "row": j + 1})
        progress.advance(b - a)
    manifest = write_json(out / "manifest.json", {
        "audio": str(Path(audio_path).resolve()),
        "audio_seconds": round(audio.duration, 6),
        "model": str(engine.source),
        "engine": engine.name,
        "hop_seconds": None if recipe.over_sound else 1.0,
        "feature_recipe": recipe.to_dict(),
        "images": entries,
    })
    return StillsReport(out=out, files=files, manifest=manifest, engine=engine.name, seconds=time.perf_counter() - t0)
