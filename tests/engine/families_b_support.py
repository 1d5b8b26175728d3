"""Tiny label/photo datasets for the SPADE and pix2pixHD trainer tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.labelsets import write_index_png
from tests.engine.image_train_support import write_images


def label_dataset(root: Path, count: int = 3, size: int = 64, label_nc: int = 5, instances: bool = True) -> Path:
    """``root/images``, ``root/labels`` (every value 0..label_nc-1 appears in the first map) and,
    when ``instances``, ``root/instances`` (each labelled square its own instance id)."""
    write_images(root / "images", count, size, seed=2)
    (root / "labels").mkdir()
    if instances:
        (root / "instances").mkdir()
    rng = np.random.default_rng(3)
    side = max(2, size // 4)
    for i in range(count):
        labels = np.zeros((size, size), np.uint8)
        ids = np.zeros((size, size), np.uint8)
        for value in range(1, label_nc):
            top, left = ((value * 7) % (size - side), (value * 13) % (size - side)) if i == 0 else rng.integers(0, size - side, size=2)
            labels[top:top + side, left:left + side] = value
            ids[top:top + side, left:left + side] = value * 10 + 1
        write_index_png(root / "labels" / f"img{i:02d}.png", labels)
        if instances:
            write_index_png(root / "instances" / f"img{i:02d}.png", ids)
    return root
