"""rosinality/stylegan2-pytorch checkpoints -> StyleGAN2.

Layouts read (``torch.load(weights_only=True)``, ``argparse.Namespace`` allowed for ``args``):
  * train.py checkpoints ``{'g', 'd', 'g_ema', 'g_optim', 'd_optim', 'args', 'ada_aug_p'}``;
  * convert_weight.py output ``{'g_ema': state_dict, 'latent_avg': [latent]}`` (converted NVIDIA nets);
  * a bare ``g_ema`` state dict.

Everything is inferred from the weights: size (number of ToRGBs), style_dim and n_mlp (the
``style.*`` layers), the channel table (conv weight shapes; the official table is not assumed,
since ``channel_multiplier`` does not describe the small layers of every checkpoint). ``args``
is only cross-checked.

``w_avg`` (the truncation centre) is ``latent_avg`` when the file has it. Otherwise it is
computed as the mean of the mapping network over ``w_avg_samples`` (default 10000) standard
normal z drawn from a fixed seed (``w_avg_seed``, default 0), so it is reproducible; the model's
notes say so.

Options: ``use_g`` (bool) uses the raw generator ``g`` when the file has no ``g_ema``;
``lr_mlp`` (default 0.01) the mapping network's lr multiplier if the net was trained with
another; ``w_avg_samples``, ``w_avg_seed`` as above.
"""

from __future__ import annotations

import argparse
import logging
import re
from typing import Any, Mapping

import torch

from engine.errors import CheckpointError
from engine.models.loaded import LoadedModel
from engine.loaders.options import read_bool, read_float, read_int
from engine.loaders.base import RawCheckpoint, strict_load
from engine.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, build_networks, make_filter

log = logging.getLogger(__name__)

NAME = "stylegan2-rosinality"
FAMILY = "stylegan2"

DEFAULT_W_AVG_SAMPLES = 10000
TELLTALE_KEYS = ("style.1.weight", "input.input", "conv1.conv.weight", "to_rgb1.conv.weight")


def _looks_like_generator(state: Any) -> bool:
    return isinstance(state, Mapping) and all(k in state for k in TELLTALE_KEYS)


def sniff(ckpt: RawCheckpoint, options: Mapping[str, Any]) -> bool:
    if ckpt.kind not in ("torch", "safetensors") or not isinstance(ckpt.obj, Mapping):
        return False
    obj = ckpt.obj
    return _looks_like_generator(obj) or _looks_like_generator(obj.get("g_ema")) or _looks_like_generator(obj.get("g"))


