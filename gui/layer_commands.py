"""Undoable layer operations: add, delete, duplicate, move, rename, hide, opacity, blend mode, lock.

Every command works on layer ids (looked up on each undo/redo, so commands survive the document
object being swapped by an earlier undo) and emits ``DocumentModel.changed`` after it acts.

Memory: each command reports ``nbytes`` (pixel memory only it keeps alive) and can be
``release()``d by the undo memory bound in :class:`gui.document.DocumentModel`: a released
command drops its data and becomes a no-op both ways, exactly as if it had fallen off the
bottom of the stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

from engine.document import Document, Layer

if TYPE_CHECKING:
    from gui.document import DocumentModel

#: QUndoCommand.id() of property edits that merge (e.g. one opacity slider drag = one undo step)
LAYER_PROPERTY_COMMAND_ID = 0x4C50  # 'LP'
LAYER_PROPERTIES = ("name", "visible", "opacity", "blend_mode", "locked")


def layer_nbytes(layer: Layer | None) -> int:
    if layer is None:
        return 0
    return layer.pixels.nbytes + (0 if layer.instances is None else layer.instances.nbytes)


class _LayerCommand(QUndoCommand):
    """Shared plumbing: the document model, release(), nbytes."""

    def __init__(self, model: "DocumentModel", text: str):
        super().__init__(text)
        self._model = model
        self.released = False

    @property
    def nbytes(self) -> int:
        return 0

    def release(self) -> None:
        """Forget what undo/redo needs (the memory bound dropped this step); both become no-ops."""
        self.released = True
        self.setText(self.text() + " (history dropped)")

    def _document(self) -> Document:
        document = self._model.document
        assert document is not None, "layer commands need an open document"
        return document


class InsertLayerCommand(_LayerCommand):
    """Insert ``layer`` at ``index`` (None = on top). Opens ``new_document`` first when none is open
    (undo closes it again). Used for new, duplicated and 'send to new layer' layers."""

    def __init__(self, model: "DocumentModel", layer: Layer, index: int | None = None, text: str = "Add layer",
                 new_document: Document | None = None):
        super().__init__(model, text)
        self._layer: Layer | None = layer
        self._index = index
        self._new_document = new_document if model.document is None else None

    @property
    def layer(self) -> Layer | None:
        return self._layer

    @property
    def nbytes(self) -> int:
        layer, document = self._layer, self._model.document
        if layer is None or (document is not None and any(l is layer for l in document.layers)):
            return 0  # the document holds it anyway
        return layer_nbytes(layer)

    def redo(self) -> None:
        if self.released:
            return
        if self._new_document is not None:
            self._model._swap(self._new_document, self._model.path)
        self._document().insert(self._layer, self._index)
        self._model.changed.emit()

    def undo(self) -> None:
        if self.released:
            return
        self._document().remove(self._layer.id)
        if self._new_document is not None:
            self._model._swap(None, self._model.path)
        else:
            self._model.changed.emit()

    def release(self) -> None:
        super().release()
        self._layer = None
        self._new_document = None


class RemoveLayerCommand(_LayerCommand):
    """Delete a layer; undo puts the same layer object back where it was."""

    def __init__(self, model: "DocumentModel", layer_id: str, text: str | None = None):
        layer = model.document.layer(layer_id)
        super().__init__(model, text or f"Delete layer '{layer.name}'")
        self._layer_id = layer_id
        self._layer: Layer | None = None
        self._index = 0

    @property
    def nbytes(self) -> int:
        return layer_nbytes(self._layer)

    def redo(self) -> None:
        if self.released:
            return
        self._index, self._layer = self._document().remove(self._layer_id)
        self._model.changed.emit()

    def undo(self) -> None:
        if self.released:
            return
        self._document().insert(self._layer, self._index)
        self._layer = None
        self._model.changed.emit()

    def release(self) -> None:
        super().release()
        self._layer = None


class MoveLayerCommand(_LayerCommand):
    """Move a layer to ``new_index`` in the bottom-first stack."""

    def __init__(self, model: "DocumentModel", layer_id: str, new_index: int, text: str = "Move layer"):
        super().__init__(model, text)
        self._layer_id = layer_id
        self._new_index = new_index
        self._old_index = model.document.index_of(layer_id)

    def redo(self) -> None:
        if not self.released:
            self._document().move(self._layer_id, self._new_index)
            self._model.changed.emit()

    def undo(self) -> None:
        if not self.released:
            self._document().move(self._layer_id, self._old_index)
            self._model.changed.emit()


class SetLayerPropertyCommand(_LayerCommand):
    """Set one of :data:`LAYER_PROPERTIES` of a layer. With ``merge`` consecutive edits of the
    same property of the same layer (a slider drag) merge into one undo step."""

    def __init__(self, model: "DocumentModel", layer_id: str, name: str, value: Any, text: str, merge: bool = False):
        if name not in LAYER_PROPERTIES:
            raise ValueError(f"not a layer property: {name!r}")
        super().__init__(model, text)
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
        self._model.changed.emit()

    def redo(self) -> None:
        if not self.released:
            self._set(self._value)

    def undo(self) -> None:
        if not self.released:
            self._set(self._old)
