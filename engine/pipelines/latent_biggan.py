"""The Latent explorer for BigGAN-deep (family ``biggan``).

The table in :mod:`engine.pipelines` sends ``biggan`` models here; the requests are the same
(:mod:`engine.latent_types`, whose docstring lists what each field means for BigGAN).

The truncation slider (``psi``) does two things, as in the official code:
  * z of a seed is the official ``truncated_noise_sample(1, z_dim, psi, seed)``: a normal
    truncated to ``[-2, 2]``, times ``psi``;
  * the generator's BatchNorm layers use the standing statistics ``psi`` selects (51 rows for
    psi = 0, 0.02, ..., 1; between rows they are blended as the format does).
``psi`` must be in ``(0, 1]``. It is rounded to 6 decimals first, so that slider arithmetic
(``0.1 * 4 = 0.4000000000000001``, or a float32 0.4) selects the same statistics row as an
exact 0.4: the format's blend puts almost all weight on the *next* row for a value a hair above a
grid point, which would make the image jump.

The last render is kept (``model.runtime_cache``); an identical request returns it at once.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
import torch

from engine.errors import InputError
from engine.latent_types import (
    NOISE_MODES,
    DirectionsRequest,
    DirectionsResult,
    InterpolationRequest,
    InterpolationResult,
    LatentSampleRequest,
    LatentSampleResult,
)
from engine.models.loaded import LoadedModel
from engine.pipelines.latent_common import check_seed, slerp
from engine.models.biggan import BigGANGenerator, truncated_noise_sample
from engine.pipelines.images import tensor_to_image

log = logging.getLogger(__name__)

PSI_DECIMALS = 6
_RENDER_KEY = "latent.biggan.render"
_BATCH = 8


def handles(model: LoadedModel) -> bool:
    """Whether ``model`` is a BigGAN these functions render."""
    return isinstance(model.networks.get("G"), BigGANGenerator)


def _generator(model: LoadedModel) -> BigGANGenerator:
    G = model.networks.get("G")
    if not isinstance(G, BigGANGenerator):
        raise InputError(f"{model.path} is a '{model.family}' model, not a BigGAN.")
    return G


def check_psi(psi: Any) -> float:
    """BigGAN's truncation: a number in ``(0, 1]``, rounded to :data:`PSI_DECIMALS` decimals."""
    try:
        value = float(psi)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or not 0.0 < round(value, PSI_DECIMALS) <= 1.0:
        raise InputError(
            f"BigGAN's truncation must be above 0 and at most 1, got {psi!r}; lower values give more typical, "
            "less varied images."
        )
    return round(value, PSI_DECIMALS)


def z_from_seed(seed: int, z_dim: int, psi: float) -> np.ndarray:
    """``[z_dim]`` float32: the official ``truncated_noise_sample(1, z_dim, psi, seed)[0]``."""
    return truncated_noise_sample(1, z_dim, psi, check_seed(seed))[0]


def class_vector(G: BigGANGenerator, class_index: Any, vector: Any, notes: list[str]) -> np.ndarray:
    """``[num_classes]`` float32 from a class index or an explicit class vector (used as given)."""
    n = G.num_classes
    if vector is not None:
        vec = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vec.shape[0] != n or not np.all(np.isfinite(vec)):
            raise InputError(f"The class vector must hold {n} finite numbers, got shape {np.shape(vector)}.")
        if class_index is not None:
            notes.append("Both a class and a class vector were given; the class vector was used.")
        return vec
    if class_index is None:
        notes.append("BigGAN is class-conditional and no class was chosen; showing class 0.")
        class_index = 0
    if isinstance(class_index, bool) or not isinstance(class_index, (int, np.integer)) or not 0 <= int(class_index) < n:
        raise InputError(f"The class must be a number from 0 to {n - 1}, got {class_index!r}.")
    vec = np.zeros(n, dtype=np.float32)
    vec[int(class_index)] = 1.0
    return vec


def _z(G: BigGANGenerator, request: LatentSampleRequest, psi: float) -> np.ndarray:
    if request.ws is None:
        return z_from_seed(request.seed, G.z_dim, psi)
    z = np.asarray(request.ws, dtype=np.float32)
    if z.shape not in ((G.z_dim,), (1, G.z_dim)) or not np.all(np.isfinite(z)):
        raise InputError(
            f"For BigGAN, ws is the noise z: {G.z_dim} finite numbers ([{G.z_dim}] or [1, {G.z_dim}]), "
            f"got shape {np.shape(request.ws)}."
        )
    return z.reshape(-1).copy()


