"""batch-generate: streamed CSV, bad rows, manifest, resume (also after a real kill -9), bad input."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import BatchConfig
from a2i_cli.data.csv_stream import CsvStream
from a2i_cli.data.schema import FEATURE_COLUMNS
from a2i_cli.inference.engine import load_engine
from a2i_cli.jobs.batch import batch_generate
from a2i_cli.jobs.batch_output import last_output
from a2i_cli.jobs.batch_output import image_relpath
from a2i_cli.jobs.predictor import Predictor

runner = CliRunner()


def read_manifest(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "manifest.csv", keep_default_na=False)


def test_predictor_without_ray(tmp_path, ckpt):
    pred = Predictor(ckpt.read_bytes(), ckpt.name, str(tmp_path / "o"), engine="eager")
    feats = np.random.default_rng(0).normal(0, 10, (3, 104)).astype(np.float32)
    res = pred({"row": np.array([5, 1000, 1001]), "feats": feats})
    back = Predictor(ckpt.read_bytes(), ckpt.name, str(tmp_path / "unused"), engine="eager", deliver="return")
    sent = back({"row": np.array([5]), "feats": feats[:1]})
    assert sent["data"][0] == (tmp_path / "o" / res["path"][0]).read_bytes() and not (tmp_path / "unused").exists()
    assert list(res["path"]) == ["images/000000/000000005.png", "images/000001/000001000.png", "images/000001/000001001.png"]
    expect = load_engine(ckpt, "eager").generate(feats)
    for p, e in zip(res["path"], expect):
        assert np.array_equal(np.asarray(Image.open(tmp_path / "o" / p)), e)
    assert image_relpath(42, ".png") == "images/000000/000000042.png"


def test_images_are_written_atomically_and_a_removed_shard_is_made_again(tmp_path, ckpt, monkeypatch):
    from a2i_cli.core import atomic

    pred = Predictor(ckpt.read_bytes(), ckpt.name, str(tmp_path / "o"), engine="eager")
    feats = np.random.default_rng(0).normal(0, 10, (2, 104)).astype(np.float32)
    first = pred({"row": np.array([1, 2]), "feats": feats})
    shard = tmp_path / "o/images/000000"
    assert sorted(os.listdir(shard)) == ["000000001.png", "000000002.png"]  # no temporary left behind
    for p in shard.iterdir():
        p.unlink()
    shard.rmdir()  # removed while the worker runs: it is made again
    assert pred({"row": np.array([1, 2]), "feats": feats})["path"] == first["path"]
    assert sorted(os.listdir(shard)) == ["000000001.png", "000000002.png"]

    def full_disk(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "write", full_disk)
    before = (shard / "000000001.png").read_bytes()
    with pytest.raises(OSError, match="No space"):
        pred({"row": np.array([1]), "feats": feats[:1]})
    assert (shard / "000000001.png").read_bytes() == before and sorted(os.listdir(shard)) == ["000000001.png",
                                                                                                 "000000002.png"]


def test_csv_stream_chunks_and_bad_rows(tmp_path, make_csv):
    path = make_csv(tmp_path / "in.csv", 10, bad={2: "text", 4: "nan", 5: "short", 7: "long", 9: "inf"})
    stream = CsvStream(path)
    assert stream.extra_columns == ["id", "IMAGE", "CLASS2"]
    got = list(stream.chunks(4, done=np.array([1, 10])))
    rows = np.concatenate([c.rows for c, _, _ in got]).tolist()
    errors = [e for _, errs, _ in got for e in errs]
    assert rows == [3, 6, 8]
    assert [r for r, _ in errors] == [2, 4, 5, 7, 9]
    reasons = dict(errors)
    assert reasons[2] == "mfcc_5 is 'loud', not a number" and reasons[4] == "mfcc_5 is NaN" and reasons[9] == "mfcc_5 is infinite"
    assert "expected 107 fields (as in the header), got 50" in reasons[5] and "got 108" in reasons[7]
    assert sum(n for _, _, n in got) == 10
    assert got[0][0].extras[0] == ("id3", "images/x/x3.png", "BEACH")
    assert stream.count_rows() == 10


def test_batch_generate_cli_outputs(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 30, bad={3: "text", 11: "nan", 20: "short"})
    r = runner.invoke(app, ["batch-generate", "in.csv", "--out", "imgs", "--model", str(ckpt), "--batch-size", "8",
                            "--engine", "eager"])
    assert r.exit_code == 1, r.output  # some rows failed
    assert "3 of 30 rows failed" in r.output and "row 3: mfcc_5 is 'loud', not a number" in r.output
    m = read_manifest(in_tmp / "imgs")
    assert list(m.columns) == ["row", "path", "id", "IMAGE", "CLASS2"]
    good = [i for i in range(1, 31) if i not in (3, 11, 20)]
    assert m["row"].tolist() == good
    assert m["id"].tolist() == [f"id{i}" for i in good]
    errors = pd.read_csv(in_tmp / "imgs/errors.csv")
    assert errors["row"].tolist() == [3, 11, 20]
    feats = pd.read_csv(in_tmp / "in.csv", nrows=2)[FEATURE_COLUMNS].to_numpy(np.float32)
    expect = load_engine(ckpt, "eager").generate(feats)
    for k in range(2):
        assert np.array_equal(np.asarray(Image.open(in_tmp / "imgs" / m["path"][k])), expect[k])
    assert last_output().local == (in_tmp / "imgs").resolve()
    # a rerun has nothing left to do and lists the same bad rows once
    r = runner.invoke(app, ["batch-generate", "in.csv", "--out", "imgs", "--model", str(ckpt)])
    assert r.exit_code == 1 and "0 images written" in r.output and "27 rows already done" in r.output
    assert len(read_manifest(in_tmp / "imgs")) == 27 and len(pd.read_csv(in_tmp / "imgs/errors.csv")) == 3


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_other_formats(in_tmp, ckpt, fmt, make_csv):
    make_csv(in_tmp / "in.csv", 3)
    r = runner.invoke(app, ["batch-generate", "in.csv", "--out", "o", "--model", str(ckpt), "--format", fmt])
    assert r.exit_code == 0, r.output
    m = read_manifest(in_tmp / "o")
    assert all(p.endswith("." + fmt) for p in m["path"])
    assert Image.open(in_tmp / "o" / m["path"][0]).size == (32, 32)


def test_resume_repairs_torn_manifest(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 40)
    res = batch_generate(in_tmp / "in.csv", BatchConfig(out=in_tmp / "o", model=ckpt, backend="local", batch_size=8, workers=2))
    assert res.written == 40 and res.backend == "local"
    text = (in_tmp / "o/manifest.csv").read_text().splitlines(keepends=True)
    # as if killed: the last 15 lines never written and a torn line left behind, plus a temporary file
    (in_tmp / "o/manifest.csv").write_text("".join(text[:-15]) + text[-15][:7])
    (in_tmp / "o/images/000000/.000000033.png.tmp123").write_bytes(b"half")
    res = batch_generate(in_tmp / "in.csv", BatchConfig(out=in_tmp / "o", model=ckpt, batch_size=8))
    assert res.skipped == 25 and res.written == 15
    m = read_manifest(in_tmp / "o")
    assert m["row"].tolist() == list(range(1, 41))
    assert not list((in_tmp / "o/images").rglob(".*tmp*"))


def test_resume_refuses_other_inputs(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "a.csv", 3)
    make_csv(in_tmp / "b.csv", 3, seed=1)
    batch_generate(in_tmp / "a.csv", BatchConfig(out=in_tmp / "o", model=ckpt))
    r = runner.invoke(app, ["batch-generate", "b.csv", "--out", "o", "--model", str(ckpt)])
    assert r.exit_code == 2 and "new --out" in r.output


@pytest.mark.parametrize(
    "args, expect",
    [
        (["missing.csv"], "missing.csv does not exist"),
        (["nomfcc.csv"], "missing column 'mfcc_101' and 3 more (mfcc_102, mfcc_103, mfcc_104)"),
        (["in.csv", "--model", "nope.pt"], "nope.pt does not exist"),
        (["in.csv", "--format", "gif"], "--format"),
        (["in.csv", "--png-level", "12"], "--png-level"),
        (["in.csv", "--backend", "spark"], "--backend"),
        (["in.csv", "--engine", "tpu"], "--engine"),
        (["in.csv", "--batch-size", "0"], "--batch-size"),
    ],
)
def test_bad_input_one_line(in_tmp, ckpt, args, expect, make_csv):
    make_csv(in_tmp / "in.csv", 3)
    pd.DataFrame({"IMAGE": ["a.png"], **{c: [0.0] for c in FEATURE_COLUMNS[:100]}}).to_csv(in_tmp / "nomfcc.csv", index=False)
    if "--model" not in args:
        args = [*args, "--model", str(ckpt)]
    r = runner.invoke(app, ["batch-generate", *args, "--out", "o"])
    assert r.exit_code == 2, r.output
    assert expect in r.output and "Traceback" not in r.output
    assert not (in_tmp / "o").exists()  # nothing written for a bad command


def test_no_model_says_train_first(in_tmp, make_csv):
    make_csv(in_tmp / "in.csv", 3)
    r = runner.invoke(app, ["batch-generate", "in.csv", "--out", "o"])
    assert r.exit_code == 2 and "a2i train" in r.output


def test_kill9_then_rerun_every_row_once(in_tmp, ckpt, make_csv):
    n = 6000
    make_csv(in_tmp / "in.csv", n, bad={17: "text"})
    cmd = [sys.executable, "-m", "a2i_cli.cli", "batch-generate", "in.csv", "--out", "o", "--model", str(ckpt),
           "--backend", "local", "--workers", "2", "--batch-size", "16"]
    proc = subprocess.Popen(cmd, cwd=in_tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    manifest = in_tmp / "o/manifest.csv"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if manifest.exists() and manifest.stat().st_size > 5_000:  # some chunks done, most still to do
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed; make the input larger"
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its workers, mid-run
    proc.wait()
    done_before = len(read_manifest(in_tmp / "o"))
    assert 0 < done_before < n - 1
    r = runner.invoke(app, ["batch-generate", "in.csv", "--out", "o", "--model", str(ckpt), "--batch-size", "64"])
    assert r.exit_code == 1, r.output  # row 17 is bad
    m = read_manifest(in_tmp / "o")
    good = [i for i in range(1, n + 1) if i != 17]
    assert m["row"].tolist() == good  # exactly one line per good row, in order
    files = sorted(p.relative_to(in_tmp / "o").as_posix() for p in (in_tmp / "o/images").rglob("*") if p.is_file())
    assert files == sorted(m["path"])  # exactly one image per row, no temporaries
    for p in m["path"][::97]:  # complete images
        with Image.open(in_tmp / "o" / p) as im:
            im.load()
    assert pd.read_csv(in_tmp / "o/errors.csv")["row"].tolist() == [17]


def test_local_worker_death_is_reported_and_resumable(in_tmp, ckpt, make_csv):
    from a2i_cli.jobs.workers import WorkerDied

    make_csv(in_tmp / "in.csv", 400)
    with pytest.raises(WorkerDied, match="rerun"):
        batch_generate(in_tmp / "in.csv", BatchConfig(out=in_tmp / "o", model=ckpt, backend="local", workers=2, batch_size=16),
                       predictor_kwargs={"crash_once": str(in_tmp / "crashed")})
    res = batch_generate(in_tmp / "in.csv", BatchConfig(out=in_tmp / "o", model=ckpt, backend="local", workers=2, batch_size=16))
    assert res.skipped + res.written == 400
    assert read_manifest(in_tmp / "o")["row"].tolist() == list(range(1, 401))


def test_a_worker_writes_itself_only_where_it_sees_the_drivers_very_folder(tmp_path, ckpt):
    """Ray with a local --out: a worker on the driver's node writes the images itself; any other sends the bytes."""
    from a2i_cli.jobs.predictor import folder_identity

    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    batch = {"row": np.array([1, 2]), "feats": np.zeros((2, len(FEATURE_COLUMNS)), np.float32)}
    model = ckpt.read_bytes()
    here = Predictor(model, "m.pt", str(out), deliver="return", out_identity=folder_identity(out))(batch)
    assert "data" not in here and all((out / p).is_file() for p in here["path"])
    there = Predictor(model, "m.pt", str(out), deliver="return", out_identity=folder_identity(elsewhere))(batch)
    assert len(there["data"]) == 2 and there["data"][0].startswith(b"\x89PNG")
    assert folder_identity(out) != folder_identity(elsewhere)


