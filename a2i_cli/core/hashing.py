"""Content fingerprints of files: what a resumed run or a cache checks to know its inputs are unchanged."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

BLOCK = 1 << 20


def file_digest(path: Path) -> str:
    """blake2b (128-bit) of a file's bytes, read in 1 MB blocks."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            h.update(block)
    return h.hexdigest()


def fingerprint(path: Path) -> dict:
    """{"bytes": size, "blake2b": digest} of a file: what a rerun compares."""
    path = Path(path)
    return {"bytes": os.stat(path).st_size, "blake2b": file_digest(path)}


def same_file(path: Path, recorded: dict | None) -> bool:
    """True when `path` still has the size and content hash in `recorded` (size first: it is free)."""
    if not isinstance(recorded, dict):
        return False
    try:
        if os.stat(path).st_size != recorded.get("bytes"):
            return False
        return file_digest(path) == recorded.get("blake2b")
    except OSError:
        return False


def files_digest(paths: list[Path]) -> str:
    """One digest over several files (names and bytes), e.g. a prepared folder's arrays."""
    h = hashlib.blake2b(digest_size=16)
    for p in paths:
        h.update(Path(p).name.encode() + b"\0")
        with open(p, "rb") as f:
            while block := f.read(BLOCK):
                h.update(block)
    return h.hexdigest()
