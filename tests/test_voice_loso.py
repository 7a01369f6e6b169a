"""benchmarks/voice_loso.py, the full-model leave-one-speaker-out table of docs/quality.md, runs and refuses bad input."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FSDD = REPO.parent / "shared" / "data" / "fsdd"
SCRIPT = str(REPO / "benchmarks" / "voice_loso.py")


@pytest.mark.skipif(not FSDD.is_dir(), reason=f"shared data absent: {FSDD} (see shared/data/README.md)")
def test_two_specs_one_fold_print_their_rows():
    res = subprocess.run([sys.executable, SCRIPT, "--epochs", "1", "--seeds", "0", "--folds", "george", "--image-size", "32",
                          "--spec", '{"default": {}, "ce0": {"class_encoders": 0}}', "--shared-data", str(FSDD.parent)],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = dict(re.findall(r"^\| (\S+), 0 \| ([\d.]+)% \| [\d.]+% \|$", res.stdout, re.M))
    assert set(rows) == {"default", "ce0"}, res.stdout
    assert all(0 <= float(a) <= 100 for a in rows.values())
    assert "default: worst voice george" in res.stdout
    # with class codes the read rate splits into the head's accuracy and the drawing of the true class
    split = re.findall(r"^(\S+) seed 0 george: read ([\d.]+)% \(heard ([\d.]+)%, drawn ([\d.]+)%\)", res.stdout, re.M)
    assert {s[0] for s in split} == {"default", "ce0"}, res.stdout
    assert all(0 <= float(v) <= 100 for s in split for v in s[1:])


@pytest.mark.parametrize("args,says", [
    (["--spec", "{"], "--spec: not JSON"),
    (["--spec", '{"a": {"nope": 1}}'], "spec 'a': unknown fields nope"),
    (["--spec", '{"a": {"epochs": 3}}'], "spec 'a': unknown fields epochs"),
    (["--spec", '{"a": {"class_encoders": 9}}'], "spec 'a': --class-encoders must be between 0 and 7"),
    (["--spec", '{"a": {"class_encoders": 2, "class_codes": false}}'], "spec 'a': class_encoders needs class codes"),
    (["--spec", '{"a": {"class_encoders": 2, "class_weight": 0}}'], "spec 'a': class_encoders needs class codes"),
    (["--spec", '{"../x": {}}'], "spec '../x': name it with"),
    (["--spec", "[]"], "give an object of named specs"),
    (["--folds", "nobody"], "--folds 'nobody'"),
    (["--seeds", "-1"], "--seeds '-1'"),
    (["--image-size", "48"], "--image-size 48: give 32, 64, 128 or 256"),
    (["--jobs", "0"], "--jobs 0: give 1 to 64"),
    (["--spec", '{"a": {"model": {"vae": true}}}'], "spec 'a': unknown fields model"),
    (["--spec", '{"a": {"batch_size": 1.5}}'], "spec 'a': batch_size 1.5 is not a whole number"),
    (["--spec", '{"a": {"lr": null}}'], "spec 'a': lr None is not a value it takes"),
    (["--spec", '{"%s": {}}' % ("x" * 41)], "name it with 1 to 40"),
    (["--shared-data", "/nonexistent"], "--shared-data /nonexistent: needs fsdd/*.wav"),
])
def test_bad_arguments_are_usage_errors(args, says):
    res = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and says in res.stderr and "Traceback" not in res.stderr, res.stderr
