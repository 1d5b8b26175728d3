"""RRDBNet: the ESRGAN / Real-ESRGAN / BasicSR super-resolution generator.

Structure (our own implementation; parameter names follow BasicSR so its files load directly):

* ``conv_first``: 3x3 conv from the input channels (times ``input_multiple**2`` when the input is
  pixel-unshuffled) to ``num_feat`` features;
* ``body.{i}`` for ``i < num_block``: a residual-in-residual dense block (RRDB) made of three
  residual dense blocks ``rdb1..rdb3``, each with five 3x3 convs ``conv1..conv5``; conv ``k`` sees
  the block input concatenated with the outputs of convs ``1..k-1`` (``num_grow_ch`` each);
* ``conv_body``: 3x3 conv closing the long skip ``f + conv_body(body(f))``;
* ``conv_up1..conv_upN``: each a nearest-neighbour upsample followed by a 3x3 conv and LeakyReLU;
* ``conv_hr`` then ``conv_last``: two 3x3 convs with a LeakyReLU between them.

LeakyReLU slopes are 0.2 throughout; dense blocks and RRDBs add their result scaled by 0.2 to their
input. There is no skip from the input image and no output clamp.

Scales: with ``pixel_unshuffle=True`` (BasicSR, Real-ESRGAN) the body always upsamples x4 and
scales 2 and 1 are reached by first pixel-unshuffling the input by 2 or 4, so inputs must be
multiples of ``input_multiple`` (the pipelines pad them). With ``pixel_unshuffle=False`` (the
original ESRGAN code) there is one x2 up-conv per octave (a single x3 one for scale 3) and none
for scale 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.2
RESIDUAL_SCALE = 0.2


@dataclass(frozen=True)
class RRDBNetConfig:
    """Args (official BasicSR names):
        num_in_ch: channels of the input image (3 for RGB).
        num_out_ch: channels of the output image.
        scale: total upscaling factor (1, 2, 4 with pixel-unshuffle; 1, 2, 3, 4, 8, ... without).
        num_feat: feature channels of the trunk (64 in the released models).
        num_block: number of RRDB blocks (23 for RealESRGAN_x4plus, 6 for the anime model).
        num_grow_ch: growth channels of the dense blocks (32 in the released models).
        pixel_unshuffle: True for BasicSR/Real-ESRGAN scale 2/1 models (input unshuffled, body x4);
            False for the original ESRGAN code's layout (one up-conv per octave).
    """

    num_in_ch: int = 3
    num_out_ch: int = 3
    scale: int = 4
    num_feat: int = 64
    num_block: int = 23
    num_grow_ch: int = 32
    pixel_unshuffle: bool = True

    def __post_init__(self) -> None:
        _ = self.up_factors  # validates the scale

    @property
    def input_multiple(self) -> int:
        """Input height and width must be multiples of this (the pixel-unshuffle factor)."""
        if self.pixel_unshuffle and self.scale in (1, 2):
            return 4 // self.scale
        return 1

    @property
    def up_factors(self) -> tuple[int, ...]:
        """Nearest-upsampling factor of each up-conv stage, in order."""
        if self.pixel_unshuffle and self.scale in (1, 2, 4):
            return (2, 2)
        if self.scale == 3:
            return (3,)
        octaves = math.log2(self.scale) if self.scale >= 1 else -1
        if octaves < 0 or octaves != int(octaves):
            raise ValueError(f"RRDBNet supports scales 1, 2, 3, 4, 8, 16 ...; got scale={self.scale}")
        return (2,) * int(octaves)

    def capabilities(self) -> tuple[str, ...]:
        return ("upscale",)


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs; returns ``input + 0.2 * conv5(...)``."""

    def __init__(self, num_feat: int, num_grow_ch: int):
        super().__init__()
        for k in range(1, 6):
            in_ch = num_feat + (k - 1) * num_grow_ch
            out_ch = num_feat if k == 5 else num_grow_ch
            setattr(self, f"conv{k}", nn.Conv2d(in_ch, out_ch, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for k in range(1, 5):
            conv = getattr(self, f"conv{k}")
            features.append(F.leaky_relu(conv(torch.cat(features, 1)), LRELU_SLOPE))
        return x + RESIDUAL_SCALE * self.conv5(torch.cat(features, 1))


class RRDB(nn.Module):
    """Three residual dense blocks in a row, with their own 0.2-scaled skip."""

    def __init__(self, num_feat: int, num_grow_ch: int):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALE * self.rdb3(self.rdb2(self.rdb1(x)))


class RRDBNet(nn.Module):
    """``forward(x)``: x is ``N x num_in_ch x H x W`` float in [0, 1] (H, W multiples of
    ``config.input_multiple``); returns ``N x num_out_ch x H*scale x W*scale``, unclamped."""

    def __init__(self, config: RRDBNetConfig):
        super().__init__()
        self.config = config
        self.unshuffle = config.input_multiple
        self.up_factors = config.up_factors
        c = config
        self.conv_first = nn.Conv2d(c.num_in_ch * self.unshuffle**2, c.num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(c.num_feat, c.num_grow_ch) for _ in range(c.num_block)))
        self.conv_body = nn.Conv2d(c.num_feat, c.num_feat, 3, 1, 1)
        for i in range(len(self.up_factors)):
            setattr(self, f"conv_up{i + 1}", nn.Conv2d(c.num_feat, c.num_feat, 3, 1, 1))
        self.conv_hr = nn.Conv2d(c.num_feat, c.num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(c.num_feat, c.num_out_ch, 3, 1, 1)

    @property
    def scale(self) -> int:
        return self.config.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        rows = self.tail_strip_rows
        if rows <= 0 or rows >= feat.shape[2]:
            return self._tail(feat)
        return self._tail_in_strips(feat, rows)

    #: run the high-resolution tail (upsampling convs, conv_hr, conv_last) on strips of this many
    #: low-resolution feature rows at a time (0 = all at once). Exact: each strip gets a halo of
    #: :meth:`tail_halo` rows. Not part of the state dict; the upscale pipeline sets it from its
    #: memory budget.
    tail_strip_rows: int = 0

    def _tail(self, feat: torch.Tensor) -> torch.Tensor:
        for i, factor in enumerate(self.up_factors):
            conv = getattr(self, f"conv_up{i + 1}")
            feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=factor, mode="nearest")), LRELU_SLOPE)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), LRELU_SLOPE))

    def tail_scale(self) -> int:
        """Output pixels per low-resolution feature pixel (the product of the upsampling factors)."""
        return math.prod(self.up_factors)

    def tail_halo(self) -> int:
        """Feature rows of context a strip of the tail needs so that its kept rows are exact:
        every 3x3 conv reaches one pixel at its own resolution."""
        total, reach, res = self.tail_scale(), 0, 1
        for factor in self.up_factors:
            res *= factor
            reach += total // res  # one pixel at resolution ``res``, in output pixels
        reach += 2  # conv_hr and conv_last at the output resolution
        return -(-reach // total)

    def _tail_in_strips(self, feat: torch.Tensor, rows: int) -> torch.Tensor:
        n, _, height, width = feat.shape
        s, halo = self.tail_scale(), self.tail_halo()
        out = feat.new_empty((n, self.config.num_out_ch, height * s, width * s))
        for start in range(0, height, rows):
            stop = min(start + rows, height)
            lo, hi = max(0, start - halo), min(height, stop + halo)
            strip = self._tail(feat[:, :, lo:hi])
            out[:, :, start * s:stop * s] = strip[:, :, (start - lo) * s:(stop - lo) * s]
            del strip
        return out

    def tail_bytes_per_row(self, feat_width: int) -> int:
        """Peak bytes the tail holds per low-resolution feature row ``feat_width`` pixels wide
        (about five full-resolution ``num_feat`` float32 tensors alive at once: the upsampled input,
        conv and activation outputs, and the allocator's slack; a 600x600 x4 job measured 1.23 GB
        peak RSS with three)."""
        s = self.tail_scale()
        return 5 * feat_width * s * s * self.config.num_feat * 4


CONFIG_CLASS = RRDBNetConfig


def build_networks(config: RRDBNetConfig) -> dict[str, nn.Module]:
    return {"G": RRDBNet(config)}
