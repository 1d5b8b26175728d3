"""gan-studio export DOC.ora OUT.png: flatten a document (or export one label layer) headlessly."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import EngineError

NAME = "export"
HELP = "flatten a GAN Studio / OpenRaster document to PNG (recipes in text chunks), or export a label layer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document", help="the .ora document to export")
    parser.add_argument("output", help="the PNG file to write")
    parser.add_argument("--layer", metavar="NAME",
                        help="export this label layer (name or id) as an index PNG instead of the flattened image")


def run(args: argparse.Namespace) -> int:
    from engine import ora

    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise EngineError(f"{output.name}: exports are PNG files; name the output *.png.")
    document, warnings = ora.read_ora(args.document)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.layer:
        layer = ora.find_layer(document, args.layer)
        if layer.kind != "labels":
            raise EngineError(f"Layer '{layer.name}' is a {layer.kind} layer; --layer exports label layers as index "
                              "PNG. Leave --layer out to export the flattened image.")
        ora.export_label_map(document, output, layer.id)
        print(f"wrote {output} (label layer '{layer.name}', {document.width}x{document.height})")
        return 0
    ora.export_png(document, output)
    recipes = len(ora.layer_recipes(document))
    print(f"wrote {output} ({document.width}x{document.height}, {len(document.layers)} layers flattened"
          + (f", {recipes} recipe{'s' if recipes != 1 else ''}" if recipes else "") + ")")
    return 0
