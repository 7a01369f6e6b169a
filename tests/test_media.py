"""extract videos / extract audio / generate --audio / animate, on media made here and on ../shared/data."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

av = pytest.importorskip("av", reason="PyAV (pip install av) is needed for the media commands")

from a2i_cli.cli import app  # noqa: E402
from a2i_cli.core.config import ExtractConfig  # noqa: E402
from a2i_cli.data.features import (  # noqa: E402
    RECIPE,
    SOUND_RECIPE,
    audio_features,
    clips_to_features,
    features_of,
    resample,
    to_mono,
)
from a2i_cli.data.schema import REQUIRED  # noqa: E402

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"  # real data beside the checkout (shared/data/README.md)
FILM = SHARED_DATA / "video" / "big_buck_bunny_0_30.webm"
needs_film = pytest.mark.skipif(not FILM.is_file(), reason=f"shared data absent: {FILM} (see shared/data/README.md)")
needs_digits = pytest.mark.skipif(
    not (SHARED_DATA / "fsdd").is_dir() or not (SHARED_DATA / "mnist" / "mnist_digits_a.npz").is_file(),
    reason=f"shared data absent: {SHARED_DATA}/fsdd and mnist/ (see shared/data/README.md)",
)

# A variable-frame-rate clip: frame i is shown from FRAME_TIMES[i]; one frame starts exactly at 1.5 s.
FRAME_TIMES = [0.0, 0.05, 0.17, 0.37, 0.44, 0.51, 0.58, 0.9, 1.21, 1.3, 1.5, 1.62, 1.97, 2.2, 2.41, 2.49, 2.53, 2.8, 3.1]
W, H, STEP = 90, 60, 12  # odd shape: centre crop keeps columns 15..74; grey level = STEP * index


def shown_at(t: float) -> int:
    return max(i for i, s in enumerate(FRAME_TIMES) if s <= t + 1e-9)


def tone(seconds: float, sr: int, channels: int = 2, freq: float = 440.0) -> np.ndarray:
    """(channels, n) float32: a tone whose pitch differs per channel, with a slow swell."""
    t = np.arange(int(round(seconds * sr))) / sr
    rows = [0.3 * np.sin(2 * np.pi * freq * (c + 1) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t)) for c in range(channels)]
    return np.asarray(rows, np.float32)


def write_audio(path: Path, samples: np.ndarray, sr: int, codec: str) -> Path:
    """Encode (channels, n) float samples with PyAV (wav: pcm_s16le, flac, mp3, aac ...)."""
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=sr, layout=layout)
        fmt = s.codec_context.format.name if s.codec_context.format else "fltp"
        step = s.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=sr, frame_size=step)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32), format="fltp", layout=layout)
        frame.sample_rate, frame.pts = sr, 0
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            f.pts = None
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def write_vfr_video(path: Path, audio_seconds: float | None = 3.0, sr: int = 22050) -> Path:
    """FRAME_TIMES frames (lossless FFV1 in Matroska, ms timestamps) + optional stereo FLAC tone."""
    with av.open(str(path), "w", format="matroska") as c:
        v = c.add_stream("ffv1", rate=1000)  # codec time base 1 ms, so the odd timestamps survive
        v.width, v.height, v.pix_fmt = W, H, "yuv444p"
        v.time_base = Fraction(1, 1000)
        a = c.add_stream("flac", rate=sr, layout="stereo") if audio_seconds else None
        for i, t in enumerate(FRAME_TIMES):
            img = np.zeros((H, W, 3), np.uint8)
            img[:, 15:75] = STEP * i
            img[:, :15] = 255  # outside the centre square: must be cropped away
            img[:, 75:] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = int(round(t * 1000)), Fraction(1, 1000)
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)
        if a is not None:
            samples = tone(audio_seconds, sr)
            resampler = av.AudioResampler(format="s16", layout="stereo", rate=sr, frame_size=4096)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = sr, 0
            n = 0
            for f in [*resampler.resample(frame), *resampler.resample(None)]:
                f.pts, n = n, n + f.samples
                for p in a.encode(f):
                    c.mux(p)
            for p in a.encode(None):
                c.mux(p)
    return path


def decode_all_audio(path: Path) -> tuple[np.ndarray, int]:
    """The test's own decoding: every frame as float, channels stacked; (channels, n), rate."""
    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
    sr = frames[0].sample_rate
    parts = []
    for f in frames:
        x = f.to_ndarray()
        if f.format.name == "s16":
            x = x.reshape(-1, len(f.layout.channels)).T / 32768.0
        parts.append(np.asarray(x, np.float32).reshape(len(f.layout.channels), -1))
    return np.concatenate(parts, axis=1), sr


