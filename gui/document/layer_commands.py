"""Undoable layer operations: add, delete, duplicate, move, rename, hide, opacity, blend mode, lock.

Every command works on layer ids (looked up on each undo/redo, so commands survive the document
object being swapped by an earlier undo) and emits ``DocumentModel.changed`` after it acts. They
are :class:`gui.document.commands.DocumentCommand` subclasses: each reports ``nbytes`` (pixel memory only
it keeps alive) and can be ``release()``d by the undo memory bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

from engine.document import Document, Layer
from gui.document.commands import DocumentCommand

if TYPE_CHECKING:
    from gui.document.model import DocumentModel

#: QUndoCommand.id() of property edits that merge (e.g. one opacity slider drag = one undo step)
LAYER_PROPERTY_COMMAND_ID = 0x4C50  # 'LP'
LAYER_PROPERTIES = ("name", "visible", "opacity", "blend_mode", "locked")


def layer_nbytes(layer: Layer | None) -> int:
    """Bytes of a layer's pixels and instance map (0 for None)."""
    if layer is None:
        return 0
    return layer.pixels.nbytes + (0 if layer.instances is None else layer.instances.nbytes)


class InsertLayerCommand(DocumentCommand):
    """Insert ``layer`` at ``index`` (None = on top). Opens ``new_document`` first when none is open
    (undo closes it again). Used for new, duplicated, imported and 'send to new layer' layers."""

    def __init__(self, model: "DocumentModel", layer: Layer, index: int | None = None, text: str = "Add layer",
                 new_document: Document | None = None):
        super().__init__(text, model, new_document)
        self._layer: Layer | None = layer
        self._index = index

    @property
    def layer(self) -> Layer | None:
        return self._layer

    @property
    def nbytes(self) -> int:
        layer, document = self._layer, self._model.document
        if layer is None or (document is not None and any(existing is layer for existing in document.layers)):
            return 0  # the document holds it anyway
        return layer_nbytes(layer)

    def _forget(self) -> None:
        self._layer = None

    def apply(self) -> None:
        self._document().insert(self._layer, self._index)

    def revert(self) -> None:
        self._document().remove(self._layer.id)


class RemoveLayerCommand(DocumentCommand):
    """Delete a layer; undo puts the same layer object back where it was."""

    def __init__(self, model: "DocumentModel", layer_id: str, text: str | None = None):
        layer = model.document.layer(layer_id)
        super().__init__(text or f"Delete layer '{layer.name}'", model)
        self._layer_id = layer_id
        self._layer: Layer | None = None
        self._index = 0

    @property
    def nbytes(self) -> int:
        return layer_nbytes(self._layer)

    def _forget(self) -> None:
        self._layer = None

    def apply(self) -> None:
        self._index, self._layer = self._document().remove(self._layer_id)

    def revert(self) -> None:
        self._document().insert(self._layer, self._index)
        self._layer = None


class MoveLayerCommand(DocumentCommand):
    """Move a layer to ``new_index`` in the bottom-first stack."""

    def __init__(self, model: "DocumentModel", layer_id: str, new_index: int, text: str = "Move layer"):
        super().__init__(text, model)
        self._layer_id = layer_id
        self._new_index = new_index
        self._old_index = model.document.index_of(layer_id)

    def apply(self) -> None:
        self._document().move(self._layer_id, self._new_index)

    def revert(self) -> None:
        self._document().move(self._layer_id, self._old_index)


class SetLayerPropertyCommand(DocumentCommand):
    """Set one of :data:`LAYER_PROPERTIES` of a layer. With ``merge`` consecutive edits of the
    same property of the same layer (a slider drag) merge into one undo step."""

    def __init__(self, model: "DocumentModel", layer_id: str, name: str, value: Any, text: str, merge: bool = False):
        if name not in LAYER_PROPERTIES:
            raise ValueError(f"not a layer property: {name!r}")
        super().__init__(text, model)
        self._layer_id = layer_id
        self._name = name
        self._value = value
        self._old = getattr(model.document.layer(layer_id), name)
        self._merge = merge

    def id(self) -> int:  # Qt API
        return LAYER_PROPERTY_COMMAND_ID if self._merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # Qt API
        if (not isinstance(other, SetLayerPropertyCommand) or not other._merge or self.released
                or (other._layer_id, other._name) != (self._layer_id, self._name)):
            return False
        self._value = other._value
        return True

    def _set(self, value: Any) -> None:
        layer = self._document().layer(self._layer_id)
        setattr(layer, self._name, value)
        if self._name == "opacity":
            layer.opacity = float(min(1.0, max(0.0, value)))

    def apply(self) -> None:
        self._set(self._value)

    def revert(self) -> None:
        self._set(self._old)
