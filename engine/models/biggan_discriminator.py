"""BigGAN's class-conditional projection discriminator (Brock et al. 2019; Miyato & Koyama 2018).

Every layer is spectral-normalised (:mod:`engine.models.layers`). Written from the papers.

Shapes: ``image`` ``[N, 3, R, R]`` in [-1, 1], ``class_index`` ``[N]`` int64 -> logits ``[N, 1]``
(``linear(h) + <embed(y), h>`` with ``h`` the ReLU'd features summed over positions).

Blocks (``blocks.0 ..``): residual down-sampling blocks from R to 4 px, then one block at 4 px
without down-sampling. Block ``k`` widens to ``channel_width * min(16, 2**k)``. A block is
``[ReLU] conv3x3, ReLU, conv3x3, avgpool2`` plus a shortcut ``conv1x1`` + avgpool (the first
block has no leading ReLU and pools before its shortcut conv, as BigGAN does). A self-attention
layer (:class:`engine.models.biggan.SelfAttention`) follows the block whose output has
``attention_resolution`` px (0: none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.biggan import SelfAttention
from engine.models.layers import SNConv2d, SNEmbedding, SNLinear


@dataclass(frozen=True)
class BigGANDiscriminatorConfig:
    """Args:
        resolution: input side in pixels (a power of two >= 8).
        channel_width: base width ``ch``.
        num_classes: classes of the projection embedding.
        attention_resolution: side (px) of the feature map the self-attention layer sees; 0 for none.
    """

    resolution: int = 128
    channel_width: int = 64
    num_classes: int = 1000
    attention_resolution: int = 64

    def __post_init__(self) -> None:
        log2 = math.log2(self.resolution) if self.resolution > 0 else -1
        if self.resolution < 8 or log2 != int(log2):
            raise ValueError(f"the discriminator's resolution must be a power of two >= 8, got {self.resolution}")
        if self.num_classes < 1 or self.channel_width < 1:
            raise ValueError("num_classes and channel_width must be at least 1")

    @property
    def down_blocks(self) -> int:
        return round(math.log2(self.resolution)) - 2

    def widths(self) -> list[tuple[int, int, bool, int]]:
        """(in, out, down, output side) per block."""
        out = []
        width_in, side = 3, self.resolution
        for k in range(self.down_blocks):
            width = self.channel_width * min(16, 2 ** k)
            side //= 2
            out.append((width_in, width, True, side))
            width_in = width
        out.append((width_in, width_in, False, side))
        return out


class DBlock(nn.Module):
    """A residual block; see the module docstring."""

    def __init__(self, in_channels: int, out_channels: int, down: bool, preactivation: bool):
        super().__init__()
        self.down, self.preactivation = down, preactivation
        self.conv1 = SNConv2d(in_channels, out_channels, 3)
        self.conv2 = SNConv2d(out_channels, out_channels, 3)
        self.learnable_sc = in_channels != out_channels or down
        if self.learnable_sc:
            self.conv_sc = SNConv2d(in_channels, out_channels, 1)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if not self.learnable_sc:
            return x
        if self.preactivation:
            x = self.conv_sc(x)
            return F.avg_pool2d(x, 2) if self.down else x
        x = F.avg_pool2d(x, 2) if self.down else x
        return self.conv_sc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        return h + self._shortcut(x)


class BigGANDiscriminator(nn.Module):
    """``forward(image, class_index)`` -> logits ``[N, 1]``."""

    def __init__(self, config: BigGANDiscriminatorConfig):
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        for index, (cin, cout, down, side) in enumerate(config.widths()):
            layers.append(DBlock(cin, cout, down, preactivation=index > 0))
            if side == config.attention_resolution and cout % 8 == 0:
                layers.append(SelfAttention(cout))
        self.blocks = nn.ModuleList(layers)
        width = config.widths()[-1][1]
        self.linear = SNLinear(width, 1)
        self.embed = SNEmbedding(config.num_classes, width)

    def input_blocks(self) -> list[nn.Module]:
        """The blocks from the image side (for freezing the first D layers)."""
        return list(self.blocks)

    def forward(self, image: torch.Tensor, class_index: torch.Tensor) -> torch.Tensor:
        h = image
        for block in self.blocks:
            h = block(h)
        h = F.relu(h).sum(dim=(2, 3))
        return self.linear(h) + (self.embed(class_index) * h).sum(dim=1, keepdim=True)


CONFIG_CLASS = BigGANDiscriminatorConfig


def build_networks(config: BigGANDiscriminatorConfig) -> dict[str, nn.Module]:
    return {"D": BigGANDiscriminator(config)}
