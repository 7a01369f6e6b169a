"""A training run: --arch auto and each arch's recipe, best.pt chosen on validation rows, results.png, TensorBoard, sharpness."""
from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import RECIPES, SOUND_RECIPES, ModelConfig, TrainConfig
from a2i_cli.eval.metrics import sharpness, sharpness_ratio
from a2i_cli.model.networks import Networks

runner = CliRunner()


def train(prepared, *args):
    r = runner.invoke(app, ["train", str(prepared), "--batch-size", "8", "--latent", "16", "--no-classifier", *args])
    assert r.exit_code == 0, r.output
    return r


def args_of(run) -> dict:
    return {k: json.loads(v) for k, v in (line.split(": ", 1) for line in (run / "args.yaml").read_text().splitlines())}


def test_auto_arch_takes_each_archs_recipe(prepared, in_tmp):
    train(prepared, "--epochs", "1", "--name", "auto")  # two classes: a2i and its recipe
    a = args_of(in_tmp / "runs/train/auto")
    assert a["model"]["arch"] == "a2i" and {k: a[k] for k in RECIPES["a2i"]} == RECIPES["a2i"]
    train(prepared, "--epochs", "1", "--name", "seed", "--arch", "seed")  # the student project exactly
    s = args_of(in_tmp / "runs/train/seed")
    # loss mse has no SSIM term: the run records its weight as 0, not the recipe's 0.5 (kept for --loss mse+ssim)
    assert s["model"]["arch"] == "seed" and {k: s[k] for k in RECIPES["seed"]} == RECIPES["seed"] | {"ssim_weight": 0.0}
    train(prepared, "--epochs", "1", "--name", "mix", "--arch", "seed", "--aug-noise", "0.3", "--loss", "mse+ssim")
    m = args_of(in_tmp / "runs/train/mix")  # given options win over the recipe
    assert m["aug_noise"] == 0.3 and m["loss"] == "mse+ssim" and m["class_weight"] == 0.0 and m["ssim_weight"] == 0.5
    one_class = TrainConfig().resolved(1)
    assert one_class.model.arch == "seed" and one_class.class_weight == 0.0
    assert TrainConfig(model=ModelConfig(arch="a2i"), class_weight=0.5).resolved(1).class_weight == 0.5
    # rows of the `sound` recipe (one recording each) also train with the per-coefficient offset
    assert TrainConfig().resolved(10, over_sound=True).aug_offset == SOUND_RECIPES["a2i"]["aug_offset"] > 0
    assert TrainConfig().resolved(10).aug_offset == 0.0 and TrainConfig().resolved(1, over_sound=True).aug_offset == 0.0
    # ... and with the image-class term (the frozen scene classifier reads the generated digit)
    assert TrainConfig().resolved(10, over_sound=True).image_class_weight == SOUND_RECIPES["a2i"]["image_class_weight"] > 0
    assert TrainConfig().resolved(10).image_class_weight == 0.0


def test_best_pt_is_chosen_on_validation_rows(prepared, in_tmp):
    rows = list(csv.DictReader(open(prepared / "rows.csv")))
    assert {r["split"] for r in rows} == {"train", "val", "test"}
    train(prepared, "--epochs", "4", "--name", "v", "--lr", "0.01")
    run = in_tmp / "runs/train/v"
    assert "lowest validation loss" in args_of(run)["best_pt_chosen_on"]
    history = list(csv.DictReader(open(run / "results.csv")))
    val = [float(h["val_loss"]) for h in history]
    best_epoch = int(np.argmin(val)) + 1
    assert [int(h["best"]) for h in history][best_epoch - 1] == 1
    blob = torch.load(run / "weights/best.pt", weights_only=False)
    assert blob["epoch"] == best_epoch and blob["metrics"]["val_loss"] == pytest.approx(min(val))


