"""Feature recipes as data: windows over the sound vs the fixed second, stored and used wherever audio becomes features."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.io import wavfile
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import ModelConfig
from a2i_cli.core.errors import UserError
from a2i_cli.data.features import (
    RECIPE,
    SOUND_RECIPE,
    clips_to_features,
    features_of,
    recipe_from_dict,
    sliding_features,
    sound_features,
    sound_span,
)
from a2i_cli.data.normalize import Normalizer
from a2i_cli.inference.engine import load_engine
from a2i_cli.model.checkpoint import save_checkpoint
from a2i_cli.model.network import build_model

runner = CliRunner()
SR = 16000


def word(seconds: float, lead: float, tail: float, freq: float = 500.0, seed: int = 0) -> np.ndarray:
    """A 'spoken word': a gliding tone of `seconds` between silences (faint noise) of `lead` and `tail` seconds."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    tone = 0.4 * np.sin(2 * np.pi * (freq + 600 * t) * t) * np.hanning(len(t)) ** 0.2
    x = np.concatenate([np.zeros(int(lead * SR)), tone, np.zeros(int(tail * SR))])
    return (x + 1e-4 * rng.standard_normal(len(x))).astype(np.float32)


def test_sound_span_finds_the_word():
    x = word(0.4, 0.3, 0.5)
    start, end = sound_span(x)
    assert abs(start / SR - 0.3) < 0.03 and abs(end / SR - 0.7) < 0.03


def test_windows_over_the_sound_ignore_where_the_word_falls():
    early, late = word(0.4, 0.05, 0.8), word(0.4, 0.5, 0.35)
    a, b = features_of(early, SR, SOUND_RECIPE), features_of(late, SR, SOUND_RECIPE)
    np.testing.assert_allclose(a, b, atol=0.05 * np.abs(a).max())
    # over a fixed second the same word lands in other windows: silence in most of them
    s_early, s_late = features_of(early, SR, RECIPE), features_of(late, SR, RECIPE)
    assert np.abs(s_early - s_late).max() > 10 * np.abs(a - b).max()
    energy = features_of(early, SR, SOUND_RECIPE).reshape(8, 13)[:, 0]
    assert (energy > features_of(early, SR, RECIPE).reshape(8, 13)[:, 0].min() + 10).all()  # no silent window


