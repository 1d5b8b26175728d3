"""Contact sheets of the shipped starter models, for the README (``docs/starter/*.png``).

Usage: ``python tools/starter_sheets.py [--out docs/starter] [--photos DIR]``

One PNG per model in ``checkpoints/manifest.json``, all on held-out material (world seeds from
1,000,000; ``--photos``: held-out photos never used in training):

* paint (SPADE): rows of label map (world colours) | SPADE render | the real world image;
* latent (StyleGAN2): a 4 x 8 seed grid (seeds 0..31); BigGAN: one row per biome;
* inpaint: damaged input (hole in magenta) | filled | original, world scenes and photos;
* upscale: low-resolution input (nearest) | bicubic | model | original, 96 px crops.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import starter

HELD_OUT = 1_000_000
GAP = 4


def grid(rows: list[list[np.ndarray]], gap: int = GAP) -> np.ndarray:
    """Tiles (all HxWx3 uint8 of one size) in rows, on a dark background."""
    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    out = np.full((len(rows) * (h + gap) + gap, cols * (w + gap) + gap, 3), 30, np.uint8)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            y, x = gap + i * (h + gap), gap + j * (w + gap)
            out[y:y + h, x:x + w] = tile[..., :3]
    return out


def resize(image: np.ndarray, size: int, resample=Image.NEAREST) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((size, size), resample))


def world(seed: int, size: int):
    from engine.data.world import render_scene

    return render_scene(seed, size)


def paint_sheet(engine, ref, entry: dict, count: int = 6) -> np.ndarray:
    from engine.labelsets import builtin
    from engine.types import SynthesizeRequest

    res = int(entry["resolution"])
    palette = builtin("world")
    shown = max(res, 128)
    rows = []
    for i in range(count):
        labels, real, _inst = world(HELD_OUT + i, res)
        out = engine.submit(SynthesizeRequest(ref, labels.astype(np.int32), seed=i)).result().image
        rows.append([resize(palette.colorize(labels), shown), resize(out, shown, Image.BICUBIC),
                     resize(real, shown, Image.BICUBIC)])
    return grid([list(col) for col in zip(*rows)])  # three rows: labels / render / real


def latent_sheet(engine, ref, entry: dict) -> np.ndarray:
    from engine.latent_types import LatentSampleRequest

    res = int(entry["resolution"])
    shown = max(res, 96)
    if entry["family"] == "biggan":
        classes = int(entry["config"].get("n_classes") or entry["config"].get("num_classes") or 1)
        rows = [[resize(engine.submit(LatentSampleRequest(ref, seed=s, class_index=c)).result().image, shown,
                        Image.BICUBIC) for s in range(8)] for c in range(classes)]
        return grid(rows)
    images = [resize(engine.submit(LatentSampleRequest(ref, seed=s)).result().image, shown, Image.BICUBIC)
              for s in range(32)]
    return grid([images[r * 8:(r + 1) * 8] for r in range(4)])


def inpaint_sheet(engine, ref, photos: Path | None) -> np.ndarray:
    from engine.eval.evaluate import hole_mask
    from engine.inpaint_types import InpaintRequest

    images = [world(HELD_OUT + i, 128)[1] for i in range(3)]
    if photos is not None:
        files = sorted(photos.glob("*.png"))
        images += [np.asarray(Image.open(f).convert("RGB").resize((128, 128), Image.BOX)) for f in files[::9][:3]]
    rows = []
    for i, image in enumerate(images):
        mask = hole_mask(i, *image.shape[:2])
        filled = engine.submit(InpaintRequest(ref, image, mask)).result().image
        damaged = image.copy()
        damaged[mask] = (255, 0, 255)
        rows.append([damaged, filled, image])
    return grid([list(col) for col in zip(*rows)])


def upscale_sheet(engine, ref, photos: Path | None, scale: int = 4, crop: int = 96) -> np.ndarray:
    from engine.types import UpscaleRequest

    images = [world(HELD_OUT + i, 256)[1] for i in range(2)]
    if photos is not None:
        files = sorted(photos.glob("*.png"))
        images += [np.asarray(Image.open(f).convert("RGB")) for f in files[::7][:4]]
    rows = []
    for image in images:
        hr = image[80:80 + crop, 80:80 + crop]
        lr = np.asarray(Image.fromarray(hr).resize((crop // scale, crop // scale), Image.BICUBIC))
        sr = engine.submit(UpscaleRequest(ref, lr)).result().image[..., :3]
        bicubic = np.asarray(Image.fromarray(lr).resize((crop, crop), Image.BICUBIC))
        rows.append([resize(lr, crop), bicubic, sr, hr])
    return grid(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "starter")
    parser.add_argument("--photos", type=Path, default=None)
    parser.add_argument("--only", nargs="*", default=None, help="workspaces to draw (default all)")
    args = parser.parse_args()
    import torch

    from engine.service import Engine
    from engine.types import LoadModelRequest, ModelRef

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    engine = Engine(device="cpu")
    try:
        for entry in starter.read_manifest(starter.CHECKPOINT_DIR).get("models", []):
            if args.only and entry["workspace"] not in args.only:
                continue
            ref = ModelRef(str(starter.CHECKPOINT_DIR / entry["file"]))
            engine.submit(LoadModelRequest(ref)).result()
            kind = entry["workspace"]
            if kind == "paint":
                sheet = paint_sheet(engine, ref, entry)
            elif kind == "latent":
                sheet = latent_sheet(engine, ref, entry)
            elif kind == "inpaint":
                sheet = inpaint_sheet(engine, ref, args.photos)
            else:
                sheet = upscale_sheet(engine, ref, args.photos)
            path = args.out / f"{Path(entry['file']).stem}.png"
            Image.fromarray(sheet).save(path, optimize=True)
            print(path)
    finally:
        engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
