"""Frame-to-frame cohesion (animate --smooth): the latent average, encode/draw on every engine that has them, the
video measures (flicker, delay to follow a scene change) and what animate reports."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from a2i_cli.core.config import AnimateConfig, ModelConfig
from a2i_cli.core.errors import UserError
from a2i_cli.data.normalize import Normalizer
from a2i_cli.eval.video import change_delays, flicker
from a2i_cli.inference import ops
from a2i_cli.inference.engine import load_engine
from a2i_cli.media.animate import draw_frames, padded_sound, smoothing_for
from a2i_cli.media.smoothing import smooth_latents, smooth_latents_reference
from a2i_cli.model.checkpoint import save_checkpoint
from a2i_cli.model.network import build_model


@pytest.mark.parametrize("n,sigma", [(1, 2.0), (2, 0.5), (5, 4.0), (40, 1.5), (200, 4.0), (30, 0.3),
                                     (300, 40.0), (50, 100.0)])  # the last two: long kernels, by FFT
def test_smoothing_equals_the_frame_by_frame_reference(n, sigma):
    mu = np.random.default_rng(n).normal(size=(n, 7)).astype(np.float32)
    np.testing.assert_allclose(smooth_latents(mu, sigma), smooth_latents_reference(mu, sigma), rtol=1e-5, atol=1e-6)


def test_smoothing_keeps_a_steady_latent_and_is_centred():
    steady = np.tile(np.arange(5, dtype=np.float32), (30, 1))
    np.testing.assert_allclose(smooth_latents(steady, 3.0), steady, atol=1e-6)  # the ends are renormalised
    step = np.r_[np.zeros(20), np.ones(20)][:, None].astype(np.float32)  # a scene change between frames 19 and 20
    s = smooth_latents(step, 3.0)[:, 0]
    assert np.all(np.diff(s) >= 0) and 0 < s[19] < 0.5 < s[20] < 1  # no lag: it crosses half-way at the change
    np.testing.assert_allclose(s[19] + s[20], 1.0, atol=1e-6)  # symmetric about the change
    noise = np.random.default_rng(0).normal(size=(400, 8))
    assert np.abs(np.diff(smooth_latents(noise, 2.0), axis=0)).mean() < 0.3 * np.abs(np.diff(noise, axis=0)).mean()
    np.testing.assert_array_equal(smooth_latents(noise, 0), noise.astype(np.float32))


def test_flicker_and_change_delays_by_hand():
    frames = np.zeros((4, 2, 2, 3), np.uint8)
    frames[1] = 10
    frames[2] = 10
    frames[3] = 10
    frames[3, 0] = 40  # half the pixels change by 30
    np.testing.assert_allclose(flicker(frames), [10, 0, 15])
    assert flicker(frames[:1]).size == 0
    read = np.array([0] * 10 + [1] * 10 + [0, 2, 2, 2, 2, 2] + [2] * 4)  # fps 2: frame k at k/2 s
    # the change to 1 at 5 s is read at frame 10 (5 s): 0 s; the change to 2 at 9.5 s is read from frame 21 (10.5 s)
    assert change_delays(read, [(5.0, 1), (9.5, 2)], fps=2, hold=3) == [0.0, 1.0]
    assert change_delays(read, [(6.0, 1)], fps=2) == [-1.0]  # read before the boundary: negative
    assert change_delays(read, [(5.0, 3)], fps=2) == [float("inf")]  # never followed


def codes_checkpoint(path, image_size=32, seed=0, gain=3.0):
    """Random weights with class codes, `gain` x the default initialisation (so the picture varies with the sound)."""
    torch.manual_seed(seed)
    model = build_model(ModelConfig(arch="a2i", latent=16, image_size=image_size, n_classes=3)).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear, torch.nn.ConvTranspose2d)):
                m.weight.mul_(gain)
    save_checkpoint(path, model, Normalizer(np.zeros(104, np.float32), np.full(104, 10, np.float32)))
    return path


@pytest.mark.parametrize("engine", ["eager", "fused"])
def test_draw_of_encode_is_generate(tmp_path, engine):
    if engine == "fused" and not ops.has_ops():
        pytest.skip(f"the C++ ops did not load: {ops.ops_reason()}")
    eng = load_engine(codes_checkpoint(tmp_path / "m.pt"), engine)
    x = np.random.default_rng(1).normal(0, 10, (9, 104)).astype(np.float32)
    mu = eng.encode(x)
    assert mu.shape == (9, 16) and mu.dtype == np.float32
    np.testing.assert_array_equal(eng.draw(mu), eng.generate(x))  # the class code is added by draw, as in generate


def test_engines_without_latents_say_so(tmp_path):
    from a2i_cli.inference.engine import ExportEngine, export_program
    from a2i_cli.model.checkpoint import load_checkpoint

    loaded = load_checkpoint(codes_checkpoint(tmp_path / "m.pt"))
    eng = ExportEngine(export_program(loaded).module(), loaded.cfg, {"feature_recipe": loaded.recipe.to_dict()})
    assert not eng.draws_latents
    smooth, note = smoothing_for(eng, 0.5)
    assert smooth == 0 and "--smooth needs a .pt checkpoint" in note
    with pytest.raises(UserError, match="use eager or fused"):
        eng.encode(np.zeros((1, 104), np.float32))


def test_smoothed_frames_flicker_less_and_follow_the_sound(tmp_path):
    eng = load_engine(codes_checkpoint(tmp_path / "m.pt"), "eager")
    rng = np.random.default_rng(0)
    t = np.arange(6 * 16000) / 16000
    sound = np.where(t < 3, 0.3 * np.sin(2 * np.pi * 300 * t), 0.3 * rng.normal(size=t.size)).astype(np.float32)
    x16 = padded_sound(sound, 16000, eng.recipe)
    frames = {s: np.concatenate([f for _, _, f in draw_frames(x16, 60, eng, 10, 16, s)]) for s in (0.0, 0.5)}
    assert frames[0.0].shape == frames[0.5].shape == (60, 32, 32, 3)
    assert flicker(frames[0.5]).mean() < flicker(frames[0.0]).mean()
    # far from the change the smoothed picture is the average of one steady sound: near the independent frames
    assert np.abs(frames[0.5][:10].astype(int) - frames[0.0][:10]).mean() < 25


def test_smooth_option_is_checked():
    with pytest.raises(UserError, match="--smooth"):
        AnimateConfig(smooth=-1)
    with pytest.raises(UserError, match="--smooth"):
        AnimateConfig(smooth=float("nan"))
    assert AnimateConfig(smooth=0).smooth == 0.0
