"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Sequence

from engine.errors import EngineError


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


def add_model_options(parser: argparse.ArgumentParser, flag: str | None = None) -> None:
    """The options every model-loading subcommand accepts (``flag`` adds e.g. ``--model CKPT``)."""
    if flag:
        parser.add_argument(flag, dest="model", required=True, metavar="CKPT", help="the model checkpoint (file or folder)")
    parser.add_argument("--option", "-o", action="append", metavar="KEY=VALUE",
                        help="an option the checkpoint cannot tell, by its official name (e.g. label_nc=150); repeatable")
    parser.add_argument("--options-json", metavar="FILE", help="a JSON file of options (official names)")
    parser.add_argument("--format", dest="format_name", metavar="NAME", help="force a checkpoint format instead of detecting it")


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    options = parse_options(getattr(args, "option", None), getattr(args, "options_json", None))
    if getattr(args, "format_name", None):
        options["format"] = args.format_name
    return options


def engine_for(args: argparse.Namespace):
    """An :class:`engine.service.Engine` on the device/precision the command line asked for."""
    from engine.service import Engine

    return Engine(device=getattr(args, "device", None), precision=getattr(args, "precision", None))


def run_request(args: argparse.Namespace, request: Any, label: str = "working") -> Any:
    """Run one request on a fresh engine (the same path as the GUI), printing progress to stderr."""
    import sys

    engine = engine_for(args)

    def progress(event) -> None:
        if event.fraction is not None and sys.stderr.isatty():
            print(f"\r{label}: {event.fraction * 100:5.1f}% {event.message[:60]:<60}", end="", file=sys.stderr, flush=True)

    try:
        return engine.submit(request, progress=progress).result()
    finally:
        if sys.stderr.isatty():
            print(file=sys.stderr)
        engine.shutdown()
