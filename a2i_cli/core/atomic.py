"""Atomic file writes: write under a temporary name in the same folder, then rename over the target.

    with atomic_path(out / "images.npy") as tmp:   # tmp keeps the suffix (np.save, torch.save...)
        np.save(tmp, array)
    write_bytes(path, data); write_text(path, text); write_json(path, obj)

A reader sees the old file or the new one, never half of one. Temporary names are
`.<stem>.<pid>-<n>.tmp<suffix>`: hidden, unique per process and call, and recognised by
`is_temporary` so a resumed job can sweep what a killed one left behind.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
from pathlib import Path
from typing import Iterator

_counter = itertools.count()
MARK = ".tmp"


def temporary_name(path: Path) -> Path:
    path = Path(path)
    return path.with_name(f".{path.stem}.{os.getpid()}-{next(_counter)}{MARK}{path.suffix}")


def is_temporary(name: str) -> bool:
    """True for names temporary_name makes (and the older `.name.tmpPID` style)."""
    return name.startswith(".") and MARK in name


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it over `path` when the block succeeds.

    The parent folder is created. On an exception the temporary file is removed and `path`
    is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_into(str(path), data)
    return path


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def write_into(path: str, data: bytes) -> None:
    """Atomic write of `data` to `path` in an existing folder, in four system calls (open, write, close,
    rename) and no Path objects: batch-generate writes thousands of images a second this way."""
    folder, name = os.path.split(path)
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no suffix
        stem, dot, ext = name, "", ""
    tmp = os.path.join(folder, f".{stem}.{os.getpid()}-{next(_counter)}{MARK}{dot}{ext}")  # as temporary_name
    fd = os.open(tmp, _FLAGS, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except OSError as e:  # a full disk: say which file (os.write names none)
            raise OSError(e.errno, e.strerror, path) from None
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2) + "\n")


def remove_temporaries(folder: Path, recursive: bool = False) -> int:
    """Delete the temporary files a killed writer left in `folder` (and below); returns how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    stack = [folder]
    while stack:
        for entry in os.scandir(stack.pop()):
            if entry.is_dir(follow_symlinks=False):
                if recursive:
                    stack.append(Path(entry.path))
            elif is_temporary(entry.name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    n += 1
    return n
