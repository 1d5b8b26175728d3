"""Shared reading of the official pix2pixHD / CycleGAN / pix2pix generator state dicts.

Both official projects store their ResNet generators as one ``nn.Sequential`` called ``model``
(keys ``model.<i>.*``, residual blocks ``model.<i>.conv_block.<j>.*``), and the layouts coincide
for a pix2pixHD global generator with two downsamplings and a CycleGAN ResNet generator. This
module reads a layout's shapes from the weights (:func:`parse_resnet_sequential`) and decides,
from the evidence a file offers, which project wrote it (:func:`classify_resnet_generator`).
It is not a format module itself; the sniffs of ``pix2pixhd_official`` and
``pix2pix_cyclegan_official`` each claim only their own verdict of the classifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import torch

from engine.errors import CheckpointError, MissingOptionError
from engine.loaders.base import RawCheckpoint
from engine.loaders.options import read_text

_TOP = re.compile(r"^(?P<prefix>[A-Za-z0-9_]+)\.(?P<index>\d+)\.(?P<rest>.+)$")
_BLOCK_CONV = re.compile(r"^conv_block\.(\d+)\.weight$")
_GENERATOR_FILE = re.compile(r"^(?P<epoch>.+)_net_(?P<role>G|G_A|G_B|E)\.(?P<ext>pth|pt)$")

PIX2PIXHD = "pix2pixhd"
JUNYANZ = "junyanz"  # junyanz/pytorch-CycleGAN-and-pix2pix


def generator_state(ckpt: RawCheckpoint) -> dict[str, torch.Tensor]:
    """The flat tensor dict of an official generator file, without a DataParallel ``module.`` prefix."""
    state = ckpt.tensors()
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def file_role(path_name: str) -> tuple[str, str] | None:
    """``("latest", "G_A")`` for ``latest_net_G_A.pth``; None for other names."""
    match = _GENERATOR_FILE.match(path_name)
    if not match:
        return None
    return match.group("epoch"), match.group("role")


def sibling_file(ckpt: RawCheckpoint, role: str):
    """The file of network ``role`` saved with the same epoch next to ``ckpt`` (or None)."""
    parsed = file_role(ckpt.name)
    if parsed is None:
        return None
    epoch, _ = parsed
    for ext in (ckpt.path.suffix, ".pth", ".pt"):
        found = ckpt.sibling(f"{epoch}_net_{role}{ext}")
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------------------------
# Sniffing


def is_unet(state: Mapping[str, torch.Tensor]) -> bool:
    """The nested-Sequential layout of the official U-Net generator."""
    return "model.model.0.weight" in state and any(k.startswith("model.model.1.model.") for k in state)


def is_local_enhancer(state: Mapping[str, torch.Tensor]) -> bool:
    return any(k.startswith("model1_1.") for k in state) and any(k.startswith("model1_2.") for k in state)


def is_resnet_generator(state: Mapping[str, torch.Tensor]) -> bool:
    """A ``model.<i>`` Sequential starting with a 7x7 conv and holding ``conv_block`` residual blocks."""
    if not state or not all(re.match(r"^model(\d+_\d+)?\.\d+\.", k) for k in state):
        return False
    stem = state.get("model.1.weight")
    if stem is None or stem.ndim != 4 or tuple(stem.shape[-2:]) != (7, 7):
        return False
    return any(".conv_block." in k for k in state)


def is_feature_encoder(state: Mapping[str, torch.Tensor]) -> bool:
    """The pix2pixHD feature encoder: a ``model.<i>`` Sequential of plain convs, 7x7 at both ends."""
    if not state or not all(re.match(r"^model\.\d+\.", k) for k in state) or any(".conv_block." in k for k in state):
        return False
    stem = state.get("model.1.weight")
    return stem is not None and stem.ndim == 4 and tuple(stem.shape[-2:]) == (7, 7)


# --------------------------------------------------------------------------------------------
# Reading shapes


@dataclass
class ResnetLayout:
    """What the weights of one ``<prefix>.<i>`` Sequential tell (pix2pixHD / CycleGAN style).

    ``norm``: ``"batch"`` or ``"instance"``; ``stale_keys``: leftover InstanceNorm running
    statistics (pre-0.4 PyTorch files) that hold nothing the network uses.
    """

    in_channels: int
    width: int
    n_downsampling: int
    n_blocks: int
    block_width: int
    out_channels: int | None
    norm: str
    conv_bias: bool
    block_dropout: bool = False
    block_padding: str = "reflect"
    stale_keys: list[str] = field(default_factory=list)


def find_stale_instance_norm_keys(state: Mapping[str, torch.Tensor]) -> list[str]:
    """Running statistics of norm layers that have no affine weight: InstanceNorm buffers saved
    by old PyTorch versions. The official loaders delete them; so do we."""
    stale = []
    for key in state:
        for buffer in ("running_mean", "running_var", "num_batches_tracked"):
            if key.endswith("." + buffer):
                module = key[: -len(buffer) - 1]
                if module + ".weight" not in state:
                    stale.append(key)
    return stale


def norm_kind(state: Mapping[str, torch.Tensor]) -> str:
    """``"batch"`` if any norm layer has affine weights with running stats, else ``"instance"``."""
    for key in state:
        if key.endswith(".running_mean") and key[: -len("running_mean")] + "weight" in state:
            return "batch"
    return "instance"


def parse_resnet_sequential(state: Mapping[str, torch.Tensor], prefix: str, what: str) -> ResnetLayout:
    """Read a generator Sequential stored under ``prefix`` (e.g. ``"model"``): stem, stride-2
    convs, residual blocks, transposed convs, optional 7x7 head. Raises :class:`CheckpointError`
    naming ``what`` when the keys do not form that layout."""
    layers: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        match = _TOP.match(key)
        if match and match.group("prefix") == prefix:
            layers.setdefault(int(match.group("index")), {})[match.group("rest")] = value
    if not layers:
        raise CheckpointError(f"{what}: no '{prefix}.<i>' layers found; this is not a pix2pixHD/CycleGAN generator file.")
    convs: list[tuple[int, torch.Tensor]] = []
    blocks: list[int] = []
    block_convs: set[int] = set()
    for index in sorted(layers):
        entries = layers[index]
        if any(name.startswith("conv_block.") for name in entries):
            blocks.append(index)
            for name, value in entries.items():
                match = _BLOCK_CONV.match(name)
                if match and value.ndim == 4:
                    block_convs.add(int(match.group(1)))
        elif "weight" in entries and entries["weight"].ndim == 4:
            convs.append((index, entries["weight"]))
    if not convs or tuple(convs[0][1].shape[-2:]) != (7, 7):
        raise CheckpointError(f"{what}: the first layer is not the expected 7x7 convolution; the file is not a generator this loader knows.")
    first_block = blocks[0] if blocks else None
    before = [w for i, w in convs[1:] if first_block is None or i < first_block]
    after = [w for i, w in convs[1:] if first_block is not None and i > first_block]
    head = None
    if after and tuple(after[-1].shape[-2:]) == (7, 7):
        head = after.pop()
    elif not blocks and before and tuple(before[-1].shape[-2:]) == (7, 7):
        head = before.pop()
    block_width = int(before[-1].shape[0]) if before else int(convs[0][1].shape[0])
    if blocks:
        width = state[f"{prefix}.{blocks[0]}.conv_block.{min(block_convs)}.weight"].shape[0]
        block_width = int(width)
    stem = convs[0][1]
    if block_convs and min(block_convs) == 0:
        padding = "zero"
    else:
        padding = "reflect"
    # second block conv at 5 (reflect/replicate) or 3 (zero padding); one later with dropout
    dropout = bool(block_convs) and max(block_convs) - min(block_convs) == (4 if padding == "zero" else 5)
    return ResnetLayout(
        in_channels=int(stem.shape[1]),
        width=int(stem.shape[0]),
        n_downsampling=len(before),
        n_blocks=len(blocks),
        block_width=block_width,
        out_channels=int(head.shape[0]) if head is not None else None,
        norm=norm_kind(state),
        conv_bias=f"{prefix}.{convs[0][0]}.bias" in state,
        block_dropout=dropout,
        block_padding=padding,
        stale_keys=find_stale_instance_norm_keys(state),
    )


# --------------------------------------------------------------------------------------------
# Which project wrote this ResNet generator?


def classify_resnet_generator(ckpt: RawCheckpoint, state: Mapping[str, torch.Tensor],
                              options: Mapping[str, Any]) -> tuple[str, str]:
    """``(PIX2PIXHD or JUNYANZ, reason)`` for a single-Sequential ResNet generator.

    Evidence, strongest first: the ``model``/``netG`` options; the file name (``_net_G_A``/``_B``,
    which pix2pixHD never writes); pix2pixHD-only options (``label_nc``, ``no_instance``, ...);
    sibling files (``_net_E`` vs ``_net_G_B``/``_net_D_A``); the weights themselves
    (downsampling count other than 2, biased convs before batch norm, label-map-like input
    channel counts). Raises :class:`MissingOptionError` (option ``model``) when nothing decides.
    """
    model = read_text(options, "model").replace("-", "_")
    if model in ("pix2pixhd",):
        return PIX2PIXHD, "option model=pix2pixHD"
    if model in ("cycle_gan", "cyclegan", "pix2pix", "test", "colorization"):
        return JUNYANZ, f"option model={model}"
    net_g = read_text(options, "netG")
    if net_g in ("global", "local"):
        return PIX2PIXHD, f"option netG={net_g}"
    if net_g.startswith("resnet") or net_g.startswith("unet"):
        return JUNYANZ, f"option netG={net_g}"
    role = file_role(ckpt.name)
    if role and role[1] in ("G_A", "G_B"):
        return JUNYANZ, f"file name {ckpt.name} (CycleGAN's G_A/G_B)"
    for name in ("label_nc", "no_instance", "instance_feat", "label_feat", "n_downsample_global", "n_blocks_global"):
        if name in options:
            return PIX2PIXHD, f"option {name} (a pix2pixHD option)"
    if sibling_file(ckpt, "E") is not None:
        return PIX2PIXHD, "a pix2pixHD feature encoder (net_E) lies next to it"
    for other in ("G_A", "G_B", "D_A", "D_B"):
        if sibling_file(ckpt, other) is not None:
            return JUNYANZ, f"a CycleGAN net_{other} file lies next to it"
    layout = parse_resnet_sequential(state, "model", ckpt.name)
    if layout.n_downsampling != 2:
        return PIX2PIXHD, f"{layout.n_downsampling} downsampling layers (CycleGAN always has 2)"
    if layout.norm == "batch":
        if layout.conv_bias:
            return PIX2PIXHD, "biased convolutions before batch norm (pix2pixHD's layout)"
        return JUNYANZ, "bias-free convolutions before batch norm (CycleGAN's layout)"
    if layout.in_channels not in (1, 3):
        return PIX2PIXHD, f"{layout.in_channels} input channels (a one-hot label map, not an image)"
    raise MissingOptionError(
        f"{ckpt.name} is a ResNet generator that could be either a pix2pixHD global generator or a "
        "CycleGAN/pix2pix ResNet generator: their files look the same and nothing next to it tells them "
        "apart. Pass the option model=pix2pixHD or model=cycle_gan (in a sidecar JSON next to the file, "
        "e.g. {\"model\": \"cycle_gan\"}, or on the command line), or keep the official opt.txt next to it.",
        option="model",
    )
