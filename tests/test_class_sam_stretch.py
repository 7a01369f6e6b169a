"""--aug-stretch (a random tempo over the 8 frames) and --class-sam (the class encoders trained sharpness-aware)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import ModelConfig, TrainConfig
from a2i_cli.core.errors import UserError
from a2i_cli.model.losses import augment_features, stretch_frames
from a2i_cli.model.network import build_model
from a2i_cli.model.sam import ClassSAM

runner = CliRunner()


def ramp(b: int) -> torch.Tensor:
    """(b, 104) rows whose frame t holds t in all 13 coefficients."""
    return torch.arange(8.0).repeat_interleave(13).repeat(b, 1)


def test_stretch_reads_the_frames_at_another_tempo():
    gen = torch.Generator().manual_seed(0)
    out = stretch_frames(ramp(400), 0.25, gen).view(400, 8, 13)
    assert torch.equal(out, out[:, :, :1].expand(-1, -1, 13))  # every coefficient of a frame moves alike
    t = out[:, :, 0]
    assert (t >= 0).all() and (t <= 7).all() and (t.diff(dim=1) >= 0).all()  # in order, inside the word
    rate = t.diff(dim=1).max(1).values  # the tempo, where no edge was repeated
    assert rate.max() <= 1.25 + 1e-5 and rate.min() >= 0.8 - 1e-5  # within [1/1.25, 1.25]
    assert rate.max() > 1.15 and rate.min() < 0.87  # and spread over it
    assert torch.allclose(stretch_frames(ramp(3), 1e-9), ramp(3), atol=1e-5)  # no stretch: the row itself
    x = torch.randn(6, 104)
    assert torch.equal(augment_features(x, 0.0, 0, stretch=0.0), x)  # off by default: nothing drawn, nothing moved


def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(arch="a2i", image_size=32, latent=64, temporal_channels=8, n_classes=4,
                                   class_encoders=2))


def test_sam_takes_the_class_gradient_uphill_and_puts_the_weights_back():
    m = model().train()
    x, truth = torch.randn(8, 104), torch.tensor([0, 1, 2, 3] * 2)
    before = {k: v.clone() for k, v in m.state_dict().items() if "running" not in k and "num_batches" not in k}
    sam = ClassSAM(m, 0.05)
    saved = sam.perturb(x, truth)
    for params, old in zip(sam.members, saved):  # each member moved by rho, on its own
        params = [p.detach() for p in params]
        assert float(torch.sqrt(sum(((p - w) ** 2).sum() for p, w in zip(params, old)))) == pytest.approx(0.05, rel=1e-3)
    after = m.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert moved and all(k.startswith(("class_encoders.", "codes.heads.")) for k in moved)  # nothing else moves
    with torch.no_grad():  # uphill: the class term is higher at the moved weights
        m.eval()
        here = sum(F.cross_entropy(h(e(x)), truth) for e, h in zip(m.class_encoders, m.codes.heads))
        sam.restore(saved)
        there = sum(F.cross_entropy(h(e(x)), truth) for e, h in zip(m.class_encoders, m.codes.heads))
    assert here > there
    assert all(torch.equal(before[k], m.state_dict()[k]) for k in before)  # restored exactly
    with pytest.raises(ValueError, match="class encoders"):
        ClassSAM(build_model(ModelConfig(arch="a2i", image_size=32, latent=64, n_classes=4)), 0.05)


def test_options_ranges_and_recipes():
    for field, option in (("aug_stretch", "--aug-stretch"), ("class_sam", "--class-sam")):
        for bad in (-0.1, 1.5, float("nan")):
            with pytest.raises(UserError, match=option):
                TrainConfig(**{field: bad})
        assert getattr(TrainConfig().resolved(10), field) == 0.0  # scenes: off
        assert getattr(TrainConfig(model=ModelConfig(arch="seed")).resolved(1, over_sound=True), field) == 0.0
    sound = TrainConfig().resolved(10, over_sound=True)  # spoken digits: both on
    assert sound.aug_stretch == 0.25 and sound.class_sam == 0.05 and sound.model.class_encoders == 3
    assert TrainConfig(class_sam=0.0, aug_stretch=0.0).resolved(10, over_sound=True).class_sam == 0.0  # given wins


def test_train_with_both_and_resume(prepared, in_tmp):
    base = ["train", str(prepared), "--batch-size", "8", "--latent", "40", "--no-classifier", "--epochs", "1"]
    r = runner.invoke(app, [*base, "--name", "ss", "--class-encoders", "2", "--class-sam", "0.05", "--aug-stretch", "0.25"])
    assert r.exit_code == 0, r.output
    assert "tempo stretch 0.25" in r.output and "class SAM 0.05" in r.output
    lines = (in_tmp / "runs/train/ss/args.yaml").read_text().splitlines()
    assert "class_sam: 0.05" in lines and "aug_stretch: 0.25" in lines
    r = runner.invoke(app, ["train", "--resume", str(in_tmp / "runs/train/ss"), "--epochs", "2"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, [*base, "--name", "nosam", "--class-encoders", "0", "--class-sam", "0.05"])
    assert r.exit_code != 0 and "--class-sam trains the class encoders, and this run has none" in " ".join(r.output.split())
    assert "Traceback" not in r.output and not (in_tmp / "runs/train/nosam").exists()
    last = in_tmp / "runs/train/ss/weights/last.pt"  # hand edits: a weight of true, SAM without class encoders
    for field, value, model_field, want in (("class_sam", True, None, "--class-sam must be a number, got True"),
                                            ("class_sam", 0.05, 0, "records class_sam 0.05 for a model without class encoders")):
        blob = torch.load(last, weights_only=True)
        blob["train_config"][field] = value
        if model_field is not None:
            blob["train_config"]["class_encoders"] = blob["model_config"]["class_encoders"] = model_field
        edited = in_tmp / f"runs/train/edit-{want[:12].strip('-').replace(' ', '')}"
        (edited / "weights").mkdir(parents=True)
        torch.save(blob, edited / "weights/last.pt")
        r = runner.invoke(app, ["train", "--resume", str(edited), "--epochs", "3"])
        text = " ".join(r.output.split())
        assert r.exit_code != 0 and want in text and "last.pt" in text and "Traceback" not in r.output, r.output
    r = runner.invoke(app, [*base, "--name", "wide", "--aug-stretch", "2"])
    assert r.exit_code != 0 and "--aug-stretch" in r.output and "Traceback" not in r.output
