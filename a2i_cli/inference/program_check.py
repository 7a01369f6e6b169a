"""Checking a .pt2 before torch.export.load touches it: only JSON, raw tensor bytes and plain pickles.

torch.export.load unpickles some parts of an archive with weights_only=False (pickled
weights and constants, and sample inputs when a safe load fails) and loads compiled
AOTInductor libraries: a .pt2 from a stranger could run code. An archive passes only when
it holds the files `torch.export.save` writes for a plain program: the graph as JSON,
weights as raw bytes (no pickled payloads, no custom or opaque objects), sample inputs
that load with weights_only=True, and extra files.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from ..core.errors import UserError
from ..model.safe_load import load_plain_bytes

ALLOWED_TOP = {"archive_format", "archive_version", "byteorder", ".data", "models", "data", "extra"}
ALLOWED_DATA = {"weights", "constants", "sample_inputs"}


def _refuse(path: Path, why: str) -> UserError:
    return UserError(f"exported program {path} {why}; a2i only loads programs that hold tensors and plain data "
                     "(re-export it with `a2i export`)")


def check_program_archive(path: Path) -> None:
    """UserError unless `path` is a pt2 archive of the safe kind described above."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise UserError(f"exported program {path} is not a torch.export archive ({type(e).__name__}: {e})")
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        if not names:
            raise _refuse(path, "is an empty archive")
        prefix = names[0].split("/", 1)[0] + "/"
        rel = {n[len(prefix):]: n for n in names if n.startswith(prefix)}
        if len(rel) != len(names) or "archive_format" not in rel:
            raise _refuse(path, "is not laid out as torch.export.save writes")
        for name in rel:
            parts = name.split("/")
            if parts[0] not in ALLOWED_TOP or (parts[0] == "data" and (len(parts) < 3 or parts[1] not in ALLOWED_DATA)):
                raise _refuse(path, f"holds {name!r}, which a plain exported program does not have")
        for name, full in rel.items():
            if name.endswith("_config.json") and name.startswith("data/"):
                try:
                    config = json.loads(archive.read(full))["config"]
                except (ValueError, KeyError, TypeError):
                    raise _refuse(path, f"has an unreadable {name}")
                for key, payload in config.items():
                    if payload.get("use_pickle") or not str(payload.get("path_name", "")).startswith(("weight_", "tensor_")):
                        raise _refuse(path, f"stores {key!r} as a pickled or custom object")
            elif name.startswith("data/sample_inputs/"):
                load_plain_bytes(io.BytesIO(archive.read(full)), f"exported program {path} ({name})")
