"""gan-studio inpaint IMAGE MASK OUT.png --model CKPT: fill the masked part of an image."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from engine.commands.common import add_model_options, model_options, run_request
from engine.errors import InputError
from engine.inpaint_types import DEFAULT_FEATHER
from engine.version import APP_NAME, APP_VERSION

NAME = "inpaint"
HELP = "fill the masked part of an image with an inpainting model (context encoder)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="the image to fill (PNG, JPEG, ...; RGB or RGBA)")
    parser.add_argument("mask", help="a mask image of the same size: white (any nonzero) pixels are filled")
    parser.add_argument("output", help="the PNG file to write (never the input image)")
    add_model_options(parser, flag="--model")
    parser.add_argument("--seed", type=int, default=0, help="recorded with the result (context encoders are deterministic)")
    parser.add_argument("--feather", type=int, default=DEFAULT_FEATHER, metavar="PX",
                        help=f"fade the fill in over this many pixels inside the mask border (default {DEFAULT_FEATHER}; 0 = hard edge)")


def run(args: argparse.Namespace) -> int:
    from engine.imageio import read_image, write_recipe_png

    output = Path(args.output)
    _check_output(output, [Path(args.image), Path(args.mask)])
    image = read_image(args.image)
    mask = mask_from_image(read_image(args.mask), Path(args.mask).name)
    image, notes = _as_rgb8(image, Path(args.image).name)
    result = _inpaint(args, image, mask)
    recipe = {"app": APP_NAME, "app_version": APP_VERSION, "tool": "inpaint", "model": str(args.model),
              "model_options": model_options(args), "seed": args.seed, "feather": args.feather,
              "source": str(args.image), "mask": str(args.mask)}
    write_recipe_png(output, result.image, recipe)
    for note in notes + list(result.notes):
        print(f"note: {note}")
    count = result.regions_filled
    print(f"wrote {output} ({count} region{'s' if count != 1 else ''} filled in {result.duration_s:.2f} s)")
    return 0


def _check_output(output: Path, inputs: list[Path]) -> None:
    if output.suffix.lower() != ".png":
        raise InputError(f"{output.name}: the result is written as PNG; name the output with .png (e.g. {output.stem}.png).")
    for source in inputs:
        if _same_file(output, source):
            raise InputError(
                f"{output} is an input file; GAN Studio does not overwrite your image. Give the output another name, "
                f"e.g. {source.stem}-inpainted.png."
            )


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.abspath(a) == os.path.abspath(b)


def mask_from_image(mask_image: np.ndarray, name: str) -> np.ndarray:
    """A mask file as ``HxW bool``: any nonzero pixel is filled; in an RGBA mask, fully transparent
    pixels are not."""
    if mask_image.ndim == 2:
        return mask_image != 0
    colour = mask_image[..., :3].any(axis=2)
    if mask_image.shape[2] == 4:
        colour &= mask_image[..., 3] != 0
    return colour


def _as_rgb8(image: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    """The image as RGB/RGBA uint8 (gray becomes RGB; 16-bit becomes 8-bit, with a note)."""
    notes = []
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
        notes.append(f"{name} is a 16-bit image; it was inpainted and saved as 8-bit.")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
        notes.append(f"{name} is grayscale; the result is saved as RGB.")
    return image, notes


def _inpaint(args: argparse.Namespace, image: np.ndarray, mask: np.ndarray):
    """Run the inpaint request on the engine (the same path as the GUI)."""
    from engine.inpaint_types import InpaintRequest
    from engine.types import ModelRef

    request = InpaintRequest(model=ModelRef(args.model, model_options(args)), image=image, mask=mask,
                             seed=args.seed, feather=args.feather)
    return run_request(args, request, "inpainting")
