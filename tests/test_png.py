"""PNG codecs: the fast encoder's files decode with Pillow to the same pixels, the fast decoder returns Pillow's
pixels, and without the fast libraries (simulated with monkeypatch) Pillow does both and everything still works."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from a2i_cli.core import images, png


def pillow_pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def pillow_png(image, **kw) -> bytes:
    buf = io.BytesIO()
    (image if isinstance(image, Image.Image) else Image.fromarray(image)).save(buf, format="PNG", **kw)
    return buf.getvalue()


def with_chunks(data: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """`data` (a PNG) with `chunks` inserted right after IHDR."""
    extra = b"".join(struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d)) for k, d in chunks)
    return data[:33] + extra + data[33:]


def samples():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:80]
    smooth = np.stack([xx * 3, yy * 4, (xx + yy) * 2], -1).astype(np.uint8)
    return {"noise": rng.integers(0, 256, (37, 53, 3), dtype=np.uint8), "smooth": smooth,
            "flat": np.full((16, 16, 3), 200, np.uint8), "1x1": np.array([[[1, 2, 3]]], np.uint8),
            "one row": rng.integers(0, 256, (1, 19, 3), dtype=np.uint8),
            "one column": rng.integers(0, 256, (23, 1, 3), dtype=np.uint8)}


@pytest.mark.parametrize("level", [0, 1, 2, 3, 6, 9])
@pytest.mark.parametrize("name", list(samples()))
def test_encoded_files_decode_with_pillow_to_the_same_pixels(name, level):
    image = samples()[name]
    data = png.encode_png(image, level)
    assert np.array_equal(pillow_pixels(data), image)
    with Image.open(io.BytesIO(data)) as im:
        im.verify()  # chunk CRCs and the zlib stream's checksum hold


def test_fast_encoder_serves_levels_1_to_3_and_pillow_the_rest(monkeypatch):
    pytest.importorskip("isal")
    image = samples()["smooth"]
    for level in (1, 2, 3):
        assert png.encode_png(image, level) != pillow_png(image, compress_level=level)  # ours: one IDAT, Up filter
    for level in (0, 6):
        assert png.encode_png(image, level) == pillow_png(image, compress_level=level)
    noncontiguous = np.asfortranarray(image)
    assert np.array_equal(pillow_pixels(png.encode_png(noncontiguous)), image)


def test_without_isal_pillow_encodes(monkeypatch):
    monkeypatch.setattr(png, "_isal", None)
    image = samples()["noise"]
    assert png.encode_png(image, 1) == pillow_png(image, compress_level=1)
    assert images.encode(image, "png", 1) == pillow_png(image, compress_level=1)
    assert png.codecs()["encode"].startswith("Pillow")


def test_encode_png_refuses_what_is_not_rgb_uint8():
    with pytest.raises(ValueError, match="uint8"):
        png.encode_png(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="H, W, 3"):
        png.encode_png(np.zeros((4, 4), np.uint8))


@pytest.mark.parametrize("name", list(samples()))
def test_fast_decoder_returns_pillows_pixels(name, tmp_path):
    pytest.importorskip("imagecodecs")
    image = samples()[name]
    for data in (pillow_png(image, compress_level=1), pillow_png(image, compress_level=9), png.encode_png(image)):
        fast = png.decode_rgb(data, images.MAX_PIXELS)
        assert fast is not None and fast.dtype == np.uint8
        assert np.array_equal(fast, pillow_pixels(data))
        (tmp_path / "x.png").write_bytes(data)
        assert np.array_equal(images.read_rgb(tmp_path / "x.png"), image)
        assert np.array_equal(images.read_rgb(io.BytesIO(data)), image)


def test_ancillary_chunks_do_not_change_the_pixels():
    pytest.importorskip("imagecodecs")
    image = samples()["noise"]
    data = with_chunks(pillow_png(image), [(b"gAMA", struct.pack(">I", 100000)), (b"sRGB", b"\x00"),
                                           (b"pHYs", struct.pack(">IIB", 2835, 2835, 1)), (b"tEXt", b"Comment\x00hi")])
    assert png.decode_rgb(data, images.MAX_PIXELS) is not None
    assert np.array_equal(png.decode_rgb(data, images.MAX_PIXELS), pillow_pixels(data))


def other_kinds() -> dict[str, bytes]:
    """PNGs whose RGB is not their stored samples, or not 8-bit RGB: Pillow must read them."""
    rgb = samples()["noise"]
    rgba = np.dstack([rgb, np.arange(rgb.size // 3, dtype=np.uint8).reshape(rgb.shape[:2])])
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: Pillow turns it upright
    return {
        "grey": pillow_png(Image.fromarray(rgb[..., 0])),
        "grey 16-bit": pillow_png(Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)),
        "palette": pillow_png(Image.fromarray(rgb).convert("P")),
        "rgba": pillow_png(Image.fromarray(rgba, "RGBA")),
        "transparent colour": pillow_png(Image.fromarray(rgb), transparency=(1, 2, 3)),
        "exif orientation": pillow_png(Image.fromarray(rgb), exif=exif),
    }


@pytest.mark.parametrize("kind", list(other_kinds()))
def test_other_pngs_are_pillows_to_read(kind, monkeypatch, tmp_path):
    data = other_kinds()[kind]
    assert png.decode_rgb(data, images.MAX_PIXELS) is None
    (tmp_path / "x.png").write_bytes(data)
    got = images.read_rgb(tmp_path / "x.png")
    monkeypatch.setattr(png, "_spng_decode", None)
    assert np.array_equal(got, images.read_rgb(tmp_path / "x.png"))


def test_an_interlaced_png_is_pillows_to_read():
    image = samples()["noise"]
    data = pillow_png(image)
    ihdr = bytearray(data[16:29])
    ihdr[12] = 1  # Adam7: the header alone sends it to Pillow
    assert not png.plain_rgb(data[:16] + bytes(ihdr) + data[29:], images.MAX_PIXELS)


def test_without_imagecodecs_pillow_decodes(monkeypatch, tmp_path):
    monkeypatch.setattr(png, "_spng_decode", None)
    image = samples()["smooth"]
    (tmp_path / "x.png").write_bytes(png.encode_png(image))
    assert png.decode_rgb((tmp_path / "x.png").read_bytes(), images.MAX_PIXELS) is None
    assert np.array_equal(images.read_rgb(tmp_path / "x.png"), image)
    assert np.array_equal(images.read_rgb(tmp_path / "x.png", 32), images.as_rgb_array(Image.fromarray(image), 32))
    assert png.codecs()["decode"].startswith("Pillow")


def test_resizing_and_cropping_after_the_fast_decoder_match_pillow(monkeypatch, tmp_path):
    image = samples()["smooth"]  # 64x80
    (tmp_path / "x.png").write_bytes(png.encode_png(image))
    fast = [images.read_rgb(tmp_path / "x.png", 32), images.read_rgb(tmp_path / "x.png", (40, 20)),
            images.read_rgb(tmp_path / "x.png", 48, crop=True), images.read_rgb(tmp_path / "x.png", (80, 64))]
    monkeypatch.setattr(png, "_spng_decode", None)
    slow = [images.read_rgb(tmp_path / "x.png", 32), images.read_rgb(tmp_path / "x.png", (40, 20)),
            images.read_rgb(tmp_path / "x.png", 48, crop=True), images.read_rgb(tmp_path / "x.png", (80, 64))]
    for a, b in zip(fast, slow):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("damage", ["truncated", "bad crc", "not a png"])
def test_damaged_files_get_pillows_error(damage, monkeypatch, tmp_path):
    data = pillow_png(samples()["noise"])
    bad = {"truncated": data[: len(data) // 2], "bad crc": data[:-20] + bytes(4) + data[-16:],
           "not a png": b"\x89PNG\r\n\x1a\n" + b"junk" * 10}[damage]
    (tmp_path / "x.png").write_bytes(bad)

    def outcome():
        try:
            return "pixels", images.read_rgb(tmp_path / "x.png")
        except Exception as e:  # noqa: BLE001
            return "error", type(e)

    fast = outcome()
    monkeypatch.setattr(png, "_spng_decode", None)
    slow = outcome()
    assert fast[0] == slow[0]
    if fast[0] == "error":
        assert fast[1] is slow[1]
    else:
        assert np.array_equal(fast[1], slow[1])


def test_a_header_bigger_than_the_limit_is_not_decoded_fast():
    data = png.encode_png(samples()["noise"])  # 37 x 53
    assert png.decode_rgb(data, max_pixels=37 * 53 - 1) is None
    assert png.plain_rgb(data, max_pixels=37 * 53)


def test_not_regular_files_and_directories_are_left_to_pillow(tmp_path):
    with pytest.raises(IsADirectoryError):
        images.read_rgb(tmp_path)


def test_randomly_damaged_files_decode_as_pillow_decodes_them(tmp_path):
    """Bit flips, overwritten bytes and truncations: the fast path gives Pillow's pixels or leaves the file to
    Pillow, never pixels where Pillow raises (pyspng, which skips the zlib checksum, fails this)."""
    pytest.importorskip("imagecodecs")
    rng = np.random.default_rng(1)
    bases = [pillow_png(samples()["noise"][:20, :31]), png.encode_png(samples()["smooth"][:24, :24])]
    for trial in range(400):
        data = bytearray(bases[trial % 2])
        i = int(rng.integers(8, len(data)))
        if trial % 3 == 0:
            data[i] ^= 1 << int(rng.integers(0, 8))
        elif trial % 3 == 1:
            data[i] = int(rng.integers(0, 256))
        else:
            data = data[:i]
        fast = png.decode_rgb(bytes(data), images.MAX_PIXELS)
        if fast is None:
            continue
        try:
            want = pillow_pixels(bytes(data))
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"trial {trial}: the fast decoder returned pixels where Pillow raises {type(e).__name__}")
        assert np.array_equal(fast, want), trial


def after_idat(data: bytes, kind: bytes, body: bytes, crc_ok: bool = True) -> bytes:
    """`data` (a PNG) with one chunk inserted right before IEND, i.e. after the image data."""
    crc = zlib.crc32(kind + body) ^ (0 if crc_ok else 0xFFFF)
    return data[:-12] + struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc) + data[-12:]


def test_chunks_after_the_image_data_count_as_pillow_counts_them(tmp_path, monkeypatch):
    """EXIF orientation after IDAT rotates the picture, a damaged text chunk makes Pillow refuse the file (before
    IDAT) or not: the fast decoder reads neither, so what a2i reads never depends on a2i[fast] being installed."""
    image = samples()["noise"]  # (64, 80, 3)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees
    raw_exif = exif.tobytes()
    files = {"exif after": after_idat(pillow_png(image), b"eXIf", raw_exif[6:] if raw_exif.startswith(b"Exif") else raw_exif),
             "bad text after": after_idat(pillow_png(image), b"tEXt", b"Comment\x00hi", crc_ok=False)}
    good = with_chunks(pillow_png(image), [(b"tEXt", b"Comment\x00hi")])
    bad_before = bytearray(good)
    bad_before[33 + 8 + 10] ^= 0xFF  # the stored CRC of the tEXt chunk right after IHDR
    files["bad text before"] = bytes(bad_before)
    for name, data in files.items():
        assert not png.plain_rgb(data, images.MAX_PIXELS), name
        (tmp_path / f"{name}.png").write_bytes(data)

    def outcome(name):
        try:
            return "pixels", images.read_rgb(tmp_path / f"{name}.png")
        except Exception as e:  # noqa: BLE001
            return "error", type(e)

    fast = {name: outcome(name) for name in files}
    monkeypatch.setattr(png, "_spng_decode", None)
    for name in files:
        slow = outcome(name)
        assert fast[name][0] == slow[0], name
        assert fast[name][1] is slow[1] if slow[0] == "error" else np.array_equal(fast[name][1], slow[1]), name
    assert png.plain_rgb(after_idat(pillow_png(image), b"tEXt", b"Comment\x00hi"), images.MAX_PIXELS)  # still fast
