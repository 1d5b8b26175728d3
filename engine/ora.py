"""GAN Studio documents as OpenRaster (.ora) files, and their flattened exports (numpy + Pillow only).

OpenRaster is the layered format Krita, GIMP and MyPaint read: a zip whose first member is an
uncompressed ``mimetype`` ("image/openraster"), a ``stack.xml`` listing the layers top first,
one PNG per layer under ``data/``, ``Thumbnails/thumbnail.png`` (at most 256 px) and
``mergedimage.png`` (the flattened image).

What GAN Studio adds lives in its own folder of the archive, which other programs ignore:

* ``gan-studio/document.json`` — format version, every layer's id, kind, label set, lock, exact
  opacity and visibility, recipe; the document ``state`` (models, style, seeds, bookmarks ...)
  and its ``label_sets``;
* ``gan-studio/layers/<id>.npy`` — the exact pixels of label layers (int32 class indices) and
  mask layers (bool), ``<id>.instances.npy`` for instance maps (``np.save``, no pickles);
* ``gan-studio/arrays/<n>.npy`` — ``Document.arrays`` (latents, directions ...).

Label and mask layers also get a PNG in ``data/`` (class colours; white where masked), marked
hidden, so other programs show something sensible without changing the flattened image.

The API:

* :func:`write_ora` ``(path, document)`` — atomic: the archive is written to a temporary file in
  the same folder, flushed and fsynced, then renamed over ``path`` (and the folder fsynced), so a
  crash or kill mid-save leaves the previous file intact.
* :func:`read_ora` ``(path, limits=None) -> (Document, warnings)`` — restores everything GAN
  Studio wrote; a file from another program imports its image layers. Damaged or missing extra
  data opens what can be opened and says what could not in ``warnings`` (sentences for people).
  Unreadable files, zip bombs and absurdly large layers raise :class:`engine.errors.DocumentError`.
* :func:`export_png` / :func:`export_label_map` — the flattened image (with the recipes of the
  generated layers as PNG text chunks) and a label layer as an index PNG.

JSON values come back as JSON gives them (tuples as lists).
"""

from __future__ import annotations

import io
import json
import logging
import os
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image, UnidentifiedImageError

from engine.document import BLEND_MODES, LAYER_KINDS, Document, Layer, colorize_labels, label_palette
from engine.errors import DocumentError
from engine.fileutil import atomic_write, cleanup_stale_temps
from engine.imageio import RECIPE_KEY
from engine.version import APP_NAME, APP_VERSION

log = logging.getLogger(__name__)

MIMETYPE = "image/openraster"
FORMAT = "gan-studio-document"
FORMAT_VERSION = 1
EXTRA_DIR = "gan-studio/"
META_PATH = EXTRA_DIR + "document.json"
THUMBNAIL_SIZE = 256
SRC_OVER = "svg:src-over"
#: PNG zlib level for layers: 1 keeps autosaves of big documents quick; files stay small enough
PNG_COMPRESS_LEVEL = 1
RECIPES_KEY = "gan_studio_recipes"


@dataclass(frozen=True)
class OraLimits:
    """Safety limits for reading (a file over any of them is refused with a clear message).

    ``max_layer_pixels`` defaults to 150 MP, under Pillow's own decompression-bomb guard
    (~179 MP), so one message covers both; ``max_total_pixels`` bounds all layers together
    (about 4 GB of RGBA); ``max_total_bytes`` the uncompressed size of the whole archive,
    checked from the zip headers and again while decompressing."""

    max_layer_pixels: int = 150_000_000
    max_total_pixels: int = 1_000_000_000
    max_total_bytes: int = 8 << 30
    max_members: int = 20_000
    max_text_bytes: int = 64 << 20

    @property
    def max_member_bytes(self) -> int:
        return 4 * self.max_layer_pixels + (1 << 20)


DEFAULT_LIMITS = OraLimits()


# ---------------------------------------------------------------------------------------------
# writing


