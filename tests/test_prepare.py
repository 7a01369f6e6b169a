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


def _shared_folder_dataset(root, layout: dict[str, list[tuple[str, int]]]):
    """dataset.csv + images in the scene schema; layout {CLASS2: [(folder, rows), ...]}, folders shared freely."""
    from a2i_cli.data.schema import FEATURE_COLUMNS

    rng, records = np.random.default_rng(0), []
    for cls, parts in layout.items():
        for folder, n in parts:
            (root / "images" / folder).mkdir(parents=True, exist_ok=True)
            for t in range(n):
                rel = f"images/{folder}/{cls.lower()}{t}.png"
                Image.new("RGB", (8, 8), (t * 9 % 256, 0, 0)).save(root / rel)
                records.append({"IMAGE": rel, **dict(zip(FEATURE_COLUMNS, rng.normal(0, 10, 104))),
                                "CLASS1": "X", "CLASS2": cls})
    pd.DataFrame(records).to_csv(root / "dataset.csv", index=False)
    return root


def test_one_shared_folder_plus_a_video_still_trains_every_class(tmp_path, in_tmp):
    """The reviewer's DS2: digits all in images/fsdd, plus a video class in its own folder. Holding out the
    shared folder would leave ZERO/ONE/TWO with no training rows; each one-folder class is cut into blocks."""
    ds = _shared_folder_dataset(tmp_path / "ds2", {"ZERO": [("fsdd", 18)], "ONE": [("fsdd", 18)],
                                                   "TWO": [("fsdd", 18)], "BEACH": [("clip", 30)]})
    for seed in range(4):
        r = prep(str(ds), "--class", "all", "--seed", str(seed), "--name", f"s{seed}")
        assert r.exit_code == 0, r.output
        rows = Prepared.load(in_tmp / f"runs/prepare/s{seed}").rows
        for cls, g in rows.groupby("CLASS2"):
            assert (g["split"] == "train").any() and (g["split"] == "test").any(), (seed, cls)
            test_rows = g.loc[g["split"] == "test", "row"].to_numpy()
            assert 1 + int((np.diff(test_rows) > 1).sum()) <= 2  # contiguous blocks, as for one folder
    r = prep(str(ds), "--class", "all", "--test-folder", "fsdd", "--name", "explicit")
    assert r.exit_code == 2 and "class ONE has all its rows in the test folders" in r.output
    assert "Traceback" not in r.output and not (in_tmp / "runs/prepare/explicit/meta.json").exists()


def test_shared_folders_every_class_gets_train_and_test_rows():
    """Speakers shared by digit classes, some digits from few speakers, a one-folder class in a speaker's
    folder and one of its own: whatever the layout, every class trains and one with 2+ rows is also tested."""
    rng = np.random.default_rng(7)
    for trial in range(60):
        n_folders = int(rng.integers(1, 6))
        records = []
        for c in range(int(rng.integers(1, 6))):
            for f in sorted(rng.choice(n_folders, int(rng.integers(1, n_folders + 1)), replace=False)):
                records += [(f"C{c}", f"spk{f}")] * int(rng.integers(1, 7))
        frame = pd.DataFrame(records, columns=["CLASS2", "folder"])
        if len(frame) < 2:
            continue
        out = split_rows(frame, SplitConfig(seed=trial, val_fraction=0))
        for cls, idx in frame.groupby("CLASS2").groups.items():
            sides = set(out[idx])
            assert "train" in sides, (trial, cls, frame.assign(s=out))
            if len(idx) >= 2:
                assert sides == {"train", "test"}, (trial, cls, frame.assign(s=out))
    # the digits' speakers are held out whole; the video class is cut into blocks
    digits = [(d, f"spk{s}") for d in ("ZERO", "ONE") for s in range(4) for _ in range(5)]
    frame = pd.DataFrame(digits + [("BEACH", "clip")] * 20, columns=["CLASS2", "folder"])
    out = split_rows(frame, SplitConfig(seed=0, val_fraction=0))
    by = frame.assign(split=out)
    assert (by[by["CLASS2"] != "BEACH"].groupby("folder")["split"].nunique() == 1).all()
    assert set(by.loc[by["CLASS2"] == "BEACH", "split"]) == {"train", "test"}


def test_summary_tells_held_out_folders_from_blocks(tiny_data, in_tmp):
    r = prep(str(tiny_data), "--class", "all")
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if x.startswith("split source"))
    assert "cut into blocks: images/forest" in line and "test folders: images/beach" in line


def test_all_with_a_named_class_is_refused_not_ignored(tiny_data, in_tmp):
    # `--class all --class nosuch` used to keep every class and drop the typo without a word
    r = prep(str(tiny_data), "--class", "all", "--class", "nosuch", "--name", "mixed")
    assert r.exit_code == 2 and "--class all keeps every class; drop --class 'nosuch'" in r.output, r.output
    assert not (in_tmp / "runs/prepare/mixed").exists()
