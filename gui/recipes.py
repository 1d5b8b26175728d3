"""Opening a recipe (the state an exported PNG was made with) in the workspace that made it.

One routine for every workspace that exports recipes (Paint, Latent): given a recipe (read
with ``engine.imageio.read_recipe``, which refuses one of another workspace), :class:`RecipeOpener`
restores it at once when its model is the workspace's current one; when it names another model
that is on this computer it asks for that model to be loaded and restores the recipe once it
arrives; when that model is gone it applies the recipe to the current model with a note (or,
without one, says which model to open). Reopening a saved document restores its models the
same way. Nothing here imports torch.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable

from PySide6.QtWidgets import QFileDialog, QWidget

from engine.errors import EngineError

log = logging.getLogger(__name__)

RECIPE_FILTER = "PNG images (*.png)"


def choose_recipe_file(parent: QWidget | None) -> str | None:
    """Ask for a PNG exported by GAN Studio; None when the user cancels."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open recipe", "", RECIPE_FILTER)
    return path or None


class RecipeOpener:
    """Restores recipes in one workspace (see the module docstring).

    Args:
        tool: the workspace's recipe tag (``"paint"``, ``"latent"``); recipes of others are refused.
        current_model: returns the workspace's current model as ``(path, options)``, or None.
        request_model: ``request_model(path, options)`` asks the window to load a model.
        status: tells the user what happens (e.g. that the recipe's model is being loaded).
    """

    def __init__(self, tool: str, current_model: Callable[[], tuple[str, dict[str, Any]] | None],
                 request_model: Callable[[str, dict[str, Any]], None], status: Callable[[str], None]):
        self.tool = tool
        self.current_model = current_model
        self.request_model = request_model
        self.status = status
        self._pending: tuple[str, Any] | None = None

    def open(self, recipe: dict[str, Any], payload: Any, apply: Callable[[Any], None], what: str = "recipe") -> bool:
        """Restore ``recipe`` (its ``model`` and ``model_options`` say what made it): ``apply(payload)`` now
        when that model is the current one (or it names none), or once that model has loaded
        (:meth:`take`). ``what`` names the source in messages ("recipe", "document"). Returns True
        when applied now. Raises EngineError when the model is gone (or unnamed) and none is loaded."""
        model = str(recipe.get("model") or "")
        options = recipe.get("model_options")
        options = dict(options) if isinstance(options, dict) else {}
        current = self.current_model()
        if current is not None and (not model or (current[0] == model and
                                                  ("model_options" not in recipe or current[1] == options))):
            apply(payload)
            return True
        if model and os.path.exists(model):
            self._pending = (model, payload)
            self.status(f"Loading {os.path.basename(model)}, the model this {what} was made with…")
            self.request_model(model, options)
            return False
        if current is None:
            raise EngineError(f"This {what} was made with {model or 'an unknown model'}, which is not on this "
                              "computer. Open that model first (File > Open model).")
        apply(payload)
        self.status(f"This {what} was made with {os.path.basename(model)}; it is applied to the loaded model, "
                    "so the image differs.")
        return True

    def take(self, model_path: str) -> Any | None:
        """The payload waiting for ``model_path`` (which just loaded), or None; it is handed out once."""
        if self._pending is None or self._pending[0] != model_path:
            return None
        payload, self._pending = self._pending[1], None
        return payload

    def forget(self) -> None:
        """Drop a recipe that waits for its model (e.g. a document restore replaces it)."""
        self._pending = None
