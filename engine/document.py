"""The document an artist works on, as plain data (numpy + dataclasses; no torch, no Qt).

A document is a canvas size plus a stack of layers, bottom first, and per-document state:

* :class:`Layer` kinds:
  - ``"image"``: ``pixels`` is ``HxWx4 uint8`` RGBA (straight alpha);
  - ``"labels"``: ``pixels`` is ``HxW int32`` class indices of the label set named by
    ``label_set``; ``instances`` optionally ``HxW int32`` instance ids (pix2pixHD);
  - ``"mask"``: ``pixels`` is ``HxW bool`` (True = selected / to be filled).
  Every layer has the document's size. ``recipe`` records how a generated layer was made
  (model, checkpoint hash, seed, style, app version ...), so it can be re-made.
* ``label_sets``: label sets used by label layers, by name, in the assets label-set format.
* ``state``: the panels' state that belongs to the work, not to the app: models used, style
  image, seeds, latents, bookmarks, directions (JSON-able values; arrays go in ``arrays``).

``gui/document/`` wraps this in a QObject with a QUndoStack; the OpenRaster format (engine/ora.py)
saves exactly this data. The pure operations the GUI's undo commands build on live here too:
compositing visible image layers, :func:`document_with_image` (a document showing a new image,
the old one untouched) and colouring label maps (:func:`label_palette`, :func:`colorize_labels`).
"""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

LAYER_KINDS = ("image", "labels", "mask")
BLEND_MODES = ("normal",)


def new_layer_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Layer:
    name: str
    kind: str
    pixels: np.ndarray
    id: str = field(default_factory=new_layer_id)
    visible: bool = True
    opacity: float = 1.0
    blend_mode: str = "normal"
    locked: bool = False
    label_set: str | None = None
    instances: np.ndarray | None = None
    recipe: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"layer kind must be one of {LAYER_KINDS}, not {self.kind!r}")
        if self.blend_mode not in BLEND_MODES:
            raise ValueError(f"blend mode must be one of {BLEND_MODES}, not {self.blend_mode!r}")
        expected = {"image": (3, np.uint8), "labels": (2, np.int32), "mask": (2, np.bool_)}[self.kind]
        if self.pixels.ndim != expected[0] or self.pixels.dtype != expected[1]:
            raise ValueError(
                f"a {self.kind} layer holds {expected[0]}-d {np.dtype(expected[1]).name} pixels, "
                f"not {self.pixels.ndim}-d {self.pixels.dtype}"
            )
        if self.kind == "image" and self.pixels.shape[2] != 4:
            raise ValueError("an image layer holds HxWx4 RGBA pixels")
        self.opacity = float(min(1.0, max(0.0, self.opacity)))

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])

    def copy(self, new_id: bool = True) -> "Layer":
        dup = copy.deepcopy(self)
        if new_id:
            dup.id = new_layer_id()
        return dup


