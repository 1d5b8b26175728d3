"""Inpainting: fill the masked pixels of an image of any size with a context encoder.

How an image is processed (:func:`inpaint`):

1. The mask is split into *regions*: connected groups of masked pixels (8-connected), where
   groups closer than :data:`MERGE_DISTANCE` pixels count as one (they share their context).
2. For each region, a square *context window* is centred on it, large enough that the region
   fits the part of the window the model can fill (the central half for both variants; for the
   center variant exactly its central square less the overlap band), and at least the model's
   resolution where the image allows. Where the window reaches past the image edge, the image is
   mirrored. A full-variant window is shifted back inside the image when it fits.
3. The window is resampled to the model's resolution (a region too large for it is filled at
   reduced resolution, and a note says so). Every masked pixel in the window is blanked *before*
   resampling, so the content under the mask never reaches the network; the mask goes to the
   network as its extra input channel.
4. The network's output replaces the hole (in model pixels); the result is resampled back to image
   pixels (bicubic) at the region's pixels only.
5. Seam correction: where the fill meets the image, its colour is compared with the unmasked
   neighbours', and the difference is spread smoothly over the region and added to the fill (a
   cheap cousin of Poisson blending), so the fill's colours run on from its surroundings.
6. Pasting: only pixels inside the mask are written. Within ``feather`` pixels of the mask border
   the fill also fades in from the original colours (alpha ``d / (feather + 1)`` at depth ``d``
   pixels inside the mask, 1 deeper in); every unmasked pixel of the result is bit-identical to
   the input, and an alpha channel passes through untouched.

Regions are filled one after another; a later region's window sees the earlier regions filled
and the still-unfilled ones blanked. Progress is reported per region and cancellation is checked
before each one.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.errors import InputError
from engine.inpaint_types import FilledRegion, InpaintRequest, InpaintResult
from engine.models.loaded import LoadedModel
from engine.models.context_encoder import ContextEncoderConfig, composite, prepare_input
from engine.pipelines import families_for
from engine.pipelines.images import (check_image, device_and_dtype, image_to_tensor, network_on, round_pixels,
                                    tensor_to_pixels)
from engine.worker import Context

log = logging.getLogger(__name__)

#: the families the table in :mod:`engine.pipelines` sends inpaint requests to
INPAINT_FAMILIES = families_for(InpaintRequest)
#: masked groups closer than twice this many pixels are filled as one region
MERGE_DISTANCE = 4
#: the largest feather width accepted, in pixels
MAX_FEATHER = 256


# ---------------------------------------------------------------------------------------------
# the request-level entry point


def inpaint(model: LoadedModel, request: InpaintRequest, ctx: Context) -> InpaintResult:
    """Fill ``request.mask`` in ``request.image`` with ``model``; see the module docstring."""
    started = time.perf_counter()
    config = inpaint_config(model)
    image = check_image(request.image, "inpaint")
    mask = _check_mask(request.mask, image)
    feather = int(request.feather)
    if not 0 <= feather <= MAX_FEATHER:
        raise InputError(f"The feather width must be between 0 and {MAX_FEATHER} pixels, not {request.feather}.")
    if not mask.any():
        raise InputError("nothing to inpaint: the mask is empty (no pixel is marked to fill). Paint over the part "
                         "to fill (white in a mask file) and try again.")
    net = network_on(model, ctx)
    regions = find_regions(mask, MERGE_DISTANCE)
    output = image.copy()
    remaining = mask.copy()
    filled: list[FilledRegion] = []
    notes: list[str] = []
    if mask.all():
        notes.append("The whole image is masked, so the model had no context to go on.")
    with torch.inference_mode():
        for index, region in enumerate(regions):
            ctx.check_cancelled()
            ctx.progress(index / len(regions), f"filling region {index + 1} of {len(regions)}")
            info = _fill_region(net, config, output, mask, remaining, region, feather)
            remaining[region.rows, region.cols] &= ~region.mask
            filled.append(info)
    notes.extend(_reduced_resolution_notes(filled, config))
    ctx.progress(1.0, "done")
    return InpaintResult(image=output, duration_s=time.perf_counter() - started, regions=tuple(filled),
                         seed=int(request.seed), notes=tuple(notes))


def _reduced_resolution_notes(regions: list[FilledRegion], config: ContextEncoderConfig) -> list[str]:
    """A note about regions filled at reduced resolution (too large for the model's window)."""
    shrunk = [(i, r) for i, r in enumerate(regions, start=1) if r.scale < 1.0]
    if not shrunk:
        return []
    limit = fillable_size(config)
    advice = (f"so the fill looks softer there. This model fills about {limit}x{limit} px at full detail; "
              "mask smaller parts one at a time for more detail.")
    if len(shrunk) == 1:
        index, region = shrunk[0]
        top, left, height, width = region.box
        return [f"Region {index} ({width}x{height} px at x={left}, y={top}) was filled at {region.scale:.0%} "
                f"resolution and scaled up, {advice}"]
    lowest = min(r.scale for _, r in shrunk)
    return [f"{len(shrunk)} of {len(regions)} regions were filled at reduced resolution (down to {lowest:.0%}) "
            f"and scaled up, {advice}"]


def inpaint_config(model: LoadedModel) -> ContextEncoderConfig:
    """The model's config, or an error for people if the model cannot inpaint."""
    if model.family not in INPAINT_FAMILIES or "inpaint" not in model.capabilities() or "G" not in model.networks:
        raise InputError(
            f"{Path(model.path).name} is a {model.family} model, which cannot inpaint; an inpainting model "
            "(a context encoder) is needed. Train one with `python -m engine.training.context_encoder` or pick "
            "one in the Inpaint panel."
        )
    return model.config


def _check_mask(mask: np.ndarray, image: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    height, width = image.shape[:2]
    if mask.ndim != 2:
        raise InputError(f"The mask must be a single-channel HxW array; got shape {mask.shape}.")
    if mask.shape != (height, width):
        raise InputError(
            f"The mask is {mask.shape[1]}x{mask.shape[0]} pixels but the image is {width}x{height}; they must be "
            "the same size. Make the mask at the image's size (GAN Studio does not resize masks)."
        )
    if mask.dtype != np.bool_:
        if not (np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)):
            raise InputError(f"The mask must be boolean (True = fill), not {mask.dtype}.")
        mask = mask != 0
    return mask


# ---------------------------------------------------------------------------------------------
# regions


@dataclass(frozen=True)
class Region:
    """One region: its bounding box as slices, and its masked pixels within that box."""

    rows: slice
    cols: slice
    mask: np.ndarray

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.rows.start, self.cols.start, self.rows.stop - self.rows.start, self.cols.stop - self.cols.start


def find_regions(mask: np.ndarray, merge_distance: int = MERGE_DISTANCE) -> list[Region]:
    """The connected regions of ``mask`` (HxW bool), merging groups closer than ``2 * merge_distance``
    pixels; ordered top to bottom, then left to right. Each masked pixel belongs to exactly one."""
    grown = dilate(mask, merge_distance)
    labels, boxes = label_components(grown)
    regions = []
    for label, (top, left, bottom, right) in enumerate(boxes, start=1):
        rows, cols = slice(top, bottom), slice(left, right)
        own = mask[rows, cols] & (labels[rows, cols] == label)
        if not own.any():
            continue
        ys, xs = np.nonzero(own)
        tight_rows = slice(top + int(ys.min()), top + int(ys.max()) + 1)
        tight_cols = slice(left + int(xs.min()), left + int(xs.max()) + 1)
        regions.append(Region(tight_rows, tight_cols, mask[tight_rows, tight_cols] & (labels[tight_rows, tight_cols] == label)))
    regions.sort(key=lambda r: (r.rows.start, r.cols.start))
    return regions


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of ``mask`` (HxW bool) by a ``(2 * radius + 1)`` square."""
    if radius <= 0:
        return mask.copy()
    return _max_filter_1d(_max_filter_1d(mask, radius, axis=0), radius, axis=1)


def _max_filter_1d(mask: np.ndarray, radius: int, axis: int) -> np.ndarray:
    length = mask.shape[axis]
    counts = np.cumsum(mask, axis=axis, dtype=np.int32)
    counts = np.concatenate([np.zeros_like(np.take(counts, [0], axis=axis)), counts], axis=axis)
    index = np.arange(length)
    upper = np.minimum(index + radius + 1, length)
    lower = np.maximum(index - radius, 0)
    return (np.take(counts, upper, axis=axis) - np.take(counts, lower, axis=axis)) > 0


def label_components(mask: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """8-connected components of ``mask`` (HxW bool): ``(labels, boxes)``, labels ``1..K`` (0 =
    background, HxW int32) and each component's box ``(top, left, bottom, right)``, exclusive.

    Works on horizontal runs of pixels joined with a union-find, so its cost follows the number
    of runs rather than of pixels."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    run_rows, run_starts = np.nonzero(edges == 1)
    _, run_stops = np.nonzero(edges == -1)  # same row order as the starts
    count = len(run_rows)
    parent = list(range(count))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(run_rows, np.arange(height + 1))
    for row in range(1, height):
        a, a_end = int(row_first[row - 1]), int(row_first[row])
        b, b_end = a_end, int(row_first[row + 1])
        while a < a_end and b < b_end:
            # 8-connectivity: runs touch if they overlap or meet at a corner
            if run_starts[a] <= run_stops[b] and run_starts[b] <= run_stops[a]:
                root_a, root_b = find(a), find(b)
                if root_a != root_b:
                    parent[max(root_a, root_b)] = min(root_a, root_b)
            if run_stops[a] < run_stops[b]:
                a += 1
            else:
                b += 1
    labels = np.zeros((height, width), dtype=np.int32)
    label_of_root: dict[int, int] = {}
    boxes: list[list[int]] = []
    for i in range(count):
        root = find(i)
        label = label_of_root.get(root)
        row, start, stop = int(run_rows[i]), int(run_starts[i]), int(run_stops[i])
        if label is None:
            label = label_of_root[root] = len(boxes) + 1
            boxes.append([row, start, row + 1, stop])
        else:
            box = boxes[label - 1]
            box[0], box[1] = min(box[0], row), min(box[1], start)
            box[2], box[3] = max(box[2], row + 1), max(box[3], stop)
        labels[row, start:stop] = label
    return labels, [tuple(b) for b in boxes]


def feather_alpha(mask: np.ndarray, feather: int) -> np.ndarray:
    """Blend weights (HxW float32) of the fill: 0 outside ``mask``, ``d / (feather + 1)`` at depth
    ``d`` (1 = touching an unmasked pixel, chamfer distance) inside it, 1 deeper than ``feather``.
    Pixels beyond the array's edge count as masked (the image border is no seam)."""
    alpha = mask.astype(np.float32)
    if feather <= 0:
        return alpha
    pad = feather + 1
    current = np.pad(mask, pad, mode="constant", constant_values=True)
    depth = current.astype(np.int32)
    for step in range(feather):
        # alternate the square and the cross: an octagonal approximation of Euclidean distance
        current = _erode(current, cross=step % 2 == 1)
        depth += current
    depth = depth[pad:-pad, pad:-pad]
    return np.where(mask, np.minimum(depth, feather + 1) / np.float32(feather + 1), 0).astype(np.float32)


def _erode(mask: np.ndarray, cross: bool) -> np.ndarray:
    """Binary erosion by a 3x3 square (or cross); pixels beyond the edge count as set."""
    padded = np.pad(mask, 1, mode="constant", constant_values=True)
    out = mask.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if (dy or dx) and not (cross and dy and dx):
                out &= padded[1 + dy:1 + dy + mask.shape[0], 1 + dx:1 + dx + mask.shape[1]]
    return out


# ---------------------------------------------------------------------------------------------
# filling one region


def fillable_size(config: ContextEncoderConfig) -> int:
    """Edge, in model pixels, of the central square of the window a region may occupy."""
    start, stop = config.fill_box
    return min(stop - start, config.resolution // 2)


def window_size(config: ContextEncoderConfig, extent: int, image_hw: tuple[int, int]) -> int:
    """Edge in image pixels of the window for a region ``extent`` pixels across: the region plus
    slack for rounding must fit :func:`fillable_size` once resampled to the model's resolution."""
    resolution = config.resolution
    fillable = fillable_size(config)
    if config.variant == "full":  # the network fills the whole window: no rounding slack needed
        needed = math.ceil(extent * resolution / fillable)
    else:  # half an image pixel of placement, one model pixel of mask rounding, on each side
        needed = math.ceil((extent + 1) * resolution / max(fillable - 2, 1)) + 1
    return max(needed, min(resolution, max(image_hw)))


def _window_start(center2: int, size: int, length: int, may_shift: bool) -> int:
    """Top (or left) of a window of ``size`` centred on ``center2 / 2``, shifted inside
    ``[0, length)`` when ``may_shift`` and it fits."""
    start = (center2 - size) // 2
    if may_shift and size <= length:
        start = min(max(start, 0), length - size)
    return start


def _mirror(index: np.ndarray, length: int) -> np.ndarray:
    """Indices outside ``[0, length)`` mirrored back inside (edge pixel not repeated)."""
    if length <= 1:
        return np.zeros_like(index)
    period = 2 * (length - 1)
    index = np.abs(index) % period
    return np.where(index >= length, period - index, index)


def _fill_region(net: torch.nn.Module, config: ContextEncoderConfig, output: np.ndarray, mask: np.ndarray,
                 remaining: np.ndarray, region: Region, feather: int) -> FilledRegion:
    """Fill ``region`` of ``output`` in place (only its masked pixels change). ``mask`` is the whole
    request's mask (for the feather), ``remaining`` the part of it not filled yet (the holes)."""
    height, width = output.shape[:2]
    top, left, box_h, box_w = region.box
    size = window_size(config, max(box_h, box_w), (height, width))
    may_shift = config.variant == "full"
    win_top = _window_start(2 * top + box_h, size, height, may_shift)
    win_left = _window_start(2 * left + box_w, size, width, may_shift)
    rows = _mirror(np.arange(win_top, win_top + size), height)
    cols = _mirror(np.arange(win_left, win_left + size), width)
    window = output[np.ix_(rows, cols)][..., :3]
    hole = remaining[np.ix_(rows, cols)]
    resolution = config.resolution

    device, dtype = device_and_dtype(net)
    window_t, hole_t = _to_model_space(window, hole, resolution)
    window_t = window_t.to(device=device, dtype=dtype)
    hole_t = hole_t.to(device=device, dtype=dtype)
    prediction = net(prepare_input(config, window_t, hole_t))
    filled = composite(config, window_t, hole_t, prediction).float().cpu()

    # back to image pixels over the region's box plus a pixel around it: bicubic samples at pixel centres
    crop_rows = slice(max(top - 1, 0), min(top + box_h + 1, height))
    crop_cols = slice(max(left - 1, 0), min(left + box_w + 1, width))
    fill = _sample(filled, rows_at=np.arange(crop_rows.start, crop_rows.stop) - win_top,
                   cols_at=np.arange(crop_cols.start, crop_cols.stop) - win_left, window_size=size)
    own = np.zeros(fill.shape[:2], dtype=bool)
    own[top - crop_rows.start:top - crop_rows.start + box_h, left - crop_cols.start:left - crop_cols.start + box_w] = region.mask
    fill += seam_offset(output[crop_rows, crop_cols, :3], ~mask[crop_rows, crop_cols], fill, own)

    alpha = feather_alpha_at(mask, region, feather)
    target = output[region.rows, region.cols, :3]
    inner = fill[top - crop_rows.start:top - crop_rows.start + box_h, left - crop_cols.start:left - crop_cols.start + box_w]
    original = target[region.mask].astype(np.float32)
    a = alpha[region.mask][:, None]
    target[region.mask] = round_pixels(a * inner[region.mask] + (1.0 - a) * original)
    return FilledRegion(box=(top, left, box_h, box_w), window=(win_top, win_left, size), pixels=int(region.mask.sum()),
                        scale=min(1.0, resolution / size))


def feather_alpha_at(mask: np.ndarray, region: Region, feather: int) -> np.ndarray:
    """:func:`feather_alpha` over the region's box, measured against the whole ``mask`` (other masked
    pixels nearby are not a border)."""
    height, width = mask.shape
    pad = feather + 1
    r0, r1 = max(region.rows.start - pad, 0), min(region.rows.stop + pad, height)
    c0, c1 = max(region.cols.start - pad, 0), min(region.cols.stop + pad, width)
    alpha = feather_alpha(mask[r0:r1, c0:c1], feather)
    box = alpha[region.rows.start - r0:region.rows.stop - r0, region.cols.start - c0:region.cols.stop - c0]
    return np.where(region.mask, box, 0).astype(np.float32)


def seam_offset(colours: np.ndarray, unmasked: np.ndarray, fill: np.ndarray, region: np.ndarray) -> np.ndarray:
    """A smooth colour offset (hxwx3 float32, zero outside ``region``) that makes ``fill`` meet the
    surrounding image at the region's border, so no seam shows.

    At each region pixel touching unmasked pixels, the mismatch is the mean colour of its unmasked
    neighbours minus the fill; the mismatches are spread over the region by normalized Gaussian
    convolution: locally (sigma about a quarter of the region's thickness) near the border, falling
    back to a region-wide average far from it. ``colours``: hxwx3 uint8 image; ``unmasked``: hxw bool;
    ``fill``: hxwx3 float in [0, 255]; ``region``: hxw bool. All cover the same crop."""
    colour_sum, count = _neighbour_sum(colours.astype(np.float32) * unmasked[..., None]), _neighbour_sum(unmasked.astype(np.float32))
    border = region & (count > 0)
    if not border.any():  # nothing around it to match (e.g. the whole image is masked)
        return np.zeros_like(fill)
    mismatch = np.where(border[..., None], colour_sum / np.maximum(count, 1)[..., None] - fill, 0).astype(np.float32)
    height, width = region.shape
    rows, cols = np.nonzero(region)
    thickness = min(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    near_num, near_den = _gaussian_spread(mismatch, border, max(1.5, thickness / 4))
    far_num, far_den = _gaussian_spread(mismatch, border, max(2.0, max(height, width) / 2))
    blend = 1e-3  # far-field weight: only matters where the local spread has (almost) nothing
    offset = (near_num + blend * far_num) / np.maximum(near_den + blend * far_den, 1e-12)[..., None]
    return np.where(region[..., None], offset, 0).astype(np.float32)


def _neighbour_sum(values: np.ndarray) -> np.ndarray:
    """Sum over each pixel's 3x3 neighbourhood (zeros beyond the edge)."""
    pad = [(1, 1), (1, 1)] + [(0, 0)] * (values.ndim - 2)
    padded = np.pad(values, pad)
    height, width = values.shape[:2]
    return sum(padded[dy:dy + height, dx:dx + width] for dy in range(3) for dx in range(3))


def _gaussian_spread(values: np.ndarray, weights: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blur of ``values`` (hxwx3, already zero where ``weights`` is) and of ``weights`` (hxw):
    ``(numerator hxwx3, denominator hxw)`` of a normalized convolution. Large sigmas are blurred on a
    reduced grid (the result is smooth anyway) and scaled back up."""
    height, width = weights.shape
    factor = max(1, math.ceil(sigma / 8))
    stack = np.concatenate([values, weights[..., None].astype(np.float32)], axis=2)
    tensor = torch.from_numpy(np.ascontiguousarray(stack)).permute(2, 0, 1)[None]
    pad_h, pad_w = -height % factor, -width % factor
    if factor > 1:
        tensor = F.avg_pool2d(F.pad(tensor, (0, pad_w, 0, pad_h)), factor)
    s = sigma / factor
    radius = max(1, math.ceil(3 * s))
    taps = torch.exp(-torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2 / (2 * s * s))
    taps /= taps.sum()
    channels = tensor.shape[1]
    tensor = F.conv2d(tensor, taps.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), padding=(0, radius), groups=channels)
    tensor = F.conv2d(tensor, taps.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), padding=(radius, 0), groups=channels)
    if factor > 1:
        tensor = F.interpolate(tensor, size=(height + pad_h, width + pad_w), mode="bilinear", align_corners=False)
    out = tensor[0, :, :height, :width].permute(1, 2, 0).numpy()
    return out[..., :3], out[..., 3]


def _to_model_space(window: np.ndarray, hole: np.ndarray, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``window`` (SxSx3 uint8) and ``hole`` (SxS bool) at the model's resolution: ``1x3xRxR`` in
    [-1, 1] and ``1x1xRxR`` in {0, 1}. Holes are blanked to mid-grey before resampling, and the
    resampled hole is grown by a pixel, so no masked content reaches the network."""
    size = window.shape[0]
    blanked = np.where(hole[..., None], np.uint8(128), window)
    if size == resolution:
        pixels = blanked
        hole_r = hole
    elif size > resolution:
        pixels = np.array(Image.fromarray(blanked).resize((resolution, resolution), Image.Resampling.BOX))
        coverage = np.array(Image.fromarray(hole.astype(np.uint8) * 255).resize((resolution, resolution), Image.Resampling.BOX))
        hole_r = dilate(coverage > 0, 1)
    else:
        pixels = None
        nearest = np.minimum(((np.arange(resolution) + 0.5) * size / resolution).astype(np.int64), size - 1)
        hole_r = dilate(hole[np.ix_(nearest, nearest)], 1)
    if pixels is None:
        t = image_to_tensor(blanked)
        window_t = F.interpolate(t, size=(resolution, resolution), mode="bicubic", align_corners=False).clamp_(-1, 1)
    else:
        window_t = image_to_tensor(pixels)
    hole_t = torch.from_numpy(np.ascontiguousarray(hole_r)).float()[None, None]
    return window_t, hole_t


def _sample(filled: torch.Tensor, rows_at: np.ndarray, cols_at: np.ndarray, window_size: int) -> np.ndarray:
    """Bicubic samples of ``filled`` (1x3xRxR in [-1, 1], covering a window of ``window_size``
    image pixels) at image pixel centres ``rows_at x cols_at`` (window coordinates); returns
    ``len(rows_at) x len(cols_at) x 3`` float32 in [0, 255]."""
    resolution = filled.shape[-1]
    if window_size == resolution:
        out = filled[0][:, rows_at[:, None], cols_at[None, :]]
    else:
        gy = torch.from_numpy(2.0 * (rows_at + 0.5) / window_size - 1.0).float()
        gx = torch.from_numpy(2.0 * (cols_at + 0.5) / window_size - 1.0).float()
        grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), dim=-1)[None]  # 1 x h x w x (x, y)
        out = F.grid_sample(filled, grid, mode="bicubic", padding_mode="border", align_corners=False)[0]
    return tensor_to_pixels(out)
