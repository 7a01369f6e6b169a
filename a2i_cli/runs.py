"""Run folders: every command writes under ./runs/<command>/<name> (exp, exp2, ... unless exist_ok)."""
from __future__ import annotations

import re
from pathlib import Path

from .errors import UserError

RUNS = Path("runs")


def new_run_dir(command: str, name: str = "exp", exist_ok: bool = False, root: Path = RUNS) -> Path:
    """runs/<command>/<name>, or <name>2, <name>3 ... when it exists and exist_ok is False."""
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name or ""):
        raise UserError(f"--name {name!r} must be letters, digits, '.', '_' or '-'")
    base = Path(root, command)
    path = base / name
    if path.exists() and not exist_ok:
        n = 2
        while (base / f"{name}{n}").exists():
            n += 1
        path = base / f"{name}{n}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def newest_run(command: str, marker: str, root: Path = RUNS) -> Path:
    """The newest runs/<command>/* folder holding `marker` (by the marker's modification time)."""
    found = sorted(Path(root, command).glob(f"*/{marker}"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise UserError(f"no {command} run found under {Path(root, command)}/*/{marker}; run `a2i {command}` first")
    return found[-1].parent
