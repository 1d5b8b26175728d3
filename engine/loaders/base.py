"""What every loader returns, and what every format module reads.

A *format module* (one per foreign file layout, e.g. ``spade_official.py``) exposes::

    NAME: str            # e.g. "spade-official": the file layout
    FAMILY: str          # e.g. "spade": the architecture family it builds
    def sniff(ckpt: RawCheckpoint, options: Mapping) -> bool   # cheap: key names (+ options)
    def load(ckpt: RawCheckpoint, options: dict) -> LoadedModel   # engine.models.loaded

``detect.py`` lists the format modules explicitly, in the order they are tried, and decides the
format once: a sniff claims only its own files, a ``load`` never hands a file to another module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from engine.errors import CheckpointError

log = logging.getLogger(__name__)


@dataclass
class RawCheckpoint:
    """A checkpoint as read from disk, before any format is decided.

    ``path``: the file the user chose (or a folder, for folder formats such as Hugging Face's).
    ``kind``: ``"torch"`` (torch.load, weights only), ``"safetensors"``, ``"pickle"`` (restricted
    unpickler) or ``"directory"``.
    ``obj``: the loaded object: a dict of tensors, a nested dict, or (for pickles) the
    reconstructed object tree; None for directories.
    ``metadata``: safetensors header metadata (str -> str); empty otherwise.
    ``sidecar``: options found next to the file (``<name>.json``, ``gan_studio.json``,
    official ``opt.txt``), official option names.
    """

    path: Path
    kind: str
    obj: Any = None
    metadata: dict[str, str] = field(default_factory=dict)
    sidecar: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    def tensors(self, prefix: str | None = None) -> dict[str, torch.Tensor]:
        """The flat dict of tensors at ``prefix`` (a top-level key such as ``"params_ema"``),
        or of the whole object when it is itself a flat tensor dict. Empty dict if there is none."""
        obj = self.obj
        if prefix is not None:
            if not isinstance(obj, Mapping) or prefix not in obj:
                return {}
            obj = obj[prefix]
        if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return dict(obj)
        return {}

    def top_level_keys(self) -> list[str]:
        if isinstance(self.obj, Mapping):
            return [str(k) for k in self.obj.keys()]
        return []

    def sibling(self, name: str) -> Path | None:
        """A file next to the checkpoint (or inside it, for a folder), if it exists."""
        base = self.path if self.path.is_dir() else self.path.parent
        candidate = base / name
        return candidate if candidate.is_file() else None


def strict_load(module: nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    """``module.load_state_dict(state, strict=True)`` with an error that names the keys.

    ``what`` describes the checkpoint for the message, e.g. "latest_net_G.pth (SPADE generator)".
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {_short_list(missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {_short_list(unexpected)}")
        if wrong_shape:
            parts.append(f"shape mismatches ({len(wrong_shape)}): {_short_list(wrong_shape)}")
        raise CheckpointError(
            f"{what} does not fit the architecture built from its options: " + "; ".join(parts)
            + ". Check the options (sidecar JSON or command-line flags) or whether the file is complete."
        )
    module.load_state_dict(state, strict=True)


def _short_list(items: list[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")
