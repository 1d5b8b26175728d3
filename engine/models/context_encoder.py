"""Context encoder for inpainting (after Pathak et al., "Context Encoders: Feature Learning by
Inpainting", CVPR 2016). Our own implementation.

The generator sees a square *window* of ``resolution x resolution`` pixels whose hole is blanked
out (set to 0, i.e. mid-grey in the [-1, 1] range) and, when ``mask_channel`` is on, the hole
mask itself as one more input channel (1 = fill). It is built from three parts:

* **Encoder**: 4x4 convolutions with stride 2 (batch norm from the second layer on, LeakyReLU
  0.2), halving the window until it is ``n x n`` with ``m`` channels (``n = bottleneck_size``).
* **Channel-wise fully connected bottleneck**: every one of the ``m`` feature maps gets its own
  ``n^2 x n^2`` fully connected layer (``m * n^4`` weights, against ``m^2 * n^4`` for a full
  layer), so information travels across the whole window within each channel, followed by a 1x1
  (stride 1) convolution that mixes the channels.
* **Decoder**: 4x4 transposed convolutions with stride 2 (batch norm, ReLU; tanh at the end).

Two variants:

* ``"center"`` (the paper's central-region variant): the decoder stops one step earlier and
  outputs only the central ``resolution/2`` square of the window. The hole must lie inside that
  square shrunk by ``overlap`` pixels on each side; the ``overlap`` band lets the training loss
  tie the fill to its surroundings (weighted 10x there, as in the paper).
* ``"full"``: the decoder outputs the whole window; only the hole is kept (composited by the mask).
  Together with the mask channel this handles free-form masks anywhere in the window.

The :class:`Discriminator` (used for training only) judges the region the generator outputs.

Pixel values are floats in ``[-1, 1]``; tensors are ``N x C x H x W``; masks are ``N x 1 x H x W``
floats, 1 where the pixel is to be filled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

VARIANTS = ("center", "full")


@dataclass(frozen=True)
class ContextEncoderConfig:
    """Args:
        resolution: the edge of the square window the generator sees, in pixels (a power of two,
            e.g. 64 or 128).
        variant: "center" (output only the central resolution/2 square; holes must lie inside it)
            or "full" (output the whole window; any hole in it).
        mask_channel: give the hole mask to the generator as an extra input channel (needed for
            free-form masks; the paper's original center model had none).
        image_channels: colour channels (3 for RGB).
        base_width: channels of the first encoder layer; doubled per layer up to ``max_width``.
        max_width: the most channels any layer has; the bottleneck has ``m`` = the last encoder
            width channels.
        bottleneck_size: ``n``, the edge of the bottleneck feature maps (the channel-wise fully
            connected layer has ``m * n^4`` weights).
        overlap: center variant only: pixels by which the predicted square extends past the
            largest hole it fills, on each side (the paper uses 4 at resolution 128).
        disc_base_width: channels of the discriminator's first layer.
    """

    resolution: int = 128
    variant: str = "full"
    mask_channel: bool = True
    image_channels: int = 3
    base_width: int = 64
    max_width: int = 512
    bottleneck_size: int = 4
    overlap: int = 4
    disc_base_width: int = 64

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {self.variant!r}")
        if self.resolution < 8 or self.resolution & (self.resolution - 1):
            raise ValueError(f"resolution must be a power of two of at least 8; got {self.resolution}")
        n = self.bottleneck_size
        if n < 1 or n & (n - 1) or self.resolution // n < 4:
            raise ValueError(
                f"bottleneck_size must be a power of two at most resolution/4 ({self.resolution // 4}); got {n}"
            )
        if self.base_width < 1 or self.max_width < self.base_width:
            raise ValueError("base_width must be >= 1 and max_width >= base_width")
        if self.variant == "center" and not 0 <= self.overlap < self.resolution // 8:
            raise ValueError(f"overlap must be in [0, resolution/8) for the center variant; got {self.overlap}")

    # ------------------------------------------------------------------ geometry

    @property
    def in_channels(self) -> int:
        return self.image_channels + (1 if self.mask_channel else 0)

    @property
    def encoder_depth(self) -> int:
        """Number of stride-2 encoder layers (resolution -> bottleneck_size)."""
        return int(math.log2(self.resolution // self.bottleneck_size))

    @property
    def bottleneck_channels(self) -> int:
        """``m``: channels of the bottleneck feature maps."""
        return self.width(self.encoder_depth - 1)

    def width(self, layer: int) -> int:
        return min(self.base_width * 2**layer, self.max_width)

    @property
    def output_size(self) -> int:
        """Edge of the square the generator outputs."""
        return self.resolution if self.variant == "full" else self.resolution // 2

    @property
    def output_box(self) -> tuple[int, int]:
        """``(start, stop)`` of the output square within the window, along both axes."""
        start = (self.resolution - self.output_size) // 2
        return start, start + self.output_size

    @property
    def fill_box(self) -> tuple[int, int]:
        """``(start, stop)`` of the square within the window in which holes can be filled."""
        start, stop = self.output_box
        if self.variant == "center":
            return start + self.overlap, stop - self.overlap
        return start, stop

    def capabilities(self) -> tuple[str, ...]:
        return ("inpaint",)


# ---------------------------------------------------------------------------------------------
# building blocks


class ChannelWiseFC(nn.Module):
    """A fully connected layer per channel: ``m`` separate ``n^2 x n^2`` matrices, no bias.

    ``N x m x n x n -> N x m x n x n``; ``m * n^4`` parameters.
    """

    def __init__(self, channels: int, size: int):
        super().__init__()
        self.channels = channels
        self.size = size
        self.weight = nn.Parameter(torch.empty(channels, size * size, size * size))
        nn.init.normal_(self.weight, 0.0, 1.0 / size)  # std 1/sqrt(fan_in), fan_in = n^2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        flat = x.reshape(batch, self.channels, self.size * self.size)
        out = torch.einsum("bci,cij->bcj", flat, self.weight)
        return out.reshape(batch, self.channels, self.size, self.size)


def _down(in_ch: int, out_ch: int, norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(out_ch))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def _up(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class Encoder(nn.Module):
    """``N x in_channels x R x R -> N x m x n x n``."""

    def __init__(self, config: ContextEncoderConfig):
        super().__init__()
        layers = []
        in_ch = config.in_channels
        for i in range(config.encoder_depth):
            out_ch = config.width(i)
            layers.append(_down(in_ch, out_ch, norm=i > 0))
            in_ch = out_ch
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Bottleneck(nn.Module):
    """Channel-wise fully connected layer, then a 1x1 convolution mixing the channels."""

    def __init__(self, config: ContextEncoderConfig):
        super().__init__()
        m = config.bottleneck_channels
        self.channel_fc = ChannelWiseFC(m, config.bottleneck_size)
        self.mix = nn.Sequential(
            nn.Conv2d(m, m, 1, bias=False),
            nn.BatchNorm2d(m),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mix(self.channel_fc(x))


class Decoder(nn.Module):
    """``N x m x n x n -> N x image_channels x S x S`` (S = ``config.output_size``), in [-1, 1]."""

    def __init__(self, config: ContextEncoderConfig):
        super().__init__()
        steps = int(math.log2(config.output_size // config.bottleneck_size))
        in_ch = config.bottleneck_channels
        layers = []
        for j in range(steps - 1):
            # mirror the encoder: the layer producing size s gets the encoder's width at size s
            out_ch = config.width(config.encoder_depth - 2 - j)
            layers.append(_up(in_ch, out_ch))
            in_ch = out_ch
        layers.append(nn.ConvTranspose2d(in_ch, config.image_channels, 4, stride=2, padding=1))
        layers.append(nn.Tanh())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class ContextEncoder(nn.Module):
    """The generator: ``forward(x)`` with ``x`` from :func:`prepare_input` (``N x in_channels x R x R``)
    returns ``N x image_channels x S x S`` in [-1, 1], the prediction for ``config.output_box``."""

    def __init__(self, config: ContextEncoderConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.bottleneck = Bottleneck(config)
        self.decoder = Decoder(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.bottleneck(self.encoder(x)))


class Discriminator(nn.Module):
    """Real/fake logits (``N``) for ``N x image_channels x S x S`` images (S = ``config.output_size``)."""

    def __init__(self, config: ContextEncoderConfig):
        super().__init__()
        depth = max(1, int(math.log2(config.output_size // 4)))
        layers = []
        in_ch = config.image_channels
        for i in range(depth):
            out_ch = min(config.disc_base_width * 2**i, config.max_width)
            layers.append(_down(in_ch, out_ch, norm=i > 0))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        final = config.output_size // 2**depth
        self.classify = nn.Conv2d(in_ch, 1, final)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x)).flatten(1).mean(dim=1)


# ---------------------------------------------------------------------------------------------
# input and output conventions, shared by the trainer and the inpaint pipeline


def prepare_input(config: ContextEncoderConfig, window: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The generator input: ``window`` (N x C x R x R in [-1, 1]) with the hole blanked to 0, plus
    the mask (N x 1 x R x R, 1 = fill) as a channel when the model takes one."""
    blanked = window * (1.0 - mask)
    if config.mask_channel:
        return torch.cat([blanked, mask], dim=1)
    return blanked


def crop_output_box(config: ContextEncoderConfig, tensor: torch.Tensor) -> torch.Tensor:
    """The part of a window-sized tensor (``... x R x R``) that the generator predicts."""
    start, stop = config.output_box
    return tensor[..., start:stop, start:stop]


def composite(config: ContextEncoderConfig, window: torch.Tensor, mask: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
    """The filled window: ``prediction`` (the generator output) inside the hole, ``window`` elsewhere."""
    start, stop = config.output_box
    filled = window.clone()
    box_mask = mask[..., start:stop, start:stop]
    filled[..., start:stop, start:stop] = prediction * box_mask + window[..., start:stop, start:stop] * (1 - box_mask)
    return filled


def build_networks(config: ContextEncoderConfig) -> dict[str, nn.Module]:
    """``{"G": ContextEncoder, "D": Discriminator}`` with fresh weights (DCGAN-style init)."""
    networks = {"G": ContextEncoder(config), "D": Discriminator(config)}
    for net in networks.values():
        net.apply(_init_weights)
    return networks


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


CONFIG_CLASS = ContextEncoderConfig
