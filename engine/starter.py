"""The starter models shipped in ``checkpoints/`` (listed in ``checkpoints/manifest.json``).

Plain JSON reading only (no torch): the GUI calls it at start to know what to open.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from engine.resources import checkpoints_dir

log = logging.getLogger(__name__)

#: the starter models and their manifest (package data, see engine.resources)
CHECKPOINT_DIR = checkpoints_dir()
WORKSPACES = ("paint", "latent", "upscale", "inpaint")


@dataclass(frozen=True)
class StarterModel:
    path: str
    workspace: str
    title: str
    description: str = ""


def starter_models(folder: Path = CHECKPOINT_DIR) -> list[StarterModel]:
    """The manifest's models whose files exist; a broken manifest is logged and yields none."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return []
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        entries = data.get("models", [])
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("ignoring %s: %s", manifest, exc)
        return []
    models = []
    for entry in entries:
        try:
            path = folder / entry["file"]
            workspace = entry.get("workspace", "paint")
            if workspace not in WORKSPACES:
                raise ValueError(f"unknown workspace {workspace!r}")
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("ignoring a starter model entry in %s: %s", manifest, exc)
            continue
        if not path.exists():
            log.warning("starter model %s is listed but missing", path)
            continue
        models.append(StarterModel(str(path), workspace, str(entry.get("title", path.stem)), str(entry.get("description", ""))))
    return models
