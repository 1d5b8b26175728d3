"""StyleGAN2's residual discriminator, in the state layout of NVlabs stylegan2-ada-pytorch.

Module names follow the official ``training.networks.Discriminator`` (``b{res}.fromrgb``,
``b{res}.conv0``, ``b{res}.conv1``, ``b{res}.skip``, ``b4.conv``, ``b4.fc``, ``b4.out``, and
``mapping.embed`` / ``mapping.fc{i}`` for a conditional D), so the ``D`` of an ADA network
pickle loads key for key (:func:`official_ada_state`), and a rosinality ``d`` state dict loads
through a key table (:func:`rosinality_state`). Written from the papers' description.

Shapes and units:
  * ``img``: ``[N, C, R, R]`` float in about [-1, 1]; ``c``: ``[N, c_dim]`` (one-hot) or None;
  * output: ``[N, 1]`` raw logits (real > 0).

Architecture ('resnet'): for each resolution R, R/2, ..., 8 a block
``x = skip(x) * sqrt(1/2) + conv1(conv0(x)) * sqrt(1/2)`` (conv1 and skip halve the size after a
[1,3,3,1] low-pass filter); the first block starts with a 1x1 ``fromrgb``. The 4x4 epilogue
appends the minibatch standard deviation (groups of ``mbstd_group_size``), then a 3x3 conv, an
FC layer and the output FC (projected onto the class embedding when conditional). Every layer
uses equalised learning rate and lrelu(0.2) * sqrt(2); ``conv_clamp`` clamps conv outputs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import CheckpointError
from engine.models.layers import LRELU_GAIN, EqualizedConv2d, EqualizedLinear
from engine.models.stylegan2 import make_filter, normalize_2nd_moment, upfirdn2d


@dataclass(frozen=True)
class StyleGAN2DiscriminatorConfig:
    """Args (official names where there is one):
        img_resolution: input side in pixels, a power of two >= 8.
        img_channels: input channels.
        c_dim: class-vector size, 0 for an unconditional D.
        channel_base, channel_max: widths ``min(channel_base // res, channel_max)`` per resolution.
        channels: explicit widths for resolutions R, R/2, ..., 4 (overrides the rule).
        mbstd_group_size: samples per minibatch-stddev group (the batch must be divisible by it,
            or be smaller than it).
        mbstd_num_channels: stddev features appended.
        conv_clamp: clamp of conv outputs, None for none.
        cmap_dim: class-embedding size of the projection (None: the 4x4 width).
        mapping_layers: FC layers of the conditional D's class mapping.
    """

    img_resolution: int = 256
    img_channels: int = 3
    c_dim: int = 0
    channel_base: int = 32768
    channel_max: int = 512
    channels: tuple[int, ...] = ()
    mbstd_group_size: int = 4
    mbstd_num_channels: int = 1
    conv_clamp: float | None = None
    cmap_dim: int | None = None
    mapping_layers: int = 8

    def __post_init__(self) -> None:
        log2 = math.log2(self.img_resolution) if self.img_resolution > 0 else -1
        if self.img_resolution < 8 or log2 != int(log2):
            raise ValueError(f"the discriminator's img_resolution must be a power of two >= 8, got {self.img_resolution}")
        if self.channels and len(self.channels) != len(self.resolutions):
            raise ValueError(f"channels must list {len(self.resolutions)} widths (resolutions {self.resolutions})")

    @property
    def resolutions(self) -> tuple[int, ...]:
        """R, R/2, ..., 4."""
        log2 = round(math.log2(self.img_resolution))
        return tuple(2 ** i for i in range(log2, 1, -1))

    def width(self, res: int) -> int:
        if self.channels:
            return int(self.channels[self.resolutions.index(res)])
        return min(self.channel_base // res, self.channel_max)

    @property
    def projection_dim(self) -> int:
        if self.c_dim == 0:
            return 0
        return self.cmap_dim or self.width(4)


class DConv(EqualizedConv2d):
    """An equalised conv with optional 2x down-sampling (low-pass [1,3,3,1] filter, then stride 2)
    and a per-call gain that scales the activation and the clamp (the official ``gain``)."""

    def __init__(self, cin: int, cout: int, k: int, bias: bool = True, activation: str = "lrelu",
                 down: bool = False, conv_clamp: float | None = None):
        super().__init__(cin, cout, k, bias=bias, activation=activation, padding=0)
        self.k, self.down, self.clamp_value = k, down, conv_clamp
        self.register_buffer("resample_filter", make_filter((1, 3, 3, 1)), persistent=False)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        if self.down:
            pad = self.k // 2 + 1  # filter taps 4, factor 2: one extra pixel on each side
            x = upfirdn2d(x, self.resample_filter, pad=(pad, pad, pad, pad))
            x = F.conv2d(x, w, stride=2)
        else:
            x = F.conv2d(x, w, padding=self.k // 2)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        if self.activation == "lrelu":
            x = F.leaky_relu(x, 0.2) * (LRELU_GAIN * gain)
        elif gain != 1.0:
            x = x * gain
        if self.clamp_value is not None:
            x = x.clamp(-self.clamp_value * gain, self.clamp_value * gain)
        return x


class DiscriminatorBlock(nn.Module):
    """One resolution: [fromrgb], conv0 (3x3), conv1 (3x3, down) plus a 1x1 down skip."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, img_channels: int,
                 conv_clamp: float | None):
        super().__init__()
        self.in_channels = in_channels
        if in_channels == 0:
            self.fromrgb = DConv(img_channels, tmp_channels, 1, conv_clamp=conv_clamp)
        self.conv0 = DConv(tmp_channels, tmp_channels, 3, conv_clamp=conv_clamp)
        self.conv1 = DConv(tmp_channels, out_channels, 3, down=True, conv_clamp=conv_clamp)
        self.skip = DConv(tmp_channels, out_channels, 1, bias=False, activation="linear", down=True)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 0:
            x = self.fromrgb(img)
        gain = math.sqrt(0.5)
        y = self.skip(x, gain=gain)
        x = self.conv1(self.conv0(x), gain=gain)
        return y + x


