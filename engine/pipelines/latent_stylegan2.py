"""Latent explorer for StyleGAN2: seeds, truncation, classes, style mixing, directions, noise.

Each function takes a loaded model (family ``stylegan2``), a request from
:mod:`engine.latent_types` and a job context (``.progress``, ``.check_cancelled``, ``.device``).
BigGAN has its own module (:mod:`engine.pipelines.latent_biggan`); the table in
:mod:`engine.pipelines` picks one by family. Seed and interpolation helpers both use live in
:mod:`engine.pipelines.latent_common`.

Partial re-rendering. The last render's per-layer activations are kept in
``model.runtime_cache`` (engine thread only). A new request is compared with the last one layer
by layer (its ws and its noise settings); synthesis restarts from the first layer that differs,
so moving a fine-style slider, a mixing range or a direction limited to fine layers, or changing
the noise of fine layers recomputes only the fine, cheap-to-skip-to layers. Activations are kept
up to :data:`CACHE_BUDGET_BYTES` (``model.runtime_cache["latent.cache_budget_bytes"]`` overrides),
finest layers first.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field

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
from engine.models.stylegan2 import StyleGAN2Generator, SynthesisState
from engine.pipelines.images import tensor_to_image
from engine.pipelines.latent_common import check_seed, lerp, slerp, z_from_seed

log = logging.getLogger(__name__)

CACHE_BUDGET_BYTES = 1 << 30
_RENDER_KEY = "latent.render"
_PCA_KEY = "latent.pca"
_BUDGET_KEY = "latent.cache_budget_bytes"


# --------------------------------------------------------------------------------------------
# Small helpers


def _generator(model: LoadedModel) -> StyleGAN2Generator:
    G = model.networks.get("G")
    if not isinstance(G, StyleGAN2Generator):
        raise InputError(
            f"{model.path} is a '{model.family}' model; the Latent explorer needs a StyleGAN2 or BigGAN generator."
        )
    return G


def _class_vector(G: StyleGAN2Generator, class_index: int | None, class_vector: np.ndarray | None, notes: list[str]) -> torch.Tensor | None:
    c_dim = G.c_dim
    if c_dim == 0:
        if class_index is not None or class_vector is not None:
            notes.append("This model has no classes; the class was ignored.")
        return None
    if class_vector is not None:
        vec = np.asarray(class_vector, dtype=np.float32).reshape(-1)
        if vec.shape[0] != c_dim or not np.all(np.isfinite(vec)):
            raise InputError(f"The class vector must hold {c_dim} finite numbers, got shape {np.shape(class_vector)}.")
        return torch.from_numpy(vec.copy()).unsqueeze(0)
    if class_index is None:
        notes.append("This model is class-conditional and no class was chosen; showing class 0.")
        class_index = 0
    if isinstance(class_index, bool) or not isinstance(class_index, (int, np.integer)) or not 0 <= int(class_index) < c_dim:
        raise InputError(f"The class must be a number from 0 to {c_dim - 1}, got {class_index!r}.")
    c = torch.zeros(1, c_dim)
    c[0, int(class_index)] = 1
    return c


def _check_layer_range(G: StyleGAN2Generator, start: int, end: int | None, what: str) -> tuple[int, int]:
    end = G.num_ws if end is None else int(end)
    if not (0 <= int(start) <= end <= G.num_ws):
        raise InputError(f"The {what} layer range {start}..{end} is outside 0..{G.num_ws}; this model has {G.num_ws} layers.")
    return int(start), end


def _check_psi(psi: float, cutoff: int | None, G: StyleGAN2Generator) -> tuple[float, int | None]:
    if not math.isfinite(float(psi)):
        raise InputError(f"Truncation psi must be a finite number, got {psi!r}.")
    if cutoff is not None and not 0 <= int(cutoff) <= G.num_ws:
        raise InputError(f"The truncation cutoff must be from 0 to {G.num_ws}, got {cutoff}.")
    return float(psi), None if cutoff is None else int(cutoff)


#: untruncated ws of the last few (seed, class) pairs mapped, so that a truncation or mixing change
#: skips the mapping network: ``model.runtime_cache[_MAPPED_KEY]`` is an ordered dict, newest last
_MAPPED_KEY = "latent.mapped_ws"
MAPPED_CACHE_ENTRIES = 16


@torch.no_grad()
def map_seed(model: LoadedModel, seed: int, psi: float = 1.0, cutoff: int | None = None, c: torch.Tensor | None = None) -> torch.Tensor:
    """ws ``[1, num_ws, w_dim]`` of ``seed`` on the model's device (the mapping output is cached per
    seed, class vector and mapping weights; truncation is applied to a copy)."""
    G = _generator(model)
    c = None if c is None else c.to(model.device)
    weights = tuple((t.data_ptr(), t._version) for t in G.mapping.state_dict(keep_vars=True).values())
    key = (int(seed), None if c is None else c.cpu().numpy().tobytes(), str(model.device), weights)
    mapped = model.runtime_cache.setdefault(_MAPPED_KEY, OrderedDict())
    ws = mapped.pop(key, None)
    if ws is None:
        z = torch.from_numpy(z_from_seed(seed, G.z_dim)).unsqueeze(0).to(model.device)
        ws = G.mapping(z, c)
    mapped[key] = ws
    while len(mapped) > MAPPED_CACHE_ENTRIES:
        mapped.popitem(last=False)
    return G.mapping.truncate(ws.clone(), psi, cutoff)


# --------------------------------------------------------------------------------------------
# Sampling with the per-layer cache


@dataclass
class _RenderCache:
    """What the last render left behind: its ws, per-layer noise keys, kept states, image."""

    ws: torch.Tensor
    noise_keys: tuple
    states: dict[int, SynthesisState]
    image: torch.Tensor
    device: str
    noise_maps: dict = field(default_factory=dict)


def _noise_setup(G: StyleGAN2Generator, req: LatentSampleRequest, cache: _RenderCache | None, device) -> tuple[tuple, list | None, list | None]:
    """Per-conv-layer noise keys, explicit noise maps (or None) and gains (or None)."""
    if req.noise_mode not in NOISE_MODES:
        raise InputError(f"Noise mode must be one of {', '.join(NOISE_MODES)}, got {req.noise_mode!r}.")
    n_conv = G.num_ws - 1
    gains = None
    if req.noise_strength is not None:
        gains = [float(g) for g in req.noise_strength]
        if len(gains) != n_conv or not all(math.isfinite(g) for g in gains):
            raise InputError(f"noise_strength needs {n_conv} finite numbers (one per conv layer), got {len(gains)}.")
    maps = None
    if req.noise_mode == "random":
        seed = check_seed(req.noise_seed, "noise seed")
        saved = cache.noise_maps.get(seed) if cache is not None else None
        if saved is None:
            saved = G.synthesis.make_noise("random", batch=1, seed=seed, device=device)
        maps = saved
    keys = tuple(
        (req.noise_mode, req.noise_seed if req.noise_mode == "random" else None, 1.0 if gains is None else gains[k])
        for k in range(n_conv)
    )
    return keys, maps, gains


def _first_changed(cache: _RenderCache | None, ws: torch.Tensor, noise_keys: tuple, device: str) -> int:
    """The first layer whose w or noise differs from the cached render (num_ws if none)."""
    num_ws = ws.shape[1]
    if cache is None or cache.device != device or cache.ws.shape != ws.shape:
        return 0
    same_w = (cache.ws == ws).all(dim=2)[0]  # [num_ws]
    for k in range(num_ws):
        if not bool(same_w[k]):
            return k
        if k < len(noise_keys) and cache.noise_keys[k] != noise_keys[k]:
            return k
    return num_ws


def _keep_plan(G: StyleGAN2Generator, budget: int, start: int) -> list[int]:
    """Steps (>= 1, >= start) whose states to keep, finest first, within ``budget`` bytes."""
    sizes = G.synthesis.state_nbytes(batch=1, dtype=G.synthesis.const.dtype)
    keep, used = [], 0
    for k in range(G.num_ws - 1, 0, -1):
        if used + sizes[k] > budget:
            continue
        keep.append(k)
        used += sizes[k]
    return [k for k in keep if k >= start]


def build_ws(model: LoadedModel, req: LatentSampleRequest, notes: list[str]) -> torch.Tensor:
    """The request's ws ``[1, num_ws, w_dim]``: seed or explicit ws, truncation, mixing, directions."""
    G = _generator(model)
    psi, cutoff = _check_psi(req.psi, req.cutoff, G)
    c = _class_vector(G, req.class_index, req.class_vector, notes)
    if req.ws is not None:
        ws_np = np.asarray(req.ws, dtype=np.float32)
        if ws_np.shape == (G.w_dim,):
            ws_np = np.broadcast_to(ws_np, (G.num_ws, G.w_dim))
        if ws_np.shape != (G.num_ws, G.w_dim) or not np.all(np.isfinite(ws_np)):
            raise InputError(f"ws must be [{G.num_ws}, {G.w_dim}] (or [{G.w_dim}]) finite numbers, got {np.shape(req.ws)}.")
        ws = torch.from_numpy(np.ascontiguousarray(ws_np)).unsqueeze(0).to(model.device)
    else:
        ws = map_seed(model, check_seed(req.seed), psi, cutoff, c)
    for mix in req.mix:
        start, end = _check_layer_range(G, mix.layer_start, mix.layer_end, "style-mixing")
        other = map_seed(model, check_seed(mix.seed, "mixing seed"), psi, cutoff, c)
        ws = ws.clone()
        ws[:, start:end] = other[:, start:end]
    for direction in req.directions:
        start, end = _check_layer_range(G, direction.layer_start, direction.layer_end, "direction")
        vec = np.asarray(direction.vector, dtype=np.float32).reshape(-1)
        if vec.shape[0] != G.w_dim or not np.all(np.isfinite(vec)) or not math.isfinite(float(direction.strength)):
            raise InputError(f"A direction must be {G.w_dim} finite numbers with a finite strength.")
        ws = ws.clone()
        ws[:, start:end] += float(direction.strength) * torch.from_numpy(vec).to(ws)
    return ws


