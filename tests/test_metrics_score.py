"""Scores: SSIM equals scikit-image's, histogram similarity and PSNR behave, `a2i score` pairs and reports."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.eval import metrics

runner = CliRunner()


def _pairs(n=6, size=48, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    smooth = np.cumsum(rng.normal(0, 8, (n, size, size, 3)), axis=2)
    b = np.clip(a * 0.5 + smooth + 60, 0, 255).astype(np.uint8)
    return a, b


@pytest.mark.parametrize("size", [7, 32, 61, 256])
def test_ssim_matches_skimage(size):
    a, b = _pairs(n=3, size=size)
    ours = metrics.ssim(a, b)
    ref = [structural_similarity(x, y, channel_axis=-1, data_range=255) for x, y in zip(a, b)]
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    assert np.allclose(metrics.ssim(a, a), 1.0)


def test_ssim_rejects_bad_input():
    a, b = _pairs()
    with pytest.raises(ValueError, match="differ"):
        metrics.ssim(a, b[:, :40])
    with pytest.raises(TypeError, match="uint8"):
        metrics.ssim(a.astype(np.float32), b)


def test_hist_psnr_mse():
    a, b = _pairs()
    assert np.allclose(metrics.hist_similarity(a, a), 1.0)
    h = metrics.histograms(a[:1])[0].numpy()
    hb = metrics.histograms(b[:1])[0].numpy()
    expect = np.mean([np.corrcoef(h[c], hb[c])[0, 1] for c in range(3)])
    assert metrics.hist_similarity(a[:1], b[:1])[0] == pytest.approx(expect, abs=1e-12)
    np.testing.assert_allclose(metrics.psnr(a, b), [peak_signal_noise_ratio(x, y, data_range=255) for x, y in zip(a, b)])
    assert metrics.psnr(a, a)[0] == metrics.PSNR_CAP
    assert metrics.mse(a, b)[0] == pytest.approx(((a[0].astype(float) - b[0]) ** 2).mean())


def _write(folder, names, images):
    folder.mkdir(parents=True, exist_ok=True)
    for n, im in zip(names, images):
        Image.fromarray(im).save(folder / n)


def test_score_folders_by_name(in_tmp):
    a, b = _pairs(n=4)
    _write(in_tmp / "gen", ["x0.png", "x1.png", "x2.png", "orphan.png"], a)
    _write(in_tmp / "tgt", ["x0.png", "x1.png", "x2.png"], b[:3])
    (in_tmp / "tgt/x2.png").write_bytes(b"broken")
    r = runner.invoke(app, ["score", "gen", "tgt", "--out", "s"])
    assert r.exit_code == 1, r.output  # x2's target is broken: scored the rest, listed it, exit 1
    assert "not scored: x2" in r.output
    scores = pd.read_csv(in_tmp / "s/scores.csv")
    assert list(scores["name"]) == ["x0", "x1"]
    np.testing.assert_allclose(scores["ssim"], [structural_similarity(a[i], b[i], channel_axis=-1, data_range=255) for i in range(2)], atol=1e-4)
    summary = json.loads((in_tmp / "s/summary.json").read_text())
    assert summary["pairs_scored"] == 2 and summary["pairs_failed"] == 1 and summary["unmatched_generated"] == 1
    assert "scikit-image" in summary["definitions"]["ssim"] and "data_range=255" in summary["definitions"]["ssim"]
    assert "SSIM" in r.output and "1 pairs could not be scored" in r.output


def test_score_against_dataset_csv_resizes_targets(tiny_data, in_tmp):
    rng = np.random.default_rng(1)
    gen = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    _write(in_tmp / "gen", ["beach0.png", "forest3.png"], gen)
    r = runner.invoke(app, ["score", "gen", str(tiny_data / "dataset.csv"), "--out", "s"])
    assert r.exit_code == 0, r.output
    scores = pd.read_csv(in_tmp / "s/scores.csv")
    assert list(scores["name"]) == ["beach0", "forest3"]
    target = np.asarray(Image.open(tiny_data / "images/forest/forest3.png").resize((16, 16), Image.Resampling.BOX))
    assert scores["ssim"][1] == pytest.approx(structural_similarity(gen[1], target, channel_axis=-1, data_range=255), abs=1e-4)


def test_score_bad_input(in_tmp):
    r = runner.invoke(app, ["score", "nope", "alsonope"])
    assert r.exit_code == 2 and "nope" in r.output
    (in_tmp / "empty").mkdir()
    (in_tmp / "t").mkdir()
    r = runner.invoke(app, ["score", "empty", "t"])
    assert r.exit_code == 2 and "no images" in r.output


def _scene_like(n, size, seed):
    """Smooth colour fields with edges and noise, as generated and real scene images look."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.empty((n, size, size, 3), np.uint8)
    for k in range(n):
        base = rng.uniform(30, 220, 3) + 60 * np.sin(6 * xx + rng.uniform(0, 6))[..., None] * rng.uniform(-1, 1, 3)
        base = base + np.where(yy > rng.uniform(0.3, 0.7), -50, 30)[..., None]
        out[k] = np.clip(base + rng.normal(0, rng.uniform(1, 25), (size, size, 3)), 0, 255)
    return out


