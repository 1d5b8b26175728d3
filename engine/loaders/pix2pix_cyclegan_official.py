"""Official junyanz/pytorch-CycleGAN-and-pix2pix generator checkpoints.

* pix2pix U-Net (``netG=unet_256/unet_128``): ``<epoch>_net_G.pth`` -> family ``pix2pix_unet``.
* ResNet generators (``netG=resnet_9blocks/resnet_6blocks``; any block count): CycleGAN's
  ``<epoch>_net_G_A.pth`` / ``_net_G_B.pth`` (the other direction is picked up automatically
  when it lies next to the opened file), or a single ``_net_G.pth`` (pix2pix with a ResNet
  generator, or CycleGAN's ``--model test`` export) -> family ``cyclegan_resnet``.

The files are plain state dicts. Every shape is read from the weights: ``input_nc``,
``output_nc``, ``ngf``, ``norm`` (batch when norm layers carry affine weights and running
statistics; stale InstanceNorm statistics of old files are ignored, as the official loader
does), ``num_downs`` (U-Net depth), ``n_blocks``, dropout layers (they shift key indices).
Shape options given (``ngf``, ``norm``, ``input_nc``, ``output_nc``, ``netG``) are checked
against the weights. ``model_suffix`` (``_A``/``_B``) picks the direction used to translate.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

import torch

from engine.errors import CheckpointError
from engine.models.loaded import LoadedModel
from engine.loaders.files import read_checkpoint
from engine.loaders.base import RawCheckpoint, strict_load
from engine.loaders.options import read_bool, read_choice, read_text, to_int
from engine.loaders.resnet_layout import (
    JUNYANZ, ResnetLayout, classify_resnet_generator, file_role, find_stale_instance_norm_keys,
    generator_state, is_local_enhancer, is_resnet_generator, is_unet, norm_kind,
    parse_resnet_sequential, sibling_file,
)
from engine.models import cyclegan, pix2pix

log = logging.getLogger(__name__)

NAME = "pix2pix-cyclegan-official"
#: The family depends on the file: ``pix2pix_unet`` or ``cyclegan_resnet`` (see :data:`FAMILIES`).
FAMILY = "pix2pix_unet|cyclegan_resnet"
FAMILIES = ("pix2pix_unet", "cyclegan_resnet")


def sniff(ckpt: RawCheckpoint, options: Mapping[str, Any]) -> bool:
    """A U-Net generator, or a lone ResNet generator that :func:`classify_resnet_generator`
    attributes to this project (it raises :class:`MissingOptionError` when nothing tells)."""
    state = generator_state(ckpt)
    if not state:
        return False
    if is_unet(state):
        return True
    if not is_resnet_generator(state) or is_local_enhancer(state):
        return False
    kind, reason = classify_resnet_generator(ckpt, state, options)
    if kind == JUNYANZ:
        log.info("%s: a CycleGAN/pix2pix ResNet generator (%s)", ckpt.name, reason)
    return kind == JUNYANZ


def load(ckpt: RawCheckpoint, options: dict[str, Any]) -> LoadedModel:
    state = generator_state(ckpt)
    if is_unet(state):
        return _load_unet(ckpt, state, options)
    return _load_resnet(ckpt, state, options)


# --------------------------------------------------------------------------------------------
# U-Net


def unet_depth(state: Mapping[str, torch.Tensor]) -> int:
    """Number of U-Net levels (``num_downs``) from the nesting of the keys."""
    prefix, depth = "model.model.1", 2
    while any(k.startswith(prefix + ".model.3.model.") for k in state):
        prefix += ".model.3"
        depth += 1
    return depth


def _load_unet(ckpt: RawCheckpoint, state: dict[str, torch.Tensor], options: Mapping[str, Any]) -> LoadedModel:
    what = f"{ckpt.name} (pix2pix U-Net generator)"
    notes: list[str] = []
    stale = find_stale_instance_norm_keys(state)
    if stale:
        notes.append(f"Ignored {len(stale)} stale InstanceNorm statistics (written by an old PyTorch).")
        state = {k: v for k, v in state.items() if k not in stale}
    first, last = state["model.model.0.weight"], state.get("model.model.3.weight")
    if last is None or last.ndim != 4:
        raise CheckpointError(f"{what}: the outermost transposed convolution (model.model.3) is missing; the file may be truncated.")
    shape = {
        "input_nc": int(first.shape[1]),
        "output_nc": int(last.shape[1]),
        "ngf": int(first.shape[0]),
        "num_downs": unet_depth(state),
        "norm": norm_kind(state),
    }
    conflicts = _conflicts(options, shape, ("input_nc", "output_nc", "ngf"))
    net_g = read_text(options, "netG")
    expected_downs = {"unet_256": 8, "unet_128": 7}.get(net_g)
    if expected_downs is not None and expected_downs != shape["num_downs"]:
        conflicts.append(f"netG={net_g} ({expected_downs} levels; weights: {shape['num_downs']})")
    if net_g.startswith("resnet"):
        conflicts.append(f"netG={net_g} (weights: a U-Net)")
    if conflicts:
        raise _conflict_error(what, conflicts)
    use_dropout = not read_bool(options, "no_dropout", True)
    config = pix2pix.Pix2PixUnetConfig(**shape, use_dropout=use_dropout)
    networks = pix2pix.build_networks(config)
    strict_load(networks["G"], state, what)
    return LoadedModel(path=str(ckpt.path), family="pix2pix_unet", source_format=NAME, config=config,
                       networks=networks, metadata={"source": f"{NAME}:{ckpt.name}"}, notes=notes)


# --------------------------------------------------------------------------------------------
# ResNet generators


def _resnet_layout(state: Mapping[str, torch.Tensor], what: str) -> ResnetLayout:
    layout = parse_resnet_sequential(state, "model", what)
    if layout.out_channels is None:
        raise CheckpointError(f"{what}: the generator has no 7x7 output convolution; the file may be truncated.")
    return layout


def _same_architecture(a: ResnetLayout, b: ResnetLayout) -> bool:
    return (a.width, a.n_downsampling, a.n_blocks, a.norm, a.block_dropout, a.block_padding) == (
        b.width, b.n_downsampling, b.n_blocks, b.norm, b.block_dropout, b.block_padding)


def _load_resnet(ckpt: RawCheckpoint, state: dict[str, torch.Tensor], options: Mapping[str, Any]) -> LoadedModel:
    notes: list[str] = []
    parsed = file_role(ckpt.name)
    role = parsed[1] if parsed and parsed[1] in ("G_A", "G_B") else "G"
    what = f"{ckpt.name} (ResNet generator)"
    layout = _resnet_layout(state, what)
    states = {role: state}
    if role in ("G_A", "G_B"):
        other_role = "G_B" if role == "G_A" else "G_A"
        other_path = sibling_file(ckpt, other_role)
        if other_path is not None:
            other_state = generator_state(read_checkpoint(other_path))
            other_layout = _resnet_layout(other_state, f"{other_path.name} (ResNet generator)") if is_resnet_generator(other_state) else None
            if other_layout is not None and _same_architecture(layout, other_layout) and (
                    other_layout.in_channels, other_layout.out_channels) == (layout.out_channels, layout.in_channels):
                states[other_role] = other_state
            else:
                notes.append(f"{other_path.name} lies next to it but is not the matching other direction; loaded {ckpt.name} only.")
    # channels as G_A sees them (input_nc: domain A)
    input_nc, output_nc = (layout.out_channels, layout.in_channels) if role == "G_B" else (layout.in_channels, layout.out_channels)
    shape = {"input_nc": input_nc, "output_nc": output_nc, "ngf": layout.width, "norm": layout.norm}
    conflicts = _conflicts(options, shape, ("input_nc", "output_nc", "ngf"))
    net_g = read_text(options, "netG")
    if net_g.startswith("resnet_") and net_g.endswith("blocks"):
        try:
            blocks = int(net_g[len("resnet_"):-len("blocks")])
        except ValueError:
            blocks = None
        if blocks is not None and blocks != layout.n_blocks:
            conflicts.append(f"netG={net_g} (weights: {layout.n_blocks} blocks)")
    if net_g.startswith("unet"):
        conflicts.append(f"netG={net_g} (weights: a ResNet generator)")
    if conflicts:
        raise _conflict_error(what, conflicts)

    roles = tuple(sorted(states))
    primary = role
    suffix = read_text(options, "model_suffix")
    if suffix in ("_a", "_b") and f"G_{suffix[1:].upper()}" in states:
        primary = f"G_{suffix[1:].upper()}"
    config = cyclegan.CycleGANResnetConfig(
        input_nc=input_nc, output_nc=output_nc, ngf=layout.width, n_blocks=layout.n_blocks,
        n_downsampling=layout.n_downsampling, norm=layout.norm, use_dropout=layout.block_dropout,
        padding_type=layout.block_padding, networks=roles, primary_network=primary,
    )
    networks = cyclegan.build_networks(config)
    stale_total = 0
    for net_role, net_state in states.items():
        stale = set(find_stale_instance_norm_keys(net_state))
        stale_total += len(stale)
        name = ckpt.name if net_role == role else sibling_file(ckpt, net_role).name
        strict_load(networks[net_role], {k: v for k, v in net_state.items() if k not in stale}, f"{name} (ResNet generator {net_role})")
    if stale_total:
        notes.append(f"Ignored {stale_total} stale InstanceNorm statistics (written by an old PyTorch).")
    if len(states) == 2:
        notes.append(f"Loaded both directions (G_A: A->B, G_B: B->A); translating with {primary}.")
    sources = " + ".join(ckpt.name if r == role else sibling_file(ckpt, r).name for r in roles)
    return LoadedModel(path=str(ckpt.path), family="cyclegan_resnet", source_format=NAME, config=config,
                       networks=networks, metadata={"source": f"{NAME}:{sources}"}, notes=notes)


def _conflicts(options: Mapping[str, Any], shape: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    conflicts = [f"{key}={options[key]} (weights: {shape[key]})"
                 for key in keys if options.get(key) is not None and to_int(options[key], key) != shape[key]]
    norm = read_choice(options, "norm", ("batch", "instance", "none"))
    if norm in ("batch", "instance") and norm != shape["norm"]:
        conflicts.append(f"norm={norm} (weights: {shape['norm']})")
    return conflicts


def _conflict_error(what: str, conflicts: list[str]) -> CheckpointError:
    return CheckpointError(
        f"{what}: the options disagree with the weights: {', '.join(conflicts)}. The options (opt.txt, sidecar "
        "JSON or flags) probably belong to another model; fix or remove them."
    )
