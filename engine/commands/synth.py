"""gan-studio synth LABEL.png OUT.png --model CKPT [--style IMG | --seed N] [--instances INST.png]

Renders a label map with a conditional generator (SPADE, pix2pixHD; or an image with pix2pix /
CycleGAN) exactly as the Paint workspace does, and writes the result as PNG with its recipe.
The label map is an index PNG (class indices), or a colour PNG in the model's palette.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.commands.common import add_model_options, model_options, run_request
from engine.errors import EngineError
from engine.version import APP_NAME, APP_VERSION

NAME = "synth"
HELP = "render a label map (or an image, for image-to-image models) with a conditional generator"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("labels", help="label map PNG (class indices or palette colours); an image for pix2pix/CycleGAN")
    parser.add_argument("output", help="the PNG to write")
    add_model_options(parser, flag="--model")
    style = parser.add_mutually_exclusive_group()
    style.add_argument("--style", metavar="IMG", help="render in the style of this image (models with a style encoder)")
    style.add_argument("--seed", type=int, default=0, help="random style seed (default 0)")
    parser.add_argument("--instances", metavar="PNG", help="instance-id map (16-bit or 8-bit index PNG) for pix2pixHD/SPADE")
    parser.add_argument("--nearest-colors", action="store_true",
                        help="map colours of a colour label map that are not in the palette to the nearest class")


def read_label_map(path: str, summary, nearest: bool) -> tuple:
    """An index PNG as is, or a colour PNG through the model's palette; returns (labels, notes)."""
    from engine import labelsets

    try:
        return labelsets.read_index_png(path), []
    except EngineError:
        pass
    if not summary.label_set:
        raise EngineError(f"{Path(path).name} is a colour image but the model has no palette; give an index PNG.")
    label_set = labelsets.LabelSet.from_dict(summary.label_set)
    labels, report = labelsets.read_color_png(path, label_set, nearest=nearest)
    if not report.ok and not report.mapped_to_nearest:
        raise EngineError(f"{Path(path).name}: {report.message()} (or pass --nearest-colors)")
    return labels, ([report.message()] if (report.unknown_pixels or report.ambiguous_colors) else [])


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from engine.imageio import read_image, write_png
    from engine.loaders import load_model
    from engine.types import ModelRef, SynthesizeRequest

    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise EngineError(f"{output.name}: synth writes PNG images; name the output *.png.")
    if output.resolve() == Path(args.labels).resolve():
        raise EngineError(f"{output.name} is the input file; choose another output name so the input is kept.")
    options = model_options(args)
    summary = load_model(args.model, options).summary()
    notes: list[str] = []
    if "image_to_image" in summary.capabilities:
        labels = read_image(args.labels)
        if labels.dtype != np.uint8:
            labels = (labels.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
        if labels.ndim == 2:
            labels = np.repeat(labels[:, :, None], 3, axis=2)
        labels = np.ascontiguousarray(labels[:, :, :3])
    else:
        labels, notes = read_label_map(args.labels, summary, args.nearest_colors)
    instances = None
    if args.instances:
        from engine import labelsets

        instances = labelsets.read_index_png(args.instances)
    style_image = None
    if args.style:
        style_image = read_image(args.style)
        if style_image.ndim == 2:
            style_image = np.repeat(style_image[:, :, None], 3, axis=2)
        if style_image.dtype != np.uint8:
            style_image = (style_image.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
        style_image = np.ascontiguousarray(style_image[:, :, :3])
    request = SynthesizeRequest(model=ModelRef(str(args.model), options), label_map=labels,
                                instance_map=instances, style_image=style_image, seed=args.seed)
    result = run_request(args, request, "rendering")
    recipe = {
        "app": APP_NAME, "app_version": APP_VERSION, "tool": "paint", "model": str(args.model),
        "model_family": summary.family, "model_options": options,
        "label_set": (summary.label_set or {}).get("name"), "seed": int(result.seed),
        "style": "image" if args.style else "random", "style_path": args.style,
    }
    write_png(output, result.image, {"gan_studio_recipe": json.dumps(recipe)})
    for note in notes + list(result.notes):
        print(f"note: {note}")
    print(f"wrote {output} ({result.image.shape[1]}x{result.image.shape[0]}, {result.duration_s:.2f} s)")
    return 0
