"""Painting operations on label maps (and masks), as plain numpy — no Qt, no torch.

Everything paints *class indices* (or mask booleans): never colours, never anti-aliasing, so
every pixel always holds exactly one class. Each operation paints in place and returns the
rectangle it touched as ``(x0, y0, x1, y1)`` (exclusive ends), or None when nothing changed,
so undo can store only that rectangle.

Brush hardness (0..1) shapes the edge of a dab without mixing classes: the soft rim is an
ordered (Bayer) dither of the coverage, so a soft brush gives a stippled, organic boundary of
whole pixels that the generator renders as a blended transition.
"""

from __future__ import annotations

from collections import deque

import numpy as np

Rect = tuple[int, int, int, int]

_BAYER_8 = np.array([
    [0, 32, 8, 40, 2, 34, 10, 42],
    [48, 16, 56, 24, 50, 18, 58, 26],
    [12, 44, 4, 36, 14, 46, 6, 38],
    [60, 28, 52, 20, 62, 30, 54, 22],
    [3, 35, 11, 43, 1, 33, 9, 41],
    [51, 19, 59, 27, 49, 17, 57, 25],
    [15, 47, 7, 39, 13, 45, 5, 37],
    [63, 31, 55, 23, 61, 29, 53, 21],
], dtype=np.float32) / 64.0 + 1.0 / 128.0


