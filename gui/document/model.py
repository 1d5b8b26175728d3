"""The open document as the GUI sees it: an :class:`engine.document.Document` plus undo history.

:class:`DocumentModel` owns the plain-data document, its file path and a QUndoStack. Widgets
read :attr:`DocumentModel.document` and listen to ``changed``; they never mutate the document
directly but push commands (:mod:`gui.document.commands`, :mod:`gui.document.layer_commands`) so
every edit can be undone.

Undo memory is bounded two ways (:meth:`DocumentModel.set_undo_limits`, from the settings):

* a number of steps: ``QUndoStack.setUndoLimit`` (Qt only accepts it while the stack is empty,
  so it is applied at start and whenever a document is opened or made anew);
* a number of bytes: after every push the commands' ``nbytes`` (pixel memory only the history
  keeps alive) are summed; while over the bound the oldest steps are ``release()``d — they drop
  their data and become no-ops, exactly as if they had fallen off the bottom of the stack (Qt
  has no API to remove them; they stay listed, marked "history dropped"). Only a run of
  releasable steps from the oldest is dropped: a step without ``release()`` stops it, because
  dropping steps above one that can still be undone would make that undo act on the wrong
  state. The newest step is never dropped.
"""

from __future__ import annotations

import logging
import os

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from engine.document import BLEND_MODES, Document, Layer, document_with_image
from gui.document.commands import ReplaceDocumentCommand
from gui.document.layer_commands import (
    InsertLayerCommand,
    MoveLayerCommand,
    RemoveLayerCommand,
    SetLayerPropertyCommand,
)

