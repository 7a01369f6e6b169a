"""Evaluation that means something: oracle baseline, scene classifier, a2i architecture, losses."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import ModelConfig, TrainConfig
from a2i_cli.data.prepared import Prepared
from a2i_cli.eval.metrics import ssim as ssim_uint8
from a2i_cli.inference.engine import load_engine
from a2i_cli.model.classifier import load_or_train_classifier
from a2i_cli.model.losses import augment_features, ssim_torch
from a2i_cli.model.network import build_model, to_uint8

runner = CliRunner()


def test_classifier_learns_and_is_cached(prepared):
    data = Prepared.load(prepared)
    clf = load_or_train_classifier(data)
    assert clf.classes == ["BEACH", "FOREST"]
    # tiny data: beach and forest rows differ only by random colours, so only check it predicts valid classes
    pred = clf.predict(np.asarray(data.images))
    assert pred.shape == (len(data.rows),) and set(pred) <= {0, 1}
    assert (prepared / "classifier.pt").is_file()
    again = load_or_train_classifier(data)
    assert np.array_equal(again.predict(np.asarray(data.images)), pred)


def test_classifier_separates_distinct_scenes(tmp_path, in_tmp, make_tiny_dataset):
    root = make_tiny_dataset(tmp_path / "d2", size=32)
    import pandas as pd
    from PIL import Image

    df = pd.read_csv(root / "dataset.csv")
    for p, c in zip(df["IMAGE"], df["CLASS2"]):  # make the classes visually distinct
        im = np.asarray(Image.open(root / p)).copy()
        if c == "FOREST":
            im[:, :, 1] = 255
        else:
            im[:, :16] = 0
        Image.fromarray(im).save(root / p)
    assert runner.invoke(app, ["prepare", str(root), "--class", "all", "--image-size", "32", "--name", "v"]).exit_code == 0
    data = Prepared.load(in_tmp / "runs/prepare/v")
    clf = load_or_train_classifier(data)
    assert clf.test_accuracy >= 0.9


def test_results_have_oracle_and_class_accuracy(prepared, in_tmp):
    r = runner.invoke(app, ["train", str(prepared), "--epochs", "1", "--batch-size", "8", "--latent", "16", "--arch", "a2i"])
    assert r.exit_code == 0, r.output
    assert "class-mean oracle" in r.output and "class acc" in r.output
    row = next(csv.DictReader(open(in_tmp / "runs/train/exp/results.csv")))
    for k in ("oracle_ssim", "oracle_class_acc", "baseline_class_acc", "test_class_acc", "real_class_acc"):
        assert 0.0 <= float(row[k]) <= 1.0


def test_oracle_is_class_mean_image(prepared):
    from a2i_cli.core.config import TrainConfig
    from a2i_cli.model.baselines import mean_image
    from a2i_cli.model.trainer import Trainer

    t = Trainer(TrainConfig(prepared=prepared, epochs=1, model=ModelConfig(latent=8), classifier=False))
    data = t.data.prepared
    te, tr = data.indices("test"), data.indices("train")
    labels = data.rows["CLASS2"]
    # the oracle's per-row images are the class means: scoring them reproduces oracle_ssim
    oracle_imgs = np.stack([mean_image(np.asarray(data.images)[tr][labels.iloc[tr].to_numpy() == labels.iloc[i]]) for i in te])
    assert ssim_uint8(oracle_imgs, t.data.y_test).mean() == pytest.approx(t.baselines.oracle["ssim"], abs=1e-9)


@pytest.mark.parametrize("vae", [False, True])
def test_a2i_arch_trains_with_all_losses(prepared, in_tmp, vae):
    args = ["train", str(prepared), "--epochs", "1", "--batch-size", "8", "--latent", "16", "--arch", "a2i",
            "--loss", "mse+ssim", "--adv-weight", "0.05", "--class-weight", "0.5", "--aug-noise", "0.1", "--aug-shift", "1", "--no-classifier"]
    r = runner.invoke(app, args + (["--vae"] if vae else []))
    assert r.exit_code == 0, r.output
    engine = load_engine(in_tmp / "runs/train/exp/weights/best.pt", "eager")
    assert engine.cfg.arch == "a2i" and engine.cfg.vae is vae
    a = engine.generate(np.zeros((2, 104), np.float32))
    b = engine.generate(np.zeros((2, 104), np.float32))
    assert np.array_equal(a, b)  # a VAE generates from the mean latent: deterministic


def test_bad_training_options(prepared):
    r = runner.invoke(app, ["train", str(prepared), "--loss", "l1"])
    assert r.exit_code == 2 and "--loss" in r.output
    r = runner.invoke(app, ["train", str(prepared), "--aug-shift", "9"])
    assert r.exit_code == 2 and "--aug-shift" in r.output


def test_augment_features_shift_and_noise():
    x = torch.arange(2 * 104, dtype=torch.float32).reshape(2, 104)
    y = augment_features(x, noise=0.0, shift=0)
    assert torch.equal(x, y)
    g = torch.Generator().manual_seed(0)
    y = augment_features(x, noise=0.0, shift=2, gen=g).view(2, 8, 13)
    frames = x.view(2, 8, 13)
    for b in range(2):  # every output frame is one of the input frames, in order
        idx = [int((frames[b] == y[b, f]).all(1).nonzero()[0]) for f in range(8)]
        assert idx == sorted(idx)
    z = augment_features(x, noise=1.0, shift=0, gen=g)
    assert 0.5 < (z - x).std() < 1.5


def test_differentiable_ssim_agrees_with_metric():
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.uniform(-1, 1, (2, 3, 32, 32)).astype(np.float32))
    b = (a * 0.6 + 0.2 * torch.randn_like(a)).clamp(-1, 1)
    ours = float(ssim_torch(a, b))
    ref = ssim_uint8(to_uint8(a).numpy(), to_uint8(b).numpy()).mean()
    assert ours == pytest.approx(ref, abs=0.02)  # same definition, differs only by uint8 rounding
    b.requires_grad_(True)
    ssim_torch(a, b).backward()
    assert b.grad is not None and torch.isfinite(b.grad).all()


def test_a2i_keeps_seed_decoder_shapes():
    seed = build_model(ModelConfig(arch="seed", latent=32, image_size=64))
    new = build_model(ModelConfig(arch="a2i", latent=32, image_size=64, vae=True))
    assert [p.shape for p in seed.decoder.parameters()] == [p.shape for p in new.decoder.parameters()]


def test_time_budget_stops_after_the_epoch_that_reaches_it(prepared, in_tmp):
    r = runner.invoke(app, ["train", str(prepared), "--epochs", "50", "--batch-size", "8", "--latent", "16",
                            "--time-budget", "0", "--no-classifier"])
    assert r.exit_code == 0, r.output
    assert "time budget" in r.output
    rows = list(csv.DictReader(open(in_tmp / "runs/train/exp/results.csv")))
    assert len(rows) == 1


@pytest.mark.parametrize("codes", ["--class-codes", "--no-class-codes"])
def test_resume_restores_auxiliary_heads(prepared, in_tmp, codes):
    """The class head (the model's own with class codes) and the discriminator continue where they stopped."""
    args = ["train", str(prepared), "--batch-size", "8", "--latent", "16", "--arch", "a2i", "--class-weight", "1",
            "--adv-weight", "0.1", "--no-classifier", "--seed", "2", codes]
    assert runner.invoke(app, args + ["--epochs", "2", "--name", "full"]).exit_code == 0
    assert runner.invoke(app, args + ["--epochs", "1", "--name", "part"]).exit_code == 0
    r = runner.invoke(app, ["train", "--resume", str(in_tmp / "runs/train/part"), "--epochs", "2"])
    assert r.exit_code == 0, r.output
    a = torch.load(in_tmp / "runs/train/full/weights/last.pt", weights_only=False)
    b = torch.load(in_tmp / "runs/train/part/weights/last.pt", weights_only=False)
    for k in a["state_dict"]:
        torch.testing.assert_close(a["state_dict"][k], b["state_dict"][k])
    assert ("codes.head.weight" in a["state_dict"]) == (codes == "--class-codes") == (a["class_head"] is None)
    for k in a["class_head"] or {}:
        torch.testing.assert_close(a["class_head"][k], b["class_head"][k])
    for k in a["disc"]:
        torch.testing.assert_close(a["disc"][k], b["disc"][k])


def test_augment_offset_is_shared_by_the_frames():
    x = torch.zeros(64, 104)
    y = augment_features(x, noise=0.0, shift=0, gen=torch.Generator().manual_seed(0), offset=1.0).view(64, 8, 13)
    assert torch.equal(y, y[:, :1].expand_as(y))  # one offset per coefficient, the same in all 8 frames
    assert 0.8 < float(y[:, 0].std()) < 1.2 and float(y[:, 0, 0].std()) > 0.5  # varies per sample and coefficient


def test_augment_mask_zeroes_a_frame_and_two_coefficients_never_the_energy():
    x = torch.arange(1, 4001 * 104 + 1, dtype=torch.float32).view(4001, 104)  # no zero anywhere before masking
    y = augment_features(x, noise=0.0, shift=0, gen=torch.Generator().manual_seed(0), mask=0.5).view(4001, 8, 13)
    zero = y == 0
    frame_masked = zero.all(2).any(1)  # a whole frame zeroed
    coeff_masked = zero.all(1).any(1)  # a coefficient zeroed in every frame
    assert 0.45 < float(frame_masked.float().mean()) < 0.55 and 0.45 < float(coeff_masked.float().mean()) < 0.55
    assert int(zero.all(2).sum(1).max()) == 1  # at most one frame
    assert 1 <= int(zero.all(1)[coeff_masked].sum(1).min()) and int(zero.all(1).sum(1).max()) <= 2
    assert not zero.all(1)[:, 0].any()  # the log energy is never masked in every frame
    untouched = ~(frame_masked | coeff_masked)
    torch.testing.assert_close(y[untouched], x.view(4001, 8, 13)[untouched])  # the rest as it was
    assert torch.equal(augment_features(x, noise=0.0, shift=0, mask=0.0), x)  # off: nothing changes
    # an option, off in every recipe (on spoken digits it lifted the mean voice and lowered the worst one)
    assert TrainConfig().resolved(10, over_sound=True).aug_mask == 0.0 == TrainConfig().resolved(10).aug_mask
    assert TrainConfig(aug_mask=0.5).resolved(10, over_sound=True).aug_mask == 0.5