def write_ora(path: str | os.PathLike, document: Document) -> Path:
    """Save ``document`` as an OpenRaster file at ``path``, atomically (see the module docstring).

    Raises :class:`DocumentError` when it cannot be written (the file at ``path``, if any, is then
    exactly as it was)."""
    path = Path(path)
    meta = _document_meta(document)  # fails on unsaveable state before anything touches the disk
    meta_bytes = _json_bytes(meta, "the document's state")
    cleanup_stale_temps(path)  # what earlier saves of this file that were killed left behind
    try:
        with atomic_write(path) as tmp:
            with open(tmp, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
                _write_archive(archive, document, meta, meta_bytes)
    except OSError as exc:
        raise DocumentError(f"{path} could not be saved ({exc.strerror or exc}); the previous file, if any, is "
                            "unchanged. Free some disk space or save to another folder.") from exc
    log.info("saved %s (%d layers)", path, len(document.layers))
    return path


def _write_archive(archive: zipfile.ZipFile, document: Document, meta: dict, meta_bytes: bytes) -> None:
    # the mimetype first and stored, so tools can sniff it at a fixed offset
    archive.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE.encode("ascii"), compress_type=zipfile.ZIP_STORED)
    entries = {entry["id"]: entry for entry in meta["layers"]}
    stack_layers = []
    for layer in document.layers:
        entry = entries[layer.id]
        _store(archive, entry["src"], _png_bytes(_preview_pixels(document, layer)))
        if layer.kind != "image":
            _store(archive, entry["data"], _npy_bytes(layer.pixels), deflate=True)
            if layer.instances is not None:
                _store(archive, entry["instances"], _npy_bytes(layer.instances), deflate=True)
        stack_layers.append((layer, entry["src"]))
    for item in meta["arrays"]:
        _store(archive, item["file"], _npy_bytes(document.arrays[item["name"]], f"document array '{item['name']}'"),
               deflate=True)
    _store(archive, "stack.xml", _stack_xml(document, stack_layers), deflate=True)
    _store(archive, META_PATH, meta_bytes, deflate=True)
    merged = document.composite()
    _store(archive, "mergedimage.png", _png_bytes(merged))
    thumb = Image.fromarray(merged, "RGBA")
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    _store(archive, "Thumbnails/thumbnail.png", _png_bytes(np.asarray(thumb)))


def _store(archive: zipfile.ZipFile, name: str, data: bytes, deflate: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    if deflate:
        archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    else:
        archive.writestr(info, data, compress_type=zipfile.ZIP_STORED)


def _png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def _npy_bytes(array: np.ndarray, what: str = "a layer") -> bytes:
    array = np.asarray(array)
    if array.dtype.hasobject:
        raise DocumentError(f"{what} holds Python objects, which cannot be saved; store numbers only.")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _json_bytes(value: Any, what: str) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise DocumentError(f"{what} holds a value that cannot be saved ({exc}); this is a bug in GAN Studio — "
                            "your work is still open, please report it.") from exc


def _document_meta(document: Document) -> dict:
    layers = []
    for number, layer in enumerate(document.layers):
        if layer.size != (document.height, document.width):
            raise DocumentError(f"layer '{layer.name}' is {layer.size[1]}x{layer.size[0]} but the document is "
                                f"{document.width}x{document.height}; it cannot be saved.")
        base = f"{number:03d}-{_safe(layer.id)}"
        entry: dict[str, Any] = {
            "id": layer.id, "name": layer.name, "kind": layer.kind, "src": f"data/{base}.png",
            "visible": layer.visible, "opacity": layer.opacity, "blend_mode": layer.blend_mode,
            "locked": layer.locked, "label_set": layer.label_set, "recipe": layer.recipe,
        }
        if layer.kind != "image":
            entry["data"] = f"{EXTRA_DIR}layers/{base}.npy"
        if layer.instances is not None:
            entry["instances"] = f"{EXTRA_DIR}layers/{base}.instances.npy"
        layers.append(entry)
    arrays = [{"name": name, "file": f"{EXTRA_DIR}arrays/{i:04d}.npy"} for i, name in enumerate(document.arrays)]
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "app": APP_NAME, "app_version": APP_VERSION,
        "width": document.width, "height": document.height, "layers": layers, "arrays": arrays,
        "label_sets": document.label_sets, "state": document.state,
    }


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:40] or "layer"


