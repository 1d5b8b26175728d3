"""pix2pixHD (Wang et al., 2018): label map -> image with a coarse-to-fine ResNet generator.

Our own implementation, built to load the weights of the official NVIDIA/pix2pixHD checkpoints
unchanged (same module nesting, so the same state-dict keys).

Networks:
  * ``G``: :class:`GlobalGenerator` (``netG='global'``) or :class:`LocalEnhancer`
    (``netG='local'``: a global generator working at 1/2**n_local_enhancers resolution plus
    ``n_local_enhancers`` full-resolution branches).
  * ``E`` (only when ``instance_feat`` or ``label_feat``): :class:`FeatureEncoder`, an
    encoder-decoder whose per-pixel features are averaged per instance (or per class).

Generator input (see :func:`generator_input`): one-hot label map (``label_nc`` channels, no
dontcare channel), then an instance-edge channel unless ``no_instance``, then ``feat_num``
feature channels when features are used. With ``label_nc == 0`` the input is an RGB image
(``input_nc`` channels) in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

NORMS = ("batch", "instance")


@dataclass(frozen=True)
class Pix2PixHDConfig:
    """Architecture of a pix2pixHD model; field names follow the official options.

    Args:
        netG: ``"global"`` or ``"local"``.
        label_nc: number of label classes (one-hot channels); 0 means the input is an image.
        input_nc: image channels of the input when ``label_nc == 0``.
        output_nc: image channels produced (3 for RGB).
        no_instance: True when the model takes no instance-edge channel.
        ngf: base width of the generator (of the finest branch for ``local``).
        n_downsample_global: stride-2 convolutions of the global generator.
        n_blocks_global: residual blocks of the global generator.
        n_local_enhancers: full-resolution branches of ``local`` (ignored for ``global``).
        n_blocks_local: residual blocks per local branch.
        norm: ``"instance"`` (affine-free InstanceNorm) or ``"batch"`` (BatchNorm with running stats).
        instance_feat: features encoded per instance (adds ``feat_num`` input channels and E).
        label_feat: features encoded per label class.
        feat_num: feature channels.
        nef: base width of the feature encoder.
        n_downsample_E: stride-2 convolutions of the feature encoder.
        resnet_dropout: residual blocks contain a (keyless) dropout layer; only shifts key indices.
    """

    netG: str = "global"
    label_nc: int = 35
    input_nc: int = 3
    output_nc: int = 3
    no_instance: bool = False
    ngf: int = 64
    n_downsample_global: int = 4
    n_blocks_global: int = 9
    n_local_enhancers: int = 1
    n_blocks_local: int = 3
    norm: str = "instance"
    instance_feat: bool = False
    label_feat: bool = False
    feat_num: int = 3
    nef: int = 16
    n_downsample_E: int = 4
    resnet_dropout: bool = False

    def __post_init__(self) -> None:
        if self.netG not in ("global", "local"):
            raise ValueError(f"netG must be 'global' or 'local', not {self.netG!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, not {self.norm!r}")

    @property
    def use_features(self) -> bool:
        return bool(self.instance_feat or self.label_feat)

    @property
    def generator_input_nc(self) -> int:
        """Channels the generator's first convolution takes."""
        channels = self.label_nc if self.label_nc > 0 else self.input_nc
        if not self.no_instance:
            channels += 1
        if self.use_features:
            channels += self.feat_num
        return channels

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (and at least twice it)."""
        down = self.n_downsample_global + (self.n_local_enhancers if self.netG == "local" else 0)
        if self.use_features:
            down = max(down, self.n_downsample_E)
        return 2 ** down

    def capabilities(self) -> tuple[str, ...]:
        caps = ["label_map"] if self.label_nc > 0 else ["image_to_image"]
        if not self.no_instance:
            caps.append("instance_map")
        if self.use_features:
            caps.append("instance_features" if self.instance_feat else "label_features")
            caps.append("style_image")
        return tuple(caps)


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    raise ValueError(f"unknown norm {kind!r}")


class ResnetBlock(nn.Module):
    """``x + [pad, conv3, norm, ReLU, (dropout), pad, conv3, norm](x)``; no activation after the sum.

    ``padding``: ``"reflect"``, ``"replicate"`` (padding layers) or ``"zero"`` (conv padding).
    """

    def __init__(self, dim: int, norm: str, use_bias: bool = True, use_dropout: bool = False, padding: str = "reflect"):
        super().__init__()
        layers: list[nn.Module] = []
        for half in (0, 1):
            conv_pad = 0
            if padding == "reflect":
                layers.append(nn.ReflectionPad2d(1))
            elif padding == "replicate":
                layers.append(nn.ReplicationPad2d(1))
            elif padding == "zero":
                conv_pad = 1
            else:
                raise ValueError(f"unknown padding {padding!r}")
            layers += [nn.Conv2d(dim, dim, 3, padding=conv_pad, bias=use_bias), norm_layer(norm, dim)]
            if half == 0:
                layers.append(nn.ReLU(True))
                if use_dropout:
                    layers.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def _down(in_ch: int, out_ch: int, norm: str, bias: bool = True) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1, bias=bias), norm_layer(norm, out_ch), nn.ReLU(True)]


def _up(in_ch: int, out_ch: int, norm: str, bias: bool = True) -> list[nn.Module]:
    return [
        nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1, bias=bias),
        norm_layer(norm, out_ch),
        nn.ReLU(True),
    ]


def _stem(in_ch: int, out_ch: int, norm: str, bias: bool = True) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, out_ch, 7, bias=bias), norm_layer(norm, out_ch), nn.ReLU(True)]


def _head(in_ch: int, out_ch: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, out_ch, 7), nn.Tanh()]


def global_generator_layers(input_nc: int, output_nc: int, ngf: int, n_downsampling: int, n_blocks: int,
                            norm: str, use_dropout: bool = False, with_head: bool = True) -> list[nn.Module]:
    """The layer list of the global generator: stem, downsampling, residual blocks, upsampling, head."""
    layers = _stem(input_nc, ngf, norm)
    for i in range(n_downsampling):
        layers += _down(ngf * 2**i, ngf * 2 ** (i + 1), norm)
    width = ngf * 2**n_downsampling
    layers += [ResnetBlock(width, norm, use_bias=True, use_dropout=use_dropout) for _ in range(n_blocks)]
    for i in range(n_downsampling, 0, -1):
        layers += _up(ngf * 2**i, ngf * 2 ** (i - 1), norm)
    if with_head:
        layers += _head(ngf, output_nc)
    return layers


class GlobalGenerator(nn.Module):
    """Encoder / residual blocks / decoder generator; input and output at the same size.

    Input ``(N, input_nc, H, W)`` with H, W multiples of ``2**n_downsampling``; output in [-1, 1].
    """

    def __init__(self, input_nc: int, output_nc: int, ngf: int = 64, n_downsampling: int = 4, n_blocks: int = 9,
                 norm: str = "instance", use_dropout: bool = False):
        super().__init__()
        self.model = nn.Sequential(*global_generator_layers(input_nc, output_nc, ngf, n_downsampling, n_blocks, norm, use_dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LocalEnhancer(nn.Module):
    """Coarse-to-fine generator: a global generator (without its output head) at the coarsest
    scale, then ``n_local_enhancers`` branches, each doubling the resolution.

    ``model{n}_1`` encodes the input at scale N-n down by one step; its output is added to the
    previous scale's features and decoded by ``model{n}_2`` (the last one ends in the RGB head).
    Inputs are downsampled with a 3x3 stride-2 average pool that ignores padding.
    """

    def __init__(self, input_nc: int, output_nc: int, ngf: int = 32, n_downsample_global: int = 3,
                 n_blocks_global: int = 9, n_local_enhancers: int = 1, n_blocks_local: int = 3,
                 norm: str = "instance", use_dropout: bool = False):
        super().__init__()
        self.n_local_enhancers = n_local_enhancers
        global_ngf = ngf * 2**n_local_enhancers
        self.model = nn.Sequential(*global_generator_layers(
            input_nc, output_nc, global_ngf, n_downsample_global, n_blocks_global, norm, use_dropout, with_head=False))
        for n in range(1, n_local_enhancers + 1):
            width = ngf * 2 ** (n_local_enhancers - n)
            encode = _stem(input_nc, width, norm) + _down(width, width * 2, norm)
            decode: list[nn.Module] = [ResnetBlock(width * 2, norm, use_bias=True, use_dropout=use_dropout)
                                       for _ in range(n_blocks_local)]
            decode += _up(width * 2, width, norm)
            if n == n_local_enhancers:
                decode += _head(ngf, output_nc)
            setattr(self, f"model{n}_1", nn.Sequential(*encode))
            setattr(self, f"model{n}_2", nn.Sequential(*decode))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scales = [x]
        for _ in range(self.n_local_enhancers):
            scales.append(self.downsample(scales[-1]))
        out = self.model(scales[-1])
        for n in range(1, self.n_local_enhancers + 1):
            encode = getattr(self, f"model{n}_1")
            decode = getattr(self, f"model{n}_2")
            out = decode(encode(scales[self.n_local_enhancers - n]) + out)
        return out


class FeatureEncoder(nn.Module):
    """Image -> ``feat_num`` feature maps (tanh), averaged per id of an instance/label map.

    ``forward(image, ids)``: image ``(N, C, H, W)`` in [-1, 1]; ids ``(N, 1, H, W)`` integer
    ids; returns ``(N, feat_num, H, W)`` where every pixel carries the mean feature of its id
    (per sample, per channel). :meth:`raw_features` gives the map before averaging.
    """

    def __init__(self, input_nc: int, output_nc: int, nef: int = 16, n_downsampling: int = 4, norm: str = "instance"):
        super().__init__()
        layers = _stem(input_nc, nef, norm)
        for i in range(n_downsampling):
            layers += _down(nef * 2**i, nef * 2 ** (i + 1), norm)
        for i in range(n_downsampling, 0, -1):
            layers += _up(nef * 2**i, nef * 2 ** (i - 1), norm)
        layers += _head(nef, output_nc)
        self.model = nn.Sequential(*layers)

    def raw_features(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image)

    def forward(self, image: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return average_per_id(self.model(image), ids)


def average_per_id(features: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Replace every feature by the mean over the pixels sharing its id (per sample and channel).

    ``features``: ``(N, C, H, W)`` float; ``ids``: ``(N, 1, H, W)`` integers (any range).
    """
    n, c, h, w = features.shape
    flat_ids = ids.reshape(n, h * w).long()
    out = torch.empty_like(features)
    for b in range(n):
        _, inverse = torch.unique(flat_ids[b], return_inverse=True)
        groups = int(inverse.max()) + 1
        feats = features[b].reshape(c, h * w)
        sums = torch.zeros(c, groups, dtype=features.dtype, device=features.device)
        sums.index_add_(1, inverse, feats)
        counts = torch.bincount(inverse, minlength=groups).to(features.dtype)
        out[b] = (sums / counts)[:, inverse].reshape(c, h, w)
    return out


