"""SPADE architecture and the official-checkpoint loader on tiny synthetic configs."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from engine.errors import CheckpointError, MissingOptionError
from engine.loaders import load_model
from engine.models.layers import SNConv2d
from engine.models.spade import SpadeConfig, build_networks, parse_norm_G

TINY = dict(label_nc=5, ngf=2, crop_size=64)


def _save(tmp_path, config: SpadeConfig, with_encoder: bool = True):
    torch.manual_seed(0)
    nets = build_networks(config)
    path = tmp_path / "latest_net_G.pth"
    torch.save(nets["G"].state_dict(), path)
    if "E" in nets and with_encoder:
        torch.save(nets["E"].state_dict(), tmp_path / "latest_net_E.pth")
    return path, nets


def test_spectral_conv_matches_torch_spectral_norm_in_eval():
    torch.manual_seed(0)
    ref = torch.nn.utils.spectral_norm(torch.nn.Conv2d(4, 6, 3, padding=1))
    ref.train()
    for _ in range(3):
        ref(torch.randn(1, 4, 8, 8))  # move u and v away from their initial values
    ref.eval()
    ours = SNConv2d(4, 6, 3, padding=1)
    ours.load_state_dict(ref.state_dict(), strict=True)
    ours.eval()
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), atol=1e-6, rtol=1e-5)
    # the cached weight follows in-place changes of the state
    with torch.no_grad():
        ours.weight_orig.mul_(2.0)
        ref.weight_orig.mul_(2.0)
        torch.testing.assert_close(ours(x), ref(x), atol=1e-6, rtol=1e-5)


def test_spectral_conv_power_iteration_in_training():
    conv = SNConv2d(3, 4, 3, padding=1)
    u = conv.weight_u.clone()
    conv.train()
    conv(torch.randn(1, 3, 5, 5)).sum().backward()
    assert not torch.equal(u, conv.weight_u)
    assert conv.weight_orig.grad is not None


def test_state_dict_uses_the_official_key_layout():
    config = SpadeConfig(**{**TINY, "crop_size": 256}, use_vae=True, num_upsampling_layers="most")
    nets = build_networks(config)
    keys = set(nets["G"].state_dict())
    assert {"fc.weight", "up_4.conv_s.weight_orig", "head_0.norm_0.mlp_shared.0.weight",
            "up_0.norm_s.param_free_norm.running_mean", "conv_img.bias"} <= keys
    assert "up_0.conv_s.bias" not in keys and "head_0.conv_s.weight_orig" not in keys
    assert {"layer6.0.weight_orig", "fc_mu.weight"} <= set(nets["E"].state_dict())
    assert config.capabilities() == ("label_map", "style_image", "random_style", "instance_map")


def test_config_validation():
    assert parse_norm_G("spadeinstance5x5") == (False, "instance", 5)
    for bad in ("spectralinstance", "spadebatch3x5", "spadebatch4x4"):
        with pytest.raises(ValueError):
            parse_norm_G(bad)
    with pytest.raises(ValueError, match="num_upsampling_layers"):
        SpadeConfig(num_upsampling_layers="lots")
    with pytest.raises(ValueError, match="too small"):
        SpadeConfig(crop_size=16)


@pytest.mark.parametrize("variant", [
    dict(norm_G="spadebatch3x3", num_upsampling_layers="more"),
    dict(norm_G="spectralspadeinstance5x5", no_instance=True),
    dict(norm_G="spectralspadesyncbatch3x3", use_vae=True, crop_size=128, aspect_ratio=2.0, norm_E="spectralbatch"),
    dict(norm_G="spectralspadebatch3x3", num_upsampling_layers="most", crop_size=128, contain_dontcare_label=True),
])
def test_loader_recovers_the_architecture(tmp_path, variant):
    config = SpadeConfig(**{**TINY, **variant})
    path, nets = _save(tmp_path, config)
    # only what the weights cannot tell is passed
    options = {"label_nc": config.label_nc, "contain_dontcare_label": config.contain_dontcare_label,
               "no_instance": config.no_instance, "crop_size": config.crop_size,
               "aspect_ratio": config.aspect_ratio}
    if config.num_upsampling_layers == "more":
        options["num_upsampling_layers"] = "more"
    if "batch" in variant["norm_G"] and "sync" not in variant["norm_G"]:
        options["norm_G"] = variant["norm_G"]
    if "norm_E" in variant:
        options["norm_E"] = variant["norm_E"]
    model = load_model(path, options)
    assert model.config == config
    seg = torch.zeros(1, config.semantic_nc, 8, 8)
    seg[:, 0] = 1
    z = torch.randn(1, config.z_dim) if config.use_vae else None
    with torch.inference_mode():
        expected = nets["G"].eval()(seg, z)
        assert torch.allclose(model.networks["G"](seg, z), expected, atol=1e-6)


def test_label_layout_rules(tmp_path):
    config = SpadeConfig(**TINY)  # 5 labels + instance edge = 6 channels
    path, _ = _save(tmp_path, config)
    model = load_model(path, {"label_nc": 5, "crop_size": 64})
    assert (model.config.contain_dontcare_label, model.config.no_instance) == (False, False)
    assert any("instance-edge" in n for n in model.notes)
    model = load_model(path, {"label_nc": 5, "contain_dontcare_label": True, "crop_size": 64})
    assert model.config.no_instance is True
    model = load_model(path, {"label_nc": 6, "crop_size": 64})
    assert (model.config.contain_dontcare_label, model.config.no_instance) == (False, True)
    model = load_model(path, {"contain_dontcare_label": False, "no_instance": False, "crop_size": 64})
    assert model.config.label_nc == 5
    with pytest.raises(MissingOptionError) as info:
        load_model(path, {"crop_size": 64})
    assert info.value.option == "label_nc"
    with pytest.raises(CheckpointError, match="add up"):
        load_model(path, {"label_nc": 5, "contain_dontcare_label": True, "no_instance": False, "crop_size": 64})
    with pytest.raises(CheckpointError, match="norm_G"):
        load_model(path, {"label_nc": 5, "norm_G": "spadeinstance3x3"})


def test_released_layout_is_assumed_with_a_note(tmp_path):
    config = SpadeConfig(label_nc=150, contain_dontcare_label=True, no_instance=True, ngf=1, crop_size=64)
    path, _ = _save(tmp_path, config)
    model = load_model(path, {})
    assert dataclasses.replace(model.config, crop_size=64) == config
    assert any("ADE20K" in n for n in model.notes)


def test_vae_size_is_asked_for_when_ambiguous(tmp_path):
    config = SpadeConfig(**{**TINY, "crop_size": 256, "aspect_ratio": 4.0}, use_vae=True, num_upsampling_layers="more")
    path, _ = _save(tmp_path, config, with_encoder=False)
    with pytest.raises(MissingOptionError) as info:
        load_model(path, {"label_nc": 5, "no_instance": False})
    assert info.value.option == "crop_size"
    # crop_size alone fixes the rest: 16*ngf*sh*sw outputs of fc leave only 'more' with a 1x4 grid
    model = load_model(path, {"label_nc": 5, "no_instance": False, "crop_size": 256})
    assert model.config == config and any("num_upsampling_layers" not in n and "aspect_ratio=4" in n
                                          for n in model.notes)
    model = load_model(path, {"label_nc": 5, "no_instance": False, "crop_size": 256, "aspect_ratio": 4.0})
    assert model.config == config
    assert "E" not in model.networks and any("random styles" in n for n in model.notes)
