"""MSRResNet: BasicSR's modified SRResNet (residual blocks without batch norm).

Structure (our own implementation; parameter names follow BasicSR so its files load directly):
``conv_first`` (3x3, then LeakyReLU 0.1); ``body.{i}.conv1/conv2`` residual blocks computing
``x + conv2(relu(conv1(x)))``; up-sampling by sub-pixel convs: for x4 two rounds of
``upconv{1,2}`` (``num_feat*4`` outputs) + pixel shuffle x2 + LeakyReLU 0.1, for x2/x3 one round
of ``upconv1`` (``num_feat*s*s`` outputs) + pixel shuffle s + LeakyReLU; then ``conv_hr``
(+ LeakyReLU) and ``conv_last``. The bilinearly upsampled input is added to the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.1


@dataclass(frozen=True)
class MSRResNetConfig:
    """Args (official BasicSR names):
        num_in_ch / num_out_ch: image channels.
        num_feat: feature channels (64 in the releases).
        num_block: residual blocks (16 in the releases).
        upscale: 2, 3 or 4.
    """

    num_in_ch: int = 3
    num_out_ch: int = 3
    num_feat: int = 64
    num_block: int = 16
    upscale: int = 4

    def __post_init__(self) -> None:
        if self.upscale not in (2, 3, 4):
            raise ValueError(f"MSRResNet supports upscale 2, 3 or 4; got {self.upscale}")

    @property
    def scale(self) -> int:
        return self.upscale

    def capabilities(self) -> tuple[str, ...]:
        return ("upscale",)


class ResidualBlockNoBN(nn.Module):
    """``x + conv2(relu(conv1(x)))``."""

    def __init__(self, num_feat: int):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class MSRResNet(nn.Module):
    """``forward(x)``: ``N x num_in_ch x H x W`` float -> ``N x num_out_ch x H*upscale x W*upscale``."""

    def __init__(self, config: MSRResNetConfig):
        super().__init__()
        self.config = config
        c = config
        self.conv_first = nn.Conv2d(c.num_in_ch, c.num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(ResidualBlockNoBN(c.num_feat) for _ in range(c.num_block)))
        if c.upscale == 4:
            self.shuffle_factors: tuple[int, ...] = (2, 2)
        else:
            self.shuffle_factors = (c.upscale,)
        for i, factor in enumerate(self.shuffle_factors):
            setattr(self, f"upconv{i + 1}", nn.Conv2d(c.num_feat, c.num_feat * factor * factor, 3, 1, 1))
        self.conv_hr = nn.Conv2d(c.num_feat, c.num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(c.num_feat, c.num_out_ch, 3, 1, 1)

    @property
    def scale(self) -> int:
        return self.config.upscale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.body(F.leaky_relu(self.conv_first(x), LRELU_SLOPE))
        for i, factor in enumerate(self.shuffle_factors):
            conv = getattr(self, f"upconv{i + 1}")
            feat = F.leaky_relu(F.pixel_shuffle(conv(feat), factor), LRELU_SLOPE)
        out = self.conv_last(F.leaky_relu(self.conv_hr(feat), LRELU_SLOPE))
        base = F.interpolate(x, scale_factor=self.config.upscale, mode="bilinear", align_corners=False)
        return out + base


CONFIG_CLASS = MSRResNetConfig


def build_networks(config: MSRResNetConfig) -> dict[str, nn.Module]:
    return {"G": MSRResNet(config)}
