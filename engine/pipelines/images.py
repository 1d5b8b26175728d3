"""Pixels <-> tensors, input image checks and device placement: what every pipeline shares.

The generators of this app (SPADE, pix2pixHD, pix2pix, CycleGAN, StyleGAN2, BigGAN, the
context encoder) read and write images as float tensors in ``[-1, 1]``; the seam carries
``HxWx3`` uint8 RGB arrays. There is one rule each way:

* uint8 -> tensor: ``v / 255`` normalised with mean 0.5 and std 0.5 (the official
  ``ToTensor() + Normalize(0.5, 0.5)``), so 0 -> -1.0 and 255 -> 1.0;
* tensor -> uint8: clamp to ``[-1, 1]``, map to ``[0, 255]`` by ``(x + 1) * 127.5`` and round
  half up (``floor(v + 0.5)``; StyleGAN's official ``x * 127.5 + 128`` then truncation is the
  same rule).

The super-resolution networks work in ``[0, 1]`` at 8 or 16 bits; their tiled conversion lives in
:mod:`engine.pipelines.upscale`.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
import torch

from engine.errors import InputError
from engine.models.loaded import LoadedModel

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# pixels <-> tensors


def image_to_tensor(image: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """``HxWxC`` uint8 (or ``HxW``, taken as one channel) -> ``1xCxHxW`` float32 in ``[-1, 1]``."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    x = torch.tensor(array, dtype=torch.float32, device=device)  # a copy: the caller's array may be read-only
    return ((x / 255.0 - 0.5) / 0.5).permute(2, 0, 1).unsqueeze(0)


def tensor_to_pixels(x: torch.Tensor) -> np.ndarray:
    """``CxHxW`` (or ``1xCxHxW``) in ``[-1, 1]`` -> ``HxWxC`` float32 in ``[0, 255]``, unrounded
    (for callers that blend before they round)."""
    if x.ndim == 4:
        x = x[0]
    pixels = (x.detach().float().clamp(-1, 1) + 1.0) * 127.5
    return pixels.permute(1, 2, 0).cpu().numpy()


def tensor_to_image(x: torch.Tensor) -> np.ndarray:
    """``CxHxW`` (or ``1xCxHxW``) in ``[-1, 1]`` -> ``HxWx3`` uint8 RGB, rounded half up; a
    one-channel image is repeated to grey RGB, channels past the third are dropped."""
    if x.ndim == 4:
        x = x[0]
    pixels = ((x.detach().float().clamp(-1, 1) + 1.0) * 127.5 + 0.5).floor().to(torch.uint8)
    array = pixels.permute(1, 2, 0).cpu().numpy()
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3])


def round_pixels(pixels: np.ndarray) -> np.ndarray:
    """Float pixels in ``[0, 255]`` -> uint8 by the same rule as :func:`tensor_to_image`."""
    return np.floor(np.clip(pixels, 0.0, 255.0) + 0.5).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# input checks


def check_image(image: Any, purpose: str, *, dtypes: Sequence[type] = (np.uint8,),
                gray: bool = False) -> np.ndarray:
    """``image`` as an array a pipeline can take, else :class:`InputError` for people.

    ``purpose`` completes "Images to ... must be" (e.g. ``"upscale"``). Accepted: ``dtypes``;
    ``HxWx3`` RGB and ``HxWx4`` RGBA, and with ``gray`` also ``HxW`` (``HxWx1`` is squeezed)."""
    image = np.asarray(image)
    if image.dtype not in tuple(np.dtype(d) for d in dtypes):
        names = " or ".join(np.dtype(d).name for d in dtypes)
        bits = " (8-bit)" if tuple(dtypes) == (np.uint8,) else ""
        raise InputError(f"Images to {purpose} must be {names}{bits}, not {image.dtype}.")
    if gray and image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if not ((gray and image.ndim == 2) or (image.ndim == 3 and image.shape[2] in (3, 4))):
        layouts = "HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA)" if gray else "HxWx3 (RGB) or HxWx4 (RGBA)"
        raise InputError(f"Images to {purpose} must be {layouts}; got shape {image.shape}.")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InputError(f"The image to {purpose} is empty.")
    return image


# --------------------------------------------------------------------------------------------
# devices


def device_for(model: LoadedModel, ctx: Any) -> torch.device:
    """The device the job runs on (``ctx.device``, else the model's); the model is moved there
    first if it lives elsewhere. Returns that device."""
    device = getattr(ctx, "device", None)
    device = torch.device(device) if device is not None else torch.device(model.device)
    if torch.device(model.device) != device:
        log.info("moving %s to %s", model.path, device)
        model.to(device)
    return device


def network_on(model: LoadedModel, ctx: Any, role: str = "G") -> torch.nn.Module:
    """Network ``role`` of ``model``, on the job's device (see :func:`device_for`), in eval mode."""
    device_for(model, ctx)
    net = model.networks[role]
    net.eval()
    return net


def device_and_dtype(net: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    """Where a network's weights live and their dtype (inputs must match both)."""
    param = next(net.parameters())
    return param.device, param.dtype
