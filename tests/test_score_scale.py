"""`a2i score` at scale: the newest batch-generate output by default, parallel workers, report."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.metrics import structural_similarity
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.eval.pairing import pair_images
from a2i_cli.jobs.score_job import score_pairs

runner = CliRunner()


def test_score_newest_batch_output_with_report(tiny_data, in_tmp, ckpt):
    r = runner.invoke(app, ["batch-generate", str(tiny_data / "dataset.csv"), "--model", str(ckpt)])
    assert r.exit_code == 0, r.output
    gen = in_tmp / "runs/batch-generate/exp"
    victim = pd.read_csv(gen / "manifest.csv")["path"][3]
    (gen / victim).unlink()  # a missing image is listed, not fatal
    r = runner.invoke(app, ["score", "--out", "s"])  # the newest output, against ./data by default
    assert r.exit_code == 1, r.output  # every output written; the exit code says a pair failed
    assert "newest batch-generate output" in r.output and "1 pairs could not be scored" in r.output
    assert "not scored: " in r.output and "does not exist" in r.output
    scores = pd.read_csv(in_tmp / "s/scores.csv")
    assert len(scores) == 39
    summary = json.loads((in_tmp / "s/summary.json").read_text())
    assert summary["pairs_failed"] == 1 and "does not exist" in summary["problems"][0]["reason"]
    for f in ("report.md", "ssim_hist.png", "examples_best.png", "examples_median.png", "examples_worst.png"):
        assert (in_tmp / "s" / f).is_file(), f
    report = (in_tmp / "s/report.md").read_text()
    assert "Worst examples" in report and "000000004" in report  # the missing row is named
    row = scores.iloc[0]
    g, t = np.asarray(Image.open(row["generated"])), np.asarray(Image.open(row["target"]))
    assert row["ssim"] == pytest.approx(structural_similarity(g, t, channel_axis=-1, data_range=255), abs=1e-4)


def test_local_workers_equal_inline(tiny_data, in_tmp, ckpt):
    r = runner.invoke(app, ["batch-generate", str(tiny_data / "dataset.csv"), "--model", str(ckpt), "--out", "g"])
    assert r.exit_code == 0, r.output
    pairs = pair_images(in_tmp / "g", tiny_data)
    inline, _ = score_pairs(pairs, backend="inline")
    local, problems = score_pairs(pairs, chunk=7, backend="local", workers=2)
    assert not problems
    pd.testing.assert_frame_equal(inline, local)


def test_score_without_any_batch_output(in_tmp):
    r = runner.invoke(app, ["score"])
    assert r.exit_code == 2 and "a2i batch-generate" in r.output


def test_keep_freed_memory_is_harmless_everywhere(monkeypatch):
    import ctypes

    from a2i_cli.jobs import workers

    workers.keep_freed_memory()  # glibc here: two mallopt calls

    def no_libc(*a, **k):
        raise OSError("no C library")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    workers.keep_freed_memory()  # elsewhere: nothing happens


def test_score_never_loads_torch_without_a_classifier(tmp_path):
    """Plain scoring is numpy and image decoding: importing torch (1.5-2 s) would be a fifth of a 1,500-pair run.
    A fresh interpreter scores two pairs and must not have torch loaded afterwards."""
    import subprocess
    import sys

    for folder in ("gen", "data"):
        (tmp_path / folder).mkdir()
        for i in range(2):
            Image.fromarray(np.full((16, 16, 3), 40 * i + (folder == "gen"), np.uint8)).save(tmp_path / folder / f"{i}.png")
    code = ("import sys; from pathlib import Path; from a2i_cli.core.config import ScoreConfig; "
            "from a2i_cli.jobs.score_job import score_folder; "
            f"r = score_folder(Path({str(tmp_path / 'gen')!r}), ScoreConfig(targets={str(tmp_path / 'data')!r}, "
            f"out={str(tmp_path / 's')!r}, backend='inline')); "
            "assert len(r.frame) == 2, r.frame; print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
