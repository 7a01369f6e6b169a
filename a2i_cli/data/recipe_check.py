"""Do a table's features look like the recipe they should follow? A cheap one-line warning, never a refusal.

Rows made with another recipe (another MFCC tool's defaults, audio in [-1, 1] where a2i reads int16
values, features already normalised or scaled) are still 104 finite numbers each: every check of a
row passes and the model draws nonsense. Two comparisons catch the usual cases from a few statistics:

- `training_warning` (batch-generate): the first rows of the CSV against the rows the model was
  trained on, i.e. the per-feature mean and standard deviation (sd) stored in the checkpoint.
  It warns when the median feature mean moved more than SHIFT sd, when the rows spread more than
  SPREAD times as widely (narrower is normal: one video's seconds vary less than a whole dataset),
  or when one coefficient moved more than COEFF_SHIFT sd in the median window (int16 vs [-1, 1]
  audio moves only the first coefficient, by 2 ln 32768 = 20.8).
  Measured on ../shared/data (`second` and `sound` recipes): a spoken-digit speaker left out of the
  training rows, or the film's last 9 s against its first 20: shift 0.2-0.7, spread 1.2-2.0x,
  coefficient at most 3.7 sd. Another recipe: python_speech_features' defaults shift 2.0-2.3 and
  spread 5-9x, features x10 spread 10x, normalised features put coefficient 1 at 11 sd,
  [-1, 1] audio at 9-11 sd, `second` rows against a `sound` model at 7.5 sd.
- `recipe_warning` (prepare): a dataset's rows against the ranges its recorded recipe produces
  (`Ranges`): the median log energy of the windows that are not silence, and the typical spread of
  coefficients 2-13.

Both look at one sample of rows (the first SAMPLE_ROWS of a CSV), so the cost does not grow with the job.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import log
from pathlib import Path

import numpy as np

from .csv_stream import CsvStream
from .features import FeatureRecipe, recipe_from_dict
from .normalize import Normalizer
from .schema import N_COEFFS, N_FRAMES

SAMPLE_ROWS = 1000  # the first rows of a CSV say enough
MIN_ROWS = 20  # fewer say too little: no warning either way
SHIFT, SPREAD, COEFF_SHIFT = 2.0, 3.0, 6.0  # see the module docstring for what these were set against
SILENCE = log(1e-10)  # a2i's first coefficient of digital silence (features.py floors energies there)
INT16 = 2 * log(32768)  # how far int16-scale audio lifts the log energy above [-1, 1] audio


@dataclass(frozen=True)
class Distance:
    """How far a sample of rows sits from a model's training rows, in the training rows' standard deviations."""

    rows: int
    shift: float  # median over the 104 features of |mean - training mean| / training sd
    spread: float  # median over the 104 features of sd / training sd
    coeff: int  # the coefficient (0-12) whose mean moved most, in the median window
    coeff_shift: float  # that move, in training sd

    @property
    def far(self) -> bool:
        return self.shift > SHIFT or self.spread > SPREAD or self.coeff_shift > COEFF_SHIFT

    def describe(self) -> str:
        k = self.coeff + 1
        return (f"feature means a median {self.shift:.1f} sd off theirs, spread {self.spread:.1f}x as wide, "
                f"mfcc_{k}, mfcc_{k + N_COEFFS}, ... {self.coeff_shift:.1f} sd off")


def distance(feats: np.ndarray, norm: Normalizer) -> Distance:
    x = np.asarray(feats, dtype=np.float64)
    z = np.abs(x.mean(axis=0) - norm.mean) / norm.std  # (104,)
    ratio = x.std(axis=0) / norm.std
    per_coeff = np.median(z.reshape(N_FRAMES, N_COEFFS), axis=0)  # (13,) frame-major rows
    k = int(per_coeff.argmax())
    return Distance(len(x), float(np.median(z)), float(np.median(ratio)), k, float(per_coeff[k]))


def first_rows(stream: CsvStream, n: int = SAMPLE_ROWS) -> np.ndarray:
    """(k, 104) float32: the good rows among the first `n` data rows (bad ones are the job's to report)."""
    for chunk, _, _ in stream.chunks(n):
        return chunk.feats
    return np.zeros((0, N_FRAMES * N_COEFFS), np.float32)


def training_warning(feats: np.ndarray, norm: Normalizer | None, recipe: FeatureRecipe, source, model) -> str | None:
    """One line when `feats` (a CSV's first rows) sit far from the rows the model was trained on; else None."""
    if norm is None or len(feats) < MIN_ROWS:
        return None
    d = distance(feats, norm)
    if not d.far:
        return None
    return (f"{source}: its first {d.rows} rows are far from the rows {model} was trained on ({d.describe()}); "
            f"were they made with another feature recipe? The model expects a2i's `{recipe.placement}` recipe, "
            f"{recipe.describe()} (docs/data.md: Feature recipes)")


def engine_norm(engine) -> Normalizer | None:
    """The normalisation of a model's training rows, from an inference engine (duck-typed: `norm`, `meta`).

    Engines that normalise inside their graph (export, onnx) hold the identity: then the record an exported
    program carries (`meta["norm"]`), or None (unknown: no check)."""
    stored = (getattr(engine, "meta", None) or {}).get("norm")
    try:
        if stored:
            return Normalizer.from_dict(stored)
    except (ValueError, KeyError, TypeError):
        return None
    norm = getattr(engine, "norm", None)
    if norm is None or (not norm.mean.any() and (norm.std == 1).all()):
        return None
    return norm


@dataclass(frozen=True)
class Ranges:
    """What rows of a recipe look like: two numbers set by the recipe far more than by the audio."""

    name: str
    energy: tuple[float, float]  # the median first coefficient (log energy) of windows that are not silence
    scale: float  # at most this: the median over coefficients 2-13 of their sd over rows and windows
    floor: float | None  # nothing is below it (a2i: the log energy of digital silence)


def ranges_for(recorded) -> Ranges:
    """a2i's recipes (a recipe record): measured median energy 19.8-24.2 and scale 1.6-2.1 on the film clip,
    the spoken digits and the demo data; real int16 audio that is not silence can't go below 5 (sum of
    4,000 squares of at least a quantisation step). python_speech_features' defaults: energy 16-18, scale 13-14.
    The Kaggle description (no record): DATASET.md says c0 sits near 15 and the others swing -47..+30,
    much like python_speech_features' defaults, so only what neither could give is flagged."""
    if not isinstance(recorded, dict):
        return Ranges("the Kaggle rows (docs DATASET.md)", (-25.0, 35.0), 40.0, None)
    recipe = recipe_from_dict(recorded)
    lift = 0.0 if recipe.int16_scale else -INT16
    return Ranges(f"a2i's `{recipe.placement}` recipe", (5.0 + lift, 35.0 + lift), 8.0, SILENCE + lift)


def recipe_warning(feats: np.ndarray, recorded, source) -> str | None:
    """One line when a dataset's rows do not look like its recorded recipe (`recorded`: dataset.json's
    feature_recipe, or the Kaggle description); else None."""
    if len(feats) < MIN_ROWS:
        return None
    r = ranges_for(recorded)
    x = np.asarray(feats, dtype=np.float64).reshape(len(feats), N_FRAMES, N_COEFFS)
    energy, problems = x[..., 0], []
    if r.floor is not None and energy.min() < r.floor - 0.01:
        problems.append(f"a first coefficient of {energy.min():.1f}, below the {r.floor:.1f} of silence")
    sound = energy[energy > r.floor + 0.01] if r.floor is not None else energy.ravel()
    level = float(np.median(sound)) if sound.size else None
    if level is not None and not r.energy[0] <= level <= r.energy[1]:
        problems.append(f"median log energy (mfcc_1, mfcc_14, ...) {level:.1f}, expected {r.energy[0]:g} to "
                        f"{r.energy[1]:g}")
    scale = float(np.median(x[..., 1:].std(axis=(0, 1))))
    if scale > r.scale:
        problems.append(f"coefficients 2-13 vary with a median sd of {scale:.1f}, expected at most {r.scale:g}")
    if not problems:
        return None
    return (f"{source}: its features do not look like {r.name} ({'; '.join(problems)}); were they made with "
            "another feature recipe? A model trained on them gets a2i's recipe from `generate AUDIO` and `animate` "
            "(docs/data.md: Feature recipes)")


def prepared_warning(folder: Path, meta: dict) -> str | None:
    """recipe_warning for a prepared folder (all its rows: they are in memory anyway)."""
    feats = np.load(Path(folder) / "features.npy", allow_pickle=False)
    return recipe_warning(feats, meta.get("feature_recipe"), meta.get("csv", folder))