def union(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _clip(rect: Rect, shape: tuple[int, ...]) -> Rect | None:
    h, w = shape[:2]
    x0, y0, x1, y1 = max(0, rect[0]), max(0, rect[1]), min(w, rect[2]), min(h, rect[3])
    if x0 >= x1 or y0 >= y1:
        return None
    return (x0, y0, x1, y1)


def dab_mask(cx: float, cy: float, size: float, hardness: float, shape: tuple[int, ...]) -> tuple[Rect, np.ndarray] | None:
    """The pixels a round dab of diameter ``size`` at (cx, cy) covers: (rect, bool mask of rect)."""
    radius = max(0.5, size / 2.0)
    rect = _clip((int(np.floor(cx - radius)), int(np.floor(cy - radius)),
                  int(np.ceil(cx + radius)) + 1, int(np.ceil(cy + radius)) + 1), shape)
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    ys, xs = np.mgrid[y0:y1, x0:x1]
    dist = np.hypot(xs + 0.5 - cx, ys + 0.5 - cy) / radius
    hardness = float(np.clip(hardness, 0.0, 1.0))
    if hardness >= 1.0:
        covered = dist <= 1.0
    else:
        # coverage 1 inside the hard core, falling linearly to 0 at the rim, then dithered
        coverage = np.clip((1.0 - dist) / max(1e-6, 1.0 - hardness), 0.0, 1.0)
        threshold = _BAYER_8[ys % 8, xs % 8]
        covered = coverage >= threshold
    if not covered.any():
        return None
    return rect, covered


def paint_dab(target: np.ndarray, cx: float, cy: float, size: float, value, hardness: float = 1.0,
              protect: np.ndarray | None = None) -> Rect | None:
    """Paint one round dab of ``value``. ``protect`` (bool, target-sized) marks locked pixels."""
    hit = dab_mask(cx, cy, size, hardness, target.shape)
    if hit is None:
        return None
    (x0, y0, x1, y1), covered = hit
    if protect is not None:
        covered = covered & ~protect[y0:y1, x0:x1]
    region = target[y0:y1, x0:x1]
    changed = covered & (region != value)
    if not changed.any():
        return None
    region[changed] = value
    return (x0, y0, x1, y1)


def stroke_points(x0: float, y0: float, x1: float, y1: float, spacing: float) -> list[tuple[float, float]]:
    """Points from (x0, y0) (exclusive) to (x1, y1) (inclusive), ``spacing`` pixels apart."""
    length = float(np.hypot(x1 - x0, y1 - y0))
    steps = max(1, int(np.ceil(length / max(0.5, spacing))))
    return [(x0 + (x1 - x0) * t / steps, y0 + (y1 - y0) * t / steps) for t in range(1, steps + 1)]


def paint_line(target: np.ndarray, x0: float, y0: float, x1: float, y1: float, size: float, value,
               hardness: float = 1.0, include_start: bool = True) -> Rect | None:
    """Dabs along a segment, spaced a quarter of the brush apart (no gaps at any speed)."""
    rect = paint_dab(target, x0, y0, size, value, hardness) if include_start else None
    for x, y in stroke_points(x0, y0, x1, y1, max(0.5, size / 4.0)):
        rect = union(rect, paint_dab(target, x, y, size, value, hardness))
    return rect


def fill_rect(target: np.ndarray, x0: float, y0: float, x1: float, y1: float, value) -> Rect | None:
    """Fill the axis-aligned rectangle spanned by two corners (inclusive of both)."""
    rect = _clip((int(min(x0, x1)), int(min(y0, y1)), int(max(x0, x1)) + 1, int(max(y0, y1)) + 1), target.shape)
    if rect is None:
        return None
    xa, ya, xb, yb = rect
    region = target[ya:yb, xa:xb]
    if np.all(region == value):
        return None
    region[...] = value
    return rect


def fill_polygon(target: np.ndarray, points, value) -> Rect | None:
    """Fill the closed polygon through ``points`` ((x, y) image coordinates; lasso selections).

    A pixel is inside when its centre is (even-odd rule, so a self-crossing lasso leaves the
    twice-enclosed parts out, as in most image editors). Fewer than three points fill nothing.
    Returns the rectangle of the pixels that changed, or None.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return None
    h, w = target.shape[:2]
    bounds = _clip((int(np.floor(pts[:, 0].min())), int(np.floor(pts[:, 1].min())),
                    int(np.ceil(pts[:, 0].max())) + 1, int(np.ceil(pts[:, 1].max())) + 1), target.shape)
    if bounds is None:
        return None
    bx0, by0, bx1, by1 = bounds
    xa, ya = pts[:, 0], pts[:, 1]
    xb, yb = np.roll(xa, -1), np.roll(ya, -1)
    covered = np.zeros((by1 - by0, bx1 - bx0), bool)
    columns = np.arange(bx0, bx1) + 0.5
    for row in range(by0, by1):
        yc = row + 0.5
        crossing = (ya <= yc) != (yb <= yc)  # half-open: a vertex on the scanline counts once
        if not crossing.any():
            continue
        t = (yc - ya[crossing]) / (yb[crossing] - ya[crossing])
        xs = np.sort(xa[crossing] + t * (xb[crossing] - xa[crossing]))
        inside = (np.searchsorted(xs, columns, side="right") % 2) == 1
        covered[row - by0] = inside
    region = target[by0:by1, bx0:bx1]
    changed = covered & (region != value)
    if not changed.any():
        return None
    region[changed] = value
    ys, xs_ = np.nonzero(changed)
    return (bx0 + int(xs_.min()), by0 + int(ys.min()), bx0 + int(xs_.max()) + 1, by0 + int(ys.max()) + 1)


def flood_fill(target: np.ndarray, x: int, y: int, value) -> Rect | None:
    """Fill the 4-connected region of the class under (x, y) with ``value``."""
    h, w = target.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return None
    old = target[y, x]
    if old == value:
        return None
    region = _connected_region(target, x, y)
    target[region] = value
    ys, xs = np.nonzero(region)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def _connected_region(target: np.ndarray, x: int, y: int) -> np.ndarray:
    """Bool mask of the 4-connected region of equal value containing (x, y), by scanline fill."""
    h, w = target.shape[:2]
    old = target[y, x]
    same = target == old
    region = np.zeros((h, w), bool)
    queue = deque([(x, y)])
    while queue:
        sx, sy = queue.popleft()
        if region[sy, sx] or not same[sy, sx]:
            continue
        row = same[sy]
        left = sx
        while left > 0 and row[left - 1] and not region[sy, left - 1]:
            left -= 1
        right = sx
        while right < w - 1 and row[right + 1] and not region[sy, right + 1]:
            right += 1
        region[sy, left:right + 1] = True
        for ny in (sy - 1, sy + 1):
            if 0 <= ny < h:
                candidates = same[ny, left:right + 1] & ~region[ny, left:right + 1]
                if candidates.any():
                    # one seed per run of candidates
                    starts = np.flatnonzero(candidates & ~np.concatenate(([False], candidates[:-1])))
                    queue.extend((left + int(s), ny) for s in starts)
    return region


def replace_class(target: np.ndarray, old, new, rect: Rect | None = None) -> Rect | None:
    """Eraser-to-class over a region: every ``old`` pixel becomes ``new``."""
    x0, y0, x1, y1 = rect or (0, 0, target.shape[1], target.shape[0])
    region = target[y0:y1, x0:x1]
    hit = region == old
    if not hit.any():
        return None
    region[hit] = new
    ys, xs = np.nonzero(hit)
    return (x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1)


def pick(target: np.ndarray, x: int, y: int):
    """The value under (x, y) (eyedropper), or None outside the map."""
    h, w = target.shape[:2]
    if 0 <= x < w and 0 <= y < h:
        return target[y, x].item()
    return None


def changed_rect(before: np.ndarray, after: np.ndarray) -> Rect | None:
    """Bounding rectangle of the pixels that differ, or None."""
    diff = before != after
    if diff.ndim == 3:
        diff = diff.any(axis=2)
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(diff.any(axis=0))
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
