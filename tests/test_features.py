"""features.py: the 8 x 13 MFCC recipe."""
from __future__ import annotations

import numpy as np
import pytest

from a2i_cli.data.features import RECIPE, audio_features, clips_to_features, resample, sliding_features


def tone(freq, seconds=1.0, sr=16000, amp=0.3):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_recipe_windows():
    starts = RECIPE.window_starts()
    assert len(starts) == 8 and starts[0] == 0 and starts[-1] + RECIPE.window_samples == 16000
    assert RECIPE.to_dict()["sample_rate"] == 16000


def test_frame_major_layout_and_energy():
    x = tone(440)
    x[12000:] = 0  # the last window (12000..16000) is silent
    f = clips_to_features(x[None])[0].reshape(8, 13)
    assert f.shape == (8, 13)
    assert f[-1, 0] < f[0, 0] - 10  # first coefficient is log energy, per window
    loud = clips_to_features((2 * tone(440))[None])[0].reshape(8, 13)
    np.testing.assert_allclose(loud[:, 0] - clips_to_features(tone(440)[None])[0].reshape(8, 13)[:, 0], np.log(4), atol=1e-4)


def test_spectrum_distinguishes_pitch():
    low, high = clips_to_features(np.stack([tone(200), tone(3000)]))
    assert np.abs(low[1:13] - high[1:13]).max() > 5


def test_resample_and_padding():
    x8 = tone(300, seconds=0.5, sr=8000)
    f = audio_features(x8, 8000)
    assert f.shape == (104,) and np.isfinite(f).all()
    np.testing.assert_allclose(len(resample(x8, 8000)), 8000)
    direct = clips_to_features(np.pad(resample(x8, 8000), (0, 8000))[None])[0]
    np.testing.assert_allclose(f, direct, rtol=1e-5)


def test_sliding_windows_match_direct():
    x = np.concatenate([tone(200), tone(800), tone(1600), tone(100, seconds=0.4)])
    starts, feats = sliding_features(x, 16000)
    assert list(starts) == [0.0, 1.0, 2.0]
    np.testing.assert_allclose(feats[1], clips_to_features(x[16000:32000][None])[0], rtol=1e-5)
    starts, feats = sliding_features(x, 16000, hop_seconds=0.25)
    assert len(starts) == 10 and starts[-1] == pytest.approx(2.25)
