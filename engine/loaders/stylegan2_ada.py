"""NVlabs stylegan2-ada-pytorch network pickles (``network-snapshot-*.pkl``) -> StyleGAN2.

The file is read by :mod:`engine.loaders.safe_pickle` (no embedded source is ever executed);
``G_ema`` arrives as a :class:`PersistentObject` whose ``init_kwargs`` hold the official
constructor arguments (``z_dim``, ``w_dim``, ``c_dim``, ``img_resolution``, ``img_channels``,
``mapping_kwargs``, ``synthesis_kwargs``) and whose state holds the weights. We build our own
:class:`~engine.models.stylegan2.StyleGAN2Generator` from those arguments and convert the keys
with :func:`convert_key`.

Options: none are needed. ``network`` picks another generator in the snapshot (default
``G_ema``; ``G`` is the raw, non-averaged one and gives worse images).
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any, Mapping

import torch

from engine.errors import CheckpointError
from engine.models.loaded import LoadedModel
from engine.loaders.options import read_int
from engine.loaders.base import RawCheckpoint, strict_load
from engine.loaders.safe_pickle import PersistentObject
from engine.models.stylegan2 import StyleGAN2Config, build_networks, make_filter, widths_from_channel_rule

log = logging.getLogger(__name__)

NAME = "stylegan2-ada-pkl"
FAMILY = "stylegan2"

#: Persistent classes a StyleGAN2-ADA generator is made of.
GENERATOR_CLASSES = {
    "Generator", "MappingNetwork", "FullyConnectedLayer", "SynthesisNetwork", "SynthesisBlock",
    "SynthesisLayer", "ToRGBLayer", "Conv2dLayer",
}
#: Class names that mark a StyleGAN3 generator (same outer class name, different network).
STYLEGAN3_CLASSES = {"SynthesisInput"}
#: Official Generator constructor parameters, in positional order.
GENERATOR_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs")
#: Official kwargs we read; others are reported in the model's notes.
KNOWN_MAPPING_KWARGS = {"num_layers", "lr_multiplier", "layer_features", "embed_features", "activation", "w_avg_beta", "num_ws"}
KNOWN_SYNTHESIS_KWARGS = {
    "channel_base", "channel_max", "num_fp16_res", "conv_clamp", "architecture", "resample_filter",
    "use_noise", "fp16_channels_last", "activation",
}


def sniff(ckpt: RawCheckpoint, options: Mapping[str, Any]) -> bool:
    """Any network pickle: a dict holding persistent network objects (or G/G_ema/D keys), or a
    bare persistent Generator. :func:`load` then says precisely what is wrong with it, if anything."""
    if ckpt.kind != "pickle":
        return False
    obj = ckpt.obj
    if isinstance(obj, PersistentObject):
        return True
    if isinstance(obj, Mapping):
        return any(k in obj for k in ("G_ema", "G", "D")) or any(isinstance(v, PersistentObject) for v in obj.values())
    return False


def load(ckpt: RawCheckpoint, options: dict[str, Any]) -> LoadedModel:
    generator, which = _pick_generator(ckpt, options)
    _check_classes(ckpt, generator)
    config, notes = config_from_pickle(ckpt, generator)
    state = convert_state(ckpt, generator.state_dict(), config)
    networks = build_networks(config)
    strict_load(networks["G"], state, f"{ckpt.name} (StyleGAN2-ADA {which})")
    metadata: dict[str, Any] = {"network": which}
    if isinstance(ckpt.obj, Mapping):
        tsk = ckpt.obj.get("training_set_kwargs")
        if isinstance(tsk, Mapping):
            metadata["training_set_kwargs"] = {k: v for k, v in tsk.items() if isinstance(v, (str, int, float, bool, type(None)))}
    if which != "G_ema":
        notes.append(f"Using '{which}' instead of 'G_ema' as asked; the moving-average generator usually looks better.")
    return LoadedModel(
        path=str(ckpt.path), family=FAMILY, source_format=NAME, config=config, networks=networks,
        metadata=metadata, notes=notes,
    )


# --------------------------------------------------------------------------------------------


def _pick_generator(ckpt: RawCheckpoint, options: Mapping[str, Any]) -> tuple[PersistentObject, str]:
    obj = ckpt.obj
    which = str(options.get("network") or "G_ema")
    if isinstance(obj, PersistentObject):
        return obj, "(bare network)"
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{ckpt.name} is a pickle of a {type(obj).__name__}, not a StyleGAN2-ADA network snapshot.")
    keys = ", ".join(repr(str(k)) for k in list(obj)[:12]) or "nothing"
    if which not in obj:
        hint = " It has 'G' (the raw generator): pass the option network=G to use it." if "G" in obj and which == "G_ema" else ""
        raise CheckpointError(
            f"{ckpt.name} looks like a StyleGAN2-ADA network pickle but holds no '{which}' generator "
            f"(it holds {keys}). It may be a discriminator-only or truncated snapshot; use a "
            f"network-snapshot-*.pkl written by training.{hint}"
        )
    gen = obj[which]
    if not isinstance(gen, PersistentObject):
        raise CheckpointError(f"{ckpt.name}: '{which}' is a {type(gen).__name__}, not a network object; the file is not a StyleGAN2-ADA snapshot.")
    return gen, which


def _check_classes(ckpt: RawCheckpoint, gen: PersistentObject) -> None:
    names = {o.class_name for _, o in gen.walk()}
    if names & STYLEGAN3_CLASSES:
        raise CheckpointError(
            f"{ckpt.name} holds a StyleGAN3 generator; GAN Studio opens StyleGAN2 / StyleGAN2-ADA "
            "pickles only so far."
        )
    if gen.class_name != "Generator":
        raise CheckpointError(
            f"{ckpt.name}: the generator is a '{gen.class_name}', not a StyleGAN2-ADA 'Generator'; "
            "GAN Studio cannot tell how to run it."
        )
    unknown = sorted(names - GENERATOR_CLASSES)
    if unknown:
        raise CheckpointError(
            f"{ckpt.name}: the generator contains classes GAN Studio does not know ({', '.join(unknown)}); "
            "it is not a stock StyleGAN2-ADA generator (a modified training/networks.py?)."
        )


def _generator_kwargs(gen: PersistentObject) -> dict[str, Any]:
    kwargs = dict(zip(GENERATOR_ARGS, gen.init_args))
    kwargs.update(gen.init_kwargs)
    for name in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"):
        if name not in kwargs and name in gen.state:
            kwargs[name] = gen.state[name]
    return kwargs


def _plain(value: Any) -> Any:
    """numpy scalars -> Python numbers; sequences -> tuples."""
    if hasattr(value, "item") and not isinstance(value, torch.Tensor):
        return value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def config_from_pickle(ckpt: RawCheckpoint, gen: PersistentObject) -> tuple[StyleGAN2Config, list[str]]:
    """The :class:`StyleGAN2Config` of an official generator, checked against its state."""
    kwargs = _generator_kwargs(gen)
    missing = [k for k in ("z_dim", "w_dim", "img_resolution") if k not in kwargs]
    if missing:
        raise CheckpointError(f"{ckpt.name}: the generator's constructor arguments lack {', '.join(missing)}; the pickle is damaged.")
    mapping_kwargs = dict(kwargs.get("mapping_kwargs") or {})
    synthesis_kwargs = dict(kwargs.get("synthesis_kwargs") or {})
    notes: list[str] = []
    unknown = sorted(set(mapping_kwargs) - KNOWN_MAPPING_KWARGS) + sorted(set(synthesis_kwargs) - KNOWN_SYNTHESIS_KWARGS)
    if unknown:
        notes.append(f"Constructor options not used by GAN Studio: {', '.join(unknown)}.")
        log.warning("%s: ignoring unknown generator kwargs %s", ckpt.name, unknown)
    for key, kw in (("activation", mapping_kwargs), ("activation", synthesis_kwargs)):
        if kw.get(key, "lrelu") != "lrelu":
            raise CheckpointError(f"{ckpt.name}: activation {kw[key]!r} is not supported (only the default 'lrelu').")
    architecture = synthesis_kwargs.get("architecture", "skip")
    if architecture != "skip":
        raise CheckpointError(
            f"{ckpt.name}: the generator uses the '{architecture}' architecture; GAN Studio supports the "
            "default 'skip' StyleGAN2 generator only."
        )
    resolution = int(_plain(kwargs["img_resolution"]))
    if resolution < 4 or math.log2(resolution) != int(math.log2(resolution)):
        raise CheckpointError(f"{ckpt.name}: img_resolution {resolution} is not a power of two >= 4; the pickle is damaged.")

    synthesis = gen.children().get("synthesis")
    if synthesis is not None and "block_resolutions" in synthesis.state:
        stored = [int(_plain(r)) for r in synthesis.state["block_resolutions"]]
        expected = [2 ** i for i in range(2, int(math.log2(resolution)) + 1)]
        if stored != expected:
            raise CheckpointError(
                f"{ckpt.name}: img_resolution is {resolution} but the synthesis network has blocks for "
                f"{stored}; the pickle is inconsistent."
            )

    state = gen.state_dict()
    channel_base = int(_plain(synthesis_kwargs.get("channel_base", 32768)))
    channel_max = int(_plain(synthesis_kwargs.get("channel_max", 512)))
    widths = _widths_from_state(ckpt, state, resolution)
    rule = widths_from_channel_rule(resolution, channel_base, channel_max)
    if widths != rule:
        raise CheckpointError(
            f"{ckpt.name}: the layer widths in the weights {list(widths)} do not match channel_base="
            f"{channel_base} / channel_max={channel_max} (which give {list(rule)}); the pickle is inconsistent."
        )
    conv_clamp = synthesis_kwargs.get("conv_clamp")
    filt = _plain(synthesis_kwargs.get("resample_filter", (1, 3, 3, 1)))
    try:
        config = StyleGAN2Config(
            z_dim=int(_plain(kwargs["z_dim"])),
            w_dim=int(_plain(kwargs["w_dim"])),
            c_dim=int(_plain(kwargs.get("c_dim", 0))),
            img_resolution=resolution,
            img_channels=int(_plain(kwargs.get("img_channels", 3))),
            mapping_layers=int(_plain(mapping_kwargs.get("num_layers", 8))),
            mapping_lr_multiplier=float(_plain(mapping_kwargs.get("lr_multiplier", 0.01))),
            mapping_layer_features=_optional_int(mapping_kwargs, "layer_features"),
            embed_features=_optional_int(mapping_kwargs, "embed_features"),
            channels=widths,
            channel_base=channel_base,
            channel_max=channel_max,
            conv_clamp=None if conv_clamp is None else float(_plain(conv_clamp)),
            resample_filter=tuple(int(v) if float(v).is_integer() else float(v) for v in filt),
            use_noise=bool(synthesis_kwargs.get("use_noise", True)),
            gain_before_demod=False,
            w_avg_beta=float(_plain(mapping_kwargs.get("w_avg_beta", 0.995))),
            num_fp16_res=int(_plain(synthesis_kwargs.get("num_fp16_res", 0))),
        )
    except ValueError as exc:
        raise CheckpointError(f"{ckpt.name}: unsupported generator settings ({exc}).") from exc
    num_ws = gen.state.get("num_ws")
    if num_ws is not None and int(_plain(num_ws)) != config.num_ws:
        raise CheckpointError(f"{ckpt.name}: the generator says num_ws={num_ws} but a {resolution} px StyleGAN2 has {config.num_ws}.")
    return config, notes


def _optional_int(kwargs: Mapping[str, Any], name: str) -> int | None:
    """Constructor argument ``name`` as a whole number (numpy scalars too); None when absent."""
    return read_int({name: _plain(kwargs.get(name))}, name)


def _widths_from_state(ckpt: RawCheckpoint, state: Mapping[str, torch.Tensor], resolution: int) -> tuple[int, ...]:
    widths = []
    for i in range(2, int(math.log2(resolution)) + 1):
        key = f"synthesis.b{2 ** i}.conv1.weight"
        if key not in state:
            raise CheckpointError(
                f"{ckpt.name}: the generator has no '{key}' although img_resolution is {resolution}; "
                "the pickle is truncated or inconsistent."
            )
        widths.append(int(state[key].shape[0]))
    return tuple(widths)


_BLOCK_LAYER = re.compile(r"^synthesis\.b(\d+)\.(conv0|conv1|torgb)\.(.+)$")


def convert_key(key: str) -> str | None:
    """Official G state-dict key -> ours (None for keys that are dropped: the FIR filters,
    which our model derives from its config)."""
    if key.endswith("resample_filter"):
        return None
    if key.startswith("mapping.fc"):
        index, rest = key[len("mapping.fc"):].split(".", 1)
        return f"mapping.layers.{index}.{rest}"
    if key == "synthesis.b4.const":
        return "synthesis.const"
    match = _BLOCK_LAYER.match(key)
    if match:
        res, layer, rest = int(match.group(1)), match.group(2), match.group(3)
        block = int(math.log2(res)) - 2
        if layer == "torgb":
            return f"synthesis.torgbs.{block}.{rest}"
        index = 0 if block == 0 else 2 * block - 1 + (layer == "conv1")
        return f"synthesis.convs.{index}.{rest}"
    return key


def convert_state(ckpt: RawCheckpoint, state: Mapping[str, torch.Tensor], config: StyleGAN2Config) -> dict[str, torch.Tensor]:
    expected_filter = make_filter(config.resample_filter)
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        new = convert_key(key)
        if new is None:
            if tuple(value.shape) != tuple(expected_filter.shape) or not torch.allclose(value.float(), expected_filter, atol=1e-6):
                raise CheckpointError(f"{ckpt.name}: '{key}' is not the FIR filter the options describe; the generator was modified.")
            continue
        out[new] = value.detach().float().clone()
    return out