def test_resume_redoes_manifest_lines_whose_path_a2i_never_writes(in_tmp, ckpt, make_csv):
    """An edited manifest line pointing outside OUT (or anywhere a2i does not write) is not taken as done."""
    make_csv(in_tmp / "in.csv", 5)
    args = ["batch-generate", "in.csv", "--out", "o", "--model", str(ckpt), "--engine", "eager"]
    assert runner.invoke(app, args).exit_code == 0
    m = read_manifest(in_tmp / "o")
    m.loc[0, "path"], m.loc[1, "path"] = "../../etc/passwd", "/etc/hostname"
    m.to_csv(in_tmp / "o/manifest.csv", index=False)
    r = runner.invoke(app, args)
    assert r.exit_code == 0 and "2 images written" in r.output and "3 rows already done" in r.output, r.output
    again = read_manifest(in_tmp / "o")
    assert sorted(again["row"]) == [1, 2, 3, 4, 5]  # once each (a local manifest appends what is redone)
    assert all(p.startswith("images/") for p in again["path"])


def test_a_manifest_with_only_its_header_and_no_batch_json_resumes(in_tmp, ckpt, make_csv):
    """A disk that filled while batch.json was written left a header-only manifest.csv: nothing is listed, so
    the rerun (as the error promised) goes on instead of refusing the folder."""
    make_csv(in_tmp / "in.csv", 3)
    args = ["batch-generate", "in.csv", "--out", "o", "--model", str(ckpt), "--engine", "eager"]
    assert runner.invoke(app, args).exit_code == 0
    header = (in_tmp / "o/manifest.csv").read_text().splitlines()[0]
    for name in ("batch.json", "manifest.csv"):
        (in_tmp / "o" / name).unlink()
    for p in (in_tmp / "o/images").rglob("*.png"):
        p.unlink()
    (in_tmp / "o/manifest.csv").write_text(header + "\n")
    r = runner.invoke(app, args)
    assert r.exit_code == 0 and "3 images written" in r.output, r.output
