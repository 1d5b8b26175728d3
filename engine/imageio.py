"""Reading and writing image files as numpy arrays (numpy + Pillow only: no torch, no Qt).

The whole API:

* :func:`read_image` ``(path) -> np.ndarray`` — an image file as the engine's array conventions:
  ``HxW`` (grayscale), ``HxWx3`` (RGB) or ``HxWx4`` (RGBA), ``uint8`` or, for 16-bit files,
  ``uint16``. EXIF orientation is applied (the array is upright as viewers show it). Palette
  images become RGB (RGBA when they have transparency); gray+alpha becomes RGBA. 16-bit PNGs
  keep all 16 bits, colour ones included (Pillow truncates those to 8 bits, so they are decoded
  here). Raises :class:`engine.errors.ImageReadError` with a message for people.
* :func:`write_png` ``(path, array, text_chunks=None) -> Path`` — write such an array as PNG
  (16-bit for ``uint16``), atomically: a temporary file in the same folder is renamed over the
  target only once complete, so an interrupted write never leaves a half file behind.
  ``text_chunks`` are stored as PNG text chunks (e.g. the model and settings used).
* :data:`IMAGE_EXTENSIONS` — file name endings :func:`read_image` is meant for (folder batches).
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path
from typing import Mapping

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from engine.errors import ImageReadError, InputError
from engine.fileutil import atomic_write

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EXIF_ORIENTATION = 0x0112


# ---------------------------------------------------------------------------------------------
# reading


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file; see the module docstring for the array it returns."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ImageReadError(f"{path} does not exist. Check the path or pick the file again.")
    if path.is_dir():
        raise ImageReadError(f"{path} is a folder, not an image file.")
    try:
        with open(path, "rb") as handle:
            head = handle.read(33)
    except OSError as exc:
        raise ImageReadError(f"{path.name} cannot be opened ({exc.strerror or exc}). Check that you may read it.") from exc
    try:
        if head.startswith(_PNG_SIGNATURE) and len(head) >= 33 and head[24] == 16 and head[25] in (2, 4, 6):
            return _read_png16_color(path)
        return _read_with_pillow(path)
    except ImageReadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageReadError(
            f"{path.name} is too large to open safely ({exc}). Scale it down in an image editor first."
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, zlib.error, struct.error, EOFError) as exc:
        raise ImageReadError(
            f"{path.name} could not be read as an image ({str(exc)[:160] or type(exc).__name__}). It may be "
            "truncated (an interrupted download or copy) or not an image; open it in an image viewer to check."
        ) from exc


def _read_with_pillow(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        im.load()
        im = ImageOps.exif_transpose(im)
        mode = im.mode
        if mode in ("1", "L"):
            return np.asarray(im.convert("L"), dtype=np.uint8).copy()
        if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
            return np.asarray(im).astype(np.uint16)
        if mode == "I":
            values = np.asarray(im)
            if values.min() < 0 or values.max() > 65535:
                raise ImageReadError(f"{path.name} holds 32-bit integer pixels outside 0..65535, which GAN Studio cannot use.")
            return values.astype(np.uint16)
        if mode == "F":
            raise ImageReadError(f"{path.name} holds floating-point pixels; save it as 8- or 16-bit PNG or TIFF first.")
        if mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in im.info):
            return np.asarray(im.convert("RGBA"), dtype=np.uint8).copy()
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def _png_chunks(data: bytes, name: str):
    if not data.startswith(_PNG_SIGNATURE):
        raise ImageReadError(f"{name} is not a PNG file.")
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise ImageReadError(f"{name} is truncated (a PNG chunk ends early); get a fresh copy.")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length
    raise ImageReadError(f"{name} is truncated (no PNG end marker); get a fresh copy.")


def _read_png16_color(path: Path) -> np.ndarray:
    """Decode a non-interlaced 16-bit RGB, RGBA or gray+alpha PNG keeping all 16 bits."""
    data = path.read_bytes()
    ihdr = None
    idat = []
    trns = None
    orientation = 1
    for kind, body in _png_chunks(data, path.name):
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"tRNS":
            trns = body
        elif kind == b"eXIf":
            orientation = _exif_orientation(body)
    if ihdr is None or not idat:
        raise ImageReadError(f"{path.name} is damaged: it lacks the PNG header or image data.")
    width, height, depth, color_type, _, _, interlace = ihdr
    if interlace:
        raise ImageReadError(
            f"{path.name} is an interlaced 16-bit colour PNG, which GAN Studio cannot read; re-save it without interlacing."
        )
    channels = {2: 3, 4: 2, 6: 4}[color_type]
    bpp = channels * 2
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise ImageReadError(f"{path.name}: the image data is damaged or truncated ({exc}); get a fresh copy.") from exc
    stride = width * bpp
    if len(raw) < height * (stride + 1):
        raise ImageReadError(f"{path.name} is truncated (image data for {len(raw) // (stride + 1)} of {height} rows); get a fresh copy.")
    rows = np.frombuffer(raw, dtype=np.uint8, count=height * (stride + 1)).reshape(height, stride + 1)
    filters = rows[:, 0]
    if filters.max(initial=0) > 4:
        raise ImageReadError(f"{path.name} is damaged (unknown PNG row filter {int(filters.max())}).")
    pixels = _unfilter(filters, rows[:, 1:].reshape(height, width, bpp))
    image = pixels.reshape(height, width, channels, 2).view(">u2")[..., 0].astype(np.uint16)
    if color_type == 4:  # gray + alpha -> RGBA
        image = np.concatenate([np.repeat(image[..., :1], 3, axis=2), image[..., 1:]], axis=2)
    elif color_type == 2 and trns is not None and len(trns) == 6:
        key = np.array(struct.unpack(">HHH", trns), dtype=np.uint16)
        alpha = np.where(np.all(image == key, axis=2), 0, 65535).astype(np.uint16)
        image = np.concatenate([image, alpha[..., None]], axis=2)
    return _apply_orientation(image, orientation)


def _unfilter(filters: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Undo the PNG row filters. ``data``: HxWxB filtered bytes (B bytes per pixel).

    Rows using only None/Sub/Up are undone row by row with whole-row numpy operations. Average
    and Paeth depend on the pixel to the left *and* the rows above, so those images are undone
    along anti-diagonals (every pixel of a diagonal only needs pixels of earlier diagonals):
    H+W numpy steps instead of H*W Python steps."""
    height, width, bpp = data.shape
    if filters.max(initial=0) <= 2:
        out = np.empty_like(data)
        previous = np.zeros((width, bpp), dtype=np.uint8)
        for r in range(height):
            row, kind = data[r], filters[r]
            if kind == 1:
                row = (np.cumsum(row, axis=0, dtype=np.int64) & 255).astype(np.uint8)
            elif kind == 2:
                row = row + previous  # uint8 arithmetic wraps modulo 256, as PNG wants
            out[r] = row
            previous = out[r]
        return out
    out = np.zeros((height + 1, width + 1, bpp), dtype=np.int32)  # a zero row above, a zero column left
    values = data.astype(np.int32)
    row_filter = filters.astype(np.int32)
    for d in range(height + width - 1):
        r = np.arange(max(0, d - width + 1), min(height - 1, d) + 1)
        c = d - r
        left, up, up_left = out[r + 1, c], out[r, c + 1], out[r, c]
        kind = row_filter[r][:, None]
        p = left + up - up_left
        pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - up_left)
        paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
        predictor = np.select(
            [kind == 1, kind == 2, kind == 3, kind == 4],
            [left, up, (left + up) >> 1, paeth],
            default=0,
        )
        out[r + 1, c + 1] = (values[r, c] + predictor) & 255
    return out[1:, 1:].astype(np.uint8)


