"""--ssim-weight: how much 1 - SSIM counts beside the MSE in --loss mse+ssim (the recipe's, what a run records)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import TrainConfig
from a2i_cli.core.errors import UserError
from a2i_cli.model.losses import reconstruction_loss, ssim_torch

runner = CliRunner()


def test_the_weight_scales_the_ssim_term_only():
    torch.manual_seed(0)
    out, target = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1  # (B, 3, S, S) in [-1, 1]
    mse, dissim = F.mse_loss(out, target), 1 - ssim_torch(out, target)
    for w in (0.0, 0.5, 1.0, 3.0):
        assert float(reconstruction_loss("mse+ssim", out, target, w)) == pytest.approx(float(mse + w * dissim), rel=1e-6)
    assert float(reconstruction_loss("mse", out, target, 3.0)) == pytest.approx(float(mse))


def test_range_and_recipes():
    for bad in (-0.5, 1001, float("nan"), float("inf")):
        with pytest.raises(UserError, match="--ssim-weight"):
            TrainConfig(ssim_weight=bad)
    with pytest.raises(UserError, match="--ssim-weight must be a number"):
        TrainConfig(ssim_weight=True)  # from a hand-edited last.pt
    assert TrainConfig().resolved(9).ssim_weight == 1.0  # scenes: the a2i recipe's
    assert TrainConfig().resolved(10, over_sound=True).ssim_weight == 0.5  # spoken digits: as measured there
    assert TrainConfig(ssim_weight=2.0).resolved(9).ssim_weight == 2.0  # given wins


def test_train_records_the_weight_refuses_it_without_ssim_and_resumes_old_runs(prepared, in_tmp):
    base = ["train", str(prepared), "--batch-size", "8", "--latent", "40", "--no-classifier", "--epochs", "1"]
    r = runner.invoke(app, [*base, "--name", "w", "--arch", "a2i", "--ssim-weight", "2"])
    assert r.exit_code == 0, r.output
    assert "loss mse+ssim (SSIM weight 2)" in r.output and "+ 2 (1 - SSIM)" in r.output  # the recipe line, the legend
    assert "ssim_weight: 2.0" in (in_tmp / "runs/train/w/args.yaml").read_text().splitlines()
    r = runner.invoke(app, [*base, "--name", "w0", "--arch", "a2i", "--ssim-weight", "0"])  # the same run, no SSIM term
    assert r.exit_code == 0, r.output
    weights = [torch.load(in_tmp / f"runs/train/{n}/weights/last.pt", weights_only=True)["state_dict"] for n in ("w", "w0")]
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])  # the weight steers training
    r = runner.invoke(app, [*base, "--name", "s", "--arch", "seed"])  # loss mse: no SSIM term, recorded as 0
    assert r.exit_code == 0, r.output
    assert "ssim_weight: 0.0" in (in_tmp / "runs/train/s/args.yaml").read_text().splitlines()
    r = runner.invoke(app, ["train", "--resume", str(in_tmp / "runs/train/s"), "--epochs", "2"])
    assert r.exit_code == 0, r.output
    for args, why in ((["--arch", "seed", "--ssim-weight", "1"], "(the seed recipe's)"),
                      (["--arch", "a2i", "--loss", "mse", "--ssim-weight", "1"], "(--loss mse)")):
        r = runner.invoke(app, [*base, "--name", "bad", *args])
        text = " ".join(r.output.split())
        assert r.exit_code == 2 and "--ssim-weight weighs the SSIM term of --loss mse+ssim" in text and why in text, r.output
        assert "Traceback" not in r.output and not (in_tmp / "runs/train/bad").exists()
    r = runner.invoke(app, [*base, "--name", "bad", "--ssim-weight", "-1"])
    assert r.exit_code == 2 and "--ssim-weight" in r.output and "Traceback" not in r.output
    # a run from before the option trained with weight 0.5 (mse+ssim) or none (mse): it resumes as it was
    for run, want in (("w", "SSIM weight 0.5"), ("s", "loss mse,")):
        blob = torch.load(in_tmp / f"runs/train/{run}/weights/last.pt", weights_only=True)
        del blob["train_config"]["ssim_weight"]
        old = in_tmp / f"runs/train/old-{run}"
        (old / "weights").mkdir(parents=True)
        torch.save(blob, old / "weights/last.pt")
        r = runner.invoke(app, ["train", "--resume", str(old), "--epochs", "3"])
        assert r.exit_code == 0 and want in r.output, r.output
    # hand edits: a weight with loss mse; null (which would silently take today's recipe); text
    for run, value, want in (("s", 0.7, "records ssim_weight 0.7 with loss mse"),
                             ("w", None, "ssim_weight is null, where a run records the value it trained with"),
                             ("w", "abc", "--ssim-weight must be a number, got 'abc'")):
        blob = torch.load(in_tmp / f"runs/train/{run}/weights/last.pt", weights_only=True)
        blob["train_config"]["ssim_weight"] = value
        edited = in_tmp / f"runs/train/edit-{value}"
        (edited / "weights").mkdir(parents=True)
        torch.save(blob, edited / "weights/last.pt")
        r = runner.invoke(app, ["train", "--resume", str(edited), "--epochs", "3"])
        text = " ".join(r.output.split())
        assert r.exit_code == 2 and want in text and "last.pt" in text and "Traceback" not in r.output, r.output
