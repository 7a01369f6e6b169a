"""Paths read from data files stay inside their root: IMAGE columns, manifests, output sub-folders.

    inside(root, "images/beach/beach1.png")    # root/images/beach/beach1.png, resolved
    inside(root, "../../etc/passwd")           # PathOutside: leads outside root

Windows separators are accepted (`images\\beach\\x.png`). After `..` and symlinks are
resolved the path must still lie under the resolved root; absolute paths and drive letters
are refused. `allow_outside=True` (the user's explicit --allow-outside-paths) lifts that.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

DRIVE = re.compile(r"^[A-Za-z]:[/\\]")
NOT_REGULAR = "is not a regular file (a pipe or a device?)"  # what every input check says of a FIFO or device


class PathOutside(ValueError):
    """A path from a data file that leads outside its root; str(e) is the reason."""


def normalise(text: str) -> str:
    """A relative path as written in a data file, with Windows separators turned into '/'."""
    return str(text).strip().replace("\\", "/")


def _resolve(path: Path, folders: dict | None) -> Path:
    """path.resolve(); with `folders` (a dict kept for one batch of paths) each folder is resolved once and
    only the file's own name is looked at per path (a link there is resolved in full, as resolve() does)."""
    if folders is None or ".." in path.parts:
        return path.resolve()
    real = folders.get(path.parent)
    if real is None:
        real = folders[path.parent] = path.parent.resolve()
    full = real / path.name
    try:
        if stat.S_ISLNK(os.lstat(full).st_mode):
            return full.resolve()
    except OSError:  # not there (yet): resolve() leaves such a name as it is
        pass
    return full


def inside(root: Path, text: str, allow_outside: bool = False, what: str = "path", folders: dict | None = None) -> Path:
    """root / text, resolved; PathOutside when it leaves root (unless allow_outside). Pass the same `folders`
    dict for many paths read in one go: their folders are then resolved once each."""
    rel = normalise(text)
    if not rel:
        raise PathOutside(f"{what} is empty")
    posix = PurePosixPath(rel)
    if allow_outside:
        return (Path(rel) if posix.is_absolute() else Path(root) / rel).resolve()
    if posix.is_absolute() or DRIVE.match(rel):
        raise PathOutside(f"{what} {text!r} is an absolute path; paths in it must be relative to {root}")
    base = _resolve(Path(root), folders) if folders is not None else Path(root).resolve()
    full = _resolve(base / rel, folders)
    if not full.is_relative_to(base):
        raise PathOutside(f"{what} {text!r} leads outside {root} (to {full})")
    return full


def within(root, text: str, allow_outside: bool = False, what: str = "path", folders: dict | None = None):
    """`inside` for a Location root, local or a URI (where '..' and absolute paths are refused as text)."""
    from .storage import Location, is_uri

    root = Location.of(root)
    if root.is_local:
        return Location.of(inside(root.local, text, allow_outside, what, folders))
    rel = normalise(text)
    if allow_outside and (is_uri(rel) or rel.startswith("/")):
        return Location.of(rel)
    parts = PurePosixPath(rel).parts
    if not rel or is_uri(rel) or rel.startswith("/") or DRIVE.match(rel) or ".." in parts:
        raise PathOutside(f"{what} {text!r} leads outside {root}")
    return root.child(rel)
