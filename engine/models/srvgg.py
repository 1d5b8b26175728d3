"""SRVGGNetCompact: Real-ESRGAN's compact VGG-style super-resolution network
(realesr-animevideov3, realesr-general-x4v3).

Structure (our own implementation; parameter names follow Real-ESRGAN so its files load directly):
``body`` is one flat sequence whose even indices are 3x3 convs and odd indices activations:
``body.0`` conv from the input channels to ``num_feat``, ``body.1`` its activation, then
``num_conv`` pairs (conv ``num_feat -> num_feat``, activation) at ``body.2 .. body.{2*num_conv+1}``,
and the last conv ``body.{2*num_conv+2}`` producing ``num_out_ch * upscale**2`` channels that a
pixel shuffle turns into the high-resolution residual. The input, upsampled by nearest
neighbour, is added to it. All work happens at low resolution, so it is fast.

Activations: PReLU with one slope per feature channel (stored as ``body.{odd}.weight``), ReLU, or
LeakyReLU with slope 0.1 (these last two store nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

ACT_TYPES = ("prelu", "relu", "leakyrelu")


@dataclass(frozen=True)
class SRVGGConfig:
    """Args (official Real-ESRGAN names):
        num_in_ch / num_out_ch: image channels (equal: the input is added to the output).
        num_feat: feature channels (64 in the releases).
        num_conv: number of body convs between the first and the last (16 or 32 in the releases).
        upscale: the scale factor.
        act_type: "prelu" (all releases), "relu" or "leakyrelu".
    """

    num_in_ch: int = 3
    num_out_ch: int = 3
    num_feat: int = 64
    num_conv: int = 16
    upscale: int = 4
    act_type: str = "prelu"

    def __post_init__(self) -> None:
        if self.act_type not in ACT_TYPES:
            raise ValueError(f"act_type must be one of {', '.join(ACT_TYPES)}; got {self.act_type!r}")
        if self.upscale < 1:
            raise ValueError(f"upscale must be >= 1; got {self.upscale}")

    @property
    def scale(self) -> int:
        return self.upscale

    def capabilities(self) -> tuple[str, ...]:
        return ("upscale",)


def _activation(act_type: str, num_feat: int) -> nn.Module:
    if act_type == "prelu":
        return nn.PReLU(num_parameters=num_feat)
    if act_type == "relu":
        return nn.ReLU()
    return nn.LeakyReLU(negative_slope=0.1)


class SRVGGNetCompact(nn.Module):
    """``forward(x)``: ``N x num_in_ch x H x W`` float -> ``N x num_out_ch x H*upscale x W*upscale``."""

    def __init__(self, config: SRVGGConfig):
        super().__init__()
        self.config = config
        c = config
        layers: list[nn.Module] = [nn.Conv2d(c.num_in_ch, c.num_feat, 3, 1, 1), _activation(c.act_type, c.num_feat)]
        for _ in range(c.num_conv):
            layers += [nn.Conv2d(c.num_feat, c.num_feat, 3, 1, 1), _activation(c.act_type, c.num_feat)]
        layers.append(nn.Conv2d(c.num_feat, c.num_out_ch * c.upscale**2, 3, 1, 1))
        self.body = nn.Sequential(*layers)

    @property
    def scale(self) -> int:
        return self.config.upscale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.pixel_shuffle(self.body(x), self.config.upscale)
        return out + F.interpolate(x, scale_factor=self.config.upscale, mode="nearest")


CONFIG_CLASS = SRVGGConfig


def build_networks(config: SRVGGConfig) -> dict[str, nn.Module]:
    return {"G": SRVGGNetCompact(config)}
