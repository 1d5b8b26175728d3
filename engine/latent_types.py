"""Plain requests and results of the Latent explorer (StyleGAN2 and BigGAN-deep generators).

Frozen dataclasses of numpy arrays, numbers and strings only; importable without torch (the GUI
imports this module). The engine side is :mod:`engine.pipelines.latent_stylegan2` and :mod:`engine.pipelines.latent_biggan`.

Conventions:
  * seeds are integers in ``[0, 2**32 - 1]``; a seed's z is ``numpy.random.RandomState(seed)
    .randn(z_dim)``, as the official StyleGAN generate scripts draw it, so seeds name the same
    images as there;
  * "layers" are the generator's w slots ``0 .. num_ws - 1`` (coarse to fine; two per
    resolution); a layer range ``(start, end)`` is half-open, ``end=None`` meaning "to the last";
  * latents (w, z, directions) are ``float32`` vectors; ``ws`` is ``[num_ws, w_dim]``;
  * images are ``HxWx3 uint8`` RGB.

BigGAN-deep (family ``biggan``) uses the same requests with these meanings:
  * a seed's z is the official ``truncated_noise_sample(1, z_dim, psi, seed)``: a normal
    truncated to ``[-2, 2]`` (drawn from ``numpy.random.RandomState(seed)``), times ``psi``;
  * ``psi`` is the truncation in ``(0, 1]``: it scales z *and* selects the generator's
    BatchNorm standing statistics, as the official code does;
  * ``class_index`` or ``class_vector`` (``[num_classes]``; mixes of classes from
    :func:`class_mix_vector`);
  * ``ws`` is z itself (``[z_dim]`` or ``[1, z_dim]``), as results report it;
  * style mixing, directions, ``cutoff`` and W-space interpolation do not apply (an error);
    noise settings are ignored (the model has no noise inputs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from engine.errors import InputError
from engine.types import ModelRef

SEED_MAX = 2**32 - 1
NOISE_MODES = ("const", "random", "none")


def class_mix_vector(num_classes: int, weights: Mapping[int, float]) -> np.ndarray:
    """A ``[num_classes]`` float32 class vector mixing classes by ``{class index: weight}``.

    The weights are normalised to sum to 1, so one class with any positive weight gives its
    one-hot vector (the convention class-conditional generators are trained with) and
    ``{3: 1, 6: 1}`` gives 0.5/0.5. Weights must be finite and >= 0 with a positive sum;
    indices must be in ``0 .. num_classes - 1``; otherwise :class:`InputError`.
    """
    n = int(num_classes)
    if n < 1:
        raise InputError(f"A class vector needs at least one class, not {num_classes}.")
    if not weights:
        raise InputError("Choose at least one class to mix.")
    vector = np.zeros(n, dtype=np.float64)
    for index, weight in weights.items():
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= int(index) < n:
            raise InputError(f"The class must be a number from 0 to {n - 1}, got {index!r}.")
        w = float(weight)
        if not math.isfinite(w) or w < 0:
            raise InputError(f"Class weights must be zero or positive numbers, got {weight!r} for class {index}.")
        vector[int(index)] += w
    total = vector.sum()
    if total <= 0:
        raise InputError("At least one class weight must be above zero.")
    return (vector / total).astype(np.float32)


@dataclass(frozen=True, eq=False)
class StyleMix:
    """Take layers ``[layer_start, layer_end)`` from the w of ``seed`` (same psi and class)."""

    seed: int
    layer_start: int
    layer_end: int | None = None


@dataclass(frozen=True, eq=False)
class LatentDirection:
    """Move w along ``vector`` (``[w_dim]`` float32) by ``strength`` on layers ``[layer_start, layer_end)``.

    With principal directions (:class:`DirectionsResult`) a natural unit is the component's
    standard deviation: ``strength = k * std[i]``.
    """

    vector: np.ndarray
    strength: float
    layer_start: int = 0
    layer_end: int | None = None


@dataclass(frozen=True, eq=False)
class LatentSampleRequest:
    """Render one image of a latent-space generator.

    ``seed``: picks z (ignored when ``ws`` is given). ``psi``: truncation (1 = none, 0 = the average
    image; values above 1 exaggerate). ``cutoff``: truncate only layers below it (None = all).
    ``class_index`` or ``class_vector`` (``[c_dim]`` float32) for class-conditional models.
    ``noise_mode``: ``const`` (the model's stored noise), ``random`` (drawn from ``noise_seed``)
    or ``none``. ``noise_strength``: optional multiplier per conv layer (``num_ws - 1`` values).
    ``mix`` and ``directions`` are applied in that order, after truncation.
    ``ws``: an explicit ``[num_ws, w_dim]`` (or ``[w_dim]``) latent, e.g. from an interpolation.
    """

    model: ModelRef
    seed: int = 0
    psi: float = 1.0
    cutoff: int | None = None
    class_index: int | None = None
    class_vector: np.ndarray | None = None
    noise_mode: str = "const"
    noise_seed: int = 0
    noise_strength: tuple[float, ...] | None = None
    mix: tuple[StyleMix, ...] = ()
    directions: tuple[LatentDirection, ...] = ()
    ws: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class LatentSampleResult:
    """``image`` HxWx3 uint8; ``ws`` ``[num_ws, w_dim]`` float32 as rendered; ``first_layer``: the
    layer the render restarted from (0 = full render, ``num_ws`` = nothing changed).
    For BigGAN, ``ws`` is the z used, ``[1, z_dim]`` (so ``num_ws`` is 1)."""

    image: np.ndarray
    ws: np.ndarray
    duration_s: float
    seed: int
    first_layer: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DirectionsRequest:
    """Principal directions of W (GANSpace): PCA of ``samples`` mapped z drawn from ``seed``."""

    model: ModelRef
    count: int = 10
    samples: int = 10000
    seed: int = 0


@dataclass(frozen=True, eq=False)
class DirectionsResult:
    """``directions`` ``[count, w_dim]``: orthonormal rows, strongest first; ``std`` ``[count]``:
    the standard deviation of w along each; ``mean`` ``[w_dim]``; ``explained`` ``[count]``: the
    fraction of the total variance each explains."""

    directions: np.ndarray
    std: np.ndarray
    mean: np.ndarray
    explained: np.ndarray
    duration_s: float = 0.0


@dataclass(frozen=True, eq=False)
class InterpolationRequest:
    """``steps`` frames from ``seed_a`` to ``seed_b`` (both ends included): ``space='w'`` lerps
    the mapped ws, ``space='z'`` slerps z and maps each frame. BigGAN interpolates in z only."""

    model: ModelRef
    seed_a: int
    seed_b: int
    steps: int = 8
    space: str = "w"
    psi: float = 1.0
    cutoff: int | None = None
    class_index: int | None = None
    noise_mode: str = "const"


@dataclass(frozen=True, eq=False)
class InterpolationResult:
    """``frames``: ``steps`` HxWx3 uint8 images; ``ws``: ``[steps, num_ws, w_dim]`` float32
    (BigGAN: the z of each frame, ``[steps, 1, z_dim]``)."""

    frames: tuple[np.ndarray, ...]
    ws: np.ndarray
    duration_s: float
    notes: tuple[str, ...] = field(default_factory=tuple)