def _reject_stylegan_only(request: Any, notes: list[str]) -> None:
    if getattr(request, "mix", ()):
        raise InputError("Style mixing needs a StyleGAN model; BigGAN has no per-layer styles. Remove the mixing seeds.")
    if getattr(request, "directions", ()):
        raise InputError("Latent directions work in StyleGAN's W space, which BigGAN does not have. Remove the directions.")
    if getattr(request, "cutoff", None) is not None:
        raise InputError("A truncation cutoff applies to StyleGAN layers; BigGAN has none. Leave the cutoff empty.")
    mode = getattr(request, "noise_mode", "const")
    if mode not in NOISE_MODES:
        raise InputError(f"Noise mode must be one of {', '.join(NOISE_MODES)}, got {mode!r}.")
    if mode != "const" or getattr(request, "noise_strength", None) is not None:
        notes.append("BigGAN has no noise inputs; the noise settings were ignored.")


@torch.no_grad()
def _render(model: LoadedModel, z: np.ndarray, classes: np.ndarray, psi: float) -> torch.Tensor:
    """Images ``[N, 3, R, R]`` of z ``[N, z_dim]`` and class vectors ``[N, num_classes]``."""
    G = _generator(model)
    dtype = next(G.parameters()).dtype
    zt = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)).to(model.device, dtype)
    ct = torch.from_numpy(np.ascontiguousarray(classes, dtype=np.float32)).to(model.device, dtype)
    return G(zt, ct, psi)


def sample(model: LoadedModel, request: LatentSampleRequest, ctx) -> LatentSampleResult:
    """Render one image; ``result.ws`` is the z used, ``[1, z_dim]``."""
    started = time.perf_counter()
    G = _generator(model)
    notes: list[str] = []
    ctx.check_cancelled()
    _reject_stylegan_only(request, notes)
    psi = check_psi(request.psi)
    z = _z(G, request, psi)
    classes = class_vector(G, request.class_index, request.class_vector, notes)
    key = (z.tobytes(), classes.tobytes(), psi, str(model.device))
    cached = model.runtime_cache.get(_RENDER_KEY)
    if cached is not None and cached[0] == key:
        image, first_layer = cached[1], 1
    else:
        ctx.progress(0.0, "rendering")
        image = tensor_to_image(_render(model, z[None], classes[None], psi)[0])
        model.runtime_cache[_RENDER_KEY] = (key, image)
        first_layer = 0
    ctx.progress(1.0, "done")
    return LatentSampleResult(
        image=image.copy(),
        ws=z[None].astype(np.float32),
        duration_s=time.perf_counter() - started,
        seed=int(request.seed),
        first_layer=first_layer,
        notes=tuple(notes),
    )


def interpolate(model: LoadedModel, request: InterpolationRequest, ctx) -> InterpolationResult:
    """``steps`` frames slerping z from ``seed_a`` to ``seed_b`` (same class and psi);
    ``result.ws`` is the z of each frame, ``[steps, 1, z_dim]``."""
    started = time.perf_counter()
    G = _generator(model)
    notes: list[str] = []
    steps = int(request.steps)
    if steps < 2:
        raise InputError("An interpolation needs at least 2 frames.")
    if request.space == "w":
        raise InputError("BigGAN has no W space; interpolate in z (space 'z').")
    if request.space != "z":
        raise InputError(f"Interpolate in 'z' for BigGAN, not {request.space!r}.")
    _reject_stylegan_only(request, notes)
    psi = check_psi(request.psi)
    za = z_from_seed(check_seed(request.seed_a, "first seed"), G.z_dim, psi)
    zb = z_from_seed(check_seed(request.seed_b, "second seed"), G.z_dim, psi)
    zs = np.stack([slerp(za, zb, t) for t in np.linspace(0.0, 1.0, steps)]).astype(np.float32)
    classes = class_vector(G, request.class_index, None, notes)
    frames: list[np.ndarray] = []
    for start in range(0, steps, _BATCH):
        ctx.check_cancelled()
        ctx.progress(start / steps, f"frame {start + 1} of {steps}")
        chunk = zs[start:start + _BATCH]
        images = _render(model, chunk, np.broadcast_to(classes, (len(chunk), classes.shape[0])), psi)
        frames.extend(tensor_to_image(img) for img in images)
    ctx.progress(1.0, "done")
    return InterpolationResult(frames=tuple(frames), ws=zs[:, None, :], duration_s=time.perf_counter() - started, notes=tuple(notes))


def principal_directions(model: LoadedModel, request: DirectionsRequest, ctx) -> DirectionsResult:
    raise InputError(
        "Principal directions are computed in StyleGAN's W space; BigGAN has no W. Explore BigGAN with seeds, "
        "truncation and class mixing."
    )


def clear_cache(model: LoadedModel) -> None:
    model.runtime_cache.pop(_RENDER_KEY, None)
