"""The open document as the GUI sees it: an :class:`engine.document.Document` plus undo history.

:class:`DocumentModel` owns the plain-data document, its file path and a QUndoStack. Widgets
read :attr:`DocumentModel.document` and listen to ``changed``; they never mutate the document
directly but push commands (gui/commands.py) so every edit can be undone.
"""

from __future__ import annotations

import logging
import os

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from engine.document import Document
from gui.commands import ReplaceDocumentCommand, document_with_image

log = logging.getLogger(__name__)


class DocumentModel(QObject):
    """The open document, its path and its undo stack.

    Signals: ``changed()`` whenever the document content (or which document is open) changes;
    ``modified_changed(bool)`` when it gets unsaved changes or is saved.
    """

    changed = Signal()
    modified_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._document: Document | None = None
        self._path: str | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        # QUndoStack's destructor clears itself and emits indexChanged/cleanChanged to listeners
        # that may already be gone; once the document goes away, its stack must stay silent.
        stack = self.undo_stack
        self.destroyed.connect(lambda *_: stack.blockSignals(True))

    # ------------------------------------------------------------------ reading

    @property
    def document(self) -> Document | None:
        """The plain-data document, or None before anything was opened or made."""
        return self._document

    @property
    def path(self) -> str | None:
        """The file the document was opened from or last saved to, or None."""
        return self._path

    @property
    def display_name(self) -> str:
        return os.path.basename(self._path) if self._path else "Untitled"

    @property
    def has_image(self) -> bool:
        return self._document is not None and self._document.top("image") is not None

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    def composite(self) -> np.ndarray | None:
        """The visible image layers blended: HxWx4 uint8 RGBA, or None when there is no image."""
        if not self.has_image:
            return None
        return self._document.composite()

    # ------------------------------------------------------------------ undoable edits

    def replace_image(self, image: np.ndarray, text: str = "Replace image", path: str | None = None,
                      name: str = "Image", new_document: bool = False) -> None:
        """Show ``image`` (HxW, HxWx3 or HxWx4 uint8) as the document's image layer, undoably.

        ``new_document`` starts a fresh document (whose file is ``path``, None = untitled) instead of
        replacing the image layer of a same-sized one (which keeps its file unless ``path`` is given).
        """
        base = None if new_document else self._document
        doc = document_with_image(base, image, name=name)
        new_path = path if (new_document or path is not None) else self._path
        self.undo_stack.push(ReplaceDocumentCommand(self, doc, new_path, text))

    # ------------------------------------------------------------------ saving

    def mark_saved(self, path: str) -> None:
        """Record that the document was written to ``path``."""
        self._path = path
        self.undo_stack.setClean()
        self.changed.emit()

    # ------------------------------------------------------------------ for commands only

    def _clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    def _swap(self, document: Document | None, path: str | None) -> None:
        self._document = document
        self._path = path
        self.changed.emit()
