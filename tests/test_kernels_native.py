"""The kernel variants without torch: csrc/check/check_kernels.cpp against a scalar transposed convolution.

Natively it checks every variant this CPU runs (as tests/test_ops.py does through torch).
With an aarch64 cross compiler and qemu-user installed (Debian: g++-aarch64-linux-gnu,
qemu-user) it also builds the NEON variant and runs it under emulation, the only way an
x86-64 machine can check the kernels an ARM machine (Graviton, Apple, Ampere) will run.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [str(ROOT / "csrc/kernels.cpp"), str(ROOT / "csrc/check/check_kernels.cpp")]
FLAGS = ["-O2", "-std=c++17", "-ffp-contract=fast", "-Wno-psabi", f"-I{ROOT / 'csrc'}"]


def build_and_run(compiler: str, out: Path, runner: list[str], extra: list[str] = ()) -> str:
    build = subprocess.run([compiler, *FLAGS, *extra, *SOURCES, "-o", str(out)], capture_output=True, text=True,
                           timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    env = dict(os.environ, A2I_SIM_VARIANTS="1")  # avx512sim too, where the CPU runs AVX2
    res = subprocess.run([*runner, str(out)], capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "FAILED" not in res.stdout and ", 0 failed" in res.stdout
    return res.stdout


@pytest.mark.skipif(shutil.which("g++") is None, reason="no g++ on PATH")
def test_every_native_variant_matches_the_scalar_reference(tmp_path):
    out = build_and_run("g++", tmp_path / "check", [])
    variants = {line.split()[0] for line in out.splitlines() if line.endswith(")") or line.endswith("ok")}
    assert variants & {"generic", "neon"}, out  # the baseline of the target always runs
    if "avx2" in variants:  # the avx512 variant's code, compiled for AVX2, checked where no AVX-512 is at hand
        assert "avx512sim" in variants, out


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-g++") is None or shutil.which("qemu-aarch64") is None,
                    reason="no aarch64 cross compiler / qemu-user (apt install g++-aarch64-linux-gnu qemu-user)")
def test_neon_variant_under_qemu(tmp_path):
    out = build_and_run("aarch64-linux-gnu-g++", tmp_path / "check-arm", ["qemu-aarch64"], ["-static"])
    assert "neon" in out and "uint8" in out
