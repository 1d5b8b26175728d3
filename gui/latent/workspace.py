"""The Latent explorer workspace assembled: session, central view and its dock panel.

:class:`LatentWorkspaceController` is what the main window owns (see ``WORKSPACE_CONTROLLERS``
in gui/main_window.py): it builds the :class:`~gui.latent.session.LatentSession` on the window's
bridge and document, the central :class:`~gui.latent.view.LatentWorkspaceView` and the Latent
dock. A loaded model whose capabilities include ``latent`` (StyleGAN2, BigGAN) comes here.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from engine.types import ModelSummary
from gui.latent.panel import LatentPanel
from gui.latent.session import LatentSession
from gui.latent.view import LatentWorkspaceView

log = logging.getLogger(__name__)

LATENT_FAMILIES = ("stylegan2", "biggan")


class LatentWorkspaceController(QObject):
    """See the module docstring. ``load_model_requested(path, options)``: a recipe needs that model
    (the main window loads it, and it comes back through :meth:`use_model`)."""

    TITLE = "Latent"
    load_model_requested = Signal(str, object)

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(parent)
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
