"""Architectures, one per file, each built from a config dataclass.

Every model module exposes:

    CONFIG_CLASS: type                       # the config dataclass, saved in every gan-studio checkpoint
    def build_networks(config) -> dict[str, torch.nn.Module]   # e.g. {"G": ..., "E": ...}, fresh weights

:data:`FAMILIES` lists them explicitly (no registration by import side effects); the native
safetensors loader uses it to rebuild a model from its stored family name and config.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from engine.errors import CheckpointError

#: family name -> module that builds it. Add a line when you add an architecture.
FAMILIES: dict[str, str] = {
    "stylegan2": "engine.models.stylegan2",
    "spade": "engine.models.spade",
    "esrgan": "engine.models.esrgan",
    "srvgg": "engine.models.srvgg",
    "srresnet": "engine.models.srresnet",
    "pix2pixhd": "engine.models.pix2pixhd",
    "pix2pix_unet": "engine.models.pix2pix",
    "cyclegan_resnet": "engine.models.cyclegan",
    "context_encoder": "engine.models.context_encoder",
    "biggan": "engine.models.biggan",
}


def family_module(family: str) -> ModuleType:
    """The model module of ``family``; a clear error for a family this version does not know."""
    try:
        module_name = FAMILIES[family]
    except KeyError:
        known = ", ".join(sorted(FAMILIES)) or "none"
        raise CheckpointError(
            f"The checkpoint is a '{family}' model, which this version of GAN Studio does not know "
            f"(it knows: {known}). Update GAN Studio."
        ) from None
    return importlib.import_module(module_name)