def _stack_xml(document: Document, layers: list[tuple[Layer, str]]) -> bytes:
    image = ET.Element("image", {"version": "0.0.5", "w": str(document.width), "h": str(document.height),
                                 "xres": "72", "yres": "72"})
    stack = ET.SubElement(image, "stack")
    for layer, src in reversed(layers):  # OpenRaster lists the top layer first
        attrs = {
            "name": layer.name, "src": src, "x": "0", "y": "0", "opacity": f"{layer.opacity:.6f}",
            # label and mask layers are hidden for other programs (their flattened image ignores them)
            "visibility": "visible" if layer.visible and layer.kind == "image" else "hidden",
            "composite-op": SRC_OVER,
        }
        if layer.locked:
            attrs["edit-locked"] = "true"
        if layer.kind != "image":
            attrs["gan-studio-kind"] = layer.kind
        ET.SubElement(stack, "layer", attrs)
    return ET.tostring(image, encoding="utf-8", xml_declaration=True)


def _preview_pixels(document: Document, layer: Layer) -> np.ndarray:
    if layer.kind == "image":
        return layer.pixels
    if layer.kind == "labels":
        return colorize_labels(layer.pixels, label_palette(document, layer))
    rgba = np.zeros(layer.pixels.shape + (4,), np.uint8)
    rgba[layer.pixels] = 255
    return rgba


# ---------------------------------------------------------------------------------------------
# reading


def read_ora(path: str | os.PathLike, limits: OraLimits | None = None) -> tuple[Document, list[str]]:
    """Open an OpenRaster file: ``(document, warnings)``; see the module docstring."""
    path = Path(path)
    if not path.exists():
        raise DocumentError(f"{path} does not exist. Check the path or pick the file again.")
    if path.is_dir():
        raise DocumentError(f"{path} is a folder, not an OpenRaster (.ora) file.")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, zlib.error) as exc:
        raise DocumentError(
            f"{path.name} is not an OpenRaster file or it is damaged or truncated (an interrupted save, "
            f"download or copy). If GAN Studio autosaved it, File > Open the recovery copy instead.") from exc
    except OSError as exc:
        raise DocumentError(f"{path.name} cannot be opened ({exc.strerror or exc}). Check that you may read it.") from exc
    with archive:
        return _OraReader(archive, path.name, limits or DEFAULT_LIMITS).read()


