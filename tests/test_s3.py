"""URIs for input and output: an S3-compatible server (moto) on 127.0.0.1, resume included."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.storage import Location
from a2i_cli.inference.engine import load_engine

pytestmark = pytest.mark.slow
runner = CliRunner()


def upload(local, uri: str) -> str:
    Location.of(uri).write_bytes(local.read_bytes())
    return uri


def manifest_of(uri: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(Location.of(uri + "/manifest.csv").read_bytes()), keep_default_na=False)


def test_csv_model_and_output_on_s3_with_resume(s3_server, in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 120, bad={7: "text"})
    src = upload(in_tmp / "in.csv", "s3://a2i/t1/in.csv")
    model = upload(ckpt, "s3://a2i/t1/m.pt")
    out = "s3://a2i/t1/out"
    args = ["batch-generate", src, "--out", out, "--model", model, "--backend", "local", "--workers", "2",
            "--batch-size", "16"]
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output  # row 7 is bad
    assert "119 images at s3://a2i/t1/out" in r.output
    m = manifest_of(out)
    assert m["row"].tolist() == [i for i in range(1, 121) if i != 7]
    listed = Location.of(out + "/images").list_files()
    assert sorted(f"images/{p}" for p in listed) == sorted(m["path"])
    assert not Location.of(out + "/manifest.parts").list_files()  # the parts were joined and removed
    feats = pd.read_csv(in_tmp / "in.csv", nrows=1).filter(like="mfcc_").to_numpy(np.float32)
    first = np.asarray(Image.open(io.BytesIO(Location.of(f"{out}/{m['path'][0]}").read_bytes())))
    assert np.array_equal(first, load_engine(ckpt, "eager").generate(feats)[0])
    assert "row,reason" in Location.of(out + "/errors.csv").read_bytes().decode()
    # lost images are made again, and only they
    for p in m["path"][:3]:
        Location.of(f"{out}/{p}").delete()
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and "3 images written" in r.output and "116 rows already done" in r.output
    assert manifest_of(out)["row"].tolist() == m["row"].tolist()
    # a run cut short: some manifest lines only in a part, the rest to do
    Location.of(out + "/manifest.csv").delete()
    lines = "".join(f"{r},{p},{i},{im},{c}\n" for r, p, i, im, c in m.head(40).itertuples(index=False))
    Location.of(out + "/manifest.parts/000001.csv").write_bytes(lines.encode())  # parts hold no header
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and "40 rows already done" in r.output
    assert manifest_of(out)["row"].tolist() == m["row"].tolist()


def test_s3_output_refuses_another_input(s3_server, in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "a.csv", 5)
    make_csv(in_tmp / "b.csv", 5, seed=1)
    out = "s3://a2i/t2/out"
    assert runner.invoke(app, ["batch-generate", "a.csv", "--out", out, "--model", str(ckpt)]).exit_code == 0
    r = runner.invoke(app, ["batch-generate", "b.csv", "--out", out, "--model", str(ckpt)])
    assert r.exit_code == 2 and "new --out" in r.output


def test_score_reads_generated_and_targets_from_s3(s3_server, in_tmp, tiny_data, ckpt):
    for p in tiny_data.rglob("*"):
        if p.is_file():
            upload(p, f"s3://a2i/t3/data/{p.relative_to(tiny_data).as_posix()}")
    out = "s3://a2i/t3/gen"
    r = runner.invoke(app, ["batch-generate", "s3://a2i/t3/data/dataset.csv", "--out", out, "--model", str(ckpt)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["score", out, "s3://a2i/t3/data", "--out", "s"])
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(in_tmp / "s/scores.csv")) == 40
