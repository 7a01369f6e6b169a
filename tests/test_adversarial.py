"""The adversarial term: a spectral-norm patch discriminator, the hinge loss, one discriminator step per batch."""
from __future__ import annotations

import pytest
import torch

from a2i_cli.core.config import ModelConfig, TrainConfig
from a2i_cli.core.recipes import RECIPES, SOUND_RECIPES
from a2i_cli.model.epoch import adversarial_step
from a2i_cli.model.losses import PatchDiscriminator, hinge_d_loss, hinge_g_loss
from a2i_cli.model.networks import Networks


def test_patch_discriminator_scores_patches_and_is_spectrally_normed():
    torch.manual_seed(0)
    d = PatchDiscriminator().train()
    x = torch.randn(4, 3, 64, 64)
    for _ in range(30):  # power iteration: u and v converge over the forward passes
        out = d(x)
    assert out.shape == (4, 1, 8, 8)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4 and not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    for conv in convs:  # the weight used is W / sigma(W): its largest singular value is 1
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert float(sigma) == pytest.approx(1.0, abs=0.02)


def test_hinge_losses():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0])
    # past the margin nothing is gained: only real 0.5 (1 - 0.5) and fake 0.0 (1 + 0) count
    assert float(hinge_d_loss(real, fake)) == pytest.approx(0.5 / 2 + 1.0 / 2)
    assert float(hinge_d_loss(torch.full((3,), 1.0), torch.full((3,), -1.0))) == 0.0
    assert float(hinge_g_loss(fake)) == pytest.approx(1.5)


def test_adversarial_step_trains_the_discriminator_and_returns_the_generator_loss():
    torch.manual_seed(0)
    cfg = TrainConfig(model=ModelConfig(arch="a2i", latent=8, image_size=32), adv_weight=0.1, class_weight=0.0)
    nets = Networks.build(cfg, n_classes=2, device=torch.device("cpu"))
    assert isinstance(nets.disc, PatchDiscriminator) and nets.opt_d is not None
    before = {k: v.clone() for k, v in nets.disc.state_dict().items()}
    fake = torch.zeros(4, 3, 32, 32, requires_grad=True)
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    g_loss = adversarial_step(nets, fake, real)
    after = nets.disc.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if k.endswith("original"))
    g_loss.backward()
    assert fake.grad is not None and float(fake.grad.abs().sum()) > 0  # the generator hears the discriminator
    assert Networks.build(TrainConfig(model=ModelConfig(arch="a2i", latent=8, image_size=32), adv_weight=0.0, class_weight=0.0),
                          2, torch.device("cpu")).disc is None


def test_the_seed_recipe_has_no_adversarial_term():
    assert RECIPES["seed"]["adv_weight"] == 0.0 and "adv_weight" not in SOUND_RECIPES["seed"]


def test_the_a2i_recipe_has_the_discriminator_except_on_sound_rows():
    cfg = TrainConfig()  # plain `a2i train`: --arch auto
    assert cfg.resolved(9).adv_weight == 0.04 and cfg.resolved(9).model.arch == "a2i"
    assert cfg.resolved(9, over_sound=True).adv_weight == 0.0
    assert cfg.resolved(1).adv_weight == 0.0  # one class: --arch seed, the student project exactly
    assert TrainConfig(adv_weight=0.1).resolved(9, over_sound=True).adv_weight == 0.1  # given wins
