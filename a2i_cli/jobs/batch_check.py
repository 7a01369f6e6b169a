"""What a batch run checks before it writes: the model loads safely, and a rerun has the same input and model."""
from __future__ import annotations

import hashlib
import json

from ..core.errors import UserError
from ..core.hashing import fingerprint
from ..core.paths import NOT_REGULAR
from ..core.runs import checkpoint_in
from ..core.storage import Location
from ..inference.engine import is_program
from .batch_output import PARTS
from .predictor import engine_from_bytes


def bytes_fingerprint(data: bytes) -> dict:
    return {"bytes": len(data), "blake2b": hashlib.blake2b(data, digest_size=16).hexdigest()}


def check_model(model: Location, engine: str = "auto"):
    """(the model file's bytes, the engine built from them here): a bad model fails in one line, before any
    work, and workers forked from this process can use the engine as it is."""
    if model.is_dir():
        hint = f": {checkpoint_in(model.local)}" if model.is_local else ""
        raise UserError(f"checkpoint {model} is a directory; expected a .pt or .pt2 file{hint}")
    if model.is_local and model.local.exists() and not model.local.is_file():
        raise UserError(f"checkpoint {model} {NOT_REGULAR}; give a .pt or .pt2 file")
    if not model.is_file():
        what = "exported program" if is_program(model.text) else "checkpoint"
        raise UserError(f"{what} {model} does not exist; train one with `a2i train` or give the path of an existing file")
    data = model.read_bytes()
    name = model.text.rsplit("/", 1)[-1]
    return data, engine_from_bytes(data, name, engine, str(model))  # the engine a worker builds: every check runs


def input_record(source: Location) -> dict:
    """How batch.json names the input: its path or URI, and its size + content hash (a remote file is read
    once more for it: same content, same hash, whatever its time stamp)."""
    if source.is_local:
        return {"input": str(source.local.resolve()), "input_file": fingerprint(source.local)}
    h = hashlib.blake2b(digest_size=16)
    size = 0
    with source.open_input() as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return {"input": str(source), "input_file": {"bytes": size, "blake2b": h.hexdigest()}}


def check_resume(out: Location, record: dict) -> None:
    """A rerun into OUT must have the same input, model and format as the run that started there."""
    record_path = out.child("batch.json")
    if not record_path.is_file():
        manifest = out.child("manifest.csv")
        if manifest.is_file() and len(manifest.read_bytes().splitlines()) > 1:  # a header alone lists nothing
            raise UserError(f"{out} holds a manifest.csv but no batch.json, so its input is unknown; pass a new --out")
        if not out.is_local and out.child(PARTS).list_files():
            raise UserError(f"{out} holds manifest parts ({PARTS}/) but no batch.json, so their input is unknown; "
                            "pass a new --out")
        if not out.is_local and out.child("images").is_dir():  # a run killed before it listed a row
            raise UserError(f"{out} holds images/ but no batch.json, so the input they were made from is unknown; "
                            "pass a new --out (or remove images/)")
        return
    try:
        old = json.loads(record_path.read_bytes())
        if not isinstance(old, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        raise UserError(f"{record_path} is damaged ({e}); pass a new --out to start afresh")
    for key in ("input", "model", "format"):
        if old.get(key) != record[key]:
            raise UserError(f"{out} holds a run with {key} {old.get(key)}, not {record[key]}; "
                            "pass a new --out (or the same inputs to resume)")
    for key, what in (("input_file", "input CSV"), ("model_file", "model")):
        if key in old and old[key] != record[key]:
            raise UserError(f"the {what} {record[key.split('_')[0]]} has changed since the run in {out} started (its "
                            "size or content differ from batch.json); resuming would mix two inputs: restore it, or "
                            "pass a new --out to start afresh")
