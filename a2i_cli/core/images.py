"""Image files in and out: any mode to 8-bit RGB, resizing, centre squares, atomic PNG writes, encoding.

    read_rgb(path)                     (H, W, 3) uint8, whatever the file's mode
    read_rgb(path, size=64)            resized to 64x64 (stretched, as the scene dataset's frames)
    read_rgb(path, size=64, crop=True) centre-cropped to a square first (pictures of any shape)
    save_png(array_or_image, path)     atomic: a reader never sees half a file

Modes: 16-bit and 32-bit greyscale are scaled to 0..255 (not clipped), float images in
[0, 1] are scaled by 255, palette images keep their colours, CMYK is converted, and an
alpha channel is composited over white (what a viewer shows). EXIF orientation is applied,
so a phone photo is upright. Shrinking uses area averaging (box), enlarging bicubic.

PNG goes through png.py: with the `a2i[fast]` extra, plain 8-bit RGB files are decoded by
libspng and level 1-3 PNGs encoded with ISA-L, to the same pixels as Pillow; everything
else (and everything without the extra) is Pillow's.
"""
from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from . import png
from .atomic import atomic_path, write_bytes

BACKGROUND = (255, 255, 255)  # what transparent pixels become
MAX_PIXELS = 64_000_000  # a bigger image is refused (a 140 KB PNG can unpack to gigabytes)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow warns above it (made an error below) and refuses twice it
ENCODERS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}


def _scaled_to_8bit(im: Image.Image) -> Image.Image:
    """Greyscale of more than 8 bits (I;16*, I, F) -> mode L, scaled by its bit depth, not clipped."""
    a = np.asarray(im)
    if im.mode.startswith("I;16"):
        a8 = a.astype(np.float64) / 257.0
    elif im.mode == "F":
        a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        a8 = a * 255.0 if a.max(initial=0.0) <= 1.0 else a
    else:  # "I": 32-bit integers, what 16-bit files (PGM, some TIFF) decode to; 8-bit files never do
        peak = float(a.max(initial=0))
        a8 = a.astype(np.float64) * (255.0 / (65535.0 if peak <= 65535 else peak))
    return Image.fromarray(np.clip(np.round(a8), 0, 255).astype(np.uint8), "L")


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow image -> mode RGB (see the module docstring for how each mode maps)."""
    if im.mode == "RGB":
        return im
    if im.mode.startswith("I") or im.mode == "F":
        return _scaled_to_8bit(im).convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return im.convert("RGB")


def resize(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """To size (W, H): area averaging when it shrinks, bicubic when it grows."""
    if im.size == tuple(size):
        return im
    return im.resize(tuple(size), Image.Resampling.BOX if im.width > size[0] else Image.Resampling.BICUBIC)


def centre_square(im: Image.Image) -> Image.Image:
    w, h = im.size
    s = min(w, h)
    if w == h:
        return im
    left, top = (w - s) // 2, (h - s) // 2
    return im.crop((left, top, left + s, top + s))


def as_rgb_array(im: Image.Image, size: int | tuple[int, int] | None = None, crop: bool = False) -> np.ndarray:
    """A decoded image -> (H, W, 3) uint8; `size` (side or (W, H)) resizes, `crop` centre-squares first."""
    im = to_rgb(im)
    if crop:
        im = centre_square(im)
    if size is not None:
        im = resize(im, (size, size) if isinstance(size, int) else size)
    return np.asarray(im, dtype=np.uint8)


def read_rgb(path: Path, size: int | tuple[int, int] | None = None, crop: bool = False) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB (first frame of an animation; EXIF orientation applied)."""
    fast = _read_plain_png(path)
    if fast is not None:
        wanted = (size, size) if isinstance(size, int) else size
        if not crop and (wanted is None or tuple(wanted) == (fast.shape[1], fast.shape[0])):
            return fast
        return as_rgb_array(Image.fromarray(fast), size, crop)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # -> an error the caller reports per image
        return _read_rgb(path, size, crop)


def _read_plain_png(source) -> np.ndarray | None:
    """The pixels of a plain 8-bit RGB PNG decoded by png.decode_rgb, or None: Pillow reads this one (not a PNG,
    another kind of PNG, no fast decoder, not a regular file, unreadable: Pillow then names the fault)."""
    if not png.has_fast_decoder():
        return None
    if isinstance(source, io.BytesIO):
        return png.decode_rgb(source.getvalue(), MAX_PIXELS) if source.tell() == 0 else None
    try:
        with open(source, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode) or f.read(8) != png.SIGNATURE:
                return None
            f.seek(0)
            data = f.read()
    except (OSError, TypeError, ValueError):
        return None
    return png.decode_rgb(data, MAX_PIXELS)


def _read_rgb(path, size, crop) -> np.ndarray:
    with Image.open(path) as im:
        if im.width * im.height > MAX_PIXELS:
            raise ValueError(f"{im.width}x{im.height} pixels is more than a2i reads ({MAX_PIXELS // 1_000_000} megapixels)")
        im.load()
        if im.getexif().get(0x0112, 1) != 1:  # orientation tag present and not "normal"
            im = ImageOps.exif_transpose(im)
        return as_rgb_array(im, size, crop)


def save_png(image: Image.Image | np.ndarray, path: Path, compress_level: int = 6) -> Path:
    """Atomic PNG write (temporary name in the same folder, then rename); an RGB image or (H, W, 3) uint8 array
    at level 1-3 goes through png.encode_png (fast with a2i[fast])."""
    path = Path(path)
    if isinstance(image, Image.Image) and image.mode == "RGB" and compress_level in png.FAST_LEVELS:
        image = np.asarray(image)
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 \
            and compress_level in png.FAST_LEVELS:
        return write_bytes(path, png.encode_png(image, compress_level))
    im = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG", compress_level=compress_level)
    return path


def encode(image: np.ndarray, fmt: str = "png", png_level: int = 1, quality: int = 90) -> bytes:
    """(H, W, 3) uint8 -> the bytes of a png, jpg or webp file."""
    if fmt == "png":
        return png.encode_png(image, png_level)
    buf = io.BytesIO()
    pil = Image.fromarray(image)
    if fmt == "jpg":
        pil.save(buf, format="JPEG", quality=quality)
    elif fmt == "webp":
        pil.save(buf, format="WEBP", quality=quality, method=2)
    else:
        raise ValueError(f"unknown image format {fmt!r}; one of {', '.join(ENCODERS)}")
    return buf.getvalue()
