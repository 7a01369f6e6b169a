"""The C++ ops against their pure-PyTorch references and the eager model."""
from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest
import torch

from a2i_cli.core.config import IMAGE_SIZES, ModelConfig
from a2i_cli.inference import ops
from a2i_cli.inference.engine import fold_decoder
from a2i_cli.model.network import LEAKY_SLOPE, build_model, to_uint8

pytestmark = pytest.mark.skipif(
    not ops.has_ops(), reason=f"C++ ops not built ({ops.ops_reason()}); {ops.BUILD_HINT}"
)

# Every kernel variant this CPU runs (avx512, avx2, generic on x86-64; neon on aarch64): each
# exactness test runs once per variant, switched in-process. A variant this CPU cannot run
# cannot be tested here; the machines this project runs on differ, so CI covers what it has.
# On an AVX2 machine the exactness tests also run avx512sim: the avx512 variant's code and tile
# shapes compiled for AVX2 (listed only under A2I_SIM_VARIANTS=1), so the tiling an AVX-512
# machine takes is checked where none is at hand.
ISAS = ops.isa_list()
SIM = {"A2I_SIM_VARIANTS": "1"}


def variants_with_sim() -> list[str]:
    os.environ.update(SIM)
    try:
        return ops.isa_list()
    finally:
        del os.environ["A2I_SIM_VARIANTS"]


CHECKED = variants_with_sim()


@pytest.fixture(params=CHECKED)
def isa(request, monkeypatch):
    for k, v in SIM.items():
        monkeypatch.setenv(k, v)
    before = ops.isa()
    ops.use_isa(request.param)
    yield request.param
    ops.use_isa(before)


@functools.lru_cache(maxsize=None)  # read-only in the tests: build each once
def trained_model(image_size: int, seed: int = 0, steps: int = 3) -> torch.nn.Module:
    """A few Adam steps on random data so BatchNorm running stats and weights are non-trivial."""
    torch.manual_seed(seed)
    model = build_model(ModelConfig(image_size=image_size))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        x = torch.randn(8, 104)
        loss = (model(x) - torch.rand(8, 3, image_size, image_size) * 2 + 1).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@functools.lru_cache(maxsize=None)
def random_model(image_size: int, seed: int = 1) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model(ModelConfig(image_size=image_size))
    for mod in model.modules():  # random BN statistics too
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def test_pack_weight_matches_reference_and_inverts():
    w = torch.randn(5, 7, 4, 4)
    packed = ops.pack_weight(w)
    assert packed.shape == (2, 2, 2, 2, 5, 16)
    torch.testing.assert_close(packed, ops.pack_weight_ref(w), rtol=0, atol=0)
    torch.testing.assert_close(ops.unpack_weight_ref(packed, 7), w, rtol=0, atol=0)


@pytest.mark.parametrize(
    "B,cin,cout,H,W",
    [(2, 128, 256, 1, 1), (3, 256, 128, 2, 2), (2, 64, 32, 8, 8), (2, 32, 16, 16, 16), (1, 4, 3, 32, 64), (2, 5, 7, 3, 6),
     # odd shapes: channel counts that leave remainders in every tile shape, odd sides (GEMM path),
     # rows of 3 and 6 vector blocks (pixel path), one row, one column
     (1, 3, 5, 16, 48), (3, 7, 9, 1, 1), (2, 2, 6, 32, 16), (1, 9, 1, 5, 7), (2, 1, 2, 1, 9), (5, 17, 33, 3, 3)],
)
@pytest.mark.parametrize("act", [ops.ACT_NONE, ops.ACT_LEAKY, ops.ACT_TANH])
def test_deconv_matches_reference(B, cin, cout, H, W, act, isa):
    torch.manual_seed(0)
    x, w, b = torch.randn(B, cin, H, W), torch.randn(cin, cout, 4, 4) / cin**0.5, torch.randn(cout)
    torch.testing.assert_close(ops.deconv_s2k4(x, w, b, act, 0.2), ops.deconv_s2k4_ref(x, w, b, act, 0.2))
    torch.testing.assert_close(ops.deconv_s2k4(x, w, None, act, 0.1), ops.deconv_s2k4_ref(x, w, None, act, 0.1))


CASES = [(size, batch, kind) for size in IMAGE_SIZES for batch in (1, 3, 64) for kind in ("random", "trained")]
# size-256 batch-64 is the expensive one; the trained variant of it covers it.
CASES.remove((256, 64, "random"))
CASES.append((64, 65, "random"))  # two chunks of images (64 + 1)


@pytest.mark.parametrize("size,batch,kind", CASES)
def test_decoder_matches_eager(size, batch, kind, isa):
    model = trained_model(size) if kind == "trained" else random_model(size)
    weights, biases = fold_decoder(model)
    z = torch.randn(batch, model.cfg.latent) * 3
    with torch.no_grad():
        ref = model.decoder(z)  # (B, 3, S, S)
    out = ops.decoder(z, weights, biases, LEAKY_SLOPE, False)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=2e-5)  # BN folding reorders float sums
    packed = [ops.pack_weight(w) for w in weights]
    u8 = ops.decoder(z, packed, biases, LEAKY_SLOPE, True)  # (B, S, S, 3)
    expect = to_uint8(ref)
    assert u8.shape == expect.shape and u8.dtype == torch.uint8
    diff = (u8.int() - expect.int()).abs()
    assert diff.max() <= 1, "uint8 output is off by more than one level"
    assert (diff > 0).float().mean() < 1e-3, "too many rounding differences"


