"""The context encoder: architecture (channel-wise bottleneck, variants, mask channel), our
safetensors round trip, and a real (tiny) training run whose masked reconstruction loss falls."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.imageio import write_png
from engine.loaders import load_model, native
from engine.models.loaded import LoadedModel
from engine.models import FAMILIES, family_module
from engine.models.context_encoder import (
    ChannelWiseFC,
    ContextEncoderConfig,
    build_networks,
    composite,
    prepare_input,
)
from engine.training import context_encoder as trainer


def tiny(variant: str = "full", **overrides) -> ContextEncoderConfig:
    values = dict(resolution=32, variant=variant, base_width=8, max_width=32, overlap=2, disc_base_width=8)
    values.update(overrides)
    return ContextEncoderConfig(**values)


def synthetic_images(count: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients and stripes: easy to predict from context, unlike noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    images = []
    for _ in range(count):
        a, b, c = rng.uniform(-1, 1, 3)
        freq, phase = rng.uniform(1, 3), rng.uniform(0, np.pi)
        stripes = np.sin(2 * np.pi * freq * (xx * np.cos(phase) + yy * np.sin(phase)))
        planes = np.stack([a * xx + b * yy, stripes, c * (xx - yy)], axis=-1)
        planes = (planes - planes.min()) / (np.ptp(planes) + 1e-6)
        images.append((planes * 255).astype(np.uint8))
    return np.stack(images)


@pytest.mark.parametrize("resolution, size", [(32, 4), (64, 4), (64, 2), (128, 4)])
def test_channel_wise_fc_has_m_times_n4_parameters(resolution, size):
    config = ContextEncoderConfig(resolution=resolution, bottleneck_size=size, base_width=8, max_width=64)
    generator = build_networks(config)["G"]
    m, n = config.bottleneck_channels, config.bottleneck_size
    layer = generator.bottleneck.channel_fc
    assert sum(p.numel() for p in layer.parameters()) == m * n**4
    assert m * n**4 < m * m * n**4  # what a fully connected layer would cost


def test_channel_wise_fc_keeps_channels_apart_and_connects_all_positions():
    torch.manual_seed(0)
    layer = ChannelWiseFC(channels=3, size=4)
    x = torch.randn(1, 3, 4, 4)
    bumped = x.clone()
    bumped[0, 1, 0, 0] += 1.0  # one position of channel 1
    change = (layer(bumped) - layer(x)).abs()[0]
    assert change[0].max() == 0 and change[2].max() == 0  # other channels untouched
    assert (change[1] > 0).all()  # every position of channel 1 sees it


@pytest.mark.parametrize("variant", ["full", "center"])
@pytest.mark.parametrize("mask_channel", [True, False])
def test_generator_and_discriminator_shapes(variant, mask_channel):
    config = tiny(variant, mask_channel=mask_channel)
    nets = build_networks(config)
    assert config.in_channels == (4 if mask_channel else 3)
    window = torch.rand(2, 3, 32, 32) * 2 - 1
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 12:20, 12:20] = 1
    out = nets["G"](prepare_input(config, window, mask))
    expected = 32 if variant == "full" else 16
    assert out.shape == (2, 3, expected, expected)
    assert out.abs().max() <= 1
    assert nets["D"](out).shape == (2,)
    filled = composite(config, window, mask, out)
    assert torch.equal(filled[mask.expand_as(filled) == 0], window[mask.expand_as(window) == 0])
    assert config.capabilities() == ("inpaint",)


def test_input_hides_the_hole():
    config = tiny()
    window = torch.rand(1, 3, 32, 32)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 5:9, 5:9] = 1
    x = prepare_input(config, window, mask)
    assert x.shape[1] == 4 and torch.equal(x[:, 3:], mask)
    assert x[:, :3, 5:9, 5:9].abs().max() == 0


@pytest.mark.parametrize("bad", [dict(variant="middle"), dict(resolution=48), dict(bottleneck_size=16),
                                 dict(variant="center", overlap=8)])
def test_bad_configs_are_refused(bad):
    with pytest.raises(ValueError):
        tiny(**bad)


def test_registered_and_round_trips_through_our_format(tmp_path):
    assert FAMILIES["context_encoder"] == "engine.models.context_encoder"
    assert family_module("context_encoder").CONFIG_CLASS is ContextEncoderConfig
    torch.manual_seed(0)
    config = tiny("center", mask_channel=False)
    nets = build_networks(config)
    for net in nets.values():
        net.eval()
    model = LoadedModel(path="mem", family="context_encoder", source_format="test", config=config, networks=nets)
    path = native.save(model, tmp_path / "ce.safetensors", training_recipe={"steps": 0})
    loaded = load_model(path)
    assert loaded.family == "context_encoder" and loaded.config == config
    assert loaded.summary().capabilities == ("inpaint",)
    assert loaded.metadata["training_recipe"] == {"steps": 0}
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(loaded.networks["G"](x), nets["G"](x))


def test_random_masks_stay_where_the_model_can_fill():
    rng = np.random.default_rng(0)
    for variant in ("full", "center"):
        config = tiny(variant)
        start, stop = config.fill_box
        for kind in trainer.MASK_KINDS:
            for _ in range(10):
                mask = trainer.random_mask(config, kind, rng)
                assert mask.any()
                ys, xs = np.nonzero(mask)
                assert ys.min() >= start and xs.min() >= start and ys.max() < stop and xs.max() < stop


@pytest.fixture
def one_thread():
    """Tiny networks train fastest on one thread (more threads only fight the other processes)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_training_lowers_the_masked_reconstruction_loss(tmp_path, one_thread):
    images = synthetic_images(16, 40)
    config = tiny("center")
    settings = trainer.TrainSettings(steps=25, batch_size=8, lr=2e-3, seed=0)
    seen = []
    model, report = trainer.train(config, images, settings, tmp_path / "ce.safetensors", on_step=seen.append)
    losses = [step.masked_l2 for step in report.history]
    assert len(losses) == 25 and len(seen) == 25
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < 0.75 * first, (first, last)
    loaded = load_model(tmp_path / "ce.safetensors")
    recipe = loaded.metadata["training_recipe"]
    assert loaded.family == "context_encoder" and loaded.config == config
    assert recipe["settings"]["lambda_rec"] == 0.999 and recipe["settings"]["lambda_adv"] == 0.001
    assert recipe["steps_done"] == 25
    assert not loaded.networks["G"].training


