"""The ResNet image-to-image generator of CycleGAN / pix2pix (Zhu et al., 2017; Johnson et al., 2016).

Our own implementation, laid out so the official junyanz/pytorch-CycleGAN-and-pix2pix
``ResnetGenerator`` state dicts load unchanged (keys ``model.<i>.*``, blocks
``model.<i>.conv_block.<j>.*``).

A CycleGAN model has two generators: ``G_A`` (domain A -> B, ``input_nc -> output_nc``) and
``G_B`` (B -> A, ``output_nc -> input_nc``). A pix2pix model with a ResNet generator, or a single
exported CycleGAN direction, has one network ``G``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.models.pix2pixhd import ResnetBlock, norm_layer

NORMS = ("batch", "instance")


@dataclass(frozen=True)
class CycleGANResnetConfig:
    """Architecture of a ResNet generator pair (or single generator).

    Args:
        input_nc: channels of domain A images (G_A's input, G_B's output).
        output_nc: channels of domain B images.
        ngf: base width.
        n_blocks: residual blocks (official ``resnet_9blocks`` / ``resnet_6blocks``; any count works).
        n_downsampling: stride-2 convolutions (2 in the official code).
        norm: ``"instance"`` (convs with bias) or ``"batch"`` (convs without bias).
        use_dropout: residual blocks hold a dropout layer (shifts key indices; off at eval).
        padding_type: ``"reflect"``, ``"replicate"`` or ``"zero"`` inside residual blocks.
        networks: which generators the model holds: ``("G_A", "G_B")``, ``("G_A",)``, ``("G_B",)`` or ``("G",)``.
        primary_network: the generator used to translate by default.
    """

    input_nc: int = 3
    output_nc: int = 3
    ngf: int = 64
    n_blocks: int = 9
    n_downsampling: int = 2
    norm: str = "instance"
    use_dropout: bool = False
    padding_type: str = "reflect"
    networks: tuple[str, ...] = ("G_A", "G_B")
    primary_network: str = "G_A"

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, not {self.norm!r}")
        bad = [n for n in self.networks if n not in ("G", "G_A", "G_B")]
        if bad or not self.networks:
            raise ValueError(f"networks must be a non-empty subset of G, G_A, G_B, not {self.networks!r}")
        if self.primary_network not in self.networks:
            raise ValueError(f"primary_network {self.primary_network!r} is not one of {self.networks}")

    @property
    def use_bias(self) -> bool:
        return self.norm == "instance"

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (and at least twice it)."""
        return 2**self.n_downsampling

    def channels(self, role: str) -> tuple[int, int]:
        """(input channels, output channels) of network ``role``."""
        if role == "G_B":
            return self.output_nc, self.input_nc
        return self.input_nc, self.output_nc

    def capabilities(self) -> tuple[str, ...]:
        caps = ["image_to_image"]
        if "G_A" in self.networks and "G_B" in self.networks:
            caps.append("both_directions")
        return tuple(caps)


class ResnetGenerator(nn.Module):
    """Image -> image: 7x7 stem, ``n_downsampling`` stride-2 convs, residual blocks, transposed
    convs back up, 7x7 head + tanh. Input ``(N, input_nc, H, W)`` in [-1, 1], H and W multiples of
    ``2**n_downsampling``; output the same size in [-1, 1]."""

    def __init__(self, input_nc: int, output_nc: int, ngf: int = 64, n_blocks: int = 9, n_downsampling: int = 2,
                 norm: str = "instance", use_dropout: bool = False, padding_type: str = "reflect"):
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=bias), norm_layer(norm, ngf), nn.ReLU(True)]
        for i in range(n_downsampling):
            c = ngf * 2**i
            layers += [nn.Conv2d(c, c * 2, 3, stride=2, padding=1, bias=bias), norm_layer(norm, c * 2), nn.ReLU(True)]
        width = ngf * 2**n_downsampling
        layers += [ResnetBlock(width, norm, use_bias=bias, use_dropout=use_dropout, padding=padding_type) for _ in range(n_blocks)]
        for i in range(n_downsampling, 0, -1):
            c = ngf * 2**i
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                       norm_layer(norm, c // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def build_networks(config: CycleGANResnetConfig) -> dict[str, nn.Module]:
    """One :class:`ResnetGenerator` per role in ``config.networks``; fresh weights."""
    networks: dict[str, nn.Module] = {}
    for role in config.networks:
        in_ch, out_ch = config.channels(role)
        networks[role] = ResnetGenerator(in_ch, out_ch, config.ngf, config.n_blocks, config.n_downsampling,
                                         config.norm, config.use_dropout, config.padding_type)
    return networks


CONFIG_CLASS = CycleGANResnetConfig
