"""Model loading for the main window: the Open model dialogs, the load job, the missing-option
question, and handing a loaded model to the first workspace that accepts it.

:class:`ModelLoader` submits ``LoadModelRequest``s through the window's engine bridge and reports
to the Models panel; the window connects every workspace's ``load_model_requested`` to
:meth:`ModelLoader.load`. Nothing here imports torch.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from engine.errors import MissingOptionError
from engine.types import LoadModelRequest, ModelRef, ModelSummary
from gui.panels.models import ModelsPanel, short_name
from gui.settings import MODEL_EXTENSIONS, AppSettings
from gui.workspaces.base import Workspace

log = logging.getLogger(__name__)

MODEL_FILTER = ("Model checkpoints (" + " ".join(f"*{ext}" for ext in MODEL_EXTENSIONS) + ");;All files (*)")


class ModelLoader(QObject):
    """Loads checkpoints on the engine and routes each loaded model to a workspace.

    Args:
        bridge: the window's :class:`gui.engine_bridge.EngineBridge`.
        models_panel: the Models dock, told of every load, success and failure.
        settings: remembers the last model folder and the recent files.
        workspaces: in table order; a loaded model goes to the first whose ``accepts`` takes it.
        dialog_parent: the window (parent of file dialogs, questions and messages).
        show_error: ``show_error(title, message)`` tells the user what went wrong.

    Signals: ``status(str, int)`` (a status bar message and how long to show it in ms, 0 = until
    replaced; an empty message clears it); ``model_used(object, object)`` (the workspace that took a
    loaded model, or None when none did, and the ModelSummary); ``models_changed()`` after every outcome.
    """

    status = Signal(str, int)
    model_used = Signal(object, object)
    models_changed = Signal()

    def __init__(self, bridge, models_panel: ModelsPanel, settings: AppSettings, workspaces: Sequence[Workspace],
                 dialog_parent: QWidget, show_error: Callable[[str, str], None], parent: QObject | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.models_panel = models_panel
        self.settings = settings
        self.workspaces = list(workspaces)
        self.dialog_parent = dialog_parent
        self.show_error = show_error
        self.quiet_paths: set[str] = set()  # loaded without entering the recent files (the starter models)
        for workspace in self.workspaces:
            workspace.load_model_requested.connect(
                lambda path, options, asker=workspace: self.load(path, options, requested_by=asker))

    # ------------------------------------------------------------------ dialogs

    def choose_file(self) -> None:
        """File > Open model…: pick a checkpoint file and load it."""
        path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Open model", self.settings.last_folder("model"),
                                              MODEL_FILTER)
        if path:
            self.settings.set_last_folder("model", path)
            self.load(path)

    def choose_folder(self) -> None:
        """File > Open model folder…: pick a model stored as a folder and load it."""
        path = QFileDialog.getExistingDirectory(self.dialog_parent, "Open model folder",
                                                self.settings.last_folder("model"))
        if path:
            self.settings.set_last_folder("model", path)
            self.load(path)

    def ask_option(self, path: str, message: str, option: str) -> object | None:
        """Ask the user for an option the checkpoint cannot tell; None when they cancel."""
        text, ok = QInputDialog.getText(
            self.dialog_parent, "This model needs an option",
            f"{message}\n\nValue of '{option}' for {short_name(path)}:")
        if not ok or not text.strip():
            return None
        from engine.commands.common import parse_option_value

        return parse_option_value(text.strip())

    # ------------------------------------------------------------------ the load job

    def load(self, path: str, options: dict | None = None, requested_by: Workspace | None = None):
        """Ask the engine to load ``path`` (with official ``options`` the file cannot tell);
        the Models panel shows the outcome. The model goes to ``requested_by`` (the workspace whose
        Open…, recipe or document asked for it) when that one accepts it, else to the first
        workspace that does. Returns the job handle."""
        options = dict(options or {})
        self.models_panel.model_loading(path)
        self.status.emit(f"Loading {short_name(path)}…", 0)
        return self.bridge.submit(
            LoadModelRequest(ModelRef(str(path), options)),
            on_result=lambda summary: self._loaded(path, summary, options, requested_by),
            on_error=lambda message, exc: self._failed(path, message, exc, options, requested_by),
            on_cancel=lambda: self._cancelled(path),
        )

    def workspace_for(self, summary: ModelSummary, preferred: Workspace | None = None) -> Workspace | None:
        """``preferred`` when it accepts ``summary``, else the first workspace that does, else None."""
        if preferred is not None and preferred.accepts(summary):
            return preferred
        return next((w for w in self.workspaces if w.accepts(summary)), None)

    def _loaded(self, path: str, summary: ModelSummary, options: dict[str, Any],
                requested_by: Workspace | None = None) -> None:
        self.models_panel.model_loaded(summary, requested_path=path)
        if path not in self.quiet_paths:
            self.settings.add_recent_file(path)
        self.models_changed.emit()
        taker = self.workspace_for(summary, requested_by)
        if taker is not None:
            taker.use_model(summary, options)
        self.model_used.emit(taker, summary)
        self.status.emit(f"Loaded {short_name(path)}: {summary.family}, {summary.parameter_count:,} parameters", 8000)

    def _failed(self, path: str, message: str, error: BaseException | None, options: dict[str, Any],
                requested_by: Workspace | None = None) -> None:
        option = getattr(error, "option", None)
        if isinstance(error, MissingOptionError) and option and option not in options:
            value = self.ask_option(path, message, option)
            if value is not None:
                self.load(path, {**options, option: value}, requested_by)
                return
        self.models_panel.model_failed(path, message)
        self.models_changed.emit()
        self.status.emit("", 0)
        self.show_error("Could not load model", message)

    def _cancelled(self, path: str) -> None:
        self.models_panel.model_failed(path, "loading was cancelled")
        self.models_changed.emit()