def rgb_to_rgba(image: np.ndarray) -> np.ndarray:
    """HxW, HxWx3 or HxWx4 uint8 -> HxWx4 uint8 (opaque where there was no alpha)."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 4:
        return np.ascontiguousarray(image)
    alpha = np.full(image.shape[:2] + (1,), 255, np.uint8)
    return np.concatenate([image[:, :, :3], alpha], axis=2)


@dataclass
class Document:
    width: int
    height: int
    layers: list[Layer] = field(default_factory=list)
    label_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    # ------------------------------------------------------------------ layers

    def index_of(self, layer_id: str) -> int:
        for i, layer in enumerate(self.layers):
            if layer.id == layer_id:
                return i
        raise KeyError(f"no layer with id {layer_id}")

    def layer(self, layer_id: str) -> Layer:
        return self.layers[self.index_of(layer_id)]

    def insert(self, layer: Layer, index: int | None = None) -> Layer:
        if layer.size != (self.height, self.width):
            raise ValueError(
                f"layer '{layer.name}' is {layer.size[1]}x{layer.size[0]} but the document is {self.width}x{self.height}"
            )
        if any(l.id == layer.id for l in self.layers):
            raise ValueError(f"a layer with id {layer.id} is already in the document")
        self.layers.insert(len(self.layers) if index is None else index, layer)
        return layer

    def remove(self, layer_id: str) -> tuple[int, Layer]:
        index = self.index_of(layer_id)
        return index, self.layers.pop(index)

    def move(self, layer_id: str, new_index: int) -> None:
        index, layer = self.remove(layer_id)
        self.layers.insert(max(0, min(new_index, len(self.layers))), layer)

    def top(self, kind: str) -> Layer | None:
        """The topmost layer of ``kind`` (visible or not), or None."""
        for layer in reversed(self.layers):
            if layer.kind == kind:
                return layer
        return None

    # ------------------------------------------------------------------ compositing

    def composite(self) -> np.ndarray:
        """The visible image layers blended bottom to top ('normal', straight alpha): HxWx4 uint8."""
        out_rgb = np.zeros((self.height, self.width, 3), np.float32)
        out_a = np.zeros((self.height, self.width, 1), np.float32)
        for layer in self.layers:
            if layer.kind != "image" or not layer.visible or layer.opacity <= 0:
                continue
            src = layer.pixels.astype(np.float32) / 255.0
            a = src[:, :, 3:4] * layer.opacity
            new_a = a + out_a * (1 - a)
            with np.errstate(invalid="ignore", divide="ignore"):
                out_rgb = np.where(new_a > 0, (src[:, :, :3] * a + out_rgb * out_a * (1 - a)) / np.maximum(new_a, 1e-12), 0)
            out_a = new_a
        rgba = np.concatenate([out_rgb, out_a], axis=2)
        return (np.clip(rgba, 0, 1) * 255 + 0.5).astype(np.uint8)

    @classmethod
    def from_image(cls, image: np.ndarray, name: str = "Image") -> "Document":
        rgba = rgb_to_rgba(image)
        doc = cls(width=int(rgba.shape[1]), height=int(rgba.shape[0]))
        doc.insert(Layer(name=name, kind="image", pixels=rgba))
        return doc


# ---------------------------------------------------------------------------------------------
# documents made from others (never changing them)


def document_with_image(old: Document | None, image: np.ndarray, name: str = "Image",
                        recipe: dict | None = None) -> Document:
    """A new Document showing ``image`` (HxW, HxWx3 or HxWx4 uint8), built without touching ``old``.

    When ``old`` has an image layer, only its topmost image layer is replaced (its new ``recipe``
    given here); other layers, label sets and state carry over. When the size differs (an
    upscale of the flattened image) the other image layers are dropped — they are part of the
    new image — and label and mask layers are resized to match (nearest neighbour). Without an
    image layer in ``old`` a fresh one-layer document is made.
    """
    rgba = rgb_to_rgba(image)
    height, width = rgba.shape[:2]
    if old is not None and old.top("image") is not None:
        top = old.top("image")
        resized = (old.height, old.width) != (height, width)
        layers = [
            Layer(name=name, kind="image", pixels=rgba, id=layer.id, visible=layer.visible,
                  opacity=layer.opacity, blend_mode=layer.blend_mode, locked=layer.locked, recipe=recipe)
            if layer is top else resized_layer(layer, width, height)
            for layer in old.layers
            if layer is top or not (resized and layer.kind == "image")
        ]
        return Document(width=width, height=height, layers=layers, label_sets=copy.copy(old.label_sets),
                        state=copy.copy(old.state), arrays=copy.copy(old.arrays))
    document = Document.from_image(rgba, name=name)
    document.layers[0].recipe = recipe
    return document


def resized_layer(layer: Layer, width: int, height: int) -> Layer:
    """``layer`` itself when it already has this size (pixels), else a resized copy (same id,
    attributes, recipe): image pixels smoothly (Lanczos), labels, instances and masks nearest."""
    if layer.size == (height, width):
        return layer
    from PIL import Image

    def resize(array: np.ndarray) -> np.ndarray:
        if array.dtype == np.bool_:
            return resize(array.astype(np.uint8)).astype(bool)
        smooth = Image.Resampling.LANCZOS if array.ndim == 3 else Image.Resampling.NEAREST
        return np.asarray(Image.fromarray(np.ascontiguousarray(array)).resize((width, height), smooth)).astype(array.dtype)

    resized = copy.copy(layer)
    resized.pixels = resize(layer.pixels)
    if layer.instances is not None:
        resized.instances = resize(layer.instances)
    return resized


# ---------------------------------------------------------------------------------------------
# label map colours


def label_palette(document: Document, layer: Layer) -> np.ndarray:
    """Kx3 uint8 colours of ``layer``'s label set: the document's own copy, else the built-in set of
    that name, else none (empty; :func:`colorize_labels` then uses VOC colours)."""
    from engine import labelsets

    data = document.label_sets.get(layer.label_set or "")
    try:
        if data is not None:
            return labelsets.LabelSet.from_dict(data).palette()
        if layer.label_set:
            return labelsets.builtin(layer.label_set).palette()
    except Exception:  # a preview colour must never stop a save or a render
        log.debug("no palette for label set %r", layer.label_set, exc_info=True)
    return np.zeros((0, 3), np.uint8)


def colorize_labels(labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """HxW class indices -> HxWx3 uint8 (indices beyond ``palette`` get their VOC colours)."""
    from engine.labelsets import voc_color

    top = int(labels.max(initial=0)) + 1 if labels.size else 1
    lut = np.zeros((max(top, len(palette), 1), 3), np.uint8)
    lut[: len(palette)] = palette
    for index in range(len(palette), len(lut)):
        lut[index] = voc_color(index)
    return lut[np.clip(labels, 0, None)]
