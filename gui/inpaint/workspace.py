"""The Inpaint workspace assembled: session, mask canvas / comparison view, and its dock panel.

:class:`InpaintWorkspaceController` is what the main window owns (see ``gui.workspaces.table.WORKSPACES``):
it builds the :class:`~gui.inpaint.session.InpaintSession` on the window's bridge and document,
the central :class:`~gui.inpaint.view.InpaintWorkspace` and the Inpaint dock. A loaded model whose
capabilities include ``inpaint`` (a context encoder) joins the workspace's model list and becomes
the current inpainting model.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from engine.types import ModelSummary
from gui.inpaint.panel import InpaintPanel
from gui.inpaint.session import InpaintSession, is_inpaint_model
from gui.inpaint.view import InpaintWorkspace
from gui.workspaces.base import Workspace


class InpaintWorkspaceController(Workspace):
    TITLE = "Inpaint"
    KEY = "inpaint"

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(bridge, document_model, parent)
        self.session = InpaintSession(bridge, document_model, self)
        self.view = InpaintWorkspace(self.session)
        self.panel = InpaintPanel(self.session)
        self.panels = [self.panel]
        self.panel.open_model_requested.connect(self.request_model)  # the user picked a checkpoint with Open…

    @staticmethod
    def accepts(summary: ModelSummary) -> bool:
        return is_inpaint_model(summary)

    def use_model(self, summary: ModelSummary, options: dict | None = None) -> None:
        self.session.add_model(summary, options)
