"""Rows of another feature recipe get one yellow warning line (batch-generate, prepare), rows of the right one none."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.data.features import RECIPE, SOUND_RECIPE, FeatureRecipe, clips_to_features, features_of, recipe_dict
from a2i_cli.data.normalize import Normalizer
from a2i_cli.data.recipe_check import recipe_warning, training_warning
from a2i_cli.data.schema import FEATURE_COLUMNS

runner = CliRunner()
FSDD = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fsdd"
FLOAT_AUDIO = FeatureRecipe(int16_scale=False)  # audio in [-1, 1] where a2i reads int16 values


def sounds(n: int, seed: int) -> np.ndarray:
    """(n, 16000): seconds of a tone with harmonics over noise, at random pitch and loudness (-40..-6 dBFS)."""
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    f0 = rng.uniform(80, 1000, (n, 1))
    x = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6, (n, 1))) / h for h in (1, 2, 3, 5))
    x = x + rng.normal(0, rng.uniform(0.05, 1, (n, 1)), (n, 16000))
    return (x / np.abs(x).max(axis=1, keepdims=True) * 10 ** rng.uniform(-2, -0.3, (n, 1))).astype(np.float32)


@pytest.fixture(scope="module")
def rows():
    """a2i's `second` recipe: training rows, other rows of the same recipe, and the same sounds by other recipes."""
    train, other = clips_to_features(sounds(300, 0)), sounds(200, 1)
    ours = clips_to_features(other)
    return {"train": train, "ours": ours, "x10": ours * 10, "float audio": clips_to_features(other, FLOAT_AUDIO),
            "normalised": Normalizer.fit(ours)(ours)}


def warning(feats, norm):
    return training_warning(feats, norm, RECIPE, "in.csv", "best.pt")


def test_far_from_the_training_rows(rows):
    norm = Normalizer.fit(rows["train"])
    assert warning(rows["ours"], norm) is None
    assert warning(rows["ours"][:64], norm) is None  # a first chunk
    for name in ("x10", "float audio", "normalised"):
        note = warning(rows[name], norm)
        assert note and "in.csv: its first 200 rows are far from the rows best.pt was trained on" in note, (name, note)
        assert "another feature recipe" in note and "`second` recipe" in note
    assert warning(rows["x10"][:19], norm) is None  # too few rows to say


@pytest.mark.skipif(not FSDD.is_dir(), reason=f"real recordings not found at {FSDD} (see ../shared/data/README.md)")
def test_real_recordings_a_new_speaker_is_not_another_recipe():
    """Spoken digits, `sound` recipe: a speaker the model never heard is fine; `second` rows of the same words are not."""
    from scipy.io import wavfile

    files = sorted(FSDD.glob("*.wav"))[::5]
    audio = [wavfile.read(f)[1] / 32768 for f in files]
    speakers = np.array([f.name.split("_")[1] for f in files])
    sound = np.stack([features_of(a, 8000, SOUND_RECIPE) for a in audio])
    for held_out in np.unique(speakers):
        norm = Normalizer.fit(sound[speakers != held_out])
        assert training_warning(sound[speakers == held_out], norm, SOUND_RECIPE, "x", "m") is None, held_out
    norm = Normalizer.fit(sound)
    second = np.stack([features_of(a, 8000, RECIPE) for a in audio[:100]])
    assert "far from the rows" in training_warning(second, norm, SOUND_RECIPE, "x", "m")


def psf_default_rows(clips: np.ndarray) -> np.ndarray:
    """python_speech_features' defaults (lifter 22, its energy as c0, 512-point FFT, no window), 8 frames of 0.25 s."""
    psf = pytest.importorskip("python_speech_features", reason="needs python_speech_features (pip install 'a2i[test]')")
    return np.stack([psf.mfcc(c * 32768.0, samplerate=16000, winlen=0.25, winstep=12000 / 7 / 16000)[:8].ravel()
                     for c in clips.astype(np.float64)])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # psf's logging.warn: "frame will be truncated"
def test_python_speech_features_defaults_are_another_recipe(rows):
    theirs = psf_default_rows(sounds(100, 1))
    assert "far from the rows" in warning(theirs, Normalizer.fit(rows["train"]))
    assert "coefficients 2-13 vary" in recipe_warning(theirs, recipe_dict(RECIPE), "d.csv")
    assert recipe_warning(theirs, "Kaggle scene dataset", "d.csv") is None  # they look like the Kaggle rows


