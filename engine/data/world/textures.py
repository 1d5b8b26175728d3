"""Detail textures from photographs that ship inside scikit-image (``skimage.data``).

Sources (all public-domain or freely licensed photos bundled with scikit-image, see its
``skimage/data/README.txt``):

* ``grass``  -> grass, meadow, forest canopy detail
* ``gravel`` -> rock, dirt, road, sand grain
* ``brick``  -> building walls
* ``moon``   -> mountain faces and snow (a cratered, rough surface)

Each photo is turned into a tileable-enough, zero-mean, unit-variance grey detail map (its
low frequencies removed, so the texture adds grain but not a second picture) and a mip pyramid
(each level half the size), so a scene sampled at 64 px and at 512 px gets detail of the right
scale without sparkle. Everything is computed once per process and cached.

numpy (+ scikit-image at first use) only.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

TEXTURE_SOURCES = {"grass": "grass", "gravel": "gravel", "brick": "brick", "moon": "moon"}


def _box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """Separable box blur with wrap-around (integral images), same shape."""
    out = image
    for axis in (0, 1):
        padded = np.concatenate([out.take(range(-radius, 0), axis=axis), out, out.take(range(0, radius + 1), axis=axis)], axis=axis)
        csum = np.cumsum(padded, axis=axis, dtype=np.float64)
        n = out.shape[axis]
        upper = csum.take(range(2 * radius + 1, 2 * radius + 1 + n), axis=axis)
        lower = csum.take(range(0, n), axis=axis)
        out = ((upper - lower) / (2 * radius + 1)).astype(np.float32)
    return out


def _detail_map(photo: np.ndarray) -> np.ndarray:
    grey = photo.astype(np.float32)
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    high = grey - _box_blur(grey, 24)
    # blend the edges with the opposite side so that wrapped sampling shows no seam
    n = 32
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    for axis in (0, 1):
        head = high.take(range(0, n), axis=axis)
        tail = high.take(range(-n, 0), axis=axis)
        shape = [1, 1]
        shape[axis] = n
        r = ramp.reshape(shape)
        blended = tail * (1 - r) + head * r
        if axis == 0:
            high[:n] = blended
        else:
            high[:, :n] = blended
    high -= high.mean()
    return (high / (high.std() + 1e-6)).astype(np.float32)


@lru_cache(maxsize=None)
def pyramid(name: str) -> tuple[np.ndarray, ...]:
    """The mip pyramid of texture ``name`` (one of :data:`TEXTURE_SOURCES`): level 0 is the
    512x512 detail map, each next level half the size, down to 8x8."""
    try:
        from skimage import data
    except ImportError as exc:
        from engine.errors import EngineError

        raise EngineError("The starter world takes its textures from scikit-image, which is not installed. "
                          "Reinstall GAN Studio (it depends on it) or run: pip install scikit-image.") from exc
    if name not in TEXTURE_SOURCES:
        raise KeyError(f"no world texture named {name!r}; known: {', '.join(TEXTURE_SOURCES)}")
    level = _detail_map(getattr(data, TEXTURE_SOURCES[name])())
    levels = [level]
    while level.shape[0] > 8:
        h, w = level.shape[0] // 2 * 2, level.shape[1] // 2 * 2
        level = level[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        levels.append(level / (level.std() + 1e-6))
    log.debug("texture %s: %d mip levels", name, len(levels))
    return tuple(levels)


def sample(name: str, u: np.ndarray, v: np.ndarray, texels_per_pixel: float) -> np.ndarray:
    """Sample texture ``name`` at texture coordinates ``u, v`` (in level-0 texels, any real
    values: the texture wraps), picking the mip level whose texels match ``texels_per_pixel``
    (how many level-0 texels one output pixel spans). Returns float32 of ``u``'s shape,
    zero-mean and about unit variance."""
    levels = pyramid(name)
    level = int(np.clip(np.floor(np.log2(max(texels_per_pixel, 1.0))), 0, len(levels) - 1))
    tex = levels[level]
    scale = 1.0 / (2 ** level)
    h, w = tex.shape
    iu = (np.asarray(u) * scale).astype(np.int64) % w
    iv = (np.asarray(v) * scale).astype(np.int64) % h
    return tex[iv, iu]
