"""The original ESRGAN repository's RRDBNet weights, in its two key layouts (family ``esrgan``).

* **old** (``architecture.RRDB_Net``, before mid-2019, and most community "old arch" models)::

      model.0                          -> conv_first
      model.1.sub.{i}.RDB{k}.conv{j}.0 -> body.{i}.rdb{k}.conv{j}   (the conv inside conv+LReLU)
      model.1.sub.{num_block}          -> conv_body
      model.{3 + 3u}                   -> conv_up{u+1}               for u < n_up
      model.{2 + 3 n_up}               -> conv_hr
      model.{4 + 3 n_up}               -> conv_last

  Each up-sampler occupies three indices (upsample, conv, activation); ``n_up = log2(scale)``,
  and a x3 model has one up-sampler, so x2 and x3 files look the same: the scale is taken from
  the file name when it states one (``2x_Name.pth``, ``name_x3.pth``, with a note), else the
  ``scale`` option must say it.
* **master** (``RRDBNet_arch.RRDBNet``, always x4)::

      RRDB_trunk.{i}.RDB{k}.conv{j} -> body.{i}.rdb{k}.conv{j}
      trunk_conv -> conv_body, upconv{n} -> conv_up{n}, HRconv -> conv_hr (conv_first, conv_last as is)

Both convert to BasicSR names with the tables below and load into our RRDBNet with
``pixel_unshuffle=False`` (the original code never unshuffles the input).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import torch

from engine.errors import CheckpointError
from engine.loaders import basicsr
from engine.models.loaded import LoadedModel
from engine.loaders.base import RawCheckpoint

NAME = "esrgan-legacy"
FAMILY = "esrgan"

#: master layout: (regex on the file's key, replacement giving our key)
MASTER_TABLE: tuple[tuple[str, str], ...] = (
    (r"^conv_first\.(weight|bias)$", r"conv_first.\1"),
    (r"^RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)\.(weight|bias)$", r"body.\1.rdb\2.conv\3.\4"),
    (r"^trunk_conv\.(weight|bias)$", r"conv_body.\1"),
    (r"^upconv(\d+)\.(weight|bias)$", r"conv_up\1.\2"),
    (r"^HRconv\.(weight|bias)$", r"conv_hr.\1"),
    (r"^conv_last\.(weight|bias)$", r"conv_last.\1"),
)

_OLD_RDB = re.compile(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)$")
_OLD_SUB_CONV = re.compile(r"^model\.1\.sub\.(\d+)\.(weight|bias)$")
_OLD_TOP = re.compile(r"^model\.(\d+)\.(weight|bias)$")


def layout_of(state: dict[str, torch.Tensor]) -> str | None:
    """"old", "master" or None. Key names only; pix2pixHD / CycleGAN files also have ``model.N``
    keys but never ``model.1.sub.N.RDBk``."""
    if "model.0.weight" in state and any(_OLD_RDB.match(k) for k in state):
        return "old"
    if "RRDB_trunk.0.RDB1.conv1.weight" in state and "trunk_conv.weight" in state:
        return "master"
    return None


def sniff(ckpt: RawCheckpoint, options: Mapping[str, Any]) -> bool:
    return layout_of(ckpt.tensors()) is not None


def old_table(state: dict[str, torch.Tensor], what: str) -> dict[str, str]:
    """Map every key of an old-layout file to our name (the positions depend on the scale)."""
    table: dict[str, str] = {}
    sub_convs = sorted({int(m.group(1)) for k in state if (m := _OLD_SUB_CONV.match(k))})
    top = sorted({int(m.group(1)) for k in state if (m := _OLD_TOP.match(k))} - {0})
    # top-level convs after the trunk: up-convs at 3, 6, ..., then HR conv and last conv.
    if len(top) < 2:
        raise CheckpointError(f"{what}: the convs after the trunk are missing (found model.{top}); the file may be truncated.")
    n_up = (top[-1] - 4) // 3
    expected = [3 + 3 * u for u in range(n_up)] + [2 + 3 * n_up, 4 + 3 * n_up]
    if n_up < 0 or top != expected:
        raise CheckpointError(
            f"{what}: the old ESRGAN layout puts its convs after the trunk at model.{expected}, but the file has "
            f"model.{top}; it is not an RRDB_Net with up-conv up-sampling (pixel-shuffle variants are not supported)."
        )
    if len(sub_convs) != 1:
        raise CheckpointError(f"{what}: expected one trunk conv model.1.sub.N, found {sub_convs}; the file looks damaged.")
    for key in state:
        if m := _OLD_RDB.match(key):
            table[key] = f"body.{m.group(1)}.rdb{m.group(2)}.conv{m.group(3)}.{m.group(4)}"
        elif m := _OLD_SUB_CONV.match(key):
            table[key] = f"conv_body.{m.group(2)}"
        elif m := _OLD_TOP.match(key):
            index, kind = int(m.group(1)), m.group(2)
            if index == 0:
                table[key] = f"conv_first.{kind}"
            elif index == 2 + 3 * n_up:
                table[key] = f"conv_hr.{kind}"
            elif index == 4 + 3 * n_up:
                table[key] = f"conv_last.{kind}"
            else:
                table[key] = f"conv_up{(index - 3) // 3 + 1}.{kind}"
    return table


def master_table(state: dict[str, torch.Tensor]) -> dict[str, str]:
    table = {}
    for key in state:
        for pattern, replacement in MASTER_TABLE:
            if re.match(pattern, key):
                table[key] = re.sub(pattern, replacement, key)
                break
    return table


def convert(state: dict[str, torch.Tensor], layout: str, what: str) -> dict[str, torch.Tensor]:
    table = old_table(state, what) if layout == "old" else master_table(state)
    unknown = [k for k in state if k not in table]
    if unknown:
        raise CheckpointError(
            f"{what} has keys the {layout} ESRGAN layout does not have: {unknown[:6]}"
            + (f" (+{len(unknown) - 6} more)" if len(unknown) > 6 else "")
            + ". It may use normalisation layers or another up-sampler, which GAN Studio does not support."
        )
    return {table[k]: v for k, v in state.items()}


def load(ckpt: RawCheckpoint, options: dict[str, Any]) -> LoadedModel:
    state = ckpt.tensors()
    layout = layout_of(state)
    if layout is None:
        raise CheckpointError(f"{ckpt.name} is not an ESRGAN RRDBNet file (no model.1.sub.N.RDBk or RRDB_trunk keys).")
    what = f"{ckpt.name} (ESRGAN {layout} layout)"
    converted = convert(state, layout, what)
    family, module, _, class_name = basicsr._ARCHS["rrdbnet"]
    try:
        config, notes = basicsr.rrdbnet_config(converted, options, what, allow_unshuffle=False,
                                              file_name=ckpt.name)
    except (KeyError, IndexError) as exc:
        raise CheckpointError(f"{what} lacks the weight {exc}; the file may be truncated.") from exc
    except ValueError as exc:
        raise CheckpointError(f"{what}: {exc}.") from exc
    networks = module.build_networks(config)
    basicsr.strict_load(networks["G"], converted, what)
    return LoadedModel(
        path=str(ckpt.path),
        family=family,
        source_format=NAME,
        config=config,
        networks=networks,
        metadata={"architecture": class_name, "layout": layout},
        notes=notes + [f"Converted from the original ESRGAN code's {layout} key layout."],
    )
