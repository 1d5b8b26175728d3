"""Headless command line: the subcommands mirror what the GUI does.

    gan-studio info CHECKPOINT [--option KEY=VALUE ...] [--json]
    gan-studio convert CHECKPOINT OUT.safetensors [--option KEY=VALUE ...]

Every subcommand goes through the same engine code as the GUI. Errors print one clear line
to stderr and exit with status 1; usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from engine.errors import EngineError
from engine.version import APP_NAME, APP_VERSION

log = logging.getLogger(__name__)

#: subcommand name -> (help, function that adds its arguments, function that runs it)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def parse_option_value(text: str) -> Any:
    """``KEY=VALUE`` values: JSON where it parses (numbers, true/false, lists), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return text


def parse_options(pairs: Sequence[str] | None, options_json: str | None = None) -> dict[str, Any]:
    """Options from ``--options-json FILE`` and repeated ``--option KEY=VALUE`` (the latter win)."""
    options: dict[str, Any] = {}
    if options_json:
        try:
            data = json.loads(Path(options_json).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EngineError(f"--options-json {options_json}: cannot read it as JSON ({exc}).") from exc
        if not isinstance(data, dict):
            raise EngineError(f"--options-json {options_json} must hold a JSON object of option names and values.")
        options.update(data)
    for pair in pairs or ():
        if "=" not in pair:
            raise EngineError(f"--option {pair!r}: write it as KEY=VALUE, e.g. --option label_nc=150.")
        key, _, value = pair.partition("=")
        options[key.strip()] = parse_option_value(value.strip())
    return options


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The options every model-loading subcommand accepts."""
    parser.add_argument("--option", "-o", action="append", metavar="KEY=VALUE",
                        help="an option the checkpoint cannot tell, by its official name (e.g. label_nc=150); repeatable")
    parser.add_argument("--options-json", metavar="FILE", help="a JSON file of options (official names)")
    parser.add_argument("--format", dest="format_name", metavar="NAME", help="force a checkpoint format instead of detecting it")


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    options = parse_options(getattr(args, "option", None), getattr(args, "options_json", None))
    if getattr(args, "format_name", None):
        options["format"] = args.format_name
    return options


# ----------------------------------------------------------------------------- info


def _add_info(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a model file (.safetensors, .pth, .pt, .bin, .pkl) or model folder")
    add_model_options(parser)
    parser.add_argument("--json", action="store_true", help="print the description as JSON")


def _run_info(args: argparse.Namespace) -> int:
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


COMMANDS["info"] = ("describe a checkpoint: detected family, format, config, parameter count", _add_info, _run_info)


# ----------------------------------------------------------------------------- convert


def _add_convert(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a model file or folder in any format GAN Studio opens")
    parser.add_argument("output", help="the .safetensors file to write")
    add_model_options(parser)


def _run_convert(args: argparse.Namespace) -> int:
    from engine.loaders import load_model, native

    output = Path(args.output)
    if output.suffix.lower() != ".safetensors":
        raise EngineError(f"{output.name}: the converted model is written as .safetensors; name the output accordingly.")
    model = load_model(args.checkpoint, model_options(args))
    native.save(model, output, source=f"{model.source_format}:{Path(args.checkpoint).name}")
    print(f"wrote {output} ({model.family}, {model.parameter_count():,} parameters)")
    return 0


COMMANDS["convert"] = ("convert any checkpoint GAN Studio opens into its own .safetensors format", _add_convert, _run_convert)


# ----------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gan-studio", description=f"{APP_NAME} {APP_VERSION}: headless commands. "
                                     "Run without a command to open the app.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {APP_VERSION}")
    parser.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (default: GAN_STUDIO_DEVICE or auto)")
    parser.add_argument("--precision", help="fp32 (default), fp16, bf16 or auto")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_arguments, _run) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command][2](args)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
