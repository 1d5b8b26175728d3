"""Loading and saving the shipped judges (``assets/judges/*.safetensors``).

Each file holds one network's weights and, in the safetensors header metadata under
``gan_studio_judge``, a JSON object: ``{"kind": "segmenter" | "classifier", "config": {...},
"input_size": 128, "classes": [...], "trained_on": {...}, "ceiling": {...}}``. No pickle is
ever read. Retrain them with ``python -m engine.eval.train_judges``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from engine.errors import CheckpointError
from engine.eval.nets import BiomeClassifier, ClassifierConfig, Segmenter, SegmenterConfig
from engine.fileutil import atomic_write
from engine.loaders.base import strict_load
from engine.resources import assets_dir

log = logging.getLogger(__name__)

JUDGES_DIR = assets_dir() / "judges"  # package data (engine.resources)
METADATA_KEY = "gan_studio_judge"
KINDS = {"segmenter": (Segmenter, SegmenterConfig), "classifier": (BiomeClassifier, ClassifierConfig)}


@dataclass
class Judge:
    """A loaded judge: the network (eval mode, CPU) and what its file says about it."""

    kind: str
    net: torch.nn.Module
    info: dict[str, Any]
    path: Path


def judge_path(kind: str, directory: Path | None = None) -> Path:
    return (directory or JUDGES_DIR) / f"{kind}.safetensors"


def save_judge(kind: str, net: torch.nn.Module, info: dict[str, Any], path: Path) -> Path:
    """Write ``net`` with its config and ``info`` (classes, training data, ceilings) atomically."""
    from safetensors.torch import save_file

    header = dict(info, kind=kind, config=json.loads(json.dumps(dataclasses.asdict(net.config))))
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(header)})
    return path


def load_judge(kind: str, path: Path | None = None) -> Judge:
    """Load a judge file (strictly: every weight must match the stored config)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    if kind not in KINDS:
        raise ValueError(f"no judge kind {kind!r}; known: {', '.join(KINDS)}")
    path = Path(path) if path is not None else judge_path(kind)
    if not path.is_file():
        raise CheckpointError(
            f"The world's {kind} judge is missing ({path}). Retrain the judges with "
            "'python -m engine.eval.train_judges' or reinstall GAN Studio."
        )
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = json.loads((handle.metadata() or {})[METADATA_KEY])
        state = load_file(str(path))
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path.name} is not a readable judge file ({exc}); retrain with 'python -m engine.eval.train_judges'.") from exc
    if header.get("kind") != kind:
        raise CheckpointError(f"{path.name} holds a {header.get('kind')!r} judge, not a {kind}.")
    net_cls, config_cls = KINDS[kind]
    config_values = {k: tuple(v) if isinstance(v, list) else v for k, v in header["config"].items()}
    net = net_cls(config_cls(**config_values))
    strict_load(net, state, f"{path.name} ({kind} judge)")
    net.eval()
    return Judge(kind, net, header, path)


@lru_cache(maxsize=4)
def shipped(kind: str) -> Judge:
    """The shipped judge of ``kind`` (loaded once per process)."""
    return load_judge(kind)
