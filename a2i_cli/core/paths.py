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


def _resolved_in(base: str, rel: str, folders: dict) -> str:
    """os.path.realpath(base/rel) for a resolved `base` and a plain relative `rel` (no '', '.' or '..'
    parts): each folder is resolved once per `folders` dict, and per path only the file's own name is
    looked at (a link there is resolved in full, as realpath does)."""
    parent, _, name = rel.rpartition("/")
    real = folders.get((base, parent))
    if real is None:
        real = folders[(base, parent)] = os.path.realpath(os.path.join(base, parent)) if parent else base
    full = os.path.join(real, name)
    try:
        if stat.S_ISLNK(os.lstat(full).st_mode):
            return os.path.realpath(full)
    except OSError:  # not there (yet): realpath leaves such a name as it is
        pass
    return full


def inside(root: Path, text: str, allow_outside: bool = False, what: str = "path", folders: dict | None = None) -> Path:
    """root / text, resolved; PathOutside when it leaves root (unless allow_outside). Pass the same `folders`
    dict for many paths read in one go: their folders are then resolved once each."""
    rel = normalise(text)
    if not rel:
        raise PathOutside(f"{what} is empty")
    if allow_outside:
        return (Path(rel) if rel.startswith("/") else Path(root) / rel).resolve()
    if rel.startswith("/") or DRIVE.match(rel):
        raise PathOutside(f"{what} {text!r} is an absolute path; paths in it must be relative to {root}")
    if folders is not None and not any(part in ("", ".", "..") for part in rel.split("/")):
        return Path(_inside_text(root, rel, text, what, folders))
    base = Path(root).resolve()
    full = (base / rel).resolve()
    if not full.is_relative_to(base):
        raise PathOutside(f"{what} {text!r} leads outside {root} (to {full})")
    return full


def _inside_text(root, rel: str, text: str, what: str, folders: dict) -> str:
    """inside() for a plain relative `rel`, as a string, with the folders cache (see _resolved_in)."""
    base = folders.get(("root", str(root)))
    if base is None:
        base = folders[("root", str(root))] = os.path.realpath(root)
    full = _resolved_in(base, rel, folders)
    if full != base and not full.startswith(base.rstrip(os.sep) + os.sep):
        raise PathOutside(f"{what} {text!r} leads outside {root} (to {full})")
    return full


def within(root, text: str, allow_outside: bool = False, what: str = "path", folders: dict | None = None):
    """`inside` for a Location root, local or a URI (where '..' and absolute paths are refused as text)."""
    from .storage import Location, is_uri

    root = Location.of(root)
    if root.is_local:
        rel = normalise(text)
        if folders is not None and not allow_outside and rel and not rel.startswith("/") and not DRIVE.match(rel) \
                and not any(part in ("", ".", "..") for part in rel.split("/")):
            local = folders.get(("local", root.text))
            if local is None:
                local = folders[("local", root.text)] = root.local
            return Location(_inside_text(local, rel, text, what, folders))  # realpath's text is normalised
        return Location.of(inside(root.local, text, allow_outside, what, folders))
    rel = normalise(text)
    if allow_outside and (is_uri(rel) or rel.startswith("/")):
        return Location.of(rel)
    parts = PurePosixPath(rel).parts
    if not rel or is_uri(rel) or rel.startswith("/") or DRIVE.match(rel) or ".." in parts:
        raise PathOutside(f"{what} {text!r} leads outside {root}")
    return root.child(rel)
