"""Whole-mask operations for inpainting masks (HxW bool), as plain numpy — no Qt, no torch.

Grow and shrink are binary dilation and erosion with a disc of radius ``n`` pixels (a pixel is
within reach when ``dx² + dy² <= n²``), computed row by row: a disc is a stack of horizontal
runs, so the dilation is the union, over the disc's rows ``dy``, of the mask dilated
horizontally by that row's half-width and shifted by ``dy`` (``O(n · H · W)``, not ``O(n² · H · W)``).
Only the mask's bounding box (plus ``n``) is processed. When shrinking, the area outside the
image counts as masked, so a mask that runs off the edge keeps running off it.
"""

from __future__ import annotations

import numpy as np

#: the largest grow/shrink radius offered, in pixels
MAX_RADIUS = 256


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the True pixels (exclusive ends), or None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _disc_half_widths(radius: int) -> list[tuple[int, int]]:
    """(dy, half width) of each row of a disc of ``radius`` pixels."""
    return [(dy, int(np.floor(np.sqrt(radius * radius - dy * dy) + 1e-9))) for dy in range(-radius, radius + 1)]


def _dilate_rows(mask: np.ndarray, half_width: int) -> np.ndarray:
    """Each row dilated by ``half_width`` pixels to either side (a sliding-window 'any' via cumsum)."""
    if half_width == 0:
        return mask.copy()
    h, w = mask.shape
    counts = np.zeros((h, w + 1), np.int32)
    np.cumsum(mask, axis=1, out=counts[:, 1:])
    right = np.minimum(np.arange(w) + half_width + 1, w)
    left = np.maximum(np.arange(w) - half_width, 0)
    return (counts[:, right] - counts[:, left]) > 0


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilation of ``mask`` by a disc; pixels beyond the array's edge count as False."""
    h, _w = mask.shape
    out = np.zeros_like(mask)
    by_width: dict[int, np.ndarray] = {}
    for dy, half in _disc_half_widths(radius):
        rows = by_width.get(half)
        if rows is None:
            rows = by_width[half] = _dilate_rows(mask, half)
        # out[y] |= rows[y + dy]
        if dy >= 0:
            out[:h - dy] |= rows[dy:]
        else:
            out[-dy:] |= rows[:h + dy]
    return out


def _check_radius(radius: int) -> int:
    radius = int(radius)
    if not 0 <= radius <= MAX_RADIUS:
        raise ValueError(f"the radius must be between 0 and {MAX_RADIUS} pixels, not {radius}")
    return radius


def grow(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` grown by ``radius`` pixels in every direction (a new array)."""
    radius = _check_radius(radius)
    box = bounding_box(mask)
    if radius == 0 or box is None:
        return mask.copy()
    h, w = mask.shape
    x0, y0 = max(0, box[0] - radius), max(0, box[1] - radius)
    x1, y1 = min(w, box[2] + radius), min(h, box[3] + radius)
    out = mask.copy()
    out[y0:y1, x0:x1] = _dilate(mask[y0:y1, x0:x1], radius)
    return out


def shrink(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` shrunk by ``radius`` pixels (a new array): a pixel stays masked only when every
    pixel within ``radius`` of it is masked or outside the image."""
    radius = _check_radius(radius)
    box = bounding_box(mask)
    if radius == 0 or box is None:
        return mask.copy()
    h, w = mask.shape
    # unmasked pixels farther than `radius` from the box cannot reach into it
    x0, y0 = max(0, box[0] - radius), max(0, box[1] - radius)
    x1, y1 = min(w, box[2] + radius), min(h, box[3] + radius)
    out = mask.copy()
    out[y0:y1, x0:x1] &= ~_dilate(~mask[y0:y1, x0:x1], radius)
    return out


def invert(mask: np.ndarray) -> np.ndarray:
    return ~mask
