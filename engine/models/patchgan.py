"""PatchGAN discriminators: the N-layer PatchGAN of pix2pix / CycleGAN, and its multi-scale
version (pix2pixHD, SPADE), optionally spectral-normalised.

Each scale is an N-layer discriminator split into blocks ``model0 .. model{n_layers+1}`` (the
official pix2pixHD / SPADE ``getIntermFeat`` layout), so every block's output can be used for
feature matching:

* ``model0``: 4x4 conv stride 2 (``input_nc -> ndf``), LeakyReLU 0.2;
* ``model{n}`` for ``1 <= n < n_layers``: 4x4 conv stride 2 to ``ndf * min(2**n, 8)``, norm, LeakyReLU;
* ``model{n_layers}``: the same with stride 1;
* ``model{n_layers+1}``: 4x4 conv stride 1 to one channel: the patch logits.

``padding`` is 1 in pix2pix / CycleGAN (70x70 receptive field at ``n_layers=3``) and 2 in
pix2pixHD / SPADE. Normalised convs have a bias only where the norm does not make it
redundant: with ``norm="none"``, or instance norm without spectral norm (as the official code
of each project does). Spectral norm (``spectral_norm=True``) wraps the middle convs, as SPADE
does (``spectral_ends`` adds the first and last). It is the app's one spectral norm,
:class:`engine.models.layers.SNConv2d`, whose state (``weight_orig``, ``weight_u``, ``weight_v``)
is the official SPADE layout.

The multi-scale discriminator holds ``discriminator_0 .. discriminator_{num_d-1}``; scale ``i``
sees the input average-pooled ``i`` times (3x3, stride 2, borders not counted). ``forward``
returns a list over scales, each a list of block outputs whose last element is the logits
(:mod:`engine.training.losses` takes either form). :func:`official_state` maps official
pix2pix / CycleGAN, pix2pixHD and SPADE ``latest_net_D.pth`` keys onto this layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

import torch
from torch import nn

from engine.models.layers import SNConv2d, SpectralNormLayer

NORMS = ("batch", "instance", "none")
LRELU_SLOPE = 0.2


@dataclass(frozen=True)
class PatchGANConfig:
    """Args:
        input_nc: channels of the discriminator's input (e.g. condition + image concatenated).
        ndf: width of the first block (64 in the papers).
        n_layers: stride-2 convs (3 = the 70x70 PatchGAN); the output has ``1/2**n_layers`` of the
            input's resolution (about; borders depend on ``padding``).
        norm: ``"batch"`` (pix2pix), ``"instance"`` (CycleGAN, pix2pixHD, SPADE) or ``"none"``.
        spectral_norm: spectral-normalise the normalised middle convs (as SPADE does).
        spectral_ends: also normalise the first and the last conv.
        padding: conv padding: 1 (pix2pix/CycleGAN) or 2 (pix2pixHD/SPADE).
        num_d: scales (1 = a plain PatchGAN).
    """

    input_nc: int = 6
    ndf: int = 64
    n_layers: int = 3
    norm: str = "batch"
    spectral_norm: bool = False
    spectral_ends: bool = False
    padding: int = 1
    num_d: int = 1

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}; got {self.norm!r}")
        if self.n_layers < 1 or self.num_d < 1 or self.ndf < 1 or self.input_nc < 1:
            raise ValueError("input_nc, ndf, n_layers and num_d must be at least 1")

    @property
    def conv_bias(self) -> bool:
        """Whether normalised convs carry a bias (see the module docstring)."""
        return self.norm == "none" or (self.norm == "instance" and not self.spectral_norm)


def _norm(kind: str, channels: int) -> list[nn.Module]:
    if kind == "batch":
        return [nn.BatchNorm2d(channels)]
    if kind == "instance":
        return [nn.InstanceNorm2d(channels, affine=False)]
    return []


def _conv(in_ch: int, out_ch: int, stride: int, padding: int, bias: bool, spectral: bool) -> nn.Module:
    if spectral:
        return SNConv2d(in_ch, out_ch, 4, stride=stride, padding=padding, bias=bias)
    return nn.Conv2d(in_ch, out_ch, 4, stride=stride, padding=padding, bias=bias)


class NLayerPatchGAN(nn.Module):
    """One scale: ``forward(x)`` returns the list of block outputs (the last: ``N x 1 x h x w`` logits)."""

    def __init__(self, config: PatchGANConfig):
        super().__init__()
        c = config
        sn = c.spectral_norm
        blocks: list[list[nn.Module]] = [[_conv(c.input_nc, c.ndf, 2, c.padding, True, sn and c.spectral_ends),
                                          nn.LeakyReLU(LRELU_SLOPE, True)]]
        width = c.ndf
        for n in range(1, c.n_layers + 1):
            previous, width = width, c.ndf * min(2 ** n, 8)
            stride = 2 if n < c.n_layers else 1
            blocks.append([_conv(previous, width, stride, c.padding, c.conv_bias, sn), *_norm(c.norm, width),
                           nn.LeakyReLU(LRELU_SLOPE, True)])
        blocks.append([_conv(width, 1, 1, c.padding, True, sn and c.spectral_ends)])
        self.n_blocks = len(blocks)
        for index, layers in enumerate(blocks):
            setattr(self, f"model{index}", nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for index in range(self.n_blocks):
            x = getattr(self, f"model{index}")(x)
            features.append(x)
        return features


class PatchGAN(nn.Module):
    """``num_d`` N-layer PatchGANs at successively halved resolutions.

    ``forward(x)``: x ``N x input_nc x H x W``; returns ``[[block outputs of scale 0], ...]``."""

    def __init__(self, config: PatchGANConfig):
        super().__init__()
        self.config = config
        for index in range(config.num_d):
            self.add_module(f"discriminator_{index}", NLayerPatchGAN(config))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        outputs = []
        for index in range(self.config.num_d):
            if index:
                x = self.downsample(x)
            outputs.append(getattr(self, f"discriminator_{index}")(x))
        return outputs

    def blocks(self) -> list[nn.Module]:
        """Blocks in input-to-output order, all scales interleaved by depth (for freezing the first D layers)."""
        scales = [getattr(self, f"discriminator_{i}") for i in range(self.config.num_d)]
        return [getattr(scale, f"model{j}") for j in range(scales[0].n_blocks) for scale in scales]


def build_networks(config: PatchGANConfig) -> dict[str, nn.Module]:
    return {"D": PatchGAN(config)}


CONFIG_CLASS = PatchGANConfig


# ---------------------------------------------------------------------------------------------
# initialisation


def init_normal_(net: nn.Module, std: float = 0.02) -> nn.Module:
    """The pix2pix / CycleGAN / pix2pixHD initialisation: conv and linear weights ``N(0, std)``,
    biases 0, batch-norm scales ``N(1, std)``. Draws from torch's global RNG."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, SpectralNormLayer)):
            weight = module.weight_orig if isinstance(module, SpectralNormLayer) else module.weight
            nn.init.normal_(weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d) and module.affine:
            nn.init.normal_(module.weight, 1.0, std)
            nn.init.zeros_(module.bias)
    return net


