"""One pixel <-> tensor rule for every pipeline (engine.pipelines.images)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import InputError
from engine.pipelines.images import check_image, image_to_tensor, round_pixels, tensor_to_image, tensor_to_pixels


def test_every_uint8_value_survives_the_round_trip():
    values = np.arange(256, dtype=np.uint8)
    image = np.stack([values, values[::-1], values], axis=-1)[None]  # 1 x 256 x 3
    x = image_to_tensor(image)
    assert x.shape == (1, 3, 1, 256) and x.dtype == torch.float32
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    assert np.array_equal(tensor_to_image(x), image)


def test_rounding_is_half_up_and_out_of_range_values_clamp():
    # x = 0 is the one exactly representable tie: 127.5 -> 128 (half up, as StyleGAN's +128 rule)
    x = torch.tensor([0.0, -1.5, 1.5, 100 / 127.5 - 1.0]).reshape(1, 1, 4)
    assert tensor_to_image(x)[0, :, 0].tolist() == [128, 0, 255, 100]
    assert round_pixels(np.array([0.5, 1.5, 2.5, 254.4, -30.0, 300.0])).tolist() == [1, 2, 3, 254, 0, 255]


def test_stylegan_official_rule_is_the_same_rule():
    """The official StyleGAN scripts write ``(x * 127.5 + 128).clamp(0, 255).to(uint8)``."""
    torch.manual_seed(0)
    x = torch.rand(3, 16, 16) * 2.4 - 1.2
    official = (x * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.abs(tensor_to_image(x).astype(int) - official.astype(int)).max() <= 1
    ties_free = (tensor_to_image(x) == official).mean()
    assert ties_free > 0.99


def test_grey_output_becomes_rgb_and_unrounded_pixels_stay_float():
    x = torch.zeros(1, 1, 2, 2)
    assert tensor_to_image(x).shape == (2, 2, 3)
    assert tensor_to_pixels(torch.zeros(3, 2, 2)).dtype == np.float32
    assert np.allclose(tensor_to_pixels(torch.zeros(3, 2, 2)), 127.5)


@pytest.mark.parametrize("image, kwargs, words", [
    (np.zeros((4, 4, 3), np.float32), {}, "uint8"),
    (np.zeros((4, 4), np.uint8), {}, "HxWx3"),
    (np.zeros((0, 4, 3), np.uint8), {}, "empty"),
    (np.zeros((4, 4, 2), np.uint16), {"dtypes": (np.uint8, np.uint16), "gray": True}, "HxW \\(gray\\)"),
])
def test_image_checks_say_what_is_wrong(image, kwargs, words):
    with pytest.raises(InputError, match=words):
        check_image(image, "upscale", **kwargs)


def test_image_checks_squeeze_a_single_channel_when_gray_is_allowed():
    assert check_image(np.zeros((4, 4, 1), np.uint16), "upscale", dtypes=(np.uint16,), gray=True).shape == (4, 4)