def _exif_orientation(exif: bytes) -> int:
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        return int(parsed.get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not make the image unreadable
        log.debug("ignoring unreadable EXIF block", exc_info=True)
        return 1


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip an HxW[xC] array as EXIF orientation 1..8 says (what exif_transpose does)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(image)) if op else image


# ---------------------------------------------------------------------------------------------
# writing


def write_png(path: str | os.PathLike, array: np.ndarray, text_chunks: Mapping[str, str] | None = None) -> Path:
    """Write ``array`` (HxW, HxWx3 or HxWx4; uint8 or uint16) as a PNG, atomically.

    ``text_chunks``: key -> text stored in the file (tEXt, or iTXt for non-Latin-1 text)."""
    path = Path(path)
    array = np.asarray(array)
    if array.dtype not in (np.uint8, np.uint16):
        raise InputError(f"Only uint8 or uint16 images can be saved as PNG, not {array.dtype}.")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4))):
        raise InputError(f"An image to save must be HxW, HxWx3 or HxWx4; got shape {array.shape}.")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as handle:
            if array.dtype == np.uint16 and array.ndim == 3:
                handle.write(_encode_png16_color(array, text_chunks or {}))
            else:
                _pillow_image(array).save(handle, format="PNG", pnginfo=_png_info(text_chunks or {}))
    return path