class _OraReader:
    """One read of one archive (keeps the running totals the limits are checked against)."""

    def __init__(self, archive: zipfile.ZipFile, name: str, limits: OraLimits):
        self.archive = archive
        self.name = name
        self.limits = limits
        self.warnings: list[str] = []
        self.bytes_read = 0
        self.pixels_read = 0

    # ---- top level ------------------------------------------------------------------------

    def read(self) -> tuple[Document, list[str]]:
        self._check_headers()
        self._check_mimetype()
        width, height, stack = self._read_stack()
        document = Document(width=width, height=height)
        meta = self._read_meta(width, height)
        if meta is None:
            self._import_stack(document, stack)
        else:
            self._restore(document, meta, stack)
        if stack and not document.layers:
            raise DocumentError(f"None of the {len(stack)} layers of {self.name} could be read: "
                                + " ".join(self.warnings))
        for message in self.warnings:
            log.info("%s: %s", self.name, message)
        return document, self.warnings

    def _check_headers(self) -> None:
        infos = self.archive.infolist()
        limits = self.limits
        if len(infos) > limits.max_members:
            raise DocumentError(f"{self.name} holds {len(infos):,} files, more than the {limits.max_members:,} "
                                "GAN Studio opens; it is not a document it can read safely.")
        total = sum(info.file_size for info in infos)
        if total > limits.max_total_bytes:
            raise DocumentError(f"{self.name} would unpack to {_size(total)}, more than the {_size(limits.max_total_bytes)} "
                                "GAN Studio allows (a safety limit against zip bombs); it was not opened.")
        for info in infos:
            if info.flag_bits & 0x1:
                raise DocumentError(f"{self.name} is encrypted ({info.filename}); GAN Studio cannot open "
                                    "password-protected files.")

    def _member(self, name: str, limit: int | None = None) -> bytes:
        """The bytes of one member, decompressed with limits (a lying header cannot blow memory up)."""
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise
        limit = self.limits.max_member_bytes if limit is None else limit
        if info.file_size > limit:
            raise DocumentError(f"{name} in {self.name} unpacks to {_size(info.file_size)}, more than the "
                                f"{_size(limit)} allowed for it (a safety limit); the file was not opened.")
        chunks, total = [], 0
        try:
            with self.archive.open(info) as handle:
                while True:
                    chunk = handle.read(1 << 20)
                    if not chunk:
                        break
                    total += len(chunk)
                    self.bytes_read += len(chunk)
                    if total > min(limit, info.file_size) or self.bytes_read > self.limits.max_total_bytes:
                        raise DocumentError(f"{name} in {self.name} unpacks to more data than its header says "
                                            "(a zip bomb?); the file was not opened.")
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            raise _Damaged(f"{name} is damaged ({str(exc)[:120] or type(exc).__name__})") from exc
        return b"".join(chunks)

    def _check_mimetype(self) -> None:
        try:
            value = self._member("mimetype", 256).decode("ascii", "replace").strip()
        except KeyError:
            self.warnings.append(f"{self.name} has no 'mimetype' entry; it was read as OpenRaster anyway.")
            return
        except _Damaged as exc:
            raise DocumentError(f"{self.name} is damaged: {exc}.") from exc
        if value != MIMETYPE:
            raise DocumentError(f"{self.name} is a zip file of type '{value[:60]}', not an OpenRaster image.")

    # ---- stack.xml ------------------------------------------------------------------------

    def _read_stack(self) -> tuple[int, int, list[dict]]:
        try:
            data = self._member("stack.xml", self.limits.max_text_bytes)
        except KeyError:
            raise DocumentError(f"{self.name} has no stack.xml, so it is not an OpenRaster image (or it is damaged).") from None
        except _Damaged as exc:
            raise DocumentError(f"{self.name} is damaged or truncated: {exc}.") from exc
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            raise DocumentError(f"{self.name}: stack.xml declares a DOCTYPE/entities, which OpenRaster never needs; "
                                "it was not opened (a safety measure).")
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            raise DocumentError(f"{self.name}: stack.xml is damaged ({exc}); the file cannot be opened.") from exc
        if root.tag != "image":
            raise DocumentError(f"{self.name}: stack.xml does not describe an image (root '{root.tag}').")
        try:
            width, height = int(root.get("w", "")), int(root.get("h", ""))
        except ValueError:
            raise DocumentError(f"{self.name}: stack.xml gives no valid image size (w, h).") from None
        if width <= 0 or height <= 0:
            raise DocumentError(f"{self.name}: the image size {width}x{height} is not valid.")
        self._check_pixels(width, height, "the image")
        stack = root.find("stack")
        entries: list[dict] = []
        if stack is not None:
            self._collect(stack, entries, 1.0, True, 0, 0, nested=False)
        entries.reverse()  # bottom first, as Document keeps them
        return width, height, entries

    def _collect(self, stack: ET.Element, out: list[dict], opacity: float, visible: bool, x0: int, y0: int,
                 nested: bool) -> None:
        for element in stack:
            x = x0 + _int(element.get("x"), 0)
            y = y0 + _int(element.get("y"), 0)
            alpha = opacity * _float(element.get("opacity"), 1.0)
            shown = visible and element.get("visibility", "visible") != "hidden"
            if element.tag == "stack":
                if not nested:
                    self.warnings.append("Layer groups were flattened into single layers (GAN Studio has no groups).")
                    nested = True
                self._collect(element, out, alpha, shown, x, y, nested=True)
            elif element.tag == "layer":
                op = element.get("composite-op", SRC_OVER)
                if op != SRC_OVER:
                    self.warnings.append(f"Layer '{element.get('name', '')}' used the blend mode '{op}', which GAN "
                                         "Studio does not have; it is shown as normal.")
                out.append({"name": element.get("name") or os.path.basename(element.get("src", "")) or "Layer",
                            "src": element.get("src", ""), "x": x, "y": y, "opacity": alpha, "visible": shown,
                            "locked": element.get("edit-locked") == "true"})
            else:
                self.warnings.append(f"A '{element.tag}' element of stack.xml was skipped (not supported).")

    # ---- pixels ---------------------------------------------------------------------------

    def _check_pixels(self, width: int, height: int, what: str) -> None:
        count = width * height
        if count > self.limits.max_layer_pixels:
            raise DocumentError(
                f"{what} in {self.name} is {width}x{height} ({count / 1e6:.0f} megapixels), more than the "
                f"{self.limits.max_layer_pixels / 1e6:.0f} megapixels GAN Studio opens (a safety limit). "
                "Scale it down in another program first.")

    def _count(self, width: int, height: int) -> None:
        self.pixels_read += width * height
        if self.pixels_read > self.limits.max_total_pixels:
            raise DocumentError(f"the layers of {self.name} hold more than {self.limits.max_total_pixels / 1e6:.0f} "
                                "megapixels in all, more than GAN Studio opens (a safety limit).")

    def _png(self, src: str, what: str) -> np.ndarray:
        """An RGBA uint8 layer PNG from the archive (limits checked before decoding)."""
        data = self._member(src)
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":  # size from the header, before Pillow
            self._check_pixels(int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"), what)
        try:
            with Image.open(io.BytesIO(data)) as image:
                self._check_pixels(image.width, image.height, what)
                self._count(image.width, image.height)
                image.load()
                return np.asarray(image.convert("RGBA"), dtype=np.uint8).copy()
        except Image.DecompressionBombError as exc:
            raise DocumentError(f"{what} in {self.name} has more megapixels than Pillow opens safely ({exc}); "
                                "scale it down in another program first.") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, zlib.error, EOFError) as exc:
            raise _Damaged(f"its image {src} is damaged ({str(exc)[:120] or type(exc).__name__})") from exc

    def _npy(self, name: str, dtype: Any, shape: tuple[int, ...] | None, what: str) -> np.ndarray:
        data = self._member(name)
        try:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise _Damaged(f"{name} is damaged ({str(exc)[:120]})") from exc
        if not isinstance(array, np.ndarray):
            raise _Damaged(f"{name} is not an array")
        if dtype is not None and array.dtype != dtype:
            raise _Damaged(f"{name} holds {array.dtype}, not {np.dtype(dtype).name}")
        if shape is not None and array.shape != shape:
            raise _Damaged(f"{name} is {array.shape}, not {shape}")
        return array

    def _place(self, rgba: np.ndarray, x: int, y: int, width: int, height: int) -> np.ndarray:
        """Put a layer image at (x, y) of a transparent canvas (parts outside are cut off)."""
        if rgba.shape[:2] == (height, width) and x == 0 and y == 0:
            return rgba
        canvas = np.zeros((height, width, 4), np.uint8)
        h, w = rgba.shape[:2]
        cx0, cy0, cx1, cy1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
        if cx1 > cx0 and cy1 > cy0:
            canvas[cy0:cy1, cx0:cx1] = rgba[cy0 - y:cy1 - y, cx0 - x:cx1 - x]
        return canvas

    # ---- a file from another program ------------------------------------------------------

    def _import_stack(self, document: Document, stack: list[dict]) -> None:
        for entry in stack:
            layer = self._image_layer(document, entry)
            if layer is not None:
                document.insert(layer)

    def _image_layer(self, document: Document, entry: dict, **attrs: Any) -> Layer | None:
        name = entry["name"]
        if not entry["src"]:
            self.warnings.append(f"Layer '{name}' names no image; it was skipped.")
            return None
        try:
            rgba = self._png(entry["src"], f"layer '{name}'")
        except KeyError:
            self.warnings.append(f"Layer '{name}' could not be opened: its image {entry['src']} is missing.")
            return None
        except _Damaged as exc:
            self.warnings.append(f"Layer '{name}' could not be opened: {exc}.")
            return None
        pixels = self._place(rgba, entry["x"], entry["y"], document.width, document.height)
        values = {"name": name, "visible": entry["visible"], "opacity": entry["opacity"], "locked": entry["locked"]}
        values.update(attrs)
        return Layer(kind="image", pixels=pixels, **values)

    # ---- GAN Studio's own data ------------------------------------------------------------

    def _read_meta(self, width: int, height: int) -> dict | None:
        """document.json, or None (with a warning where it was expected) when it cannot be used."""
        has_extras = any(n.startswith(EXTRA_DIR) for n in self.archive.namelist())
        try:
            data = self._member(META_PATH, self.limits.max_text_bytes)
        except KeyError:
            if has_extras:
                self.warnings.append("GAN Studio's document data (gan-studio/document.json) is missing: only the image "
                                     "layers were opened; label maps, masks, recipes and latents could not be restored.")
            return None
        except _Damaged as exc:
            self.warnings.append(f"GAN Studio's document data is damaged ({exc}): only the image layers were opened.")
            return None
        try:
            meta = json.loads(data.decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("layers"), list):
                raise ValueError("not a GAN Studio document description")
        except (ValueError, UnicodeDecodeError) as exc:
            self.warnings.append(f"GAN Studio's document data is damaged ({str(exc)[:120]}): only the image layers "
                                 "were opened; label maps, masks, recipes and latents could not be restored.")
            return None
        if _int(meta.get("format_version"), 0) > FORMAT_VERSION:
            self.warnings.append(f"This document was saved by a newer GAN Studio ({meta.get('app_version', '?')}); "
                                 "parts it added may be missing here.")
        if (_int(meta.get("width"), width), _int(meta.get("height"), height)) != (width, height):
            self.warnings.append("GAN Studio's document data does not match the image size; only the image layers "
                                 "were opened.")
            return None
        return meta

    def _restore(self, document: Document, meta: dict, stack: list[dict]) -> None:
        label_sets = meta.get("label_sets")
        if isinstance(label_sets, dict):
            document.label_sets.update(label_sets)
        elif label_sets is not None:
            self.warnings.append("The document's label sets were damaged and could not be restored.")
        state = meta.get("state")
        if isinstance(state, dict):
            document.state.update(state)
        elif state is not None:
            self.warnings.append("The document's state (models, style, seeds, bookmarks) was damaged and could not "
                                 "be restored.")
        by_src = {entry["src"]: entry for entry in stack}
        used: set[str] = set()
        for raw in meta["layers"]:
            if not isinstance(raw, dict):
                self.warnings.append("A damaged layer description was skipped.")
                continue
            used.add(str(raw.get("src", "")))
            layer = self._restore_layer(document, raw, by_src)
            if layer is None:
                continue
            try:
                document.insert(layer)
            except ValueError as exc:
                self.warnings.append(f"Layer '{layer.name}' was skipped: {exc}.")
        for entry in stack:
            if entry["src"] not in used:
                layer = self._image_layer(document, entry)
                if layer is not None:
                    self.warnings.append(f"Layer '{entry['name']}' was added by another program; it was opened as "
                                         "an image layer on top.")
                    document.insert(layer)
        for item in meta.get("arrays") or ():
            name = item.get("name") if isinstance(item, dict) else None
            try:
                if not isinstance(name, str):
                    raise _Damaged("its description is damaged")
                document.arrays[name] = self._npy(str(item.get("file", "")), None, None, name)
            except KeyError:
                self.warnings.append(f"The document array '{name}' (latents/directions) is missing and could not be "
                                     "restored.")
            except _Damaged as exc:
                self.warnings.append(f"The document array '{name}' could not be restored: {exc}.")

    def _restore_layer(self, document: Document, raw: dict, by_src: dict[str, dict]) -> Layer | None:
        name = str(raw.get("name") or "Layer")
        kind = raw.get("kind")
        src = str(raw.get("src", ""))
        entry = by_src.get(src, {"name": name, "src": src, "x": 0, "y": 0, "opacity": 1.0, "visible": True,
                                 "locked": False})
        recipe = raw.get("recipe")
        attrs = {
            "name": name,
            "visible": bool(raw.get("visible", True)),
            "opacity": _float(raw.get("opacity"), 1.0),
            "locked": bool(raw.get("locked", False)),
            "blend_mode": raw.get("blend_mode") if raw.get("blend_mode") in BLEND_MODES else "normal",
            "recipe": recipe if isinstance(recipe, dict) else None,
        }
        if isinstance(raw.get("id"), str) and raw["id"]:
            attrs["id"] = raw["id"]
        if kind not in LAYER_KINDS:
            self.warnings.append(f"Layer '{name}' is of an unknown kind ({kind!r}); it was opened as an image layer.")
            kind = "image"
        if kind == "image":
            return self._image_layer(document, entry, **attrs)
        label_set = raw.get("label_set") if isinstance(raw.get("label_set"), str) else None
        shape = (document.height, document.width)
        dtype = np.int32 if kind == "labels" else np.bool_
        try:
            pixels = self._npy(str(raw.get("data", "")), dtype, shape, name)
            self._count(document.width, document.height)
        except (KeyError, _Damaged) as exc:
            why = "is missing" if isinstance(exc, KeyError) else f"could not be read ({exc})"
            if raw.get("instances"):
                self.warnings.append(f"The instance map of layer '{name}' could not be restored; paint instances again.")
            return self._fallback(document, entry, kind, label_set, attrs, why)
        layer = Layer(kind=kind, pixels=pixels, label_set=label_set, **attrs)
        if raw.get("instances"):
            try:
                layer.instances = self._npy(str(raw["instances"]), np.int32, shape, name)
            except (KeyError, _Damaged):
                self.warnings.append(f"The instance map of layer '{name}' could not be restored; paint instances again.")
        return layer

    def _fallback(self, document: Document, entry: dict, kind: str, label_set: str | None, attrs: dict,
                  why: str) -> Layer | None:
        """Rebuild a label/mask layer from its preview PNG when its exact data is gone."""
        name = attrs["name"]
        try:
            rgba = self._png(entry["src"], f"layer '{name}'")
        except (KeyError, _Damaged):
            self.warnings.append(f"Layer '{name}' ({kind}) could not be restored: its data {why} and its preview "
                                 "image is missing too.")
            return None
        rgba = self._place(rgba, entry["x"], entry["y"], document.width, document.height)
        if kind == "mask":
            self.warnings.append(f"Mask layer '{name}': its exact data {why}; it was rebuilt from its preview image.")
            return Layer(kind="mask", pixels=rgba[:, :, 3] > 0, label_set=label_set, **attrs)
        labels = self._labels_from_colors(document, label_set, rgba)
        if labels is not None:
            self.warnings.append(f"Label layer '{name}': its exact data {why}; it was rebuilt from its colours.")
            return Layer(kind="labels", pixels=labels, label_set=label_set, **attrs)
        self.warnings.append(f"Label layer '{name}': its class data {why}; its colours were opened as an image "
                             "layer instead.")
        attrs = dict(attrs, visible=False)
        return Layer(kind="image", pixels=rgba, **attrs)

    @staticmethod
    def _labels_from_colors(document: Document, label_set: str | None, rgba: np.ndarray) -> np.ndarray | None:
        probe = Layer(name="probe", kind="labels", pixels=np.zeros((1, 1), np.int32), label_set=label_set)
        palette = label_palette(document, probe)
        if not len(palette):
            return None
        keys = (palette[:, 0].astype(np.int64) << 16) | (palette[:, 1].astype(np.int64) << 8) | palette[:, 2]
        if len(np.unique(keys)) != len(keys):
            return None  # two classes share a colour: cannot tell them apart
        rgb = rgba[:, :, :3].astype(np.int64)
        pixel_keys = (rgb[:, :, 0] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 2]
        order = np.argsort(keys)
        positions = np.clip(np.searchsorted(keys[order], pixel_keys), 0, len(keys) - 1)
        found = keys[order][positions] == pixel_keys
        if not found.all():
            return None
        return order[positions].astype(np.int32)