def test_the_log_names_its_values_and_says_where_the_files_are(prepared, in_tmp):
    r = train(prepared, "--epochs", "3", "--name", "log", "--arch", "seed", "--lr", "0.01")
    run = in_tmp / "runs/train/log"
    out = r.output.splitlines()
    assert "x bs" not in r.output
    legend = next(line for line in out if line.startswith("per epoch:"))
    assert "train mse: the training loss (per-pixel MSE on [-1, 1])" in legend and "chooses best.pt" in legend
    epochs = [line for line in out if line.startswith("epoch ")]
    assert len(epochs) == 3 and epochs[0].startswith("epoch 1/3  train mse 0.")
    pattern = (r"epoch [123]/3  train mse [\d.]+  val mse [\d.]+  test SSIM -?[\d.]+  MSE \d+  PSNR [\d.]+ dB  "
               r"hist -?[\d.]+  sharp [\d.]+  lr 0\.01  [\d.]+ s(  -> best\.pt)?")
    for line in epochs:
        assert re.fullmatch(pattern, line), line
    history = list(csv.DictReader(open(run / "results.csv")))
    best = max(int(h["epoch"]) for h in history if h["best"] == "1")
    assert epochs[best - 1].endswith("-> best.pt")
    summary = out[out.index(next(line for line in out if line.startswith("best epoch"))):]
    assert summary[0].startswith(f"best epoch {best} of 3 (lowest val mse ") and "): test SSIM" in summary[0]
    assert summary[1].startswith("  the mean training image on the same test rows: SSIM")
    assert summary[2].startswith("  the class-mean oracle on the same test rows:  SSIM")
    named, rel = dict(line.split(None, 1) for line in summary[3:]), run.relative_to(in_tmp)  # printed as given
    assert named["run"] == f"folder   {rel}"
    assert named["best.pt"].startswith(f"{rel / 'weights/best.pt'}  (epoch {best};")
    assert named["last.pt"].startswith(f"{rel / 'weights/last.pt'}  (epoch 3; go on with a2i train --resume {rel}")
    assert named["scores"].startswith(str(rel / "results.csv")) and str(rel / "samples.png") in named["samples"]
    assert torch.load(run / "weights/best.pt", weights_only=True)["epoch"] == best


def test_without_validation_rows_best_is_the_last_epoch(tiny_data, in_tmp):
    r = runner.invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32", "--name", "nv",
                            "--val-fraction", "0"])
    assert r.exit_code == 0 and "0 validation" in r.output, r.output
    r = train(in_tmp / "runs/prepare/nv", "--epochs", "2", "--name", "nv")
    run = in_tmp / "runs/train/nv"
    assert "last epoch" in args_of(run)["best_pt_chosen_on"]
    assert torch.load(run / "weights/best.pt", weights_only=False)["epoch"] == 2
    assert "best epoch 2 of 2 (the last epoch: no validation rows)" in r.output and "val mse" not in r.output


def test_results_png_is_redrawn_every_epoch(prepared, in_tmp):
    seen = []
    from a2i_cli.model.trainer import Trainer

    t = Trainer(TrainConfig(prepared=prepared, epochs=2, batch_size=8, model=ModelConfig(latent=16), name="png"),
                log=lambda m: None)
    t.fit(on_epoch_end=lambda r: seen.append(Image.open(t.run_dir / "results.png").copy()))
    assert len(seen) == 2 and seen[0].size == seen[1].size and seen[0].size[0] >= 1000
    assert np.abs(np.asarray(seen[0], int) - np.asarray(seen[1], int)).sum() > 0  # the curves grew


def test_one_class_baselines_are_one_named_line():
    from a2i_cli.model.run_log import score_series

    one_class = [{"test_ssim": 0.5, "baseline_ssim": 0.3, "oracle_ssim": 0.3}, {"test_ssim": 0.6, "baseline_ssim": 0.3, "oracle_ssim": 0.3}]
    assert score_series(one_class, "ssim") == {"model": [0.5, 0.6], "mean image = class-mean oracle": [0.3, 0.3]}
    two = [{"test_ssim": 0.5, "baseline_ssim": 0.3, "oracle_ssim": 0.45}]
    assert list(score_series(two, "ssim")) == ["model", "mean image", "class-mean oracle"]


