"""gan-studio info CHECKPOINT: the detected family, format, config and parameter count."""

from __future__ import annotations

import argparse
import json

from engine.commands.common import add_model_options, model_options

NAME = "info"
HELP = "describe a checkpoint: detected family, format, config, parameter count"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a model file (.safetensors, .pth, .pt, .bin, .pkl) or model folder")
    add_model_options(parser)
    parser.add_argument("--json", action="store_true", help="print the description as JSON")


def run(args: argparse.Namespace) -> int:
    from engine.loaders import load_model

    summary = load_model(args.checkpoint, model_options(args)).summary()
    if args.json:
        out = {
            "path": summary.path, "family": summary.family, "format": summary.source_format,
            "parameters": summary.parameter_count, "networks": list(summary.networks),
            "capabilities": list(summary.capabilities), "config": summary.config,
            "label_set": (summary.label_set or {}).get("name") if summary.label_set else None,
            "notes": list(summary.notes),
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"file:        {summary.path}")
    print(f"family:      {summary.family}")
    print(f"format:      {summary.source_format}")
    print(f"parameters:  {summary.parameter_count:,}")
    print(f"networks:    {', '.join(summary.networks)}")
    if summary.capabilities:
        print(f"can:         {', '.join(summary.capabilities)}")
    if summary.label_set:
        classes = summary.label_set.get("classes", [])
        print(f"label set:   {summary.label_set.get('name', '?')} ({len(classes)} classes)")
    print("config:")
    for key, value in summary.config.items():
        print(f"  {key}: {json.dumps(value)}")
    for note in summary.notes:
        print(f"note: {note}")
    return 0
