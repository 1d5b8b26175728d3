"""Reading checkpoint files from disk, safely, before any format is decided.

Nothing here can run code from a file:
  * ``.safetensors`` is read with the safetensors library (tensors + string metadata);
  * ``.pth/.pt/.bin/.ckpt`` go through ``torch.load(weights_only=True)``, with one extra allowed
    class, ``argparse.Namespace`` (a plain attribute bag that training scripts store as ``args``);
  * ``.pkl`` goes through :mod:`engine.loaders.safe_pickle`, which executes nothing from the file.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from engine.errors import CheckpointError, UnsafePickleError
from engine.loaders.base import RawCheckpoint

log = logging.getLogger(__name__)

TORCH_SUFFIXES = {".pth", ".pt", ".bin", ".ckpt", ".tar"}
PICKLE_SUFFIXES = {".pkl", ".pickle"}
SAFETENSORS_SUFFIXES = {".safetensors"}
SIDECAR_NAMES = ("gan_studio.json",)


def read_checkpoint(path: str | Path) -> RawCheckpoint:
    """Read ``path`` into a :class:`RawCheckpoint`. Raises :class:`CheckpointError` with a
    message for people when the file is missing, a folder of the wrong kind, corrupt or unsafe."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CheckpointError(f"{path} does not exist. Check the path, or pick the file again with Open model.")
    if path.is_dir():
        ckpt = RawCheckpoint(path=path, kind="directory")
        ckpt.sidecar = read_sidecar_options(path)
        return ckpt
    suffix = path.suffix.lower()
    if suffix in SAFETENSORS_SUFFIXES:
        tensors, metadata = _read_safetensors(path)
        ckpt = RawCheckpoint(path=path, kind="safetensors", obj=tensors, metadata=metadata)
    elif suffix in PICKLE_SUFFIXES:
        from engine.loaders.safe_pickle import load_pickle_file

        ckpt = RawCheckpoint(path=path, kind="pickle", obj=load_pickle_file(path))
    elif suffix in TORCH_SUFFIXES:
        ckpt = RawCheckpoint(path=path, kind="torch", obj=read_torch_file(path))
    else:
        raise CheckpointError(
            f"{path.name}: GAN Studio does not know files ending in '{path.suffix or '(no extension)'}'. "
            "It opens .safetensors (its own models), .pth/.pt/.bin (PyTorch weights), .pkl (StyleGAN2 "
            "network pickles) and Hugging Face model folders."
        )
    ckpt.sidecar = read_sidecar_options(path)
    return ckpt


#: how the files that are not PyTorch checkpoints begin, with what to call them
_OTHER_FILE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"<", "an HTML or XML page (often a download that failed)"),
    (b"{", "a JSON file"),
)


def not_a_torch_file(path: Path) -> str | None:
    """What ``path`` is when it cannot be a PyTorch checkpoint, judged from its first bytes; None when it may be one.

    A ``torch.save`` file is a zip archive (``PK``) or, from old PyTorch versions, a pickle (first byte 0x80).
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return None  # torch.load reports the I/O error with its own words
    if not head:
        return "an empty file"
    if head.startswith(b"PK") or head[:1] == b"\x80":
        return None
    for magic, what in _OTHER_FILE_MAGIC:
        if head.lstrip().startswith(magic):
            return what
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "not a PyTorch file"
    return "a text file"


def read_torch_file(path: Path) -> Any:
    """``torch.load(weights_only=True)`` on the CPU with errors for people."""
    what = not_a_torch_file(path)
    if what is not None:
        raise CheckpointError(
            f"{path.name} is not a checkpoint at all: it is {what}, only named like one. "
            "Pick the model file itself (a .pth/.pt/.bin saved by PyTorch, a .pkl network pickle or a .safetensors file)."
        )
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "Weights only load failed" in text or "Unsupported global" in text:
            detail = _unsupported_global(text)
            raise UnsafePickleError(
                f"{path.name} contains Python objects besides weights{detail}. GAN Studio never runs code "
                "from a checkpoint; save only the state_dict (torch.save(model.state_dict(), ...)) or "
                "convert the file to .safetensors."
            ) from exc
        raise CheckpointError(f"{path.name} could not be read ({text.splitlines()[0][:200]}); it may be truncated or not a PyTorch file.") from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, AttributeError, TypeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(
            f"{path.name} could not be read as a PyTorch checkpoint ({first}). The file may be truncated "
            "(an interrupted download or copy) or not a checkpoint at all; get a fresh copy."
        ) from exc


def _unsupported_global(text: str) -> str:
    for line in text.splitlines():
        if "Unsupported global" in line:
            return " (" + line.strip().split("Unsupported global:")[-1].strip()[:120] + ")"
    return ""


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import SafetensorError, safe_open

    try:
        tensors = {}
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
            for key in handle.keys():
                tensors[key] = handle.get_tensor(key)
        return tensors, metadata
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"{path.name} is not a readable .safetensors file ({str(exc)[:200]}); it may be truncated. "
            "Get a fresh copy or re-export the model."
        ) from exc


def read_sidecar_options(path: Path) -> dict[str, Any]:
    """Options stored next to a checkpoint, official names, later sources winning:
    the official ``opt.txt`` of SPADE/pix2pixHD/CycleGAN experiment folders, ``gan_studio.json``
    in the folder, then ``<checkpoint name>.json``."""
    folder = path if path.is_dir() else path.parent
    options: dict[str, Any] = {}
    opt_txt = folder / "opt.txt"
    if opt_txt.is_file():
        options.update(parse_opt_txt(opt_txt))
    candidates = [folder / n for n in SIDECAR_NAMES]
    if not path.is_dir():
        candidates.append(path.with_suffix(".json"))
    for candidate in candidates:
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CheckpointError(f"The options file {candidate} is not valid JSON ({exc}). Fix or remove it.") from exc
            if not isinstance(data, dict):
                raise CheckpointError(f"The options file {candidate} must hold a JSON object of option names and values.")
            options.update(data)
    return options


def parse_opt_txt(path: Path) -> dict[str, Any]:
    """Parse the ``opt.txt`` the official SPADE/pix2pixHD/CycleGAN code writes
    (``name: value   [default: ...]`` lines)."""
    options: dict[str, Any] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return options
    for line in lines:
        if ":" not in line or line.lstrip().startswith("-"):
            continue
        key, _, rest = line.partition(":")
        value = rest.split("[default:")[0].strip()
        options[key.strip()] = _parse_scalar(value)
    return options


def _parse_scalar(value: str) -> Any:
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value
