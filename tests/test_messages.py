"""Messages a reviewer found wrong or misleading: each names the file, row or option at fault and what to do."""
from __future__ import annotations

import json
import os
import wave
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from a2i_cli.cli import app

runner = CliRunner()


def cli(*args: str):
    r = runner.invoke(app, [*args])
    assert "Traceback" not in r.output, r.output
    return r


def write_wav(path: Path, seconds: float = 0.5, sr: int = 8000) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    pcm = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return path


def pair_files(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_wav(root / "a.wav")
    Image.fromarray(np.full((20, 20, 3), 120, np.uint8)).save(root / "a.png")
    return root


# ----------------------------------------------------------------------------- extract audio / videos


def test_empty_pairs_csv_names_the_pairs_columns(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    r = cli("extract", "audio", str(empty), "--out", str(tmp_path / "ds"))
    assert r.exit_code == 2, r.output
    assert "empty.csv is empty" in r.output and "audio,image,CLASS1,CLASS2" in r.output
    assert "mfcc_1" not in r.output


def test_latin1_pairs_csv_is_reported_as_not_utf8(tmp_path):
    root = pair_files(tmp_path / "in")
    name = os.fsdecode(b"caf\xe9.wav")  # a Latin-1 file name on disk: the file exists
    write_wav(root / name)
    (root / "pairs.csv").write_bytes(b"audio,image,CLASS1,CLASS2\ncaf\xe9.wav,a.png,x,cafe\na.wav,a.png,x,plain\n")
    r = cli("extract", "audio", str(root / "pairs.csv"), "--out", str(tmp_path / "ds"), "--image-size", "16")
    assert r.exit_code == 1, r.output
    out = " ".join(r.output.split())
    assert "pairs.csv row 1 (line 2)" in out and "not UTF-8" in out and "save pairs.csv as UTF-8" in out
    assert "does not exist" not in out
    assert "1 rows added" in out  # the other row goes on


def test_bad_image_is_reported_for_what_it_is_not_as_a_repeat(tmp_path):
    root = pair_files(tmp_path / "in")
    (root / "folder").mkdir()
    write_wav(root / "x.wav")
    rows = ["audio,image,CLASS1,CLASS2", "a.wav,a.png,x,one", "a.wav,folder,x,two", "a.wav,x.wav,x,three",
            "a.wav,a.png,x,four"]
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    r = cli("extract", "audio", str(root / "pairs.csv"), "--out", str(tmp_path / "ds"), "--image-size", "16")
    assert r.exit_code == 1, r.output
    lines = {n: " ".join(line.split()) for n in (2, 3, 4)
             for line in r.output.replace("\n ", " ").splitlines() if f"row {n} (line" in line}
    assert "folder is a directory" in lines[2] and "repeats" not in lines[2]
    assert "x.wav is not a picture Pillow can read" in lines[3] and "repeats" not in lines[3]
    assert "repeats row 1" in lines[4] and "own IMAGE" in lines[4]  # a true repeat still says so
    assert "1 rows added" in " ".join(r.output.split())


def test_extract_videos_recipe_mismatch_gives_advice_it_can_take(tmp_path):
    root = pair_files(tmp_path / "in")
    (root / "pairs.csv").write_text("audio,image,CLASS1,CLASS2\na.wav,a.png,x,one\n")
    out = tmp_path / "ds"
    assert cli("extract", "audio", str(root / "pairs.csv"), "--out", str(out), "--image-size", "16").exit_code == 0
    assert json.loads((out / "dataset.json").read_text())["feature_recipe"]["placement"] == "sound"
    (tmp_path / "clip.webm").write_bytes(b"not read: the recipe is checked first")
    r = cli("extract", "videos", str(tmp_path / "clip.webm"), "--class", "beach", "--out", str(out), "--image-size", "16")
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and "another feature recipe" in text and "new --out folder" in text, r.output
    assert "--window" not in text  # extract videos has no such option
    r = cli("extract", "audio", str(root / "pairs.csv"), "--out", str(out), "--image-size", "16", "--window", "second")
    assert r.exit_code == 2 and "--window sound" in " ".join(r.output.split())  # where it can be taken, it is given


# ----------------------------------------------------------------------------- train: results.png, --tensorboard


def test_results_png_says_which_loss_each_curve_is(monkeypatch):
    from a2i_cli.model import run_log

    drawn = {}
    monkeypatch.setattr(run_log, "line_panel", lambda title, epochs, series: drawn.setdefault(title, list(series))
                        and Image.new("RGB", (8, 8)))
    history = [{"epoch": e, "train_loss": 0.3, "val_loss": 0.31, "test_loss": 0.05} for e in (1, 2)]
    run_log.curves(history, "mse+ssim")
    title = next(iter(drawn))
    assert "mse+ssim" in title and "MSE" in title and "per-pixel MSE loss" not in title
    assert drawn[title] == ["train (mse+ssim)", "validation (mse+ssim)", "test (mse)"]


def test_tick_labels_are_whole_numbers_not_cut_short():
    from a2i_cli.eval.plots import line_panel, tick_labels

    for lo, hi in ((15470.3, 15490.8), (1547.2, 1551.0), (0.0123, 0.0456), (-0.5, 0.5), (3e9, 4e9)):
        ticks = tick_labels(lo, hi)
        step = (hi - lo) / 4
        for y, text in ticks:
            assert len(text) <= 9 and not text.endswith(("e+", "e-", ".")), (lo, hi, text)
            assert abs(float(text) - y) <= max(step / 4, abs(y) * 0.01), (lo, hi, text)
    assert [t for _, t in tick_labels(15470, 15490)] == ["15470", "15475", "15480", "15485", "15490"]
    line_panel("MSE", [1, 2], {"test": [15470.0, 15490.0]})  # draws with room for the widest label


# ----------------------------------------------------------------------------- --model given a folder


def test_model_folder_suggests_only_a_checkpoint_that_exists(in_tmp, make_checkpoint, make_csv):
    (in_tmp / "runs/train/exp/weights").mkdir(parents=True)
    make_checkpoint(in_tmp / "runs/train/exp/weights/best.pt")
    (in_tmp / "empty").mkdir()
    make_csv(in_tmp / "in.csv", 2)
    mfcc = ",".join(["0"] * 104)
    for args in (["generate", "--mfcc", mfcc, "--out", "x.png"], ["batch-generate", "in.csv", "--out", "o"]):
        r = cli(*args, "--model", "runs/train")
        text = " ".join(r.output.split())
        assert r.exit_code == 2 and "is a directory" in text, r.output
        assert "runs/train/exp/weights/best.pt" in text and "runs/train/weights/best.pt" not in text, text
        r = cli(*args, "--model", "runs/train/exp")
        assert "--model runs/train/exp/weights/best.pt" in " ".join(r.output.split()), r.output
        r = cli(*args, "--model", "empty")
        text = " ".join(r.output.split())
        assert r.exit_code == 2 and "empty/weights" not in text and "holds weights/best.pt and weights/last.pt" in text


# ----------------------------------------------------------------------------- score


def test_score_says_how_many_problems_it_did_not_print(in_tmp):
    (in_tmp / "g").mkdir()
    (in_tmp / "t").mkdir()
    for i in range(7):
        size = 32 if i == 0 else 4  # six pairs too small to score
        Image.new("RGB", (size, size), (50, 60, 70)).save(in_tmp / "g" / f"p{i}.png")
        Image.new("RGB", (size, size), (50, 60, 75)).save(in_tmp / "t" / f"p{i}.png")
    r = cli("score", "g", "t", "--out", "s")
    text = " ".join(r.output.split())
    assert r.exit_code == 1 and text.count("not scored:") == 3, r.output
    assert "... and 3 more (see s/summary.json)" in text, r.output
    assert len(json.loads((in_tmp / "s/summary.json").read_text())["problems"]) == 6


def test_the_a2i_process_exits_with_its_code_and_all_of_its_output(tmp_path):
    """main() skips Python's slow finalisation (os._exit after the atexit functions): exit codes and output
    must be what sys.exit would give."""
    import subprocess
    import sys

    def a2i(*args):
        return subprocess.run([sys.executable, "-m", "a2i_cli.cli", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)

    r = a2i("--version")
    assert r.returncode == 0 and r.stdout.startswith("a2i ")
    r = a2i("score", str(tmp_path / "missing"), str(tmp_path))
    assert r.returncode == 2 and r.stderr.count("error:") == 1 and "does not exist" in r.stderr
    r = a2i("no-such-command")
    assert r.returncode == 2 and "No such command" in r.stderr
    helped = a2i("score", "--help")
    assert helped.returncode == 0 and "Score generated images" in helped.stdout and helped.stdout.rstrip().endswith("─╯")


def test_a_run_started_with_stderr_closed_still_works_and_says_its_result(tmp_path, make_checkpoint, make_csv):
    """`a2i ... 2>&-`: nothing to print errors to, but the job runs, stdout has its summary and the exit code
    is the job's (exit_now flushed a missing stderr and native_log would have made its log fd 2)."""
    import subprocess
    import sys

    make_checkpoint(tmp_path / "m.pt")
    make_csv(tmp_path / "in.csv", 4)
    cmd = [sys.executable, "-m", "a2i_cli.cli", "batch-generate", "in.csv", "--out", "o", "--model", "m.pt",
           "--engine", "eager"]
    r = subprocess.run(cmd, cwd=tmp_path, stdout=subprocess.PIPE, text=True, timeout=120,
                       preexec_fn=lambda: os.close(2))
    assert r.returncode == 0 and "4 images written" in r.stdout, r.stdout
    r = subprocess.run([*cmd[:4], "missing.csv", *cmd[5:]], cwd=tmp_path, stdout=subprocess.PIPE, text=True,
                       timeout=120, preexec_fn=lambda: os.close(2))
    assert r.returncode == 2


def test_a_batch_of_one_is_refused_before_any_work(prepared, in_tmp):
    # BatchNorm needs 2+ rows per batch: a batch size of 1 used to skip every batch and train nothing, silently
    for args in (["train", str(prepared), "--batch-size", "1", "--name", "b1"], ["demo", "--batch-size", "1", "--name", "b1"]):
        r = cli(*args)
        assert r.exit_code == 2 and "--batch-size must be between 2 and 65536, got 1" in r.output, r.output
    assert not (in_tmp / "runs/train/b1").exists() and not (in_tmp / "runs/demo").exists()


def test_an_option_without_its_value_names_the_command_it_belongs_to():
    # click reports a missing value without the subcommand's context: the line said `a2i:` and pointed at `a2i --help`
    for command, option in (("train", "--ssim-weight"), ("batch-generate", "--workers"), ("score", "--out")):
        r = cli(command, option)
        assert r.exit_code == 2, r.output
        assert f"a2i {command}: Option '{option}' requires an argument" in r.output, r.output
        assert f"see `a2i {command} --help`" in r.output, r.output
    r = cli("--bogus", "train")  # an unknown option before the command is the root's
    assert r.exit_code == 2 and "a2i: No such option: --bogus" in r.output and "see `a2i --help`" in r.output, r.output


def test_generate_out_without_png_says_how_to_name_it(in_tmp):
    r = cli("generate", "--mfcc", ",".join(["0"] * 104), "--out", "g")
    assert r.exit_code == 2, r.output
    assert "--out g must be a .png file to write, not 'g'; end it in .png (e.g. --out g.png)" in r.output, r.output