def test_sound_recipe_equals_the_reference_on_a_full_second():
    """A sound that fills the whole second: its windows are the Kaggle windows (the batched `second` path)."""
    t = np.arange(SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    np.testing.assert_allclose(sound_features(x), clips_to_features(x[None])[0], rtol=1e-4, atol=1e-3)


def test_sliding_features_follow_the_recipe():
    x = np.concatenate([word(0.3, 0.2, 0.5), word(0.5, 0.1, 0.4, freq=900)])  # two seconds, a word in each
    starts, feats = sliding_features(x, SR, 1.0, SOUND_RECIPE)
    assert list(starts) == [0.0, 1.0]
    np.testing.assert_allclose(feats[1], sound_features(x[SR : 2 * SR]), rtol=1e-5, atol=1e-4)


def test_recipe_records_read_back():
    assert recipe_from_dict(SOUND_RECIPE.to_dict()) == SOUND_RECIPE
    assert recipe_from_dict(json.loads(json.dumps(RECIPE.to_dict()))) == RECIPE
    old = {k: v for k, v in RECIPE.to_dict().items() if k not in ("placement", "trim_db", "min_sound_seconds")}
    assert recipe_from_dict(old) == RECIPE  # records older than placements: the fixed second
    assert recipe_from_dict("Kaggle scene dataset: ...") == RECIPE and recipe_from_dict(None) == RECIPE
    for edited in ("bogus", 5, [1]):  # not a record a2i writes: refused, not read as the fixed second
        with pytest.raises(UserError, match="not a JSON object"):
            recipe_from_dict(edited, "x.json")
    with pytest.raises(UserError, match="8 x 13"):
        recipe_from_dict({**RECIPE.to_dict(), "n_windows": 10}, "x.json")
    with pytest.raises(UserError, match="placement"):
        recipe_from_dict({**RECIPE.to_dict(), "placement": "middle"}, "x.json")


@pytest.mark.parametrize("field, value", [
    ("placement", None), ("placement", 5), ("placement", []), ("placement", {}), ("n_windows", "8"), ("sample_rate", 0),
    ("sample_rate", -16000),
    ("sample_rate", 16000.5), ("trim_db", float("nan")), ("n_fft", 1e9), ("min_sound_seconds", 1e9), ("fmax", 9000),
    ("window_samples", 20000), ("int16_scale", "yes"), ("window", "hann"), ("n_mels", True), ("preemphasis", 1.0),
])
def test_an_edited_recipe_is_refused_naming_the_field(field, value):
    """A recipe record that a2i could not have written (wrong type or range) is one error naming the field, not a crash."""
    with pytest.raises(UserError, match=f"x.json: feature recipe {field} = .* must be") as e:
        recipe_from_dict({**SOUND_RECIPE.to_dict(), field: value}, "x.json")
    assert "\n" not in str(e.value)


def test_prepare_refuses_an_edited_recipe_before_any_work(tiny_data, in_tmp):
    meta = {"source": "a2i extract", "feature_recipe": {**SOUND_RECIPE.to_dict(), "placement": "bogus"}}
    (tiny_data / "dataset.json").write_text(json.dumps(meta))
    r = runner.invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32"])
    assert r.exit_code == 2 and "feature recipe placement = 'bogus'" in r.output and "Traceback" not in r.output
    assert not (in_tmp / "runs" / "prepare").exists() or not any((in_tmp / "runs" / "prepare").iterdir())
    (tiny_data / "dataset.json").write_text("{not json")
    r = runner.invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32"])
    assert r.exit_code == 2 and "dataset.json is not valid JSON" in r.output
    meta["feature_recipe"] = {k: v for k, v in SOUND_RECIPE.to_dict().items() if k != "trim_db"}  # older record
    (tiny_data / "dataset.json").write_text(json.dumps(meta))
    r = runner.invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32"])
    assert r.exit_code == 0, r.output
    prepared = json.loads(next((in_tmp / "runs" / "prepare").glob("*/meta.json")).read_text())
    assert prepared["feature_recipe"] == json.loads(json.dumps(SOUND_RECIPE.to_dict()))  # completed, checked


def test_an_edited_checkpoint_recipe_is_one_line(tmp_path):
    wav = tmp_path / "say.wav"
    wavfile.write(wav, SR, (word(0.4, 0.3, 0.3) * 32767).astype(np.int16))
    for prepared, want in (({"feature_recipe": {**SOUND_RECIPE.to_dict(), "sample_rate": 0}}, "sample_rate = 0"),
                           ("x", "'prepared' record is str")):
        model = build_model(ModelConfig(latent=8, image_size=32)).eval()
        ckpt = tmp_path / "m.pt"
        save_checkpoint(ckpt, model, Normalizer(np.zeros(104, np.float32), np.ones(104, np.float32)), prepared=prepared)
        r = runner.invoke(app, ["generate", str(wav), "--out", str(tmp_path / "g"), "--model", str(ckpt)])
        assert r.exit_code == 2 and want in r.output and "internal error" not in r.output, r.output


def test_extract_refuses_an_edited_dataset_json(tmp_path):
    from a2i_cli.data.dataset_writer import DatasetWriter

    DatasetWriter(tmp_path / "ds", 32, recipe=SOUND_RECIPE).save_meta()
    meta = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    for key, value in (("sources", None), ("pairs", {}), ("image_size", "64")):
        (tmp_path / "ds" / "dataset.json").write_text(json.dumps({**meta, key: value}))
        with pytest.raises(UserError, match=f"dataset.json: '{key}' is .* not a JSON"):
            DatasetWriter(tmp_path / "ds", 32, recipe=SOUND_RECIPE)
    good = {"path": "/v/a.webm", "rows": 3, "hop": 1.0, "CLASS1": "OUTDOORS", "CLASS2": "BEACH", "image_size": 32,
            "bytes": 10, "mtime": 5}
    for edit in ({"hop": "abc"}, {"hop": None}, {"hop": float("nan")}, {"hop": 0}, {"rows": "x"}, {"rows": -1}):
        (tmp_path / "ds" / "dataset.json").write_text(json.dumps({**meta, "videos": {"a": {**good, **edit}}}))
        with pytest.raises(UserError, match="record of video 'a' was edited or damaged"):
            DatasetWriter(tmp_path / "ds", 32, recipe=SOUND_RECIPE)
    for edit in ({"videos": {"x": 5}}, {"image_size": -3}):
        (tmp_path / "ds" / "dataset.json").write_text(json.dumps({**meta, **edit}))
        with pytest.raises(UserError, match="was edited or damaged"):
            DatasetWriter(tmp_path / "ds", 32, recipe=SOUND_RECIPE)
    (tmp_path / "ds" / "dataset.json").write_text(json.dumps({**meta, "videos": {"a": good}}))
    DatasetWriter(tmp_path / "ds", 32, recipe=SOUND_RECIPE)  # the record extract writes is fine


def recipe_checkpoint(path, recipe):
    """Random weights saved like a model trained on data of `recipe`."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent=8, image_size=32)).eval()
    save_checkpoint(path, model, Normalizer(np.zeros(104, np.float32), np.full(104, 10, np.float32)),
                    prepared={"feature_recipe": recipe.to_dict()})
    return path


def test_generate_audio_uses_the_models_recipe(tmp_path):
    audio = np.concatenate([word(0.4, 0.3, 0.3), word(0.4, 0.3, 0.3), word(0.4, 0.3, 1.0)])  # 3.3 s
    wav = tmp_path / "say.wav"
    wavfile.write(wav, SR, (audio * 32767).astype(np.int16))
    sound = recipe_checkpoint(tmp_path / "sound.pt", SOUND_RECIPE)
    second = recipe_checkpoint(tmp_path / "second.pt", RECIPE)
    assert load_engine(sound, "eager").recipe == SOUND_RECIPE and load_engine(second, "auto").recipe == RECIPE
    r = runner.invoke(app, ["generate", str(wav), "--out", str(tmp_path / "a"), "--model", str(sound)])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "a/manifest.json").read_text())
    assert len(manifest["images"]) == 1 and manifest["feature_recipe"]["placement"] == "sound"  # one row per recording
    r = runner.invoke(app, ["generate", str(wav), "--out", str(tmp_path / "b"), "--model", str(second)])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "b/manifest.json").read_text())
    assert len(manifest["images"]) == 3 and manifest["feature_recipe"]["placement"] == "second"  # one per second
    # the image drawn is the model's image of the recording's features under its recipe
    eng = load_engine(sound, "eager")
    from PIL import Image

    want = eng.generate(features_of(audio, SR, SOUND_RECIPE)[None])[0]
    got = np.asarray(Image.open(tmp_path / "a" / manifest_file(tmp_path / "a")))
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def manifest_file(folder) -> str:
    return json.loads((folder / "manifest.json").read_text())["images"][0]["file"]


def test_export_carries_the_recipe(tmp_path):
    sound = recipe_checkpoint(tmp_path / "sound.pt", SOUND_RECIPE)
    program = tmp_path / "m.pt2"
    r = runner.invoke(app, ["export", "--model", str(sound), "--out", str(program)])
    assert r.exit_code == 0, r.output
    assert load_engine(program, "auto").recipe == SOUND_RECIPE