def load(ckpt: RawCheckpoint, options: dict[str, Any]) -> LoadedModel:
    obj = ckpt.obj
    notes: list[str] = []
    if _looks_like_generator(obj.get("g_ema")):
        state, which = obj["g_ema"], "g_ema"
    elif _looks_like_generator(obj):
        state, which = obj, "(bare state dict)"
    elif _looks_like_generator(obj.get("g")):
        if not read_bool(options, "use_g", False):
            keys = ", ".join(repr(str(k)) for k in list(obj)[:10])
            raise CheckpointError(
                f"{ckpt.name} looks like a StyleGAN2 (rosinality) file but has no 'g_ema' (it holds {keys}); "
                "it may be truncated or saved without the moving-average generator. To use the raw "
                "generator 'g' anyway (usually worse images), pass the option use_g=true."
            )
        state, which = obj["g"], "g"
        notes.append("Using the raw generator 'g' (use_g=true); this file has no moving-average 'g_ema'.")
    else:  # sniff passed, so this cannot happen; keep a message anyway
        raise CheckpointError(f"{ckpt.name} holds no StyleGAN2 (rosinality) generator.")

    config = config_from_state(ckpt, state, options)
    args = obj.get("args")
    if isinstance(args, argparse.Namespace):
        _check_args(ckpt, vars(args), config, notes)
    converted = convert_state(ckpt, state, config)

    latent_avg = obj.get("latent_avg")
    computed_w_avg = latent_avg is None
    if latent_avg is not None:
        if not isinstance(latent_avg, torch.Tensor) or latent_avg.numel() != config.w_dim:
            raise CheckpointError(
                f"{ckpt.name}: 'latent_avg' should hold {config.w_dim} numbers, it holds "
                f"{getattr(latent_avg, 'shape', type(latent_avg).__name__)}."
            )
        converted["mapping.w_avg"] = latent_avg.detach().float().reshape(-1).clone()
    else:
        converted["mapping.w_avg"] = torch.zeros(config.w_dim)

    networks = build_networks(config)
    strict_load(networks["G"], converted, f"{ckpt.name} (StyleGAN2 rosinality '{which}')")
    if computed_w_avg:
        samples = read_int(options, "w_avg_samples", DEFAULT_W_AVG_SAMPLES)
        seed = read_int(options, "w_avg_seed", 0)
        networks["G"].mapping.w_avg.copy_(compute_w_avg(networks["G"], samples, seed))
        notes.append(
            f"The file has no latent_avg; the truncation centre w_avg is the mean of the mapping network "
            f"over {samples} random z (seed {seed}), so truncated images differ slightly from ones made "
            "with another mean_latent."
        )

    metadata: dict[str, Any] = {"network": which}
    if isinstance(args, argparse.Namespace):
        metadata["args"] = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, type(None)))}
    if isinstance(obj.get("ada_aug_p"), (int, float)):
        metadata["ada_aug_p"] = float(obj["ada_aug_p"])
    return LoadedModel(
        path=str(ckpt.path), family=FAMILY, source_format=NAME, config=config, networks=networks,
        metadata=metadata, notes=notes,
    )


@torch.no_grad()
def compute_w_avg(generator: StyleGAN2Generator, samples: int = DEFAULT_W_AVG_SAMPLES, seed: int = 0, batch: int = 2000) -> torch.Tensor:
    """Mean of ``mapping(z)`` over ``samples`` z ~ N(0, I) drawn with a CPU generator seeded ``seed``
    (unconditional nets only; rosinality nets have no classes)."""
    mapping = generator.mapping
    gen = torch.Generator(device="cpu").manual_seed(seed)
    device = mapping.w_avg.device
    total = torch.zeros(mapping.w_dim, dtype=torch.float64)
    done = 0
    while done < samples:
        n = min(batch, samples - done)
        z = torch.randn(n, mapping.z_dim, generator=gen).to(device)
        ws = mapping(z, None)[:, 0]
        total += ws.double().sum(dim=0).cpu()
        done += n
    return (total / samples).float().to(device)


def config_from_state(ckpt: RawCheckpoint, state: Mapping[str, torch.Tensor], options: Mapping[str, Any]) -> StyleGAN2Config:
    mlp = sorted(int(m.group(1)) for k in state if (m := re.fullmatch(r"style\.(\d+)\.weight", k)))
    if mlp != list(range(1, len(mlp) + 1)):
        raise CheckpointError(f"{ckpt.name}: the mapping layers are style.{mlp}, expected style.1..style.N; the file is damaged.")
    style_dim = int(state["style.1.weight"].shape[1])
    w_dim = int(state[f"style.{mlp[-1]}.weight"].shape[0])
    n_rgbs = len({m.group(1) for k in state if (m := re.match(r"to_rgbs\.(\d+)\.", k))})
    resolution = 2 ** (n_rgbs + 2)
    widths = [int(state["input.input"].shape[1])]
    for i in range(n_rgbs):
        key = f"convs.{2 * i}.conv.weight"
        if key not in state:
            raise CheckpointError(f"{ckpt.name}: '{key}' is missing for a {resolution} px generator; the file is truncated or damaged.")
        widths.append(int(state[key].shape[1]))
    rgb = state["to_rgb1.conv.weight"]
    try:
        return StyleGAN2Config(
            z_dim=style_dim,
            w_dim=w_dim,
            c_dim=0,
            img_resolution=resolution,
            img_channels=int(rgb.shape[1]),
            mapping_layers=len(mlp),
            mapping_lr_multiplier=read_float(options, "lr_mlp", 0.01),
            channels=tuple(widths),
            conv_clamp=None,
            use_noise=True,
            gain_before_demod=True,
        )
    except ValueError as exc:
        raise CheckpointError(f"{ckpt.name}: unsupported generator layout ({exc}).") from exc


