"""The built-in demo dataset: schema, determinism, folder structure, refusal, CLI."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.core.config import DemoDataConfig
from a2i_cli.core.errors import UserError
from a2i_cli.core.progress import Counter
from a2i_cli.data.classes import CLASS2_LABELS
from a2i_cli.data.demo_audio import synth_class
from a2i_cli.data.demo_data import SCENES, make_demo_dataset, plan_rows
from a2i_cli.data.features import RECIPE
from a2i_cli.data.schema import FEATURE_COLUMNS

ROWS, SIZE = 60, 32


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    make_demo_dataset(DemoDataConfig(out=out, rows=ROWS, seed=0, image_size=SIZE))
    return out


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "dataset.json":
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def test_schema(demo):
    df = pd.read_csv(demo / "dataset.csv")
    assert list(df.columns) == ["IMAGE", *FEATURE_COLUMNS, "CLASS1", "CLASS2"]
    assert len(df) == ROWS
    assert set(df.CLASS2) == set(CLASS2_LABELS)
    assert df.CLASS2.value_counts().max() - df.CLASS2.value_counts().min() <= 1
    for c1, c2 in zip(df.CLASS1, df.CLASS2):
        assert c1 == ("INDOORS" if c2 in {"CLASSROOM", "GROCERY-STORE", "RESTAURANT"} else "OUTDOORS")
    assert np.isfinite(df[FEATURE_COLUMNS].to_numpy()).all()
    for rel in df.IMAGE:
        assert rel.startswith("images/") and rel.count("/") == 2
        with Image.open(demo / rel) as im:
            assert im.mode == "RGB" and im.size == (SIZE, SIZE)
    assert not list(demo.rglob("*.tmp"))


def test_metadata(demo):
    meta = json.loads((demo / "dataset.json").read_text())
    assert meta["source"] == "a2i demo" and meta["seed"] == 0 and meta["rows"] == ROWS
    assert meta["image_size"] == SIZE and meta["feature_recipe"] == RECIPE.to_dict()
    assert sum(meta["classes"].values()) == ROWS
    assert sum(f["rows"] for f in meta["folders"].values()) == ROWS


def test_folders_hold_consecutive_rows(demo):
    df = pd.read_csv(demo / "dataset.csv")
    folder = df.IMAGE.str.split("/").str[1]
    runs = (folder != folder.shift()).cumsum()
    assert runs.nunique() == folder.nunique()  # each folder is one contiguous block
    for f, g in df.groupby(folder, sort=False):
        assert g.CLASS2.nunique() == 1
        assert 2 <= len(SCENES[g.CLASS2.iloc[0]][1]) <= 4
        names = [Path(p).name for p in g.IMAGE]
        assert names == [f"{f}-{i}.png" for i in range(len(g))]  # seconds in order


def test_plan_rows_equal_classes():
    plan = plan_rows(2000)
    per_class = pd.Series({c: 0 for c in CLASS2_LABELS})
    for c, _, n in plan:
        per_class[c] += n
    assert per_class.sum() == 2000 and per_class.max() - per_class.min() <= 1


def test_deterministic_and_seed_dependent(demo, tmp_path):
    make_demo_dataset(DemoDataConfig(out=tmp_path / "same", rows=ROWS, seed=0, image_size=SIZE), workers=1)
    make_demo_dataset(DemoDataConfig(out=tmp_path / "other", rows=ROWS, seed=1, image_size=SIZE))
    assert digest(tmp_path / "same") == digest(demo)
    assert (tmp_path / "same" / "dataset.csv").read_bytes() == (demo / "dataset.csv").read_bytes()
    assert (tmp_path / "other" / "dataset.csv").read_bytes() != (demo / "dataset.csv").read_bytes()
    a = np.asarray(Image.open(demo / "images/beach/beach-0.png"))
    b = np.asarray(Image.open(tmp_path / "other/images/beach/beach-0.png"))
    assert not np.array_equal(a, b)


def test_refuses_to_overwrite(demo, tmp_path):
    with pytest.raises(UserError, match="already exists"):
        make_demo_dataset(DemoDataConfig(out=demo, rows=ROWS, image_size=SIZE))
    out = tmp_path / "ow"
    make_demo_dataset(DemoDataConfig(out=out, rows=ROWS, seed=0, image_size=SIZE))
    s = make_demo_dataset(DemoDataConfig(out=out, rows=18, seed=2, image_size=SIZE, exist_ok=True))
    df = pd.read_csv(s.csv)
    assert len(df) == 18 and len(list((out / "images").rglob("*.png"))) == 18


def test_audio_in_range_and_parameter_driven():
    rng = np.random.default_rng(0)
    lo, hi = np.full((4, 3), 0.05), np.full((4, 3), 0.95)
    for c in CLASS2_LABELS:
        quiet = synth_class(c, lo, np.full(8, 0.5), rng)
        loud = synth_class(c, hi, np.full(8, 0.5), rng)
        assert quiet.shape == (4, RECIPE.clip_samples) and np.abs(loud).max() <= 1.0
        assert np.sqrt((loud**2).mean()) > 2 * np.sqrt((quiet**2).mean()), c


def test_cli(tmp_path, monkeypatch):
    from a2i_cli.cli import app

    monkeypatch.chdir(tmp_path)  # where "--out ''" would write if it were taken as the current folder

    runner = CliRunner()
    out = tmp_path / "cli"
    args = ["demo-data", "--out", str(out), "--rows", "18", "--image-size", "16", "--seed", "3"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "18 rows" in r.output and (out / "dataset.csv").exists()
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "already exists" in r.output
    r = runner.invoke(app, [*args, "--exist-ok"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, [*args, "--overwrite"])  # the old spelling still works, with a note
    assert r.exit_code == 0 and "--overwrite is deprecated; use --exist-ok" in r.output
    assert runner.invoke(app, ["demo-data", "--help"]).exit_code == 0
    r = runner.invoke(app, ["demo-data", "--out", "", "--rows", "18"])  # "" is the current folder to a Path
    assert r.exit_code == 2 and "--out is empty" in r.output, r.output


def test_progress_counts_every_row(tmp_path):
    seen = Counter()
    make_demo_dataset(DemoDataConfig(out=tmp_path / "p", rows=18, image_size=16), progress=seen)
    assert seen.total == seen.done == 18
