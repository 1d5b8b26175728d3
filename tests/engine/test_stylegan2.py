"""The StyleGAN2 architecture on tiny configs: segments, noise, truncation, config round trip."""

from __future__ import annotations

import pytest
import torch

from engine.models.loaded import config_from_dict, config_to_dict
from engine.models import family_module
from engine.models.stylegan2 import (
    StyleGAN2Config,
    upfirdn2d,
    make_filter,
    modulated_conv2d,
    widths_from_channel_rule,
)
from tests.helpers import tiny_generator


def test_widths_rule_matches_official_1024():
    assert widths_from_channel_rule(1024, 32768, 512) == (512, 512, 512, 512, 512, 256, 128, 64, 32)
    cfg = StyleGAN2Config()
    assert cfg.num_ws == 18 and cfg.num_conv_layers == 17 and cfg.widths[-1] == 32


def test_config_validation_and_json_round_trip():
    with pytest.raises(ValueError):
        StyleGAN2Config(img_resolution=48)
    with pytest.raises(ValueError):
        StyleGAN2Config(img_resolution=32, channels=(8, 8))
    cfg = StyleGAN2Config(img_resolution=32, channels=(16, 16, 8, 8), conv_clamp=256.0, c_dim=3)
    assert config_from_dict(StyleGAN2Config, config_to_dict(cfg)) == cfg
    assert cfg.capabilities() == ("latent", "truncation", "style_mixing", "class_conditional")
    assert family_module("stylegan2").CONFIG_CLASS is StyleGAN2Config


def test_image_shape_and_forward_equals_mapping_plus_synthesis():
    G = tiny_generator()
    z = torch.randn(2, 16)
    with torch.no_grad():
        img = G(z, None, 0.7, 2)
        ws = G.mapping(z, None, 0.7, 2)
        assert img.shape == (2, 3, 32, 32)
        assert torch.equal(img, G.synthesis(ws))


@pytest.mark.parametrize("start", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("noise_mode", ["const", "none"])
def test_cached_partial_render_equals_full_render(start, noise_mode):
    G = tiny_generator(conv_clamp=0.8)
    ws = G.mapping(torch.randn(1, 16), None)
    with torch.no_grad():
        _, states = G.synthesis.forward_from(0, None, ws, noise_mode, keep=range(G.num_ws))
        changed = ws.clone()
        changed[:, start:] += torch.randn_like(changed[:, start:])
        partial, _ = G.synthesis.forward_from(start, states[start], changed, noise_mode)
        full = G.synthesis(changed, noise_mode)
    assert (partial - full).abs().max() <= 1e-5
    # and the change really reached the image
    assert (full - G.synthesis(ws, noise_mode)).abs().max() > 1e-3


def test_segment_start_needs_state_and_valid_index():
    G = tiny_generator()
    ws = G.mapping(torch.randn(1, 16), None)
    with pytest.raises(ValueError):
        G.synthesis.forward_from(3, None, ws)
    with pytest.raises(ValueError):
        G.synthesis.forward_from(G.num_ws, None, ws)


def test_noise_modes_and_per_layer_strength():
    G = tiny_generator()
    ws = G.mapping(torch.randn(1, 16), None)
    with torch.no_grad():
        const = G.synthesis(ws, "const")
        none = G.synthesis(ws, "none")
        assert (const - none).abs().max() > 1e-3
        zero_gain = G.synthesis(ws, "const", noise_gains=[0.0] * G.synthesis.num_ws)
        assert torch.equal(zero_gain, none)
        maps = G.synthesis.make_noise("random", seed=5)
        a = G.synthesis(ws, "random", noise=maps)
        b = G.synthesis(ws, "random", noise=G.synthesis.make_noise("random", seed=5))
        assert torch.equal(a, b) and (a - const).abs().max() > 1e-3
        # only the last layer's noise changes -> only the last step differs
        gains = [1.0] * (G.num_ws - 1)
        gains[-1] = 3.0
        _, states = G.synthesis.forward_from(0, None, ws, "const", keep=range(G.num_ws))
        last = G.num_ws - 2
        partial, _ = G.synthesis.forward_from(last, states[last], ws, "const", noise_gains=gains)
        assert (partial - G.synthesis(ws, "const", noise_gains=gains)).abs().max() <= 1e-5


def test_truncation():
    G = tiny_generator()
    z = torch.randn(3, 16)
    with torch.no_grad():
        ws = G.mapping(z, None)
        assert torch.equal(G.mapping(z, None, 1.0), ws)
        zero = G.mapping(z, None, 0.0)
        assert torch.allclose(zero, G.mapping.w_avg.expand_as(zero))
        cut = G.mapping(z, None, 0.5, 3)
        assert torch.equal(cut[:, 3:], ws[:, 3:])
        assert torch.allclose(cut[:, :3], G.mapping.w_avg + 0.5 * (ws[:, :3] - G.mapping.w_avg))


def test_class_conditional_mapping_depends_on_class():
    G = tiny_generator(c_dim=4)
    z = torch.randn(1, 16).repeat(2, 1)
    c = torch.eye(4)[:2]
    ws = G.mapping(z, c)
    assert (ws[0] - ws[1]).abs().max() > 1e-3
    with pytest.raises(ValueError):
        G.mapping(z, None)


def test_upfirdn2d_upsampling_keeps_a_constant_image_constant():
    x = torch.ones(1, 2, 6, 6)
    f = make_filter((1, 3, 3, 1))
    up = upfirdn2d(x, f, up=2, pad=(2, 1, 2, 1), gain=4)
    assert up.shape == (1, 2, 12, 12)
    assert torch.allclose(up[:, :, 2:-2, 2:-2], torch.ones(1, 2, 8, 8))


@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("demodulate", [True, False])
def test_fused_and_unfused_modulated_conv_agree(up, demodulate):
    torch.manual_seed(1)
    x, weight, styles = torch.randn(2, 8, 8, 8), torch.randn(6, 8, 3, 3), torch.randn(2, 8)
    f = make_filter((1, 3, 3, 1))
    fused = modulated_conv2d(x, weight, styles, demodulate, up, f, fused=True)
    unfused = modulated_conv2d(x, weight, styles, demodulate, up, f, fused=False)
    assert fused.shape == (2, 6, 8 * up, 8 * up)
    assert (fused - unfused).abs().max() <= 1e-4
    # batch items are modulated independently
    single = modulated_conv2d(x[1:], weight, styles[1:], demodulate, up, f)
    assert (single - fused[1:]).abs().max() <= 1e-5
