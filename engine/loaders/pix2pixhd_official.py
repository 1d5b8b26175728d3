"""Official NVIDIA/pix2pixHD checkpoints: ``<epoch>_net_G.pth`` (+ ``<epoch>_net_E.pth``).

The files are plain state dicts. Every shape is read from the weights: ``netG`` (global or
local, from ``model1_1.*`` keys), ``ngf``, ``n_downsample_global``, ``n_blocks_global``,
``n_local_enhancers``, ``n_blocks_local``, ``norm`` (batch when norm layers carry running
statistics), ``output_nc``, and for the feature encoder ``feat_num``, ``nef``,
``n_downsample_E``. The encoder is picked up automatically from the sibling ``_net_E`` file.

What the weights cannot tell is how the generator's input channels split into
``label_nc`` one-hot channels, an instance-edge channel (``no_instance``) and features; options
(official names, from ``opt.txt``, a sidecar JSON or flags) decide: ``label_nc``,
``no_instance``, ``instance_feat``/``label_feat``, ``feat_num``. The official default
(35 Cityscapes classes + an edge channel = 36 inputs) is assumed when it fits and nothing is given.

Options that describe shapes (``ngf`` ...) are checked against the weights; a disagreement is
an error, since it means the options belong to another model.

A global generator with two downsamplings looks exactly like a CycleGAN ResNet generator; see
:func:`engine.loaders.resnet_layout.classify_resnet_generator` for how they are told apart.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Mapping

import torch

from engine.errors import CheckpointError, MissingOptionError
from engine.labelsets import model_label_set
from engine.models.loaded import LoadedModel
from engine.loaders.files import read_checkpoint
from engine.loaders.base import RawCheckpoint, strict_load
from engine.loaders.options import read_bool, read_choice, read_int, read_text
from engine.loaders.resnet_layout import (
    PIX2PIXHD, classify_resnet_generator, file_role, find_stale_instance_norm_keys,
    generator_state, is_feature_encoder, is_local_enhancer, is_resnet_generator, is_unet, norm_kind,
    parse_resnet_sequential, sibling_file,
)
from engine.models.pix2pixhd import Pix2PixHDConfig, build_networks

log = logging.getLogger(__name__)

NAME = "pix2pixhd-official"
FAMILY = "pix2pixhd"

#: input channels of the official default model (label_nc=35 Cityscapes labelIds + instance edges)
_DEFAULT_INPUT_CHANNELS = 36


def sniff(ckpt: RawCheckpoint, options: Mapping[str, Any]) -> bool:
    """A local enhancer, a feature encoder with its generator next to it, or a lone ResNet
    generator that :func:`classify_resnet_generator` attributes to pix2pixHD (it raises
    :class:`MissingOptionError` when nothing tells the two projects apart)."""
    state = generator_state(ckpt)
    if not state:
        return False
    if is_local_enhancer(state):
        return True
    if is_resnet_generator(state) and not is_unet(state):
        kind, reason = classify_resnet_generator(ckpt, state, options)
        if kind == PIX2PIXHD:
            log.info("%s: a pix2pixHD generator (%s)", ckpt.name, reason)
        return kind == PIX2PIXHD
    role = file_role(ckpt.name)
    return bool(role and role[1] == "E" and is_feature_encoder(state) and sibling_file(ckpt, "G"))


def load(ckpt: RawCheckpoint, options: dict[str, Any]) -> LoadedModel:
    notes: list[str] = []
    state = generator_state(ckpt)
    role = file_role(ckpt.name)
    if role and role[1] == "E" and is_feature_encoder(state):
        generator_path = sibling_file(ckpt, "G")
        if generator_path is None:
            raise CheckpointError(f"{ckpt.name} is a pix2pixHD feature encoder; open the generator ({role[0]}_net_G.pth) instead.")
        notes.append(f"{ckpt.name} is the feature encoder; loaded the generator {generator_path.name} with it.")
        ckpt = read_checkpoint(generator_path)
        state = generator_state(ckpt)

    encoder_state: dict[str, torch.Tensor] | None = None
    encoder_path = sibling_file(ckpt, "E")
    if encoder_path is not None:
        encoder_state = generator_state(read_checkpoint(encoder_path))
        if not is_feature_encoder(encoder_state):
            raise CheckpointError(f"{encoder_path.name} lies next to {ckpt.name} but is not a pix2pixHD feature encoder; move it away or replace it.")

    config, config_notes = infer_config(state, encoder_state, options, ckpt.name)
    notes += config_notes
    networks = build_networks(config)
    stale = find_stale_instance_norm_keys(state)
    if stale:
        notes.append(f"Ignored {len(stale)} stale InstanceNorm statistics (written by an old PyTorch).")
    strict_load(networks["G"], {k: v for k, v in state.items() if k not in stale}, f"{ckpt.name} (pix2pixHD generator)")
    if "E" in networks:
        if encoder_state is not None:
            stale_e = set(find_stale_instance_norm_keys(encoder_state))
            strict_load(networks["E"], {k: v for k, v in encoder_state.items() if k not in stale_e},
                        f"{encoder_path.name} (pix2pixHD feature encoder)")
        else:
            del networks["E"]
            notes.append("No feature encoder (_net_E.pth) next to the generator: per-instance features are "
                         "sampled from the seed instead of encoded from a style image.")
    return LoadedModel(
        path=str(ckpt.path),
        family=FAMILY,
        source_format=NAME,
        config=config,
        networks=networks,
        label_set=model_label_set(config.label_nc),
        metadata={"source": f"{NAME}:{ckpt.name}" + (f" + {encoder_path.name}" if encoder_path and "E" in networks else "")},
        notes=notes,
    )


def _count_prefixed(state: Mapping[str, torch.Tensor], pattern: str) -> int:
    regex = re.compile(pattern)
    return len({m.group(1) for m in (regex.match(k) for k in state) if m})


def infer_config(state: Mapping[str, torch.Tensor], encoder_state: Mapping[str, torch.Tensor] | None,
                 options: Mapping[str, Any], name: str) -> tuple[Pix2PixHDConfig, list[str]]:
    """Build the config from the weights, with options filling in what the weights cannot tell."""
    notes: list[str] = []
    what = f"{name} (pix2pixHD generator)"
    local = is_local_enhancer(state)
    coarse = parse_resnet_sequential(state, "model", what)
    if coarse.block_padding != "reflect":
        raise CheckpointError(f"{what}: residual blocks without padding layers are not pix2pixHD's layout.")
    shape: dict[str, Any] = {
        "netG": "local" if local else "global",
        "n_downsample_global": coarse.n_downsampling,
        "n_blocks_global": coarse.n_blocks,
        "norm": norm_kind(state),
        "resnet_dropout": coarse.block_dropout,
    }
    in_channels = coarse.in_channels
    if local:
        n_local = _count_prefixed(state, r"^model(\d+)_1\.")
        if _count_prefixed(state, r"^model(\d+)_2\.") != n_local or f"model{n_local}_1.1.weight" not in state:
            raise CheckpointError(f"{what}: the local enhancer branches (model<n>_1 / model<n>_2) are incomplete; the file may be damaged.")
        ngf = int(state[f"model{n_local}_1.1.weight"].shape[0])
        if coarse.width != ngf * 2**n_local:
            raise CheckpointError(f"{what}: the global part is {coarse.width} wide but the finest branch {ngf}; expected a factor 2**{n_local}.")
        head = state.get(f"model{n_local}_2.{_last_index(state, f'model{n_local}_2')}.weight")
        if head is None or head.ndim != 4 or tuple(head.shape[-2:]) != (7, 7):
            raise CheckpointError(f"{what}: the last local branch has no 7x7 output convolution; the file may be truncated.")
        shape.update(ngf=ngf, n_local_enhancers=n_local, output_nc=int(head.shape[0]),
                     n_blocks_local=_count_prefixed(state, r"^model1_2\.(\d+)\.conv_block\."))
    else:
        if coarse.out_channels is None:
            raise CheckpointError(f"{what}: the generator has no 7x7 output convolution; the file may be truncated.")
        shape.update(ngf=coarse.width, output_nc=coarse.out_channels)

    features: dict[str, Any] = {"instance_feat": False, "label_feat": False}
    if encoder_state is not None:
        label_feat = read_bool(options, "label_feat", False)
        e_convs = [v for k, v in encoder_state.items() if k.endswith(".weight") and v.ndim == 4]
        features.update(
            instance_feat=not label_feat, label_feat=label_feat,
            feat_num=int(e_convs[-1].shape[0]), nef=int(e_convs[0].shape[0]),
            n_downsample_E=sum(1 for v in e_convs if tuple(v.shape[-2:]) == (3, 3)) // 2,
        )
        if int(e_convs[0].shape[1]) != shape["output_nc"]:
            raise CheckpointError(f"The feature encoder next to {name} takes {int(e_convs[0].shape[1])}-channel images but the "
                                  f"generator makes {shape['output_nc']}-channel ones; they are not from the same model.")
    else:
        features["instance_feat"] = read_bool(options, "instance_feat", False)
        features["label_feat"] = read_bool(options, "label_feat", False)
        for key in ("feat_num", "nef", "n_downsample_E"):
            if options.get(key) is not None:
                features[key] = read_int(options, key)
    feat_channels = features.get("feat_num", 3) if (features["instance_feat"] or features["label_feat"]) else 0

    inputs = _split_input_channels(in_channels, feat_channels, options, what, notes)
    _check_options(options, shape, features, what)
    config = Pix2PixHDConfig(**shape, **features, **inputs)
    if config.generator_input_nc != in_channels:  # defensive: the split above must add up
        raise CheckpointError(f"{what}: internal mismatch of input channels ({config.generator_input_nc} vs {in_channels}).")
    return config, notes


def _last_index(state: Mapping[str, torch.Tensor], prefix: str) -> int:
    indices = [int(m.group(1)) for m in (re.match(rf"^{re.escape(prefix)}\.(\d+)\.weight$", k) for k in state) if m]
    return max(indices) if indices else -1


def _split_input_channels(in_channels: int, feat_channels: int, options: Mapping[str, Any], what: str,
                          notes: list[str]) -> dict[str, Any]:
    """``label_nc``, ``no_instance`` (and ``input_nc`` for image input) from the first conv's
    input channels = base + (1 edge channel unless no_instance) + feature channels."""
    rest = in_channels - feat_channels
    label_nc = read_int(options, "label_nc")
    no_instance = read_bool(options, "no_instance")
    layout_hint = (f"The generator takes {in_channels} input channels = label_nc one-hot channels + 1 instance-edge "
                   f"channel (unless no_instance)" + (f" + {feat_channels} feature channels" if feat_channels else "")
                   + (". If it was trained with --instance_feat or --label_feat, pass that option and feat_num too"
                      if not feat_channels else ""))

    if label_nc == 0:  # the input is an image
        input_nc = read_int(options, "input_nc")
        if no_instance is None:
            if input_nc is None:
                raise MissingOptionError(f"{what}: label_nc=0 (image input); pass no_instance (true/false) or input_nc. {layout_hint}.", option="no_instance")
            no_instance = rest - input_nc == 0
        edge = 0 if no_instance else 1
        if input_nc is None:
            input_nc = rest - edge
        if input_nc < 1 or input_nc + edge != rest:
            raise CheckpointError(f"{what}: input_nc={input_nc}, no_instance={no_instance} do not fit. {layout_hint}.")
        return {"label_nc": 0, "input_nc": input_nc, "no_instance": no_instance}

    if label_nc is not None:
        edge = rest - label_nc
        if no_instance is not None and edge != (0 if no_instance else 1) or edge not in (0, 1):
            given = f"label_nc={label_nc}" + (f", no_instance={no_instance}" if no_instance is not None else "")
            raise CheckpointError(f"{what}: the options {given} do not fit the weights. {layout_hint}; check the options.")
        return {"label_nc": label_nc, "no_instance": edge == 0}
    if no_instance is not None:
        label_nc = rest - (0 if no_instance else 1)
        if label_nc < 1:
            raise CheckpointError(f"{what}: no_instance={no_instance} leaves no label channels. {layout_hint}.")
        return {"label_nc": label_nc, "no_instance": no_instance}
    if rest == _DEFAULT_INPUT_CHANNELS:
        notes.append("Assumed the official defaults label_nc=35 (Cityscapes labelIds) with an instance-edge channel; "
                     "pass label_nc/no_instance if that is wrong.")
        return {"label_nc": 35, "no_instance": False}
    raise MissingOptionError(
        f"{what}: the number of label classes cannot be read from the weights. {layout_hint}. Pass label_nc "
        "(and no_instance=true if the model takes no instance map), or keep the official opt.txt next to the file.",
        option="label_nc",
    )


def _check_options(options: Mapping[str, Any], shape: Mapping[str, Any], features: Mapping[str, Any], what: str) -> None:
    """Options that describe shapes must agree with the weights."""
    relevant = ["ngf", "n_downsample_global", "n_blocks_global", "output_nc"]
    if shape["netG"] == "local":
        relevant += ["n_local_enhancers", "n_blocks_local"]
    conflicts = []
    for key in relevant:
        if read_int(options, key, shape[key]) != shape[key]:
            conflicts.append(f"{key}={options[key]} (weights: {shape[key]})")
    net_g = read_text(options, "netG")
    if net_g in ("global", "local") and net_g != shape["netG"]:
        conflicts.append(f"netG={net_g} (weights: {shape['netG']})")
    norm = read_choice(options, "norm", ("batch", "instance", "none"))
    if norm in ("batch", "instance") and norm != shape["norm"]:
        conflicts.append(f"norm={norm} (weights: {shape['norm']})")
    if features.get("instance_feat") or features.get("label_feat"):
        for key in ("feat_num", "nef", "n_downsample_E"):
            if key in features and read_int(options, key, features[key]) != features[key]:
                conflicts.append(f"{key}={options[key]} (weights: {features[key]})")
    if conflicts:
        raise CheckpointError(
            f"{what}: the options disagree with the weights: {', '.join(conflicts)}. The options (opt.txt, sidecar "
            "JSON or flags) probably belong to another model; fix or remove them."
        )
