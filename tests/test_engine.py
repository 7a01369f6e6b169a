"""Inference engines: BN folding, eager vs fused vs exported, engine selection, `a2i export`."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import Engine, ModelConfig
from a2i_cli.core.errors import UserError
from a2i_cli.data.normalize import Normalizer
from a2i_cli.inference import engine as engine_mod
from a2i_cli.inference import ops
from a2i_cli.inference.engine import fold_decoder, load_engine
from a2i_cli.model.checkpoint import save_checkpoint
from a2i_cli.model.network import build_model

needs_ops = pytest.mark.skipif(not ops.has_ops(), reason=f"C++ ops not built ({ops.ops_reason()}); {ops.BUILD_HINT}")


def trained(image_size: int = 64) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(ModelConfig(image_size=image_size))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):
        loss = (model(torch.randn(8, 104)) - torch.rand(8, 3, image_size, image_size)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ck") / "best.pt"
    feats = np.random.default_rng(0).normal(2.0, 3.0, size=(64, 104)).astype(np.float32)
    save_checkpoint(path, trained(64), Normalizer.fit(feats))
    return path


@pytest.fixture(scope="module")
def feats() -> np.ndarray:
    return np.random.default_rng(1).normal(2.0, 3.0, size=(5, 104)).astype(np.float32)


def test_fold_decoder_matches_blocks():
    model = trained(32)
    weights, biases = fold_decoder(model)
    assert len(weights) == len(model.decoder.layers) == 5
    x = torch.randn(3, 128, 1, 1)
    with torch.no_grad():
        for i, (block, w, b) in enumerate(zip(model.decoder.layers, weights, biases)):
            y = F.conv_transpose2d(x, w, b, stride=2, padding=1)
            y = torch.tanh(y) if i == len(weights) - 1 else F.leaky_relu(y, 0.2)
            torch.testing.assert_close(y, block(x), rtol=1e-4, atol=1e-5)
            x = block(x)


def _close_u8(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


@needs_ops
def test_fused_matches_eager(ckpt, feats):
    eager, fused = load_engine(ckpt, "eager"), load_engine(ckpt, "fused")
    assert (eager.name, fused.name) == ("eager", "fused")
    _close_u8(fused.generate(feats), eager.generate(feats))
    _close_u8(fused.generate(feats[0]), eager.generate(feats[:1]))  # a single row works too


def test_export_round_trip(ckpt, feats, tmp_path):
    out = tmp_path / "model.pt2"
    res = CliRunner().invoke(app, ["export", "--model", str(ckpt), "--out", str(out)])
    assert res.exit_code == 0, res.output
    exported = load_engine(out, "export")
    assert exported.name == "export" and exported.image_size == 64
    _close_u8(exported.generate(feats), load_engine(ckpt, "eager").generate(feats))
    assert exported.generate(feats[:1]).shape == (1, 64, 64, 3)  # dynamic batch, down to 1
    assert load_engine(out, "auto").name == "export"
    with pytest.raises(UserError, match="--engine export"):
        load_engine(out, "eager")
    again = CliRunner().invoke(app, ["export", "--model", str(out), "--out", str(tmp_path / "again.pt2")])
    assert again.exit_code == 2 and "already an exported program" in again.output and "--engine" not in again.output


def test_auto_picks_the_engine_measured_faster_and_says_why(ckpt, monkeypatch, tmp_path):
    """auto is never slower than eager: fused only where it measured faster on this CPU, cached per machine."""
    from a2i_cli.inference import auto, onnx_export

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(onnx_export, "has_onnx", lambda: False)  # fused vs eager here; onnx in auto: test_onnx.py
    monkeypatch.setattr(auto, "busy", lambda: "")  # remembered whatever else runs on this machine
    if ops.has_ops():
        eng = load_engine(ckpt, "auto")  # a real measurement on this CPU
        said = re.search(r"([\d.]+)x eager on this CPU", eng.choice)  # what the engine reports it measured
        assert said, eng.choice
        assert eng.name == ("fused" if float(said.group(1)) >= 1 else "eager")
        if "so not remembered" not in eng.choice:  # an unsteady measurement (a busy machine) is measured again
            assert (tmp_path / "cache/a2i/engine-choice.json").is_file()
            again = auto.auto_engine(eng.cfg.image_size, eng.cfg.latent)
            digits = len(said.group(1).split(".")[1])  # 1 where fused wins, 2 where it loses
            assert again.remembered and again.engine == eng.name and f"{again.speedup:.{digits}f}" == said.group(1)
        # a CPU where the fused op loses: auto runs eager and says so (a fresh key: another decoder shape)
        monkeypatch.setattr(auto, "measure_speedups", lambda size, latent, engines: {"fused": 0.6})
        slow = auto.auto_engine(eng.cfg.image_size, eng.cfg.latent + 1)
        assert slow.engine == "eager" and "0.60x eager" in slow.reason and ops.isa() in slow.reason
        # remembered: the next process does not measure again
        monkeypatch.setattr(auto, "measure_speedups", lambda size, latent, engines: pytest.fail("measured twice"))
        assert auto.auto_engine(eng.cfg.image_size, eng.cfg.latent + 1).engine == "eager"
        # an unreadable or malformed cache only means measuring again
        monkeypatch.setattr(auto, "measure_speedups", lambda size, latent, engines: {"fused": 3.0})
        for junk in ("{not json", "null", '{"version": 1, "entries": [1]}', '{"version": 1, "entries": {"k": 5}}'):
            (tmp_path / "cache/a2i/engine-choice.json").write_text(junk)
            assert auto.auto_engine(eng.cfg.image_size, eng.cfg.latent + 1).engine == "fused"
        # measured while the machine is busy: used for this run, not remembered
        monkeypatch.setattr(auto, "busy", lambda: "load 3.5 on 2 cores")
        monkeypatch.setattr(auto, "measure_speedups", lambda size, latent, engines: {"fused": 4.0})
        busy = auto.auto_engine(eng.cfg.image_size, eng.cfg.latent + 2)
        assert busy.engine == "fused" and "busy (load 3.5 on 2 cores), so not remembered" in busy.reason
        monkeypatch.setattr(auto, "busy", lambda: "")
        monkeypatch.setattr(auto, "measure_speedups", lambda size, latent, engines: {"fused": 0.5})
        assert auto.auto_engine(eng.cfg.image_size, eng.cfg.latent + 2).engine == "eager"  # measured again
    assert load_engine(ckpt, "eager").choice == ""  # nothing to explain
    if ops.has_ops():  # fused names its kernels, and an A2I_ISA this CPU cannot run is said where work is reported
        assert load_engine(ckpt, "fused").choice == f"{ops.isa()} kernels"
        monkeypatch.setenv("A2I_ISA", "avx1024")
        assert "A2I_ISA='avx1024' is not a variant this CPU runs" in load_engine(ckpt, "fused").choice
        monkeypatch.delenv("A2I_ISA")
    monkeypatch.setattr(ops, "has_ops", lambda: False)
    monkeypatch.setattr(ops, "ops_reason", lambda: "ImportError: no _C")
    assert load_engine(ckpt, "auto").name == "eager"
    with pytest.raises(UserError, match="pip install --no-build-isolation -e ."):
        load_engine(ckpt, "fused")


def test_unknown_engine_and_bad_features(ckpt):
    assert {e.value for e in Engine} == {"auto", "eager", "export", "fused", "onnx"}
    with pytest.raises(UserError, match="unknown --engine"):
        load_engine(ckpt, "tensorrt")
    with pytest.raises(UserError, match=r"\(B, 104\)"):
        load_engine(ckpt, "eager").generate(np.zeros((2, 50), np.float32))


def test_missing_program_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="a2i export"):
        engine_mod.load_engine(tmp_path / "nope.pt2", "export")


@pytest.mark.parametrize("arch, vae", [("seed", True), ("a2i", False), ("a2i", True)])
def test_every_arch_runs_on_every_engine(tmp_path, feats, arch, vae):
    torch.manual_seed(1)
    model = build_model(ModelConfig(arch=arch, vae=vae, latent=32, image_size=32))
    model.train()
    with torch.no_grad():  # non-trivial BatchNorm running statistics
        for _ in range(3):
            model(torch.randn(16, 104) * 2)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model.eval(), Normalizer.fit(np.random.default_rng(2).normal(2, 3, (64, 104)).astype(np.float32)))
    ref = load_engine(path, "eager").generate(feats)
    engines = ["export"] + (["fused"] if ops.has_ops() else [])
    for e in engines:
        _close_u8(load_engine(path, e).generate(feats), ref)


@needs_ops
def test_auto_cache_is_read_only_from_a_small_regular_file(monkeypatch, tmp_path):
    """A FIFO, a device or a folder where the cache should be is ignored (no hang, no endless read, no litter);
    an entry older than 30 days or a relative XDG_CACHE_HOME means measuring again."""
    import json
    import os
    import time

    from a2i_cli.inference import auto, onnx_export

    monkeypatch.setattr(onnx_export, "has_onnx", lambda: False)  # the cache file's handling, with fused vs eager
    monkeypatch.setattr(auto, "busy", lambda: "")
    calls = []
    monkeypatch.setattr(auto, "measure_speedups", lambda size, latent, engines: calls.append(1) or {"fused": 4.0})
    cache = tmp_path / "c" / "a2i" / "engine-choice.json"
    cache.parent.mkdir(parents=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    os.mkfifo(cache)
    assert auto.auto_engine(32, 16).engine == "fused"  # returns: the FIFO was not opened
    cache.unlink()
    cache.symlink_to("/dev/zero")
    assert auto.auto_engine(32, 16).engine == "fused"
    cache.unlink()
    cache.mkdir()
    assert auto.auto_engine(32, 16).engine == "fused"
    assert [p.name for p in cache.parent.iterdir()] == ["engine-choice.json"]  # no temporary file left
    cache.rmdir()
    auto.auto_engine(32, 16)
    n = len(calls)
    auto.auto_engine(32, 16)
    assert len(calls) == n  # remembered
    data = json.loads(cache.read_text())
    for entry in data["entries"].values():
        entry["measured"] = time.strftime("%Y-%m-%d", time.localtime(time.time() - 40 * 86400))
    cache.write_text(json.dumps(data))
    auto.auto_engine(32, 16)
    assert len(calls) == n + 1  # too old: measured again
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert auto.cache_path() == tmp_path / "home" / ".cache" / "a2i" / "engine-choice.json"


@needs_ops
def test_auto_remembers_only_a_steady_measurement(monkeypatch, tmp_path):
    """Three measurements that disagree (a spike on a shared machine once put ONNX Runtime at 34x eager, where it
    runs at 1.5x) decide this run only: the next run measures again; a steady one is remembered."""
    from a2i_cli.inference import auto, onnx_export

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    monkeypatch.setattr(onnx_export, "has_onnx", lambda: False)
    monkeypatch.setattr(auto, "busy", lambda: "")
    eager, fused = (lambda: None), (lambda: None)
    monkeypatch.setattr(auto, "_probe", lambda size, latent, engine: (eager, fused))
    rounds = iter([{"fused": 8.0}, {"fused": 0.5}, {"fused": 7.5}])  # one round says eager wins
    monkeypatch.setattr(auto, "_measure_once", lambda e, calls: next(rounds))
    first = auto.auto_engine(32, 16)
    assert first.engine == "fused" and first.speedup == 7.5  # the median decides
    assert "unsteadily" in first.reason and "not remembered" in first.reason
    rounds = iter([{"fused": 3.0}, {"fused": 3.3}, {"fused": 2.9}])
    second = auto.auto_engine(32, 16)  # measured again
    assert second.speedup == 3.0 and "remembered" not in second.reason
    monkeypatch.setattr(auto, "_measure_once", lambda e, calls: pytest.fail("measured a steady result again"))
    assert auto.auto_engine(32, 16).speedup == 3.0
    rounds = iter([{"fused": 9.0}, {"fused": 3.0}, {"fused": 4.0}])  # same winner, ratio moved 3x: unsteady
    monkeypatch.setattr(auto, "_measure_once", lambda e, calls: next(rounds))
    assert "unsteadily" in auto.auto_engine(64, 16).reason


@needs_ops
def test_env_says_whether_the_choice_was_remembered(monkeypatch, tmp_path):
    """`a2i env` says "remembered in" only when the cache holds the choice; a cache that cannot be written, a busy
    or unsteady measurement, or a freak value in the file (Infinity) are not passed off as remembered."""
    import json

    from a2i_cli.inference import auto, onnx_export
    from a2i_cli.inference.environment import auto_line

    monkeypatch.setattr(onnx_export, "has_onnx", lambda: False)
    monkeypatch.setattr(auto, "busy", lambda: "")
    monkeypatch.setattr(auto, "measure_speedups", lambda size, latent, engines: auto.Measured({"fused": 5.0}))
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file where the cache folder should be
    line = auto_line()
    assert "could not be saved" in line and "remembered in" not in line
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert "remembered in" in auto_line()
    path = auto.cache_path()
    data = json.loads(path.read_text())
    for entry in data["entries"].values():
        entry["speedups"]["fused"] = float("inf")
    path.write_text(json.dumps(data))  # json writes Infinity, which Python reads back
    monkeypatch.setattr(auto, "measure_speedups", lambda size, latent, engines: auto.Measured({"fused": 0.5}))
    assert auto_line().startswith("eager")  # the infinite entry was not used: measured again
    monkeypatch.setattr(auto, "busy", lambda: "load 9.0 on 2 cores")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "d"))
    line = auto_line()
    assert "so not remembered" in line and "remembered in" not in line and "could not be saved" not in line
