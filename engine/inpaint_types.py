"""Plain request and result of inpainting (filling a masked part of an image with a model).

Frozen dataclasses of numpy arrays, numbers and strings only; importable without torch (the GUI
imports this module). The engine side is :mod:`engine.pipelines.inpaint`.

Conventions:
  * ``image``: ``HxWx3`` (RGB) or ``HxWx4`` (RGBA) ``uint8``; alpha passes through untouched;
  * ``mask``: ``HxW bool``, the same size as the image, True where pixels are to be filled;
  * only masked pixels ever change: every unmasked pixel of the result is bit-identical to the
    input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.types import ModelRef

#: the feather width used when a request does not say, in image pixels
DEFAULT_FEATHER = 2


@dataclass(frozen=True, eq=False)
class InpaintRequest:
    """Fill the masked pixels of ``image`` with an inpainting model (a context encoder).

    ``seed``: recorded with the result; context encoders are deterministic, so the same request
    gives the same pixels (the seed is there for stochastic models).
    ``feather``: width in image pixels of the band *inside* the mask border over which the fill
    fades in from the original colours (0 = none; the fill's colours are matched to the
    surroundings at the border either way). Pixels outside the mask never change.
    """

    model: ModelRef
    image: np.ndarray
    mask: np.ndarray
    seed: int = 0
    feather: int = DEFAULT_FEATHER


@dataclass(frozen=True)
class FilledRegion:
    """One connected masked region that was filled: its bounding box in image pixels
    (``top, left, height, width``), the square context window used (``top, left, size``; it
    may reach past the image edge, where the context is mirrored), the number of masked pixels, and
    ``scale``: model pixels per image pixel (below 1 where the window was shrunk to fit the model)."""

    box: tuple[int, int, int, int]
    window: tuple[int, int, int]
    pixels: int
    scale: float


@dataclass(frozen=True, eq=False)
class InpaintResult:
    """``image``: the filled image, same shape and dtype as the request's; ``regions``: what was
    filled, in order; ``notes``: things the user should know (e.g. a region filled at reduced
    resolution)."""

    image: np.ndarray
    duration_s: float
    regions: tuple[FilledRegion, ...] = ()
    seed: int = 0
    notes: tuple[str, ...] = ()

    @property
    def regions_filled(self) -> int:
        return len(self.regions)