# ---------------------------------------------------------------------------------------------
# official checkpoints


def block_sizes(config: PatchGANConfig) -> list[int]:
    """Modules per block (conv, [norm], LeakyReLU) in the order of the official flat ``Sequential``."""
    per_norm = 3 if config.norm != "none" else 2
    return [2] + [per_norm] * config.n_layers + [1]


def _flat_to_block(index: int, sizes: list[int]) -> tuple[int, int]:
    for block, size in enumerate(sizes):
        if index < size:
            return block, index
        index -= size
    raise KeyError(index)


def official_state(state: Mapping[str, torch.Tensor], config: PatchGANConfig) -> dict[str, torch.Tensor]:
    """Keys of an official discriminator state dict mapped onto :class:`PatchGAN` names.

    Understood layouts (tried in this order):

    * pix2pix / CycleGAN ``NLayerDiscriminator``: ``model.{i}.*`` (one flat Sequential; ``num_d`` 1);
    * pix2pixHD ``MultiscaleDiscriminator``: ``scale{s}_layer{j}.{k}.*`` (with intermediate
      features) or ``layer{s}.{i}.*`` (without), where scale ``num_d - 1`` is the full resolution;
    * SPADE ``MultiscaleDiscriminator``: ``discriminator_{s}.model{j}.{k}.*``, normalised convs
      wrapped as ``model{j}.0.0.*`` (conv inside a conv+norm Sequential).

    Keys that fit none of these are kept as they are, so a strict load reports them."""
    sizes = block_sizes(config)
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        out[_map_key(key, sizes, config.num_d)] = value
    return out


def _map_key(key: str, sizes: list[int], num_d: int) -> str:
    if m := re.fullmatch(r"model\.(\d+)\.(.+)", key):
        block, offset = _flat_to_block(int(m[1]), sizes)
        return f"discriminator_0.model{block}.{offset}.{m[2]}"
    if m := re.fullmatch(r"scale(\d+)_layer(\d+)\.(\d+)\.(.+)", key):
        return f"discriminator_{num_d - 1 - int(m[1])}.model{m[2]}.{m[3]}.{m[4]}"
    if m := re.fullmatch(r"layer(\d+)\.(\d+)\.(.+)", key):
        block, offset = _flat_to_block(int(m[2]), sizes)
        return f"discriminator_{num_d - 1 - int(m[1])}.model{block}.{offset}.{m[3]}"
    if m := re.fullmatch(r"(discriminator_\d+\.model\d+)\.0\.0\.(.+)", key):
        return f"{m[1]}.0.{m[2]}"
    return key
