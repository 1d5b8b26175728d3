"""Paint workspace: paint a semantic label map, see it become an image (placeholder for now)."""

from gui.panels.base import PlaceholderPanel


class PaintPanel(PlaceholderPanel):
    TITLE = "Paint"
    OBJECT_NAME = "paintPanel"
    SUMMARY = ("Paint a semantic label map (sky, water, tree, rock ...) and watch a conditional GAN "
               "turn it into an image as you paint.")
    COMING = (
        "The label palette of the loaded model's label set, with names and colours",
        "Brush, fill, eraser and picker tools on the canvas",
        "Live rendering with SPADE / GauGAN, pix2pixHD, pix2pix and CycleGAN models",
        "Seed control and a 'new variation' button",
        "Sample label maps to start from",
    )
