"""The fused engine's encoder (inference/fast_encoder.py) against its reference, AudioToImage.encode in eval mode."""
from __future__ import annotations

import pytest
import torch

from a2i_cli.core.config import ModelConfig
from a2i_cli.inference.fast_encoder import FastEncoder
from a2i_cli.model.network import build_model


@pytest.mark.parametrize("cfg", [
    dict(),  # the scene default: frame order, no class encoders
    dict(n_classes=4, class_encoders=3),  # the sound recipe
    dict(n_classes=4, class_encoders=1, frame_order=False, temporal_channels=8),
    dict(vae=True),
    dict(arch="seed"),  # an MLP encoder: the model's own
])
def test_fast_encoder_matches_the_model(cfg):
    torch.manual_seed(0)
    model = build_model(ModelConfig(**{"arch": "a2i", "image_size": 32, "latent": 64, **cfg}))
    model.train()
    for _ in range(3):  # BatchNorm running statistics away from their 0/1 start, so the folding is tested
        model.encode(3 * torch.randn(32, 104) + 1)
    model.eval()
    x = torch.randn(17, 104)
    fast = FastEncoder(model)
    with torch.no_grad():
        assert torch.allclose(fast.mean(x), model.encode(x)[0], atol=1e-5, rtol=1e-4)
        assert torch.allclose(fast.latent(x), model.latent(x), atol=1e-5, rtol=1e-4)
        if model.codes is not None:  # the class it draws is the model's
            assert torch.equal(model.codes.logits(fast.mean(x)).argmax(1), model.codes.logits(model.encode(x)[0]).argmax(1))


def test_the_fused_engine_encodes_with_it_and_the_benchmark_runs(tmp_path):
    import re
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np

    from a2i_cli.data.normalize import Normalizer
    from a2i_cli.inference import ops
    from a2i_cli.inference.engine import EagerEngine, FusedEngine
    from a2i_cli.model.checkpoint import Loaded

    if not ops.has_ops():
        pytest.skip(f"C++ ops not built: {ops.ops_reason()}")
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="a2i", image_size=32, latent=64, n_classes=4, class_encoders=2)).eval()
    norm = Normalizer(mean=np.full(104, 0.5, np.float32), std=np.full(104, 2.0, np.float32))
    loaded = Loaded(model, model.cfg, norm, {}, tmp_path / "m.pt")
    fused, eager = FusedEngine(loaded), EagerEngine(loaded)
    x = np.random.default_rng(0).normal(size=(9, 104)).astype(np.float32)
    assert np.allclose(fused.encode(x), eager.encode(x), atol=1e-4)
    assert np.abs(fused.generate(x).astype(int) - eager.generate(x).astype(int)).max() <= 2
    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_encoder.py"
    res = subprocess.run([sys.executable, str(bench), "--threads", "1", "--batch", "4", "--image-size", "32"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert len(re.findall(r"^\| class encoders [03] \| [\d.]+ \| [\d.]+ \| [\d.]+x \|", res.stdout, re.M)) == 2, res.stdout


@pytest.mark.parametrize("args,says", [(["--threads", "99999999999999999999"], "--threads 99999999999999999999: give 0"),
                                       (["--batch", "0"], "--batch 0: give 1 to 4096")])
def test_bench_encoder_bad_arguments_are_usage_errors(args, says):
    import subprocess
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_encoder.py"
    res = subprocess.run([sys.executable, str(bench), *args], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and says in res.stderr and "Traceback" not in res.stderr, res.stderr
