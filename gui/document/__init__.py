"""The open document as the GUI sees it and its undo commands.

* :mod:`gui.document.model`: :class:`DocumentModel` (the plain-data document, its path, the
  undo stack and its memory bound);
* :mod:`gui.document.commands`: :class:`~gui.document.commands.DocumentCommand`, the base of every
  undoable edit, and the whole-document, group and stroke-patch commands;
* :mod:`gui.document.layer_commands`: add, delete, move and layer property edits.

Only this package calls ``DocumentModel._swap``. The pure operations it builds on
(``document_with_image``, label colours) live in :mod:`engine.document`.
"""

from gui.document.model import DocumentModel

__all__ = ["DocumentModel"]