def one_hot_labels(labels: torch.Tensor, label_nc: int) -> torch.Tensor:
    """``(N, 1, H, W)`` integer labels in [0, label_nc) -> ``(N, label_nc, H, W)`` float one-hot."""
    n, _, h, w = labels.shape
    out = torch.zeros(n, label_nc, h, w, device=labels.device)
    return out.scatter_(1, labels.long(), 1.0)


def instance_edges(ids: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` ids -> float map, 1 where a pixel's id differs from a 4-neighbour."""
    edge = torch.zeros(ids.shape, dtype=torch.bool, device=ids.device)
    horizontal = ids[..., :, 1:] != ids[..., :, :-1]
    vertical = ids[..., 1:, :] != ids[..., :-1, :]
    edge[..., :, 1:] |= horizontal
    edge[..., :, :-1] |= horizontal
    edge[..., 1:, :] |= vertical
    edge[..., :-1, :] |= vertical
    return edge.float()


def generator_input(config: Pix2PixHDConfig, labels: torch.Tensor | None = None, instances: torch.Tensor | None = None,
                    features: torch.Tensor | None = None, image: torch.Tensor | None = None) -> torch.Tensor:
    """Assemble the generator input the official preprocessing builds.

    ``labels``/``instances``: ``(N, 1, H, W)`` integers; ``features``: ``(N, feat_num, H, W)``;
    ``image``: ``(N, input_nc, H, W)`` in [-1, 1], used instead of labels when ``label_nc == 0``.
    """
    if config.label_nc > 0:
        if labels is None:
            raise ValueError("this pix2pixHD model needs a label map")
        parts = [one_hot_labels(labels, config.label_nc)]
    else:
        if image is None:
            raise ValueError("this pix2pixHD model (label_nc=0) needs an input image")
        parts = [image]
    if not config.no_instance:
        if instances is None:
            raise ValueError("this pix2pixHD model needs an instance map")
        parts.append(instance_edges(instances))
    if config.use_features:
        if features is None:
            raise ValueError("this pix2pixHD model needs feature maps")
        parts.append(features)
    return torch.cat(parts, dim=1)


def build_generator(config: Pix2PixHDConfig) -> nn.Module:
    in_ch = config.generator_input_nc
    if config.netG == "local":
        return LocalEnhancer(in_ch, config.output_nc, config.ngf, config.n_downsample_global, config.n_blocks_global,
                             config.n_local_enhancers, config.n_blocks_local, config.norm, config.resnet_dropout)
    return GlobalGenerator(in_ch, config.output_nc, config.ngf, config.n_downsample_global, config.n_blocks_global,
                           config.norm, config.resnet_dropout)


def build_networks(config: Pix2PixHDConfig) -> dict[str, nn.Module]:
    """``{"G": generator}`` plus ``"E"`` (feature encoder) when the model uses features; fresh weights."""
    networks: dict[str, nn.Module] = {"G": build_generator(config)}
    if config.use_features:
        networks["E"] = FeatureEncoder(config.output_nc, config.feat_num, config.nef, config.n_downsample_E, config.norm)
    return networks


CONFIG_CLASS = Pix2PixHDConfig