def test_recipe_ranges(rows):
    second = recipe_dict(RECIPE)
    assert recipe_warning(rows["ours"], second, "d.csv") is None
    assert recipe_warning(rows["float audio"], recipe_dict(FLOAT_AUDIO), "d.csv") is None  # recorded as such
    assert "median log energy" in recipe_warning(rows["float audio"], second, "d.csv")
    assert "median log energy" in recipe_warning(rows["normalised"], second, "d.csv")
    note = recipe_warning(rows["x10"], second, "d.csv")
    assert note.startswith("d.csv: its features do not look like a2i's `second` recipe (") and "vary" in note
    kaggle = np.random.default_rng(0).normal(0, 10, (200, 104))  # like the test suite's tiny datasets
    assert recipe_warning(kaggle, None, "d.csv") is None
    assert "the Kaggle rows" in recipe_warning(kaggle * 10, None, "d.csv")


# ----------------------------------------------------------------------------- through the commands


def write_csv(path: Path, feats: np.ndarray) -> Path:
    frame = pd.DataFrame(feats, columns=FEATURE_COLUMNS)
    frame.insert(0, "id", [f"r{i}" for i in range(len(feats))])
    frame.to_csv(path, index=False)
    return path


def test_batch_generate_warns_once_and_still_generates(in_tmp, rows):
    import torch

    from a2i_cli.core.config import ModelConfig
    from a2i_cli.model.checkpoint import save_checkpoint
    from a2i_cli.model.network import build_model

    torch.manual_seed(0)
    save_checkpoint(in_tmp / "m.pt", build_model(ModelConfig(latent=16, image_size=32)).eval(), Normalizer.fit(rows["train"]))
    args = ["--model", "m.pt", "--engine", "eager", "--backend", "local", "--workers", "1"]
    r = runner.invoke(app, ["batch-generate", str(write_csv(in_tmp / "ok.csv", rows["ours"][:40])), "--out", "a", *args])
    assert r.exit_code == 0 and "warning" not in r.output, r.output
    r = runner.invoke(app, ["batch-generate", str(write_csv(in_tmp / "x10.csv", rows["x10"][:40])), "--out", "b", *args])
    assert r.exit_code == 0 and "40 images written" in r.output, r.output
    lines = [line for line in r.output.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1 and "x10.csv: its first 40 rows are far from the rows" in lines[0], r.output
    assert "m.pt was trained on" in lines[0] and "another feature recipe" in lines[0]
    from a2i_cli.inference import onnx_export

    if onnx_export.has_onnx():  # the ONNX engine normalises inside its graph; the check still sees the training rows
        r = runner.invoke(app, ["batch-generate", "x10.csv", "--out", "c", *args[:2], "--engine", "onnx", *args[4:]])
        assert r.exit_code == 0 and "x10.csv: its first 40 rows are far from the rows" in r.output, r.output


def a2i_dataset(root: Path, make_tiny_dataset, feats: np.ndarray) -> Path:
    """The tiny dataset with `feats` as its features and a dataset.json recording a2i's `second` recipe."""
    make_tiny_dataset(root)
    frame = pd.read_csv(root / "dataset.csv")
    frame[FEATURE_COLUMNS] = feats[: len(frame)]
    frame.to_csv(root / "dataset.csv", index=False)
    (root / "dataset.json").write_text(json.dumps({"source": "test", "feature_recipe": recipe_dict(RECIPE)}))
    return root


@pytest.mark.parametrize("kind", ["ours", "x10", "float audio"])
def test_prepare_warns_about_rows_unlike_the_recorded_recipe(in_tmp, make_tiny_dataset, rows, kind):
    data = a2i_dataset(in_tmp / kind.replace(" ", "_"), make_tiny_dataset, rows[kind])
    r = runner.invoke(app, ["prepare", str(data), "--class", "all", "--image-size", "32", "--name", "p"])
    assert r.exit_code == 0, r.output
    warned = [line for line in r.output.splitlines() if line.startswith("warning:")]
    if kind == "ours":
        assert not warned, r.output
    else:
        assert len(warned) == 1 and "do not look like a2i's `second` recipe" in warned[0], r.output
