"""Write world scenes as dataset folders, in the layouts the trainers read.

* ``paired``: ``DIR/labels/NAME.png`` (8-bit grey, value = world class index),
  ``DIR/images/NAME.png`` (RGB), ``DIR/instances/NAME.png`` (16-bit grey instance ids, 0 = none),
  ``DIR/labelset.json`` (the world label set);
* ``flat``: ``DIR/NAME.png`` (RGB images only);
* ``classes``: ``DIR/<biome>/NAME.png``, one folder per biome (consecutive seeds cycle through
  the biomes, so the classes are balanced).

``NAME`` is the seed, zero-padded to six digits (``000123.png``): every file tells which world
seed made it. Seeds ``0 .. 999,999`` are for training, ``1,000,000`` and up are held out for
evaluation; a training set may not cross into the held-out range.
"""

from __future__ import annotations

import errno
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from engine.errors import EngineError, InputError
from engine.data.world.biomes import BIOME_NAMES, biome_index
from engine.data.world.seeds import HELD_OUT_START
from engine.data.world.render import MAX_SIZE, MIN_SIZE, render_scene

log = logging.getLogger(__name__)

LAYOUTS = ("paired", "flat", "classes")
MAX_COUNT = 10_000_000
#: bytes per pixel a written scene takes at most (PNG of noisy RGB + label + 16-bit instance maps)
_BYTES_PER_PIXEL = {"paired": 4.0, "flat": 3.2, "classes": 3.2}


@dataclass(frozen=True)
class WriteReport:
    """What :func:`write_dataset` did: scenes written, scenes skipped because their files were
    already there (``append``), the seeds covered and the output folder."""

    written: int
    skipped: int
    first_seed: int
    last_seed: int
    out_dir: Path
    layout: str


def scene_name(seed: int) -> str:
    return f"{int(seed):06d}.png"


def check_request(out_dir: Path, count: int, resolution: int, layout: str, first_seed: int, append: bool) -> None:
    """Raise :class:`InputError` for anything that would make a bad or surprising dataset."""
    if layout not in LAYOUTS:
        raise InputError(f"Unknown layout {layout!r}; use one of: {', '.join(LAYOUTS)}.")
    if not MIN_SIZE <= resolution <= MAX_SIZE:
        raise InputError(f"--resolution {resolution} is out of range: world scenes are {MIN_SIZE} to {MAX_SIZE} px square.")
    if not 1 <= count <= MAX_COUNT:
        raise InputError(f"--count {count} is out of range: write 1 to {MAX_COUNT:,} scenes.")
    if first_seed < 0:
        raise InputError(f"--seed {first_seed}: seeds are whole numbers from 0.")
    last = first_seed + count - 1
    if first_seed < HELD_OUT_START <= last:
        raise InputError(
            f"Seeds {first_seed}..{last} cross into the held-out range (from {HELD_OUT_START:,}), which is kept for "
            f"evaluation. Write training data below {HELD_OUT_START:,} (e.g. --seed 0) or an evaluation set from "
            f"--seed {HELD_OUT_START}."
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} exists and is not a folder; pick a folder to write the scenes into.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not append:
        raise InputError(f"{out_dir} is not empty. Pick an empty or new folder, or pass --append to add scenes to it "
                         "(files already there are kept).")


def check_free_space(out_dir: Path, count: int, resolution: int, layout: str) -> None:
    """Raise :class:`InputError` when the disk holding ``out_dir`` lacks room for the scenes."""
    probe = out_dir
    while not probe.exists():
        probe = probe.parent
    needed = int(count * resolution * resolution * _BYTES_PER_PIXEL[layout]) + (1 << 20)
    free = shutil.disk_usage(probe).free
    if free < needed:
        raise InputError(
            f"Not enough free disk space for {count:,} scenes at {resolution}x{resolution}: they need up to "
            f"{needed / 2**20:,.0f} MB and {probe} has {free / 2**20:,.0f} MB free. Free some space, write fewer "
            "scenes, or choose another folder."
        )


def write_dataset(out_dir: str | Path, count: int, resolution: int, layout: str = "paired", first_seed: int = 0,
                  append: bool = False, progress: Callable[[int, int], None] | None = None) -> WriteReport:
    """Render seeds ``first_seed .. first_seed + count - 1`` at ``resolution`` px into ``out_dir``
    in ``layout`` (see the module docstring). ``progress(done, total)`` is called after each scene.

    Bad requests raise :class:`InputError` before anything is written; a disk that fills up
    midway raises :class:`EngineError` saying how many scenes were written (the files of the
    scene being written are removed, so every scene left is complete)."""
    out_dir = Path(out_dir)
    check_request(out_dir, count, resolution, layout, first_seed, append)
    check_free_space(out_dir, count, resolution, layout)
    out_dir.mkdir(parents=True, exist_ok=True)
    _prepare_folders(out_dir, layout)
    written = skipped = 0
    for done, seed in enumerate(range(first_seed, first_seed + count), start=1):
        paths = _paths(out_dir, layout, seed)
        if all(p.exists() for p in paths.values()):
            skipped += 1
        else:
            labels, image, instances = render_scene(seed, resolution)
            _write_scene(paths, labels, image, instances, written)
            written += 1
        if progress is not None:
            progress(done, count)
    log.info("wrote %d scenes (%d already there) to %s", written, skipped, out_dir)
    return WriteReport(written, skipped, first_seed, first_seed + count - 1, out_dir, layout)


def _prepare_folders(out_dir: Path, layout: str) -> None:
    if layout == "paired":
        for sub in ("labels", "images", "instances"):
            (out_dir / sub).mkdir(exist_ok=True)
        from engine.labelsets import builtin

        target = out_dir / "labelset.json"
        if not target.exists():
            target.write_text(json.dumps(builtin("world").to_dict(), indent=1), encoding="utf-8")
    elif layout == "classes":
        for name in BIOME_NAMES:
            (out_dir / name).mkdir(exist_ok=True)


def _paths(out_dir: Path, layout: str, seed: int) -> dict[str, Path]:
    name = scene_name(seed)
    if layout == "paired":
        return {kind: out_dir / kind / name for kind in ("labels", "images", "instances")}
    if layout == "flat":
        return {"images": out_dir / name}
    return {"images": out_dir / BIOME_NAMES[biome_index(None, seed)] / name}


def _write_scene(paths: dict[str, Path], labels: np.ndarray, image: np.ndarray, instances: np.ndarray, written: int) -> None:
    from PIL import Image

    arrays = {"labels": Image.fromarray(labels.astype(np.uint8), mode="L"),
              "images": Image.fromarray(image, mode="RGB"),
              "instances": Image.fromarray(instances.astype(np.uint16))}
    for kind, path in paths.items():
        try:
            arrays[kind].save(path, format="PNG")
        except OSError as exc:
            for written_path in paths.values():  # no half-written scene is left behind
                written_path.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise EngineError(
                    f"The disk is full: {written} scenes were written before {path.name} failed. Free some space "
                    "and run the same command again with --append to finish (written scenes are kept)."
                ) from exc
            raise EngineError(f"Cannot write {path}: {exc.strerror or exc}. Check the folder's permissions.") from exc
