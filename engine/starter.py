"""The starter models shipped in ``checkpoints/`` and the user's own models folder.

``checkpoints/manifest.json`` (format ``gan-studio-starter-models/1``) lists each shipped file with
what the app needs to show and trust it::

    {"file": "starter-spade.safetensors", "workspace": "paint", "title": "...", "description": "...",
     "sha256": "<64 hex digits>", "size_bytes": 123, "family": "spade", "resolution": 128,
     "config": {...}, "preset": "starter-spade", "command": "gan-studio train --preset ...",
     "training": {"steps": ..., "wall_time_s": ..., "hardware": "...", "data": "..."},
     "metrics": [<rows of gan-studio evaluate --json>], "evaluation": {...}, "license": "..."}

Only ``file`` is required; entries written by ``tools/ship_starter.py`` carry everything. A file
whose SHA-256 differs from its entry is *reported* (:attr:`StarterScan.problems`) and left out,
never loaded silently. Plain JSON and file reading only (no torch): the GUI calls this at start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from engine.resources import checkpoints_dir

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "gan-studio-starter-models/1"
WORKSPACES = ("paint", "latent", "upscale", "inpaint")
#: model family -> the workspace that uses it
WORKSPACE_OF_FAMILY = {
    "spade": "paint", "pix2pixhd": "paint", "pix2pix": "paint", "cyclegan": "paint",
    "stylegan2": "latent", "biggan": "latent",
    "esrgan": "upscale", "srvgg": "upscale", "srresnet": "upscale",
    "context_encoder": "inpaint",
}
#: file suffixes listed from a user's models folder
MODEL_SUFFIXES = (".safetensors", ".pth", ".pt", ".pkl", ".ckpt", ".bin")
SHIPPED_LICENSE = ("Trained by GAN Studio on its own procedural starter world (and scikit-image sample photos "
                   "for the upscaler and inpainter); released with GAN Studio under Apache-2.0.")


def _default_checkpoint_dir() -> Path:
    """``checkpoints/`` of this install (package data, see :mod:`engine.resources`). When it is
    missing (a broken install) the path returned does not exist: the app opens without starters."""
    try:
        return checkpoints_dir()
    except FileNotFoundError as exc:
        log.warning("%s", exc)
        return Path(__file__).resolve().parents[1] / "checkpoints"


CHECKPOINT_DIR = _default_checkpoint_dir()


@dataclass(frozen=True)
class StarterModel:
    """One model the Models panel lists. ``source`` is ``"shipped"`` (checkpoints/) or ``"user"``
    (the user's models folder); ``size_bytes`` is the file size; ``resolution`` is in pixels (0 when
    unknown or any size); ``scale``: an upscaler's factor (0 for other models); ``metrics`` are the rows ``gan-studio evaluate --json`` printed (dicts)."""

    path: str
    workspace: str
    title: str
    description: str = ""
    family: str = ""
    resolution: int = 0
    scale: int = 0
    size_bytes: int = 0
    sha256: str = ""
    source: str = "shipped"
    license: str = ""
    preset: str = ""
    metrics: tuple[dict[str, Any], ...] = ()
    training: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StarterScan:
    """What :func:`scan` found: the models that may be loaded, and problems to show people."""

    models: tuple[StarterModel, ...] = ()
    problems: tuple[str, ...] = ()


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in ``chunk``-byte pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict[str, Any]:
    """The parsed manifest of ``folder`` ({} when there is none). Raises ValueError with a
    sentence for people when it cannot be read."""
    manifest = Path(folder) / MANIFEST_NAME
    if not manifest.is_file():
        return {}
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{manifest} cannot be read ({exc}); reinstall GAN Studio to restore it.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("models", []), list):
        raise ValueError(f"{manifest} is not a starter-model manifest (no 'models' list); reinstall GAN Studio.")
    return data


def _entry_model(folder: Path, entry: dict[str, Any]) -> StarterModel:
    path = folder / str(entry["file"])
    family = str(entry.get("family", ""))
    workspace = str(entry.get("workspace") or WORKSPACE_OF_FAMILY.get(family, "paint"))
    if workspace not in WORKSPACES:
        raise ValueError(f"unknown workspace {workspace!r}")
    return StarterModel(
        path=str(path), workspace=workspace, title=str(entry.get("title", path.stem)),
        description=str(entry.get("description", "")), family=family,
        resolution=int(entry.get("resolution") or 0), scale=int(entry.get("scale") or 0),
        size_bytes=int(entry.get("size_bytes") or 0),
        sha256=str(entry.get("sha256", "")).lower(), source="shipped",
        license=str(entry.get("license", SHIPPED_LICENSE)), preset=str(entry.get("preset", "")),
        metrics=tuple(entry.get("metrics") or ()), training=dict(entry.get("training") or {}),
    )


