"""The Paint translate pipeline (pix2pixHD, pix2pix U-Net, CycleGAN ResNet) on tiny random models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import Cancelled, InputError
from engine.models.loaded import LoadedModel
from engine.models import cyclegan, pix2pix, pix2pixhd
from engine.pipelines.images import image_to_tensor
from engine.pipelines.paint_translate import sample_instance_features, synthesize, valid_size
from engine.types import ModelRef, SynthesizeRequest
from engine.worker import JobContext


def _model(family: str, module, config) -> LoadedModel:
    torch.manual_seed(0)
    networks = module.build_networks(config)
    for net in networks.values():
        net.eval()
    return LoadedModel(path="tiny", family=family, source_format="test", config=config, networks=networks)


def _hd(**overrides) -> LoadedModel:
    values = dict(netG="global", label_nc=4, ngf=4, n_downsample_global=2, n_blocks_global=1, norm="instance",
                  instance_feat=True, feat_num=3, nef=4, n_downsample_E=2)
    values.update(overrides)
    return _model("pix2pixhd", pix2pixhd, pix2pixhd.Pix2PixHDConfig(**values))


def _labels(h=32, w=32) -> np.ndarray:
    labels = np.zeros((h, w), np.int32)
    labels[:, w // 2:] = 1
    labels[h // 2:, : w // 4] = 3
    return labels


def _request(label_map, **kwargs) -> SynthesizeRequest:
    return SynthesizeRequest(model=ModelRef("tiny"), label_map=label_map, **kwargs)


def _run(model, request, **ctx_kwargs):
    return synthesize(model, request, JobContext.detached(**ctx_kwargs))


def test_pix2pixhd_renders_rgb_at_the_label_map_size_and_reports_progress():
    events = []
    result = _run(_hd(), _request(_labels()), progress=events.append)
    assert result.image.shape == (32, 32, 3) and result.image.dtype == np.uint8
    assert result.image.std() > 0
    fractions = [e.fraction for e in events]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_pix2pixhd_sampled_features_follow_the_seed():
    model = _hd()
    a = _run(model, _request(_labels(), seed=1)).image
    assert np.array_equal(a, _run(model, _request(_labels(), seed=1)).image)
    assert not np.array_equal(a, _run(model, _request(_labels(), seed=2)).image)
    assert any("seed 1" in note for note in _run(model, _request(_labels(), seed=1)).notes)


def test_sampled_feature_of_an_instance_does_not_depend_on_the_others():
    ids = np.array([[5, 5, 7], [9, 9, 7]])
    other = np.array([[5, 5, 2], [2, 2, 2]])
    a, b = sample_instance_features(ids, 3, seed=4), sample_instance_features(other, 3, seed=4)
    assert np.array_equal(a[:, 0, 0], b[:, 0, 0])  # id 5 keeps its vector
    assert not np.array_equal(a[:, 0, 0], a[:, 0, 2])
    assert np.abs(a).max() <= 1.0


def test_pix2pixhd_style_image_is_encoded_per_instance():
    model = _hd()
    rng = np.random.default_rng(0)
    style_a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    style_b = 255 - style_a
    a = _run(model, _request(_labels(), style_image=style_a))
    b = _run(model, _request(_labels(), style_image=style_b))
    assert any("encoded" in note for note in a.notes)
    assert not np.array_equal(a.image, b.image)
    # a style image of another size is resized to the label map
    c = _run(model, _request(_labels(), style_image=style_a[:20, :24]))
    assert c.image.shape == (32, 32, 3)


def test_pix2pixhd_without_instance_map_uses_class_boundaries():
    model = _hd()
    labels = _labels()
    assert np.array_equal(_run(model, _request(labels)).image, _run(model, _request(labels, instance_map=labels.copy())).image)
    instances = labels * 1000
    instances[:5, :5] = 42  # an extra instance changes edges and features
    assert not np.array_equal(_run(model, _request(labels)).image, _run(model, _request(labels, instance_map=instances)).image)


def test_labels_out_of_range_say_how_many_pixels_and_which_values():
    labels = _labels()
    labels[0, :3] = 9
    labels[1, 0] = -1
    with pytest.raises(InputError) as info:
        _run(_hd(), _request(labels))
    message = str(info.value)
    assert "4 pixels" in message and "9 (3 px)" in message and "-1 (1 px)" in message and "0..3" in message


def test_invalid_size_is_resized_with_a_note():
    model = _hd(netG="local", ngf=2, n_local_enhancers=1, n_blocks_local=1, instance_feat=False)
    result = _run(model, _request(_labels(30, 45)))
    assert result.image.shape == (30, 45, 3)
    assert any("resized" in note and "multiples of 8" in note for note in result.notes)
    sized = _run(model, _request(_labels(30, 45), size=(64, 48)))
    assert sized.image.shape == (64, 48, 3)


def test_cancelled_job_stops():
    ctx = JobContext.detached()
    ctx.cancel()
    with pytest.raises(Cancelled):
        synthesize(_hd(), _request(_labels()), ctx)


def test_pix2pix_unet_translates_an_image():
    model = _model("pix2pix_unet", pix2pix, pix2pix.Pix2PixUnetConfig(ngf=2, num_downs=5))
    image = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    result = _run(model, _request(image))
    assert result.image.shape == (40, 50, 3)
    assert any("multiples of 32" in note for note in result.notes)
    exact = np.random.default_rng(3).integers(0, 256, (32, 64, 3), dtype=np.uint8)
    out = _run(model, _request(exact)).image
    with torch.no_grad():
        expected = model.networks["G"](image_to_tensor(exact, torch.device("cpu")))
    expected = ((expected[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    assert np.array_equal(out, expected)


def test_cyclegan_uses_the_primary_direction_and_gray_models_take_rgb():
    config = cyclegan.CycleGANResnetConfig(input_nc=1, output_nc=3, ngf=2, n_blocks=1, networks=("G_A", "G_B"),
                                           primary_network="G_A")
    model = _model("cyclegan_resnet", cyclegan, config)
    rgb = np.random.default_rng(2).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    a = _run(model, _request(rgb))
    assert a.image.shape == (16, 24, 3) and any("G_A" in n for n in a.notes)
    model.config = cyclegan.CycleGANResnetConfig(input_nc=1, output_nc=3, ngf=2, n_blocks=1,
                                                 networks=("G_A", "G_B"), primary_network="G_B")
    b = _run(model, _request(rgb))
    assert b.image.shape == (16, 24, 3)
    assert np.array_equal(b.image[..., 0], b.image[..., 1])  # G_B makes 1-channel (gray) images


def test_unknown_family_and_bad_images_are_input_errors():
    model = _model("pix2pix_unet", pix2pix, pix2pix.Pix2PixUnetConfig(ngf=2, num_downs=5))
    with pytest.raises(InputError, match="uint8"):
        _run(model, _request(np.zeros((32, 32, 3), np.float32)))
    other = LoadedModel(path="x", family="stylegan2", source_format="test", config=None, networks={})
    with pytest.raises(InputError, match="stylegan2"):
        _run(other, _request(np.zeros((32, 32, 3), np.uint8)))


def test_valid_size():
    assert valid_size(30, 45, 8, 16) == (32, 48)
    assert valid_size(3, 500, 32, 32) == (32, 512)
