"""PNG bytes in and out: fast with the optional `a2i[fast]` libraries, Pillow otherwise (the reference).

    encode_png(image)          (H, W, 3) uint8 -> the bytes of a PNG file (level 1: fast)
    decode_rgb(data)           PNG bytes -> (H, W, 3) uint8, or None: "not a plain 8-bit RGB PNG,
                               ask Pillow" (read_rgb in images.py does)
    codecs()                   {"encode": ..., "decode": ...}: what runs here, for `a2i env`

Encoding, levels 1-3 with `isal` installed (python-isal, Intel's ISA-L deflate): every row
gets the PNG "Up" filter (the row minus the row above it, one numpy subtraction) and the
whole image is one ISA-L deflate stream in one IDAT chunk. On 256x256 photo-like images
that is about 15x faster than Pillow's level 1 (zlib-ng, an adaptive filter per row) with
files of the same size (benchmarks/bench_png.py). Level 0 (stored, no compression) and
4-9 (smaller, slower) are Pillow's, as without isal.

Decoding, with `imagecodecs` installed (its libspng): 8-bit RGB, not interlaced, without
transparency or EXIF chunks, i.e. the files whose Pillow decoding is exactly the stored
samples; 1.2-1.9x faster than Pillow. Anything else (palette, grey, 16-bit, alpha,
orientation, APNG, JPEG...) and any file the fast decoder refuses goes to Pillow, so a
damaged file gets Pillow's message. The pixels are Pillow's, to the bit, and like Pillow
it checks the zlib stream's checksum: of 3,000 randomly damaged files it decoded none
that Pillow refuses (pyspng, which skips that check, decoded 1,267 of them; see
tests/test_png.py and benchmarks/BATCH.md).
"""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np

try:
    from isal import isal_zlib as _isal
except ImportError:  # the fast extra is not installed: Pillow encodes
    _isal = None
try:
    from imagecodecs import spng_decode as _spng_decode
except (ImportError, AttributeError):  # Pillow decodes (AttributeError: an imagecodecs built without libspng)
    _spng_decode = None

SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAST_LEVELS = (1, 2, 3)  # the png levels isal serves (its levels 1-3); others are Pillow's
# Chunks (anywhere in the file) with which Pillow's RGB is no longer the stored samples
# (transparency, EXIF orientation) or the image is not one still (APNG).
_PILLOW_ONLY = {b"tRNS", b"eXIf", b"acTL", b"fcTL", b"fdAT"}
_KNOWN_CRITICAL = {b"IHDR", b"IDAT", b"IEND", b"PLTE"}


def _chunk(kind: bytes, data: bytes | memoryview) -> bytes:
    crc = _isal.crc32(data, _isal.crc32(kind))
    return b"".join((struct.pack(">I", len(data)), kind, data, struct.pack(">I", crc)))


def _encode_isal(image: np.ndarray, level: int) -> bytes:
    h, w, _ = image.shape
    rows = image.reshape(h, w * 3)
    raw = np.empty((h, w * 3 + 1), np.uint8)  # (H, 1 + 3W): filter byte, then the row
    raw[:, 0] = 2  # Up: each byte minus the one above it (the first row: minus 0)
    raw[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])  # uint8 wraps around: modulo 256, as PNG wants
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, deflate, adaptive filters, no interlace
    return b"".join((SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", _isal.compress(raw, level)),
                     _chunk(b"IEND", b"")))


def _encode_pillow(image: np.ndarray, level: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def encode_png(image: np.ndarray, level: int = 1) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes at zlib `level` 0-9; isal for levels 1-3 when installed, else Pillow."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.dtype} {tuple(image.shape)}")
    if _isal is not None and level in FAST_LEVELS and image.shape[0] and image.shape[1]:
        return _encode_isal(np.ascontiguousarray(image), level)
    return _encode_pillow(image, level)


def plain_rgb(data: bytes, max_pixels: int) -> bool:
    """True when `data` is a PNG whose Pillow RGB decoding is its stored 8-bit RGB samples, no bigger than
    max_pixels; False for anything else, broken files included (Pillow then reads it and says what is wrong).

    Every chunk is looked at, before and after the image data, as Pillow does: a chunk that changes
    Pillow's pixels (transparency, EXIF orientation, animation) anywhere, an unknown critical chunk, or a
    checksum that does not match outside IDAT (Pillow verifies those and refuses the file; it does not
    verify IDAT's, and neither does this) sends the file to Pillow."""
    if len(data) < 33 or not data.startswith(SIGNATURE) or data[12:16] != b"IHDR":
        return False
    w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if depth != 8 or colour != 2 or interlace != 0 or not 0 < w * h <= max_pixels:
        return False
    pos, seen_idat = 8, False
    while pos + 12 <= len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + n
        if end > len(data) or kind in _PILLOW_ONLY:
            return False
        if kind == b"IEND":
            return seen_idat
        if kind == b"IDAT":
            seen_idat = True
        else:
            if kind not in _KNOWN_CRITICAL and kind[:1].isupper():
                return False  # an unknown critical chunk: Pillow decides what it means
            if zlib.crc32(data[pos + 4 : pos + 8 + n]) != struct.unpack(">I", data[pos + 8 + n : end])[0]:
                return False  # a damaged chunk: Pillow refuses the file, with its own message
        pos = end
    return False  # no IEND: truncated, Pillow says so


def has_fast_decoder() -> bool:
    return _spng_decode is not None


def decode_rgb(data: bytes, max_pixels: int) -> np.ndarray | None:
    """PNG bytes -> (H, W, 3) uint8 with the fast decoder, or None when Pillow must read it (see plain_rgb)."""
    if _spng_decode is None or not plain_rgb(data, max_pixels):
        return None
    try:
        image = _spng_decode(data)
    except Exception:  # noqa: BLE001 - a damaged file: Pillow reads it again and names the fault
        return None
    return image if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 else None


def codecs() -> dict[str, str]:
    """Which libraries encode (levels 1-3) and decode PNG here."""
    from PIL import __version__ as pillow

    isal = f"isal {getattr(_isal, '__version__', '') or _version('isal')}" if _isal is not None else None
    spng = f"imagecodecs {_version('imagecodecs')} (libspng)" if _spng_decode is not None else None
    return {"encode": isal or f"Pillow {pillow} (install a2i[fast] for isal)",
            "decode": spng or f"Pillow {pillow} (install a2i[fast] for imagecodecs)"}


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"
