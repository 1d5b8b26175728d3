"""Train workspace: fine-tune or train a model on your own images (placeholder for now)."""

from gui.panels.base import PlaceholderPanel


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