def verify(model: StarterModel) -> str | None:
    """None when ``model``'s file exists and matches its manifest SHA-256 (and size), else a
    sentence for people saying what is wrong and what to do."""
    path = Path(model.path)
    if not path.is_file():
        return f"The starter model {path.name} is listed in the manifest but missing; reinstall GAN Studio."
    if model.size_bytes and path.stat().st_size != model.size_bytes:
        return (f"The starter model {path.name} is {path.stat().st_size} bytes, not the {model.size_bytes} the "
                "manifest lists: the file is damaged or was replaced, so it was not loaded. Reinstall GAN Studio.")
    if model.sha256 and sha256_of(path) != model.sha256:
        return (f"The starter model {path.name} does not match its SHA-256 in the manifest: the file is damaged "
                "or was replaced, so it was not loaded. Reinstall GAN Studio to restore it.")
    return None


def scan(folder: Path | None = None, check_hashes: bool = True) -> StarterScan:
    """The shipped models of ``folder`` (default: this install's checkpoints/) that may be loaded,
    and the problems found (a broken manifest, a missing file, a checksum mismatch). A missing
    folder or manifest is no problem: there are simply no starter models."""
    folder = Path(folder) if folder is not None else CHECKPOINT_DIR
    try:
        entries = read_manifest(folder).get("models", [])
    except ValueError as exc:
        log.warning("%s", exc)
        return StarterScan((), (str(exc),))
    models, problems = [], []
    for entry in entries:
        try:
            model = _entry_model(folder, entry)
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"A starter model entry in {folder / MANIFEST_NAME} is not valid ({exc}); it was skipped.")
            continue
        problem = verify(model) if check_hashes else (None if Path(model.path).is_file() else "missing")
        if problem:
            log.warning("%s", problem)
            problems.append(problem)
            continue
        models.append(model)
    return StarterScan(tuple(models), tuple(problems))


def starter_models(folder: Path | None = None) -> list[StarterModel]:
    """The shipped models that exist and match their checksums (problems are logged)."""
    return list(scan(folder).models)


# ---- the user's own models ----------------------------------------------------------------------


def read_header_metadata(path: Path) -> dict[str, Any]:
    """GAN Studio's metadata from a safetensors file header (family, config ...), or {} when the
    file is not ours or not safetensors. Reads only the JSON header, never tensors."""
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 50_000_000:
                return {}
            header = json.loads(handle.read(length))
        meta = header.get("__metadata__", {}).get("gan_studio")
        return json.loads(meta) if meta else {}
    except (OSError, ValueError, struct.error, AttributeError):
        return {}


def _resolution(family: str, config: dict[str, Any]) -> int:
    for key in ("resolution", "img_resolution", "crop_size", "output_size"):
        if isinstance(config.get(key), int):
            return int(config[key])
    return 0


def user_models(folder: str | Path | None) -> list[StarterModel]:
    """Checkpoint files directly in a user's models folder, with family and resolution read from
    GAN Studio's own files (other formats show their file name and size only)."""
    if not folder:
        return []
    root = Path(folder).expanduser()
    if not root.is_dir():
        return []
    models = []
    for path in sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in MODEL_SUFFIXES):
        meta = read_header_metadata(path) if path.suffix.lower() == ".safetensors" else {}
        family = str(meta.get("family", ""))
        config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
        models.append(StarterModel(
            path=str(path), workspace=WORKSPACE_OF_FAMILY.get(family, "paint"), title=path.stem,
            description=str(meta.get("source", "")), family=family, resolution=_resolution(family, config),
            size_bytes=path.stat().st_size, source="user", license="your own file: its author's terms apply",
        ))
    return models


# ---- the first minute ------------------------------------------------------------------------------

#: the world seed of the example scene the Paint workspace opens with (a training seed: it is a
#: picture to start from, not an evaluation scene)
EXAMPLE_SCENE_SEED = 77


def example_scene_labels(height: int, width: int, seed: int = EXAMPLE_SCENE_SEED) -> "np.ndarray":
    """A ``height x width`` int32 label map of the starter world (the world label set), for the
    Paint workspace to start from. Numpy only (the world generator has no torch)."""
    import numpy as np

    from engine.data.world import render_scene

    side = max(int(height), int(width))
    labels, _image, _instances = render_scene(int(seed), max(32, min(2048, side)))
    top, left = (labels.shape[0] - int(height)) // 2, (labels.shape[1] - int(width)) // 2
    crop = labels[max(0, top):max(0, top) + int(height), max(0, left):max(0, left) + int(width)]
    return np.ascontiguousarray(crop, dtype=np.int32)