def minibatch_stddev(x: torch.Tensor, group_size: int, num_channels: int = 1) -> torch.Tensor:
    """``x`` with ``num_channels`` more channels: the standard deviation over groups of samples,
    averaged over channels and pixels (samples ``i``, ``i + N/G``, ... form a group)."""
    n, c, h, w = x.shape
    group = min(group_size, n)
    if n % group:
        raise ValueError(f"the batch ({n}) must be a multiple of the minibatch-stddev group ({group})")
    y = x.reshape(group, -1, num_channels, c // num_channels, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0)
    y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, num_channels, 1, 1)
    return torch.cat([x, y.repeat(group, 1, h, w)], dim=1)


class DiscriminatorEpilogue(nn.Module):
    """4x4: minibatch stddev, 3x3 conv, FC, output FC (projection onto ``cmap`` when conditional)."""

    def __init__(self, in_channels: int, config: StyleGAN2DiscriminatorConfig):
        super().__init__()
        self.group, self.mbstd_channels = config.mbstd_group_size, config.mbstd_num_channels
        self.cmap_dim = config.projection_dim
        self.conv = DConv(in_channels + config.mbstd_num_channels, in_channels, 3, conv_clamp=config.conv_clamp)
        self.fc = EqualizedLinear(in_channels * 16, in_channels, activation="lrelu")
        self.out = EqualizedLinear(in_channels, self.cmap_dim or 1)

    def forward(self, x: torch.Tensor, cmap: torch.Tensor | None) -> torch.Tensor:
        if self.mbstd_channels > 0:
            x = minibatch_stddev(x, self.group, self.mbstd_channels)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim:
            x = (x * cmap.to(x.dtype)).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x


class ClassMapping(nn.Module):
    """c -> cmap: ``normalize_2nd_moment(embed(c))`` then lrelu FC layers at lr multiplier 0.01."""

    def __init__(self, c_dim: int, cmap_dim: int, num_layers: int):
        super().__init__()
        self.embed = EqualizedLinear(c_dim, cmap_dim)
        self.num_layers = num_layers
        for i in range(num_layers):
            setattr(self, f"fc{i}", EqualizedLinear(cmap_dim, cmap_dim, "lrelu", lr_multiplier=0.01))

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        x = normalize_2nd_moment(self.embed(c.float()))
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        return x