def test_tensorboard_logs_scalars_and_samples(prepared, in_tmp):
    pytest.importorskip("tensorboard", reason="the tensorboard extra (install.sh installs it)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(prepared, "--epochs", "2", "--name", "tb", "--tensorboard")
    acc = EventAccumulator(str(in_tmp / "runs/train/tb/tensorboard"))
    acc.Reload()
    tags = acc.Tags()
    for tag in ("loss/train", "loss/validation", "ssim/model", "ssim/mean image", "ssim/class-mean oracle", "sharpness/model"):
        assert tag in tags["scalars"], tags["scalars"]
        assert [e.step for e in acc.Scalars(tag)] == [1, 2]
    assert len(tags["images"]) == 1


def test_tensorboard_missing_says_how_to_install(prepared, in_tmp, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_tensorboard(name, *a, **k):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    r = runner.invoke(app, ["train", str(prepared), "--epochs", "1", "--tensorboard", "--no-classifier", "--name", "notb"])
    assert r.exit_code == 2 and "a2i[tensorboard]" in r.output and "Traceback" not in r.output
    assert not (in_tmp / "runs/train/notb").exists()  # checked before the run folder is made


def test_sharpness_ranks_blur_below_detail():
    rng = np.random.default_rng(0)
    sharp = (rng.random((2, 32, 32, 3)) > 0.5).astype(np.uint8) * 255
    blurred = sharp.astype(float)
    for _ in range(3):  # box blur
        blurred = (blurred + np.roll(blurred, 1, 1) + np.roll(blurred, -1, 1) + np.roll(blurred, 1, 2) + np.roll(blurred, -1, 2)) / 5
    blurred = blurred.round().astype(np.uint8)
    assert (sharpness(blurred) < 0.5 * sharpness(sharp)).all()
    assert sharpness(np.full((1, 16, 16, 3), 77, np.uint8))[0] == 0.0
    assert sharpness_ratio(sharp, sharp) == pytest.approx(1.0)
    ramp = np.tile(np.arange(32, dtype=np.uint8)[None, :, None] * 4, (32, 1, 3))[None]  # +4 per pixel to the right
    assert sharpness(ramp)[0] == pytest.approx(4.0)


def test_cosine_schedule_goes_from_lr_to_zero(prepared, in_tmp):
    train(prepared, "--epochs", "3", "--name", "cos", "--lr-schedule", "cosine", "--lr", "0.002")
    lrs = [float(h["lr"]) for h in csv.DictReader(open(in_tmp / "runs/train/cos/results.csv"))]
    assert lrs == pytest.approx([0.002, 0.0015, 0.0005])  # 0.002 * (1 + cos(pi * (epoch - 1) / 3)) / 2
    train(prepared, "--epochs", "2", "--name", "const", "--arch", "seed")
    assert [float(h["lr"]) for h in csv.DictReader(open(in_tmp / "runs/train/const/results.csv"))] == [0.001, 0.001]


def test_image_class_term_needs_the_classifier_and_changes_the_training(prepared, in_tmp):
    r = runner.invoke(app, ["train", str(prepared), "--epochs", "1", "--batch-size", "8", "--latent", "16",
                            "--no-classifier", "--image-class-weight", "1"])
    assert r.exit_code != 0 and "--image-class-weight needs the scene classifier" in r.output
    assert not (in_tmp / "runs/train").exists() or not list((in_tmp / "runs/train").glob("*/weights/last.pt"))
    base = ["train", str(prepared), "--epochs", "1", "--batch-size", "8", "--latent", "16", "--exist-ok"]
    for name, weight in (("off", "0"), ("on", "1")):
        r = runner.invoke(app, [*base, "--name", name, "--image-class-weight", weight])
        assert r.exit_code == 0, r.output
    assert args_of(in_tmp / "runs/train/on")["image_class_weight"] == 1.0
    off = torch.load(in_tmp / "runs/train/off/weights/last.pt", weights_only=True)["state_dict"]
    on = torch.load(in_tmp / "runs/train/on/weights/last.pt", weights_only=True)["state_dict"]
    assert off.keys() == on.keys()  # the frozen classifier is not part of the model
    assert any(not torch.equal(off[k], on[k]) for k in off)  # the same seed, but the term moved the weights


def test_the_recipes_image_class_term_is_off_without_a_classifier(prepared, in_tmp, monkeypatch):
    """Only a given --image-class-weight insists on the classifier; the recipe's own term quietly stays off."""
    monkeypatch.setitem(RECIPES["a2i"], "image_class_weight", 1.0)
    r = runner.invoke(app, ["train", str(prepared), "--epochs", "1", "--batch-size", "8", "--latent", "16",
                            "--arch", "a2i", "--no-classifier", "--name", "quiet"])
    assert r.exit_code == 0, r.output
    assert args_of(in_tmp / "runs/train/quiet")["image_class_weight"] == 0.0


def test_ema_weights_are_the_ones_scored_saved_and_resumed(prepared, in_tmp):
    """--ema: best.pt and last.pt hold the moving average; last.pt also keeps the trained weights for --resume."""
    cfg = TrainConfig(model=ModelConfig(arch="a2i", latent=8, image_size=32), ema=0.5).resolved(2)
    nets = Networks.build(cfg, 2, torch.device("cpu"))
    p = next(nets.model.parameters())
    for value in (1.0, 3.0, 7.0):  # the first step copies, then ema = 0.5 * ema + 0.5 * new
        with torch.no_grad():
            p.fill_(value)
        nets.step_done()
    assert torch.allclose(next(nets.scored.parameters()), torch.full_like(p, 0.5 * (0.5 * 1 + 0.5 * 3) + 0.5 * 7))
    assert TrainConfig().resolved(2).ema == RECIPES["a2i"]["ema"] and TrainConfig().resolved(1).ema == 0.0

    train(prepared, "--epochs", "2", "--name", "ema", "--arch", "a2i", "--ema", "0.9")
    run = in_tmp / "runs/train/ema"
    last = torch.load(run / "weights/last.pt", weights_only=True)
    best = torch.load(run / "weights/best.pt", weights_only=True)
    assert args_of(run)["ema"] == 0.9 and last["ema_steps"] > 2
    assert any(not torch.equal(last["state_dict"][k], last["train_state_dict"][k]) for k in last["state_dict"])
    if best["epoch"] == 2:
        assert all(torch.equal(best["state_dict"][k], last["state_dict"][k]) for k in best["state_dict"])
    train(prepared, "--epochs", "2", "--name", "plain", "--arch", "a2i", "--ema", "0")
    plain = torch.load(in_tmp / "runs/train/plain/weights/last.pt", weights_only=True)
    assert plain["train_state_dict"] is None and plain["ema_steps"] is None
    for k in plain["state_dict"]:  # the same seed and batches: the EMA run trained the same weights
        torch.testing.assert_close(plain["state_dict"][k], last["train_state_dict"][k])

    train(prepared, "--epochs", "1", "--name", "part", "--arch", "a2i", "--ema", "0.9")
    r = runner.invoke(app, ["train", "--resume", str(in_tmp / "runs/train/part"), "--epochs", "2"])
    assert r.exit_code == 0, r.output
    part = torch.load(in_tmp / "runs/train/part/weights/last.pt", weights_only=True)
    assert part["ema_steps"] == last["ema_steps"]
    for k in last["state_dict"]:  # the average and the trained weights both continue where they stopped
        torch.testing.assert_close(part["state_dict"][k], last["state_dict"][k])
        torch.testing.assert_close(part["train_state_dict"][k], last["train_state_dict"][k])

    r = runner.invoke(app, ["train", str(prepared), "--ema", "1.5"])
    assert r.exit_code == 2 and "--ema must be between 0 and 0.9999" in r.output
    r = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "3", "--ema", "0.5"])
    assert r.exit_code == 2 and "--ema" in r.output


