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


def document_with_image(old: Document | None, image: np.ndarray, name: str = "Image") -> Document:
    """A new Document showing ``image`` (HxW, HxWx3 or HxWx4 uint8), built without touching ``old``.

    When ``old`` has the same size and an image layer, only its topmost image layer is replaced
    (other layers, label sets and state carry over); otherwise a fresh one-layer document is made.
    """
    rgba = rgb_to_rgba(image)
    height, width = rgba.shape[:2]
    if old is not None and (old.height, old.width) == (height, width) and old.top("image") is not None:
        top = old.top("image")
        layers = [
            Layer(name=name, kind="image", pixels=rgba, id=layer.id, visible=layer.visible,
                  opacity=layer.opacity, blend_mode=layer.blend_mode, locked=layer.locked)
            if layer is top else layer
            for layer in old.layers
        ]
        return Document(width=width, height=height, layers=layers, label_sets=copy.copy(old.label_sets),
                        state=copy.copy(old.state), arrays=copy.copy(old.arrays))
    return Document.from_image(rgba, name=name)


class ReplaceDocumentCommand(QUndoCommand):
    """Swap the whole document (and the file path it belongs to); undo swaps the old one back."""

    def __init__(self, model: "DocumentModel", new_document: Document | None, new_path: str | None,
                 text: str, parent: QUndoCommand | None = None):
        super().__init__(text, parent)
        self._model = model
        self._new = (new_document, new_path)
        self._old = (model.document, model.path)

    def redo(self) -> None:
        self._model._swap(*self._new)

    def undo(self) -> None:
        self._model._swap(*self._old)