def test_ssim_matches_skimage_on_realistic_flat_and_high_contrast():
    a, b = _scene_like(4, 96, 1), _scene_like(4, 96, 2)
    flat = np.full((3, 96, 96, 3), 128, np.uint8)
    flat[1], flat[2] = 0, 255
    checker = ((np.indices((96, 96)).sum(0) % 2) * 255).astype(np.uint8)[..., None].repeat(3, -1)
    high = np.stack([checker, 255 - checker, checker])
    xs = np.concatenate([a, flat, high, flat, a[:1]])
    ys = np.concatenate([b, flat[::-1], high[::-1], high, np.clip(a[:1].astype(int) + 1, 0, 255).astype(np.uint8)])
    ref = metrics.ssim_reference(xs, ys)
    np.testing.assert_allclose(metrics.ssim(xs, ys), ref, atol=1e-4, rtol=0)
    assert metrics.ssim(xs[:2], xs[:2]).tolist() == [1.0, 1.0]


def test_histograms_mse_and_sharpness_equal_their_plain_definitions():
    a, b = _scene_like(3, 70, 3), _scene_like(3, 70, 4)
    a[0, :5], b[1] = 0, 255  # extremes: empty and full bins
    h = metrics.histograms(a).numpy()
    for k in range(3):
        for c in range(3):
            assert np.array_equal(h[k, c], np.bincount(a[k, :, :, c].ravel(), minlength=256))
        assert metrics.mse(a, b)[k] == ((a[k].astype(np.float64) - b[k]) ** 2).mean()
        g = a[k].astype(np.float64).mean(-1)
        gx, gy = (g[1:-1, 2:] - g[1:-1, :-2]) / 2, (g[2:, 1:-1] - g[:-2, 1:-1]) / 2
        assert metrics.sharpness(a[k : k + 1])[0] == pytest.approx(np.sqrt(gx**2 + gy**2).mean(), rel=1e-6)
    assert np.isnan(metrics.sharpness(np.zeros((1, 2, 5, 3), np.uint8))[0])  # no inner pixel


@pytest.mark.parametrize("size", [7, 8, 70, 71, 134, 256])
def test_ssim_and_mse_in_one_pass_equal_each_alone(size):
    a, b = _pairs(n=2, size=size, seed=size)
    s, m = metrics.ssim_and_mse(a, b)
    assert np.array_equal(s, metrics.ssim(a, b)) and np.array_equal(m, metrics.mse(a, b))
    for strip in (1, 5, 64):
        s2, m2 = metrics.ssim_and_mse(a, b, strip=strip)
        np.testing.assert_allclose(s2, s, rtol=0, atol=1e-12)
        assert np.array_equal(m2, m)


def test_a_folder_named_like_an_image_is_listed_not_skipped(in_tmp):
    a, b = _pairs(n=2)
    _write(in_tmp / "gen", ["x0.png"], a[:1])
    (in_tmp / "gen" / "x1.png").mkdir()  # a folder, where an image is expected
    _write(in_tmp / "tgt", ["x0.png", "x1.png"], b)
    r = runner.invoke(app, ["score", "gen", "tgt", "--out", "s"])
    assert r.exit_code == 1, r.output
    assert "not scored: x1" in r.output and "is a folder" in r.output
    summary = json.loads((in_tmp / "s/summary.json").read_text())
    assert summary["pairs_scored"] == 1 and summary["pairs_failed"] == 1
