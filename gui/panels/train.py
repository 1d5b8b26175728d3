"""Train workspace: fine-tune or train a model on your own images (placeholder for now).

:class:`TrainPlaceholderWorkspace` holds the one placeholder panel until the real Train workspace
(gui/train/) replaces its entry in :data:`gui.workspaces.table.WORKSPACES`.
"""

from PySide6.QtCore import QObject

from gui.panels.base import PlaceholderPanel
from gui.workspaces.base import Workspace


class TrainPanel(PlaceholderPanel):
    TITLE = "Train"
    OBJECT_NAME = "trainPanel"
    SUMMARY = ("Train a model of your own, or fine-tune one, on a folder of images, locally. "
               "Training runs in its own process, so the app stays responsive.")
    COMING = (
        "Pick a dataset folder (or start from the built-in starter world)",
        "Choose a model family and size; sensible presets for CPU and GPU",
        "Live loss curves and sample images while it trains",
        "Stop and resume; the result opens in the Models panel",
    )


class TrainPlaceholderWorkspace(Workspace):
    """The Train workspace before it is built: no view, the placeholder panel, no models."""

    TITLE = "Train"
    KEY = "train"

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(bridge, document_model, parent)
        self.panels = [TrainPanel()]