def extract(*args: str):
    return runner.invoke(app, ["extract", *args])


def read_rows(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "dataset.csv")


# ----------------------------------------------------------------------------- extract videos


@needs_film
def test_film_clip_rows_match_direct_features(tmp_path):
    out = tmp_path / "film"
    r = extract("videos", str(FILM), "--out", str(out), "--class", "beach", "--image-size", "64")
    assert r.exit_code == 0, r.output
    df = read_rows(out)
    assert list(df.columns) == REQUIRED and len(df) == 30
    assert df["IMAGE"].tolist() == [f"images/big_buck_bunny_0_30/big_buck_bunny_0_30{t}.png" for t in range(30)]
    assert set(df["CLASS2"]) == {"BEACH"} and set(df["CLASS1"]) == {"OUTDOORS"}
    samples, sr = decode_all_audio(FILM)
    x = resample(to_mono(samples), sr)
    expect = clips_to_features(np.stack([x[t * 16000 : (t + 1) * 16000] for t in range(30)]))
    np.testing.assert_allclose(df.filter(like="mfcc_").to_numpy(np.float32), expect, rtol=1e-5, atol=1e-4)
    with Image.open(out / df["IMAGE"][3]) as im:
        assert im.size == (64, 64) and im.mode == "RGB"
    assert json.loads((out / "dataset.json").read_text())["feature_recipe"] == json.loads(json.dumps(RECIPE.to_dict()))
    assert json.loads((out / "dataset.json").read_text())["videos"]["big_buck_bunny_0_30"]["hop"] == 1.0


@needs_film
def test_film_clip_hop_gives_more_rows(tmp_path):
    out = tmp_path / "film"
    r = extract("videos", str(FILM), "--out", str(out), "--class", "beach", "--image-size", "32", "--hop", "0.5")
    assert r.exit_code == 0, r.output
    df = read_rows(out)
    assert len(df) == 59  # a row every 0.5 s whose whole second fits in 30 s: t = 0, 0.5, ..., 29
    samples, sr = decode_all_audio(FILM)
    x = resample(to_mono(samples), sr)
    feats = df.filter(like="mfcc_").to_numpy(np.float32)
    for k in (0, 7, 58):  # row k: the audio of [k/2, k/2 + 1)
        np.testing.assert_allclose(feats[k], clips_to_features(x[k * 8000 : k * 8000 + 16000])[0], rtol=1e-5, atol=1e-3)
    r = extract("videos", str(FILM), "--out", str(out), "--class", "beach", "--image-size", "32")
    assert r.exit_code == 1 and "--hop 0.5" in r.output and len(read_rows(out)) == 59  # another hop: refused


def test_frame_at_t_plus_half_by_pts_on_variable_frame_rate(tmp_path):
    video = write_vfr_video(tmp_path / "vfr.mkv")
    out = tmp_path / "ds"
    r = extract("videos", str(video), "--out", str(out), "--class", "test", "--class1", "lab", "--image-size", "32")
    assert r.exit_code == 0, r.output
    df = read_rows(out)
    assert len(df) == 3 and set(df["CLASS1"]) == {"lab"} and set(df["CLASS2"]) == {"TEST"}
    for t in range(3):
        img = np.asarray(Image.open(out / f"images/vfr/vfr{t}.png"))
        assert img.shape == (32, 32, 3)
        want = STEP * shown_at(t + 0.5)  # t=1: the frame that starts exactly at 1.5 s
        assert abs(float(img.mean()) - want) < 4 and img.std() < 2, (t, img.mean(), want)
    samples, sr = decode_all_audio(video)  # stereo 22.05 kHz: mixed to mono, resampled
    feats = df.filter(like="mfcc_").to_numpy(np.float32)
    x = resample(to_mono(samples), sr)
    np.testing.assert_allclose(feats[2], clips_to_features(x[32000:48000])[0], rtol=1e-5, atol=1e-3)


