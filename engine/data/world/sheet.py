"""Contact sheets of the world: a grid of scenes (optionally with their label maps) as one image.

    python -m engine.data.world.sheet OUT.png [--rows 6] [--columns 8] [--size 96] [--first-seed 1000000] [--labels] [--colors 256]

Each column cycles through the biomes (seed ``first + k`` has biome ``(first + k) % 7``), so a
sheet of 7 or more columns shows every biome. Default seeds are held-out ones (documentation
pictures never show training data).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from engine.data.world.biomes import CLASS_NAMES
from engine.data.world.seeds import HELD_OUT_START
from engine.data.world.render import render_scene



def contact_sheet(first_seed: int, rows: int, columns: int, size: int, labels: bool = False, gap: int = 2) -> np.ndarray:
    """``rows x columns`` scenes of ``size`` px (each with its colourised label map below it when
    ``labels``), separated by ``gap`` white pixels: an H x W x 3 uint8 image."""
    from engine.labelsets import builtin

    palette = builtin("world").palette()[: len(CLASS_NAMES)]
    cell_h = size * (2 if labels else 1)
    sheet = np.full((rows * (cell_h + gap) - gap, columns * (size + gap) - gap, 3), 255, np.uint8)
    for index in range(rows * columns):
        label_map, image, _ = render_scene(first_seed + index, size)
        cell = np.concatenate([image, palette[label_map]], axis=0) if labels else image
        r, c = divmod(index, columns)
        sheet[r * (cell_h + gap):r * (cell_h + gap) + cell_h, c * (size + gap):c * (size + gap) + size] = cell
    return sheet


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Write a contact sheet of world scenes.")
    parser.add_argument("output", type=Path)
    parser.add_argument("--rows", type=int, default=6)
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--first-seed", type=int, default=HELD_OUT_START)
    parser.add_argument("--labels", action="store_true", help="show each scene's label map below it")
    parser.add_argument("--colors", type=int, default=0, help="quantise to this many colours (smaller files; 0 = keep RGB)")
    args = parser.parse_args(argv)
    from PIL import Image

    image = Image.fromarray(contact_sheet(args.first_seed, args.rows, args.columns, args.size, args.labels))
    if args.colors:
        image = image.quantize(colors=args.colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    image.save(args.output, optimize=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
