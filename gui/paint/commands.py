"""Undo commands of the Paint workspace.

A stroke is painted straight into the label layer while the mouse moves (so painting never
waits); when it ends, one :class:`PatchCommand` records only the changed rectangle, before and
after. All the dabs of one stroke are therefore one undo step; consecutive commands of the
same stroke id (e.g. a stroke continued after a render) also merge via ``mergeWith``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtGui import QUndoCommand

from gui.paint.tools import Rect

PATCH_COMMAND_ID = 0x5041  # 'PA'


class PatchCommand(QUndoCommand):
    """Replace ``rect`` of a layer's ``pixels`` (label map or mask): ``before`` <-> ``after``.

    ``target`` returns the array to write into (looked up on every undo/redo, so the command
    survives the layer object being replaced); ``notify(rect)`` tells views what changed.
    The first redo() is skipped when ``already_applied`` (the stroke painted it live).
    """

    def __init__(self, text: str, target: Callable[[], np.ndarray], rect: Rect, before: np.ndarray,
                 after: np.ndarray, notify: Callable[[Rect], None], already_applied: bool = True,
                 stroke_id: int | None = None):
        super().__init__(text)
        self._target = target
        self.rect = rect
        self.before = before
        self.after = after
        self._notify = notify
        self._skip_redo = already_applied
        self.stroke_id = stroke_id

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes

    def release(self) -> None:
        """Drop the stored pixels (the undo memory bound dropped this step); undo/redo become no-ops."""
        empty = self.before[:0, :0].copy()
        self.rect, self.before, self.after = (0, 0, 0, 0), empty, empty.copy()
        self.stroke_id = None

    def id(self) -> int:  # Qt API
        return PATCH_COMMAND_ID if self.stroke_id is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # Qt API
        if not isinstance(other, PatchCommand) or other.stroke_id != self.stroke_id or self.stroke_id is None:
            return False
        if self._target() is not other._target():
            return False
        # union rectangle: before = ours where we had it, else theirs; after = theirs over ours
        x0, y0 = min(self.rect[0], other.rect[0]), min(self.rect[1], other.rect[1])
        x1, y1 = max(self.rect[2], other.rect[2]), max(self.rect[3], other.rect[3])
        target = self._target()
        current = target[y0:y1, x0:x1].copy()  # holds the merged "after" already (both applied)
        before = current.copy()
        ox0, oy0, ox1, oy1 = other.rect
        before[oy0 - y0:oy1 - y0, ox0 - x0:ox1 - x0] = other.before
        sx0, sy0, sx1, sy1 = self.rect
        before[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = self.before
        self.rect, self.before, self.after = (x0, y0, x1, y1), before, current
        return True

    def _write(self, pixels: np.ndarray) -> None:
        x0, y0, x1, y1 = self.rect
        self._target()[y0:y1, x0:x1] = pixels
        self._notify(self.rect)

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self._write(self.after)

    def undo(self) -> None:
        self._write(self.before)


class AddLayerCommand(QUndoCommand):
    """Insert a layer (on top) into the open document, or into ``new_document`` when none is open."""

    def __init__(self, document_model, layer, new_document=None, text: str = "Add layer"):
        super().__init__(text)
        self._docs = document_model
        self._layer = layer
        self._new_document = new_document if document_model.document is None else None
        self._released = False

    def release(self) -> None:
        """The undo memory bound dropped this step: undo/redo become no-ops (the layer stays)."""
        self._released = True

    def redo(self) -> None:
        if self._released:
            return
        if self._new_document is not None:
            self._docs._swap(self._new_document, self._docs.path)
        self._docs.document.insert(self._layer)
        self._docs.changed.emit()

    def undo(self) -> None:
        if self._released:
            return
        self._docs.document.remove(self._layer.id)
        if self._new_document is not None:
            self._docs._swap(None, self._docs.path)
        else:
            self._docs.changed.emit()
