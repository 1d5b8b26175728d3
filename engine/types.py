"""Plain data that crosses the gui/engine seam.

Only frozen dataclasses of numpy arrays, paths, strings and numbers live here. This module must
stay importable without torch (the GUI imports it), so never import torch here.

Array conventions:
  * images: ``HxWx3 uint8`` RGB (``HxWx4`` RGBA where stated; 16-bit inputs as ``uint16``);
  * label maps: ``HxW int32`` class indices as the model's label set numbers them;
  * instance maps: ``HxW int32`` instance ids;
  * masks: ``HxW bool``, True where the pixel is to be filled;
  * latents: ``float32`` vectors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np


@dataclass(frozen=True)
class ModelRef:
    """Which model a request wants: a checkpoint path plus the options the file cannot tell.

    ``options`` uses the official option names of the checkpoint's project (e.g. ``label_nc``,
    ``num_upsampling_layers`` for SPADE). They are merged over any sidecar JSON.
    """

    path: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def cache_key(self) -> str:
        return json.dumps({"path": self.path, "options": dict(self.options)}, sort_keys=True, default=str)


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of one job: ``fraction`` in [0, 1] (or None when unknown) and a short message."""

    job_id: int
    fraction: float | None
    message: str = ""


@dataclass(frozen=True)
class EngineState:
    """A snapshot of the engine for the status bar."""

    device: str
    busy: bool
    queue_length: int
    running_channel: str | None = None
    last_duration_s: float | None = None
    jobs_done: int = 0
    stopped: bool = False


# --------------------------------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class LoadModelRequest:
    """Load (or fetch from the cache) a checkpoint and describe it."""

    model: ModelRef


@dataclass(frozen=True)
class ModelSummary:
    """What a loaded checkpoint is, for the Models panel and ``gan-studio info``.

    ``family`` is the architecture (``spade``, ``pix2pixhd``, ``esrgan`` ...); ``source_format``
    is the file layout it came from (``spade-official``, ``gan-studio`` ...); ``config`` is the
    architecture config as plain JSON-able values; ``label_set`` is the model's label set as the
    asset format stores it (see assets/labelsets), or None for models that take no label map.
    """

    path: str
    family: str
    source_format: str
    config: Mapping[str, Any]
    parameter_count: int
    networks: tuple[str, ...]
    capabilities: tuple[str, ...] = ()
    label_set: Mapping[str, Any] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Diagnostics


@dataclass(frozen=True)
class TestPatternRequest:
    """Render a colour test pattern on the engine thread (used by Help > Engine self-test)."""

    width: int = 256
    height: int = 256
    seed: int = 0
    steps: int = 1


@dataclass(frozen=True)
class ImageResult:
    """A rendered image plus how long the engine took, in seconds."""

    image: np.ndarray
    duration_s: float
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Paint (label map -> image)


@dataclass(frozen=True)
class SynthesizeRequest:
    """Render a label map with a conditional generator (SPADE, pix2pixHD, pix2pix, CycleGAN).

    ``label_map``: HxW int32 class indices (for image-to-image models: an HxWx3 uint8 image).
    ``instance_map``: HxW int32 instance ids, or None (edges are derived from the label map
    where the model wants instances and none are given).
    ``style_image``: HxWx3 uint8 RGB for models with a style encoder, or None for a random style
    drawn from ``seed``.
    ``size``: optional (height, width) to render at; None renders at the model's own size.
    """

    model: ModelRef
    label_map: np.ndarray
    instance_map: np.ndarray | None = None
    style_image: np.ndarray | None = None
    seed: int = 0
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class SynthesizeResult:
    """``image`` HxWx3 uint8; ``z`` the style latent used (None when the model has none)."""

    image: np.ndarray
    duration_s: float
    seed: int
    z: np.ndarray | None = None
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Upscale


@dataclass(frozen=True)
class UpscaleRequest:
    """Super-resolve ``image`` (HxW, HxWx3 or HxWx4; uint8 or uint16).

    ``tile``: tile edge in input pixels (0 = whole image at once); ``tile_pad``: overlap on each side.
    ``outscale``: final scale; None uses the network's own scale.
    ``blend``: a second checkpoint of the same architecture for network interpolation (ESRGAN's
    PSNR <-> GAN blend); the weights used are ``(1 - blend_alpha) * model + blend_alpha * blend``,
    ``blend_alpha`` in [0, 1]. None runs ``model`` alone.
    ``memory_budget_mb``: working memory the network may hold per tile, in MiB (the high-resolution
    tail of RRDBNets then runs in strips, and larger tiles are cut down to fit).
    """

    model: ModelRef
    image: np.ndarray
    tile: int = 256
    tile_pad: int = 16
    outscale: float | None = None
    blend: ModelRef | None = None
    blend_alpha: float = 0.0
    memory_budget_mb: int = 512


@dataclass(frozen=True)
class UpscaleResult:
    image: np.ndarray
    duration_s: float
    scale: float
    tile_used: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpscaleFolderRequest:
    """Upscale every image of the folder ``source_dir`` into ``output_dir`` as PNG (one job).

    Each output is named after its source (``stem + suffix + ".png"``). Unreadable files are skipped
    and reported; a source image is never overwritten (the job refuses before writing anything).
    ``tile``, ``tile_pad``, ``outscale``, ``blend`` and ``blend_alpha`` mean what they mean in
    :class:`UpscaleRequest`. Progress runs over the whole folder; cancelling stops after the
    current tile, and files already written stay.
    """

    model: ModelRef
    source_dir: str
    output_dir: str
    tile: int = 256
    tile_pad: int = 16
    outscale: float | None = None
    blend: ModelRef | None = None
    blend_alpha: float = 0.0
    suffix: str = ""


@dataclass(frozen=True)
class UpscaleFolderResult:
    """``written``: (source, output) path pairs; ``skipped``: (source, why) pairs, both in folder order."""

    written: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str], ...]
    duration_s: float
    scale: float
