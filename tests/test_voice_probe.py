"""benchmarks/voice_probe.py, the screen for ideas on voices never heard, runs every variant it lists."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FSDD = REPO.parent / "shared" / "data" / "fsdd"


@pytest.mark.skipif(not FSDD.is_dir(), reason=f"shared data absent: {FSDD} (see shared/data/README.md)")
def test_every_variant_trains_and_prints_its_row():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from voice_probe import VARIANTS
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    res = subprocess.run([sys.executable, str(REPO / "benchmarks" / "voice_probe.py"), "--epochs", "1", "--seeds", "0",
                          "--folds", "george", "--variants", ",".join(VARIANTS), "--shared-data", str(FSDD.parent)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\| (\S+) \| ([\d.]+)% \|", res.stdout, re.M)}
    assert set(rows) == set(VARIANTS), res.stdout
    assert all(0 <= a <= 100 for a in rows.values())
    assert max(rows.values()) > 20, res.stdout  # one epoch already beats chance (10%) on one variant at least


@pytest.mark.parametrize("args,says", [
    (["--variants", "recipe,nope"], "--variants 'recipe,nope'"),
    (["--seeds", str(2**40)], "at most 4294967295"),
    (["--jobs", "1000"], "1 to 64 jobs"),
    (["--shared-data", "/nonexistent"], "--shared-data /nonexistent: needs fsdd/*.wav and mnist/mnist_digits_a.npz"),
])
def test_bad_arguments_are_usage_errors(args, says):
    res = subprocess.run([sys.executable, str(REPO / "benchmarks" / "voice_probe.py"), *args],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and says in res.stderr and "Traceback" not in res.stderr, res.stderr
