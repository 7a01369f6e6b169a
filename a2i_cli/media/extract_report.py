"""What extract reports: bad inputs with their reasons, counts of rows added and already there."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import UserError

PNG_LEVEL = 3  # zlib level for extracted pictures: half the time of level 6 for files ~5-10 % larger


@dataclass
class Bad:
    what: str  # a file path, or "pairs.csv row N (line N+1)"
    reason: str
    order: int = 0  # pairs row, to list bad rows in file order

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


@dataclass
class ExtractReport:
    out: Path
    added: int = 0
    already: int = 0  # rows whose IMAGE was already in the dataset
    done: int = 0  # files or pairs rows that went through
    bad: list[Bad] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.bad


def workers() -> int:
    """Threads for decoding and PNG encoding (they release the GIL)."""
    return max(1, min(4, os.cpu_count() or 1))


def clean_class(name: str | None, option: str, upper: bool) -> str:
    name = (name or "").strip()
    if not name or "," in name or "\n" in name:
        raise UserError(f"{option} must be a non-empty name without commas, got {name!r}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes from a terminal in another encoding: no UTF-8 CSV can hold them
        raise UserError(f"{option} {name.encode('utf-8', 'surrogateescape')!r} is not valid UTF-8; type the name "
                        "in UTF-8") from None
    return name.upper() if upper else name


def check_out(out: Path) -> Path:
    """The dataset folder extract writes to, refused when it is a file."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a dataset folder")
    return out


@contextmanager
def leave_nothing_if_empty(out: Path) -> Iterator[None]:
    """A --out folder this run made is removed again when it ends up holding no file (every input bad):
    only empty folders are removed, so nothing written is ever lost."""
    fresh = not out.exists()
    try:
        yield
    finally:
        if fresh and out.is_dir():
            for folder, _, _ in sorted(os.walk(out), key=lambda w: -len(w[0])):  # deepest first
                try:
                    os.rmdir(folder)  # fails on a folder that holds anything
                except OSError:
                    pass
