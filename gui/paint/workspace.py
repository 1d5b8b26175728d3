"""The Paint workspace assembled: session, central view, and its two dock panels.

:class:`PaintWorkspaceController` is what the main window owns: it builds the
:class:`~gui.paint.session.PaintSession` on the window's bridge and document, the central
:class:`~gui.paint.views.PaintWorkspace` (label canvas | output), and the Paint and Style docks.
A loaded model whose capabilities include ``label_map`` becomes the paint model.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.types import ModelSummary
from gui.paint.panel import PaintPanel, StylePanel
from gui.paint.session import PaintSession
from gui.paint.views import PaintWorkspace


class PaintWorkspaceController(QObject):
    TITLE = "Paint"
    #: ask the main window to load a checkpoint with options (path, options dict)
    load_model_requested = Signal(str, object)

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
        self.panel.recipe_requested.connect(self.open_recipe)
        self._pending_recipe: dict[str, Any] | None = None

    @staticmethod
    def accepts(summary: ModelSummary) -> bool:
        return "label_map" in summary.capabilities or "image_to_image" in summary.capabilities

    def use_model(self, summary: ModelSummary, options: dict | None = None) -> None:
        self.session.set_model(summary, options)
        recipe, self._pending_recipe = self._pending_recipe, None
        if recipe is not None:
            self._apply_recipe(recipe)

    def open_recipe(self, recipe: dict[str, Any]) -> None:
        """Restore the state an exported PNG was made with: model (loaded if needed), seed, style."""
        model = recipe.get("model")
        options = dict(recipe.get("model_options") or {})
        current = self.session.model
        if model and (current is None or current.path != model or self.session.model_options != options):
            self._pending_recipe = recipe
            self.load_model_requested.emit(str(model), options)
            return
        self._apply_recipe(recipe)

    def _apply_recipe(self, recipe: dict[str, Any]) -> None:
        style_path = recipe.get("style_path")
        if recipe.get("style") == "image" and style_path and self.style_panel.use_style_file(style_path):
            self.session.status.emit(f"Recipe restored: style image {style_path}")
            return
        seed = int(recipe.get("seed", 0))
        self.style_panel.seed_spin.setValue(seed)
        self.session.set_seed(seed)
        self.session.status.emit(f"Recipe restored: seed {seed}")
