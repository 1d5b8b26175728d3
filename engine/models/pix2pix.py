"""The pix2pix U-Net generator (Isola et al., 2017).

Our own implementation, laid out so the official junyanz/pytorch-CycleGAN-and-pix2pix
``UnetGenerator`` state dicts load unchanged: nested blocks, each a ``Sequential`` called
``model``, so keys read ``model.model.1.model.3.model.1.weight``.

Each level halves the resolution on the way down and doubles it on the way up; every level
except the outermost concatenates its input with its output (the skip connection). Input sides
must be multiples of ``2**num_downs``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.models.pix2pixhd import norm_layer

NORMS = ("batch", "instance")


@dataclass(frozen=True)
class Pix2PixUnetConfig:
    """Architecture of a U-Net generator.

    Args:
        input_nc / output_nc: image channels in and out.
        ngf: width of the outermost level (levels widen to ``8 * ngf`` and stay there).
        num_downs: levels (8 for ``unet_256``, 7 for ``unet_128``; at least 5).
        norm: ``"batch"`` (convs without bias) or ``"instance"`` (convs with bias).
        use_dropout: dropout in the ``num_downs - 5`` innermost middle levels (training only;
            off in eval mode, holds no weights).
    """

    input_nc: int = 3
    output_nc: int = 3
    ngf: int = 64
    num_downs: int = 8
    norm: str = "batch"
    use_dropout: bool = False

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, not {self.norm!r}")
        if self.num_downs < 5:
            raise ValueError(f"num_downs must be at least 5, not {self.num_downs}")

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return 2**self.num_downs

    def capabilities(self) -> tuple[str, ...]:
        return ("image_to_image",)


class UnetBlock(nn.Module):
    """One U-Net level: down (LeakyReLU, conv, norm), the inner level, up (ReLU, transposed conv, norm).

    The outermost level has no activation/norm on the way down, a biased transposed conv and a
    tanh on the way up, and no skip; the innermost has no inner level and no down norm.
    """

    def __init__(self, outer_nc: int, inner_nc: int, norm: str, input_nc: int | None = None,
                 inner: nn.Module | None = None, outermost: bool = False, use_dropout: bool = False):
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        input_nc = outer_nc if input_nc is None else input_nc
        down_conv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=bias)
        if outermost:
            layers = [down_conv, inner, nn.ReLU(True), nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1), nn.Tanh()]
        elif inner is None:  # innermost
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=bias), norm_layer(norm, outer_nc)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down_conv, norm_layer(norm, inner_nc), inner, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1, bias=bias), norm_layer(norm, outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """Image ``(N, input_nc, H, W)`` in [-1, 1] -> image ``(N, output_nc, H, W)`` in [-1, 1]."""

    def __init__(self, input_nc: int, output_nc: int, num_downs: int = 8, ngf: int = 64, norm: str = "batch",
                 use_dropout: bool = False):
        super().__init__()
        block = UnetBlock(ngf * 8, ngf * 8, norm)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, norm, inner=block, use_dropout=use_dropout)
        for mult in (4, 2, 1):
            block = UnetBlock(ngf * mult, ngf * mult * 2, norm, inner=block)
        self.model = UnetBlock(output_nc, ngf, norm, input_nc=input_nc, inner=block, outermost=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def build_networks(config: Pix2PixUnetConfig) -> dict[str, nn.Module]:
    """``{"G": UnetGenerator}`` with fresh weights."""
    return {"G": UnetGenerator(config.input_nc, config.output_nc, config.num_downs, config.ngf, config.norm, config.use_dropout)}


CONFIG_CLASS = Pix2PixUnetConfig
