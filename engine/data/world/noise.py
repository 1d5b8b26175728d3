"""Lattice value noise evaluated on pixel grids, in resolution-independent scene coordinates.

A noise field is a random lattice (drawn from a seed) interpolated with a smoothstep; it is
evaluated at continuous coordinates, so the same field sampled on a 128 px and a 256 px grid
describes the same picture. Grids are regular, so 2D evaluation is separable: interpolate along
y for every lattice column, then along x (gathers and multiply-adds, no per-pixel loop).

numpy only.
"""

from __future__ import annotations

import numpy as np


def _smooth(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)


def _cell_weights(coords: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """For scene coordinates ``coords`` (clamped to [0, 1]) on a lattice of ``cells`` cells: the
    index of the lattice point to the left and the smoothstep weight of the one to the right."""
    pos = np.clip(np.asarray(coords, dtype=np.float64), 0.0, 1.0 - 1e-9) * cells
    left = np.floor(pos).astype(np.int64)
    return left, _smooth(pos - left).astype(np.float32)


def _lerp_axis(table: np.ndarray, coords: np.ndarray, cells: int, axis: int) -> np.ndarray:
    """Interpolate ``table`` along ``axis`` at ``coords`` (gathers, no matrix products: small
    BLAS calls are slow when the machine is busy)."""
    left, frac = _cell_weights(coords, cells)
    if table.ndim == 1:
        return table[left] * (1.0 - frac) + table[left + 1] * frac
    if axis == 0:
        return table[left] * (1.0 - frac)[:, None] + table[left + 1] * frac[:, None]
    return table[:, left] * (1.0 - frac)[None, :] + table[:, left + 1] * frac[None, :]


def fbm_lattices(rng: np.random.Generator, base_cells: int, octaves: int, aspect: float = 1.0,
                 periodic: bool = False) -> list[np.ndarray]:
    """Random lattices for ``octaves`` octaves, each doubling the cell count (x cells =
    ``aspect`` times y cells). Values in [-1, 1]. ``periodic``: the last row/column repeat the
    first, so the field tiles seamlessly over [0, 1)^2."""
    lattices = []
    for octave in range(octaves):
        ny = base_cells * 2 ** octave
        nx = max(1, int(round(ny * aspect)))
        lattice = rng.uniform(-1.0, 1.0, size=(ny + 1, nx + 1)).astype(np.float32)
        if periodic:
            lattice[-1, :] = lattice[0, :]
            lattice[:, -1] = lattice[:, 0]
        lattices.append(lattice)
    return lattices


def fbm_grid(lattices: list[np.ndarray], xs: np.ndarray, ys: np.ndarray, gain: float = 0.5) -> np.ndarray:
    """Fractal sum of the lattices sampled on the grid ``ys x xs`` (scene units in [0, 1]).

    Returns ``len(ys) x len(xs)`` float32, roughly in [-1, 1] (normalised by the amplitude sum)."""
    total = np.zeros((len(ys), len(xs)), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for lattice in lattices:
        ny, nx = lattice.shape[0] - 1, lattice.shape[1] - 1
        total += amplitude * _lerp_axis(_lerp_axis(lattice, ys, ny, 0), xs, nx, 1)
        norm += amplitude
        amplitude *= gain
    return total / norm


def fbm_line(rng: np.random.Generator, base_cells: int, octaves: int, xs: np.ndarray, gain: float = 0.5,
             ridged: bool = False) -> np.ndarray:
    """A 1D fractal curve over ``xs`` (scene units), in about [-1, 1]; ``ridged`` folds each
    octave (``1 - 2|n|``) for sharp mountain crests."""
    total = np.zeros(len(xs), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        cells = base_cells * 2 ** octave
        values = rng.uniform(-1.0, 1.0, size=cells + 1).astype(np.float32)
        layer = _lerp_axis(values, xs, cells, 0)
        if ridged:
            layer = 1.0 - 2.0 * np.abs(layer)
        total += amplitude * layer
        norm += amplitude
        amplitude *= gain
    return total / norm


def noise_image(rng: np.random.Generator, size: int, base_cells: int, octaves: int, gain: float = 0.5) -> np.ndarray:
    """A seamlessly tiling ``size x size`` fractal noise image (float32, about [-1, 1]) whose
    content depends only on ``rng`` (``size`` is a fixed table size, not the output size)."""
    coords = np.arange(size, dtype=np.float64) / size
    return fbm_grid(fbm_lattices(rng, base_cells, octaves, periodic=True), coords, coords, gain)


def sample_bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smooth (smoothstep-weighted bilinear), wrapping lookup of a 2D table at real texel coordinates ``x, y`` (any shape)."""
    h, w = image.shape
    x0f = np.floor(x)
    y0f = np.floor(y)
    fx = (x - x0f).astype(np.float32)
    fy = (y - y0f).astype(np.float32)
    fx = fx * fx * (3 - 2 * fx)  # smoothstep weights: a continuous gradient, no blocky shading
    fy = fy * fy * (3 - 2 * fy)
    x0 = x0f.astype(np.int64) % w
    y0 = y0f.astype(np.int64) % h
    x1 = (x0 + 1) % w
    y1 = (y0 + 1) % h
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def line_table(rng: np.random.Generator, base_cells: int, octaves: int, gain: float = 0.5, ridged: bool = False,
               samples: int = 2049) -> np.ndarray:
    """A 1D fractal curve tabulated on ``samples`` points over [0, 1] (see :func:`at`)."""
    xs = np.linspace(0.0, 1.0, samples)
    return fbm_line(rng, base_cells, octaves, xs, gain, ridged)


def at(table: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Linear lookup of a :func:`line_table` at scene coordinates ``xs`` (clamped to [0, 1])."""
    grid = np.linspace(0.0, 1.0, len(table))
    return np.interp(np.clip(xs, 0.0, 1.0), grid, table).astype(np.float32)
