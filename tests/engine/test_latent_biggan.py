"""The Latent explorer on a tiny random BigGAN-deep: seeds, truncation, classes, mixing, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.errors import InputError
from engine.latent_types import (
    DirectionsRequest,
    InterpolationRequest,
    LatentDirection,
    LatentSampleRequest,
    StyleMix,
    class_mix_vector,
)
from engine.models.loaded import LoadedModel
from engine.models.biggan import BigGANConfig, build_networks, standing_statistics, truncated_noise_sample
from engine.pipelines import latent_biggan
from engine.types import ModelRef
from engine.worker import JobContext

REF = ModelRef("memory://tiny-biggan")
CONFIG = BigGANConfig(
    output_dim=16, z_dim=8, class_embed_dim=8, channel_width=8, num_classes=5,
    layers=((False, 4, 4), (True, 4, 2), (True, 2, 1)), attention_layer_position=2, n_stats=51,
)


def make_model() -> LoadedModel:
    torch.manual_seed(0)
    G = build_networks(CONFIG)["G"]
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, buffer in G.named_buffers():
            if name.endswith("running_means"):
                buffer.copy_(0.3 * torch.randn(buffer.shape, generator=gen))
            elif name.endswith("running_vars"):
                buffer.copy_(0.5 + torch.rand(buffer.shape, generator=gen))
        for name, param in G.named_parameters():
            if name.endswith("gamma"):
                param.fill_(0.7)
            elif name.startswith("embeddings"):
                param.copy_(torch.randn(param.shape, generator=gen))
    G.eval().requires_grad_(False)
    return LoadedModel(path="tiny", family="biggan", source_format="test", config=CONFIG, networks={"G": G})


@pytest.fixture
def model():
    return make_model()


@pytest.fixture
def ctx():
    return JobContext.detached()


def req(**kw) -> LatentSampleRequest:
    return LatentSampleRequest(model=REF, **kw)


def diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int)).max())


def test_seeds_are_reproducible_and_distinct(model, ctx):
    a = latent_biggan.sample(model, req(seed=7, psi=0.5, class_index=1), ctx)
    b = latent_biggan.sample(make_model(), req(seed=7, psi=0.5, class_index=1), ctx)
    c = latent_biggan.sample(model, req(seed=8, psi=0.5, class_index=1), ctx)
    assert a.image.shape == (16, 16, 3) and a.image.dtype == np.uint8
    assert np.array_equal(a.image, b.image) and np.array_equal(a.ws, b.ws)
    assert diff(a.image, c.image) > 10
    # the official rule: z = truncated_noise_sample(1, z_dim, psi, seed)
    assert a.ws.shape == (1, CONFIG.z_dim) and a.ws.dtype == np.float32
    assert np.array_equal(a.ws, truncated_noise_sample(1, CONFIG.z_dim, 0.5, 7))
    assert np.abs(a.ws).max() <= 2 * 0.5


def test_sampler_is_a_truncated_normal():
    z = truncated_noise_sample(1000, 100, 1.0, seed=0).astype(np.float64)
    assert np.abs(z).max() <= 2.0 and np.abs(z).max() > 1.95
    # variance of N(0, 1) truncated to [-2, 2]: 1 - 2 * 2 * phi(2) / (Phi(2) - Phi(-2))
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    expected = 1 - 4 * phi2 / math.erf(2 / math.sqrt(2))
    assert abs(z.var() - expected) < 0.01 and abs(z.mean()) < 0.01
    # a batch's first row is the single sample of the same seed
    assert np.array_equal(truncated_noise_sample(3, 100, 0.7, 5)[0], truncated_noise_sample(1, 100, 0.7, 5)[0])


def test_sampler_matches_scipy_when_installed():
    stats = pytest.importorskip("scipy.stats")
    state = np.random.RandomState(42)
    expected = (0.6 * stats.truncnorm.rvs(-2, 2, size=(4, 64), random_state=state).astype(np.float32))
    assert np.abs(truncated_noise_sample(4, 64, 0.6, 42) - expected).max() <= 1e-6


def test_psi_changes_noise_scale_and_statistics(model, ctx):
    low = latent_biggan.sample(model, req(seed=3, psi=0.3), ctx)
    high = latent_biggan.sample(model, req(seed=3, psi=1.0), ctx)
    assert np.allclose(low.ws / 0.3, high.ws / 1.0, atol=1e-6)
    assert diff(low.image, high.image) > 10
    # the same z with another psi still renders differently: psi also selects the BN statistics
    same_z = latent_biggan.sample(model, req(ws=high.ws, psi=0.3), ctx)
    assert diff(same_z.image, high.image) > 0
    assert np.array_equal(same_z.ws, high.ws)


def test_standing_statistics_follow_the_format():
    means = torch.arange(51, dtype=torch.float64)[:, None].repeat(1, 2)
    variances = means + 100
    assert standing_statistics(means, variances, 0.4, 51)[0][0] == 20
    assert standing_statistics(means, variances, 1.0, 51)[0][0] == 50
    # between rows the weights are reversed: 0.515 -> 0.75 * row 25 + 0.25 * row 26
    assert float(standing_statistics(means, variances, 0.515, 51)[0][0]) == pytest.approx(25.25)


def test_psi_slider_noise_selects_the_same_row(model, ctx):
    exact = latent_biggan.sample(model, req(seed=2, psi=0.3), ctx)
    from_slider = latent_biggan.sample(make_model(), req(seed=2, psi=0.1 * 3), ctx)
    from_float32 = latent_biggan.sample(make_model(), req(seed=2, psi=float(np.float32(0.3))), ctx)
    assert 0.1 * 3 != 0.3 and math.modf((0.1 * 3) * 50)[0] != 0  # would blend towards row 16
    assert np.array_equal(exact.image, from_slider.image) and np.array_equal(exact.image, from_float32.image)


@pytest.mark.parametrize("psi", [0.0, -0.5, 1.2, float("nan"), float("inf"), "x"])
def test_psi_outside_zero_one_is_an_input_error(model, ctx, psi):
    with pytest.raises(InputError, match="truncation"):
        latent_biggan.sample(model, req(psi=psi), ctx)


def test_classes_and_class_mixing(model, ctx):
    one = latent_biggan.sample(model, req(seed=4, psi=0.7, class_index=1), ctx)
    three = latent_biggan.sample(model, req(seed=4, psi=0.7, class_index=3), ctx)
    assert diff(one.image, three.image) > 10
    as_vector = latent_biggan.sample(model, req(seed=4, psi=0.7, class_vector=class_mix_vector(5, {1: 2.0})), ctx)
    assert np.array_equal(as_vector.image, one.image)
    mixed = latent_biggan.sample(model, req(seed=4, psi=0.7, class_vector=class_mix_vector(5, {1: 1, 3: 1})), ctx)
    assert diff(mixed.image, one.image) > 0 and diff(mixed.image, three.image) > 0
    # the embedding is linear: a 50/50 mix conditions the generator on the mean embedding
    G = model.networks["G"]
    mean = (G.embeddings.weight[:, 1] + G.embeddings.weight[:, 3]) / 2
    assert torch.allclose(G.embeddings(torch.from_numpy(class_mix_vector(5, {1: 1, 3: 1}))), mean, atol=1e-6)


def test_no_class_means_class_zero_with_a_note(model, ctx):
    default = latent_biggan.sample(model, req(seed=4), ctx)
    zero = latent_biggan.sample(make_model(), req(seed=4, class_index=0), ctx)
    assert np.array_equal(default.image, zero.image)
    assert any("class 0" in note for note in default.notes)


def test_class_mix_vector():
    v = class_mix_vector(5, {0: 1, 4: 3})
    assert v.dtype == np.float32 and v.shape == (5,)
    assert np.allclose(v, [0.25, 0, 0, 0, 0.75]) and v.sum() == pytest.approx(1.0)
    for bad in ({}, {5: 1.0}, {-1: 1.0}, {0: -1.0}, {0: 0.0}, {0: float("nan")}, {True: 1.0}):
        with pytest.raises(InputError):
            class_mix_vector(5, bad)


@pytest.mark.parametrize("kw", [
    {"class_index": 5}, {"class_index": -1}, {"class_index": 1.5},
    {"class_vector": np.ones(4, np.float32)}, {"class_vector": np.full(5, np.nan, np.float32)},
    {"ws": np.zeros((2, 8), np.float32)}, {"ws": np.zeros(9, np.float32)},
    {"seed": -1}, {"seed": 2**32},
    {"noise_mode": "loud"},
])
def test_bad_requests_are_input_errors(model, ctx, kw):
    with pytest.raises(InputError):
        latent_biggan.sample(model, req(**kw), ctx)


@pytest.mark.parametrize("kw,word", [
    ({"mix": (StyleMix(3, 1),)}, "mixing"),
    ({"directions": (LatentDirection(np.ones(8, np.float32), 1.0),)}, "direction"),
    ({"cutoff": 2}, "cutoff"),
])
def test_stylegan_only_features_are_refused(model, ctx, kw, word):
    with pytest.raises(InputError, match=word):
        latent_biggan.sample(model, req(**kw), ctx)


def test_noise_settings_are_ignored_with_a_note(model, ctx):
    plain = latent_biggan.sample(model, req(seed=1), ctx)
    noisy = latent_biggan.sample(make_model(), req(seed=1, noise_mode="random", noise_seed=5), ctx)
    assert np.array_equal(plain.image, noisy.image)
    assert any("noise" in note for note in noisy.notes)


def test_unchanged_request_is_not_rendered_again(model, ctx):
    first = latent_biggan.sample(model, req(seed=9, psi=0.6, class_index=2), ctx)
    again = latent_biggan.sample(model, req(seed=9, psi=0.6, class_index=2), ctx)
    assert first.first_layer == 0 and again.first_layer == 1
    assert np.array_equal(first.image, again.image)
    latent_biggan.clear_cache(model)
    assert latent_biggan.sample(model, req(seed=9, psi=0.6, class_index=2), ctx).first_layer == 0


def test_interpolation_in_z(model, ctx):
    result = latent_biggan.interpolate(model, InterpolationRequest(model=REF, seed_a=1, seed_b=2, steps=4, space="z", psi=0.8, class_index=2), ctx)
    assert len(result.frames) == 4 and result.ws.shape == (4, 1, CONFIG.z_dim)
    a = latent_biggan.sample(model, req(seed=1, psi=0.8, class_index=2), ctx)
    b = latent_biggan.sample(model, req(seed=2, psi=0.8, class_index=2), ctx)
    assert np.allclose(result.ws[0], a.ws, atol=1e-6) and np.allclose(result.ws[-1], b.ws, atol=1e-6)
    assert diff(result.frames[0], a.image) <= 1 and diff(result.frames[-1], b.image) <= 1
    # a frame re-renders from its z
    middle = latent_biggan.sample(model, req(ws=result.ws[1], psi=0.8, class_index=2), ctx)
    assert diff(middle.image, result.frames[1]) <= 1


def test_w_space_and_directions_are_refused(model, ctx):
    with pytest.raises(InputError, match="W"):
        latent_biggan.interpolate(model, InterpolationRequest(model=REF, seed_a=1, seed_b=2, space="w"), ctx)
    with pytest.raises(InputError, match="W"):
        latent_biggan.principal_directions(model, DirectionsRequest(model=REF, count=2, samples=10), ctx)


def test_config_checks():
    with pytest.raises(ValueError, match="output_dim"):
        BigGANConfig(output_dim=32, layers=((False, 4, 4), (True, 4, 2)), channel_width=8, attention_layer_position=9)
    assert CONFIG.capabilities() == ("latent", "truncation", "class_conditional", "class_mixing")
