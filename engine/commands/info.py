"""gan-studio info [CHECKPOINT]: the detected family, format, config and parameter count of a
checkpoint; without one, the app's own data: the built-in label sets and the starter models."""

from __future__ import annotations

import argparse
import json

from engine.commands.common import add_model_options, model_options

NAME = "info"
HELP = "describe a checkpoint: detected family, format, config, parameter count"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", nargs="?",
                        help="a model file (.safetensors, .pth, .pt, .bin, .pkl) or model folder; "
                             "without it, list the built-in label sets and starter models")
    add_model_options(parser)
    parser.add_argument("--json", action="store_true", help="print the description as JSON")


def run(args: argparse.Namespace) -> int:
    if not args.checkpoint:
        return describe_app_data(args.json)
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


def describe_app_data(as_json: bool) -> int:
    """Print the built-in label sets and the starter manifest (where they were found, what they hold)."""
    from engine import labelsets, starter

    sets = {name: labelsets.builtin(name) for name in labelsets.BUILTIN_NAMES}
    models = starter.starter_models()
    manifest = starter.CHECKPOINT_DIR / "manifest.json"
    if as_json:
        print(json.dumps({
            "label_sets": {name: {"classes": len(s.classes), "label_nc": s.label_nc} for name, s in sets.items()},
            "label_set_dir": str(labelsets.ASSETS_DIR),
            "starter_manifest": str(manifest) if manifest.is_file() else None,
            "starter_models": [{"path": m.path, "workspace": m.workspace, "title": m.title} for m in models],
        }, indent=2))
        return 0
    print(f"label sets:  {labelsets.ASSETS_DIR}")
    for name, label_set in sets.items():
        print(f"  {name}: {len(label_set.classes)} classes ({label_set.title})")
    print(f"starter models: {manifest if manifest.is_file() else 'no manifest'}")
    for model in models:
        print(f"  {model.title} ({model.workspace}): {model.path}")
    if not models:
        print("  none yet")
    return 0
