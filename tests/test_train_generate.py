"""train, generate, checkpoints: outputs a user relies on, determinism, resume, bad input."""
from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import ModelConfig
from a2i_cli.inference.engine import load_engine
from a2i_cli.model.checkpoint import load_checkpoint
from a2i_cli.model.network import build_model, decoder_channels

runner = CliRunner()


def train(*args):
    r = runner.invoke(app, ["train", "--epochs", "2", "--batch-size", "8", "--latent", "16", *args])
    assert r.exit_code == 0, r.output
    return r


def test_seed_model_shapes():
    assert decoder_channels(128, 256) == [128, 256, 128, 64, 32, 16, 8, 4, 3]
    assert decoder_channels(100, 32) == [100, 256, 128, 64, 32, 3]
    m = build_model(ModelConfig(latent=100, image_size=64)).eval()
    assert m(torch.zeros(2, 104)).shape == (2, 3, 64, 64)
    widths = [l.out_features for l in m.encoder.net if isinstance(l, torch.nn.Linear)]
    assert widths == [1024, 768, 512, 256, 100]


def test_train_writes_run_and_reports_baseline(prepared, in_tmp):
    r = train(str(prepared))
    run = in_tmp / "runs/train/exp"
    for f in ("weights/best.pt", "weights/last.pt", "results.csv", "samples.png", "samples/epoch_002.png", "args.yaml"):
        assert (run / f).is_file(), f
    rows = list(csv.DictReader(open(run / "results.csv")))
    assert [int(x["epoch"]) for x in rows] == [1, 2]
    for key in ("train_loss_x_bs", "test_ssim", "test_hist", "test_mse", "baseline_ssim", "baseline_hist"):
        assert np.isfinite(float(rows[-1][key]))
    assert float(rows[0]["train_loss_x_bs"]) == pytest.approx(8 * float(rows[0]["train_loss"]))
    assert "baseline (mean training image)" in r.output
    blob = torch.load(run / "weights/best.pt", weights_only=False)
    assert blob["model_config"]["image_size"] == 32 and "norm" in blob and "version" in blob


def test_checkpoint_round_trip_identical_outputs(prepared, in_tmp):
    train(str(prepared))
    loaded = load_checkpoint(in_tmp / "runs/train/exp/weights/best.pt")
    again = load_checkpoint(in_tmp / "runs/train/exp/weights/best.pt")
    x = torch.randn(5, 104)
    with torch.inference_mode():
        assert torch.equal(loaded.model(x), again.model(x))
    feats = pd.read_csv(in_tmp / "data/dataset.csv").filter(like="mfcc_").to_numpy(np.float32)[:4]
    a = load_engine(loaded.path, "eager").generate(feats)
    assert a.shape == (4, 32, 32, 3) and a.dtype == np.uint8


def test_same_seed_same_images(prepared, in_tmp):
    train(str(prepared), "--seed", "3", "--name", "a")
    train(str(prepared), "--seed", "3", "--name", "b")
    train(str(prepared), "--seed", "4", "--name", "c")
    feats = np.random.default_rng(0).normal(0, 10, (6, 104)).astype(np.float32)
    out = {n: load_engine(in_tmp / f"runs/train/{n}/weights/last.pt", "eager").generate(feats) for n in "abc"}
    assert np.array_equal(out["a"], out["b"])
    assert not np.array_equal(out["a"], out["c"])


def test_resume_continues_to_more_epochs(prepared, in_tmp):
    # a constant rate: a cosine schedule is stretched by a resume that asks for more epochs
    train(str(prepared), "--seed", "5", "--name", "full", "--epochs", "3", "--lr-schedule", "constant")
    train(str(prepared), "--seed", "5", "--name", "part", "--epochs", "2", "--lr-schedule", "constant")
    r = runner.invoke(app, ["train", "--resume", str(in_tmp / "runs/train/part"), "--epochs", "3"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(in_tmp / "runs/train/part/results.csv")))
    assert [int(x["epoch"]) for x in rows] == [1, 2, 3]
    a = torch.load(in_tmp / "runs/train/full/weights/last.pt", weights_only=False)["state_dict"]
    b = torch.load(in_tmp / "runs/train/part/weights/last.pt", weights_only=False)["state_dict"]
    for k in a:  # resuming reproduces the uninterrupted run
        torch.testing.assert_close(a[k], b[k])
    r = runner.invoke(app, ["train", "--resume", str(in_tmp / "runs/train/part"), "--epochs", "3"])
    assert r.exit_code == 2 and "already finished 3 epochs" in r.output


def test_train_bad_input(in_tmp, prepared):
    r = runner.invoke(app, ["train", str(in_tmp / "nope")])
    assert r.exit_code == 2 and "not a prepared folder" in r.output
    r = runner.invoke(app, ["train", str(prepared), "--epochs", "0"])
    assert r.exit_code == 2 and "--epochs" in r.output
    r = runner.invoke(app, ["train", str(prepared), "--arch", "unet"])
    assert r.exit_code == 2 and "--arch" in r.output