@torch.no_grad()
def sample(model: LoadedModel, request: LatentSampleRequest, ctx) -> LatentSampleResult:
    """Render ``request``, restarting synthesis at the first layer that differs from the last render."""
    started = time.perf_counter()
    G = _generator(model)
    notes: list[str] = []
    ctx.check_cancelled()
    ws = build_ws(model, request, notes)
    device = str(model.device)
    cache: _RenderCache | None = model.runtime_cache.get(_RENDER_KEY)
    noise_keys, noise_maps, gains = _noise_setup(G, request, cache, model.device)
    first = _first_changed(cache, ws, noise_keys, device)
    synthesis = G.synthesis
    if first >= G.num_ws:
        image = cache.image
    else:
        budget = int(model.runtime_cache.get(_BUDGET_KEY, CACHE_BUDGET_BYTES))
        plan = _keep_plan(G, budget, 0)
        start = 0
        if first > 0 and cache is not None:
            start = max((k for k in cache.states if k <= first), default=0)
        span = max(1, G.num_ws - start)

        def step(k: int) -> None:
            ctx.progress((k - start) / span, "rendering")

        image, kept = synthesis.forward_from(
            start, cache.states.get(start) if (cache is not None and start > 0) else None, ws, request.noise_mode,
            noise=noise_maps, noise_gains=gains, keep=[k for k in plan if k >= start], check=step,
        )
        states = {k: v for k, v in (cache.states.items() if cache is not None and start > 0 else ()) if k < start and k in plan}
        states.update(kept)
        saved_noise = {}
        if request.noise_mode == "random":
            saved_noise[int(request.noise_seed)] = noise_maps
        model.runtime_cache[_RENDER_KEY] = _RenderCache(ws, noise_keys, states, image, device, saved_noise)
        first = start
    log.debug("latent render from layer %d of %d", first, G.num_ws)
    ctx.progress(1.0, "done")
    return LatentSampleResult(
        image=tensor_to_image(image),
        ws=ws[0].float().cpu().numpy(),
        duration_s=time.perf_counter() - started,
        seed=int(request.seed),
        first_layer=int(first),
        notes=tuple(notes),
    )