def test_bad_videos_are_named_and_the_rest_go_on(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    write_vfr_video(folder / "good.mkv")
    write_vfr_video(folder / "silent.mkv", audio_seconds=None)
    (folder / "broken.mp4").write_bytes(b"this is not a video at all" * 10)
    out = tmp_path / "ds"
    r = extract("videos", str(folder), str(tmp_path / "missing.mp4"), "--out", str(out), "--class", "x", "--image-size", "32")
    assert r.exit_code == 1, r.output
    assert "silent.mkv: has no audio track" in r.output
    assert "broken.mp4: not a media file FFmpeg can read" in r.output
    assert "missing.mp4: does not exist" in r.output
    assert "3 bad" in r.output and "Traceback" not in r.output
    assert read_rows(out)["IMAGE"].tolist() == [f"images/good/good{t}.png" for t in range(3)]
    # rerun: nothing added twice
    r = extract("videos", str(folder), "--out", str(out), "--class", "x", "--image-size", "32")
    assert r.exit_code == 1 and "0 rows added, 3 already there" in r.output
    r = extract("videos", str(folder / "good.mkv"), "--out", str(out), "--class", "x", "--image-size", "32")
    assert r.exit_code == 0 and "0 rows added" in r.output
    assert len(read_rows(out)) == 3
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    # a single bad file alone
    r = extract("videos", str(folder / "silent.mkv"), "--out", str(tmp_path / "ds2"), "--class", "x")
    assert r.exit_code == 1 and "has no audio track" in r.output


def test_no_video_at_all_is_refused_before_out_is_made(tmp_path):
    r = extract("videos", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "ds"), "--class", "x")
    assert r.exit_code == 2 and "no video to read (" in r.output and "missing.mp4: does not exist" in r.output
    assert not (tmp_path / "ds").exists()  # a typo leaves nothing behind
    os.mkfifo(tmp_path / "pipe")
    r = extract("videos", str(tmp_path / "pipe"), "--out", str(tmp_path / "ds"), "--class", "x")
    assert r.exit_code == 2 and "pipe: is not a regular file" in r.output and not (tmp_path / "ds").exists()


def test_refuses_to_mix_feature_recipes(tmp_path):
    out = tmp_path / "ds"
    assert extract("videos", str(write_vfr_video(tmp_path / "a.mkv")), "--out", str(out), "--class", "x", "--image-size", "32").exit_code == 0
    meta = json.loads((out / "dataset.json").read_text())
    meta["feature_recipe"]["n_mels"] = 40
    (out / "dataset.json").write_text(json.dumps(meta))
    before = (out / "dataset.csv").read_bytes()
    r = extract("videos", str(tmp_path / "a.mkv"), "--out", str(out), "--class", "x")
    assert r.exit_code == 2 and "another feature recipe" in r.output and "n_mels" in r.output
    assert (out / "dataset.csv").read_bytes() == before
    # recordings with the windows over their sound do not join rows made over a fixed second
    meta["feature_recipe"]["n_mels"] = 26
    (out / "dataset.json").write_text(json.dumps(meta))
    pairs = make_pairs(tmp_path / "in")
    r = extract("audio", str(pairs), "--out", str(out), "--image-size", "32")
    assert r.exit_code == 2 and "placement: 'second' there, 'sound' now" in r.output and "--window second" in r.output
    assert (out / "dataset.csv").read_bytes() == before and "Traceback" not in r.output
    r = extract("audio", str(pairs), "--out", str(out), "--image-size", "32", "--window", "second")
    assert r.exit_code == 0, r.output


# ----------------------------------------------------------------------------- extract audio


def make_pairs(root: Path) -> Path:
    """Four pairs in different audio formats, rates and image modes/sizes; returns pairs.csv."""
    root.mkdir(parents=True, exist_ok=True)
    write_audio(root / "a.wav", tone(0.4, 8000, 1), 8000, "pcm_s16le")  # shorter than 1 s: zero-padded
    write_audio(root / "b.flac", tone(1.5, 44100, 2, 300), 44100, "flac")
    write_audio(root / "c.mp3", tone(1.2, 22050, 1, 500), 22050, "mp3")
    Image.fromarray(np.full((28, 28), 200, np.uint8), "L").save(root / "a.png")
    Image.fromarray(np.zeros((40, 60, 4), np.uint8) + 90, "RGBA").save(root / "b.png")
    Image.fromarray(np.zeros((50, 30, 3), np.uint8) + 30).save(root / "c.jpg")
    (root / "sub").mkdir(exist_ok=True)
    rows = [
        "audio,image,CLASS1,CLASS2",
        "a.wav,a.png,george,zero",
        f"{root / 'b.flac'},b.png,lucas,one",  # absolute path
        "c.mp3,c.jpg,lucas,two",
    ]
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    return root / "pairs.csv"