class StyleGAN2Discriminator(nn.Module):
    """``forward(img, c=None)`` -> logits ``[N, 1]``; see the module docstring."""

    def __init__(self, config: StyleGAN2DiscriminatorConfig):
        super().__init__()
        self.config = config
        resolutions = config.resolutions
        for res in resolutions[:-1]:
            in_channels = 0 if res == config.img_resolution else config.width(res)
            block = DiscriminatorBlock(in_channels, config.width(res), config.width(res // 2),
                                       config.img_channels, config.conv_clamp)
            setattr(self, f"b{res}", block)
        if config.c_dim > 0:
            self.mapping = ClassMapping(config.c_dim, config.projection_dim, config.mapping_layers)
        self.b4 = DiscriminatorEpilogue(config.width(4), config)

    def blocks(self) -> list[nn.Module]:
        """The blocks from the input side (for freezing the first D layers)."""
        return [getattr(self, f"b{res}") for res in self.config.resolutions]

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = None
        for res in self.config.resolutions[:-1]:
            x = getattr(self, f"b{res}")(x, img)
        cmap = None
        if self.config.c_dim > 0:
            if c is None:
                raise ValueError("a conditional discriminator needs the class vector c")
            cmap = self.mapping(c)
        return self.b4(x, cmap)


CONFIG_CLASS = StyleGAN2DiscriminatorConfig


def build_networks(config: StyleGAN2DiscriminatorConfig) -> dict[str, nn.Module]:
    return {"D": StyleGAN2Discriminator(config)}


# --------------------------------------------------------------------------------------------
# Official checkpoints


def config_from_ada(init_kwargs: Mapping, state: Mapping[str, torch.Tensor]) -> StyleGAN2DiscriminatorConfig:
    """Our config from an ADA ``Discriminator``'s constructor kwargs (widths read from the weights)."""
    kwargs = dict(init_kwargs)
    architecture = (kwargs.get("architecture") or "resnet")
    if architecture != "resnet":
        raise CheckpointError(f"The pickle's discriminator uses the '{architecture}' architecture; only 'resnet' "
                              "(the StyleGAN2-ADA default) can be fine-tuned. Train with a fresh discriminator instead.")
    resolution = int(kwargs["img_resolution"])
    epilogue = dict(kwargs.get("epilogue_kwargs") or {})
    mapping = dict(kwargs.get("mapping_kwargs") or {})
    base = StyleGAN2DiscriminatorConfig(img_resolution=resolution)
    widths = [int(state[f"b{res}.conv0.weight"].shape[0]) for res in base.resolutions[:-1]]
    widths.append(int(state["b4.conv.weight"].shape[0]))
    return StyleGAN2DiscriminatorConfig(
        img_resolution=resolution,
        img_channels=int(kwargs.get("img_channels", 3)),
        c_dim=int(kwargs.get("c_dim", 0)),
        channels=tuple(widths),
        mbstd_group_size=int(epilogue.get("mbstd_group_size", 4) or 4),
        mbstd_num_channels=int(epilogue.get("mbstd_num_channels", 1)),
        conv_clamp=None if kwargs.get("conv_clamp") is None else float(kwargs["conv_clamp"]),
        cmap_dim=int(state["b4.out.weight"].shape[0]) if int(kwargs.get("c_dim", 0)) > 0 else None,
        mapping_layers=int(mapping.get("num_layers", 8)),
    )


def official_ada_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An ADA D state dict with the (fixed, re-derived) resample filters checked and dropped."""
    expected = make_filter((1, 3, 3, 1))
    out = {}
    for key, value in state.items():
        if key.endswith("resample_filter"):
            if value.shape != expected.shape or not torch.allclose(value.float(), expected, atol=1e-6):
                raise CheckpointError(f"The discriminator's {key} is not the [1,3,3,1] filter this version supports.")
            continue
        out[key] = value
    return out


_ROSINALITY_BLOCK = {"conv1.0.weight": "conv0.weight", "conv1.1.bias": "conv0.bias",
                     "conv2.1.weight": "conv1.weight", "conv2.2.bias": "conv1.bias", "skip.1.weight": "skip.weight"}
_ROSINALITY_EPILOGUE = {"final_conv.0.weight": "b4.conv.weight", "final_conv.1.bias": "b4.conv.bias",
                        "final_linear.0.weight": "b4.fc.weight", "final_linear.0.bias": "b4.fc.bias",
                        "final_linear.1.weight": "b4.out.weight", "final_linear.1.bias": "b4.out.bias"}


def rosinality_config(state: Mapping[str, torch.Tensor]) -> StyleGAN2DiscriminatorConfig:
    """Our config for a rosinality ``d`` state dict (the same network; widths from the weights)."""
    n_blocks = len({int(m[1]) for k in state if (m := re.match(r"convs\.(\d+)\.", k))}) - 1
    resolution = 4 * 2 ** n_blocks
    base = StyleGAN2DiscriminatorConfig(img_resolution=resolution)
    widths = [int(state["convs.0.0.weight"].shape[0])]
    widths += [int(state[f"convs.{i}.conv2.1.weight"].shape[0]) for i in range(1, n_blocks + 1)]
    if len(widths) != len(base.resolutions):
        raise CheckpointError("The rosinality discriminator's blocks do not form a resolution pyramid.")
    return StyleGAN2DiscriminatorConfig(img_resolution=resolution, img_channels=int(state["convs.0.0.weight"].shape[1]),
                                        channels=tuple(widths))


def rosinality_state(state: Mapping[str, torch.Tensor], config: StyleGAN2DiscriminatorConfig) -> dict[str, torch.Tensor]:
    """rosinality ``Discriminator`` keys -> ours (its blur kernels are dropped; ours are derived).
    Unknown keys are kept as they are, so the strict load names them."""
    out: dict[str, torch.Tensor] = {}
    top = config.img_resolution
    for key, value in state.items():
        if key.endswith(".kernel"):
            continue
        if key in _ROSINALITY_EPILOGUE:
            out[_ROSINALITY_EPILOGUE[key]] = value
        elif m := re.fullmatch(r"convs\.0\.(0\.weight|1\.bias)", key):
            out[f"b{top}.fromrgb.{'weight' if m[1] == '0.weight' else 'bias'}"] = value
        elif (m := re.fullmatch(r"convs\.(\d+)\.(.+)", key)) and m[2] in _ROSINALITY_BLOCK:
            res = top // 2 ** (int(m[1]) - 1)
            out[f"b{res}.{_ROSINALITY_BLOCK[m[2]]}"] = value
        else:
            out[key] = value
    return out
