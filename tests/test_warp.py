"""--aug-warp: the cepstral stretch does to the 104 features what a longer or shorter vocal tract does to the sound."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from a2i_cli.core.config import ModelConfig, TrainConfig
from a2i_cli.core.errors import UserError
from a2i_cli.data.features import RECIPE, SOUND_RECIPE, features_of
from a2i_cli.data.normalize import Normalizer
from a2i_cli.model.warp import FeatureWarp, warp_matrix

SR = 16000


def vowel(scale: float, f0: float = 110.0, formants=(600.0, 1400.0, 2500.0)) -> np.ndarray:
    """One second of a steady vowel: harmonics of f0 shaped by three formants, all moved by `scale`."""
    t = np.arange(SR) / SR
    sig = np.zeros_like(t)
    for h in range(1, int(7000 / f0)):
        f = h * f0
        amp = sum(np.exp(-0.5 * ((f - F * scale) / (80 * scale)) ** 2) for F in formants) + 0.01
        sig += amp * np.sin(2 * np.pi * f * t + h)
    return 0.3 * sig / np.abs(sig).max()


@pytest.mark.parametrize("recipe", [RECIPE, SOUND_RECIPE], ids=["second", "sound"])
@pytest.mark.parametrize("factor", [0.87, 1.08, 1.15])
def test_warp_moves_the_features_to_those_of_the_stretched_voice(recipe, factor):
    plain = features_of(vowel(1.0), SR, recipe).reshape(8, 13)[:, 1:]  # coefficients 2-13
    moved = features_of(vowel(factor), SR, recipe).reshape(8, 13)[:, 1:]  # the formants really moved
    warped = plain @ warp_matrix(recipe, factor).T
    wrong_way = plain @ warp_matrix(recipe, 1 / factor).T
    before = np.linalg.norm(plain - moved)
    assert np.linalg.norm(warped - moved) < 0.5 * before  # more than half the way to the other voice
    assert np.linalg.norm(wrong_way - moved) > before  # and the direction matters


def test_warp_factor_one_is_the_identity_and_matrices_follow_the_filterbank():
    np.testing.assert_allclose(warp_matrix(RECIPE, 1.0), np.eye(12), atol=1e-12)
    from dataclasses import replace

    narrow = replace(RECIPE, fmax=4000.0)
    assert not np.allclose(warp_matrix(narrow, 1.1), warp_matrix(RECIPE, 1.1))  # built from the data's own bands


def test_feature_warp_on_normalised_rows():
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 10, (500, 104)).astype(np.float32)
    norm = Normalizer.fit(raw)
    x = torch.from_numpy(norm(raw))
    gen = torch.Generator().manual_seed(0)
    y = FeatureWarp(SOUND_RECIPE, norm, 0.1)(x, gen)
    assert y.shape == x.shape and y.dtype == torch.float32
    torch.testing.assert_close(y.view(-1, 8, 13)[:, :, 0], x.view(-1, 8, 13)[:, :, 0])  # the log energy stays
    assert float((y - x).abs().mean()) > 0.01  # the rest moves
    torch.testing.assert_close(FeatureWarp(SOUND_RECIPE, norm, 0.0)(x), x, atol=1e-4, rtol=0)  # no warp: the rows back
    same = np.tile(raw[:1, :13], (64, 8))  # 64 rows whose 8 frames are equal (before normalising)
    z = FeatureWarp(SOUND_RECIPE, norm, 0.1)(torch.from_numpy(norm(same)), gen).view(64, 8, 13)
    raw_z = z * torch.from_numpy(norm.std).view(8, 13) + torch.from_numpy(norm.mean).view(8, 13)
    assert torch.allclose(raw_z, raw_z[:, :1].expand_as(raw_z), atol=1e-3)  # one factor for all 8 frames of a row
    assert len({tuple(r.round(decimals=3).tolist()) for r in raw_z[:, 0]}) > 5  # factors differ between rows


def test_aug_warp_option_is_checked():
    with pytest.raises(UserError, match="--aug-warp"):
        TrainConfig(aug_warp=0.6)
    with pytest.raises(UserError, match="--aug-warp"):
        TrainConfig(aug_warp=-0.1)
    assert TrainConfig().resolved(10).aug_warp == 0.0  # scene rows: off
    assert TrainConfig().resolved(10, over_sound=True).aug_warp == 0.1  # recordings of voices: on
    assert TrainConfig(aug_warp=0.0).resolved(10, over_sound=True).aug_warp == 0.0  # given wins
    assert TrainConfig(model=ModelConfig(arch="seed")).resolved(10, over_sound=True).aug_warp == 0.0  # the student's model


def test_train_with_aug_warp_records_it_and_refuses_a_bad_value(prepared, in_tmp):
    from typer.testing import CliRunner

    from a2i_cli.cli import app

    runner = CliRunner()
    base = ["train", str(prepared), "--batch-size", "8", "--latent", "16", "--no-classifier", "--epochs", "1"]
    r = runner.invoke(app, [*base, "--name", "w", "--aug-warp", "0.2"])
    assert r.exit_code == 0, r.output
    assert "warp 0.2" in r.output
    assert "aug_warp: 0.2" in (in_tmp / "runs/train/w/args.yaml").read_text().splitlines()
    r = runner.invoke(app, [*base, "--name", "bad", "--aug-warp", "0.7"])
    assert r.exit_code != 0 and "--aug-warp" in r.output and "Traceback" not in r.output
    assert not (in_tmp / "runs/train/bad").exists()


def test_a_filterbank_squeezed_to_nothing_is_refused_not_trained_to_nan():
    from dataclasses import replace

    for recipe in (replace(SOUND_RECIPE, fmax=1e-300), replace(SOUND_RECIPE, fmin=7999.999999999999)):
        norm = Normalizer.identity(104)
        try:
            warp = FeatureWarp(recipe, norm, 0.1)  # a clear error, or matrices that keep the rows finite
        except UserError as e:
            assert "--aug-warp" in str(e) and "\n" not in str(e)
            continue
        assert torch.isfinite(warp(torch.randn(16, 104))).all()
    assert TrainConfig(aug_warp=-0.0).aug_warp == 0.0 and str(TrainConfig(aug_mask=-0.0).aug_mask) == "0.0"