def _check_args(ckpt: RawCheckpoint, args: Mapping[str, Any], config: StyleGAN2Config, notes: list[str]) -> None:
    checks = (("size", config.img_resolution), ("latent", config.w_dim), ("n_mlp", config.mapping_layers))
    for name, actual in checks:
        if name in args and args[name] is not None and int(args[name]) != actual:
            raise CheckpointError(
                f"{ckpt.name}: its args say {name}={args[name]} but the weights are for {name}={actual}; "
                "the file is inconsistent."
            )
    cm = args.get("channel_multiplier")
    if cm is not None:
        official = _official_widths(config.img_resolution, int(cm))
        if official != config.widths:
            notes.append(
                f"Layer widths {list(config.widths)} were read from the weights; they differ from the "
                f"official table for channel_multiplier={cm} ({list(official)})."
            )


def _official_widths(resolution: int, cm: int) -> tuple[int, ...]:
    table = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * cm, 128: 128 * cm, 256: 64 * cm, 512: 32 * cm, 1024: 16 * cm}
    res, out = 4, []
    while res <= resolution:
        out.append(table.get(res, 0))
        res *= 2
    return tuple(out)


_LAYER = re.compile(r"^(conv1|convs\.(\d+)|to_rgb1|to_rgbs\.(\d+))\.(.+)$")


def convert_state(ckpt: RawCheckpoint, state: Mapping[str, torch.Tensor], config: StyleGAN2Config) -> dict[str, torch.Tensor]:
    """rosinality g_ema keys -> ours; the FIR kernels are checked and dropped (our model derives them)."""
    fir = make_filter(config.resample_filter) * 4
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        value = value.detach().float()
        new = _convert_key(key, value, fir, ckpt)
        if new is None:
            continue
        new_key, new_value = new
        out[new_key] = new_value.clone()
    return out


def _convert_key(key: str, value: torch.Tensor, fir: torch.Tensor, ckpt: RawCheckpoint) -> tuple[str, torch.Tensor] | None:
    if key.endswith(".blur.kernel") or key.endswith(".upsample.kernel"):
        if tuple(value.shape) != tuple(fir.shape) or not torch.allclose(value, fir, atol=1e-6):
            raise CheckpointError(f"{ckpt.name}: '{key}' is not the [1,3,3,1] blur kernel; the generator was modified.")
        return None
    if key.startswith("style."):
        index, rest = key[len("style."):].split(".", 1)
        return f"mapping.layers.{int(index) - 1}.{rest}", value
    if key == "input.input":
        return "synthesis.const", value[0]
    if key.startswith("noises.noise_"):
        return f"synthesis.convs.{int(key[len('noises.noise_'):])}.noise_const", value.reshape(value.shape[-2:])
    match = _LAYER.match(key)
    if not match:
        return key, value  # strict_load names it as unexpected
    layer, rest = match.group(1), match.group(4)
    if layer.startswith("to_rgb"):
        index = 0 if layer == "to_rgb1" else int(match.group(3)) + 1
        prefix = f"synthesis.torgbs.{index}."
        table = {"conv.weight": ("weight", value[0] if value.ndim == 5 else value), "bias": ("bias", value.reshape(-1))}
    else:
        index = 0 if layer == "conv1" else int(match.group(2)) + 1
        prefix = f"synthesis.convs.{index}."
        table = {
            "conv.weight": ("weight", value[0] if value.ndim == 5 else value),
            "activate.bias": ("bias", value),
            "noise.weight": ("noise_strength", value.reshape(())) if value.numel() == 1 else ("noise_strength", value),
        }
    if rest.startswith("conv.modulation."):
        return prefix + "affine." + rest[len("conv.modulation."):], value
    if rest in table:
        name, converted = table[rest]
        return prefix + name, converted
    return prefix + rest, value