def clear_cache(model: LoadedModel) -> None:
    """Forget the kept activations and mapped ws (e.g. after the weights changed)."""
    model.runtime_cache.pop(_RENDER_KEY, None)
    model.runtime_cache.pop(_MAPPED_KEY, None)


# --------------------------------------------------------------------------------------------
# Principal directions (GANSpace-style PCA of W)


@torch.no_grad()
def principal_directions(model: LoadedModel, request: DirectionsRequest, ctx) -> DirectionsResult:
    """PCA of ``request.samples`` ws (class drawn uniformly for conditional models), cached per
    model and (samples, seed). Rows are orthonormal; each sign is fixed so its largest entry is positive."""
    started = time.perf_counter()
    G = _generator(model)
    samples, seed = int(request.samples), check_seed(request.seed)
    if samples < 2:
        raise InputError("Principal directions need at least 2 samples.")
    count = int(request.count)
    if not 1 <= count <= G.w_dim:
        raise InputError(f"The number of directions must be from 1 to {G.w_dim}, got {request.count}.")
    cache = model.runtime_cache.setdefault(_PCA_KEY, {})
    key = (samples, seed)
    if key not in cache:
        cache[key] = _pca(G, samples, seed, model.device, ctx)
    mean, components, variances = cache[key]
    total = float(variances.sum())
    return DirectionsResult(
        directions=components[:count].copy(),
        std=np.sqrt(np.maximum(variances[:count], 0)).astype(np.float32),
        mean=mean.copy(),
        explained=(variances[:count] / total if total > 0 else np.zeros(count)).astype(np.float32),
        duration_s=time.perf_counter() - started,
    )


