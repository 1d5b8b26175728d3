"""Which format is this file? And the one function that loads any model the app can open.

:data:`FORMAT_MODULES` lists the format modules explicitly, in the order they are tried; each
has ``NAME``, ``FAMILY``, ``sniff(ckpt, options)`` and ``load(ckpt, options)`` (see ``base.py``).
The format is decided here, once: a module's ``load`` never hands a file to another module.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

import torch

from engine.errors import CheckpointError, UnknownFormatError
from engine.models.loaded import LoadedModel
from engine.loaders.base import RawCheckpoint
from engine.loaders.files import read_checkpoint

log = logging.getLogger(__name__)

#: Format modules in the order they are tried. Add a line when you add a format.
FORMAT_MODULES: tuple[str, ...] = (
    "engine.loaders.native",
    "engine.loaders.stylegan2_ada",
    "engine.loaders.stylegan2_rosinality",
    "engine.loaders.spade_official",
    "engine.loaders.basicsr",
    "engine.loaders.esrgan_legacy",
    "engine.loaders.pix2pixhd_official",
    "engine.loaders.biggan_hf",
    "engine.loaders.pix2pix_cyclegan_official",
)


def format_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in FORMAT_MODULES]


def detect(ckpt: RawCheckpoint, options: Mapping[str, Any] | None = None) -> ModuleType:
    """The format module for ``ckpt``; ``options['format']`` (a format NAME) forces one.

    Each sniff sees the options too (they settle files two projects write alike, such as the
    lone ResNet generator of pix2pixHD and CycleGAN). Raises :class:`UnknownFormatError` naming
    what the file holds when no format matches, :class:`MissingOptionError` when a file is
    ambiguous and no option decides."""
    modules = format_modules()
    forced = (options or {}).get("format")
    if forced:
        for module in modules:
            if module.NAME == forced:
                return module
        names = ", ".join(m.NAME for m in modules)
        raise CheckpointError(f"Unknown format '{forced}' was asked for; the formats GAN Studio knows are: {names}.")
    for module in modules:
        if module.sniff(ckpt, options or {}):
            log.debug("%s detected as %s", ckpt.path, module.NAME)
            return module
    raise UnknownFormatError(f"{ckpt.name} is not a model GAN Studio knows: {describe(ckpt)}.")


def describe(ckpt: RawCheckpoint) -> str:
    """A short account of what a checkpoint holds, for 'unknown format' messages."""
    if ckpt.kind == "directory":
        names = sorted(p.name for p in ckpt.path.iterdir())[:8]
        return f"a folder holding {names or 'nothing'}"
    obj = ckpt.obj
    tensors = ckpt.tensors()
    if tensors:
        keys = list(tensors)
        return f"{len(keys)} tensors, first keys {keys[:5]}"
    if isinstance(obj, Mapping):
        parts = []
        for key, value in list(obj.items())[:8]:
            if isinstance(value, torch.Tensor):
                parts.append(f"'{key}': tensor{tuple(value.shape)}")
            elif isinstance(value, Mapping):
                inner = list(value)[:3]
                parts.append(f"'{key}': dict of {len(value)} ({inner}...)")
            else:
                parts.append(f"'{key}': {type(value).__name__}")
        return "a dict with " + ", ".join(parts)
    return f"a {type(obj).__name__}"


def merged_options(ckpt: RawCheckpoint, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Sidecar options, overridden by the options given explicitly (GUI dialog or CLI flags)."""
    merged = dict(ckpt.sidecar)
    merged.update(dict(options or {}))
    return merged


def load_model(path: str | Path, options: Mapping[str, Any] | None = None) -> LoadedModel:
    """Load any model file the app can open: detect its format, convert, strict-load, eval().

    This is what File > Open model, the Models panel, the CLI and the compat tests all use.
    ``options`` are official option names of the file's project (see each format module).
    """
    ckpt = read_checkpoint(path)
    opts = merged_options(ckpt, options)
    module = detect(ckpt, opts)
    model = module.load(ckpt, opts)
    if opts.get("label_set"):
        model.label_set = _label_set_option(opts["label_set"], ckpt)
    for net in model.networks.values():
        net.eval()
        net.requires_grad_(False)
    return model


def _label_set_option(value: Any, ckpt: RawCheckpoint) -> dict[str, Any]:
    """The ``label_set`` option: a built-in set's name (ade20k, cocostuff, cityscapes) or a
    label-set JSON file (relative paths are next to the checkpoint)."""
    from engine import labelsets
    from engine.errors import InputError

    text = str(value)
    if text in labelsets.BUILTIN_NAMES:
        return labelsets.builtin(text).to_dict()
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (ckpt.path if ckpt.path.is_dir() else ckpt.path.parent) / path
    try:
        return labelsets.LabelSet.load(path).to_dict()
    except (InputError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"label_set={text!r} is neither a built-in label set ({', '.join(labelsets.BUILTIN_NAMES)}) "
            f"nor a readable label-set JSON file ({exc})."
        ) from exc