def test_extract_audio_pairs_any_format(tmp_path):
    pairs = make_pairs(tmp_path / "in")
    out = tmp_path / "ds"
    r = extract("audio", str(pairs), "--out", str(out), "--image-size", "32")
    assert r.exit_code == 0, r.output
    df = read_rows(out)
    assert list(df.columns) == REQUIRED
    assert df["IMAGE"].tolist() == ["images/in/a.png", "images/in/b.png", "images/in/c.png"]
    assert df["CLASS2"].tolist() == ["ZERO", "ONE", "TWO"] and df["CLASS1"].tolist() == ["george", "lucas", "lucas"]
    for p in df["IMAGE"]:
        with Image.open(out / p) as im:
            assert im.size == (32, 32) and im.mode == "RGB"
    samples, sr = decode_all_audio(tmp_path / "in/a.wav")
    feats = df.filter(like="mfcc_").to_numpy(np.float32)
    np.testing.assert_allclose(feats[0], features_of(samples, sr, SOUND_RECIPE), rtol=1e-5, atol=1e-4)
    assert np.isfinite(feats).all()
    assert json.loads((out / "dataset.json").read_text())["feature_recipe"]["placement"] == "sound"
    r = extract("audio", str(pairs), "--out", str(tmp_path / "ds2"), "--image-size", "32", "--window", "second")
    assert r.exit_code == 0, r.output  # the Kaggle recipe: the first second, zero-padded
    np.testing.assert_allclose(read_rows(tmp_path / "ds2").filter(like="mfcc_").to_numpy(np.float32)[0],
                               audio_features(samples, sr), rtol=1e-5, atol=1e-4)


def test_extract_audio_bad_rows_and_rerun(tmp_path):
    pairs = make_pairs(tmp_path / "in")
    with open(pairs, "a") as f:
        f.write("gone.wav,a.png,george,three\n")  # row 4: missing recording
        f.write("a.wav,nope.png,george,four\n")  # row 5: missing picture (IMAGE repeats row 1 too)
        f.write("c.mp3,pairs.csv,george,five\n")  # row 6: not an image (IMAGE repeats row 3)
    out = tmp_path / "ds"
    r = extract("audio", str(pairs), "--out", str(out), "--image-size", "32")
    assert r.exit_code == 1, r.output
    assert "row 4 (line 5)" in r.output and "gone.wav does not exist" in r.output
    assert "row 5 (line 6)" in r.output and "row 6 (line 7)" in r.output
    assert len(read_rows(out)) == 3
    r = extract("audio", str(pairs), "--out", str(out), "--image-size", "32")
    assert "0 rows added, 3 already there" in r.output
    assert len(read_rows(out)) == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("audio,image,CLASS1,class2\na.wav,a.png,x,y\n")
    r = extract("audio", "--pairs", str(bad), "--out", str(tmp_path / "ds3"))  # old spelling
    assert r.exit_code == 2 and "missing column 'CLASS2'" in r.output and "case-sensitive" in r.output
    assert not (tmp_path / "ds3" / "dataset.csv").exists()


