"""What tests share: the repository and compat roots, tiny model savers, sample documents.

Import from here (``from tests.helpers import ...``), not from another test module.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def compat_root() -> Path:
    """Folder of the official-format fixture sets: ``GAN_STUDIO_COMPAT_DIR``, default ``../shared/compat``."""
    return Path(os.environ.get("GAN_STUDIO_COMPAT_DIR", REPO_ROOT.parent / "shared" / "compat")).resolve()


def family_dir(name: str) -> Path:
    """The fixture folder of one family, or skip the test when it is absent."""
    path = compat_root() / name
    if not path.is_dir():
        pytest.skip(f"no {name} fixtures under {compat_root()}")
    return path


def fixture_sets(name: str) -> list[Path]:
    """Every sub-folder of a family folder that holds a config.json (or the folder itself)."""
    path = compat_root() / name
    if not path.is_dir():
        return []
    if (path / "config.json").is_file():
        return [path]
    return sorted(p for p in path.iterdir() if (p / "config.json").is_file())


def load_cases(folder: Path, separator: str = "__") -> dict:
    """``cases.npz`` grouped by case: ``<case><separator><array>`` -> ``{case: {array: value}}``
    (an array name missing after the separator is called ``"value"``). Loaded without pickles."""
    import numpy as np

    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(folder / "cases.npz", allow_pickle=False) as data:
        for key in data.files:
            case, _, array = key.partition(separator)
            out.setdefault(case, {})[array or "value"] = data[key]
    return out
