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
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from engine.errors import CheckpointError, MissingOptionError
from engine.open_options import ASK_BEFORE_ASSUMING, OptionsQuestion, question_for_error, remember_options
from gui.dialogs.options_dialog import OptionsDialog
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

    def ask_options(self, question: OptionsQuestion) -> dict[str, Any] | None:
        """Show the options dialog for ``question``; the answers (remembered in the checkpoint's
        sidecar JSON when the user leaves "Remember" on), or None when they cancel."""
        dialog = OptionsDialog(question, self.dialog_parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        values = dialog.values()
        if dialog.remember_box.isChecked():
            try:
                where = remember_options(question.path, values)
            except CheckpointError as exc:
                self.show_error("Options not remembered", str(exc))
            else:
                self.status.emit(f"Options remembered in {where}", 8000)
        return values

    def confirm_other_workspace(self, requested_by: Workspace, other: Workspace, summary: ModelSummary) -> bool:
        """Ask whether a model that ``requested_by`` (whose Open… loaded it) cannot run should be
        opened in ``other``, where it belongs; True for yes."""
        shown = getattr(self.dialog_parent, "show_workspace", None)
        if callable(shown):
            shown(requested_by)  # the question is asked where the user opened the file
        answer = QMessageBox.question(
            self.dialog_parent, f"Not a {requested_by.TITLE} model",
            f"{short_name(summary.path)} is a {summary.family} model: the {requested_by.TITLE} workspace cannot "
            f"run it, the {other.TITLE} workspace can.\n\nOpen it in {other.TITLE}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------------ the load job

    def load(self, path: str, options: dict | None = None, requested_by: Workspace | None = None):
        """Ask the engine to load ``path`` (with official ``options`` the file cannot tell);
        the Models panel shows the outcome. The model goes to ``requested_by`` (the workspace whose
        Open…, recipe or document asked for it) when that one accepts it, else to the first
        workspace that does. Returns the job handle."""
        options = dict(options or {})
        self.models_panel.model_loading(path)
        self.status.emit(f"Loading {short_name(path)}…", 0)
        # a loader that would guess an option asks instead (the dialog shows its guess pre-filled)
        request_options = {**options, ASK_BEFORE_ASSUMING: True}
        return self.bridge.submit(
            LoadModelRequest(ModelRef(str(path), request_options)),
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
        if (requested_by is not None and taker is not None and taker is not requested_by
                and not requested_by.HANDS_MODELS_ON):
            if not self.confirm_other_workspace(requested_by, taker, summary):
                self.status.emit(f"{short_name(path)} is loaded (Models panel) but not used: it is a {summary.family} "
                                 f"model, which {requested_by.TITLE} cannot run.", 10000)
                return
        if taker is not None:
            taker.use_model(summary, options)
        self.model_used.emit(taker, summary)
        self.status.emit(f"Loaded {short_name(path)}: {summary.family}, {summary.parameter_count:,} parameters", 8000)

    def _failed(self, path: str, message: str, error: BaseException | None, options: dict[str, Any],
                requested_by: Workspace | None = None) -> None:
        if isinstance(error, MissingOptionError):
            question = question_for_error(path, error)
            asked = {spec.name for spec in question.options}
            if not asked <= set(options) or any(spec.guessed for spec in question.options):
                values = self.ask_options(question)
                if values is None:
                    self.models_panel.model_failed(path, "the options were not given")
                    self.models_changed.emit()
                    self.status.emit("", 0)
                    return
                self.load(path, {**options, **values}, requested_by)
                return
        self.models_panel.model_failed(path, message)
        self.models_changed.emit()
        self.status.emit("", 0)
        self.show_error("Could not load model", message)

    def _cancelled(self, path: str) -> None:
        self.models_panel.model_failed(path, "loading was cancelled")
        self.models_changed.emit()