@needs_digits
def test_spoken_digits_example_runs_the_pipeline(tmp_path, monkeypatch):
    out = tmp_path / "digits"
    p = subprocess.run(
        [sys.executable, str(REPO / "examples/spoken_digits.py"), str(out), "--takes", "1", "--image-size", "32"],
        capture_output=True, text=True, timeout=120,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    df = read_rows(out)
    assert len(df) == 40 and sorted(df["CLASS2"].unique()) == sorted(
        ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"])
    assert sorted({Path(i).parent.name for i in df["IMAGE"]}) == sorted(df["CLASS1"].unique())
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["prepare", str(out), "--class", "all", "--image-size", "32", "--name", "d"])
    assert r.exit_code == 0, r.output
    rows = pd.read_csv(tmp_path / "runs/prepare/d/rows.csv")
    for digit, group in rows.groupby("CLASS2"):  # the source split works per class: whole speakers held out
        test_speakers = set(group.loc[group["split"] == "test", "folder"])
        assert test_speakers and not test_speakers & set(group.loc[group["split"] == "train", "folder"]), digit


# ----------------------------------------------------------------------------- generate --audio, animate


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, make_tiny_dataset) -> Path:
    root = tmp_path_factory.mktemp("model")
    make_tiny_dataset(root / "data")
    old = os.getcwd()
    os.chdir(root)
    try:
        r = runner.invoke(app, ["prepare", "data", "--class", "all", "--image-size", "32", "--name", "p"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["train", "runs/prepare/p", "--epochs", "1", "--latent", "16", "--batch-size", "8"])
        assert r.exit_code == 0, r.output
    finally:
        os.chdir(old)
    return root / "runs/train/exp/weights/best.pt"


def test_generate_audio_one_image_per_second(tmp_path, checkpoint):
    wav = write_audio(tmp_path / "walk.wav", tone(3.4, 16000, 1), 16000, "pcm_s16le")
    r = runner.invoke(app, ["generate", str(wav), "--out", str(tmp_path / "gen"), "--model", str(checkpoint)])
    assert r.exit_code == 0, r.output
    pngs = sorted(p.name for p in (tmp_path / "gen").glob("*.png"))
    assert pngs == ["walk_0000.png", "walk_0001.png", "walk_0002.png"]
    manifest = json.loads((tmp_path / "gen/manifest.json").read_text())
    assert [e["start_s"] for e in manifest["images"]] == [0.0, 1.0, 2.0]
    short = write_audio(tmp_path / "blip.wav", tone(0.3, 8000, 1), 8000, "pcm_s16le")
    r = runner.invoke(app, ["generate", "--audio", str(short), "--out", str(tmp_path / "gen2"), "--model", str(checkpoint)])
    assert r.exit_code == 0 and [p.name for p in (tmp_path / "gen2").glob("*.png")] == ["blip_0000.png"]
    assert "--audio is deprecated" in r.output  # the old spelling works, with one line saying so
    r = runner.invoke(app, ["generate", str(wav), "--mfcc", "1", "--model", str(checkpoint)])
    assert r.exit_code == 2 and "exactly one input" in r.output
    r = runner.invoke(app, ["generate", str(wav), "--out", "x.png", "--model", str(checkpoint)])
    assert r.exit_code == 2 and "folder" in r.output
    r = runner.invoke(app, ["generate", str(tmp_path / "none.wav"), "--model", str(checkpoint)])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_generate_audio_with_an_exported_program(tmp_path, checkpoint):
    program = tmp_path / "m.pt2"
    assert runner.invoke(app, ["export", "--model", str(checkpoint), "--out", str(program)]).exit_code == 0
    wav = write_audio(tmp_path / "walk.wav", tone(2.2, 16000, 1), 16000, "pcm_s16le")
    r = runner.invoke(app, ["generate", str(wav), "--out", str(tmp_path / "gen"), "--model", str(program)])
    assert r.exit_code == 0, r.output
    assert "engine export" in r.output and "Traceback" not in r.output
    manifest = json.loads((tmp_path / "gen/manifest.json").read_text())
    assert manifest["engine"] == "export" and manifest["model"] == str(program)
    eager = runner.invoke(app, ["generate", str(wav), "--out", str(tmp_path / "eager"), "--model", str(checkpoint),
                                "--engine", "eager"])
    assert eager.exit_code == 0, eager.output
    for name in ("walk_0000.png", "walk_0001.png"):
        a = np.asarray(Image.open(tmp_path / "gen" / name), np.int16)
        b = np.asarray(Image.open(tmp_path / "eager" / name), np.int16)
        assert np.abs(a - b).max() <= 1


def test_animate_writes_playable_mp4_with_the_audio(tmp_path, checkpoint):
    video = write_vfr_video(tmp_path / "in.mkv", audio_seconds=2.6)  # a video as input: its soundtrack is used
    out = tmp_path / "clip.mp4"
    r = runner.invoke(app, ["animate", str(video), "--out", str(out), "--fps", "10", "--model", str(checkpoint)])
    assert r.exit_code == 0, r.output
    with av.open(str(out)) as c:
        assert abs(c.duration / 1e6 - 2.6) < 0.2
        vs, aus = c.streams.video[0], c.streams.audio[0]
        assert vs.codec_context.name in ("h264", "mpeg4") and aus.codec_context.name == "aac"
        assert vs.codec_context.width % 2 == 0 and vs.codec_context.height % 2 == 0
        assert aus.codec_context.sample_rate == 22050 and aus.codec_context.channels == 2
        frames = [f for f in c.decode(video=0)]
        assert len(frames) == 26 and frames[0].format.name == "yuv420p"
    with av.open(str(out)) as c:
        got = sum(f.samples for f in c.decode(audio=0)) / 22050
    assert abs(got - 2.6) < 0.2
    r = runner.invoke(app, ["animate", str(tmp_path / "in.mkv"), "--out", str(tmp_path / "x.avi"), "--model", str(checkpoint)])
    assert r.exit_code == 2 and ".mp4" in r.output
    silent = write_vfr_video(tmp_path / "silent.mkv", audio_seconds=None)
    r = runner.invoke(app, ["animate", "--audio", str(silent), "--out", str(tmp_path / "y.mp4"), "--model", str(checkpoint)])
    assert "--audio is deprecated" in r.output
    assert r.exit_code == 2 and "no audio track" in r.output and not (tmp_path / "y.mp4").exists()


def test_animate_smooths_latents_unless_the_engine_cannot(tmp_path, checkpoint):
    wav = write_audio(tmp_path / "walk.wav", tone(2.0, 16000, 1), 16000, "pcm_s16le")
    r = runner.invoke(app, ["animate", str(wav), "--out", str(tmp_path / "a.mp4"), "--model", str(checkpoint)])
    assert r.exit_code == 0, r.output
    assert "latents averaged over a centred Gaussian of 0.5 s" in r.output and "flicker" in r.output
    r = runner.invoke(app, ["animate", str(wav), "--out", str(tmp_path / "b.mp4"), "--model", str(checkpoint),
                            "--smooth", "0"])
    assert r.exit_code == 0 and "each drawn on its own" in r.output and "note:" not in r.output
    program = tmp_path / "m.pt2"
    assert runner.invoke(app, ["export", "--model", str(checkpoint), "--out", str(program)]).exit_code == 0
    r = runner.invoke(app, ["animate", str(wav), "--out", str(tmp_path / "c.mp4"), "--model", str(program)])
    assert r.exit_code == 0, r.output  # still a video, with frames drawn one by one, and a line saying why
    assert "each drawn on its own" in r.output and "--smooth needs a .pt checkpoint" in r.output
    r = runner.invoke(app, ["animate", str(wav), "--out", str(tmp_path / "d.mp4"), "--model", str(checkpoint),
                            "--smooth", "-1"])
    assert r.exit_code == 2 and "--smooth" in r.output and not (tmp_path / "d.mp4").exists()


def test_video_name_not_utf8_is_one_bad_file(tmp_path):
    """A file name whose bytes are not UTF-8 cannot be an IMAGE value: that video is named bad, the others go on."""
    folder = tmp_path / "clips"
    folder.mkdir()
    write_vfr_video(folder / "a_ok.mkv")
    os.link(folder / "a_ok.mkv", os.fsdecode(bytes(folder) + b"/pl\xe4ge.mkv"))
    os.link(folder / "a_ok.mkv", folder / "z_ok.mkv")
    out = tmp_path / "ds"
    r = extract("videos", str(folder), "--out", str(out), "--class", "x", "--image-size", "32")
    assert r.exit_code == 1 and "not valid UTF-8" in r.output and "rename the file" in r.output, r.output
    assert "Traceback" not in r.output and "internal error" not in r.output
    rows = read_rows(out)["IMAGE"].tolist()
    assert rows[:3] == [f"images/a_ok/a_ok{t}.png" for t in range(3)] and len(rows) == 6  # z_ok after it too
    assert sorted(p.name for p in (out / "images").iterdir()) == ["a_ok", "z_ok"]  # no frames without rows


def test_interrupted_first_extract_audio_resumes(tmp_path, monkeypatch):
    """Killed after its first batch, a new --out folder keeps its rows and recipe: a rerun adds only the rest."""
    from a2i_cli.data.dataset_writer import DatasetWriter
    from a2i_cli.media import extract_pairs as ep

    pairs = make_pairs(tmp_path / "in")
    out = tmp_path / "ds"
    monkeypatch.setattr(ep, "PAIRS_BATCH", 1)
    real_append, calls = DatasetWriter.append, []

    def append_then_die(self, rows, *a, **k):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real_append(self, rows, *a, **k)

    monkeypatch.setattr(DatasetWriter, "append", append_then_die)
    with pytest.raises(KeyboardInterrupt):
        ep.extract_pairs(pairs, ExtractConfig(out=out, image_size=32))
    assert len(read_rows(out)) == 1 and (out / "dataset.json").is_file()
    monkeypatch.setattr(DatasetWriter, "append", real_append)
    r = extract("audio", str(pairs), "--out", str(out), "--image-size", "32")
    assert r.exit_code == 0 and "2 rows added, 1 already there" in r.output, r.output
    assert read_rows(out)["IMAGE"].tolist() == ["images/in/a.png", "images/in/b.png", "images/in/c.png"]


def test_unterminated_quote_in_pairs_is_one_bad_row(tmp_path):
    """The reviewer's quote.csv: a quote that never closes on line 2 spoiled the two good rows after it
    ("expected 4 fields, got 1" on line 4, 0 rows added); now line 2 is one bad row and the rest are read."""
    pairs = make_pairs(tmp_path / "in")
    lines = pairs.read_text().splitlines(keepends=True)
    lines.insert(1, '"unterminated,quote\n')
    quote = tmp_path / "in/quote.csv"
    quote.write_text("".join(lines[:4]))  # header, the stray quote, two good rows
    r = extract("audio", str(quote), "--out", str(tmp_path / "ds"), "--image-size", "32")
    assert r.exit_code == 1, r.output
    assert "quote.csv row 1 (line 2)" in r.output and "never closed" in r.output and "Traceback" not in r.output
    assert "2 rows added" in r.output
    assert len(read_rows(tmp_path / "ds")) == 2


def test_read_pairs_numbers_rows_and_lines_around_quotes(tmp_path):
    from a2i_cli.media.extract_pairs import read_pairs

    p = tmp_path / "p.csv"
    p.write_text('audio,image,CLASS1,CLASS2\n'
                 'a.wav,"x\n'  # row 1, line 2: the quote pairs with the one on line 5, but that is no 4-field row
                 'b.wav,b.png,s,one\n'  # row 2, line 3
                 '\n'  # blank: not a row
                 '"c.wav",c.png,s,two\n'  # row 3, line 5: quoted, fine
                 'd.wav,"multi\nline.png",s,three\n'  # row 4, lines 6-7: a quoted newline is one row
                 'e.wav,e.png,s,four\n')  # row 5, line 8
    rows, bad = read_pairs(p)
    assert [(r, line, rec["audio"]) for r, line, rec in rows] == [
        (2, 3, "b.wav"), (3, 5, "c.wav"), (4, 6, "d.wav"), (5, 8, "e.wav")]
    assert rows[2][2]["image"] == "multi\nline.png"
    assert [(b.what, b.order) for b in bad] == [("p.csv row 1 (line 2)", 1)]
    assert "never closed" in bad[0].reason and "close or remove it" in bad[0].reason


def test_class_name_not_utf8_is_refused_before_out_is_made(tmp_path):
    video = write_vfr_video(tmp_path / "a.mkv")
    r = extract("videos", str(video), "--out", str(tmp_path / "ds"), "--class", os.fsdecode(b"b\xe9ach"))
    assert r.exit_code == 2 and "--class b'b\\xe9ach' is not valid UTF-8" in r.output, r.output
    assert not (tmp_path / "ds").exists()


def test_nothing_to_extract_leaves_no_out_folder(tmp_path):
    """Every video bad, or a pairs CSV with a header only: no empty --out folder is left behind."""
    (tmp_path / "broken.mp4").write_bytes(b"not a video" * 10)
    r = extract("videos", str(tmp_path / "broken.mp4"), "--out", str(tmp_path / "ds"), "--class", "x")
    assert r.exit_code == 1 and "broken.mp4" in r.output and not (tmp_path / "ds").exists()
    (tmp_path / "ds2").mkdir()  # a folder that was there stays
    r = extract("videos", str(tmp_path / "broken.mp4"), "--out", str(tmp_path / "ds2"), "--class", "x")
    assert r.exit_code == 1 and (tmp_path / "ds2").is_dir()
    header_only = tmp_path / "pairs.csv"
    header_only.write_text("audio,image,CLASS1,CLASS2\n")
    r = extract("audio", str(header_only), "--out", str(tmp_path / "ds3"))
    assert r.exit_code == 2 and "has its header but no rows" in r.output and not (tmp_path / "ds3").exists()
