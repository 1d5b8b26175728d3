"""Paint with SPADE: label map (+ instance map, + style) -> image.

:func:`synthesize` is what the engine runs for a :class:`~engine.types.SynthesizeRequest` on a
``spade`` model (see the table in :mod:`engine.pipelines`; the image-to-image families are
:mod:`engine.pipelines.paint_translate`).

SPADE input preparation follows the original preprocessing exactly:
  * label ids ``0 .. label_nc-1``; with ``contain_dontcare_label`` the raw value 255 (or
    ``label_nc``) is the don't-care class, id ``label_nc``;
  * one-hot over ``label_nc (+1)`` channels, then (unless ``no_instance``) an instance-edge
    channel: 1 where a pixel's instance id differs from a 4-neighbour's (both pixels of the pair).
    Without an instance map the edges come from the label map (noted in the result).

Repeated renders go through :class:`~engine.pipelines.paint_spade_cache.SpadeModulationCache`, which
keeps the label-map-dependent work of the last render in ``model.runtime_cache``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import numpy as np
import torch

from engine.errors import InputError
from engine.models.loaded import LoadedModel
from engine.models.spade import SpadeConfig
from engine.pipelines.images import device_for, image_to_tensor, tensor_to_image
from engine.pipelines.paint_spade_cache import CACHE_KEY, SpadeModulationCache, onehot_from_codes
from engine.types import SynthesizeRequest, SynthesizeResult

log = logging.getLogger(__name__)

DONTCARE_RAW = 255
_STYLE_KEY = "spade.style"


# ---------------------------------------------------------------------------------------------
# Input preparation (pure numpy, testable without a model)


def check_label_map(label_map: Any, config: SpadeConfig) -> np.ndarray:
    """The label map as HxW int64 ids ``0 .. onehot_nc-1`` (don't care mapped to ``label_nc``).

    Raises :class:`InputError` for a wrong shape or dtype, or values the model does not know
    (saying how many pixels and which values)."""
    if not isinstance(label_map, np.ndarray):
        raise InputError("The label map must be a numpy array of class ids (HxW).")
    if label_map.ndim == 3 and label_map.shape[2] == 1:
        label_map = label_map[:, :, 0]
    if label_map.ndim != 2:
        raise InputError(
            f"A SPADE model needs a label map of class ids (HxW), not an array of shape {label_map.shape}. "
            "Paint with the label tools or load a label map image in index (palette) mode."
        )
    if label_map.size == 0:
        raise InputError("The label map is empty.")
    if not (np.issubdtype(label_map.dtype, np.integer) or label_map.dtype == bool):
        raise InputError(f"The label map must hold integer class ids, not {label_map.dtype} values.")
    labels = label_map.astype(np.int64)
    valid = (labels >= 0) & (labels < config.label_nc)
    if config.contain_dontcare_label:
        dontcare = (labels == DONTCARE_RAW) | (labels == config.label_nc)
        labels = np.where(dontcare, config.label_nc, labels)
        valid |= dontcare
    if not valid.all():
        bad_values = np.unique(labels[~valid])
        shown = ", ".join(str(v) for v in bad_values[:10]) + (" ..." if bad_values.size > 10 else "")
        allowed = f"0..{config.label_nc - 1}" + (f" and {DONTCARE_RAW} (don't care)" if config.contain_dontcare_label else "")
        raise InputError(
            f"{int((~valid).sum())} pixels of the label map hold class ids this model does not know ({shown}); "
            f"it knows {allowed}. Repaint them, or pick the label set that belongs to this model."
        )
    return labels


def instance_edges(instance_map: np.ndarray) -> np.ndarray:
    """HxW bool: True where a pixel's id differs from its right/left or lower/upper neighbour."""
    t = instance_map
    edge = np.zeros(t.shape, dtype=bool)
    horizontal = t[:, 1:] != t[:, :-1]
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    vertical = t[1:, :] != t[:-1, :]
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    return edge


def resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an HxW array (the floor rule of ``F.interpolate(mode='nearest')``)."""
    h, w = array.shape[:2]
    rows = np.minimum((np.arange(size[0]) * (h / size[0])).astype(np.int64), h - 1)
    cols = np.minimum((np.arange(size[1]) * (w / size[1])).astype(np.int64), w - 1)
    return array[rows][:, cols]


def semantic_codes(label_map: np.ndarray, instance_map: np.ndarray | None, config: SpadeConfig,
                   size: tuple[int, int] | None = None) -> tuple[np.ndarray, list[str]]:
    """Label map (+ instance map) -> HxW int64 code map the generator cache takes, plus notes.

    Codes are ``label*2 + edge`` when the model uses instance edges, else the label id. ``size``
    (height, width): resize to it first (nearest), noting it. Edges are taken at the final size.
    """
    notes: list[str] = []
    labels = check_label_map(label_map, config)
    if instance_map is not None:
        if not isinstance(instance_map, np.ndarray) or instance_map.ndim != 2 or not np.issubdtype(instance_map.dtype, np.integer):
            raise InputError("The instance map must be an HxW array of integer instance ids.")
        if instance_map.shape != labels.shape:
            raise InputError(
                f"The instance map is {instance_map.shape[1]}x{instance_map.shape[0]} but the label map is "
                f"{labels.shape[1]}x{labels.shape[0]}; they must be the same size."
            )
    if size is not None and tuple(labels.shape) != tuple(size):
        notes.append(f"The label map ({labels.shape[1]}x{labels.shape[0]}) was resized to {size[1]}x{size[0]} "
                     "(nearest neighbour) to fit the model.")
        labels = resize_nearest(labels, size)
        if instance_map is not None:
            instance_map = resize_nearest(instance_map, size)
    if config.no_instance:
        if instance_map is not None:
            notes.append("This model takes no instance map; the instance map was ignored.")
        return labels, notes
    if instance_map is None:
        notes.append("No instance map was given; object edges were derived from the label map.")
        instance_map = labels
    return labels * 2 + instance_edges(instance_map), notes


def semantic_onehot(label_map: np.ndarray, instance_map: np.ndarray | None, config: SpadeConfig) -> torch.Tensor:
    """The generator input exactly as the original preprocessing builds it: 1 x semantic_nc x H x W."""
    codes, _ = semantic_codes(label_map, instance_map, config)
    return onehot_from_codes(torch.from_numpy(codes), config.onehot_nc, not config.no_instance)


def output_size(config: SpadeConfig, requested: tuple[int, int] | None) -> tuple[int, int]:
    """The (height, width) to render at; :class:`InputError` for a size the architecture cannot make."""
    if requested is None:
        return config.output_size
    h, w = int(requested[0]), int(requested[1])
    if (h, w) == config.output_size:
        return h, w
    factor = 2 ** config.upsampling_steps
    if config.use_vae:
        oh, ow = config.output_size
        raise InputError(f"This SPADE model (with a style encoder) renders only at {ow}x{oh}, not {w}x{h}.")
    if h < factor or w < factor or h % factor or w % factor:
        near = (max(factor, round(h / factor) * factor), max(factor, round(w / factor) * factor))
        raise InputError(f"This SPADE model renders sizes that are multiples of {factor} pixels; {w}x{h} is not. "
                         f"The nearest is {near[1]}x{near[0]}.")
    return h, w


def style_tensor(image: Any) -> tuple[torch.Tensor, list[str]]:
    """A style image (HxWx3 uint8 RGB) as 1 x 3 x H x W in [-1, 1] (ToTensor + Normalize(0.5, 0.5))."""
    notes: list[str] = []
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        kind = image.dtype if isinstance(image, np.ndarray) else type(image).__name__
        raise InputError(f"The style image must be an 8-bit RGB image (HxWx3 uint8), not {kind}.")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        image = np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=2)
        notes.append("The grey style image was used as RGB.")
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
        notes.append("The style image's alpha channel was ignored.")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"The style image must be RGB (HxWx3), not an array of shape {image.shape}.")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise InputError(f"The style image is too small ({image.shape[1]}x{image.shape[0]}).")
    return image_to_tensor(image), notes


# ---------------------------------------------------------------------------------------------
# SPADE


def _device(model: LoadedModel, ctx: Any) -> torch.device:
    """The job's device (the model moved there); a move drops the modulation cache."""
    before = torch.device(model.device)
    device = device_for(model, ctx)
    if device != before:
        model.runtime_cache.pop(CACHE_KEY, None)
    return device


def modulation_cache(model: LoadedModel) -> SpadeModulationCache:
    cache = model.runtime_cache.get(CACHE_KEY)
    if not isinstance(cache, SpadeModulationCache) or cache.generator is not model.networks["G"]:
        cache = SpadeModulationCache(model.networks["G"])
        model.runtime_cache[CACHE_KEY] = cache
    return cache


def style_latent(model: LoadedModel, style_image: np.ndarray | None, seed: int,
                 device: torch.device) -> tuple[torch.Tensor, list[str]]:
    """z (1 x z_dim): encoded from ``style_image`` (posterior sample with noise from ``seed``),
    or drawn from N(0, I) with ``seed``."""
    config: SpadeConfig = model.config
    noise = torch.randn(1, config.z_dim, generator=torch.Generator().manual_seed(int(seed)))
    if style_image is None:
        return noise.to(device), []
    encoder = model.networks.get("E")
    if encoder is None:
        raise InputError(
            "This SPADE model has no style encoder (latest_net_E.pth was not found next to the generator), "
            "so it cannot copy the style of an image. Clear the style image to draw a random style, or put the "
            "encoder file next to the generator and reload the model."
        )
    tensor, notes = style_tensor(style_image)
    digest = hashlib.sha1(tensor.numpy().tobytes()).hexdigest() + str(device)
    cached = model.runtime_cache.get(_STYLE_KEY)
    if cached is not None and cached[0] == digest:
        mu, logvar = cached[1], cached[2]
    else:
        with torch.inference_mode():
            mu, logvar = encoder(tensor.to(device))
        model.runtime_cache[_STYLE_KEY] = (digest, mu, logvar)
    with torch.inference_mode():
        z = noise.to(device) * torch.exp(0.5 * logvar) + mu
    return z, notes


def render_eager(model: LoadedModel, codes: torch.Tensor, z: torch.Tensor | None,
                 size: tuple[int, int]) -> torch.Tensor:
    """The plain forward (no caching): the reference the fast path is checked against."""
    config: SpadeConfig = model.config
    seg = onehot_from_codes(codes, config.onehot_nc, not config.no_instance)
    with torch.inference_mode():
        return model.networks["G"](seg, z, out_size=size)


def synthesize(model: LoadedModel, request: SynthesizeRequest, ctx: Any) -> SynthesizeResult:
    """Render ``request`` with a SPADE ``model``. ``ctx``: a JobContext (progress, check_cancelled, device)."""
    start = time.perf_counter()
    config: SpadeConfig = model.config
    device = _device(model, ctx)
    ctx.progress(0.0, "Preparing the label map")
    size = output_size(config, request.size)
    codes_np, notes = semantic_codes(request.label_map, request.instance_map, config, size)
    z = None
    if config.use_vae:
        z, style_notes = style_latent(model, request.style_image, request.seed, device)
        notes += style_notes
    elif request.style_image is not None:
        notes.append("This SPADE model has no style input; the style image was ignored.")
    ctx.check_cancelled()
    codes = torch.from_numpy(codes_np).to(device)

    def on_stage(done: int, total: int) -> None:
        ctx.progress(0.1 + 0.9 * done / (total + 1), "Rendering")

    image = modulation_cache(model).render(codes, z, size, on_stage)
    result = tensor_to_image(image)
    ctx.progress(1.0, "Done")
    return SynthesizeResult(
        image=result,
        duration_s=time.perf_counter() - start,
        seed=int(request.seed),
        z=None if z is None else z[0].detach().float().cpu().numpy().astype(np.float32),
        notes=tuple(notes),
    )
