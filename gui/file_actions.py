"""File actions of the main window: new/open/save/export, recent files, dropped files, and the
autosave and crash-recovery glue.

:class:`FileActions` works on the window's :class:`gui.document.DocumentModel`; before a save it
lets every workspace ``capture_state`` into the document, and after an open ``restore_state``
from it (see :mod:`gui.workspaces.base`). It talks to the user through its ``status`` signal and
the window's ``show_error``. Nothing here imports torch.
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from engine.document import Layer
from engine.errors import EngineError
from engine.version import APP_NAME, APP_VERSION
from gui.autosave import Autosaver, offer_recovery
from gui.model_loading import ModelLoader
from gui.panels.models import short_name
from gui.settings import AppSettings, is_model_path
from gui.workspaces.base import Workspace

log = logging.getLogger(__name__)

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;All files (*)"
OPEN_FILTER = ("Documents and images (*.ora *.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;"
               "GAN Studio / OpenRaster documents (*.ora);;" + IMAGE_FILTER)
DOCUMENT_FILTER = "GAN Studio document (OpenRaster) (*.ora)"
DEFAULT_NEW_SIZE = (512, 512)  # width, height of File > New without an open document


def is_document_path(path: str) -> bool:
    """True for GAN Studio / OpenRaster documents (.ora)."""
    return str(path).lower().endswith(".ora")


class FileActions(QObject):
    """What the File menu, Open Recent, drops and crash recovery do to the open document.

    Args:
        document_model: the window's :class:`gui.document.DocumentModel`.
        settings: recent files, last folders, autosave interval.
        workspaces: asked to capture their state before a save and to restore it after an open.
        model_loader: loads checkpoints that are opened or dropped.
        dialog_parent: the window (parent of file dialogs and the recovery question).
        show_error: ``show_error(title, message)`` tells the user what went wrong.
        current_layer: returns the layer selected in the Layers panel (or None).
        recovery_folder: where autosaves go; autosaves a crash left there are offered by :meth:`check_recovery`.

    Signals: ``status(str, int)`` (status bar message, ms to show it); ``document_shown()`` (a
    document was opened, created or recovered: the Layers panel should show); ``layer_added(str)``
    (the id of a layer added from a file, to select it).
    """

    status = Signal(str, int)
    document_shown = Signal()
    layer_added = Signal(str)

    def __init__(self, document_model, settings: AppSettings, workspaces: Sequence[Workspace],
                 model_loader: ModelLoader, dialog_parent: QWidget, show_error: Callable[[str, str], None],
                 current_layer: Callable[[], Layer | None], recovery_folder: str,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.document = document_model
        self.settings = settings
        self.workspaces = list(workspaces)
        self.model_loader = model_loader
        self.dialog_parent = dialog_parent
        self.show_error = show_error
        self.current_layer = current_layer
        self.recovery_folder = recovery_folder
        self.autosaver = Autosaver(document_model, recovery_folder, settings.autosave_minutes(), self)
        self.autosaver.failed.connect(lambda message: self._say(message, 10000))
        self._recovery_checked = False

    def _say(self, message: str, milliseconds: int = 0) -> None:
        self.status.emit(message, milliseconds)

    # ------------------------------------------------------------------ images

    def choose_image_to_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Open image", self.settings.last_folder("image"),
                                              IMAGE_FILTER)
        if path:
            self.settings.set_last_folder("image", path)
            self.open_image(path)

    def open_image(self, path: str) -> bool:
        """Read ``path`` onto the canvas as an undoable step. False (and a message) when it cannot be read.
        A .ora file opens as a document (:meth:`open_document`)."""
        if is_document_path(path):
            return self.open_document(path)
        from engine import imageio  # numpy + PIL only; imported late so a missing codec never blocks startup


        try:
            image = imageio.read_image(path)
            image = self._displayable(image, path)
        except EngineError as exc:
            self.show_error("Could not open image", str(exc))
            return False
        except Exception as exc:
            log.exception("reading %s failed", path)
            self.show_error("Could not open image", f"{short_name(path)} could not be read ({exc}).")
            return False
        self.document.replace_image(image, text=f"Open {short_name(path)}", path=os.path.abspath(path),
                                    name=short_name(path), new_document=True)
        self.settings.add_recent_file(path)
        height, width = image.shape[:2]
        self._say(f"Opened {short_name(path)} ({width}×{height})", 5000)
        return True

    def _displayable(self, image: np.ndarray, path: str) -> np.ndarray:
        """The document holds 8-bit pixels; bring other depths there (with a note in the status bar)."""
        if image.dtype == np.uint8:
            return image
        if image.dtype == np.uint16:
            self._say(f"{short_name(path)} is 16-bit; it is shown and edited as 8-bit.", 8000)
            return (image >> 8).astype(np.uint8)
        if np.issubdtype(image.dtype, np.floating):
            return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
        raise EngineError(f"{short_name(path)} holds {image.dtype} pixels, which GAN Studio cannot show.")

    def save(self) -> bool:
        """Save to the document's .ora file (or, for a plain one-layer image opened from PNG, that PNG);
        otherwise ask for a .ora file."""
        path = self.document.path
        if path and is_document_path(path):
            return self.save_document(path)
        if path and path.lower().endswith(".png") and self._is_plain_image():
            return self.save_image(path)
        return self.save_as()

    def save_as(self) -> bool:
        """Ask for a .ora file and save the document there."""
        if self.document.document is None:
            self.show_error("Nothing to save", "There is no document yet.")
            return False
        current = self.document.path
        base = os.path.splitext(os.path.basename(current))[0] if current else "untitled"
        folder = os.path.dirname(current) if current else self.settings.last_folder("save")
        path, _ = QFileDialog.getSaveFileName(self.dialog_parent, "Save document", os.path.join(folder, base + ".ora"),
                                              DOCUMENT_FILTER)
        if not path:
            return False
        if not path.lower().endswith(".ora"):
            path += ".ora"
        self.settings.set_last_folder("save", path)
        return self.save_document(path)

    def _is_plain_image(self) -> bool:
        """True when a PNG holds all of the document: one plain image layer, nothing else."""
        doc = self.document.document
        if doc is None or len(doc.layers) != 1 or doc.state or doc.arrays:
            return False
        layer = doc.layers[0]
        return layer.kind == "image" and layer.visible and layer.opacity == 1.0 and not layer.recipe

    def save_image(self, path: str) -> bool:
        """Write the composited image to ``path`` as PNG. False (and a message) when it fails."""
        from engine import imageio

        image = self.document.composite()
        if image is None:
            self.show_error("Nothing to save", "There is no image on the canvas yet.")
            return False
        if (image[:, :, 3] == 255).all():
            image = np.ascontiguousarray(image[:, :, :3])
        try:
            imageio.write_png(path, image, text_chunks={"Software": f"{APP_NAME} {APP_VERSION}"})
        except (OSError, EngineError) as exc:
            log.warning("saving %s failed: %s", path, exc)
            self.show_error("Could not save image", f"{path} could not be written: {exc}\n\nYour image is "
                            "still open; try another folder or file name.")
            return False
        self.document.mark_saved(os.path.abspath(path))
        self.settings.add_recent_file(path)
        self._say(f"Saved {short_name(path)}", 5000)
        return True

    # ------------------------------------------------------------------ documents

    def choose_file_to_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Open", self.settings.last_folder("image"),
                                              OPEN_FILTER)
        if path:
            self.settings.set_last_folder("image", path)
            self.open_image(path)

    def new_document(self, width: int | None = None, height: int | None = None) -> None:
        """An empty untitled document (the open one's size, else 512×512); Undo brings the old one back."""
        doc = self.document.document
        default = (doc.width, doc.height) if doc is not None else DEFAULT_NEW_SIZE
        self.document.new_document(width or default[0], height or default[1])
        self.document_shown.emit()
        self._say("New document. Paint, add layers, or drop images onto the window.", 5000)

    def open_document(self, path: str) -> bool:
        """Open a .ora document (an undoable step; the opened file is the saved state). False (and a
        message) when it cannot be opened; what could not be restored is shown as a note."""
        try:
            warnings = self.document.open_ora(path)
        except EngineError as exc:
            self.show_error("Could not open document", str(exc))
            return False
        except Exception as exc:
            log.exception("opening %s failed", path)
            self.show_error("Could not open document", f"{short_name(path)} could not be opened ({exc}).")
            return False
        self.settings.add_recent_file(path)
        self.document_shown.emit()
        doc = self.document.document
        missing = self.restore_document_models()
        opened = f"Opened {short_name(path)} ({doc.width}×{doc.height}, {len(doc.layers)} layers)"
        if missing:
            self._say(f"{opened}. " + " ".join(missing), 15000)
        else:
            self._say(opened, 5000)
        if warnings:
            self.show_error("Some parts could not be opened",
                            f"{short_name(path)} was opened, but:\n\n• " + "\n• ".join(warnings))
        return True

    def save_document(self, path: str) -> bool:
        """Write the document to ``path`` as .ora (atomically). False (and a message) when it fails."""
        if self.document.document is None:
            self.show_error("Nothing to save", "There is no document yet.")
            return False
        self.capture_workspace_state()
        try:
            self.document.save_ora(path)
        except EngineError as exc:
            log.warning("saving %s failed: %s", path, exc)
            self.show_error("Could not save document", f"{exc}\n\nYour document is still open; try another folder "
                            "or file name.")
            return False
        self.settings.add_recent_file(path)
        self._say(f"Saved {short_name(path)}", 5000)
        return True

    def capture_workspace_state(self) -> None:
        """Let every workspace store what belongs to the work in the document before it is saved
        (:meth:`restore_document_models` brings it back)."""
        for workspace in self.workspaces:
            workspace.capture_state(self.document.document)

    def restore_document_models(self) -> list[str]:
        """Let every workspace restore what the open document recorded of it (models are loaded
        through the model loader unless loaded already; their settings apply once loaded).
        Returns a sentence for each checkpoint that is no longer there (the document stays open)."""
        doc = self.document.document
        if doc is None:
            return []
        return [note for workspace in self.workspaces for note in workspace.restore_state(doc)]

    def choose_export_image(self) -> None:
        if not self.document.has_image:
            self.show_error("Nothing to export", "The document has no image layer yet.")
            return
        current = self.document.path
        base = os.path.splitext(os.path.basename(current))[0] if current else "untitled"
        folder = os.path.dirname(current) if current else self.settings.last_folder("save")
        path, _ = QFileDialog.getSaveFileName(self.dialog_parent, "Export image", os.path.join(folder, base + ".png"),
                                              "PNG image (*.png)")
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            self.export_image(path)

    def export_image(self, path: str) -> bool:
        """The flattened document as PNG with the recipes of its generated layers (the document's own
        file and saved state do not change). False (and a message) when it fails."""
        from engine.ora import export_png

        if self.document.document is None:
            self.show_error("Nothing to export", "There is no document yet.")
            return False
        try:
            export_png(self.document.document, path)
        except (OSError, EngineError) as exc:
            self.show_error("Could not export image", f"{path} could not be written: {exc}")
            return False
        self._say(f"Exported {short_name(path)}", 5000)
        return True

    def _label_layer_to_export(self) -> Layer | None:
        current = self.current_layer()
        if current is not None and current.kind == "labels":
            return current
        doc = self.document.document
        return doc.top("labels") if doc is not None else None

    def choose_export_label_map(self) -> None:
        layer = self._label_layer_to_export()
        if layer is None:
            self.show_error("Nothing to export", "The document has no label map layer.")
            return
        folder = self.settings.last_folder("save")
        path, _ = QFileDialog.getSaveFileName(self.dialog_parent, f"Export label map '{layer.name}'",
                                              os.path.join(folder, "labels.png"), "Index PNG (*.png)")
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            self.export_label_map(path, layer.id)

    def export_label_map(self, path: str, layer_id: str | None = None) -> bool:
        """A label layer (default: the selected or topmost one) as an index PNG."""
        from engine.ora import export_label_map

        layer = self._label_layer_to_export() if layer_id is None else self.document.layer(layer_id)
        if layer is None:
            self.show_error("Nothing to export", "The document has no label map layer.")
            return False
        try:
            export_label_map(self.document.document, path, layer.id)
        except (OSError, EngineError) as exc:
            self.show_error("Could not export label map", f"{path} could not be written: {exc}")
            return False
        self._say(f"Exported label map '{layer.name}' to {short_name(path)}", 5000)
        return True

    def add_image_layer_from_file(self, path: str) -> bool:
        """Add an image file as a new layer on top (undoable); it is scaled down to fit the document
        if larger, and centred. Without a document it opens as one."""
        from engine import imageio
        from engine.document import rgb_to_rgba

        doc = self.document.document
        if doc is None:
            return self.open_image(path)
        try:
            image = rgb_to_rgba(self._displayable(imageio.read_image(path), path))
        except EngineError as exc:
            self.show_error("Could not add image", str(exc))
            return False
        except Exception as exc:
            log.exception("reading %s failed", path)
            self.show_error("Could not add image", f"{short_name(path)} could not be read ({exc}).")
            return False
        pixels = fit_into(image, doc.width, doc.height)
        self.document.add_layer(Layer(name=short_name(path), kind="image", pixels=pixels),
                                text=f"Add image {short_name(path)}")
        self.layer_added.emit(self.document.document.layers[-1].id)
        self._say(f"Added {short_name(path)} as a new layer", 5000)
        return True

    # ------------------------------------------------------------------ crash recovery

    def check_recovery(self) -> bool:
        """Offer the newest autosave a crashed session left (once per window). True when one was recovered."""
        if self._recovery_checked:
            return False
        self._recovery_checked = True
        from engine.ora import read_ora
        from gui.document.commands import ReplaceDocumentCommand

        try:
            candidate = offer_recovery(self.dialog_parent, self.recovery_folder)
        except OSError as exc:
            log.warning("could not look for autosaves in %s: %s", self.recovery_folder, exc)
            return False
        if candidate is None:
            return False
        try:
            document, warnings = read_ora(candidate.ora)
        except EngineError as exc:
            self.show_error("Could not recover", f"{exc}\n\nThe autosave stays in {self.recovery_folder}.")
            return False
        self.document.undo_stack.push(ReplaceDocumentCommand(self.document, document, candidate.document_path,
                                                             f"Recover {candidate.name}"))
        candidate.discard()  # this window's autosaver keeps it safe from now on
        self.document_shown.emit()
        missing = self.restore_document_models()
        self._say(" ".join([f"Recovered {candidate.describe()}. Save it to keep it."] + missing), 10000)
        if warnings:
            self.show_error("Some parts could not be recovered", "\n".join(warnings))
        return True

    # ------------------------------------------------------------------ recent files

    def fill_recent_menu(self, menu: QMenu) -> None:
        """Refill ``menu`` (File > Open Recent) with the recent files, each opening as what it is."""
        menu.clear()
        files = self.settings.recent_files()
        for path in files:
            kind = "model" if is_model_path(path) else "document" if is_document_path(path) else "image"
            act = menu.addAction(f"{short_name(path)}  ({kind})")
            act.setToolTip(path)
            act.setStatusTip(path)
            act.triggered.connect(lambda _checked=False, p=path: self.open_recent(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear list", self.settings.clear_recent_files)
        else:
            menu.addAction("No recent files").setEnabled(False)

    def open_recent(self, path: str) -> None:
        """Open a recent file as what it is (model, document or image); forget it when it is gone."""
        if not os.path.exists(path):
            self.settings.remove_recent_file(path)
            self.show_error("File not found", f"{path} no longer exists; it was removed from the recent files.")
            return
        if is_model_path(path):
            self.model_loader.load(path)
        else:
            self.open_image(path)

    def open_dropped(self, path: str) -> None:
        """Checkpoints load as models, .ora files open, images become new layers (undoable)."""
        if is_model_path(path):
            self.model_loader.load(path)
        elif is_document_path(path):
            self.open_document(path)
        else:
            self.add_image_layer_from_file(path)



def fit_into(image, width: int, height: int):
    """HxWx4 ``image`` centred on a transparent ``width``×``height`` canvas, scaled down (keeping its
    aspect) when it is larger."""
    from PIL import Image

    h, w = image.shape[:2]
    scale = min(1.0, width / w, height / h)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
        h, w = image.shape[:2]
    canvas = np.zeros((height, width, 4), np.uint8)
    y, x = (height - h) // 2, (width - w) // 2
    canvas[y:y + h, x:x + w] = image
    return canvas
