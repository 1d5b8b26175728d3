"""Style workspace: pick a style image for models with a style encoder (placeholder for now)."""

from gui.panels.base import PlaceholderPanel


class StylePanel(PlaceholderPanel):
    TITLE = "Style"
    OBJECT_NAME = "stylePanel"
    SUMMARY = "Choose the look of a painted scene: from a style image, or a random style from a seed."
    COMING = (
        "Drop or open a style image (models with a style encoder, e.g. SPADE)",
        "Random styles from a seed, with a history to go back to",
        "Blend between two styles",
    )
