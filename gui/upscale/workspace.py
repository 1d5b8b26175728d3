"""The Upscale workspace assembled: session, before/after view, and its dock panel.

:class:`UpscaleWorkspaceController` is what the main window owns (see ``gui.workspaces.table.WORKSPACES``):
it builds the :class:`~gui.upscale.session.UpscaleSession` on the window's bridge and document,
the central :class:`~gui.upscale.views.UpscaleWorkspace` (before | after with a draggable split)
and the Upscale dock. A loaded model whose capabilities include ``upscale`` (ESRGAN, Real-ESRGAN,
SRVGG, SRResNet) joins the workspace's model list and becomes the current upscale model.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from engine.types import ModelSummary
from gui.upscale.panel import UpscalePanel
from gui.upscale.session import UpscaleSession, is_upscale_model
from gui.upscale.views import UpscaleWorkspace
from gui.workspaces.base import Workspace


class UpscaleWorkspaceController(Workspace):
    TITLE = "Upscale"
    KEY = "upscale"

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(bridge, document_model, parent)
        self.session = UpscaleSession(bridge, document_model, self)
        self.view = UpscaleWorkspace(self.session)
        self.panel = UpscalePanel(self.session)
        self.panels = [self.panel]
        self.panel.open_model_requested.connect(self.request_model)  # the user picked a checkpoint with Open…

    @staticmethod
    def accepts(summary: ModelSummary) -> bool:
        return is_upscale_model(summary)

    def use_model(self, summary: ModelSummary, options: dict | None = None) -> None:
        self.session.add_model(summary, options)
