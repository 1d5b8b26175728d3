"""Write the data folders the ``starter-*`` presets train on (and the held-out photo set).

Usage: ``python tools/starter_data.py DATA_ROOT [--only NAME ...]``

Folders under DATA_ROOT (every world folder uses training seeds only, below 1,000,000):

* ``world-paired-128``: 2,000 paired scenes, seeds 0..1999 (SPADE);
* ``world-flat-128``: 1,500 images, seeds 5000..6499 (StyleGAN2, inpainting);
* ``world-flat-256``: 1,000 images, seeds 2000..2999 (upscaler);
* ``world-classes-64``: 2,100 images spread over the biomes, seeds 10000.. (BigGAN);
* ``photos-train``: 256 px crops of the colour photos shipped with scikit-image listed in
  :data:`TRAIN_PHOTOS`, each crop written ``PHOTO_REPEAT`` times so that photos weigh about as much
  as the world images;
* ``sr-train``: ``world-flat-256`` plus ``photos-train`` (links), the upscaler's training folder;
* ``inpaint-train``: ``world-flat-128`` plus ``photos-train`` (links), the inpainter's training folder;
* ``photos-heldout``: 256 px crops (128 px apart, photos first shrunk to a 512 px short side,
  flat crops skipped) of :data:`HELDOUT_PHOTOS`, never used in training (the upscaler's and
  inpainter's photo evaluation set).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

#: scikit-image sample photos used for training / held out (file names in skimage/data)
TRAIN_PHOTOS = ("chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg",
                "ihc.png", "brick.png", "grass.png", "gravel.png", "color.png")
HELDOUT_PHOTOS = ("astronaut.png", "camera.png", "retina.jpg", "coins.png", "moon.png")
CROP = 256
PHOTO_REPEAT = 4

WORLD = {
    "world-paired-128": ("paired", 128, 0, 2000),
    "world-flat-128": ("flat", 128, 5000, 1500),
    "world-flat-256": ("flat", 256, 2000, 1000),
    "world-classes-64": ("classes", 64, 10000, 2100),
}


def skimage_data_dir() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


def photo_crops(name: str, stride: int, max_short: int = 0, min_std: float = 0.0) -> list[np.ndarray]:
    """RGB ``CROP x CROP`` crops of one scikit-image photo on a grid with ``stride`` px steps.

    ``max_short``: first shrink (area filter) photos whose short side is longer than this (0 = never);
    ``min_std``: skip crops whose grey-level standard deviation (0..255) is below this (flat
    background such as the black around the retina photo, which would flatter any upscaler)."""
    image = Image.open(skimage_data_dir() / name).convert("RGB")
    if min(image.size) < CROP:
        factor = CROP / min(image.size)
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.BICUBIC)
    if max_short and min(image.size) > max_short:
        factor = max_short / min(image.size)
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.BOX)
    array = np.asarray(image)
    h, w = array.shape[:2]
    tops = range(0, h - CROP + 1, stride) or [0]
    lefts = range(0, w - CROP + 1, stride) or [0]
    crops = [array[t:t + CROP, l:l + CROP] for t in tops for l in lefts]
    return [c for c in crops if float(c.mean(axis=2).std()) >= min_std]


def write_photos(folder: Path, names: tuple[str, ...], stride: int, repeat: int, max_short: int = 0,
                 min_std: float = 0.0) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for name in names:
        for i, crop in enumerate(photo_crops(name, stride, max_short, min_std)):
            for r in range(repeat):
                Image.fromarray(crop).save(folder / f"{Path(name).stem}-{i:03d}-{r}.png")
                count += 1
    return count


def write_world(root: Path, name: str) -> None:
    layout, size, seed, count = WORLD[name]
    out = root / name
    if out.is_dir() and any(out.iterdir()):
        print(f"{out} exists; kept")
        return
    subprocess.run([sys.executable, "main.py", "world", "--count", str(count), "--resolution", str(size),
                    "--layout", layout, "--seed", str(seed), str(out)], check=True)


def link_folder(target: Path, sources: list[Path]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for source in sources:
        for path in sorted(source.glob("*.png")):
            link = target / f"{source.name}-{path.name}"
            if not link.exists():
                os.symlink(path.resolve(), link)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    wanted = set(args.only or [*WORLD, "photos", "sr-train", "inpaint-train"])
    for name in WORLD:
        if name in wanted:
            write_world(args.root, name)
    if "photos" in wanted:
        print("photos-train:", write_photos(args.root / "photos-train", TRAIN_PHOTOS, 96, PHOTO_REPEAT))
        print("photos-heldout:", write_photos(args.root / "photos-heldout", HELDOUT_PHOTOS, 128, 1,
                                              max_short=512, min_std=30.0))
    if "sr-train" in wanted:
        link_folder(args.root / "sr-train", [args.root / "world-flat-256", args.root / "photos-train"])
    if "inpaint-train" in wanted:
        link_folder(args.root / "inpaint-train", [args.root / "world-flat-128", args.root / "photos-train"])


if __name__ == "__main__":
    main()
