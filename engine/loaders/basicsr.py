"""BasicSR / Real-ESRGAN super-resolution weights: RRDBNet, SRVGGNetCompact, MSRResNet.

File layouts read here (all ``torch.load(weights_only=True)``):
  * a plain state dict (``torch.save(net.state_dict())``);
  * ``{'params_ema': sd}`` (Real-ESRGAN releases), ``{'params': sd}`` (most BasicSR releases);
  * ``{'params': G, 'params_ema': EMA}`` (BasicSR training saves): ``params_ema`` is used, as
    Real-ESRGAN's inference does; the notes say which one was loaded. ``options['weights_key']``
    picks the other one.

The architecture and its sizes are read from the weights (no shapes are assumed):
  * RRDBNet (family ``esrgan``): ``num_block`` from the ``body.{i}`` count, ``num_feat`` and
    ``num_grow_ch`` from conv shapes, ``num_out_ch`` from ``conv_last``; the scale from the
    number of ``conv_up{n}`` convs and, for BasicSR's pixel-unshuffled x2/x1 models, from
    ``conv_first``'s input channels (``num_in_ch * 4`` for x2, ``* 16`` for x1);
  * SRVGGNetCompact (family ``srvgg``): ``num_conv`` from the last ``body`` index, ``upscale``
    from the last conv's ``num_out_ch * upscale**2`` outputs, ``act_type`` prelu when slopes are
    stored; relu and leakyrelu store nothing and cannot be told apart (``act_type`` option);
  * MSRResNet (family ``srresnet``): ``num_block``, ``num_feat``, ``upscale`` from ``upconv1/2``.

Options (official names; from a sidecar JSON or the command line) are only needed where the
weights cannot tell: ``scale``/``upscale`` (ambiguous layouts), ``act_type`` (SRVGG without
PReLU), ``num_in_ch``. An option that contradicts the weights is an error, not ignored.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from engine.errors import CheckpointError, MissingOptionError
from engine.models.loaded import LoadedModel
from engine.loaders.options import to_bool, to_choice, to_float, to_int
from engine.loaders.base import RawCheckpoint, strict_load
from engine.models import esrgan, srresnet, srvgg

log = logging.getLogger(__name__)

NAME = "basicsr"
FAMILY = "esrgan"  # also builds "srvgg" and "srresnet"; each LoadedModel carries its own family
WRAPPER_KEYS = ("params_ema", "params")

#: official option names and the aliases of the original ESRGAN / Real-ESRGAN code
OPTION_ALIASES: dict[str, tuple[str, ...]] = {
    "scale": ("scale", "upscale", "netscale"),
    "num_in_ch": ("num_in_ch", "in_nc"),
    "num_out_ch": ("num_out_ch", "out_nc"),
    "num_feat": ("num_feat", "nf"),
    "num_block": ("num_block", "nb"),
    "num_grow_ch": ("num_grow_ch", "gc"),
    "num_conv": ("num_conv",),
    "act_type": ("act_type",),
}

#: a scale stated in a file name: a leading ``4x``/``4xName``, or ``2x``/``x2`` between separators
#: (``_ - . space``) or before ``plus`` (Real-ESRGAN's ``x2plus``)
_NAMED_SCALE = re.compile(r"^([1-8])x(?=[A-Za-z_\-. ]|$)|(?:^|[_\-. ])(?:([1-8])x|x([1-8]))(?=$|[_\-. ]|plus)",
                          re.IGNORECASE)

_SRVGG_KEY = re.compile(r"^body\.(\d+)\.(weight|bias)$")


# ---------------------------------------------------------------------------------------------
# detection


def find_state_dict(ckpt: RawCheckpoint, options: Mapping[str, Any] | None = None) -> tuple[dict[str, torch.Tensor], str | None]:
    """The state dict to load and the wrapper key it came from (None for a plain state dict).

    ``params_ema`` wins over ``params`` unless ``options['weights_key']`` says otherwise."""
    wanted = (options or {}).get("weights_key")
    order = (wanted,) if wanted else WRAPPER_KEYS
    for key in order:
        state = ckpt.tensors(key)
        if state:
            return _strip_module_prefix(state), key
    if wanted:
        raise CheckpointError(
            f"{ckpt.name} has no '{wanted}' entry (it holds {ckpt.top_level_keys()[:6]}); "
            "remove the weights_key option or pick one of those."
        )
    state = ckpt.tensors()
    return (_strip_module_prefix(state), None) if state else ({}, None)


def _strip_module_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights saved from a DataParallel wrapper carry ``module.`` on every key."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return state


def architecture_of(state: Mapping[str, torch.Tensor]) -> str | None:
    """"rrdbnet", "srvgg", "msrresnet" or None, from key names and tensor ranks only."""
    if "conv_first.weight" in state and "body.0.rdb1.conv1.weight" in state and "conv_last.weight" in state:
        return "rrdbnet"
    if (
        "conv_first.weight" in state and "upconv1.weight" in state and "conv_hr.weight" in state
        and "conv_last.weight" in state and any(k.startswith("body.") and ".conv1." in k for k in state)
    ):
        return "msrresnet"
    if state and all(_SRVGG_KEY.match(k) for k in state):
        indices = sorted({int(_SRVGG_KEY.match(k).group(1)) for k in state})
        last = indices[-1]
        convs = [i for i in indices if i % 2 == 0]
        if (
            last >= 2 and last % 2 == 0 and convs == list(range(0, last + 1, 2))
            and all(state.get(f"body.{i}.weight") is not None and state[f"body.{i}.weight"].ndim == 4 for i in convs)
            and all(state[f"body.{i}.weight"].ndim == 1 for i in indices if i % 2 == 1)
        ):
            return "srvgg"
    return None


def sniff(ckpt: RawCheckpoint, options: Mapping[str, Any]) -> bool:
    state, _ = find_state_dict(ckpt)
    return architecture_of(state) is not None


# ---------------------------------------------------------------------------------------------
# options


def option(options: Mapping[str, Any], name: str, read: Callable[[Any, str], Any] = to_int) -> Any:
    """Official option ``name`` (or one of its aliases) parsed by ``read`` (``to_int``,
    ``to_bool``, ... from :mod:`engine.loaders.options`); None when absent."""
    for alias in OPTION_ALIASES.get(name, (name,)):
        if options.get(alias) is not None:
            return read(options[alias], alias)
    return None


#: how an option is parsed when it must agree with a value read from the weights
_READERS: dict[type, Callable[[Any, str], Any]] = {bool: to_bool, int: to_int, float: to_float}


def decided(options: Mapping[str, Any], name: str, from_weights: Any, what: str) -> Any:
    """``from_weights`` unless an option says something else, which is an error. The option is
    parsed by the kind of value the weights give (so ``"false"`` is False for a bool)."""
    given = option(options, name, _READERS[type(from_weights)])
    if given is not None and given != from_weights:
        raise CheckpointError(
            f"{what}: the option {name}={given!r} contradicts the weights, which say {name}={from_weights!r}. "
            f"Remove {name} from the sidecar JSON / command line."
        )
    return from_weights


def _count_indexed(state: Mapping[str, Any], pattern: str) -> int:
    regex = re.compile(pattern)
    return len({m.group(1) for k in state if (m := regex.match(k))})


# ---------------------------------------------------------------------------------------------
# RRDBNet (shared with the legacy ESRGAN layouts, which convert to these keys first)


def scale_from_file_name(name: str) -> int | None:
    """The scale a community model's file name states (``2x_Foo.pth``, ``foo_x3.pth``,
    ``RealESRGAN_x2plus.pth``, ``bar-4x.pth``), or None when it states none or several."""
    found = {int(next(g for g in m.groups() if g)) for m in _NAMED_SCALE.finditer(Path(name).stem)}
    return found.pop() if len(found) == 1 else None


def rrdbnet_config(state: Mapping[str, torch.Tensor], options: Mapping[str, Any], what: str,
                   allow_unshuffle: bool = True, file_name: str | None = None) -> tuple[esrgan.RRDBNetConfig, list[str]]:
    """Read an RRDBNet config from BasicSR-named weights; options only where the weights cannot
    tell. ``file_name`` (the checkpoint's) settles x2 vs x3 when it states a scale."""
    notes: list[str] = []
    first = state["conv_first.weight"]
    num_feat = decided(options, "num_feat", int(first.shape[0]), what)
    num_block = decided(options, "num_block", _count_indexed(state, r"^body\.(\d+)\.rdb1\.conv1\.weight$"), what)
    num_grow_ch = decided(options, "num_grow_ch", int(state["body.0.rdb1.conv1.weight"].shape[0]), what)
    num_out_ch = decided(options, "num_out_ch", int(state["conv_last.weight"].shape[0]), what)
    n_up = _count_indexed(state, r"^conv_up(\d+)\.weight$")
    in_channels = int(first.shape[1])
    want_scale = option(options, "scale")
    want_in = option(options, "num_in_ch")

    if allow_unshuffle and n_up == 2:
        # BasicSR: the body is always x4; x2 / x1 unshuffle the input by 2 / 4 first.
        unshuffle_for = {4: 1, 2: 2, 1: 4}
        if want_in is not None:
            candidates = [s for s, u in unshuffle_for.items() if want_in * u * u == in_channels]
        elif want_scale is not None:
            candidates = [want_scale] if want_scale in unshuffle_for and in_channels % unshuffle_for[want_scale] ** 2 == 0 else []
        else:
            # The input usually has as many channels as the output (RGB in, RGB out).
            candidates = [s for s, u in unshuffle_for.items() if num_out_ch * u * u == in_channels]
            if not candidates and in_channels in (1, 3):
                candidates = [4]
        if len(candidates) != 1:
            raise MissingOptionError(
                f"{what}: conv_first takes {in_channels} channels, which fits more than one (or no) "
                f"combination of input channels and scale (x2 models unshuffle num_in_ch*4 channels, "
                f"x1 models num_in_ch*16). Give the option scale (1, 2 or 4) or num_in_ch.",
                option="scale",
            )
        scale = candidates[0]
        if want_scale is not None and want_scale != scale:
            raise CheckpointError(f"{what}: the option scale={want_scale} contradicts the weights, which say x{scale}. Remove it.")
        num_in_ch = in_channels // unshuffle_for[scale] ** 2
        pixel_unshuffle = True
    else:
        num_in_ch = decided(options, "num_in_ch", in_channels, what)
        pixel_unshuffle = False
        if n_up == 1:
            # one up-conv: nearest x2 or x3 — the weights look the same; community files say it in their names
            named = scale_from_file_name(file_name) if file_name else None
            if want_scale is None and named in (2, 3):
                want_scale = named
                notes.append(f"Took the scale x{named} from the file name {file_name} (x2 and x3 models of this layout "
                             "have the same weights); pass the option scale if that is wrong.")
            if want_scale not in (2, 3):
                raise MissingOptionError(
                    f"{what} has a single up-sampling conv, which is either a x2 or a x3 model; the weights "
                    "cannot tell and the file name does not say x2 or x3 (as in 2x_name.pth or name_x3.pth). "
                    "Give the option scale (2 or 3).",
                    option="scale",
                )
            scale = want_scale
        else:
            scale = decided(options, "scale", 2**n_up, what)
    config = esrgan.RRDBNetConfig(
        num_in_ch=num_in_ch, num_out_ch=num_out_ch, scale=scale, num_feat=num_feat,
        num_block=num_block, num_grow_ch=num_grow_ch, pixel_unshuffle=pixel_unshuffle,
    )
    return config, notes


# ---------------------------------------------------------------------------------------------
# SRVGGNetCompact


def srvgg_config(state: Mapping[str, torch.Tensor], options: Mapping[str, Any], what: str) -> tuple[srvgg.SRVGGConfig, list[str]]:
    notes: list[str] = []
    indices = sorted({int(_SRVGG_KEY.match(k).group(1)) for k in state})
    last = indices[-1]
    first = state["body.0.weight"]
    num_in_ch = decided(options, "num_in_ch", int(first.shape[1]), what)
    num_feat = decided(options, "num_feat", int(first.shape[0]), what)
    num_conv = decided(options, "num_conv", (last - 2) // 2, what)
    last_out = int(state[f"body.{last}.weight"].shape[0])
    # The upsampled input is added to the output, so the output has the input's channels.
    num_out_ch = option(options, "num_out_ch") or num_in_ch
    upscale = math.isqrt(last_out // num_out_ch) if last_out % num_out_ch == 0 else 0
    if upscale < 1 or upscale * upscale * num_out_ch != last_out:
        raise MissingOptionError(
            f"{what}: the last conv has {last_out} outputs, which is not num_out_ch*upscale^2 for "
            f"num_out_ch={num_out_ch}; give the options num_out_ch and scale.",
            option="scale",
        )
    upscale = decided(options, "scale", upscale, what)
    has_slopes = "body.1.weight" in state
    act_type = option(options, "act_type", lambda value, name: to_choice(value, name, srvgg.ACT_TYPES))
    if has_slopes:
        if act_type not in (None, "prelu"):
            raise CheckpointError(f"{what} stores PReLU slopes, so act_type must be 'prelu', not {act_type!r}. Remove the option.")
        act_type = "prelu"
    elif act_type is None:
        act_type = "relu"
        notes.append(
            "The file stores no activation parameters, so it uses ReLU or LeakyReLU(0.1); the weights cannot "
            "tell which. ReLU was assumed: if the output looks wrong, load it again with act_type=leakyrelu."
        )
    elif act_type not in ("relu", "leakyrelu"):
        raise CheckpointError(
            f"{what} stores no PReLU slopes, so act_type must be 'relu' or 'leakyrelu', not {act_type!r}."
        )
    config = srvgg.SRVGGConfig(num_in_ch=num_in_ch, num_out_ch=num_out_ch, num_feat=num_feat,
                               num_conv=num_conv, upscale=upscale, act_type=act_type)
    return config, notes


# ---------------------------------------------------------------------------------------------
# MSRResNet


def msrresnet_config(state: Mapping[str, torch.Tensor], options: Mapping[str, Any], what: str) -> tuple[srresnet.MSRResNetConfig, list[str]]:
    num_feat = decided(options, "num_feat", int(state["conv_first.weight"].shape[0]), what)
    num_in_ch = decided(options, "num_in_ch", int(state["conv_first.weight"].shape[1]), what)
    num_out_ch = decided(options, "num_out_ch", int(state["conv_last.weight"].shape[0]), what)
    num_block = decided(options, "num_block", _count_indexed(state, r"^body\.(\d+)\.conv1\.weight$"), what)
    up1 = int(state["upconv1.weight"].shape[0])
    if "upconv2.weight" in state:
        upscale = 4
    else:
        ratio = up1 // num_feat
        upscale = math.isqrt(ratio)
        if upscale not in (2, 3) or upscale * upscale * num_feat != up1:
            raise CheckpointError(
                f"{what}: upconv1 has {up1} outputs for {num_feat} features, which is no MSRResNet scale "
                "(x2: 4x, x3: 9x the features). The file may be damaged or another architecture."
            )
    upscale = decided(options, "scale", upscale, what)
    config = srresnet.MSRResNetConfig(num_in_ch=num_in_ch, num_out_ch=num_out_ch, num_feat=num_feat,
                                      num_block=num_block, upscale=upscale)
    return config, []


# ---------------------------------------------------------------------------------------------
# loading

_ARCHS = {
    "rrdbnet": ("esrgan", esrgan, rrdbnet_config, "RRDBNet"),
    "srvgg": ("srvgg", srvgg, srvgg_config, "SRVGGNetCompact"),
    "msrresnet": ("srresnet", srresnet, msrresnet_config, "MSRResNet"),
}


def build_and_load(ckpt: RawCheckpoint, state: dict[str, torch.Tensor], arch: str, options: Mapping[str, Any],
                   source_format: str, notes: list[str], metadata: dict[str, Any]) -> LoadedModel:
    """Infer the config of ``arch`` from BasicSR-named ``state``, build, strict-load."""
    family, module, read_config, class_name = _ARCHS[arch]
    what = f"{ckpt.name} ({class_name})"
    try:
        if read_config is rrdbnet_config:
            config, more_notes = rrdbnet_config(state, options, what, file_name=ckpt.name)
        else:
            config, more_notes = read_config(state, options, what)
    except (KeyError, IndexError) as exc:
        raise CheckpointError(f"{what} lacks the weight {exc}; the file may be truncated or of another architecture.") from exc
    except ValueError as exc:  # a config the architecture does not support
        raise CheckpointError(f"{what}: {exc}.") from exc
    networks = module.build_networks(config)
    strict_load(networks["G"], state, what)
    log.info("loaded %s as %s %s", ckpt.path, class_name, config)
    return LoadedModel(
        path=str(ckpt.path),
        family=family,
        source_format=source_format,
        config=config,
        networks=networks,
        metadata={"architecture": class_name, **metadata},
        notes=notes + more_notes,
    )


def load(ckpt: RawCheckpoint, options: dict[str, Any]) -> LoadedModel:
    state, key = find_state_dict(ckpt, options)
    arch = architecture_of(state)
    if arch is None:
        raise CheckpointError(
            f"{ckpt.name} does not hold RRDBNet, SRVGGNetCompact or MSRResNet weights"
            + (f" under '{key}'" if key else "") + "; it may be another BasicSR architecture, which GAN Studio does not support."
        )
    notes: list[str] = []
    metadata: dict[str, Any] = {}
    if key is not None:
        metadata["weights_key"] = key
        others = [k for k in WRAPPER_KEYS if k != key and ckpt.tensors(k)]
        if key == "params_ema":
            notes.append("Loaded the EMA weights ('params_ema'), as Real-ESRGAN does"
                         + (f"; the file also holds {others}" if others else "") + ".")
        else:
            notes.append(f"Loaded the weights stored under '{key}'.")
    return build_and_load(ckpt, state, arch, options, NAME, notes, metadata)
