"""The Latent explorer pipeline on a tiny random StyleGAN2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import Cancelled, InputError
from engine.latent_types import (
    DirectionsRequest,
    InterpolationRequest,
    LatentDirection,
    LatentSampleRequest,
    StyleMix,
)
from engine.models.loaded import LoadedModel
from engine.pipelines import latent_common, latent_stylegan2 as latent
from engine.types import ModelRef
from engine.worker import JobContext
from tests.helpers import tiny_generator

REF = ModelRef("memory://tiny-stylegan2")


def make_model(c_dim: int = 0) -> LoadedModel:
    G = tiny_generator(c_dim=c_dim)
    G.requires_grad_(False)
    return LoadedModel(path="tiny", family="stylegan2", source_format="test", config=G.config, networks={"G": G})


@pytest.fixture
def model():
    return make_model()


@pytest.fixture
def ctx():
    return JobContext.detached()


def req(**kw) -> LatentSampleRequest:
    return LatentSampleRequest(model=REF, **kw)


def full_render(model: LoadedModel, ws: np.ndarray, **kw) -> torch.Tensor:
    """The reference: a render from scratch of the same ws and noise settings."""
    G = model.networks["G"]
    with torch.no_grad():
        return G.synthesis(torch.from_numpy(ws).unsqueeze(0), **kw)


def cached_image(model: LoadedModel) -> torch.Tensor:
    return model.runtime_cache[latent._RENDER_KEY].image


def test_seeds_are_reproducible_and_distinct(model, ctx):
    a = latent.sample(model, req(seed=7), ctx)
    b = latent.sample(make_model(), req(seed=7), ctx)
    c = latent.sample(model, req(seed=8), ctx)
    assert a.image.shape == (32, 32, 3) and a.image.dtype == np.uint8
    assert np.array_equal(a.image, b.image) and np.array_equal(a.ws, b.ws)
    assert not np.array_equal(a.image, c.image)
    # the official rule: z = RandomState(seed).randn(z_dim)
    z = np.random.RandomState(7).randn(16).astype(np.float32)
    assert np.array_equal(latent_common.z_from_seed(7, 16), z)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True, "3"])
def test_seed_out_of_range_is_an_input_error(model, ctx, seed):
    with pytest.raises(InputError):
        latent.sample(model, req(seed=seed), ctx)
    with pytest.raises(InputError):
        latent.sample(model, req(seed=0, mix=(StyleMix(seed, 4),)), ctx)


def test_seed_range_ends_are_valid(model, ctx):
    latent.sample(model, req(seed=0), ctx)
    latent.sample(model, req(seed=2**32 - 1), ctx)


def test_psi_one_leaves_w_unchanged(model, ctx):
    G = model.networks["G"]
    z = torch.from_numpy(latent_common.z_from_seed(3, G.z_dim)).unsqueeze(0)
    plain = G.mapping(z, None)
    out = latent.sample(model, req(seed=3, psi=1.0), ctx)
    assert np.array_equal(out.ws, plain[0].numpy())
    half = latent.sample(model, req(seed=3, psi=0.5, cutoff=4), ctx)
    assert np.array_equal(half.ws[4:], plain[0, 4:].numpy())
    assert not np.allclose(half.ws[:4], plain[0, :4].numpy())


@pytest.mark.parametrize(
    "change",
    [
        dict(directions=(LatentDirection(np.ones(16, np.float32), 2.0, 5, None),)),
        dict(mix=(StyleMix(99, 4, 6),)),
        dict(noise_strength=tuple([1.0] * 6 + [4.0])),
    ],
    ids=["fine-direction", "mixing-range", "fine-noise"],
)
def test_cached_render_equals_full_render(model, ctx, change):
    first = latent.sample(model, req(seed=11, psi=0.8), ctx)
    assert first.first_layer == 0
    second = latent.sample(model, req(seed=11, psi=0.8, **change), ctx)
    expected_start = {"directions": 5, "mix": 4, "noise_strength": 6}[next(iter(change))]
    assert second.first_layer == expected_start
    gains = list(change.get("noise_strength") or [1.0] * 7)
    full = full_render(model, second.ws, noise_mode="const", noise_gains=gains)
    assert (cached_image(model) - full).abs().max() <= 1e-5
    # back to the first request: restarts from the same layer and gives the first image again
    back = latent.sample(model, req(seed=11, psi=0.8), ctx)
    assert back.first_layer == expected_start
    assert np.array_equal(back.image, first.image)


def test_unchanged_request_does_not_render_again(model, ctx):
    a = latent.sample(model, req(seed=2), ctx)
    b = latent.sample(model, req(seed=2), ctx)
    assert b.first_layer == model.networks["G"].num_ws
    assert np.array_equal(a.image, b.image)


def test_random_noise_is_seeded_and_cacheable(model, ctx):
    a = latent.sample(model, req(seed=1, noise_mode="random", noise_seed=5), ctx)
    d = latent.sample(model, req(seed=1, noise_mode="random", noise_seed=5,
                                 directions=(LatentDirection(np.ones(16, np.float32), 1.0, 6),)), ctx)
    assert d.first_layer == 6
    G = model.networks["G"]
    noise = G.synthesis.make_noise("random", seed=5)
    assert (cached_image(model) - full_render(model, d.ws, noise_mode="random", noise=noise)).abs().max() <= 1e-5
    other = latent.sample(make_model(), req(seed=1, noise_mode="random", noise_seed=5), ctx)
    assert np.array_equal(a.image, other.image)
    changed = latent.sample(model, req(seed=1, noise_mode="random", noise_seed=6), ctx)
    assert changed.first_layer == 0 and not np.array_equal(changed.image, a.image)


def test_zero_cache_budget_still_renders_correctly(model, ctx):
    model.runtime_cache["latent.cache_budget_bytes"] = 0
    latent.sample(model, req(seed=4), ctx)
    out = latent.sample(model, req(seed=4, directions=(LatentDirection(np.ones(16, np.float32), 1.0, 6),)), ctx)
    assert out.first_layer == 0
    assert (cached_image(model) - full_render(model, out.ws, noise_mode="const")).abs().max() <= 1e-5


def test_bad_requests_are_input_errors(model, ctx):
    with pytest.raises(InputError):
        latent.sample(model, req(noise_mode="loud"), ctx)
    with pytest.raises(InputError):
        latent.sample(model, req(mix=(StyleMix(1, 5, 99),)), ctx)
    with pytest.raises(InputError):
        latent.sample(model, req(directions=(LatentDirection(np.ones(3, np.float32), 1.0),)), ctx)
    with pytest.raises(InputError):
        latent.sample(model, req(psi=float("nan")), ctx)
    with pytest.raises(InputError):
        latent.sample(model, req(noise_strength=(1.0,)), ctx)


def test_class_conditional(ctx):
    model = make_model(c_dim=3)
    a = latent.sample(model, req(seed=1, class_index=0), ctx)
    b = latent.sample(model, req(seed=1, class_index=2), ctx)
    assert not np.array_equal(a.ws, b.ws)
    v = latent.sample(model, req(seed=1, class_vector=np.array([0, 0, 1], np.float32)), ctx)
    assert np.array_equal(v.ws, b.ws)
    default = latent.sample(model, req(seed=1), ctx)
    assert np.array_equal(default.ws, a.ws) and default.notes
    with pytest.raises(InputError):
        latent.sample(model, req(seed=1, class_index=3), ctx)


def test_cancelled_job_raises_and_keeps_the_cache_valid(model, ctx):
    first = latent.sample(model, req(seed=9), ctx)
    cancelled = JobContext.detached()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        latent.sample(model, req(seed=10), cancelled)
    again = latent.sample(model, req(seed=9), ctx)
    assert np.array_equal(again.image, first.image)


def test_principal_directions_are_orthonormal_and_cached(model, ctx):
    request = DirectionsRequest(model=REF, count=6, samples=3000, seed=1)
    out = latent.principal_directions(model, request, ctx)
    d = out.directions
    assert d.shape == (6, 16) and d.dtype == np.float32
    assert np.allclose(d @ d.T, np.eye(6), atol=1e-5)
    assert np.all(np.diff(out.std) <= 1e-6) and np.all(out.explained > 0) and out.explained.sum() <= 1 + 1e-6
    again = latent.principal_directions(model, request, ctx)
    assert np.array_equal(again.directions, d)
    assert len(model.runtime_cache["latent.pca"]) == 1
    # the first direction really is the strongest one: variance along it beats a random unit vector
    G = model.networks["G"]
    with torch.no_grad():
        w = G.mapping(torch.randn(2000, 16, generator=torch.Generator().manual_seed(5)), None)[:, 0].numpy()
    centred = w - w.mean(0)
    rand = np.random.RandomState(0).randn(16).astype(np.float32)
    rand /= np.linalg.norm(rand)
    assert (centred @ d[0]).var() > (centred @ rand).var()


def test_interpolation_endpoints(model, ctx):
    for space in ("w", "z"):
        out = latent.interpolate(model, InterpolationRequest(model=REF, seed_a=1, seed_b=2, steps=4, space=space, psi=0.7), ctx)
        assert len(out.frames) == 4 and out.ws.shape == (4, model.networks["G"].num_ws, 16)
        a = latent.sample(model, req(seed=1, psi=0.7), ctx)
        b = latent.sample(model, req(seed=2, psi=0.7), ctx)
        assert np.allclose(out.ws[0], a.ws, atol=1e-5) and np.allclose(out.ws[-1], b.ws, atol=1e-5)
        assert np.array_equal(out.frames[0], a.image)


def test_lerp_and_slerp():
    a = np.array([1.0, 0.0], np.float32)
    b = np.array([0.0, 2.0], np.float32)
    assert np.allclose(latent_common.lerp(a, b, 0.5), [0.5, 1.0])
    mid = latent_common.slerp(a, b, 0.5)
    assert np.isclose(np.linalg.norm(mid), 1.5) and np.isclose(mid[0], mid[1])  # halfway round, halfway in norm
    assert np.allclose(latent_common.slerp(a, b, 0.0), a) and np.allclose(latent_common.slerp(a, b, 1.0), b)


def test_truncation_and_mixing_changes_skip_the_mapping_network(model, ctx):
    """The mapping output is kept per seed: a new psi or mixing range reuses it (no mapping forward),
    and the ws and image equal those of a plain mapping + synthesis."""
    G = model.networks["G"]
    calls = []
    hook = G.mapping.layers[0].register_forward_hook(lambda *_: calls.append(1))
    try:
        latent.sample(model, req(seed=3), ctx)
        latent.sample(model, req(seed=4), ctx)
        mapped = len(calls)
        assert mapped == 2
        out = latent.sample(model, req(seed=3, psi=0.6, cutoff=3, mix=(StyleMix(4, 4, 6),)), ctx)
        assert len(calls) == mapped  # both seeds came from the cache
    finally:
        hook.remove()
    with torch.no_grad():
        ws = G.mapping(torch.from_numpy(latent_common.z_from_seed(3, G.z_dim)).unsqueeze(0), None, 0.6, 3)
        other = G.mapping(torch.from_numpy(latent_common.z_from_seed(4, G.z_dim)).unsqueeze(0), None, 0.6, 3)
    ws[:, 4:6] = other[:, 4:6]
    np.testing.assert_allclose(out.ws, ws[0].numpy(), atol=1e-6)
    assert (cached_image(model) - full_render(model, ws[0].numpy())).abs().max().item() < 1e-4
