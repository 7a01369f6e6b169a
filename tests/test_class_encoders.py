"""--class-encoders: the class is read by small encoders of its own, trained by the class term alone."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import CLASS_LATENT, ModelConfig, TrainConfig
from a2i_cli.core.errors import UserError
from a2i_cli.inference import ops
from a2i_cli.model.network import build_model

runner = CliRunner()


def model(k: int = 3, n_classes: int = 4):
    torch.manual_seed(0)
    return build_model(ModelConfig(arch="a2i", image_size=32, latent=64, temporal_channels=8, n_classes=n_classes,
                                   class_encoders=k))


def test_the_latent_ends_with_each_class_encoders_dimensions():
    m = model().eval()
    x = torch.randn(5, 104)
    with torch.no_grad():
        mu, _ = m.encode(x)
        assert mu.shape == (5, 64) and m.encoder(x).shape == (5, 64 - 3 * CLASS_LATENT)
        assert torch.equal(mu[:, -CLASS_LATENT:], m.class_encoders[2](x))  # the last slice: the last class encoder
        assert m.class_encoders[0].head[0].in_features == 2 * 8  # pooled over time: the mean and max of 8 channels
        # the class: the mean of the members' log-probabilities, each head reading its own slice only
        members = [F.log_softmax(h(e(x)), 1) for h, e in zip(m.codes.heads, m.class_encoders)]
        assert torch.allclose(m.codes.logits(mu), torch.stack(members).mean(0), atol=1e-6)
        assert torch.allclose(m.latent(x), mu + m.codes.code.weight.t()[torch.stack(members).mean(0).argmax(1)])
    assert not any(k.startswith("codes.head.") for k in m.state_dict())  # one head per member instead
    assert not any("class_encoders" in k for k in model(0).state_dict())  # off: the model is the one it was


def test_image_terms_never_train_the_class_encoders_nor_the_class_term_the_main_encoder():
    m = model()
    x = torch.randn(6, 104)
    mu, _ = m.encode(x)
    m.decoder(m.for_decoder(mu)).square().mean().backward()  # an image term
    for p in m.class_encoders.parameters():
        assert p.grad is None or not p.grad.any()
    assert m.encoder.conv[0].weight.grad.abs().sum() > 0
    m.zero_grad(set_to_none=True)
    mu, _ = m.encode(x)
    sum(F.cross_entropy(z, torch.tensor([0, 1, 2, 3, 0, 1])) for z in m.codes.member_logits(mu)).backward()
    assert all(p.grad is None or not p.grad.any() for p in m.encoder.parameters())
    assert all(e.conv[0].weight.grad.abs().sum() > 0 for e in m.class_encoders)
    with torch.no_grad():  # for_decoder changes no value
        assert torch.equal(m.for_decoder(mu), mu)


def test_recipes_options_and_files():
    assert TrainConfig().resolved(10).model.class_encoders == 0  # scenes: the class is read from the latent
    sound = TrainConfig().resolved(10, over_sound=True)  # sound rows (spoken digits): three class encoders
    assert sound.class_encoders == 3 and sound.model.class_encoders == 3
    assert TrainConfig(class_encoders=0).resolved(10, over_sound=True).model.class_encoders == 0
    for latent, k in ((64, 2), (32, 1), (31, 0), (16, 0)):  # the recipe's leave half the latent to the main encoder
        assert TrainConfig(model=ModelConfig(arch="a2i", latent=latent)).resolved(10, True).model.class_encoders == k
    assert TrainConfig(class_encoders=2).resolved(10).model.class_encoders == 2  # given wins
    assert TrainConfig(model=ModelConfig(arch="seed")).resolved(10, over_sound=True).model.class_encoders == 0
    with pytest.raises(UserError, match="--class-encoders: --arch seed is"):
        TrainConfig(class_encoders=1, model=ModelConfig(arch="seed")).resolved(10)
    with pytest.raises(UserError, match=r"needs data with 2\+ classes \(this data has one\); leave the option out"):
        TrainConfig(class_encoders=1).resolved(1)
    with pytest.raises(UserError, match="--latent 32 leaves no room for --class-encoders 2 .2 x 16.*--latent above 32"):
        TrainConfig(class_encoders=2, model=ModelConfig(arch="a2i", latent=32)).resolved(10)
    with pytest.raises(UserError, match="--class-encoders: .* a VAE"):
        TrainConfig(class_encoders=2, model=ModelConfig(arch="a2i", vae=True)).resolved(10)
    assert TrainConfig(model=ModelConfig(arch="a2i", vae=True)).resolved(10, over_sound=True).model.class_encoders == 0
    for bad in (-1, 8):
        with pytest.raises(UserError, match="--class-encoders"):
            TrainConfig(class_encoders=bad)
    for bad in ("2", 1.0, True):  # a hand-edited last.pt
        with pytest.raises(UserError, match="--class-encoders must be a whole number"):
            TrainConfig(class_encoders=bad)
    assert ModelConfig(arch="a2i", image_size=32).class_encoders == 0  # checkpoints from before the option
    for bad in ({"class_encoders": "3"}, {"class_encoders": 2, "vae": True}, {"class_encoders": 8},
                {"class_encoders": 2, "latent": 32}, {"class_encoders": 1, "arch": "seed"}):
        with pytest.raises(UserError, match="class_encoders"):
            ModelConfig(**{"arch": "a2i", "image_size": 32, **bad})
    with pytest.raises(UserError, match="M parameters is more than a2i builds"):  # a hostile file: 8 wide encoders
        ModelConfig(arch="a2i", image_size=32, n_classes=2, temporal_channels=2048, class_encoders=7)
    with pytest.raises(UserError, match="class_encoders 2 needs class codes"):
        build_model(ModelConfig(arch="a2i", image_size=32, class_encoders=2))


def test_train_generate_export_and_resume(tiny_data, prepared, in_tmp):
    base = ["train", str(prepared), "--batch-size", "8", "--latent", "40", "--no-classifier", "--epochs", "1"]
    r = runner.invoke(app, [*base, "--name", "ce", "--class-encoders", "2"])
    assert r.exit_code == 0, r.output
    assert "class encoders 2" in r.output
    assert "class_encoders: 2" in (in_tmp / "runs/train/ce/args.yaml").read_text().splitlines()
    best = in_tmp / "runs/train/ce/weights/best.pt"
    ckpt = torch.load(best, map_location="cpu", weights_only=True)
    assert ckpt["model_config"]["class_encoders"] == 2 and "class_encoders.1.head.3.weight" in ckpt["state_dict"]
    pictures = {}
    for engine in ("eager", "export", *(["fused"] if ops.has_ops() else [])):  # every engine builds it back alike
        r = runner.invoke(app, ["generate", str(tiny_data / "dataset.csv"), "--model", str(best), "--engine", engine,
                                "--out", f"{engine}.png"])
        assert r.exit_code == 0, r.output
        from PIL import Image

        pictures[engine] = np.asarray(Image.open(in_tmp / f"{engine}.png")).astype(int)
    assert all(np.abs(p - pictures["eager"]).max() <= 2 for p in pictures.values())
    r = runner.invoke(app, ["train", "--resume", str(in_tmp / "runs/train/ce"), "--epochs", "2"])
    assert r.exit_code == 0, r.output
    assert torch.load(in_tmp / "runs/train/ce/weights/last.pt", weights_only=True)["epoch"] == 2
    for off, why in ((["--no-class-codes"], "class codes: --no-class-codes"),
                     (["--class-weight", "0"], "class codes: the class term picks the code: it needs --class-weight > 0")):
        r = runner.invoke(app, [*base, "--name", "nocodes", "--class-encoders", "1", *off])
        assert r.exit_code != 0 and why in " ".join(r.output.split()) and "Traceback" not in r.output
        assert not (in_tmp / "runs/train/nocodes").exists()
    for blob_field, value, want in (("model_config", 1, "train_config records class_encoders 2, but its model_config 1"),
                                    ("train_config", 0, "train_config records class_encoders 0, but its model_config 2")):
        last = in_tmp / "runs/train/ce/weights/last.pt"  # a hand edit: the two records disagree
        blob = torch.load(last, weights_only=True)
        blob[blob_field]["class_encoders"] = value
        torch.save(blob, in_tmp / "edited.pt")
        edited = in_tmp / f"runs/train/edit-{blob_field}"
        (edited / "weights").mkdir(parents=True)
        (in_tmp / "edited.pt").rename(edited / "weights/last.pt")
        r = runner.invoke(app, ["train", "--resume", str(edited), "--epochs", "3"])
        assert r.exit_code != 0 and want in " ".join(r.output.split()) and "Traceback" not in r.output, r.output
