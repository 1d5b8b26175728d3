"""The convolutional part of VGG19 (Simonyan & Zisserman, 2014) as a fixed feature extractor
for perceptual losses (ESRGAN compares conv5_4 features before the activation).

Our own implementation, laid out as torchvision's ``vgg19().features`` (keys ``features.{i}.weight``
and ``.bias``; ``i`` counts convs, ReLUs and max-pools alike), so torchvision's ImageNet file
(``vgg19-dcbb9e9d.pth``) and BasicSR's copy of it load directly. GAN Studio cannot download it:
the trainers look for it on disk (see :func:`find_weights`).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

#: output channels per conv, "M" = 2x2 max-pool (VGG19, configuration E)
LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
#: ImageNet statistics the weights were trained with (inputs in [0, 1] are normalised with them)
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
ENV_VAR = "GAN_STUDIO_VGG19"
TORCHVISION_NAME = "vgg19-dcbb9e9d.pth"


def layer_indices() -> dict[str, int]:
    """``{"conv1_1": 0, "relu1_1": 1, ..., "pool5": 36}``: the index in ``features`` of each named layer."""
    names: dict[str, int] = {}
    block, conv, index = 1, 0, 0
    for item in LAYOUT:
        if item == "M":
            names[f"pool{block}"] = index
            block, conv, index = block + 1, 0, index + 1
        else:
            conv += 1
            names[f"conv{block}_{conv}"] = index
            names[f"relu{block}_{conv}"] = index + 1
            index += 2
    return names


class VGG19Features(nn.Module):
    """``forward(x)``: ``N x 3 x H x W`` RGB in [0, 1] -> the output of layer ``last`` (a name of
    :func:`layer_indices`). Parameters never require gradients."""

    def __init__(self, last: str = "conv5_4"):
        super().__init__()
        indices = layer_indices()
        if last not in indices:
            raise ValueError(f"unknown VGG19 layer {last!r}; one of {', '.join(indices)}")
        self.last = last
        layers: list[nn.Module] = []
        channels = 3
        for item in LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=True)]
                channels = int(item)
        self.features = nn.Sequential(*layers[:indices[last] + 1])
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features((x - self.mean) / self.std)

    def load_weights(self, state: dict[str, torch.Tensor], what: str) -> None:
        """Load the ``features.*`` tensors this truncated network needs from a full VGG19 state;
        the rest of the file (deeper layers, the classifier) is not needed and left out."""
        from engine.loaders.base import strict_load

        wanted = self.state_dict().keys()
        strict_load(self, {k: v for k, v in state.items() if k in wanted}, what)


def find_weights(explicit: str | None = None) -> Path | None:
    """The VGG19 weights file: ``explicit`` if given, else ``$GAN_STUDIO_VGG19``, else torchvision's
    download cache (``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``); None when none exists."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")).expanduser()
    cached = torch_home / "hub" / "checkpoints" / TORCHVISION_NAME
    return cached if cached.is_file() else None
