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
    assert len(manifest) > 0 and set(manifest["CLASS2"]) == {"BEACH"}
    for p in manifest["path"]:
        assert Image.open(run / "generated" / p).size == (32, 32)
    summary = json.loads((run / "scores/summary.json").read_text())
    assert summary["pairs_scored"] == len(manifest) and summary["pairs_failed"] == 0
    assert set(summary["baseline_mean_training_image"]) >= {"ssim", "hist", "mse", "psnr"}
    assert (run / "comparison.png").is_file() and str(run.relative_to(in_tmp) / "comparison.png") in r.output
    assert "SSIM" in r.output and "baseline" in r.output
    assert (in_tmp / "runs/train/demo/weights/best.pt").is_file()
    assert (in_tmp / "runs/prepare/demo/meta.json").is_file()
    # a second demo goes to new folders, never over the first
    r = runner.invoke(app, ["demo", "--rows", "90", "--epochs", "1", "--image-size", "32", "--batch-size", "8"])
    assert r.exit_code == 0, r.output
    assert (in_tmp / "runs/demo/demo2/comparison.png").is_file()
