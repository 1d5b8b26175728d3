"""Inpaint workspace: mask a region and let a model fill it (placeholder for now)."""

from gui.panels.base import PlaceholderPanel


class InpaintPanel(PlaceholderPanel):
    TITLE = "Inpaint"
    OBJECT_NAME = "inpaintPanel"
    SUMMARY = "Paint a mask over part of an image and let a model fill it in."
    COMING = (
        "Mask brush and eraser, with feathering",
        "Fill with an inpainting model (context encoder) or by re-rendering the label map",
        "Keep several fills and pick the best",
    )
