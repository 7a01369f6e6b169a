"""Run folders: every command writes under ./runs/<command>/<name> (exp, exp2, ... unless exist_ok)."""
from __future__ import annotations

import re
from pathlib import Path

from .config import RUNS, check_name
from .errors import UserError


def safe_name(text: str) -> str:
    """A run name made from free text (class names): anything else than letters, digits, '.', '_', '-' becomes '_'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:100]
    return name or "run"


def new_run_dir(command: str, name: str = "exp", exist_ok: bool = False, root: Path = RUNS) -> Path:
    """runs/<command>/<name>, or <name>2, <name>3 ... when it exists and exist_ok is False.

    The folder is claimed with an atomic mkdir, so two runs started together never get the
    same new folder; with exist_ok the existing one is returned (its writer takes a lock)."""
    check_name(name)
    base = Path(root, command)
    for folder in (Path(root), base):
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{folder} is a file, not a folder of runs; move it away or run elsewhere")
    base.mkdir(parents=True, exist_ok=True)
    path = base / name
    if exist_ok:
        if path.exists() and not path.is_dir():
            raise UserError(f"{path} is a file, not a run folder; pick another --name")
        path.mkdir(exist_ok=True)
        return path
    n = 1
    sep = "_" if name[-1].isdigit() else ""  # exp -> exp2; run1 -> run1_2, never the ambiguous run12
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = base / f"{name}{sep}{n}"


def newest_run(command: str, marker: str, root: Path = RUNS) -> Path:
    """The newest runs/<command>/* folder holding `marker` (by the marker's modification time)."""
    found = sorted(Path(root, command).glob(f"*/{marker}"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise UserError(f"no {command} run found under {Path(root, command)}/*/{marker}; run `a2i {command}` first")
    return found[-1].parent


def newest_best(root: Path = RUNS) -> Path:
    """The newest runs/train/*/weights/best.pt (by modification time)."""
    found = sorted(Path(root, "train").glob("*/weights/best.pt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise UserError(
            f"no trained model found under {Path(root, 'train')}/*/weights/best.pt; "
            "run `a2i train` (or `a2i demo`) first, or pass --model CKPT"
        )
    return found[-1]


def checkpoint_in(folder: Path) -> str:
    """What to pass instead of a folder given as --model: a checkpoint that exists in or under it, else what
    a run folder holds. Only paths that exist are suggested."""
    folder = Path(folder)
    for inside in ("weights/best.pt", "weights/last.pt", "best.pt", "last.pt"):
        if (folder / inside).is_file():
            return f"pass the file, e.g. --model {folder / inside}"
    runs = sorted(folder.glob("*/weights/best.pt"), key=lambda p: p.stat().st_mtime)
    if runs:
        return f"it holds training runs: pass a checkpoint, e.g. --model {runs[-1]} (the newest)"
    return ("a training run folder (runs/train/<name>) holds weights/best.pt and weights/last.pt; "
            "pass one of those files")
