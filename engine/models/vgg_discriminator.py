"""The VGG-style discriminator of ESRGAN / BasicSR (``VGGStyleDiscriminator``).

Our own implementation; parameter names follow BasicSR so its ``net_d`` files load directly.
``stages = log2(input_size) - 2`` stages (5 for 128 px, 6 for 256 px), stage ``i`` made of

* ``conv{i}_0``: 3x3 conv to ``num_feat * min(2**i, 8)`` (bias only in stage 0, which has no
  batch norm there), ``bn{i}_0`` (stages > 0), LeakyReLU 0.2;
* ``conv{i}_1``: 4x4 stride-2 conv (no bias), ``bn{i}_1``, LeakyReLU 0.2;

then ``linear1`` (``8 * num_feat * 4 * 4 -> 100``), LeakyReLU, ``linear2`` (``100 -> 1``): one
logit per image. Inputs must be exactly ``input_size`` square (ESRGAN trains on 128 px HR crops).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.2


@dataclass(frozen=True)
class VGGDiscriminatorConfig:
    """Args: ``num_in_ch`` image channels, ``num_feat`` base width (64), ``input_size`` the
    square input edge in pixels (a power of two, at least 8)."""

    num_in_ch: int = 3
    num_feat: int = 64
    input_size: int = 128

    def __post_init__(self) -> None:
        if self.input_size < 8 or 2 ** round(math.log2(self.input_size)) != self.input_size:
            raise ValueError(f"input_size must be a power of two of at least 8, not {self.input_size}")

    @property
    def stages(self) -> int:
        return round(math.log2(self.input_size)) - 2


class VGGStyleDiscriminator(nn.Module):
    """``forward(x)``: ``N x num_in_ch x S x S`` (``S = input_size``) -> ``N x 1`` logits."""

    def __init__(self, config: VGGDiscriminatorConfig):
        super().__init__()
        self.config = config
        f = config.num_feat
        previous = config.num_in_ch
        for i in range(config.stages):
            width = f * min(2 ** i, 8)
            setattr(self, f"conv{i}_0", nn.Conv2d(previous, width, 3, 1, 1, bias=i == 0))
            if i:
                setattr(self, f"bn{i}_0", nn.BatchNorm2d(width))
            setattr(self, f"conv{i}_1", nn.Conv2d(width, width, 4, 2, 1, bias=False))
            setattr(self, f"bn{i}_1", nn.BatchNorm2d(width))
            previous = width
        self.linear1 = nn.Linear(previous * 4 * 4, 100)
        self.linear2 = nn.Linear(100, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = self.config.input_size
        if x.shape[-2:] != (size, size):
            raise ValueError(f"the VGG-style discriminator takes {size}x{size} inputs, not {tuple(x.shape[-2:])}")
        for i in range(self.config.stages):
            x = getattr(self, f"conv{i}_0")(x)
            if i:
                x = getattr(self, f"bn{i}_0")(x)
            x = F.leaky_relu(x, LRELU_SLOPE)
            x = F.leaky_relu(getattr(self, f"bn{i}_1")(getattr(self, f"conv{i}_1")(x)), LRELU_SLOPE)
        x = F.leaky_relu(self.linear1(x.flatten(1)), LRELU_SLOPE)
        return self.linear2(x)


CONFIG_CLASS = VGGDiscriminatorConfig


def build_networks(config: VGGDiscriminatorConfig) -> dict[str, nn.Module]:
    return {"D": VGGStyleDiscriminator(config)}
