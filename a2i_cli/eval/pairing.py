"""Pairing generated images with their targets, local or URIs; paths read from files stay inside their roots.

Pairing (first that applies):
  1. GENERATED/manifest.csv with `path` and `IMAGE` columns (written by `a2i demo` and
     batch-generate): each generated path with its IMAGE target, resolved against TARGETS
     (a dataset folder, or the folder of a dataset CSV).
  2. TARGETS is a dataset CSV (IMAGE column): a generated file matches the target whose
     IMAGE file name has the same stem (`forest0.png` <-> `images/forest/forest0.png`).
  3. TARGETS is a folder: files matched by stem (relative path first, then file name).
A manifest or CSV path that leads outside its root is refused (listed, with its row).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..core.errors import UserError, short
from ..core.paths import PathOutside, normalise, within
from ..core.storage import Location
from ..data.mfcc_csv import allow_long_fields, open_text

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


@dataclass
class Pairs:
    generated: list[str]  # local paths or URIs
    targets: list[str]
    names: list[str]
    unmatched: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)  # {"name", "reason"}: paths that lead outside their root


def images_under(folder: Location, allow_outside: bool = False, refused: list | None = None) -> list[str]:
    """Relative paths of the image files below a folder (hidden ones left out), sorted; a local file that
    leads outside the folder (a symlink) is left out too, and listed in `refused`."""
    def image_like(p: str) -> bool:
        return PurePosixPath(p).suffix.lower() in IMAGE_EXTS and not any(x.startswith(".") for x in p.split("/"))

    dirs: list[str] = []
    found = sorted(p for p in folder.list_files(dirs) if image_like(p))
    if refused is not None:  # a folder named like an image is not silently passed over
        refused += [{"name": str(PurePosixPath(d).with_suffix("")),
                     "reason": f"{folder.child(d)} is a folder, not an image file; move it away"}
                    for d in sorted(dirs) if image_like(d)]
    if folder.is_uri and not folder.is_local or allow_outside:
        return found
    kept = []
    for rel in found:
        try:
            within(folder, rel, what="image")
            kept.append(rel)
        except PathOutside as e:
            if refused is not None:
                refused.append({"name": str(PurePosixPath(rel).with_suffix("")), "reason": f"{e}; pass "
                                "--allow-outside-paths to follow it"})
    return kept


def read_rows(loc: Location, what: str) -> tuple[list[str], list[tuple[int, dict]], list[dict]]:
    """(header, [(row, {column: text})], [{"name", "reason"}] of lines that cannot be split): one bad line
    is one refused row, never the end of the file."""
    try:
        allow_long_fields()  # a batch-generate manifest carries the input's long fields
        with open_text(loc, errors="replace") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            rows, bad, row = [], [], 0
            while True:
                try:
                    rec = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    row += 1
                    bad.append({"name": f"row{row}", "reason": f"{what} row {row}: unreadable CSV line ({e})"})
                    continue
                if not rec:
                    continue
                row += 1
                if len(rec) != len(header):
                    bad.append({"name": f"row{row}", "reason": f"{what} row {row}: expected {len(header)} fields, "
                                                               f"got {len(rec)}"})
                    continue
                rows.append((row, dict(zip(header, rec))))
    except (UnicodeDecodeError, OSError, EOFError) as e:
        raise UserError(f"{what} {loc} is not a readable CSV ({short(e, 120) or type(e).__name__})")
    return header, rows, bad


def _check_some_targets(pairs: Pairs, targets: Location) -> None:
    """When not one of the first targets exists, TARGETS is almost surely the wrong folder: say so, once."""
    sample = pairs.targets[:20]
    if sample and not any(Location.of(t).exists() for t in sample):
        raise UserError(f"none of the targets the manifest names exist under {targets} (e.g. {sample[0]}); "
                        "TARGETS must be the dataset folder its IMAGE paths are relative to")


def _from_manifest(rows: list[tuple[int, dict]], bad: list[dict], generated: Location, root: Location,
                   allow_outside: bool) -> Pairs:
    pairs = Pairs([], [], [], refused=list(bad))
    folders: dict = {}  # resolved once each for the whole manifest
    for i, rec in rows:
        gp, ip = rec["path"], rec["IMAGE"]
        name = PurePosixPath(normalise(gp)).stem or f"row{i}"
        try:
            g = within(generated, gp, allow_outside, what=f"manifest row {i}: path", folders=folders)
            t = within(root, ip, allow_outside, what=f"manifest row {i}: IMAGE", folders=folders)
        except PathOutside as e:
            pairs.refused.append({"name": name, "reason": f"{e}; pass --allow-outside-paths to follow it"})
            continue
        pairs.generated.append(str(g))
        pairs.targets.append(str(t))
        pairs.names.append(name)
    return pairs


def pair_images(generated, targets, allow_outside: bool = False) -> Pairs:
    """Pair generated images with targets (see the module docstring)."""
    generated, targets = Location.of(generated), Location.of(targets)
    if generated.is_file():
        raise UserError(f"generated folder {generated} is a file; expected the folder batch-generate wrote")
    if not generated.is_dir():
        raise UserError(f"generated folder {generated} does not exist")
    if not targets.exists():
        raise UserError(f"targets {targets} do not exist (a folder of images or a dataset CSV)")
    target_is_file = targets.is_file()
    root = Location.of(targets.text.rsplit("/", 1)[0] if target_is_file else targets.text) if targets.is_uri else \
        Location.of(targets.local.parent if target_is_file else targets.local)
    manifest = generated.child("manifest.csv")
    if manifest.is_file():
        header, rows, bad = read_rows(manifest, "manifest")
        if "path" not in header:
            raise UserError(f"{manifest} has no 'path' column, so it is not a manifest a2i wrote; move it away to "
                            "pair images by file name")
        if "IMAGE" in header:
            pairs = _from_manifest(rows, bad, generated, root, allow_outside)
            _check_some_targets(pairs, targets)
            return pairs
    refused: list[dict] = []
    gen_files = images_under(generated, allow_outside, refused)
    if not gen_files:
        raise UserError(f"no images (.png, .jpg, .webp) found in {generated}")
    by_stem: dict[str, str] = {}
    if target_is_file:
        header, rows, bad = read_rows(targets, "targets")
        refused += bad
        if "IMAGE" not in header:
            raise UserError(f"{targets} has no IMAGE column; pass a folder of targets or a dataset CSV")
        for i, rec in rows:
            p = rec["IMAGE"]
            stem = PurePosixPath(normalise(p)).stem
            try:
                by_stem[stem] = str(within(root, p, allow_outside, what=f"{targets.text.rsplit('/', 1)[-1]} row {i}: IMAGE"))
            except PathOutside as e:
                refused.append({"name": stem, "reason": str(e)})
    else:
        for rel in images_under(targets, allow_outside, refused):
            by_stem.setdefault(PurePosixPath(rel).stem, str(targets.child(rel)))
            by_stem[str(PurePosixPath(rel).with_suffix(""))] = str(targets.child(rel))
    pairs = Pairs([], [], [], refused=refused)
    for rel in gen_files:
        key = str(PurePosixPath(rel).with_suffix(""))
        t = by_stem.get(key) or by_stem.get(PurePosixPath(rel).stem)
        if t is None:
            pairs.unmatched.append(str(generated.child(rel)))
            continue
        pairs.generated.append(str(generated.child(rel)))
        pairs.targets.append(t)
        pairs.names.append(key)
    if not pairs.generated:
        why = f" ({len(refused)} refused, e.g. {refused[0]['reason']})" if refused else ""
        raise UserError(f"no generated image in {generated} matches a target in {targets} by file name{why}")
    return pairs