def test_generate_from_mfcc_and_csv_row(prepared, in_tmp):
    train(str(prepared))
    vals = ",".join(["0.5"] * 104)
    r = runner.invoke(app, ["generate", "--mfcc", vals, "--out", "one.png"])  # newest best.pt by default
    assert r.exit_code == 0, r.output
    assert Image.open(in_tmp / "one.png").size == (32, 32)
    r = runner.invoke(app, ["generate", str(in_tmp / "data/dataset.csv"), "--row", "3", "--out", "two.png"])
    assert r.exit_code == 0, r.output
    row3 = pd.read_csv(in_tmp / "data/dataset.csv").filter(like="mfcc_").to_numpy(np.float32)[2]
    expect = load_engine(in_tmp / "runs/train/exp/weights/best.pt", "eager").generate(row3[None])[0]
    assert np.array_equal(np.asarray(Image.open(in_tmp / "two.png")), expect)


@pytest.mark.parametrize(
    "args, expect",
    [
        (["--mfcc", "1,2,3"], "104"),
        (["--mfcc", ",".join(["1"] * 103 + ["x"])], "mfcc_104 is 'x', not a number"),
        (["--mfcc", ",".join(["1"] * 103 + ["nan"])], "mfcc_104 is NaN"),
        (["missing.csv"], "does not exist"),
        (["data/dataset.csv", "--row", "9999"], "fewer than 9999"),
        (["data/dataset.csv", "--row", "0"], "1-based"),
        (["--csv", "data/dataset.csv", "--row", "0"], "1-based"),
        ([], "exactly one input"),
    ],
)
def test_generate_bad_input(prepared, in_tmp, args, expect):
    train(str(prepared))
    r = runner.invoke(app, ["generate", "--out", "x.png", *args])
    assert r.exit_code == 2, r.output
    assert expect in r.output
    assert not (in_tmp / "x.png").exists()


def test_generate_without_model_says_train_first(in_tmp):
    r = runner.invoke(app, ["generate", "--mfcc", ",".join(["0"] * 104)])
    assert r.exit_code == 2 and "a2i train" in r.output
    (in_tmp / "bad.pt").write_bytes(b"garbage")
    r = runner.invoke(app, ["generate", "--mfcc", ",".join(["0"] * 104), "--model", "bad.pt"])
    assert r.exit_code == 2 and "bad.pt" in r.output and "Traceback" not in r.output


def test_generate_csv_short_row_says_so(prepared, in_tmp):
    train(str(prepared))
    lines = (in_tmp / "data/dataset.csv").read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:50])  # data row 3 loses its last fields
    (in_tmp / "short.csv").write_text("\n".join(lines) + "\n")
    r = runner.invoke(app, ["generate", "short.csv", "--row", "3", "--out", "s.png"])
    assert r.exit_code == 2 and "row 3: expected 107 fields (as in the header), got 50" in r.output and "np." not in r.output


def test_generate_with_an_exported_program(prepared, in_tmp):
    train(str(prepared))
    assert runner.invoke(app, ["export", "--model", "runs/train/exp/weights/best.pt", "--out", "m.pt2"]).exit_code == 0
    r = runner.invoke(app, ["generate", "--mfcc", ",".join(["0.5"] * 104), "--engine", "export", "--model", "m.pt2", "--out", "e.png"])
    assert r.exit_code == 0, r.output
    assert "engine export" in r.output and "m.pt2" in r.output
    r = runner.invoke(app, ["generate", "--mfcc", ",".join(["0.5"] * 104), "--backend", "export", "--model", "m.pt2", "--out", "e2.png"])
    assert r.exit_code == 0 and "--backend is deprecated; use --engine" in r.output
    r = runner.invoke(app, ["batch-generate", "data/dataset.csv", "--engine", "export", "--model", "m.pt2", "--out", "b"])
    assert r.exit_code == 0, r.output
    a = np.asarray(Image.open(in_tmp / "e.png"))
    assert a.shape == (32, 32, 3)


def test_resume_from_another_folder_says_where_the_prepared_data_was(prepared, in_tmp, monkeypatch):
    # a run records its prepared folder as given (here relative): from another folder the message used to say
    # "not a prepared folder; run `a2i prepare` first", advice that does not help
    import shutil

    shutil.copytree(prepared, in_tmp / "p")
    train("p", "--name", "rel", "--epochs", "1")
    elsewhere = in_tmp / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = runner.invoke(app, ["train", "--resume", str(in_tmp / "runs/train/rel"), "--epochs", "2"])
    assert r.exit_code == 2, r.output
    assert "was trained on the prepared folder p (relative to the folder the run was started in" in r.output, r.output
    monkeypatch.chdir(in_tmp)
    r = runner.invoke(app, ["train", "--resume", "runs/train/rel", "--epochs", "2"])
    assert r.exit_code == 0, r.output
