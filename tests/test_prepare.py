"""prepare: schema validation, class selection, leakage-free splits, train-only normalisation."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.config import SplitConfig
from a2i_cli.data.prepared import Prepared
from a2i_cli.data.splits import split_rows

runner = CliRunner()


def prep(*args):
    return runner.invoke(app, ["prepare", "--image-size", "32", *args])


def test_prepare_writes_complete_folder(tiny_data, in_tmp):
    r = prep(str(tiny_data), "--class", "beach")
    assert r.exit_code == 0, r.output
    p = Prepared.load(in_tmp / "runs/prepare/beach")
    assert p.images.shape == (24, 32, 32, 3) and p.images.dtype == np.uint8
    assert p.features.shape == (24, 104)
    assert set(p.rows["CLASS2"]) == {"BEACH"}
    meta = json.loads((p.path / "meta.json").read_text())
    assert meta["counts"]["train"] + meta["counts"]["val"] + meta["counts"]["test"] == 24 and meta["counts"]["val"] == 2
    assert meta["image_size"] == 32 and meta["seed"] == 0


def test_prepare_repeated_class_and_all(tiny_data, in_tmp):
    assert prep(str(tiny_data), "--class", "BEACH", "--class", "Forest", "--name", "two").exit_code == 0
    assert prep(str(tiny_data), "--class", "all", "--name", "every").exit_code == 0
    assert len(Prepared.load(in_tmp / "runs/prepare/two").rows) == 40
    assert len(Prepared.load(in_tmp / "runs/prepare/every").rows) == 40
    assert prep(str(tiny_data), "--class", "all", "--name", "every").exit_code == 0
    assert (in_tmp / "runs/prepare/every2/meta.json").is_file()  # never overwrites a run


def test_unknown_class_lists_classes(tiny_data, in_tmp):
    r = prep(str(tiny_data), "--class", "CASTLE")
    assert r.exit_code == 2
    assert "CASTLE" in r.output and "BEACH (24 rows)" in r.output and "FOREST (16 rows)" in r.output


def test_missing_data_folder_says_how_to_get_data(in_tmp):
    r = prep(str(in_tmp / "nowhere"))
    assert r.exit_code == 2
    assert "Kaggle" in r.output and "a2i demo" in r.output


def _edit_csv(data, fn):
    df = pd.read_csv(data / "dataset.csv")
    df = fn(df)
    df.to_csv(data / "dataset.csv", index=False)


@pytest.mark.parametrize(
    "edit, expect",
    [
        (lambda d: d.rename(columns={"mfcc_7": "MFCC_7"}), ["'mfcc_7'", "MFCC_7"]),
        (lambda d: d.drop(columns=["CLASS2"]), ["'CLASS2'"]),
        (lambda d: d.assign(mfcc_5=d["mfcc_5"].astype(object).where(d.index != 2, "abc")), ["row 3", "mfcc_5", "'abc'", "--skip-bad"]),
        (lambda d: d.assign(mfcc_9=d["mfcc_9"].where(d.index != 4, np.nan)), ["row 5", "mfcc_9 is empty"]),
        (lambda d: d.assign(mfcc_1=d["mfcc_1"].where(d.index != 6, np.inf)), ["row 7", "mfcc_1", "infinite"]),
    ],
    ids=["misnamed-column", "missing-column", "non-numeric", "nan", "inf"],
)
def test_schema_errors_name_file_row_and_fix(tiny_data, in_tmp, edit, expect):
    _edit_csv(tiny_data, edit)
    r = prep(str(tiny_data), "--class", "all")
    assert r.exit_code == 2, r.output
    assert "dataset.csv" in r.output
    for e in expect:
        assert e in r.output
    assert "Traceback" not in r.output


def test_missing_and_unreadable_images(tiny_data, in_tmp):
    (tiny_data / "images/beach/beach1.png").unlink()
    (tiny_data / "images/beach/beach2.png").write_bytes(b"not a png")
    r = prep(str(tiny_data), "--class", "beach")
    assert r.exit_code == 2
    assert "row 2" in r.output and "beach1.png" in r.output and "does not exist" in r.output
    r = prep(str(tiny_data), "--class", "beach", "--skip-bad")
    assert r.exit_code == 0, r.output
    assert "skipped 2 bad rows: 2, 3" in r.output
    p = Prepared.load(in_tmp / "runs/prepare/beach")
    assert len(p.rows) == 22 and 2 not in set(p.rows["row"]) and 3 not in set(p.rows["row"])


def test_skip_bad_feature_rows(tiny_data, in_tmp):
    _edit_csv(tiny_data, lambda d: d.assign(mfcc_3=d["mfcc_3"].where(d.index != 0, np.nan)))
    r = prep(str(tiny_data), "--class", "beach", "--skip-bad")
    assert r.exit_code == 0, r.output
    assert "skipped 1 bad rows: 1" in r.output


def test_source_split_never_shares_a_folder(tiny_data, in_tmp):
    for seed in range(5):
        assert prep(str(tiny_data), "--class", "all", "--seed", str(seed), "--name", f"s{seed}").exit_code == 0
        rows = Prepared.load(in_tmp / f"runs/prepare/s{seed}").rows
        multi = rows[rows["CLASS2"] == "BEACH"].assign(side=lambda d: d["split"].replace({"val": "train"}))
        sides = multi.groupby("folder")["side"].nunique()
        assert (sides == 1).all()  # each BEACH folder on one side only (validation rows are training side)
        assert set(multi["split"]) == {"train", "val", "test"}
        single = rows[rows["CLASS2"] == "FOREST"].sort_values("row")
        test_rows = single.loc[single["split"] == "test", "row"].to_numpy()
        assert 0 < len(test_rows) < len(single)
        # the one-folder class is cut into contiguous blocks: test rows form few runs
        runs_of_test = 1 + int((np.diff(test_rows) > 1).sum())
        assert runs_of_test <= 2


def test_random_split_sizes_and_seed():
    frame = pd.DataFrame({"CLASS2": ["BEACH"] * 500, "folder": ["b"] * 500})
    a = split_rows(frame, SplitConfig(method="random", train_size=360, test_size=120, seed=1))
    b = split_rows(frame, SplitConfig(method="random", train_size=360, test_size=120, seed=1))
    c = split_rows(frame, SplitConfig(method="random", train_size=360, test_size=120, seed=2))
    assert (a == "train").sum() == 360 and (a == "test").sum() == 120 and (a == "val").sum() == 20
    assert (a == b).all() and not (a == c).all()
    # validation rows come from the rows the split left unused: train and test are those of no validation
    none = split_rows(frame, SplitConfig(method="random", train_size=360, test_size=120, seed=1, val_fraction=0))
    assert (none == "").sum() == 20 and ((a == "train") == (none == "train")).all() and ((a == "test") == (none == "test")).all()


def test_random_split_cli_and_bad_sizes(tiny_data, in_tmp):
    assert prep(str(tiny_data), "--class", "all", "--split", "random", "--train-size", "30", "--test-size", "10").exit_code == 0
    r = prep(str(tiny_data), "--class", "all", "--split", "random", "--train-size", "39", "--test-size", "10")
    assert r.exit_code == 2 and "exceeds" in r.output
    r = prep(str(tiny_data), "--train-size", "30")
    assert r.exit_code == 2 and "--split random" in r.output


def test_normalisation_uses_training_rows_only(tiny_data, in_tmp):
    assert prep(str(tiny_data), "--class", "all").exit_code == 0
    p = Prepared.load(in_tmp / "runs/prepare/beach-forest")
    train = p.features[p.indices("train")]
    np.testing.assert_allclose(p.norm.mean, train.mean(0), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(p.norm.std, train.std(0), rtol=1e-5)
    everything = p.features.mean(0)
    assert not np.allclose(p.norm.mean, everything, atol=1e-3)


def test_bad_image_size_option(tiny_data, in_tmp):
    r = runner.invoke(app, ["prepare", "--data", str(tiny_data), "--image-size", "100"])  # old spelling of DATA
    assert r.exit_code == 2 and "--image-size" in r.output


def test_images_of_other_size_and_mode_are_converted(tiny_data, in_tmp):
    Image.new("L", (50, 40), 200).save(tiny_data / "images/beach/beach0.png")
    assert prep(str(tiny_data), "--class", "beach").exit_code == 0
    p = Prepared.load(in_tmp / "runs/prepare/beach")
    assert p.images[0].shape == (32, 32, 3) and (p.images[0] == 200).all()


SPEAKERS = {d: ("OUTDOORS", ["george", "jackson", "lucas", "nicki"], 3) for d in ("ZERO", "ONE", "TWO")}


def test_folders_shared_across_classes_are_split_globally(tmp_path, in_tmp, make_tiny_dataset):
    root = tmp_path / "digits"
    root.mkdir()
    # one folder per speaker, shared by every digit class (file names made unique per class)
    for d, spec in SPEAKERS.items():
        make_tiny_dataset(root / d, layout={d: spec})
    frames = []
    for d in SPEAKERS:
        f = pd.read_csv(root / d / "dataset.csv")
        f["IMAGE"] = [f"{d}/{p}" for p in f["IMAGE"]]
        frames.append(f)
    pd.concat(frames).to_csv(root / "dataset.csv", index=False)
    frame = pd.concat(frames, ignore_index=True)[["IMAGE", "CLASS2"]]
    frame = frame.assign(folder=[p.split("/")[2] for p in frame["IMAGE"]])  # the speaker
    for seed in range(4):
        out = split_rows(frame, SplitConfig(seed=seed))
        by = pd.DataFrame({"folder": frame["folder"].to_numpy(), "split": out})
        assert (by.groupby("folder")["split"].nunique() == 1).all()  # a speaker is on one side only
        assert set(out) == {"train", "test"}
    r = prep(str(root), "--class", "all", "--test-folder", "lucas", "--name", "heldout")
    assert r.exit_code == 0, r.output
    rows = Prepared.load(in_tmp / "runs/prepare/heldout").rows
    assert set(rows.loc[rows["split"] == "test", "IMAGE"].str.split("/").str[2]) == {"lucas"}
    r = prep(str(root), "--class", "all", "--test-folder", "nobody")
    assert r.exit_code == 2 and "nobody" in r.output
