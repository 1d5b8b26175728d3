"""engine.imageio: reading every image kind the upscaler accepts, and atomic PNG writing."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from engine.errors import ImageReadError, InputError
from engine.imageio import _apply_orientation, read_image, write_png

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("shape,dtype", [
    ((9, 11, 3), np.uint8), ((9, 11, 4), np.uint8), ((9, 11), np.uint8),
    ((9, 11), np.uint16), ((9, 11, 3), np.uint16), ((9, 11, 4), np.uint16),
])
def test_png_round_trip_keeps_layout_dtype_and_text(tmp_path: Path, shape, dtype):
    top = 65535 if dtype == np.uint16 else 255
    image = RNG.integers(0, top + 1, size=shape).astype(dtype)
    path = write_png(tmp_path / "x.png", image, {"gan_studio:model": "RealESRGAN_x4plus.pth", "note": "ünïcode ✓"})
    back = read_image(path)
    assert back.dtype == dtype and back.shape == shape
    np.testing.assert_array_equal(back, image)
    with Image.open(path) as im:
        assert im.text["gan_studio:model"] == "RealESRGAN_x4plus.pth" and im.text["note"] == "ünïcode ✓"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temporary file left behind


def _reference_png16(image: np.ndarray, filters: list[int]) -> bytes:
    """A 16-bit PNG whose rows use the given filter types (a slow, obvious encoder)."""
    h, w, c = image.shape
    raw = image.astype(">u2").view(np.uint8).reshape(h, w * c * 2).astype(int)
    bpp = c * 2
    rows = []
    for y in range(h):
        line = [filters[y]]
        for x in range(w * bpp):
            a = raw[y, x - bpp] if x >= bpp else 0
            b = raw[y - 1, x] if y > 0 else 0
            cc = raw[y - 1, x - bpp] if (y > 0 and x >= bpp) else 0
            p = a + b - cc
            paeth = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - cc) else (b if abs(p - b) <= abs(p - cc) else cc)
            predictor = [0, a, b, (a + b) // 2, paeth][filters[y]]
            line.append((raw[y, x] - predictor) % 256)
        rows.append(bytes(line))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    color_type = {3: 2, 4: 6}[c]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


@pytest.mark.parametrize("filters", [[0, 1, 2, 1, 2, 0], [4, 3, 2, 1, 0, 4], [3, 4, 4, 3, 1, 2]])
@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_png_with_every_row_filter(tmp_path: Path, filters, channels):
    image = RNG.integers(0, 65536, size=(6, 7, channels)).astype(np.uint16)
    path = tmp_path / "f.png"
    path.write_bytes(_reference_png16(image, filters))
    back = read_image(path)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int):
    image = RNG.integers(0, 256, size=(5, 8, 3)).astype(np.uint8)
    im = Image.fromarray(image)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(tmp_path / "o.png", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png")))
    assert expected.shape[:2] == ((8, 5) if orientation >= 5 else (5, 8))
    np.testing.assert_array_equal(read_image(tmp_path / "o.png"), expected)
    np.testing.assert_array_equal(_apply_orientation(image, orientation), expected)  # the 16-bit path's own code


def test_palette_and_gray_alpha_become_rgba(tmp_path: Path):
    pal = Image.fromarray(RNG.integers(0, 4, size=(4, 4)).astype(np.uint8), mode="P")
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    assert read_image(tmp_path / "p.png").shape == (4, 4, 4)
    Image.new("LA", (3, 2), (100, 50)).save(tmp_path / "la.png")
    la = read_image(tmp_path / "la.png")
    assert la.shape == (2, 3, 4) and tuple(la[0, 0]) == (100, 100, 100, 50)
    Image.new("RGB", (3, 2), (1, 2, 3)).save(tmp_path / "j.jpg")
    assert read_image(tmp_path / "j.jpg").shape == (2, 3, 3)


def test_unreadable_files_raise_image_read_error(tmp_path: Path):
    with pytest.raises(ImageReadError, match="does not exist"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(ImageReadError, match="could not be read"):
        read_image(tmp_path / "text.png")
    for image in (RNG.integers(0, 256, (40, 40, 3)).astype(np.uint8), RNG.integers(0, 65536, (40, 40, 3)).astype(np.uint16)):
        data = write_png(tmp_path / "full.png", image).read_bytes()
        (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
        with pytest.raises(ImageReadError, match="truncated"):
            read_image(tmp_path / "cut.png")


def test_write_png_refuses_bad_arrays_and_keeps_the_old_file(tmp_path: Path):
    target = write_png(tmp_path / "keep.png", np.zeros((2, 2, 3), np.uint8))
    before = target.read_bytes()
    with pytest.raises(InputError):
        write_png(target, np.zeros((2, 2, 3), np.float32))
    with pytest.raises(InputError):
        write_png(target, np.zeros((2, 2, 2), np.uint8))
    assert target.read_bytes() == before


def test_png_text_chunks_round_trip(tmp_path):
    import numpy as np

    from engine.errors import ImageReadError
    from engine.imageio import read_png_text, write_png

    path = tmp_path / "recipe.png"
    write_png(path, np.zeros((4, 5, 3), np.uint8), {"gan_studio_recipe": '{"seed": 7}'})
    assert read_png_text(path)["gan_studio_recipe"] == '{"seed": 7}'
    (tmp_path / "junk.png").write_bytes(b"not a png")
    import pytest

    with pytest.raises(ImageReadError):
        read_png_text(tmp_path / "junk.png")
