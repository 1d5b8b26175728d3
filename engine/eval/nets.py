"""The judges' architectures: a small segmenter and a small biome classifier.

Both take RGB images as float tensors ``N x 3 x H x W`` in [-1, 1] (see :func:`to_input`, which
resizes to the judge's input size: :data:`SEGMENTER_SIZE` for the segmenter,
:data:`CLASSIFIER_SIZE` for the classifier) and are trained on world images only. Both are
small enough to train on a CPU in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SEGMENTER_SIZE = 128
CLASSIFIER_SIZE = 64
INPUT_SIZE = SEGMENTER_SIZE


def _block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


@dataclass(frozen=True)
class SegmenterConfig:
    """``num_classes`` output channels; ``widths``: channels at 1/2, 1/4, 1/8 and 1/16 resolution."""

    num_classes: int = 16
    widths: tuple[int, int, int, int] = (24, 40, 64, 96)


class Segmenter(nn.Module):
    """A small U-shaped net: image ``N x 3 x H x W`` in [-1, 1] -> class logits ``N x C x H x W``
    (H, W multiples of 16). It works at half resolution and upsamples its logits; context comes
    from two dilated convolutions at 1/16 resolution."""

    def __init__(self, config: SegmenterConfig = SegmenterConfig()):
        super().__init__()
        w1, w2, w3, w4 = config.widths
        self.config = config
        self.enc1 = nn.Sequential(_block(3, w1, stride=2), _block(w1, w1))
        self.enc2 = _block(w1, w2, stride=2)
        self.enc3 = _block(w2, w3, stride=2)
        self.enc4 = _block(w3, w4, stride=2)
        self.context = nn.Sequential(_block(w4, w4, dilation=2), _block(w4, w4, dilation=4))
        self.dec3 = _block(w4 + w3, w3)
        self.dec2 = _block(w3 + w2, w2)
        self.dec1 = _block(w2 + w1, w1)
        self.head = nn.Conv2d(w1, config.num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.context(self.enc4(e3))
        d3 = self.dec3(torch.cat([F.interpolate(e4, size=e3.shape[-2:], mode="bilinear", align_corners=False), e3], 1))
        d2 = self.dec2(torch.cat([F.interpolate(d3, size=e2.shape[-2:], mode="bilinear", align_corners=False), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:], mode="bilinear", align_corners=False), e1], 1))
        return F.interpolate(self.head(d1), size=x.shape[-2:], mode="bilinear", align_corners=False)


@dataclass(frozen=True)
class ClassifierConfig:
    """``num_classes`` biomes; ``widths`` of the four stride-2 stages; ``feature_dim`` of the
    penultimate features (what the world feature distance compares)."""

    num_classes: int = 7
    widths: tuple[int, int, int, int] = (32, 64, 96, 128)
    feature_dim: int = 128


class BiomeClassifier(nn.Module):
    """Image ``N x 3 x H x W`` in [-1, 1] -> biome logits ``N x num_classes``;
    :meth:`features` gives the penultimate ``N x feature_dim`` features."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        w1, w2, w3, w4 = config.widths
        self.config = config
        self.body = nn.Sequential(
            _block(3, w1, stride=2), _block(w1, w2, stride=2), _block(w2, w3, stride=2), _block(w3, w4, stride=2),
            _block(w4, w4),
        )
        self.embed = nn.Sequential(nn.Linear(2 * w4, config.feature_dim), nn.ReLU(inplace=True))
        self.fc = nn.Linear(config.feature_dim, config.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], 1)
        return self.embed(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def to_input(images: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """Images -> the judges' input: ``N x 3 x size x size`` float32 in [-1, 1].

    ``images``: ``N x H x W x 3`` uint8 numpy (RGB) or an ``N x 3 x H x W`` float tensor in
    [-1, 1] (a generator's output). Other sizes are resized (area when shrinking, bilinear when
    enlarging)."""
    if isinstance(images, np.ndarray):
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must be N x H x W x 3 RGB, got {images.shape}")
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    else:
        x = images.float().clamp(-1, 1)
    if x.shape[-1] != size or x.shape[-2] != size:
        mode = "area" if x.shape[-1] > size else "bilinear"
        x = F.interpolate(x, size=(size, size), mode=mode, **({} if mode == "area" else {"align_corners": False}))
    return x