DEFAULT_UNDO_STEPS = 200
DEFAULT_UNDO_MEGABYTES = 1024

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
        self.undo_steps = DEFAULT_UNDO_STEPS
        self.undo_bytes = DEFAULT_UNDO_MEGABYTES << 20
        self.undo_stack.setUndoLimit(self.undo_steps)
        self._stack_count = 0
        self.undo_stack.indexChanged.connect(self._stack_moved)

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
                      name: str = "Image", new_document: bool = False, recipe: dict | None = None) -> None:
        """Show ``image`` (HxW, HxWx3 or HxWx4 uint8) as the document's image layer, undoably.

        ``new_document`` starts a fresh document (whose file is ``path``, None = untitled) instead of
        replacing the top image layer of the open one (which keeps its file unless ``path`` is given;
        other layers are resized when the size changes). ``recipe``: how the image was made.
        """
        base = None if new_document else self._document
        doc = document_with_image(base, image, name=name, recipe=recipe)
        new_path = path if (new_document or path is not None) else self._path
        self.undo_stack.push(ReplaceDocumentCommand(self, doc, new_path, text))

    # ------------------------------------------------------------------ layers (all undoable)

    def layer(self, layer_id: str) -> Layer:
        return self._require().layer(layer_id)

    def add_layer(self, layer: Layer, index: int | None = None, text: str | None = None,
                  new_document: Document | None = None) -> Layer:
        """Insert ``layer`` (None index = on top); with no document open, ``new_document`` is opened."""
        if self._document is None and new_document is None:
            new_document = Document(width=layer.size[1], height=layer.size[0])
        self.undo_stack.push(InsertLayerCommand(self, layer, index, text or f"Add layer '{layer.name}'", new_document))
        return layer

    def new_layer(self, kind: str = "image", name: str | None = None, label_set: str | None = None,
                  index: int | None = None) -> Layer:
        """An empty layer of ``kind`` (transparent image, class-0 labels, empty mask), added undoably."""
        doc = self._require()
        shape = (doc.height, doc.width)
        pixels = {"image": lambda: np.zeros(shape + (4,), np.uint8), "labels": lambda: np.zeros(shape, np.int32),
                  "mask": lambda: np.zeros(shape, bool)}[kind]()
        count = sum(1 for layer in doc.layers if layer.kind == kind) + 1
        default = {"image": "Layer", "labels": "Labels", "mask": "Mask"}[kind]
        layer = Layer(name=name or f"{default} {count}", kind=kind, pixels=pixels, label_set=label_set)
        return self.add_layer(layer, index)

    def delete_layer(self, layer_id: str) -> None:
        self.undo_stack.push(RemoveLayerCommand(self, layer_id))

    def duplicate_layer(self, layer_id: str) -> Layer:
        """A copy (new id, name + ' copy') right above the layer."""
        doc = self._require()
        source = doc.layer(layer_id)
        copy = source.copy()
        copy.name = f"{source.name} copy"
        copy.locked = False
        self.undo_stack.push(InsertLayerCommand(self, copy, doc.index_of(layer_id) + 1, f"Duplicate layer '{source.name}'"))
        return copy

    def move_layer(self, layer_id: str, new_index: int) -> None:
        """Move a layer to ``new_index`` of the bottom-first stack (clamped)."""
        doc = self._require()
        new_index = max(0, min(new_index, len(doc.layers) - 1))
        if new_index != doc.index_of(layer_id):
            name = doc.layer(layer_id).name
            self.undo_stack.push(MoveLayerCommand(self, layer_id, new_index, f"Move layer '{name}'"))

    def rename_layer(self, layer_id: str, name: str) -> None:
        name = name.strip()
        old = self.layer(layer_id).name
        if name and name != old:
            self.undo_stack.push(SetLayerPropertyCommand(self, layer_id, "name", name, f"Rename '{old}' to '{name}'"))

    def set_layer_visible(self, layer_id: str, visible: bool) -> None:
        layer = self.layer(layer_id)
        if layer.visible != bool(visible):
            text = f"{'Show' if visible else 'Hide'} layer '{layer.name}'"
            self.undo_stack.push(SetLayerPropertyCommand(self, layer_id, "visible", bool(visible), text))

    def set_layer_opacity(self, layer_id: str, opacity: float) -> None:
        """Consecutive changes of one layer's opacity (a slider drag) are one undo step."""
        layer = self.layer(layer_id)
        opacity = float(min(1.0, max(0.0, opacity)))
        if layer.opacity != opacity:
            self.undo_stack.push(SetLayerPropertyCommand(self, layer_id, "opacity", opacity,
                                                         f"Opacity of '{layer.name}'", merge=True))

    def set_layer_blend_mode(self, layer_id: str, mode: str) -> None:
        if mode not in BLEND_MODES:
            raise ValueError(f"blend mode must be one of {BLEND_MODES}, not {mode!r}")
        layer = self.layer(layer_id)
        if layer.blend_mode != mode:
            self.undo_stack.push(SetLayerPropertyCommand(self, layer_id, "blend_mode", mode,
                                                         f"Blend mode of '{layer.name}'"))

    def set_layer_locked(self, layer_id: str, locked: bool) -> None:
        layer = self.layer(layer_id)
        if layer.locked != bool(locked):
            text = f"{'Lock' if locked else 'Unlock'} layer '{layer.name}'"
            self.undo_stack.push(SetLayerPropertyCommand(self, layer_id, "locked", bool(locked), text))

    def flatten(self) -> None:
        """Merge the visible image layers into one (hidden ones are dropped; label and mask layers stay)."""
        doc = self._require()
        images = [layer for layer in doc.layers if layer.kind == "image"]
        if not images:
            return
        flat = Layer(name="Flattened", kind="image", pixels=doc.composite())
        position = doc.index_of(images[-1].id)
        layers = [flat if layer is images[-1] else layer for layer in doc.layers[:position + 1]
                  if layer.kind != "image" or layer is images[-1]] + doc.layers[position + 1:]
        flattened = Document(width=doc.width, height=doc.height, layers=layers, label_sets=dict(doc.label_sets),
                             state=dict(doc.state), arrays=dict(doc.arrays))
        self.undo_stack.push(ReplaceDocumentCommand(self, flattened, self._path, "Flatten image"))

    def new_document(self, width: int, height: int, text: str = "New document") -> None:
        """Start an empty untitled document (undoable, like opening a file)."""
        self.undo_stack.push(ReplaceDocumentCommand(self, Document(width=int(width), height=int(height)), None, text))

    def _require(self) -> Document:
        if self._document is None:
            raise ValueError("no document is open")
        return self._document

    # ------------------------------------------------------------------ files

    def open_ora(self, path: str) -> list[str]:
        """Open an OpenRaster document as an undoable step (Undo brings the previous one back); the
        opened document is the saved state. Returns the warnings (what could not be restored).
        Raises :class:`engine.errors.DocumentError`; the open document is then untouched."""
        from engine.ora import read_ora

        document, warnings = read_ora(path)
        self.undo_stack.push(ReplaceDocumentCommand(self, document, os.path.abspath(path),
                                                    f"Open {os.path.basename(path)}"))
        self.undo_stack.setClean()
        return warnings

    def save_ora(self, path: str) -> None:
        """Write the document to ``path`` as OpenRaster (atomically) and mark it saved there.
        Raises :class:`engine.errors.DocumentError`; nothing changes then."""
        from engine.ora import write_ora

        write_ora(path, self._require())
        self.mark_saved(os.path.abspath(path))

    # ------------------------------------------------------------------ undo memory

    def set_undo_limits(self, steps: int | None = None, megabytes: float | None = None) -> None:
        """Bound the history (see the module docstring). ``steps`` applies now when the stack is
        empty, else from the next new/opened document; 0 = unlimited."""
        if steps is not None:
            self.undo_steps = max(0, int(steps))
            if self.undo_stack.count() == 0:
                self.undo_stack.setUndoLimit(self.undo_steps)
        if megabytes is not None:
            self.undo_bytes = max(0, int(float(megabytes) * (1 << 20)))
            self._enforce_undo_bytes()

    def clear_history(self) -> None:
        """Forget all undo steps (applies the step limit); the document stays as it is."""
        self.undo_stack.clear()
        self.undo_stack.setUndoLimit(self.undo_steps)

    def undo_memory(self) -> int:
        """Bytes of pixel data only the undo history keeps alive (commands' ``nbytes``)."""
        return sum(_command_nbytes(self.undo_stack.command(i)) for i in range(self.undo_stack.count()))

    def _stack_moved(self, _index: int) -> None:
        count = self.undo_stack.count()
        grew, self._stack_count = count > self._stack_count, count
        if grew:
            self._enforce_undo_bytes()

    def _enforce_undo_bytes(self) -> None:
        if self.undo_bytes <= 0:
            return
        stack = self.undo_stack
        sizes = [_command_nbytes(stack.command(i)) for i in range(stack.count())]
        total = sum(sizes)
        dropped = 0
        for i in range(stack.count() - 1):  # never the newest step
            if total <= self.undo_bytes:
                break
            command = stack.command(i)
            if getattr(command, "_gan_released", False):
                dropped = i + 1
                continue
            release = getattr(command, "release", None)
            if release is None:
                log.info("undo memory over its bound, but step '%s' cannot be dropped", command.text())
                break
            release()
            command._gan_released = True
            total -= sizes[i]
            dropped = i + 1
            log.debug("dropped undo step '%s' (%d bytes) to stay under %d bytes", command.text(), sizes[i], self.undo_bytes)
        clean = stack.cleanIndex()
        if dropped and 0 <= clean < dropped:
            stack.resetClean()  # the saved state can no longer be reached by undoing

    # ------------------------------------------------------------------ saving

    def keep_unmodified(self) -> None:
        """Count the current state as unchanged (e.g. the empty label layer a freshly loaded model
        adds to a document that had no changes): quitting right after asks nothing."""
        self.undo_stack.setClean()  # (cleanChanged -> modified_changed)

    def mark_saved(self, path: str) -> None:
        """Record that the document was written to ``path``."""
        self._path = path
        self.undo_stack.setClean()
        self.changed.emit()

    # ------------------------------------------------------------------ for this package's commands only

    def _clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    def _swap(self, document: Document | None, path: str | None, notify: bool = True) -> None:
        """For :mod:`gui.document.commands` only: make ``document`` (at ``path``) the open one and,
        with ``notify``, say so (``changed``)."""
        self._document = document
        self._path = path
        if notify:
            self.changed.emit()


def _command_nbytes(command) -> int:
    """A command's own ``nbytes`` (and its children's), 0 when it does not say."""
    total = int(getattr(command, "nbytes", 0) or 0)
    for i in range(command.childCount()):
        total += _command_nbytes(command.child(i))
    return total
