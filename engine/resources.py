"""Where the app's own data lives: ``assets/`` (label sets, ...) and ``checkpoints/`` (starter models).

Both folders sit at the top of the source tree and install as package data (the packages
``gan_studio_assets`` and ``gan_studio_checkpoints``, mapped in setup.py), so a wheel or a
non-editable ``pip install .`` carries every file under them. They are found through
:mod:`importlib.resources`. When the engine runs from a source checkout (``python main.py``,
``PYTHONPATH``, an editable install), the checkout's own folders are used, so that a second
checkout never reads the data of the one that happens to be installed.

Plain paths, no torch: the GUI calls this at start.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

#: data folder name in the source tree -> the package it installs as
DATA_PACKAGES = {"assets": "gan_studio_assets", "checkpoints": "gan_studio_checkpoints"}

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _from_checkout(folder: str) -> Path | None:
    """``folder`` of the source checkout this engine runs from, or None when installed."""
    if (_SOURCE_ROOT / "pyproject.toml").is_file() and (_SOURCE_ROOT / folder).is_dir():
        return _SOURCE_ROOT / folder
    return None


def data_dir(folder: str) -> Path:
    """The directory of data folder ``folder`` (``"assets"`` or ``"checkpoints"``).

    Raises FileNotFoundError naming the package when neither a checkout nor an installed
    package provides it (a broken install: reinstall GAN Studio)."""
    if folder not in DATA_PACKAGES:
        raise ValueError(f"unknown data folder {folder!r}; known: {', '.join(DATA_PACKAGES)}")
    local = _from_checkout(folder)
    if local is not None:
        return local
    package = DATA_PACKAGES[folder]
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        raise FileNotFoundError(f"GAN Studio's {folder} (package {package}) is not installed; reinstall GAN Studio.") from None
    return Path(str(root))


def assets_dir() -> Path:
    """``assets/``: label sets (``labelsets/*.json``) and other shipped data."""
    return data_dir("assets")


def checkpoints_dir() -> Path:
    """``checkpoints/``: the starter models and their ``manifest.json``."""
    return data_dir("checkpoints")
