"""The Latent explorer workspace assembled: session, central view and its dock panel.

:class:`LatentWorkspaceController` is what the main window owns (see ``gui.workspaces.table.WORKSPACES``):
it builds the :class:`~gui.latent.session.LatentSession` on the window's
bridge and document, the central :class:`~gui.latent.view.LatentWorkspaceView` and the Latent
dock. A loaded model whose capabilities include ``latent`` (StyleGAN2, BigGAN) comes here.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject

from engine.document import Document
from engine.types import ModelSummary
from gui.latent.panel import LatentPanel
from gui.latent.session import LatentSession
from gui.latent.view import LatentWorkspaceView
from gui.workspaces.base import Workspace, read_saved_model

log = logging.getLogger(__name__)

LATENT_FAMILIES = ("stylegan2", "biggan")
#: ``document.state`` key of the explorer's model, its options and settings (``state["latent"]`` is its library)
LATENT_MODEL_STATE = "latent_model"


class LatentWorkspaceController(Workspace):
    """See the module docstring. ``load_model_requested(path, options)``: a recipe or a saved document
    needs that model (the main window loads it, and it comes back through :meth:`use_model`)."""

    TITLE = "Latent"
    KEY = "latent"

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(bridge, document_model, parent)
        self.session = LatentSession(bridge, document_model, self)
        self.view = LatentWorkspaceView(self.session)
        self.panel = LatentPanel(self.session)
        self.panels = [self.panel]
        self.session.model_wanted.connect(self.load_model_requested)

    @staticmethod
    def accepts(summary: ModelSummary) -> bool:
        return "latent" in summary.capabilities or summary.family in LATENT_FAMILIES

    def use_model(self, summary: ModelSummary, options: dict | None = None) -> None:
        self.session.set_model(summary, options)

    def capture_state(self, document: Document) -> None:
        """The model, its options and the explorer settings (the library is in the document already)."""
        session = self.session
        if session.model is not None:
            document.state[LATENT_MODEL_STATE] = {"model": session.model.path,
                                                  "model_options": dict(session.model_options),
                                                  "settings": session.settings.to_dict()}

    def restore_state(self, document: Document) -> list[str]:
        """Load the saved model (unless it is loaded already); its settings apply once it has loaded."""
        notes: list[str] = []
        saved = read_saved_model(document, LATENT_MODEL_STATE, self.TITLE, notes)
        if saved is not None:
            settings = saved.entry.get("settings")
            self.session.restore(saved.path, saved.options, settings if isinstance(settings, dict) else None)
        return notes
