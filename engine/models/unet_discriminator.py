"""The U-Net discriminator with spectral norm of Real-ESRGAN (Wang et al., 2021).

Our own implementation; parameter names follow Real-ESRGAN's ``UNetDiscriminatorSN`` so its
``*_netD.pth`` files load directly (spectral norm stored as ``weight_orig``, ``weight_u``,
``weight_v``: the app's one spectral norm, :class:`engine.models.layers.SNConv2d`).

It scores every pixel (a per-pixel realness map, more feedback than one number per image):

* ``conv0``: 3x3 conv to ``num_feat`` (no spectral norm);
* ``conv1..conv3``: 4x4 stride-2 convs widening x2 each (``2, 4, 8 * num_feat``);
* ``conv4..conv6``: bilinear x2 upsampling then a 3x3 conv narrowing back, each added to the
  encoder feature of the same resolution (``skip_connection``);
* ``conv7, conv8``: 3x3 convs; ``conv9``: 3x3 conv to one channel (no spectral norm).

LeakyReLU 0.2 after every conv but the last. Inputs: ``N x num_in_ch x H x W`` with H, W multiples of 8.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.layers import SNConv2d

LRELU_SLOPE = 0.2


@dataclass(frozen=True)
class UNetDiscriminatorConfig:
    """Args: ``num_in_ch`` image channels; ``num_feat`` base width (64 in Real-ESRGAN);
    ``skip_connection``: add encoder features to the decoder's (True in Real-ESRGAN)."""

    num_in_ch: int = 3
    num_feat: int = 64
    skip_connection: bool = True

    @property
    def size_multiple(self) -> int:
        return 8


def _sn_conv(in_ch: int, out_ch: int, kernel: int, stride: int, padding: int) -> nn.Module:
    return SNConv2d(in_ch, out_ch, kernel, stride=stride, padding=padding, bias=False)


class UNetDiscriminatorSN(nn.Module):
    """``forward(x)`` -> ``N x 1 x H x W`` logits."""

    def __init__(self, config: UNetDiscriminatorConfig):
        super().__init__()
        self.config = config
        f = config.num_feat
        self.conv0 = nn.Conv2d(config.num_in_ch, f, 3, 1, 1)
        self.conv1 = _sn_conv(f, f * 2, 4, 2, 1)
        self.conv2 = _sn_conv(f * 2, f * 4, 4, 2, 1)
        self.conv3 = _sn_conv(f * 4, f * 8, 4, 2, 1)
        self.conv4 = _sn_conv(f * 8, f * 4, 3, 1, 1)
        self.conv5 = _sn_conv(f * 4, f * 2, 3, 1, 1)
        self.conv6 = _sn_conv(f * 2, f, 3, 1, 1)
        self.conv7 = _sn_conv(f, f, 3, 1, 1)
        self.conv8 = _sn_conv(f, f, 3, 1, 1)
        self.conv9 = nn.Conv2d(f, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def act(t: torch.Tensor) -> torch.Tensor:
            return F.leaky_relu(t, LRELU_SLOPE)

        def up(t: torch.Tensor) -> torch.Tensor:
            return F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)

        x0 = act(self.conv0(x))
        x1 = act(self.conv1(x0))
        x2 = act(self.conv2(x1))
        x3 = act(self.conv3(x2))
        skip = self.config.skip_connection
        x4 = act(self.conv4(up(x3)))
        x4 = x4 + x2 if skip else x4
        x5 = act(self.conv5(up(x4)))
        x5 = x5 + x1 if skip else x5
        x6 = act(self.conv6(up(x5)))
        x6 = x6 + x0 if skip else x6
        return self.conv9(act(self.conv8(act(self.conv7(x6)))))


CONFIG_CLASS = UNetDiscriminatorConfig


def build_networks(config: UNetDiscriminatorConfig) -> dict[str, nn.Module]:
    return {"D": UNetDiscriminatorSN(config)}
