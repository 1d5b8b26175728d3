"""gan-studio sample OUT.png --model CKPT --seed N [--psi 0.7] [--cutoff K] [--mix SEED:LAYERS ...] [--class NAME]

Renders one image of a latent-space generator (StyleGAN2, BigGAN) exactly as the Latent panel
does, and writes it as PNG with its recipe in text chunks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.commands.common import add_model_options, model_options, run_request
from engine.errors import EngineError
from engine.version import APP_NAME, APP_VERSION

NAME = "sample"
HELP = "render an image of a latent-space model (StyleGAN2, BigGAN) from a seed"

#: named layer ranges as fractions of the generator's w slots (coarse / middle / fine styles)
LAYER_PRESETS = {"coarse": (0.0, 0.25), "middle": (0.25, 0.5), "fine": (0.5, 1.0), "all": (0.0, 1.0)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", help="the PNG to write")
    add_model_options(parser, flag="--model")
    parser.add_argument("--seed", type=int, default=0, help="which z (0 .. 2^32-1); default 0")
    parser.add_argument("--psi", type=float, default=1.0, help="truncation psi (-1..2; 1 = none, 0.7 is typical)")
    parser.add_argument("--cutoff", type=int, default=None, help="truncate only layers below this index")
    parser.add_argument("--mix", action="append", default=[], metavar="SEED:LAYERS",
                        help="style mixing: take LAYERS (e.g. 8-, 4-8, coarse, middle, fine) from SEED; repeatable")
    parser.add_argument("--class", dest="class_name", metavar="NAME", help="class name or index (class-conditional models)")
    parser.add_argument("--noise", choices=("const", "random", "none"), default="const", help="noise inputs (default const)")
    parser.add_argument("--noise-seed", type=int, default=0)


def parse_layers(text: str, num_ws: int | None) -> tuple[int, int | None]:
    """``"4-8"`` -> (4, 8); ``"8-"`` -> (8, None); ``"3"`` -> (3, 4); presets need ``num_ws``."""
    text = text.strip().lower()
    if text in LAYER_PRESETS:
        if num_ws is None:
            raise EngineError(f"Layer preset '{text}' needs the model's layer count; give explicit layers like 4-8.")
        lo, hi = LAYER_PRESETS[text]
        return int(round(lo * num_ws)), int(round(hi * num_ws))
    try:
        if "-" in text:
            start, _, end = text.partition("-")
            return int(start or 0), (int(end) if end else None)
        value = int(text)
        return value, value + 1
    except ValueError:
        raise EngineError(f"'{text}' is not a layer range; write e.g. 8-, 4-8, 3, coarse, middle or fine.") from None


def parse_mix(items: list[str], num_ws: int | None):
    from engine.latent_types import StyleMix

    mixes = []
    for item in items:
        seed, sep, layers = item.partition(":")
        if not sep:
            raise EngineError(f"--mix {item!r}: write SEED:LAYERS, e.g. --mix 42:8- or --mix 42:fine.")
        try:
            seed_value = int(seed)
        except ValueError:
            raise EngineError(f"--mix {item!r}: the seed must be a whole number.") from None
        start, end = parse_layers(layers, num_ws)
        mixes.append(StyleMix(seed=seed_value, layer_start=start, layer_end=end))
    return tuple(mixes)


def resolve_class(name: str | None, summary) -> int | None:
    """A class index from a name in the model's label set, or from a number."""
    if name is None:
        return None
    if name.strip().lstrip("-").isdigit():
        return int(name)
    if not summary.label_set:
        raise EngineError(f"The model has no class names; give --class as an index (0..{summary.config.get('c_dim', '?')}).")
    from engine.labelsets import LabelSet

    try:
        return LabelSet.from_dict(summary.label_set).by_name(name).index
    except KeyError as exc:
        raise EngineError(str(exc.args[0])) from None


def run(args: argparse.Namespace) -> int:
    from engine.imageio import write_png
    from engine.latent_types import LatentSampleRequest
    from engine.loaders import load_model
    from engine.types import ModelRef

    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise EngineError(f"{output.name}: sample writes PNG images; name the output *.png.")
    options = model_options(args)
    summary = load_model(args.model, options).summary()
    num_ws = summary.config.get("num_ws") or _num_ws(summary.config)
    request = LatentSampleRequest(
        model=ModelRef(str(args.model), options),
        seed=args.seed,
        psi=args.psi,
        cutoff=args.cutoff,
        class_index=resolve_class(args.class_name, summary),
        noise_mode=args.noise,
        noise_seed=args.noise_seed,
        mix=parse_mix(args.mix, num_ws),
    )
    result = run_request(args, request, "sampling")
    recipe = {
        "app": APP_NAME, "app_version": APP_VERSION, "tool": "latent", "model": str(args.model),
        "model_family": summary.family, "model_options": options, "seed": args.seed, "psi": args.psi,
        "cutoff": args.cutoff, "class": request.class_index, "noise_mode": args.noise, "noise_seed": args.noise_seed,
        "mix": [[m.seed, m.layer_start, m.layer_end] for m in request.mix],
    }
    write_png(output, result.image, {"gan_studio_recipe": json.dumps(recipe)})
    for note in result.notes:
        print(f"note: {note}")
    print(f"wrote {output} ({result.image.shape[1]}x{result.image.shape[0]}, {result.duration_s:.2f} s)")
    return 0


def _num_ws(config) -> int | None:
    resolution = config.get("img_resolution")
    if not resolution:
        return None
    import math

    return int(2 * math.log2(int(resolution)) - 2)
