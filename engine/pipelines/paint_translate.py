"""Paint: label map (or image) -> image with pix2pixHD, pix2pix (U-Net) and CycleGAN (ResNet).

:func:`synthesize` is the engine-thread handler of a :class:`~engine.types.SynthesizeRequest`
for the families ``pix2pixhd``, ``pix2pix_unet`` and ``cyclegan_resnet``.

pix2pixHD
    ``request.label_map`` HxW class indices in ``[0, label_nc)``; the instance-edge channel
    comes from ``request.instance_map`` or, when none is given, from the label map (edges on
    class boundaries). Models with instance-wise features (``instance_feat``/``label_feat``):
    with a feature encoder and ``request.style_image``, the style image is the "real image" whose
    features are encoded and averaged per instance (official ``--use_encoded_image``). Otherwise
    each instance id gets a feature vector drawn from a generator seeded by ``(seed, id)``:
    normal with standard deviation 0.5, clipped to [-1, 1] (the encoder's tanh range). The same
    instance therefore keeps its look while other regions are repainted, and a new seed restyles
    all of them. (The official code samples from k-means cluster centres of encoded training
    features, a file the released checkpoints do not include.)

pix2pix / CycleGAN
    ``request.label_map`` is an HxWx3 uint8 RGB image (HxW gray and HxWx4 RGBA are accepted);
    CycleGAN models translate with their ``primary_network`` (the direction of the file opened).

Sizes: the networks need sides that are multiples of ``2**downsamplings``. Inputs are resized
to the nearest valid size (label maps with nearest neighbour, images bicubic) and the result
is resized back to the requested size (``request.size`` or the input's size), with a note.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch

from engine.errors import InputError
from engine.labelsets import check_label_range
from engine.models.loaded import LoadedModel
from engine.models.pix2pixhd import Pix2PixHDConfig, generator_input
from engine.pipelines.images import device_for, image_to_tensor, tensor_to_image
from engine.types import SynthesizeRequest, SynthesizeResult

log = logging.getLogger(__name__)

FAMILIES = ("pix2pixhd", "pix2pix_unet", "cyclegan_resnet")
#: standard deviation of sampled per-instance features (encoder outputs live in (-1, 1))
FEATURE_SAMPLE_STD = 0.5


def synthesize(model: LoadedModel, request: SynthesizeRequest, ctx: Any) -> SynthesizeResult:
    """Render ``request`` with ``model``; returns an HxWx3 uint8 image at the requested size.

    ``ctx``: a job context with ``progress(fraction, message)``, ``check_cancelled()`` and
    ``device``. Raises :class:`InputError` for inputs the model cannot use."""
    start = time.perf_counter()
    ctx.progress(0.0, "preparing inputs")
    if model.family == "pix2pixhd":
        image, notes = _render_pix2pixhd(model, request, ctx)
    elif model.family in ("pix2pix_unet", "cyclegan_resnet"):
        image, notes = _render_image_to_image(model, request, ctx)
    else:
        raise InputError(f"The translate pipeline renders {', '.join(FAMILIES)} models, not a {model.family} model.")
    ctx.progress(1.0, "done")
    return SynthesizeResult(image=image, duration_s=time.perf_counter() - start, seed=request.seed, notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# Sizes and conversions


def valid_size(height: int, width: int, multiple: int, minimum: int) -> tuple[int, int]:
    """The nearest size whose sides are multiples of ``multiple`` and at least ``minimum``."""
    def snap(side: int) -> int:
        return max(minimum, int(round(side / multiple)) * multiple)

    return snap(height), snap(width)


def resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of the first two axes (keeps dtype; for label/instance maps)."""
    h, w = array.shape[:2]
    rows = np.minimum(((np.arange(size[0]) + 0.5) * h / size[0]).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * w / size[1]).astype(np.int64), w - 1)
    return array[rows][:, cols]


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of an HxWx3 uint8 image to ``size`` = (height, width)."""
    if image.shape[:2] == tuple(size):
        return image
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BICUBIC))


def as_rgb_uint8(image: np.ndarray, what: str, notes: list[str]) -> np.ndarray:
    """HxW / HxWx1 / HxWx3 / HxWx4, uint8 or uint16 -> HxWx3 uint8."""
    array = np.asarray(image)
    if array.dtype == np.uint16:
        array = (array.astype(np.float32) / 257.0).round().astype(np.uint8)
        notes.append(f"The 16-bit {what} was reduced to 8 bits.")
    if array.dtype != np.uint8:
        raise InputError(f"The {what} must be an 8-bit (uint8) image, not {array.dtype}.")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise InputError(f"The {what} must be HxW, HxWx3 or HxWx4; got shape {array.shape}.")
    if array.shape[2] == 4:
        notes.append(f"The {what}'s alpha channel was ignored.")
        array = array[..., :3]
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array)


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """HxWx3 uint8 RGB -> HxWx``channels`` (1: luma as PIL's ``convert('L')`` computes it)."""
    if channels == 3:
        return image
    if channels == 1:
        r, g, b = (image[..., i].astype(np.int32) for i in range(3))
        return ((r * 299 + g * 587 + b * 114 + 500) // 1000).astype(np.uint8)[..., None]
    raise InputError(f"The model takes {channels}-channel images; GAN Studio can feed it only 1 or 3 channels.")


# --------------------------------------------------------------------------------------------
# pix2pixHD


def _label_array(label_map: np.ndarray, what: str = "label map") -> np.ndarray:
    labels = np.asarray(label_map)
    if labels.ndim == 3 and labels.shape[2] == 1:
        labels = labels[..., 0]
    if labels.ndim != 2:
        raise InputError(f"The {what} must be an HxW array of class indices; got shape {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"The {what} must hold integers, not {labels.dtype} values.")
    return labels.astype(np.int64)


def sample_instance_features(ids: np.ndarray, feat_num: int, seed: int) -> np.ndarray:
    """``(feat_num, H, W)`` float32: one vector per id, drawn from a generator seeded by ``(seed, id)``."""
    out = np.zeros((feat_num,) + ids.shape, dtype=np.float32)
    for value in np.unique(ids):
        rng = np.random.default_rng([int(seed) % 2**32, int(value) % 2**32])
        vector = np.clip(rng.normal(0.0, FEATURE_SAMPLE_STD, feat_num), -1.0, 1.0).astype(np.float32)
        out[:, ids == value] = vector[:, None]
    return out


def pix2pixhd_inputs(config: Pix2PixHDConfig, labels: torch.Tensor | None, instances: torch.Tensor | None,
                     features: torch.Tensor | None, image: torch.Tensor | None = None) -> torch.Tensor:
    """The generator input (one-hot [+ edges] [+ features]) as the official ``encode_input`` builds it."""
    return generator_input(config, labels=labels, instances=instances, features=features, image=image)


def _render_pix2pixhd(model: LoadedModel, request: SynthesizeRequest, ctx: Any) -> tuple[np.ndarray, list[str]]:
    config: Pix2PixHDConfig = model.config
    device = device_for(model, ctx)
    notes: list[str] = []
    image_input = config.label_nc == 0
    if image_input:
        source = as_rgb_uint8(request.label_map, "input image", notes)
        base_shape = source.shape[:2]
        labels = None
    else:
        labels = _label_array(request.label_map)
        check_label_range(labels, config.label_nc)
        base_shape = labels.shape
    target = tuple(request.size) if request.size else tuple(base_shape)
    render = valid_size(target[0], target[1], config.size_multiple, 2 * config.size_multiple)
    if render != tuple(base_shape):
        why = f" (this model needs sides that are multiples of {config.size_multiple})" if render != target else ""
        notes.append(f"The {'input image' if image_input else 'label map'} was resized from {base_shape[0]}x{base_shape[1]} "
                     f"to {render[0]}x{render[1]}{why}.")

    instances = None
    if not config.no_instance or config.use_features:
        if request.instance_map is not None:
            instances = _label_array(request.instance_map, "instance map")
            if instances.shape != tuple(base_shape):
                notes.append(f"The instance map ({instances.shape[0]}x{instances.shape[1]}) was resized to the "
                             f"label map's size ({base_shape[0]}x{base_shape[1]}).")
                instances = resize_nearest(instances, base_shape)
        elif labels is not None:
            instances = labels
        elif not config.no_instance:
            raise InputError("This pix2pixHD model takes an image and an instance map; give an instance map.")
    if labels is not None:
        labels = resize_nearest(labels, render)
    if instances is not None:
        instances = resize_nearest(instances, render)

    def batch(array: np.ndarray | None) -> torch.Tensor | None:
        return None if array is None else torch.from_numpy(np.ascontiguousarray(array))[None, None].to(device)

    image_tensor = image_to_tensor(to_channels(resize_image(source, render), config.input_nc), device) if image_input else None
    ctx.check_cancelled()
    features = None
    with torch.inference_mode():
        if config.use_features:
            ids = instances if (config.instance_feat and instances is not None) else labels
            if ids is None:
                raise InputError("This pix2pixHD model encodes features per class but got no label map.")
            if "E" in model.networks and request.style_image is not None:
                ctx.progress(0.2, "encoding style features")
                style = resize_image(as_rgb_uint8(request.style_image, "style image", notes), render)
                features = model.networks["E"](image_to_tensor(to_channels(style, config.output_nc), device), batch(ids))
                notes.append("Features were encoded from the style image and averaged per "
                             + ("instance." if config.instance_feat else "class."))
            else:
                if request.style_image is not None:
                    notes.append("This model has no feature encoder (_net_E), so the style image was not used.")
                features = torch.from_numpy(sample_instance_features(ids, config.feat_num, request.seed))[None].to(device)
                notes.append(f"Per-{'instance' if config.instance_feat else 'class'} features were drawn from seed {request.seed}.")
        x = pix2pixhd_inputs(config, batch(labels), batch(instances), features, image_tensor)
        ctx.check_cancelled()
        ctx.progress(0.4, "rendering")
        out = model.networks["G"](x)
    ctx.check_cancelled()
    image = tensor_to_image(out)
    if image.shape[:2] != target:
        image = resize_image(image, target)
        notes.append(f"The result was resized from {render[0]}x{render[1]} to {target[0]}x{target[1]}.")
    return image, notes


# --------------------------------------------------------------------------------------------
# pix2pix U-Net / CycleGAN ResNet


def _render_image_to_image(model: LoadedModel, request: SynthesizeRequest, ctx: Any) -> tuple[np.ndarray, list[str]]:
    config = model.config
    notes: list[str] = []
    role = getattr(config, "primary_network", "G")
    net = model.networks.get(role)
    if net is None:
        net = next(iter(model.networks.values()))
    in_channels = config.channels(role)[0] if hasattr(config, "channels") else config.input_nc
    image = as_rgb_uint8(request.label_map, "input image", notes)
    target = tuple(request.size) if request.size else image.shape[:2]
    multiple = config.size_multiple
    minimum = multiple if model.family == "pix2pix_unet" else 2 * multiple
    render = valid_size(target[0], target[1], multiple, minimum)
    if render != image.shape[:2]:
        why = f" (this model needs sides that are multiples of {multiple})" if render != target else ""
        notes.append(f"The input image was resized from {image.shape[0]}x{image.shape[1]} to {render[0]}x{render[1]}{why}.")
    x = image_to_tensor(to_channels(resize_image(image, render), in_channels), device_for(model, ctx))
    ctx.check_cancelled()
    ctx.progress(0.2, "rendering")
    with torch.inference_mode():
        out = net(x)
    ctx.check_cancelled()
    result = tensor_to_image(out)
    if result.shape[:2] != target:
        result = resize_image(result, target)
        notes.append(f"The result was resized from {render[0]}x{render[1]} to {target[0]}x{target[1]}.")
    if role in ("G_A", "G_B") and len(model.networks) > 1:
        notes.append(f"Translated with {role} ({'A to B' if role == 'G_A' else 'B to A'}).")
    return result, notes
