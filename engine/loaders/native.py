"""GAN Studio's own checkpoint format: safetensors with JSON metadata.

One ``.safetensors`` file holds every network of a model, keys prefixed by the network's role
(``G.``, ``E.`` ...). The header metadata holds one entry, ``gan_studio``, a JSON object::

    {"format_version": 1, "family": "spade", "config": {...config dataclass...},
     "networks": ["G", "E"], "label_set": {...} | null, "training_recipe": {...} | null,
     "app_version": "0.1.0", "source": "what it was converted or trained from"}

Loading needs no pickle at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import torch

from engine.errors import CheckpointError
from engine.fileutil import atomic_write
from engine.models.loaded import LoadedModel, config_from_dict, config_to_dict
from engine.loaders.base import RawCheckpoint, strict_load
from engine.models import family_module
from engine.version import APP_VERSION

NAME = "gan-studio"
FAMILY = "*"
FORMAT_VERSION = 1
METADATA_KEY = "gan_studio"


def sniff(ckpt: RawCheckpoint, options: Mapping[str, Any]) -> bool:
    return ckpt.kind == "safetensors" and METADATA_KEY in ckpt.metadata


def read_header(ckpt: RawCheckpoint) -> dict[str, Any]:
    try:
        header = json.loads(ckpt.metadata[METADATA_KEY])
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{ckpt.name}: the GAN Studio metadata is missing or not valid JSON; the file is damaged.") from exc
    if not isinstance(header, dict) or "family" not in header or "config" not in header:
        raise CheckpointError(f"{ckpt.name}: the GAN Studio metadata lacks 'family' or 'config'; the file is damaged.")
    if int(header.get("format_version", 0)) > FORMAT_VERSION:
        raise CheckpointError(
            f"{ckpt.name} was written by a newer GAN Studio (format {header['format_version']}); update GAN Studio to open it."
        )
    return header


def load(ckpt: RawCheckpoint, options: dict[str, Any]) -> LoadedModel:
    header = read_header(ckpt)
    module = family_module(header["family"])
    config = config_from_dict(module.CONFIG_CLASS, header["config"])
    networks = module.build_networks(config)
    stored_roles = sorted({key.split(".", 1)[0] for key in ckpt.obj})
    if sorted(header.get("networks", stored_roles)) != stored_roles or set(stored_roles) - set(networks):
        raise CheckpointError(
            f"{ckpt.name}: the file holds networks {stored_roles} but a {header['family']} model has "
            f"{sorted(networks)}; the file is damaged or was edited."
        )
    for role in list(networks):
        if role not in stored_roles:
            # optional networks (e.g. a style encoder) that were not saved
            del networks[role]
            continue
        prefix = role + "."
        state = {k[len(prefix):]: v for k, v in ckpt.obj.items() if k.startswith(prefix)}
        strict_load(networks[role], state, f"{ckpt.name} ({header['family']} {role})")
        networks[role].eval()
    return LoadedModel(
        path=str(ckpt.path),
        family=header["family"],
        source_format=NAME,
        config=config,
        networks=networks,
        label_set=header.get("label_set"),
        metadata={k: header[k] for k in ("training_recipe", "app_version", "source") if header.get(k) is not None},
    )


def save(model: LoadedModel, path: str | Path, training_recipe: dict[str, Any] | None = None, source: str | None = None) -> Path:
    """Write ``model`` as a GAN Studio ``.safetensors`` file, atomically (temp file + rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    for role, net in model.networks.items():
        for key, value in net.state_dict().items():
            tensors[f"{role}.{key}"] = value.detach().to("cpu").contiguous()
    header = {
        "format_version": FORMAT_VERSION,
        "family": model.family,
        "config": config_to_dict(model.config),
        "networks": sorted(model.networks),
        "label_set": model.label_set,
        "training_recipe": training_recipe if training_recipe is not None else model.metadata.get("training_recipe"),
        "app_version": APP_VERSION,
        "source": source or model.metadata.get("source") or f"{model.source_format}:{Path(model.path).name}",
    }
    with atomic_write(path) as tmp:
        save_file(_dedupe_shared(tensors), str(tmp), metadata={METADATA_KEY: json.dumps(header)})
    return path


def _dedupe_shared(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors that share memory; give each its own copy."""
    seen: set[int] = set()
    out = {}
    for key, value in tensors.items():
        ptr = value.untyped_storage().data_ptr() if value.numel() else -1
        if ptr in seen:
            value = value.clone()
        seen.add(ptr)
        out[key] = value
    return out