class _Damaged(Exception):
    """A member of the archive could not be read (internal: becomes a warning or a DocumentError)."""


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value: Any, default: float) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if np.isfinite(result) else default


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


# ---------------------------------------------------------------------------------------------
# flattened exports


def layer_recipes(document: Document) -> list[dict[str, Any]]:
    """``[{"layer": name, "id": id, "recipe": {...}}]`` for every layer with a recipe, bottom first."""
    return [{"layer": layer.name, "id": layer.id, "recipe": layer.recipe} for layer in document.layers if layer.recipe]


def export_png(document: Document, path: str | os.PathLike) -> Path:
    """Write the flattened document as PNG (RGB when fully opaque), atomically.

    Text chunks: ``Software``; ``gan_studio_recipe`` — the recipe of the topmost visible generated
    layer (what Paint > Open recipe reads); ``gan_studio_recipes`` — JSON list of every generated
    layer's recipe (see :func:`layer_recipes`)."""
    from engine.imageio import write_png

    image = document.composite()
    if image.size and (image[:, :, 3] == 255).all():
        image = np.ascontiguousarray(image[:, :, :3])
    chunks = {"Software": f"{APP_NAME} {APP_VERSION}"}
    recipes = layer_recipes(document)
    if recipes:
        visible = [layer for layer in document.layers if layer.recipe and layer.visible and layer.kind == "image"]
        top = visible[-1].recipe if visible else recipes[-1]["recipe"]
        chunks[RECIPE_KEY] = json.dumps(top, ensure_ascii=False)
        chunks[RECIPES_KEY] = json.dumps(recipes, ensure_ascii=False)
    return write_png(path, image, text_chunks=chunks)


