"""Undoable edits of the open document (QUndoCommands).

Every change to the document goes through a command pushed on ``DocumentModel.undo_stack``, so
Edit > Undo/Redo covers it and no edit can lose the user's work. Whole-document commands swap
:class:`engine.document.Document` objects (the old one is kept untouched for undo); later stroke
commands will store only the changed rectangle and merge consecutive strokes with ``mergeWith``.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QUndoCommand

from engine.document import Document, Layer, rgb_to_rgba

if TYPE_CHECKING:
    from gui.document import DocumentModel


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
            if layer is top else _resized_layer(layer, width, height)
            for layer in old.layers
            if layer is top or not (resized and layer.kind == "image")
        ]
        return Document(width=width, height=height, layers=layers, label_sets=copy.copy(old.label_sets),
                        state=copy.copy(old.state), arrays=copy.copy(old.arrays))
    document = Document.from_image(rgba, name=name)
    document.layers[0].recipe = recipe
    return document


def _resized_layer(layer: Layer, width: int, height: int) -> Layer:
    """``layer`` itself when it already has this size, else a resized copy (same id, attributes, recipe)."""
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


class ReplaceDocumentCommand(QUndoCommand):
    """Swap the whole document (and the file path it belongs to); undo swaps the old one back."""

    def __init__(self, model: "DocumentModel", new_document: Document | None, new_path: str | None,
                 text: str, parent: QUndoCommand | None = None):
        super().__init__(text, parent)
        self._model = model
        self._new = (new_document, new_path)
        self._old = (model.document, model.path)

    @property
    def nbytes(self) -> int:
        """Pixel memory only this step keeps alive: layers of the replaced document not in the new one."""
        old, new = self._old[0], self._new[0]
        if old is None:
            return 0
        kept = {id(layer.pixels) for layer in (new.layers if new is not None else ())}
        return sum(layer.pixels.nbytes for layer in old.layers if id(layer.pixels) not in kept)

    def release(self) -> None:
        """Forget the replaced document (the undo memory bound dropped this step); undo becomes a no-op."""
        self._old = self._new
        self.setText(self.text() + " (history dropped)")

    def redo(self) -> None:
        self._model._swap(*self._new)

    def undo(self) -> None:
        self._model._swap(*self._old)