def test_decoder_float_matches_reference_exactly_enough():
    weights, biases = fold_decoder(trained_model(64))
    z = torch.randn(4, 128)
    torch.testing.assert_close(ops.decoder(z, weights, biases, 0.2, False), ops.decoder_ref(z, weights, biases, 0.2, False))
    packed = [ops.pack_weight(w) for w in weights]
    torch.testing.assert_close(ops.decoder_ref(z, packed, biases, 0.2, False), ops.decoder_ref(z, weights, biases, 0.2, False))


def test_opcheck():
    torch.manual_seed(0)
    w = torch.randn(4, 3, 4, 4)
    torch.library.opcheck(torch.ops.a2i.pack_weight.default, (w,))
    torch.library.opcheck(torch.ops.a2i.deconv_s2k4.default, (torch.randn(2, 4, 16, 16), w, torch.randn(3), 2, 0.2))
    torch.library.opcheck(torch.ops.a2i.deconv_s2k4.default, (torch.randn(2, 4, 3, 5), w, None, 1, 0.2))
    weights, biases = fold_decoder(random_model(32))
    z = torch.randn(2, 128)
    for uint8_out in (False, True):
        torch.library.opcheck(torch.ops.a2i.decoder.default, (z, weights, biases, 0.2, uint8_out))


def test_decoder_under_torch_compile_fake_tensors():
    weights, biases = fold_decoder(random_model(32))
    z = torch.randn(3, 128)
    fn = torch.compile(lambda z: ops.decoder(z, weights, biases, 0.2, True), backend="eager", fullgraph=True)
    torch.testing.assert_close(fn(z), ops.decoder(z, weights, biases, 0.2, True))


def test_bad_inputs_name_the_problem():
    w = torch.randn(4, 3, 4, 4)
    with pytest.raises(RuntimeError, match="rank 4"):
        ops.deconv_s2k4(torch.randn(4, 8, 8), w)
    with pytest.raises(RuntimeError, match="float32"):
        ops.deconv_s2k4(torch.randn(1, 4, 8, 8, dtype=torch.float64), w)
    with pytest.raises(RuntimeError, match="channel count"):
        ops.deconv_s2k4(torch.randn(1, 5, 8, 8), w)
    with pytest.raises(RuntimeError, match="contiguous"):
        ops.deconv_s2k4(torch.randn(1, 4, 8, 8).transpose(2, 3), w)
    with pytest.raises(RuntimeError, match=r"\(cin, cout, 4, 4\)"):
        ops.deconv_s2k4(torch.randn(1, 4, 8, 8), torch.randn(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match="act must be"):
        ops.deconv_s2k4(torch.randn(1, 4, 8, 8), w, None, 7, 0.2)
    weights, biases = fold_decoder(random_model(32))
    with pytest.raises(RuntimeError, match="rank 2"):
        ops.decoder(torch.randn(2, 128, 1), weights, biases)
    with pytest.raises(RuntimeError, match="channel count"):
        ops.decoder(torch.randn(2, 100), weights, biases)
    with pytest.raises(RuntimeError, match="float32"):
        ops.decoder(torch.randn(2, 128).double(), weights, biases)
    with pytest.raises(RuntimeError, match="biases"):
        ops.decoder(torch.randn(2, 128), weights, biases[:-1])
    with pytest.raises(RuntimeError, match="uint8_out needs 3"):
        ops.decoder(torch.randn(2, 128), weights[:-1], biases[:-1], 0.2, True)


def test_batch_zero():
    weights, biases = fold_decoder(random_model(32))
    assert ops.decoder(torch.randn(0, 128), weights, biases, 0.2, True).shape == (0, 32, 32, 3)


def test_isa_list_and_switching():
    assert ISAS and ops.isa() in ISAS
    assert ISAS[-1] in ("generic", "neon")  # the baseline of the target is always there
    with pytest.raises(ValueError, match="does not run here"):
        ops.use_isa("avx1024")
    assert ops.isa() in ISAS  # unchanged by the refusal


@pytest.mark.parametrize("want", [*ISAS, "avx1024"])
def test_a2i_isa_picks_the_variant_at_start(want):
    """A2I_ISA picks a variant for the whole process; one this CPU cannot run is ignored, and env says so."""
    code = "from a2i_cli.inference import ops; print(ops.isa()); print(ops.ops_status())"
    env = dict(os.environ, A2I_ISA=want)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    used, status = res.stdout.strip().splitlines()
    if want in ISAS:
        assert used == want and "A2I_ISA" not in status
    else:
        assert used == ISAS[0] and f"A2I_ISA={want!r} is not a variant this CPU runs" in status


@pytest.mark.skipif("avx2" not in ISAS, reason="avx512sim needs a CPU with AVX2")
def test_avx512sim_is_listed_only_for_tests(monkeypatch):
    """The simulated AVX-512 variant is checked on AVX2 machines, but never listed, picked or benchmarked otherwise."""
    assert "avx512sim" in CHECKED and "avx512sim" not in ISAS
    with pytest.raises(ValueError, match="does not run here"):
        ops.use_isa("avx512sim")
    env = dict(os.environ, A2I_ISA="avx512sim")
    env.pop("A2I_SIM_VARIANTS", None)
    res = subprocess.run([sys.executable, "-c", "from a2i_cli.inference import ops; print(ops.isa())"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == ISAS[0], res.stderr


def test_ops_status_line():
    assert ops.ops_status().startswith("built (")


def test_decoder_layer_times_one_per_layer():
    weights, biases = fold_decoder(random_model(32))
    times = ops.decoder_layer_times(torch.randn(3, 128), weights, biases, 0.2, True)
    assert len(times) == len(weights) and all(t >= 0 for t in times) and sum(times) > 0