def _pillow_image(array: np.ndarray) -> Image.Image:
    if array.dtype == np.uint16:  # 2-D here: Pillow's 16-bit gray ("I;16")
        return Image.fromarray(np.ascontiguousarray(array.astype("<u2")))
    return Image.fromarray(np.ascontiguousarray(array))


def _png_info(text_chunks: Mapping[str, str]) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    for key, value in text_chunks.items():
        info.add_text(str(key), str(value))
    return info


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _text_chunk(key: str, value: str) -> bytes:
    key_bytes = key.encode("latin-1", errors="replace")[:79]
    try:
        return _chunk(b"tEXt", key_bytes + b"\x00" + value.encode("latin-1"))
    except UnicodeEncodeError:
        return _chunk(b"iTXt", key_bytes + b"\x00\x00\x00\x00\x00" + value.encode("utf-8"))


def _encode_png16_color(array: np.ndarray, text_chunks: Mapping[str, str]) -> bytes:
    """A 16-bit RGB/RGBA PNG (Pillow cannot write those). Rows use the Sub filter."""
    height, width, channels = array.shape
    color_type = {3: 2, 4: 6}[channels]
    data = array.astype(">u2").view(np.uint8).reshape(height, width, channels * 2)
    sub = data.copy()
    sub[:, 1:] = data[:, 1:] - data[:, :-1]  # uint8 arithmetic wraps modulo 256
    rows = np.concatenate([np.ones((height, 1), np.uint8), sub.reshape(height, -1)], axis=1)
    parts = [_PNG_SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0))]
    parts += [_text_chunk(str(k), str(v)) for k, v in text_chunks.items()]
    parts += [_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)), _chunk(b"IEND", b"")]
    return b"".join(parts)


def read_png_text(path: str | os.PathLike) -> dict[str, str]:
    """The text chunks (tEXt/iTXt/zTXt) of a PNG, e.g. the ``gan_studio_recipe`` GAN Studio writes.

    Raises :class:`ImageReadError` when the file cannot be read as an image."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            text = getattr(img, "text", None) or {}
            return {str(k): str(v) for k, v in text.items()}
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ImageReadError(f"{path.name} cannot be read as an image ({exc}); it may be truncated or not an image.") from exc


#: the PNG text chunk that holds a GAN Studio recipe (JSON)
RECIPE_KEY = "gan_studio_recipe"


def write_recipe_png(path: str | os.PathLike, image: np.ndarray, recipe: Mapping) -> Path:
    """Write ``image`` as PNG (atomically) with ``recipe`` as JSON in the ``gan_studio_recipe`` chunk."""
    import json

    from engine.version import APP_NAME, APP_VERSION

    return write_png(path, image, {RECIPE_KEY: json.dumps(dict(recipe)), "Software": f"{APP_NAME} {APP_VERSION}"})


def read_recipe(path: str | os.PathLike, tool: str | None = None) -> dict:
    """The recipe GAN Studio stored in a PNG it exported.

    ``tool`` (e.g. ``"paint"``, ``"latent"``) refuses recipes made in another workspace.
    Raises :class:`ImageReadError` (unreadable file) or :class:`InputError` (no recipe, a
    damaged one, or one of another workspace), each with a message for people."""
    import json

    name = Path(path).name
    text = read_png_text(path).get(RECIPE_KEY)
    if not text:
        raise InputError(f"{name} holds no GAN Studio recipe (it was not exported by GAN Studio).")
    try:
        recipe = json.loads(text)
    except ValueError as exc:
        raise InputError(f"The recipe in {name} is damaged ({exc}).") from exc
    if not isinstance(recipe, dict):
        raise InputError(f"The recipe in {name} is damaged.")
    if tool is not None and recipe.get("tool") not in (None, tool):
        raise InputError(f"{name} was made in the {str(recipe.get('tool')).title()} workspace; open its recipe there.")
    return recipe
