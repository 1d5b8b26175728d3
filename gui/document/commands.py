"""Undoable edits of the open document (QUndoCommands), all built on :class:`DocumentCommand`.

Every change to the document goes through a command pushed on ``DocumentModel.undo_stack``, so
Edit > Undo/Redo covers it and no edit can lose the user's work. What every command shares lives
in :class:`DocumentCommand`:

* ``nbytes``: the memory only this step keeps alive (pixels and arrays the document no longer
  holds), summed by the undo memory bound of :class:`gui.document.model.DocumentModel`;
* ``release()``: the bound dropped this step: it forgets its data and both undo and redo become
  no-ops, exactly as if it had fallen off the bottom of the stack;
* "start a new document if none is open": a command given ``new_document`` opens it before its
  first edit when no document is open (undo closes it again).

Subclasses implement :meth:`DocumentCommand.apply` and :meth:`DocumentCommand.revert` (and
``nbytes`` / ``_forget`` when they hold data). Whole-document commands swap
:class:`engine.document.Document` objects (the old one kept untouched for undo); strokes store only
the changed rectangle (:class:`PatchCommand`). Only commands of this package call
``DocumentModel._swap``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtGui import QUndoCommand

from engine.document import Document

if TYPE_CHECKING:
    from gui.document.model import DocumentModel

#: a rectangle of pixels: x0, y0, x1, y1 (x1, y1 exclusive)
Rect = tuple[int, int, int, int]
#: QUndoCommand.id() of stroke patches that merge (one stroke = one undo step)
PATCH_COMMAND_ID = 0x5041  # 'PA'
RELEASED_SUFFIX = " (history dropped)"


class DocumentCommand(QUndoCommand):
    """One undoable edit of the document of ``model`` (see the module docstring).

    Args:
        text: what Edit > Undo says ("Add layer 'Sky'").
        model: the :class:`DocumentModel` edited; None for commands that write through their own
            callbacks (:class:`PatchCommand`).
        new_document: opened first when no document is open when the command is made (undo
            closes it again); ignored when one is open.
    """

    def __init__(self, text: str, model: "DocumentModel | None" = None, new_document: Document | None = None):
        super().__init__(text)
        self._model = model
        self._new_document = new_document if model is not None and model.document is None else None
        self.released = False

    # ------------------------------------------------------------------ memory

    @property
    def nbytes(self) -> int:
        """Bytes of data only this step keeps alive (0 by default)."""
        return 0

    def release(self) -> None:
        """Forget what undo/redo need (the undo memory bound dropped this step); both become no-ops."""
        if self.released:
            return
        self.released = True
        self._new_document = None
        self._forget()
        self.setText(self.text() + RELEASED_SUFFIX)

    def _forget(self) -> None:
        """Drop the data this command holds (called once by :meth:`release`)."""

    # ------------------------------------------------------------------ undo/redo

    def apply(self) -> None:
        """Make the edit (the document is open)."""
        raise NotImplementedError

    def revert(self) -> None:
        """Take the edit back."""
        raise NotImplementedError

    def redo(self) -> None:
        if self.released:
            return
        if self._new_document is not None:
            self._model._swap(self._new_document, self._model.path, notify=False)
        self.apply()
        self._notify()

    def undo(self) -> None:
        if self.released:
            return
        self.revert()
        if self._new_document is not None:
            self._model._swap(None, self._model.path, notify=False)
        self._notify()

    def _notify(self) -> None:
        """Tell listeners the document changed (``model.changed``)."""
        if self._model is not None:
            self._model.changed.emit()

    def _document(self) -> Document:
        document = self._model.document
        assert document is not None, f"{type(self).__name__} needs an open document"
        return document


class ReplaceDocumentCommand(DocumentCommand):
    """Swap the whole document (and the file path it belongs to); undo swaps the old one back."""

    def __init__(self, model: "DocumentModel", new_document: Document | None, new_path: str | None, text: str):
        super().__init__(text, model)
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
        """Forget the replaced document; undo becomes a no-op while redo still shows the new one,
        so steps above it keep acting on the document they were made on."""
        if self.released:
            return
        self._old = self._new
        self.setText(self.text() + RELEASED_SUFFIX)

    def redo(self) -> None:
        self._model._swap(*self._new)

    def undo(self) -> None:
        self._model._swap(*self._old)


class GroupCommand(DocumentCommand):
    """Several commands as one undo step (e.g. apply a fill and clear the mask).

    Unlike a Qt macro it forwards ``release()`` and ``nbytes`` to its parts, so the document's
    undo memory bound can still drop it."""

    def __init__(self, text: str, parts: list[QUndoCommand]):
        super().__init__(text)
        self.parts = list(parts)

    @property
    def nbytes(self) -> int:
        return sum(int(getattr(part, "nbytes", 0) or 0) for part in self.parts)

    def _forget(self) -> None:
        for part in self.parts:
            release = getattr(part, "release", None)
            if release is not None:
                release()

    def apply(self) -> None:
        for part in self.parts:
            part.redo()

    def revert(self) -> None:
        for part in reversed(self.parts):
            part.undo()


class PatchCommand(DocumentCommand):
    """Replace ``rect`` of a layer's ``pixels`` (label map or mask): ``before`` <-> ``after``.

    A stroke is painted straight into the layer while the mouse moves (so painting never waits);
    when it ends, one PatchCommand records only the changed rectangle, before and after.
    ``target`` returns the array to write into (looked up on every undo/redo, so the command
    survives the layer object being replaced); ``notify(rect)`` tells views what changed.
    The first redo() is skipped when ``already_applied`` (the stroke painted it live).
    Consecutive commands of the same ``stroke_id`` merge into one step (``mergeWith``).
    """

    def __init__(self, text: str, target: Callable[[], np.ndarray], rect: Rect, before: np.ndarray,
                 after: np.ndarray, notify: Callable[[Rect], None], already_applied: bool = True,
                 stroke_id: int | None = None):
        super().__init__(text)
        self._target = target
        self.rect = rect
        self.before = before
        self.after = after
        self._notify_rect = notify
        self._skip_redo = already_applied
        self.stroke_id = stroke_id

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes

    def _forget(self) -> None:
        empty = self.before[:0, :0].copy()
        self.rect, self.before, self.after = (0, 0, 0, 0), empty, empty.copy()
        self.stroke_id = None

    def id(self) -> int:
        return PATCH_COMMAND_ID if self.stroke_id is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
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
        self._notify_rect(self.rect)

    def apply(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self._write(self.after)

    def revert(self) -> None:
        self._write(self.before)