def find_layer(document: Document, name_or_id: str | None, kinds: Iterable[str] = LAYER_KINDS) -> Layer:
    """The topmost layer called ``name_or_id`` (or with that id) of one of ``kinds``; the topmost
    such layer when ``name_or_id`` is None. DocumentError naming the choices otherwise."""
    kinds = tuple(kinds)
    candidates = [layer for layer in reversed(document.layers) if layer.kind in kinds]
    for layer in candidates:
        if name_or_id is None or layer.name == name_or_id or layer.id == name_or_id:
            return layer
    names = ", ".join(f"'{layer.name}'" for layer in candidates) or "none"
    what = "/".join(kinds)
    if name_or_id is None:
        raise DocumentError(f"The document has no {what} layer.")
    raise DocumentError(f"The document has no {what} layer called '{name_or_id}' (there are: {names}).")


def export_label_map(document: Document, path: str | os.PathLike, layer_name: str | None = None) -> Path:
    """Write a label layer (by name or id; default the topmost) as an index PNG, atomically:
    8-bit palette PNG in the label set's colours, or 16-bit gray for more than 256 classes."""
    from engine import labelsets

    layer = find_layer(document, layer_name, ("labels",))
    path = Path(path)
    label_set = None
    data = document.label_sets.get(layer.label_set or "")
    try:
        label_set = labelsets.LabelSet.from_dict(data) if data else (
            labelsets.builtin(layer.label_set) if layer.label_set else None)
    except Exception:  # the palette only colours the file; the indices are what matter
        log.debug("label set %r unavailable for export", layer.label_set, exc_info=True)
    with atomic_write(path) as tmp:
        labelsets.write_index_png(tmp, layer.pixels, label_set)
    return path
