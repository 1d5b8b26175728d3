"""The Paint workspace assembled: session, central view, and its two dock panels.

:class:`PaintWorkspaceController` is what the main window owns: it builds the
:class:`~gui.paint.session.PaintSession` on the window's bridge and document, the central
:class:`~gui.paint.views.PaintWorkspace` (label canvas | output), and the Paint and Style docks.
A loaded model whose capabilities include ``label_map`` becomes the paint model.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from engine.types import ModelSummary
from gui.paint.panel import PaintPanel, StylePanel
from gui.paint.session import PaintSession
from gui.paint.views import PaintWorkspace


class PaintWorkspaceController(QObject):
    TITLE = "Paint"

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(parent)
        self.session = PaintSession(bridge, document_model, self)
        self.view = PaintWorkspace(self.session)
        self.panel = PaintPanel(self.session)
        self.panel.TITLE = "Paint"
        self.panel.setObjectName("paintPanel")
        self.style_panel = StylePanel(self.session)
        self.style_panel.TITLE = "Style"
        self.style_panel.setObjectName("stylePanel")
        self.panels = [self.panel, self.style_panel]
        self.panel.view_mode_changed.connect(self.view.set_mode)

    @staticmethod
    def accepts(summary: ModelSummary) -> bool:
        return "label_map" in summary.capabilities

    def use_model(self, summary: ModelSummary, options: dict | None = None) -> None:
        self.session.set_model(summary, options)
