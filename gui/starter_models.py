"""The first minute: the shipped starter models, loaded at start, and the Models panel's catalogue.

:class:`StarterModels` (``window.starters``) lists the shipped models (``checkpoints/``, checksums
verified by :mod:`engine.starter`) and the user's models folder (a setting) in the Models panel,
loads one starter per workspace at start through the window's :class:`gui.model_loading.ModelLoader`,
and gives a fresh Paint document the example world scene so the first render shows what the model
does. A starter whose SHA-256 does not match the manifest is reported (Models panel, status bar)
and never loaded. Nothing here imports torch.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from engine import starter
from engine.types import ModelSummary
from gui.panels.models import ModelsPanel
from gui.settings import AppSettings

log = logging.getLogger(__name__)


class StarterModels(QObject):
    """See the module docstring. ``checkpoints_folder``: where the manifest is (default: this
    install's checkpoints/). Signal ``status(str, int)``: a status bar message and its duration (ms)."""

    status = Signal(str, int)

    def __init__(self, loader, models_panel: ModelsPanel, settings: AppSettings, dialog_parent: QWidget,
                 checkpoints_folder: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.loader = loader
        self.models_panel = models_panel
        self.settings = settings
        self.dialog_parent = dialog_parent
        self.checkpoints_folder = checkpoints_folder
        self.paths: set[str] = set()  # starters loaded (or loading) at start
        models_panel.load_requested.connect(lambda path: self.loader.load(path))
        models_panel.models_folder_requested.connect(self.choose_models_folder)
        loader.model_used.connect(self._model_used)

    def refresh(self) -> starter.StarterScan:
        """List the shipped models and the user's models folder in the Models panel; returns the
        scan of the shipped ones."""
        found = starter.scan(self.checkpoints_folder)
        users = starter.user_models(self.settings.models_folder())
        self.models_panel.set_catalog([*found.models, *users], found.problems)
        return found

    def load_all(self) -> list[str]:
        """Load one shipped model per workspace (the first the manifest lists). Problems (e.g. a
        checksum mismatch) are shown, never loaded. Returns the paths being loaded."""
        found = self.refresh()
        if found.problems:
            self.status.emit(found.problems[0], 15000)
        chosen: dict[str, str] = {}
        for model in found.models:
            chosen.setdefault(model.workspace, model.path)
        self.paths.update(chosen.values())
        self.loader.quiet_paths.update(chosen.values())
        for path in chosen.values():
            self.loader.load(path)
        return list(chosen.values())

    def is_starter(self, path: str) -> bool:
        return path in self.paths

    def _model_used(self, workspace, summary: ModelSummary) -> None:
        if workspace is not None and workspace.KEY == "paint" and summary.path in self.paths:
            self.paint_example_scene(workspace)

    def paint_example_scene(self, workspace) -> bool:
        """Give a fresh Paint document the example world scene (one undoable step). A label map
        the user already painted is never touched. Returns True when the scene was placed."""
        session = workspace.session
        if session.translates_images:
            return False
        layer = session.ensure_label_layer()
        if not np.all(layer.pixels == session.brush.eraser_class):
            return False
        try:
            labels = starter.example_scene_labels(*layer.pixels.shape)
        except (ValueError, ImportError) as exc:
            log.warning("no example scene: %s", exc)
            return False
        if int(labels.max()) >= len(session.palette):
            return False  # the model's label set is not the world's
        session.set_labels(labels, "Example scene")
        return True

    def choose_models_folder(self) -> None:
        """Pick the folder of the user's own models (a setting); the Models panel lists it."""
        path = QFileDialog.getExistingDirectory(self.dialog_parent, "Your models folder",
                                                self.settings.models_folder() or self.settings.last_folder("model"))
        if path:
            self.settings.set_models_folder(path)
            self.refresh()
