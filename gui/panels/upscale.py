"""Upscale workspace: super-resolve the image (placeholder for now)."""

from gui.panels.base import PlaceholderPanel


class UpscalePanel(PlaceholderPanel):
    TITLE = "Upscale"
    OBJECT_NAME = "upscalePanel"
    SUMMARY = "Enlarge the image 2x or 4x with a super-resolution model (ESRGAN / Real-ESRGAN)."
    COMING = (
        "Scale and tile-size controls (tiles keep memory use low on big images)",
        "Before/after comparison on the canvas",
        "Progress and cancel for long jobs",
    )
