"""--frame-order / --no-frame-order: whether the a2i encoder's head reads the frames in order, or only pooled over time."""
from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import ModelConfig, TrainConfig
from a2i_cli.core.errors import UserError
from a2i_cli.inference import ops
from a2i_cli.model.network import TemporalEncoder, build_model

runner = CliRunner()


def test_every_recipe_reads_the_frame_order_and_the_option_wins():
    assert TrainConfig().resolved(10).model.frame_order is True
    sound = TrainConfig().resolved(10, over_sound=True)
    assert sound.frame_order is True and sound.model.frame_order is True  # pooling did not win in the full model
    assert TrainConfig(frame_order=False).resolved(10, over_sound=True).model.frame_order is False  # given wins
    assert TrainConfig(frame_order=False).resolved(10).model.frame_order is False
    assert TrainConfig(model=ModelConfig(arch="seed")).resolved(10, over_sound=True).model.frame_order is True
    with pytest.raises(UserError, match="--no-frame-order: --arch seed is"):
        TrainConfig(frame_order=False, model=ModelConfig(arch="seed")).resolved(10)
    with pytest.raises(UserError, match=r"--arch seed \(what --arch auto trains on data of one class\)"):
        TrainConfig(frame_order=False).resolved(1)
    for bad in ("yes", 1, 0.0, []):  # a hand-edited last.pt: its training configuration is refused, naming the file
        with pytest.raises(UserError, match="--frame-order must be on or off"):
            TrainConfig(frame_order=bad)
        with pytest.raises(UserError, match="--class-codes must be on or off"):
            TrainConfig(class_codes=bad)


def test_without_frame_order_the_head_reads_mean_and_max_only():
    torch.manual_seed(0)
    cfg = ModelConfig(arch="a2i", image_size=32, latent=16, temporal_channels=8, frame_order=False)
    enc = TemporalEncoder(cfg).eval()
    assert enc.head[0].in_features == 2 * 8  # the mean and max of 8 channels; with the order: 8 * 8 + 16
    assert TemporalEncoder(ModelConfig(arch="a2i", image_size=32, temporal_channels=8)).head[0].in_features == 80
    x = torch.randn(5, 104)
    with torch.no_grad():
        out = enc(x)
        h = enc.conv(x.view(5, 8, 13).transpose(1, 2))  # (5, 8 channels, 8 frames)
        # the head sees only the pooled features: the same pooled values give the same latent
        assert torch.allclose(out, enc.head(torch.cat([h.mean(-1), h.amax(-1)], 1)))
    assert out.shape == (5, 16)


def test_model_config_reads_older_files_and_refuses_a_non_boolean():
    assert ModelConfig(**{"arch": "a2i", "image_size": 32}).frame_order is True  # checkpoints from before the option
    with pytest.raises(UserError, match="frame_order must be true or false"):
        ModelConfig(arch="a2i", frame_order="no")
    m = build_model(ModelConfig(arch="a2i", image_size=32, frame_order=False))
    assert m.encoder.head[0].in_features == 2 * 128


def test_train_records_it_in_the_log_args_and_checkpoint(tiny_data, prepared, in_tmp):
    base = ["train", str(prepared), "--batch-size", "8", "--latent", "16", "--no-classifier", "--epochs", "1"]
    r = runner.invoke(app, [*base, "--name", "pooled", "--no-frame-order"])
    assert r.exit_code == 0, r.output
    assert "frame order off" in r.output
    assert "frame_order: false" in (in_tmp / "runs/train/pooled/args.yaml").read_text().splitlines()
    ckpt = torch.load(in_tmp / "runs/train/pooled/weights/best.pt", map_location="cpu", weights_only=True)
    assert ckpt["model_config"]["frame_order"] is False
    for engine in ("eager", "export", *(["fused"] if ops.has_ops() else [])):  # the checkpoint builds it back
        r = runner.invoke(app, ["generate", str(tiny_data / "dataset.csv"), "--model",
                                str(in_tmp / "runs/train/pooled/weights/best.pt"), "--engine", engine, "--out", f"{engine}.png"])
        assert r.exit_code == 0 and (in_tmp / f"{engine}.png").is_file(), r.output
    r = runner.invoke(app, [*base, "--name", "seed", "--arch", "seed", "--no-frame-order"])
    assert r.exit_code != 0 and "--no-frame-order" in r.output and "Traceback" not in r.output
    assert not (in_tmp / "runs/train/seed").exists()
