"""Reading an a2i .pt2 without torch.export.load: its weights and config, never its pickles or its graph.

torch.export.load runs code from the archive: it unpickles some parts with
weights_only=False, sympify()s (evaluates) the shape expressions of the graph JSON, and
resolves the graph's call targets by name. So a2i never hands it a file. An a2i export
holds, beside the graph, the model config and normalisation (extra/a2i.json) and every
weight as raw bytes; `read_program` checks the layout (`check_program_archive`), rebuilds
the network from the config, fills it with those bytes (shape and size checked against
the network, nothing interpreted) and exports it again here. The graph in the file is
for other tools; what a2i runs is always what its own code builds.
"""
from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

import torch

from ..core.config import ModelConfig
from ..core.errors import UserError, short
from ..data.normalize import Normalizer
from ..model.checkpoint import Loaded
from ..model.network import build_model
from .raw_to_image import RawToImage

ALLOWED_TOP = {"archive_format", "archive_version", "byteorder", ".data", "models", "data", "extra"}
ALLOWED_DATA = {"weights", "constants", "sample_inputs"}
MAX_UNPACKED = 1 << 30  # an a2i model is tens of MB; a zip that unpacks to more is refused


def _refuse(path: Path, why: str) -> UserError:
    return UserError(f"exported program {path} {why}; a2i reads only programs `a2i export` wrote "
                     "(re-export it from its checkpoint)")


def _names(archive: zipfile.ZipFile, path: Path) -> tuple[str, dict[str, str]]:
    names = [n for n in archive.namelist() if not n.endswith("/")]
    if not names:
        raise _refuse(path, "is an empty archive")
    prefix = names[0].split("/", 1)[0] + "/"
    rel = {n[len(prefix):]: n for n in names if n.startswith(prefix)}
    if len(rel) != len(names) or "archive_format" not in rel:
        raise _refuse(path, "is not laid out as torch.export.save writes")
    return prefix, rel


def check_program_archive(path: Path) -> None:
    """UserError unless `path` is a zip laid out as an a2i export (no pickled payloads, no libraries)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise UserError(f"exported program {path} is not a torch.export archive ({type(e).__name__}: {e})")
    with archive:
        _, rel = _names(archive, path)
        if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED:
            raise _refuse(path, f"unpacks to more than {MAX_UNPACKED >> 20} MB")
        for name in rel:
            parts = name.split("/")
            if parts[0] not in ALLOWED_TOP or (parts[0] == "data" and (len(parts) < 3 or parts[1] not in ALLOWED_DATA)):
                raise _refuse(path, f"holds {name!r}, which a plain exported program does not have")
        if "extra/a2i.json" not in rel:
            raise _refuse(path, "has no a2i.json inside")


def _tensor(archive, full: str, payload: dict, like: torch.Tensor, fqn: str, path: Path) -> torch.Tensor:
    meta = payload.get("tensor_meta") or {}
    sizes = [s.get("as_int") for s in meta.get("sizes", [])]
    strides = [s.get("as_int") for s in meta.get("strides", [])]
    contiguous = [int(x) for x in torch.empty(like.shape).stride()] if like.dim() else []
    if payload.get("use_pickle") or sizes != list(like.shape) or (like.dim() and strides != contiguous):
        raise _refuse(path, f"stores {fqn!r} otherwise than as the network's own contiguous {tuple(like.shape)}")
    raw = archive.read(full)
    if len(raw) != like.numel() * like.element_size():
        raise _refuse(path, f"holds {len(raw)} bytes for {fqn!r}, not {like.numel() * like.element_size()}")
    return torch.frombuffer(bytearray(raw), dtype=like.dtype).reshape(like.shape).clone()


def read_program(path: Path) -> tuple[Loaded, dict]:
    """(the network rebuilt from the archive's config and weights, its a2i.json), checked as described above."""
    check_program_archive(path)
    try:
        return _read(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:  # a damaged member (bad CRC, truncated)
        raise _refuse(path, f"is damaged ({type(e).__name__}: {e})")


def _read(path: Path) -> tuple[Loaded, dict]:
    with zipfile.ZipFile(path) as archive:
        prefix, rel = _names(archive, path)
        try:
            meta = json.loads(archive.read(rel["extra/a2i.json"]))
            cfg = ModelConfig(**meta["model_config"])
            norm = Normalizer.from_dict(meta["norm"], cfg.n_features)
            config = json.loads(archive.read(rel["data/weights/model_weights_config.json"]))["config"]
        except (KeyError, ValueError, TypeError, UserError) as e:
            raise _refuse(path, f"has no usable a2i.json or weights config ({e})")
        loaded = Loaded(model=build_model(cfg).eval(), cfg=cfg, norm=norm, meta=meta, path=Path(path))
        module = RawToImage(loaded).eval()
        state, own = {}, module.state_dict()
        extra = sorted(set(config) - set(own))
        if extra:  # a weight the config does not build (e.g. class codes with n_classes edited to 0)
            raise _refuse(path, f"holds the weight {short(repr(extra[0]), 60)} that its a2i.json model_config has no place for")
        for fqn, like in own.items():
            payload = config.get(fqn)
            name = f"data/weights/{payload.get('path_name', '')}" if isinstance(payload, dict) else None
            if name not in rel:
                raise _refuse(path, f"lacks the weight {fqn!r} its config needs")
            state[fqn] = _tensor(archive, rel[name], payload, like, fqn, path)
    module.load_state_dict(state)
    if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        raise _refuse(path, "holds NaN or infinite weights")
    loaded.norm = Normalizer(module.mean.numpy().copy(), module.std.numpy().copy())
    return loaded, meta
