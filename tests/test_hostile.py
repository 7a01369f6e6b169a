"""Hostile input, part 1: nothing a2i loads executes code, paths stay in their roots, one writer per output.

Every test asserts the exit code, the one-line message, and that what was written before
is unchanged (and, for the security cases, that the planted code never ran).
"""
from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from a2i_cli.cli import app

runner = CliRunner()
ZEROS = ",".join(["0"] * 104)


class Evil:
    """A pickle that runs a shell command when it is loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def one_line_error(r, code: int = 2) -> str:
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.output
    return errors[0]


def trained(in_tmp: Path, prepared: Path, name: str = "exp", *more: str) -> Path:
    r = runner.invoke(app, ["train", str(prepared), "--epochs", "1", "--batch-size", "8", "--latent", "16",
                            "--no-classifier", "--name", name, *more])
    assert r.exit_code == 0, r.output
    return in_tmp / "runs/train" / name


# ----------------------------------------------------------------------------- code execution


def test_evil_checkpoint_never_runs_in_generate_export_or_resume(in_tmp, prepared):
    marker = in_tmp / "PWNED"
    torch.save({"model_config": {}, "state_dict": Evil(marker), "norm": {}}, in_tmp / "evil.pt")
    for args in (["generate", "--mfcc", ZEROS, "--model", "evil.pt", "--out", "x.png"],
                 ["export", "--model", "evil.pt", "--out", "x.pt2"],
                 ["batch-generate", "data/dataset.csv", "--model", "evil.pt", "--out", "b"]):
        line = one_line_error(runner.invoke(app, args))
        assert "evil.pt" in line and "refuses to load it" in line and "posix.system" in line
    run = trained(in_tmp, prepared)
    last = run / "weights/last.pt"
    torch.save({**torch.load(last, weights_only=True), "optimizer": Evil(marker)}, last)
    line = one_line_error(runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2"]))
    assert "refuses to load it" in line
    assert not marker.exists() and not (in_tmp / "x.png").exists() and not (in_tmp / "x.pt2").exists()
    assert not (in_tmp / "b").exists()


def test_evil_classifier_cache_is_not_loaded_but_replaced(in_tmp, prepared):
    marker = in_tmp / "PWNED"
    torch.save({"classes": ["BEACH", "FOREST"], "state_dict": Evil(marker)}, prepared / "classifier.pt")
    r = runner.invoke(app, ["train", str(prepared), "--epochs", "1", "--batch-size", "8", "--latent", "16"])
    assert r.exit_code == 0, r.output
    assert "not using" in r.output and "refuses to load it" in r.output
    assert not marker.exists()
    clean = torch.load(prepared / "classifier.pt", weights_only=True)  # a clean cache took its place
    assert clean["classes"] == ["BEACH", "FOREST"]


def test_evil_exported_program_never_runs(in_tmp, prepared):
    run = trained(in_tmp, prepared)
    assert runner.invoke(app, ["export", "--model", str(run / "weights/best.pt"), "--out", "good.pt2"]).exit_code == 0
    marker = in_tmp / "PWNED"
    evil_inputs = io.BytesIO()
    torch.save(Evil(marker), evil_inputs)
    payload = f"__import__('os').system('touch {marker}') + "
    with zipfile.ZipFile(in_tmp / "good.pt2") as src, zipfile.ZipFile(in_tmp / "evil.pt2", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("sample_inputs/model.pt"):  # torch.export.load unpickles this on fallback
                data = evil_inputs.getvalue()
            if item.filename.endswith("models/model.json"):  # and sympify()s (evaluates) these
                data = data.replace(b'"expr_str": "', b'"expr_str": "' + payload.encode(), 1)
                assert payload.encode() in data
            dst.writestr(item, data)
    r = runner.invoke(app, ["generate", "--mfcc", ZEROS, "--model", "evil.pt2", "--out", "x.png"])
    assert not marker.exists()  # a2i never hands the archive to torch.export.load
    assert r.exit_code == 0, r.output  # its weights and config are what a2i reads, and they are intact
    (in_tmp / "bad.pt2").write_bytes((in_tmp / "good.pt2").read_bytes().replace(b'"as_int": 104', b'"as_int": 105', 1))
    line = one_line_error(runner.invoke(app, ["generate", "--mfcc", ZEROS, "--model", "bad.pt2", "--out", "y.png"]))
    assert "bad.pt2" in line and not (in_tmp / "y.png").exists()


def test_corrupt_program_is_one_line_without_torch_log(tmp_path):
    (tmp_path / "bad.pt2").write_bytes(b"PK\x03\x04 not really a zip")
    proc = subprocess.run([sys.executable, "-m", "a2i_cli.cli", "generate", "--mfcc", ZEROS, "--model", "bad.pt2",
                           "--out", "x.png"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error: exported program bad.pt2"), proc.stderr


def test_checkpoint_asking_for_a_huge_model_is_refused(in_tmp, prepared):
    run = trained(in_tmp, prepared)
    blob = torch.load(run / "weights/best.pt", weights_only=True)
    blob["model_config"]["latent"] = 10**9
    torch.save(blob, in_tmp / "huge.pt")
    line = one_line_error(runner.invoke(app, ["generate", "--mfcc", ZEROS, "--model", "huge.pt", "--out", "x.png"]))
    assert "huge.pt" in line and "--latent" in line


# ----------------------------------------------------------------------------- paths from data files


def set_image(data: Path, row: int, value: str) -> None:
    df = pd.read_csv(data / "dataset.csv")
    df.loc[row - 1, "IMAGE"] = value
    df.to_csv(data / "dataset.csv", index=False)


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "passwd", "symlink"])
def test_prepare_keeps_image_paths_inside_the_dataset(tiny_data, in_tmp, kind):
    outside = in_tmp / "outside.png"
    from PIL import Image

    Image.new("RGB", (32, 32), (255, 0, 0)).save(outside)
    if kind == "symlink":
        (tiny_data / "images/beach/link.png").symlink_to(outside)
    value = {"dotdot": "../outside.png", "absolute": str(outside), "passwd": "../../../../../../../../etc/passwd",
             "symlink": "images/beach/link.png"}[kind]
    set_image(tiny_data, 3, value)
    line = one_line_error(runner.invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32"]))
    assert "row 3" in line and "--allow-outside-paths" in line
    assert "absolute" in line if kind == "absolute" else "leads outside" in line
    assert not (in_tmp / "runs/prepare/beach-forest/meta.json").exists()
    r = runner.invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32", "--skip-bad", "--name", "s"])
    assert r.exit_code == 0 and "skipped 1 bad rows: 3" in r.output
    if kind != "passwd":  # the user's explicit choice reads it
        r = runner.invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32", "--allow-outside-paths",
                                "--name", "a"])
        assert r.exit_code == 0, r.output
        images = np.load(in_tmp / "runs/prepare/a/images.npy")
        assert (images[2] == [255, 0, 0]).all()


def test_score_refuses_manifest_paths_outside_their_roots(tiny_data, in_tmp, ckpt):
    assert runner.invoke(app, ["batch-generate", str(tiny_data / "dataset.csv"), "--model", str(ckpt), "--out", "g"]).exit_code == 0
    m = pd.read_csv(in_tmp / "g/manifest.csv")
    m.loc[0, "IMAGE"] = "../../../../../../etc/passwd"
    m.loc[1, "path"] = "/etc/hostname"
    m.to_csv(in_tmp / "g/manifest.csv", index=False)
    r = runner.invoke(app, ["score", "g", str(tiny_data), "--out", "s"])
    assert r.exit_code == 1, r.output  # the other pairs are scored; these two are listed
    summary = pd.read_json(in_tmp / "s/summary.json", typ="series")
    reasons = " ".join(p["reason"] for p in summary["problems"])
    assert summary["pairs_failed"] == 2 and "manifest row 1" in reasons and "manifest row 2" in reasons
    assert summary["pairs_scored"] == len(m) - 2


def test_batch_output_folder_symlinked_out_is_refused(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 5)
    elsewhere = in_tmp / "elsewhere"
    elsewhere.mkdir()
    (in_tmp / "o/images").mkdir(parents=True)
    (in_tmp / "o/images/000000").symlink_to(elsewhere)
    r = runner.invoke(app, ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o"])
    assert r.exit_code == 2 and "already holds files a2i did not write" in r.output  # not an a2i output
    assert runner.invoke(app, ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o2"]).exit_code == 0
    shutil.rmtree(in_tmp / "o2/images/000000")  # an a2i output whose shard became a link: the images are redone
    (in_tmp / "o2/images/000000").symlink_to(elsewhere)
    r = runner.invoke(app, ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o2", "--backend", "local",
                            "--workers", "1"])
    assert r.exit_code == 2 and "o2/images/000000 is a link" in r.output
    assert not list(elsewhere.iterdir())
    (in_tmp / "o2/images/000000").unlink()
    shutil.rmtree(in_tmp / "o2/images")
    (in_tmp / "o2/images").symlink_to(elsewhere)  # the images folder itself
    r = runner.invoke(app, ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o2"])
    assert r.exit_code == 2 and "o2/images is a link" in r.output
    assert not list(elsewhere.iterdir())


# ----------------------------------------------------------------------------- one writer per output


def hold_lock(folder: Path) -> subprocess.Popen:
    """Another process holding FOLDER's lock (as a concurrent a2i run would)."""
    code = ("import sys, time; from a2i_cli.core.locks import output_lock\n"
            "with output_lock(sys.argv[1], 'test'):\n    print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize("command", ["batch-generate", "train", "extract", "prepare"])
def test_second_writer_stops_at_once_and_a_dead_holders_lock_is_taken_over(in_tmp, prepared, ckpt, make_csv, command):
    make_csv(in_tmp / "in.csv", 20)
    folder, args = {
        "batch-generate": (in_tmp / "o", ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o"]),
        "train": (in_tmp / "runs/train/x", ["train", str(prepared), "--epochs", "1", "--latent", "16", "--name", "x",
                                            "--exist-ok", "--no-classifier"]),
        "extract": (in_tmp / "ds", ["extract", "audio", "pairs.csv", "--out", "ds"]),
        "prepare": (in_tmp / "runs/prepare/p", ["prepare", "data", "--class", "all", "--image-size", "32", "--name", "p",
                                                "--exist-ok"]),
    }[command]
    (in_tmp / "pairs.csv").write_text("audio,image,CLASS1,CLASS2\ngone.wav,gone.png,x,y\n")  # one bad row
    folder.mkdir(parents=True, exist_ok=True)
    before = sorted(p.name for p in folder.iterdir())
    holder = hold_lock(folder)
    try:
        line = one_line_error(runner.invoke(app, args))
        assert f"in use by a2i (pid {holder.pid}" in line
        assert sorted(p.name for p in folder.iterdir() if p.name != ".a2i.lock") == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    r = runner.invoke(app, args)  # the dead holder's lock is taken over
    assert "in use" not in r.output and r.exit_code in (0, 1), r.output


def test_new_run_folders_are_never_shared(in_tmp):
    from concurrent.futures import ThreadPoolExecutor

    from a2i_cli.core.runs import new_run_dir

    with ThreadPoolExecutor(8) as pool:
        dirs = list(pool.map(lambda _: new_run_dir("train", "exp", root=in_tmp / "runs"), range(16)))
    assert len(set(dirs)) == 16


# ----------------------------------------------------------------------------- resume only what is the same


def test_batch_resume_refuses_a_rewritten_input_or_another_model(in_tmp, ckpt, make_csv, make_checkpoint):
    make_csv(in_tmp / "in.csv", 30)
    assert runner.invoke(app, ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o"]).exit_code == 0
    manifest = (in_tmp / "o/manifest.csv").read_bytes()
    make_csv(in_tmp / "in.csv", 30, seed=7)  # rewritten in place: same path, other rows
    line = one_line_error(runner.invoke(app, ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o"]))
    assert "in.csv has changed" in line and "new --out" in line
    make_csv(in_tmp / "in.csv", 30)
    make_checkpoint(ckpt, seed=5)  # retrained in place
    line = one_line_error(runner.invoke(app, ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o"]))
    assert "model" in line and "has changed" in line
    assert (in_tmp / "o/manifest.csv").read_bytes() == manifest


def test_resume_refuses_changed_prepared_data(in_tmp, prepared, tiny_data):
    run = trained(in_tmp, prepared, "r")
    r = runner.invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32", "--name", "p",
                            "--exist-ok", "--seed", "3"])
    assert r.exit_code == 0, r.output
    line = one_line_error(runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2"]))
    assert "changed since" in line and "a2i train" in line


def test_resume_refuses_prepared_arrays_edited_in_place(in_tmp, prepared):
    """meta.json unchanged, images.npy rewritten: the digest of the files themselves is checked."""
    run = trained(in_tmp, prepared, "r2")
    images = np.load(prepared / "images.npy")
    np.save(prepared / "images.npy", np.full_like(images, 255))
    line = one_line_error(runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2"]))
    assert "changed after `a2i prepare`" in line and "--exist-ok" in line


def test_classifier_cache_follows_the_split(in_tmp, prepared, tiny_data):
    from a2i_cli.data.prepared import Prepared
    from a2i_cli.model.classifier import load_or_train_classifier

    first = load_or_train_classifier(Prepared.load(prepared))
    old_cache = (prepared / "classifier.pt").read_bytes()
    r = runner.invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32", "--name", "p",
                            "--exist-ok", "--test-folder", "beach"])
    assert r.exit_code == 0, r.output
    assert not (prepared / "classifier.pt").exists()  # prepare removed the stale cache
    (prepared / "classifier.pt").write_bytes(old_cache)  # and one copied back is not trusted
    logs = []
    again = load_or_train_classifier(Prepared.load(prepared), log=logs.append)
    assert logs and "training the scene classifier" in logs[0]
    assert again.test_accuracy == again.test_accuracy and first is not again


# ----------------------------------------------------------------------------- no orphans


def test_killing_the_parent_leaves_no_worker_running(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 4000)
    proc = subprocess.Popen([sys.executable, "-m", "a2i_cli.cli", "batch-generate", "in.csv", "--out", "o", "--model",
                             str(ckpt), "--backend", "local", "--workers", "2", "--batch-size", "16"], cwd=in_tmp,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: set[int] = set()
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and len(children) < 2:
        children |= {int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                    text=True).stdout.split()}
        time.sleep(0.05)
    assert proc.poll() is None and len(children) >= 2, "the run ended before its workers could be seen"
    proc.send_signal(signal.SIGKILL)  # the parent alone, as an OOM killer or `kill -9 PID` would
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
        time.sleep(0.1)
    left = [c for c in children if Path(f"/proc/{c}").exists()
            and Path(f"/proc/{c}/stat").read_text().split()[2] != "Z"]
    assert not left, f"workers still running after their parent died: {left}"


# ----------------------------------------------------------------------------- found by a second hostile review


def test_a_planted_lock_link_is_never_written_through(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 5)
    (in_tmp / "victim.txt").write_text("IMPORTANT")
    (in_tmp / "o").mkdir()
    (in_tmp / "o/.a2i.lock").symlink_to(in_tmp / "victim.txt")
    line = one_line_error(runner.invoke(app, ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o"]))
    assert ".a2i.lock" in line
    assert (in_tmp / "victim.txt").read_text() == "IMPORTANT"


def test_score_takes_its_lock_before_the_work_and_waits_for_a_writer(in_tmp, tiny_data, ckpt):
    assert runner.invoke(app, ["batch-generate", str(tiny_data / "dataset.csv"), "--model", str(ckpt), "--out", "g"]).exit_code == 0
    (in_tmp / "s").mkdir()
    holder = hold_lock(in_tmp / "s")
    try:
        line = one_line_error(runner.invoke(app, ["score", "g", str(tiny_data), "--out", "s"]))
        assert "in use by a2i" in line and not (in_tmp / "s/scores.csv").exists()
    finally:
        holder.kill()
        holder.wait()
    holder = hold_lock(in_tmp / "g")  # GENERATED still being written
    try:
        line = one_line_error(runner.invoke(app, ["score", "g", str(tiny_data), "--out", "s2"]))
        assert "being written" in line
    finally:
        holder.kill()
        holder.wait()


def test_input_columns_named_like_the_manifest_are_refused(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 3)
    frame = pd.read_csv(in_tmp / "in.csv")
    frame = pd.concat([frame, pd.DataFrame({"path": ["images/000000/000000002.png"] * len(frame)})], axis=1)
    frame.to_csv(in_tmp / "p.csv", index=False)
    line = one_line_error(runner.invoke(app, ["batch-generate", "p.csv", "--model", str(ckpt), "--out", "o"]))
    assert "'path'" in line and "rename it" in line and not (in_tmp / "o").exists()


def test_an_empty_image_file_is_made_again(in_tmp, ckpt, make_csv):
    make_csv(in_tmp / "in.csv", 20)
    args = ["batch-generate", "in.csv", "--model", str(ckpt), "--out", "o"]
    assert runner.invoke(app, args).exit_code == 0
    victim = in_tmp / "o/images/000000/000000007.png"
    victim.write_bytes(b"")
    r = runner.invoke(app, args)
    assert r.exit_code == 0 and "1 images written" in r.output and victim.stat().st_size > 0


def test_a_fifo_among_the_images_is_a_bad_row_not_a_hang(tiny_data, in_tmp):
    image = tiny_data / "images/beach/beach0.png"
    image.unlink()
    os.mkfifo(image)
    r = runner.invoke(app, ["prepare", str(tiny_data), "--class", "all", "--image-size", "32", "--skip-bad"])
    assert r.exit_code == 0 and "skipped 1 bad rows" in r.output


def test_sixteen_bit_pgm_is_scaled_not_copied(tmp_path):
    from a2i_cli.core.images import read_rgb

    for value, expect in ((200, 1), (256, 1), (65535, 255)):
        header = b"P5 4 4 65535\n"
        (tmp_path / "x.pgm").write_bytes(header + np.full(16, value, ">u2").tobytes())
        assert (read_rgb(tmp_path / "x.pgm") == expect).all(), value


def test_score_by_name_refuses_links_out_of_its_folders(in_tmp, tiny_data):
    from PIL import Image

    (in_tmp / "g").mkdir()
    (in_tmp / "t").mkdir()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(in_tmp / "g/a.png")
    Image.new("RGB", (16, 16), (1, 2, 3)).save(in_tmp / "g/b.png")
    Image.new("RGB", (16, 16), (1, 2, 4)).save(in_tmp / "t/a.png")
    Image.new("RGB", (16, 16), (9, 9, 9)).save(in_tmp / "outside.png")
    (in_tmp / "t/b.png").symlink_to(in_tmp / "outside.png")
    r = runner.invoke(app, ["score", "g", "t", "--out", "s"])
    assert r.exit_code == 1 and "leads outside" in r.output
    assert pd.read_csv(in_tmp / "s/scores.csv")["name"].tolist() == ["a"]


def test_paths_resolved_with_the_folder_cache_equal_resolve(tmp_path):
    from a2i_cli.core.paths import PathOutside, inside

    root = tmp_path / "root"
    (root / "images/a").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "images/a/x.png").write_bytes(b"x")
    (root / "images/link.png").symlink_to(tmp_path / "outside/y.png")  # a file link out
    (root / "images/out").symlink_to(tmp_path / "outside")  # a folder link out
    (root / "images/in").symlink_to(root / "images/a")  # a folder link that stays inside
    folders: dict = {}
    for rel in ("images/a/x.png", "images/a/missing.png", "images/in/x.png", "images/./a/x.png", "images/a/../a/x.png",
                "images//a/x.png", "images/link.png", "images/out/y.png", "images/a/../../../outside/y.png"):
        try:
            want = inside(root, rel)
        except PathOutside as e:
            want = type(e)
        try:
            got = inside(root, rel, folders=folders)
        except PathOutside as e:
            got = type(e)
        assert got == want, rel
    assert inside(root, "images/in/x.png", folders=folders) == (root / "images/a/x.png").resolve()
