"""ONNX: `a2i export --format onnx` run by plain onnxruntime, `--engine onnx`, onnx in auto, and the messages without the extra.

Exporting to ONNX takes a few seconds, so the file and the engine are made once per module.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import ExportFormat, ModelConfig
from a2i_cli.core.errors import UserError
from a2i_cli.data.normalize import Normalizer
from a2i_cli.inference import onnx_export
from a2i_cli.inference.engine import load_engine
from a2i_cli.inference.export import export_format
from a2i_cli.model.checkpoint import load_checkpoint, save_checkpoint
from a2i_cli.model.network import build_model

runner = CliRunner()
needs_onnx = pytest.mark.skipif(not onnx_export.has_onnx(),
                                reason=f"{onnx_export.onnx_reason()}: pip install \"a2i[onnx]\" to test ONNX")
CLASSES = {"FOREST": 7, "BEACH": 9}  # as a prepared record holds them: class -> rows


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    """A 32 px a2i-architecture checkpoint with non-trivial BatchNorm statistics and two classes."""
    torch.manual_seed(3)
    model = build_model(ModelConfig(arch="a2i", latent=16, image_size=32))
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 104) * 2)  # train mode: running statistics move
    path = tmp_path_factory.mktemp("onnx") / "best.pt"
    norm = Normalizer.fit(np.random.default_rng(2).normal(2, 3, (64, 104)).astype(np.float32))
    save_checkpoint(path, model.eval(), norm, prepared={"classes": CLASSES})
    return path


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.random.default_rng(1).normal(2.0, 3.0, size=(7, 104)).astype(np.float32)


@pytest.fixture(scope="module")
def exported(ckpt) -> Path:
    """`a2i export --format onnx` without --out: the .onnx next to the checkpoint."""
    r = runner.invoke(app, ["export", "--model", str(ckpt), "--format", "onnx"])
    assert r.exit_code == 0, r.output
    return ckpt.with_suffix(".onnx")


def close_u8(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # at most one level of 255


@needs_onnx
def test_exported_onnx_runs_with_onnxruntime_alone_like_eager(exported, ckpt, rows):
    import onnx
    import onnxruntime as ort

    eager = load_engine(ckpt, "eager")
    sess = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])  # what docs/export.md shows
    for batch in (rows[:1], rows):  # batch 1 and an odd batch: the batch axis is dynamic
        (images,) = sess.run(None, {"raw": batch})
        assert images.shape == (len(batch), 32, 32, 3)
        close_u8(images, eager.generate(batch))
    assert {"a2i_version", "image_size", "feature_recipe", "class_names"} <= set(sess.get_modelmeta().custom_metadata_map)
    model = onnx.load(exported)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # named, not a fixed number
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["a2i_version"] and meta["image_size"] == "32"
    assert json.loads(meta["class_names"]) == ["BEACH", "FOREST"]
    assert json.loads(meta["feature_recipe"]) == load_checkpoint(ckpt).recipe.to_dict()
    assert json.loads(meta["model_config"])["arch"] == "a2i"


def test_the_format_follows_the_suffix_and_a_mismatch_is_one_line(tmp_path, ckpt):
    assert export_format(None) == ExportFormat.pt2  # the default: a .pt2 needs only torch
    assert export_format(Path("m.ONNX")) == export_format(None, "onnx") == ExportFormat.onnx
    assert export_format(Path("m.pt2"), "pt2") == ExportFormat.pt2
    cases = [(["--out", "m.onnx", "--format", "pt2"], "--out m.onnx ends in .onnx but --format is pt2"),
             (["--out", "m.pt2", "--format", "onnx"], "--out m.pt2 ends in .pt2 but --format is onnx"),
             (["--out", "m.bin", "--format", "onnx"], "should end in .onnx"),
             (["--out", "m.bin"], "should end in .pt2 (torch.export archive) or .onnx")]
    for args, says in cases:
        r = runner.invoke(app, ["export", "--model", str(ckpt), *args])
        assert r.exit_code == 2 and r.output.strip().splitlines() == [f"error: {r.output.strip()[7:]}"], r.output
        assert says in r.output, r.output
    r = runner.invoke(app, ["export", "--model", str(ckpt), "--format", "tflite"])
    assert r.exit_code == 2 and "tflite" in r.output  # refused by the option's choices (pt2, onnx)
    assert not (tmp_path / "m.onnx").exists() and not Path("m.onnx").exists()
    (tmp_path / "given.onnx").write_bytes(b"\x08\x09 an ONNX protobuf")  # an .onnx is not a --model
    r = runner.invoke(app, ["generate", "--mfcc", ",".join(["0"] * 104), "--model", str(tmp_path / "given.onnx"),
                            "--out", str(tmp_path / "g.png")])
    assert r.exit_code == 2 and "is an ONNX model" in r.output and "--engine onnx" in r.output, r.output


@needs_onnx
def test_engine_onnx_matches_eager_and_batch_generate_runs_it(ckpt, rows, tmp_path, make_csv):
    eng = load_engine(ckpt, "onnx")
    assert eng.name == "onnx" and eng.choice.startswith("ONNX Runtime") and eng.image_size == 32
    eager = load_engine(ckpt, "eager")
    close_u8(eng.generate(rows[0]), eager.generate(rows[:1]))  # a single row too
    close_u8(eng.generate(rows), eager.generate(rows))
    with pytest.raises(UserError, match=r"\(B, 104\)"):
        eng.generate(np.zeros((2, 50), np.float32))

    # end to end: the engine is made once here and runs in two forked workers with a session each
    csv = make_csv(tmp_path / "rows.csv", 9)
    out = tmp_path / "out"
    r = runner.invoke(app, ["batch-generate", str(csv), "--model", str(ckpt), "--engine", "onnx", "--out", str(out),
                            "--backend", "local", "--workers", "2", "--batch-size", "4"])
    assert r.exit_code == 0, r.output
    assert "engine onnx" in r.output and "ONNX Runtime" in r.output
    feats = np.loadtxt(csv, delimiter=",", skiprows=1, usecols=range(1, 105), dtype=np.float32)
    expect = eager.generate(feats)
    from PIL import Image

    for i in range(9):
        close_u8(np.asarray(Image.open(out / f"images/000000/{i + 1:09d}.png"))[None], expect[i : i + 1])


def test_without_the_extra_every_onnx_path_says_how_to_install_it(ckpt, monkeypatch, tmp_path):
    from a2i_cli.inference import auto, ops

    monkeypatch.setattr(onnx_export, "missing_packages", lambda: ["onnxruntime"])
    assert not onnx_export.has_onnx() and onnx_export.onnx_reason() == "onnxruntime is not installed"
    assert onnx_export.onnx_status() == 'not available: onnxruntime is not installed (pip install "a2i[onnx]")'
    assert "onnx" not in auto.candidates()
    r = runner.invoke(app, ["export", "--model", str(ckpt), "--out", str(tmp_path / "m.onnx")])
    line = 'error: a2i export --format onnx needs ONNX Runtime and the ONNX exporter (onnxruntime is not installed); ' \
           'pip install "a2i[onnx]"'
    assert r.exit_code == 2 and r.output.strip() == line, r.output
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(UserError, match=r'--engine onnx needs .*; pip install "a2i\[onnx\]"'):
        load_engine(ckpt, "onnx")
    r = runner.invoke(app, ["generate", "--mfcc", ",".join(["1"] * 104), "--model", str(ckpt), "--engine", "onnx",
                            "--out", str(tmp_path / "g.png")])
    assert r.exit_code == 2 and r.output.strip().startswith("error: --engine onnx needs") and "a2i[onnx]" in r.output
    monkeypatch.setattr(ops, "has_ops", lambda: False)
    assert auto.auto_engine(32, 16).engine == "eager"  # nothing to measure: eager, without a cache entry


def test_auto_measures_onnx_and_picks_it_only_where_fastest(monkeypatch, tmp_path):
    from a2i_cli.inference import auto, ops

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(onnx_export, "has_onnx", lambda: True)
    monkeypatch.setattr(ops, "has_ops", lambda: True)
    monkeypatch.setattr(auto, "busy", lambda: "")  # remembered whatever else runs on this machine
    measured = []

    def fake(fused: float, onnx: float):
        def speedups(size, latent, engines):
            measured.extend(engines)
            return {e: {"fused": fused, "onnx": onnx}[e] for e in engines}

        monkeypatch.setattr(auto, "measure_speedups", speedups)

    fake(2.0, 3.0)
    picked = auto.auto_engine(32, 16)
    assert picked.engine == "onnx" and picked.speedups == {"fused": 2.0, "onnx": 3.0}
    assert "ONNX Runtime, 3.0x eager on this CPU" in picked.reason and "2.0x" in picked.reason
    key = next(iter(json.loads(auto.cache_path().read_text())["entries"]))
    assert "engines eager,fused,onnx" in key and "onnxruntime " in key
    fake(2.0, 1.5)
    assert auto.auto_engine(32, 16).engine == "onnx" and measured == ["fused", "onnx"]  # remembered
    choice = auto.auto_engine(64, 16)  # another shape: measured; fused is faster
    assert choice.engine == "fused" and "ONNX Runtime 1.50x" in choice.reason
    fake(2.0, 2.0)
    assert auto.auto_engine(128, 16).engine == "fused"  # a tie is not a win
    fake(0.5, 0.9)
    assert auto.auto_engine(256, 16).engine == "eager"  # neither beats eager
    monkeypatch.setattr(ops, "has_ops", lambda: False)
    fake(9.9, 1.2)
    n = len(measured)
    choice = auto.auto_engine(32, 16)  # other candidates: another key, measured again, fused not asked
    assert choice.engine == "onnx" and measured[n:] == ["onnx"] and "the C++ ops did not load" in choice.reason
    fake(9.9, 0.8)
    assert auto.auto_engine(64, 16).engine == "eager"


@needs_onnx
def test_the_onnx_probe_really_runs(monkeypatch):
    """The real measurement auto makes: the decoder exported to ONNX and timed in the same rounds as eager."""
    from a2i_cli.inference import auto

    speedups = auto.measure_speedups(32, 16, ["onnx"])
    assert set(speedups) == {"onnx"} and 0 < speedups["onnx"] < 1000
    monkeypatch.setattr(auto, "_probe", lambda *a: 1 / 0)  # an engine that cannot be built is never chosen
    assert auto.measure_speedups(32, 16, ["onnx"]) == {"onnx": 0.0}