def _pca(G: StyleGAN2Generator, samples: int, seed: int, device, ctx, batch: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gen = torch.Generator(device="cpu").manual_seed(seed)
    chunks = []
    for done in range(0, samples, batch):
        n = min(batch, samples - done)
        ctx.progress(done / samples, "sampling W")
        z = torch.randn(n, G.z_dim, generator=gen) if G.z_dim > 0 else None
        c = None
        if G.c_dim > 0:
            c = torch.nn.functional.one_hot(torch.randint(G.c_dim, (n,), generator=gen), G.c_dim).float().to(device)
        chunks.append(G.mapping(None if z is None else z.to(device), c)[:, 0].double().cpu())
    w = torch.cat(chunks)
    mean = w.mean(dim=0)
    cov = (w - mean).T @ (w - mean) / (samples - 1)
    variances, vectors = torch.linalg.eigh(cov)
    order = torch.argsort(variances, descending=True)
    variances, vectors = variances[order], vectors[:, order].T  # rows = components
    signs = torch.sign(vectors.gather(1, vectors.abs().argmax(dim=1, keepdim=True)))
    vectors = vectors * torch.where(signs == 0, torch.ones_like(signs), signs)
    return mean.float().numpy(), vectors.float().numpy(), variances.clamp_min(0).float().numpy()


# --------------------------------------------------------------------------------------------
# Interpolation


@torch.no_grad()
def interpolate(model: LoadedModel, request: InterpolationRequest, ctx) -> InterpolationResult:
    """Frames from ``seed_a`` to ``seed_b``: lerp in W or slerp in Z (then truncation)."""
    started = time.perf_counter()
    G = _generator(model)
    notes: list[str] = []
    steps = int(request.steps)
    if steps < 2:
        raise InputError("An interpolation needs at least 2 frames.")
    if request.space not in ("w", "z"):
        raise InputError(f"Interpolate in 'w' or 'z', not {request.space!r}.")
    if request.noise_mode not in NOISE_MODES:
        raise InputError(f"Noise mode must be one of {', '.join(NOISE_MODES)}, got {request.noise_mode!r}.")
    psi, cutoff = _check_psi(request.psi, request.cutoff, G)
    c = _class_vector(G, request.class_index, None, notes)
    c = None if c is None else c.to(model.device)
    ts = np.linspace(0.0, 1.0, steps)
    if request.space == "w":
        wa = map_seed(model, check_seed(request.seed_a, "first seed"), psi, cutoff, c)[0].cpu().numpy()
        wb = map_seed(model, check_seed(request.seed_b, "second seed"), psi, cutoff, c)[0].cpu().numpy()
        all_ws = np.stack([lerp(wa, wb, t) for t in ts])
    else:
        za = z_from_seed(check_seed(request.seed_a, "first seed"), G.z_dim)
        zb = z_from_seed(check_seed(request.seed_b, "second seed"), G.z_dim)
        z = torch.from_numpy(np.stack([slerp(za, zb, t) for t in ts])).to(model.device)
        all_ws = G.mapping(z, None if c is None else c.expand(steps, -1), psi, cutoff).cpu().numpy()
    frames = []
    for i, ws in enumerate(all_ws):
        ctx.progress(i / steps, f"frame {i + 1} of {steps}")
        img = G.synthesis(torch.from_numpy(ws).unsqueeze(0).to(model.device), request.noise_mode)
        frames.append(tensor_to_image(img))
    ctx.progress(1.0, "done")
    return InterpolationResult(frames=tuple(frames), ws=all_ws.astype(np.float32), duration_s=time.perf_counter() - started, notes=tuple(notes))