def test_training_stops_when_asked_and_full_variant_trains(one_thread):
    images = synthetic_images(4, 32, seed=1)
    calls = []
    _, report = trainer.train(tiny("full"), images, trainer.TrainSettings(steps=50, batch_size=2, seed=0),
                              should_stop=lambda: len(calls) >= 3, on_step=calls.append)
    assert report.stopped_early and len(report.history) == 3
    assert all(np.isfinite(step.loss_rec) and np.isfinite(step.loss_d) for step in report.history)


def test_training_command_line_reads_a_folder(tmp_path, capsys, one_thread):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i, image in enumerate(synthetic_images(3, 24, seed=2)):  # smaller than the window: scaled up
        write_png(folder / f"{i}.png", image)
    (folder / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "model.safetensors"
    code = trainer.main(["--images", str(folder), "--out", str(out), "--steps", "2", "--batch-size", "2",
                         "--resolution", "32", "--base-width", "8", "--max-width", "16", "--log-every", "1"])
    assert code == 0
    assert "step 2/2" in capsys.readouterr().out
    assert load_model(out).metadata["training_recipe"]["images"] == 3

    assert trainer.main(["--images", str(tmp_path / "nowhere"), "--out", str(out), "--steps", "1"]) == 1
    assert "not a folder" in capsys.readouterr().err
