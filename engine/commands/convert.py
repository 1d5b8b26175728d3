"""gan-studio convert CHECKPOINT OUT.safetensors: any checkpoint into GAN Studio's own format."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands.common import add_model_options, model_options
from engine.errors import EngineError

NAME = "convert"
HELP = "convert any checkpoint GAN Studio opens into its own .safetensors format"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a model file or folder in any format GAN Studio opens")
    parser.add_argument("output", help="the .safetensors file to write")
    add_model_options(parser)


def run(args: argparse.Namespace) -> int:
    from engine.loaders import load_model, native

    output = Path(args.output)
    if output.suffix.lower() != ".safetensors":
        raise EngineError(f"{output.name}: the converted model is written as .safetensors; name the output accordingly.")
    model = load_model(args.checkpoint, model_options(args))
    native.save(model, output, source=f"{model.source_format}:{Path(args.checkpoint).name}")
    print(f"wrote {output} ({model.family}, {model.parameter_count():,} parameters)")
    return 0