def test_a_tampered_ema_checkpoint_is_refused_naming_the_file(prepared, in_tmp):
    train(prepared, "--epochs", "1", "--name", "e", "--arch", "a2i", "--ema", "0.9")
    last = in_tmp / "runs/train/e/weights/last.pt"
    good = torch.load(last, weights_only=True)
    cases = [
        (lambda b: b["train_config"].pop("ema"), "holds an EMA of the weights but records ema 0.0"),
        (lambda b: b.update(ema_steps=2**70), "ema_steps"),
        (lambda b: b.update(ema_steps=0), "ema_steps 0 is not a count of steps"),
        (lambda b: b["train_config"].update(ema=1.5), "holds a training configuration a2i refuses (--ema must be"),
        (lambda b: b.pop("train_state_dict"), "holds no EMA of the weights but records ema 0.9"),
        (lambda b: next(iter(b["train_state_dict"].values())).fill_(float("nan")), "NaN or infinite weights"),
    ]
    for tamper, says in cases:
        blob = {k: (dict(v) if isinstance(v, dict) else v) for k, v in good.items()}
        blob["train_state_dict"] = {k: v.clone() for k, v in good["train_state_dict"].items()}
        tamper(blob)
        torch.save(blob, last)
        r = runner.invoke(app, ["train", "--resume", str(in_tmp / "runs/train/e"), "--epochs", "2"])
        assert r.exit_code == 2 and says in r.output and "start a new run" in r.output, (says, r.output)
        assert "Traceback" not in r.output and str(in_tmp / "runs/train/e") in r.output
    torch.save(good, last)
    r = runner.invoke(app, ["train", "--resume", str(in_tmp / "runs/train/e"), "--epochs", "0"])
    assert r.exit_code == 2 and "--epochs" in r.output and "refuses" not in r.output  # the command line's own fault
