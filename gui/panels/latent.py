"""Latent workspace: explore an unconditional generator's latent space (placeholder for now)."""

from gui.panels.base import PlaceholderPanel


class LatentPanel(PlaceholderPanel):
    TITLE = "Latent"
    OBJECT_NAME = "latentPanel"
    SUMMARY = "Explore what a generator (StyleGAN2, BigGAN) can make, with sliders and seeds."
    COMING = (
        "Seed browser and truncation slider",
        "Sliders along latent directions, rendered live while you drag",
        "Class picker for class-conditional models (BigGAN)",
        "Bookmarks and interpolation between them",
    )
