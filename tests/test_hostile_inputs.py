"""Hostile input, part 2: odd files and values get one clear line, media are read right, bad rows are only bad rows."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app
from a2i_cli.core.images import read_rgb

runner = CliRunner()


def one_line_error(r, code: int = 2) -> str:
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.output
    return errors[0]


def prep(data, *args):
    return runner.invoke(app, ["prepare", str(data), "--class", "all", "--image-size", "32", *args])


# ----------------------------------------------------------------------------- values and options


def test_negative_seeds_are_refused_before_anything_is_written(tiny_data, in_tmp):
    assert "--seed" in one_line_error(prep(tiny_data, "--seed", "-1"))
    line = one_line_error(runner.invoke(app, ["demo-data", "--out", "dd", "--seed", "-1"]))
    assert "--seed" in line and not (in_tmp / "dd").exists()
    assert not (in_tmp / "runs").exists()


def test_run_names_cannot_leave_their_folder(tiny_data, in_tmp):
    for name in ("..", ".", "/tmp/x", "a/b", "-x"):
        line = one_line_error(prep(tiny_data, "--name", name, "--exist-ok"))
        assert "--name" in line
    assert not (in_tmp / "runs/prepare").exists() or not any((in_tmp / "runs/prepare").iterdir())
    assert not (in_tmp / "runs/meta.json").exists() and not (in_tmp / "runs/images.npy").exists()


def test_bad_choices_are_one_line_listing_the_choices(in_tmp):
    for args, option in ((["train", "--arch", "unet"], "--arch"), (["generate", "--engine", "tpu"], "--engine"),
                         (["score", "--backend", "spark"], "--backend"), (["prepare", "--split", "x"], "--split")):
        line = one_line_error(runner.invoke(app, args))
        assert option in line and "is not one of" in line


def test_resume_with_prepared_folder_is_refused(in_tmp, prepared):
    line = one_line_error(runner.invoke(app, ["train", str(prepared), "--resume", "runs/train/exp"]))
    assert "--resume" in line and "PREPARED" in line


# ----------------------------------------------------------------------------- files of the wrong kind


def test_directories_and_files_swapped_are_named_as_such(tiny_data, in_tmp, ckpt):
    (in_tmp / "adir.csv").mkdir()
    (in_tmp / "afile").write_text("x")
    cases = [
        (["generate", "--mfcc", ",".join(["0"] * 104), "--model", str(in_tmp), "--out", "x.png"], "is a directory"),
        (["batch-generate", "adir.csv", "--model", str(ckpt), "--out", "o"], "is a directory; expected a CSV file"),
        (["prepare", "afile"], "is a file"),
        (["train", "afile"], "is a file"),
        (["score", "afile", str(tiny_data)], "is a file"),
        (["extract", "audio", "adir.csv", "--out", "ds"], "is a directory"),
        (["batch-generate", str(tiny_data / "dataset.csv"), "--model", str(ckpt), "--out", "afile"], "is a file"),
    ]
    for args, expect in cases:
        assert expect in one_line_error(runner.invoke(app, args)), args
    assert not (in_tmp / "o").exists() and not (in_tmp / "ds").exists()


def test_damaged_prepared_folders_are_one_line(in_tmp, prepared):
    images = prepared / "images.npy"
    images.write_bytes(images.read_bytes()[:-1000])  # truncated
    assert "prepare it again" in one_line_error(runner.invoke(app, ["train", str(prepared)]))
    (prepared / "meta.json").write_text("{ broken")
    assert "damaged" in one_line_error(runner.invoke(app, ["train", str(prepared)]))
    assert not (in_tmp / "runs/train").exists() or not any((in_tmp / "runs/train").glob("*/weights"))


def test_corrupt_and_foreign_checkpoints(in_tmp):
    (in_tmp / "junk.pt").write_bytes(b"\x00" * 100)
    assert "not a torch file" in one_line_error(runner.invoke(app, ["export", "--model", "junk.pt"]))
    (in_tmp / "empty.pt").write_bytes(b"")
    assert "empty.pt is empty" in one_line_error(runner.invoke(app, ["export", "--model", "empty.pt"]))
    import torch

    torch.save({"hello": 1}, in_tmp / "other.pt")
    assert "not an a2i checkpoint" in one_line_error(runner.invoke(app, ["export", "--model", "other.pt"]))


# ----------------------------------------------------------------------------- CSV dialects


def test_semicolons_utf16_gzip_and_duplicate_headers(tiny_data, in_tmp, ckpt):
    frame = pd.read_csv(tiny_data / "dataset.csv")
    frame.to_csv(tiny_data / "dataset.csv", sep=";", index=False)
    line = one_line_error(prep(tiny_data))
    assert "separated by semicolons" in line and "save it with commas" in line
    frame.to_csv(tiny_data / "dataset.csv", index=False, encoding="utf-16")
    assert prep(tiny_data, "--name", "u16").exit_code == 0  # UTF-16 with a BOM is read
    (tiny_data / "dataset.csv").unlink()
    with gzip.open(tiny_data / "dataset.csv.gz", "wt") as f:
        frame.to_csv(f, index=False)
    assert prep(tiny_data, "--name", "gz").exit_code == 0  # dataset.csv.gz is read
    r = runner.invoke(app, ["batch-generate", str(tiny_data / "dataset.csv.gz"), "--model", str(ckpt), "--out", "o"])
    assert r.exit_code == 0 and len(pd.read_csv(in_tmp / "o/manifest.csv")) == len(frame)
    header = ",".join(["IMAGE", *(f"mfcc_{i}" for i in range(1, 105)), "mfcc_5", "CLASS1", "CLASS2"])
    (in_tmp / "dup").mkdir()
    (in_tmp / "dup/dataset.csv").write_text(header + "\n")
    line = one_line_error(prep(in_tmp / "dup"))
    assert "'mfcc_5' appears more than once" in line and "mfcc_5.1" not in line


def test_bytes_that_are_not_utf8_make_one_bad_row(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 5)
    lines = (in_tmp / "in.csv").read_bytes().split(b"\n")
    fields = lines[2].split(b",")
    fields[1] = b"1.5\xe9"  # data row 2, mfcc_1: a Latin-1 byte
    lines[2] = b",".join(fields)
    (in_tmp / "in.csv").write_bytes(b"\n".join(lines))
    r = runner.invoke(app, ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o"])
    assert r.exit_code == 1 and "row 2: mfcc_1 is" in r.output and "not a number" in r.output
    assert pd.read_csv(in_tmp / "o/manifest.csv")["row"].tolist() == [1, 3, 4, 5]


def test_windows_separators_in_image_paths(tiny_data, in_tmp):
    frame = pd.read_csv(tiny_data / "dataset.csv")
    frame["IMAGE"] = frame["IMAGE"].str.replace("/", "\\")
    frame.to_csv(tiny_data / "dataset.csv", index=False)
    r = prep(tiny_data)
    assert r.exit_code == 0, r.output
    rows = pd.read_csv(in_tmp / "runs/prepare/beach-forest/rows.csv")
    assert set(rows["folder"]) == {"images/beach", "images/beach2", "images/beach3", "images/forest"}


def test_a_garbage_line_is_one_bad_row(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 40)
    lines = (in_tmp / "in.csv").read_text().splitlines(keepends=True)
    lines.insert(11, "x" * (10 << 20) + "\n")  # a 10 MB line as data row 11
    (in_tmp / "in.csv").write_text("".join(lines))
    r = runner.invoke(app, ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o"])
    assert r.exit_code == 1, r.output
    assert "1 of 41 rows failed" in r.output
    assert len(pd.read_csv(in_tmp / "o/manifest.csv")) == 40
    assert pd.read_csv(in_tmp / "o/errors.csv")["row"].tolist() == [11]



def test_a_stray_quote_or_undecodable_line_spoils_its_own_row_only(in_tmp, ckpt, make_csv):
    """An unterminated quote must not swallow the rows after it; bytes pyarrow cannot decode print no traceback."""
    import subprocess
    import sys

    make_csv(in_tmp / "in.csv", 12)
    lines = (in_tmp / "in.csv").read_bytes().splitlines(keepends=True)
    lines.insert(3, b'"unterminated quote,1,2\n')  # data row 3
    lines.insert(8, b"\xff\xfe\n")  # data row 8
    (in_tmp / "in.csv").write_bytes(b"".join(lines))
    r = subprocess.run([sys.executable, "-m", "a2i_cli.cli", "batch-generate", "in.csv", "--model", str(ckpt),
                        "--out", "o"], capture_output=True, text=True, cwd=in_tmp)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
    assert "2 of 14 rows failed" in r.stdout + r.stderr
    errors = pd.read_csv(in_tmp / "o/errors.csv")
    assert errors["row"].tolist() == [3, 8]
    assert "never closed" in errors["reason"][0]
    assert len(pd.read_csv(in_tmp / "o/manifest.csv")) == 12


def test_outputs_that_cannot_be_folders_or_are_not_ours_are_refused(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 5)
    (in_tmp / "afile.txt").write_text("x")
    (in_tmp / "dangling").symlink_to(in_tmp / "nowhere")
    (in_tmp / "theirs").mkdir()
    (in_tmp / "theirs/errors.csv").write_text("keep")
    run = ["batch-generate", "in.csv", "--model", str(ckpt), "--out"]
    assert "part of this path is a file" in one_line_error(runner.invoke(app, [*run, "afile.txt/sub"]))
    assert "--out is empty" in one_line_error(runner.invoke(app, [*run, ""]))
    (in_tmp / "header.csv").write_text((in_tmp / "in.csv").read_text().splitlines()[0] + "\n")
    line = one_line_error(runner.invoke(app, ["batch-generate", "header.csv", "--model", str(ckpt), "--out", "h"]))
    assert "no data rows" in line and not (in_tmp / "h").exists()
    assert "which does not exist" in one_line_error(runner.invoke(app, [*run, "dangling"]))
    assert not (in_tmp / "nowhere").exists()
    assert "did not write" in one_line_error(runner.invoke(app, [*run, "theirs"]))
    assert [p.name for p in (in_tmp / "theirs").iterdir()] == ["errors.csv"]
    assert (in_tmp / "theirs/errors.csv").read_text() == "keep"


def test_a_pipe_given_as_audio_is_refused_not_waited_on(in_tmp, ckpt):
    import os
    import subprocess
    import sys

    pytest.importorskip("av")
    os.mkfifo(in_tmp / "f.wav")
    r = subprocess.run([sys.executable, "-m", "a2i_cli.cli", "generate", "f.wav", "--model", str(ckpt), "--out", "o/"],
                       capture_output=True, text=True, cwd=in_tmp, timeout=120)
    assert r.returncode == 2 and "not a regular file" in r.stderr, r.stderr


def test_a_model_that_is_a_pipe_or_a_device_is_refused_not_read(in_tmp, make_csv):
    import os

    make_csv(in_tmp / "in.csv", 3)
    os.mkfifo(in_tmp / "m.pt")
    for model in ("m.pt", "/dev/zero"):
        for cmd in (["generate", "in.csv", "--row", "1", "--out", "g.png"], ["batch-generate", "in.csv", "--out", "o"]):
            line = one_line_error(runner.invoke(app, [*cmd, "--model", model]))
            assert "not a regular file" in line and model in line


def test_a_long_field_copied_to_the_manifest_does_not_block_the_resume(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 6)
    lines = (in_tmp / "in.csv").read_text().splitlines()
    lines[2] = "x" * 300_000 + "," + lines[2].split(",", 1)[1]  # row 2's id: over the csv module's 128 KB
    (in_tmp / "in.csv").write_text("\n".join(lines) + "\n")
    run = ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o"]
    assert runner.invoke(app, run).exit_code == 0
    again = runner.invoke(app, run)
    assert again.exit_code == 0 and "6 rows already done" in again.output, again.output

# ----------------------------------------------------------------------------- media read right


def image_of_mode(path: Path, mode: str) -> np.ndarray:
    """Write an image of `mode` whose true RGB content is known; return that (H, W, 3) uint8."""
    h, w = 8, 8
    if mode == "I;16":
        a = np.full((h, w), 32896, np.uint16)  # 50% grey in 16 bits
        Image.fromarray(a).save(path)  # uint16: mode I;16
        return np.full((h, w, 3), 128, np.uint8)
    if mode == "P":
        im = Image.new("P", (w, h))
        im.putpalette([10, 20, 30] * 256)
        im.save(path)
        return np.tile(np.array([10, 20, 30], np.uint8), (h, w, 1))
    if mode == "CMYK":
        Image.new("CMYK", (w, h), (0, 255, 255, 0)).save(path, format="JPEG", quality=100)
        return np.tile(np.array([255, 0, 0], np.uint8), (h, w, 1))
    if mode == "RGBA":
        a = np.zeros((h, w, 4), np.uint8)
        a[..., 1] = 200  # green where opaque
        a[: h // 2, :, 3] = 255
        Image.fromarray(a, "RGBA").save(path)
        expect = np.full((h, w, 3), 255, np.uint8)  # transparent: the white background
        expect[: h // 2] = [0, 200, 0]
        return expect
    raise ValueError(mode)


@pytest.mark.parametrize("mode", ["I;16", "P", "CMYK", "RGBA"])
def test_every_image_mode_maps_to_rgb(tmp_path, mode):
    path = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    expect = image_of_mode(path, mode)
    got = read_rgb(path)
    assert got.dtype == np.uint8 and got.shape == expect.shape
    assert np.abs(got.astype(int) - expect).max() <= (3 if mode == "CMYK" else 0)


def test_sixteen_bit_images_prepare_to_their_grey_not_white(tiny_data, in_tmp):
    Image.fromarray(np.full((32, 32), 32896, np.uint16)).save(tiny_data / "images/beach/beach0.png")
    assert prep(tiny_data).exit_code == 0
    rows = pd.read_csv(in_tmp / "runs/prepare/beach-forest/rows.csv")
    images = np.load(in_tmp / "runs/prepare/beach-forest/images.npy")
    i = int(np.flatnonzero(rows["IMAGE"] == "images/beach/beach0.png")[0])
    assert (images[i] == 128).all()


def float_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    """A mono 32-bit float WAV written by hand (so it may hold NaN)."""
    data = samples.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
                     + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)
    return path


def test_audio_with_nan_samples_is_refused_per_file(in_tmp, ckpt):
    pytest.importorskip("av")
    good = np.sin(np.linspace(0, 400, 16000)).astype(np.float32) * 0.3
    bad = good.copy()
    bad[100:200] = np.nan
    float_wav(in_tmp / "good.wav", good)
    float_wav(in_tmp / "bad.wav", bad)
    Image.new("RGB", (16, 16), (9, 9, 9)).save(in_tmp / "pic.png")
    (in_tmp / "pairs.csv").write_text("audio,image,CLASS1,CLASS2\ngood.wav,pic.png,A,X\nbad.wav,pic.png,A,Y\n")
    r = runner.invoke(app, ["extract", "audio", "pairs.csv", "--out", "ds", "--image-size", "16"])
    assert r.exit_code == 1 and "row 2" in r.output and "NaN or infinite samples" in r.output
    assert len(pd.read_csv(in_tmp / "ds/dataset.csv")) == 1
    line = one_line_error(runner.invoke(app, ["generate", "bad.wav", "--model", str(ckpt), "--out", "g"]))
    assert "bad.wav" in line and "NaN" in line and not (in_tmp / "g").exists()


def test_images_too_small_to_score_are_listed_not_fatal(in_tmp):
    (in_tmp / "g").mkdir()
    (in_tmp / "t").mkdir()
    for name, size in (("a", 32), ("b", 4)):
        Image.new("RGB", (size, size), (50, 60, 70)).save(in_tmp / "g" / f"{name}.png")
        Image.new("RGB", (size, size), (50, 60, 75)).save(in_tmp / "t" / f"{name}.png")
    r = runner.invoke(app, ["score", "g", "t", "--out", "s"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "cannot be scored" in r.output and len(pd.read_csv(in_tmp / "s/scores.csv")) == 1
