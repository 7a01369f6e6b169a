"""`a2i demo`: the whole job end to end on a small demo dataset."""
from __future__ import annotations

import json

import pandas as pd
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app

runner = CliRunner()


def test_demo_runs_the_whole_job(in_tmp):
    r = runner.invoke(app, ["demo", "--rows", "90", "--epochs", "2", "--image-size", "32", "--batch-size", "8"])
    assert r.exit_code == 0, r.output
    run = in_tmp / "runs/demo/demo"
    manifest = pd.read_csv(run / "generated/manifest.csv")
    assert len(manifest) > 0 and len(set(manifest["CLASS2"])) == 9  # all nine classes by default
    for p in manifest["path"]:
        assert Image.open(run / "generated" / p).size == (32, 32)
    summary = json.loads((run / "scores/summary.json").read_text())
    assert summary["pairs_scored"] == len(manifest) and summary["pairs_failed"] == 0
    assert set(summary["baseline_mean_training_image"]) >= {"ssim", "hist", "mse", "psnr"}
    assert (run / "comparison.png").is_file() and str(run.relative_to(in_tmp) / "comparison.png") in r.output
    assert "SSIM" in r.output and "baseline" in r.output
    colour = summary["colour_error"]  # are the colours right? the generated images' and the mean image's
    assert 0 <= colour["generated"] <= 255 and 0 < colour["mean_image"] <= 255 and "colour:" in r.output
    assert (in_tmp / "runs/train/demo/weights/best.pt").is_file()
    assert (in_tmp / "runs/prepare/demo/meta.json").is_file()
    # a second demo goes to new folders, never over the first; --class BEACH --arch seed is the one-class seed demo
    r = runner.invoke(app, ["demo", "--rows", "90", "--epochs", "1", "--image-size", "32", "--batch-size", "8",
                            "--class", "BEACH", "--arch", "seed", "--loss", "mse+ssim"])
    assert r.exit_code == 0, r.output
    assert (in_tmp / "runs/demo/demo2/comparison.png").is_file()
    assert set(pd.read_csv(in_tmp / "runs/demo/demo2/generated/manifest.csv")["CLASS2"]) == {"BEACH"}
    args = (in_tmp / "runs/train/demo2/args.yaml").read_text()
    assert '"arch": "seed"' in args and 'loss: "mse+ssim"' in args
    # --exist-ok replaces demo2 (its data, prepared folder and run) instead of making demo3
    r = runner.invoke(app, ["demo", "--rows", "90", "--epochs", "1", "--image-size", "32", "--batch-size", "8",
                            "--name", "demo2", "--exist-ok"])
    assert r.exit_code == 0, r.output
    assert not (in_tmp / "runs/demo/demo3").exists() and not (in_tmp / "runs/train/demo3").exists()
    assert len(set(pd.read_csv(in_tmp / "runs/demo/demo2/generated/manifest.csv")["CLASS2"])) == 9


def test_demo_with_too_few_rows_says_which_option(in_tmp):
    r = runner.invoke(app, ["demo", "--rows", "9", "--epochs", "1", "--image-size", "32", "--name", "t"])
    assert r.exit_code == 2 and "--rows 9 is too few" in r.output and "Traceback" not in r.output
    # the next demo of that name gets one name for its three runs (demo, prepare, train)
    r = runner.invoke(app, ["demo", "--rows", "90", "--epochs", "1", "--image-size", "32", "--batch-size", "8",
                            "--name", "t"])
    assert r.exit_code == 0, r.output
    assert (in_tmp / "runs/demo/t2").is_dir() and (in_tmp / "runs/train/t2/weights/best.pt").is_file()
