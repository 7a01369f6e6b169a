"""Class codes: the decoder draws the class the latent predicts (a2i's default on 2+ classes), on every engine."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import ModelConfig
from a2i_cli.core.errors import UserError
from a2i_cli.data.normalize import Normalizer
from a2i_cli.inference import ops
from a2i_cli.inference.engine import load_engine
from a2i_cli.model.checkpoint import load_checkpoint, save_checkpoint
from a2i_cli.model.network import build_model

runner = CliRunner()


def coded_model(n_classes: int = 3, vae: bool = False) -> torch.nn.Module:
    torch.manual_seed(2)
    model = build_model(ModelConfig(arch="a2i", latent=16, image_size=32, n_classes=n_classes, vae=vae))
    model.train()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for _ in range(3):
            model(torch.randn(16, 104) * 2)
        model.codes.head.weight.normal_(0, 20)  # rows are heard as different classes
        model.codes.code.weight.normal_(0, 1)
    return model.eval()


def test_the_picture_is_drawn_from_the_predicted_class_only():
    model = coded_model()
    x = torch.randn(64, 104) * 2
    with torch.no_grad():
        mu, _ = model.encode(x)
        pred = model.codes.logits(mu).argmax(1)
        want = model.decoder(mu + model.codes.code.weight.t()[pred])
        assert torch.equal(model(x), want)
        assert len(pred.unique()) >= 2, "the test needs rows predicted as different classes"
        before = model(x)
        model.codes.code.weight[:, 0] += 1.0  # change the code of class 0 only
        after = model(x)
    moved = (after - before).abs().flatten(1).amax(1) > 0
    assert torch.equal(moved, pred == 0)  # only the pictures of rows heard as class 0 change


@pytest.mark.parametrize("vae", [False, True])
def test_class_codes_run_on_every_engine(tmp_path, vae):
    path = tmp_path / "m.pt"
    norm = Normalizer.fit(np.random.default_rng(2).normal(2, 3, (64, 104)).astype(np.float32))
    save_checkpoint(path, coded_model(vae=vae), norm)
    feats = np.random.default_rng(1).normal(2.0, 3.0, size=(9, 104)).astype(np.float32)
    ref = load_engine(path, "eager").generate(feats)
    for engine in ["export"] + (["fused"] if ops.has_ops() else []):
        got = load_engine(path, engine).generate(feats)
        assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1, engine


def test_checkpoints_from_before_class_codes_still_load(tmp_path):
    path = tmp_path / "old.pt"
    model = build_model(ModelConfig(arch="a2i", latent=16, image_size=32)).eval()
    save_checkpoint(path, model, Normalizer(np.zeros(104, np.float32), np.ones(104, np.float32)))
    blob = torch.load(path, weights_only=True)
    del blob["model_config"]["n_classes"]  # written before the field existed
    torch.save(blob, path)
    loaded = load_checkpoint(path)
    assert loaded.cfg.n_classes == 0 and loaded.model.codes is None


@pytest.mark.parametrize("value", [1, -2, 2.5, True, 10**6])
def test_a_checkpoint_with_a_bad_class_count_is_one_line(tmp_path, value):
    path = tmp_path / "bad.pt"
    save_checkpoint(path, coded_model(), Normalizer(np.zeros(104, np.float32), np.ones(104, np.float32)))
    blob = torch.load(path, weights_only=True)
    blob["model_config"]["n_classes"] = value
    torch.save(blob, path)
    with pytest.raises(UserError, match="bad.pt"):
        load_checkpoint(path)


def train(prepared, *args, ok=True):
    r = runner.invoke(app, ["train", str(prepared), "--epochs", "1", "--batch-size", "8", "--latent", "16",
                            "--no-classifier", *args])
    assert (r.exit_code == 0) == ok, r.output
    return r


def test_training_on_two_classes_learns_a_code_per_class(prepared, in_tmp):
    train(prepared, "--name", "on")
    run = in_tmp / "runs/train/on"
    blob = torch.load(run / "weights/best.pt", weights_only=True)
    assert blob["model_config"]["n_classes"] == 2 and "codes.code.weight" in blob["state_dict"]
    assert json.loads(dict(line.split(": ", 1) for line in (run / "args.yaml").read_text().splitlines())["class_codes"])
    last = torch.load(run / "weights/last.pt", weights_only=True)
    assert last["class_head"] is None  # the class term's head is the model's own
    r = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2"])
    assert r.exit_code == 0, r.output
    train(prepared, "--name", "off", "--no-class-codes")
    off = torch.load(in_tmp / "runs/train/off/weights/best.pt", weights_only=True)
    assert off["model_config"]["n_classes"] == 0 and not any(k.startswith("codes.") for k in off["state_dict"])


@pytest.mark.parametrize("args, why", [
    (["--class-codes", "--class-weight", "0"], "--class-weight > 0"),
    (["--class-codes", "--arch", "seed"], "--arch seed"),
])
def test_class_codes_that_cannot_work_are_refused_before_the_run(prepared, in_tmp, args, why):
    r = train(prepared, *args, ok=False)
    assert r.exit_code == 2 and "--class-codes" in r.output and why in r.output
    assert not (in_tmp / "runs/train").exists() or not any((in_tmp / "runs/train").iterdir())


def test_the_recipes_codes_stay_off_where_they_cannot_work(prepared, in_tmp):
    train(prepared, "--name", "cw0", "--class-weight", "0")  # no class term: nothing picks a code
    blob = torch.load(in_tmp / "runs/train/cw0/weights/best.pt", weights_only=True)
    assert blob["model_config"]["n_classes"] == 0


@pytest.mark.parametrize("edit, says", [
    (lambda b: b["model_config"].update(n_classes=0), "'codes.head.weight' (and 2 more) that its model_config has no place for"),
    (lambda b: b["state_dict"].pop("codes.head.weight"), "lacks the weight 'codes.head.weight'"),
    (lambda b: b["model_config"].update(n_classes=4), "its weight 'codes.head.weight' is (3, 16)"),
])
def test_weights_that_do_not_fit_the_config_are_named(tmp_path, edit, says):
    path = tmp_path / "t.pt"
    save_checkpoint(path, coded_model(), Normalizer(np.zeros(104, np.float32), np.ones(104, np.float32)))
    blob = torch.load(path, weights_only=True)
    edit(blob)
    torch.save(blob, path)
    with pytest.raises(UserError, match="t.pt") as e:
        load_checkpoint(path)
    assert says in str(e.value)


def test_an_exported_program_whose_config_drops_the_codes_is_refused(tmp_path):
    """Editing n_classes to 0 in a .pt2 must not quietly run another network than the one exported."""
    import zipfile

    path = tmp_path / "m.pt"
    save_checkpoint(path, coded_model(), Normalizer(np.zeros(104, np.float32), np.ones(104, np.float32)))
    r = runner.invoke(app, ["export", "--model", str(path), "--out", str(tmp_path / "m.pt2")])
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(tmp_path / "m.pt2") as src, zipfile.ZipFile(tmp_path / "t.pt2", "w") as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("extra/a2i.json"):
                meta = json.loads(data)
                meta["model_config"]["n_classes"] = 0
                data = json.dumps(meta).encode()
            out.writestr(info, data)
    with pytest.raises(UserError, match="has no place for"):
        load_engine(tmp_path / "t.pt2", "export")


def test_resume_refuses_every_typed_option_and_a_last_pt_that_does_not_fit(prepared, in_tmp):
    train(prepared, "--name", "r", "--lr", "0.002", "--seed", "5")
    run = in_tmp / "runs/train/r"
    # a value equal to the command line's default is still a value the user asked for
    r = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2", "--lr", "0.001", "--no-classifier"])
    assert r.exit_code == 2 and "give only --epochs" in r.output and "--lr" in r.output and "--no-classifier" in r.output
    last = run / "weights/last.pt"
    good = torch.load(last, weights_only=True)
    for edit, says in ((lambda b: b["model_config"].update(n_classes=0), "records n_classes 0, but the run trains 2"),
                       (lambda b: b["model_config"].pop("n_classes"), "records n_classes 0, but the run trains 2"),
                       (lambda b: b["optimizer"]["state"][0].update(exp_avg=torch.zeros(3)), "'exp_avg' is (3,)")):
        blob = torch.load(last, weights_only=True)
        edit(blob)
        torch.save(blob, last)
        r = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2"])
        assert r.exit_code == 2 and "cannot be resumed" in r.output and says in r.output, r.output
        torch.save(good, last)
    r = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2"])
    assert r.exit_code == 0, r.output


def test_a_config_value_of_the_wrong_type_names_the_field(tmp_path):
    path = tmp_path / "t.pt"
    save_checkpoint(path, coded_model(), Normalizer(np.zeros(104, np.float32), np.ones(104, np.float32)))
    blob = torch.load(path, weights_only=True)
    blob["model_config"]["latent"] = "16"
    torch.save(blob, path)
    with pytest.raises(UserError, match="model_config latent must be a whole number"):
        load_checkpoint(path)
