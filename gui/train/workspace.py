"""The Train workspace assembled: session, central view (runs, progress, curves, previews) and the Train dock.

:class:`TrainWorkspace` is what the main window owns (see ``gui.workspaces.table.WORKSPACES``). It
accepts no loaded model itself: "Open in …" asks the window to load a run's latest.safetensors
(:meth:`~gui.workspaces.base.Workspace.request_model`), and the window hands it to the workspace
that runs that family (Paint, Latent, Inpaint or Upscale). The runs folder is kept in the
window's settings (``train/runs_folder``, default ``~/GAN Studio/runs``).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings

from engine.types import ModelSummary
from gui.refcount_guard import protect_singletons
from gui.train.panel import TrainPanel
from gui.train.session import TrainSession
from gui.train.view import TrainView
from gui.workspaces.base import Workspace


def _window_settings(parent: QObject | None) -> QSettings | None:
    """The window's QSettings (``parent.settings`` is the window's :class:`gui.settings.AppSettings`)."""
    settings = getattr(parent, "settings", None)
    return getattr(settings, "qsettings", None) if settings is not None else None


class TrainWorkspace(Workspace):
    TITLE = "Train"
    KEY = "train"
    HANDS_MODELS_ON = True  # Open in Paint / Latent / ... loads into that workspace

    def __init__(self, bridge, document_model, parent: QObject | None = None, settings: QSettings | None = None):
        super().__init__(bridge, document_model, parent)
        protect_singletons()  # watching a run repaints and emits for hours: see gui.refcount_guard
        self.session = TrainSession(settings if settings is not None else _window_settings(parent), self)
        self.view = TrainView(self.session)
        self.panel = TrainPanel(self.session)
        self.panels = [self.panel]
        self.session.load_requested.connect(self.request_model)

    def accepts(self, summary: ModelSummary) -> bool:
        return False
