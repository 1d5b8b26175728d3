"""Paint pipeline (label map -> image) on tiny SPADE models, and the cached fast path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import Cancelled, InputError
from engine.models.loaded import LoadedModel
from engine.models.layers import SNConv2d
from engine.models.spade import SpadeConfig, build_networks
from engine.pipelines.paint_spade import (modulation_cache, render_eager, semantic_codes, semantic_onehot,
                                          synthesize)
from engine.types import ModelRef, SynthesizeRequest
from engine.worker import JobContext

REF = ModelRef("tiny.pth")


def tiny_model(**overrides) -> LoadedModel:
    """A tiny SPADE model with weights scaled so images are not saturated."""
    values = dict(label_nc=6, contain_dontcare_label=True, no_instance=False, ngf=2, crop_size=64)
    values.update(overrides)
    config = SpadeConfig(**values)
    torch.manual_seed(0)
    nets = build_networks(config)
    with torch.no_grad():
        for net in nets.values():
            for m in net.modules():
                if isinstance(m, SNConv2d):
                    for _ in range(10):
                        m.power_iteration()
                elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
                    torch.nn.init.xavier_normal_(m.weight, gain=0.5)
                    torch.nn.init.normal_(m.bias, std=0.05)
                elif isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.3, 0.3)
                    m.running_var.uniform_(0.5, 2.0)
    for net in nets.values():
        net.eval().requires_grad_(False)
    return LoadedModel(path="tiny.pth", family="spade", source_format="test", config=config, networks=nets)


def blobs(config: SpadeConfig, size=(64, 64), seed=0, cell=8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, config.label_nc, size=(size[0] // cell + 1, size[1] // cell + 1))
    return np.kron(coarse, np.ones((cell, cell), dtype=np.int64))[: size[0], : size[1]].astype(np.int32)


def ctx():
    return JobContext.detached()


# ---------------------------------------------------------------------------------------------
# Input checks


def test_renders_uint8_at_model_size_and_is_deterministic():
    model = tiny_model()
    label = blobs(model.config)
    first = synthesize(model, SynthesizeRequest(REF, label, seed=1), ctx())
    assert first.image.shape == (64, 64, 3) and first.image.dtype == np.uint8
    assert first.image.std() > 1  # not a flat image
    assert first.z is None and first.seed == 1
    model.runtime_cache.clear()
    again = synthesize(model, SynthesizeRequest(REF, label, seed=1), ctx())
    np.testing.assert_array_equal(first.image, again.image)


def test_bad_label_values_say_how_many_and_which():
    model = tiny_model()
    label = blobs(model.config)
    label[:2, :3] = 9
    label[5, 5] = -1
    label[6, 6] = 255  # don't care is fine
    with pytest.raises(InputError) as info:
        synthesize(model, SynthesizeRequest(REF, label), ctx())
    message = str(info.value)
    assert "7 pixels" in message and "9" in message and "-1" in message and "0..5" in message


def test_dontcare_is_refused_without_a_dontcare_class():
    model = tiny_model(contain_dontcare_label=False)
    label = blobs(model.config)
    label[0, 0] = 255
    with pytest.raises(InputError, match="1 pixels"):
        synthesize(model, SynthesizeRequest(REF, label), ctx())


@pytest.mark.parametrize("bad", [np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64), np.float32), [[0, 1]]])
def test_label_map_that_is_not_class_ids_is_refused(bad):
    with pytest.raises(InputError):
        synthesize(tiny_model(), SynthesizeRequest(REF, bad), ctx())


def test_wrong_size_is_resized_with_a_note():
    model = tiny_model()
    label = blobs(model.config, size=(32, 48))
    result = synthesize(model, SynthesizeRequest(REF, label), ctx())
    assert result.image.shape == (64, 64, 3)
    assert any("resized" in note for note in result.notes)


def test_other_output_size_when_valid():
    model = tiny_model()
    label = blobs(model.config, size=(64, 96))
    result = synthesize(model, SynthesizeRequest(REF, label, size=(64, 96)), ctx())
    assert result.image.shape == (64, 96, 3)
    assert not any("resized" in note for note in result.notes)
    with pytest.raises(InputError, match="multiples of 32"):
        synthesize(model, SynthesizeRequest(REF, label, size=(64, 90)), ctx())


def test_instance_edges_from_the_label_map_are_noted():
    model = tiny_model()
    label = blobs(model.config)
    without = synthesize(model, SynthesizeRequest(REF, label), ctx())
    assert any("edges were derived" in n for n in without.notes)
    instance = np.zeros_like(label)
    instance[:, 32:] = 1
    with_map = synthesize(model, SynthesizeRequest(REF, label, instance_map=instance), ctx())
    assert not any("edges" in n for n in with_map.notes)
    assert not np.array_equal(without.image, with_map.image)
    onehot = semantic_onehot(label, instance, model.config)[0]
    assert onehot[-1].sum() == 2 * 64  # the two columns on either side of the boundary


def test_style_image_checks_and_encoding():
    model = tiny_model(use_vae=True, no_instance=True, crop_size=128, aspect_ratio=2.0)
    label = blobs(model.config, size=model.config.output_size)
    rng = np.random.default_rng(0)
    style = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    result = synthesize(model, SynthesizeRequest(REF, label, style_image=style, seed=3), ctx())
    assert result.image.shape == (64, 128, 3) and result.z.shape == (256,)
    # z is a posterior sample: mu + eps * std, eps drawn from the seed
    tensor = torch.from_numpy(style).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        mu, logvar = model.networks["E"](tensor)
    eps = torch.randn(1, 256, generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(result.z, (mu + eps * torch.exp(0.5 * logvar))[0].numpy(), atol=1e-5)
    # RGBA: alpha dropped with a note; other channel counts and dtypes refused
    rgba = np.concatenate([style, np.full((40, 50, 1), 255, np.uint8)], axis=2)
    rgba_result = synthesize(model, SynthesizeRequest(REF, label, style_image=rgba, seed=3), ctx())
    np.testing.assert_array_equal(rgba_result.image, result.image)
    assert any("alpha" in n for n in rgba_result.notes)
    for bad in (style[:, :, :2], style.astype(np.float32), np.zeros((40, 50, 5), np.uint8)):
        with pytest.raises(InputError, match="style image"):
            synthesize(model, SynthesizeRequest(REF, label, style_image=bad), ctx())
    # a VAE model renders only at its own size
    with pytest.raises(InputError, match="only at 128x64"):
        synthesize(model, SynthesizeRequest(REF, label, size=(128, 128)), ctx())


def test_random_style_from_seed_and_missing_encoder():
    model = tiny_model(use_vae=True, no_instance=True)
    label = blobs(model.config)
    a = synthesize(model, SynthesizeRequest(REF, label, seed=1), ctx())
    b = synthesize(model, SynthesizeRequest(REF, label, seed=2), ctx())
    assert not np.array_equal(a.image, b.image) and not np.array_equal(a.z, b.z)
    del model.networks["E"]
    with pytest.raises(InputError, match="no style encoder"):
        synthesize(model, SynthesizeRequest(REF, label, style_image=np.zeros((8, 8, 3), np.uint8)), ctx())


def test_cancel_and_progress():
    model = tiny_model()
    events = []
    context = JobContext.detached(progress=events.append)
    synthesize(model, SynthesizeRequest(REF, blobs(model.config)), context)
    assert events[-1].fraction == 1.0 and len(events) > 3
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions)
    context.cancel()
    with pytest.raises(Cancelled):
        synthesize(model, SynthesizeRequest(REF, blobs(model.config)), context)


def test_the_table_sends_paint_requests_by_family_and_refuses_other_families():
    from engine import pipelines
    from engine.pipelines import paint_translate

    assert pipelines.pipeline_for(SynthesizeRequest, "spade") is synthesize
    for family in ("pix2pixhd", "pix2pix_unet", "cyclegan_resnet"):
        assert pipelines.pipeline_for(SynthesizeRequest, family) is paint_translate.synthesize
    model = tiny_model()
    result = pipelines.run(model, SynthesizeRequest(REF, blobs(model.config)), ctx())
    assert result.image.shape[2] == 3
    model.family = "stylegan2"
    with pytest.raises(InputError, match="'stylegan2' model, which does not turn label maps"):
        pipelines.run(model, SynthesizeRequest(REF, blobs(model.config)), ctx())


# ---------------------------------------------------------------------------------------------
# Fast path: cached/incremental modulation equals a full eager forward


@pytest.mark.parametrize("overrides", [
    dict(),  # instance edges, don't care, spectral sync batch
    dict(use_vae=True, no_instance=True, num_upsampling_layers="more", crop_size=128, aspect_ratio=2.0),
    dict(norm_G="spadeinstance5x5", no_instance=True),
    dict(norm_G="spectralspadebatch3x3", num_upsampling_layers="most", crop_size=128),
])
def test_incremental_render_equals_eager(overrides):
    model = tiny_model(**overrides)
    config = model.config
    size = config.output_size
    cache = modulation_cache(model)
    rng = np.random.default_rng(1)
    label = blobs(config, size=size)
    z = torch.randn(1, config.z_dim) if config.use_vae else None

    def check(label, z, expect_full=None):
        codes = torch.from_numpy(semantic_codes(label, None, config)[0])
        fast = cache.render(codes, z, size)
        if expect_full is not None:
            assert cache.last.full_rebuild == expect_full
        eager = render_eager(model, codes, z, size)
        assert (fast - eager).abs().max().item() <= 1e-5
        return cache.last

    check(label, z, expect_full=True)
    for step in range(4):  # random strokes, some at the borders
        h, w = rng.integers(1, 12, size=2)
        y = rng.integers(-4, size[0] - 2)
        x = rng.integers(-4, size[1] - 2)
        label[max(0, y):y + h, max(0, x):x + w] = rng.integers(0, config.label_nc)
        stats = check(label, z, expect_full=False)
        assert stats.recomputed_fraction < 0.6
    if config.use_vae:  # style changes reuse all modulation
        for _ in range(2):
            z = torch.randn(1, config.z_dim)
            assert check(label, z, expect_full=False).recomputed_fraction == 0.0
    check(blobs(config, size=size, seed=5), z, expect_full=False)  # whole new map
    if overrides == {}:  # another output size rebuilds
        check(blobs(config, size=(size[0], size[1] * 2)), z, expect_full=True)


def test_cache_follows_weight_changes():
    model = tiny_model()
    label = blobs(model.config)
    first = synthesize(model, SynthesizeRequest(REF, label), ctx())
    with torch.no_grad():
        model.networks["G"].up_3.norm_1.mlp_gamma.weight.mul_(3.0)
        model.networks["G"].up_3.conv_0.weight_orig.mul_(0.5)
    second = synthesize(model, SynthesizeRequest(REF, label), ctx())
    model.runtime_cache.clear()
    fresh = synthesize(model, SynthesizeRequest(REF, label), ctx())
    np.testing.assert_array_equal(second.image, fresh.image)
    assert not np.array_equal(first.image, second.image)


def test_seed_change_without_style_encoder_returns_the_cached_image():
    """A model without a style encoder has no style input: a new seed gives the same image, taken from
    the cache (no main-path run), and the summary offers no random style (the GUI hides the seed)."""
    model = tiny_model(use_vae=False)
    assert "random_style" not in model.summary().capabilities
    labels = blobs(model.config)
    first = synthesize(model, SynthesizeRequest(REF, labels, seed=0), ctx())
    cache = modulation_cache(model)
    assert not cache.last.reused_output
    second = synthesize(model, SynthesizeRequest(REF, labels, seed=5), ctx())
    assert cache.last.reused_output and second.z is None
    np.testing.assert_array_equal(second.image, first.image)
    codes = torch.from_numpy(semantic_codes(labels, None, model.config, (64, 64))[0])
    eager = render_eager(model, codes, None, (64, 64))
    assert (cache.render(codes, None, (64, 64)) - eager).abs().max().item() < 1e-4
    # a changed map is rendered again, and still equals the plain forward
    labels[:8, :8] = (labels[:8, :8] + 1) % model.config.label_nc
    synthesize(model, SynthesizeRequest(REF, labels, seed=5), ctx())
    assert not cache.last.reused_output


def test_vae_model_reuses_the_image_only_for_the_same_style():
    model = tiny_model(use_vae=True)
    assert "random_style" in model.summary().capabilities
    labels = blobs(model.config)
    a = synthesize(model, SynthesizeRequest(REF, labels, seed=1), ctx())
    b = synthesize(model, SynthesizeRequest(REF, labels, seed=2), ctx())
    assert not modulation_cache(model).last.reused_output
    assert not np.array_equal(a.image, b.image)
    c = synthesize(model, SynthesizeRequest(REF, labels, seed=2), ctx())
    assert modulation_cache(model).last.reused_output
    np.testing.assert_array_equal(c.image, b.image)
