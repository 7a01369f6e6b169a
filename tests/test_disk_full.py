"""A full disk under --out is not transient: the run stops with exit 3, names the path and says a rerun
resumes; after space is freed the rerun finishes with every row exactly once (a real tmpfs, as root)."""
from __future__ import annotations

import subprocess
import uuid

import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app

runner = CliRunner()


@pytest.fixture
def small_disk(tmp_path):
    """A 192 KB tmpfs at tmp_path/disk (skips where mounting is not allowed); grow() makes room."""
    where = tmp_path / "disk"
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", f"a2i-test-{uuid.uuid4().hex[:8]}", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()[:120]}")

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=64m", str(where)], check=True)

    try:
        yield where, grow
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_disk_full_exits_3_naming_the_path_and_the_rerun_finishes_once(small_disk, in_tmp, make_checkpoint,
                                                                        make_csv):
    disk, grow = small_disk
    ckpt = make_checkpoint(in_tmp / "m.pt", size=64)
    make_csv(in_tmp / "in.csv", 120)
    out = disk / "out"
    args = ["batch-generate", "in.csv", "--out", str(out), "--model", str(ckpt), "--backend", "local",
            "--workers", "2", "--batch-size", "8", "--engine", "eager", "--png-level", "0"]
    r = runner.invoke(app, args)
    assert r.exit_code == 3, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in r.output, r.output
    assert str(disk) in errors[0] and "no space left" in errors[0] and "rerun the same command" in errors[0]
    grow()
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    m = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    assert m["row"].tolist() == list(range(1, 121))
    for p in m["path"]:
        Image.open(out / p).load()
    images = sorted(p.relative_to(out).as_posix() for p in (out / "images").rglob("*") if p.is_file())
    assert images == sorted(m["path"])  # no stray temporaries, nothing twice
