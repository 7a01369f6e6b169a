"""Loading torch files without running code: weights_only=True, and one line refusing anything else.

A pickle can call any function while it loads, so a checkpoint or cache from a stranger
could run code. Every torch file a2i reads goes through `load_plain`: only tensors and
plain data (dict, list, tuple, str, numbers, None) are accepted; numpy arrays are allowed
too, for the numpy RNG state that checkpoints of a2i 0.1.0 carry (an array is rebuilt
from bytes, nothing is called). Anything else is refused with the names it asked for.
"""
from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..core.errors import UserError, short
from ..core.paths import NOT_REGULAR

MAX_UNPACKED = 512 << 20  # a checkpoint of the largest a2i model with its optimiser state is under 100 MB
_multiarray = (getattr(np, "_core", None) or np.core).multiarray  # numpy 2 / numpy 1
NUMPY_ARRAYS = [np.ndarray, np.dtype, _multiarray._reconstruct, type(np.dtype(np.uint32))]


def _unsafe_globals(path: Path) -> list[str]:
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    except Exception:  # not a zip archive either: the caller's message says enough
        return []


def load_plain(path: Path, what: str = "checkpoint") -> object:
    """torch.load(path, weights_only=True) with one-line UserErrors: missing, a folder, corrupt, or unsafe."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a directory; expected a file")
    if not path.is_file():
        why = NOT_REGULAR if path.exists() else "does not exist"
        raise UserError(f"{what} {path} {why}")
    if path.stat().st_size == 0:
        raise UserError(f"{what} {path} is empty; is it a file a2i wrote?")
    if path.suffix.lower() == ".onnx" and not zipfile.is_zipfile(path):
        raise UserError(f"{what} {path} is an ONNX model, which a2i writes for ONNX Runtime but does not read "
                        "back; pass the .pt it was exported from (with --engine onnx to run it in ONNX Runtime)")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
        if unpacked > MAX_UNPACKED:
            raise UserError(f"{what} {path} unpacks to {unpacked >> 20} MB, more than an a2i file ever holds "
                            f"({MAX_UNPACKED >> 20} MB); it is refused")
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(NUMPY_ARRAYS):
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        unsafe = [g for g in _unsafe_globals(path) if not g.startswith("numpy.")]
        if unsafe or "Unsupported global" in str(e):
            named = ", ".join(unsafe[:3]) or "an object that is not a tensor or plain data"
            raise UserError(f"{what} {path} holds more than tensors and plain data ({named}); a2i refuses to load it "
                            "because unpickling it could run code; use a file a2i wrote (retrain or re-export)")
        raise UserError(f"{what} {path} is not a torch file a2i can read; is it a file a2i wrote?")
    except Exception as e:  # truncated zip, not a torch file, wrong magic number, ...
        if "data.pkl" in str(e) and zipfile.is_zipfile(path):
            raise UserError(f"{what} {path} is a zip archive but not a checkpoint (an exported .pt2 program? pass it "
                            "as --model with its .pt2 name, or --engine export)")
        if not zipfile.is_zipfile(path):  # text, an image, ...: torch's own error (a KeyError) says nothing
            raise UserError(f"{what} {path} is not a torch file a2i can read; is it a file a2i wrote?")
        raise UserError(f"{what} {path} could not be read ({type(e).__name__}: {short(e, 120)}); "
                        "is it a file a2i wrote?")


def load_plain_bytes(buffer, what: str) -> object:
    """load_plain for bytes already in memory (a member of an archive)."""
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(NUMPY_ARRAYS):
            warnings.simplefilter("ignore")
            return torch.load(buffer, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"{what} holds more than tensors and plain data ({short(e, 120)}); a2i refuses to load it "
                        "because unpickling it could run code")
