"""The trainable families: an explicit table, CLI name -> trainer module (no registration by import).

Each trainer module exposes ``TRAINER = TheTrainerClass`` (a subclass of
:class:`engine.training.trainer.Trainer`). A family whose module is not part of this build is
reported as "not available in this build" instead of crashing the CLI or the GUI.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

from engine.errors import InputError

log = logging.getLogger(__name__)

#: family (CLI name) -> trainer module. Add a line when you add a trainer.
FAMILIES: dict[str, str] = {
    "spade": "engine.training.spade",
    "pix2pixhd": "engine.training.pix2pixhd",
    "pix2pix": "engine.training.pix2pix",
    "cyclegan": "engine.training.cyclegan",
    "stylegan2": "engine.training.stylegan2",
    "biggan": "engine.training.biggan",
    "context_encoder": "engine.training.context_encoder",
    "esrgan": "engine.training.esrgan",
}

#: the dataset layout of each family (known without importing torch or the trainer)
LAYOUTS: dict[str, str] = {
    "spade": "paired",
    "pix2pixhd": "paired",
    "pix2pix": "paired",
    "cyclegan": "unpaired",
    "stylegan2": "flat",
    "biggan": "classes",
    "context_encoder": "flat",
    "esrgan": "flat",
}


def _module(family: str) -> ModuleType:
    if family not in FAMILIES:
        raise InputError(f"Unknown family {family!r}. The families are: {', '.join(FAMILIES)}.")
    name = FAMILIES[family]
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise  # the trainer exists but something it imports is missing: a real bug, say so
        raise InputError(f"Training {family} is not available in this build (no module {name}).") from None
    if not hasattr(module, "TRAINER"):
        raise InputError(f"Training {family} is not available in this build ({name} has no trainer yet).")
    return module


def trainer_class(family: str) -> type:
    """The Trainer subclass of ``family``; :class:`InputError` when unknown or not available."""
    cls = _module(family).TRAINER
    if getattr(cls, "family", family) != family:
        log.warning("trainer %s says its family is %s", cls.__name__, cls.family)
    return cls


def available() -> dict[str, bool]:
    """family -> whether its trainer can be used in this build."""
    out = {}
    for family in FAMILIES:
        try:
            _module(family)
            out[family] = True
        except InputError:
            out[family] = False
    return out
