"""The Paint workspace assembled: session, central view, and its two dock panels.

:class:`PaintWorkspaceController` is what the main window owns: it builds the
:class:`~gui.paint.session.PaintSession` on the window's bridge and document, the central
:class:`~gui.paint.views.PaintWorkspace` (label canvas | output), and the Paint and Style docks.
A loaded model whose capabilities include ``label_map`` becomes the paint model.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from engine.document import Document
from engine.errors import EngineError
from engine.types import ModelSummary
from gui.paint.panel import PaintPanel, StylePanel
from gui.paint.session import PaintSession
from gui.paint.views import PaintWorkspace
from gui.recipes import RecipeOpener
from gui.workspaces.base import Workspace, read_saved_model

#: ``document.state`` key of the Paint model, its options, seed and style
PAINT_STATE = "paint"


class PaintWorkspaceController(Workspace):
    TITLE = "Paint"
    KEY = "paint"

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(bridge, document_model, parent)
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
        self.panel.recipe_requested.connect(self._recipe_from_panel)
        self.recipes = RecipeOpener("paint", self._current_model, self.request_model, self.session.status.emit)
        self.session.confirm_resample = self._confirm_resample

    def _confirm_resample(self, old: tuple[int, int], new: tuple[int, int]) -> bool:
        """Ask before the painted document is resampled to a newly loaded model's size."""
        answer = QMessageBox.question(
            self.panel, "Resize the document?",
            f"This model renders {new[1]}×{new[0]} pixels; the document is {old[1]}×{old[0]}. Resize the document "
            "(label maps keep their classes, images are resampled smoothly; Undo brings the old size back)?\n\n"
            "No keeps the size; renders are then scaled to it when sent to a layer.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    @staticmethod
    def accepts(summary: ModelSummary) -> bool:
        return "label_map" in summary.capabilities or "image_to_image" in summary.capabilities

    def use_model(self, summary: ModelSummary, options: dict | None = None) -> None:
        self.session.set_model(summary, options)
        recipe = self.recipes.take(summary.path)
        if recipe is not None:
            self._apply_recipe(recipe)

    def _current_model(self) -> tuple[str, dict[str, Any]] | None:
        model = self.session.model
        return None if model is None else (model.path, dict(self.session.model_options))

    def open_recipe(self, recipe: dict[str, Any], what: str = "recipe") -> None:
        """Restore the state an exported PNG was made with: model (loaded if needed), seed, style.
        Raises EngineError when its model is not on this computer and no model is loaded."""
        self.recipes.open(recipe, recipe, self._apply_recipe, what)

    def _recipe_from_panel(self, recipe: dict[str, Any]) -> None:
        try:
            self.open_recipe(recipe)
        except EngineError as exc:
            QMessageBox.warning(self.panel, "Open recipe", str(exc))

    def _apply_recipe(self, recipe: dict[str, Any]) -> None:
        style_path = recipe.get("style_path")
        if recipe.get("style") == "image" and style_path and self.style_panel.use_style_file(style_path):
            self.session.status.emit(f"Recipe restored: style image {style_path}")
            return
        seed = int(recipe.get("seed", 0))
        self.style_panel.seed_spin.setValue(seed)
        self.session.set_seed(seed)
        self.session.status.emit(f"Recipe restored: seed {seed}")

    # ------------------------------------------------------------------ the document

    def capture_state(self, document: Document) -> None:
        """The label sets of label layers (so reopening shows the same classes) and the model, seed and style."""
        session = self.session
        palette = session.palette
        for layer in document.layers:
            if (layer.kind == "labels" and layer.label_set == palette.name
                    and layer.label_set not in document.label_sets):
                document.label_sets[layer.label_set] = palette.label_set.to_dict()
        if session.model is not None:
            document.state[PAINT_STATE] = {"model": session.model.path, "model_options": dict(session.model_options),
                                           "seed": int(session.seed), "style_path": session.style_path}

    def restore_state(self, document: Document) -> list[str]:
        """Load the saved model (unless it is loaded already) and restore its seed and style as a recipe would."""
        notes: list[str] = []
        saved = read_saved_model(document, PAINT_STATE, self.TITLE, notes)
        if saved is None:
            return notes
        try:
            seed = int(saved.entry.get("seed", 0))
        except (TypeError, ValueError):
            seed = 0
        recipe: dict[str, Any] = {"model": saved.path, "model_options": saved.options, "seed": seed}
        style_path = saved.entry.get("style_path")
        if style_path and os.path.isfile(str(style_path)):
            recipe.update(style="image", style_path=str(style_path))
        self.open_recipe(recipe, "document")
        return notes
