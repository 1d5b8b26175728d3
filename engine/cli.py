"""Headless command line: the subcommands mirror what the GUI does.

    gan-studio info CHECKPOINT [--option KEY=VALUE ...] [--json]
    gan-studio convert CHECKPOINT OUT.safetensors [--option KEY=VALUE ...]
    gan-studio export DOC.ora OUT.png [--layer NAME]
    gan-studio train FAMILY --data DIR [DIR2] --out RUN_DIR [...]   (see gan-studio train --help)

Each subcommand is a module in :mod:`engine.commands` (listed in :data:`COMMAND_MODULES`) and
goes through the same engine code as the GUI. Errors print one clear line to stderr and exit
with status 1; usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from types import ModuleType
from typing import Sequence

from engine.errors import EngineError
from engine.version import APP_NAME, APP_VERSION

log = logging.getLogger(__name__)

#: The subcommand modules, in the order ``--help`` lists them. Add a line for a new command.
COMMAND_MODULES: tuple[str, ...] = (
    "engine.commands.info",
    "engine.commands.convert",
    "engine.commands.synth",
    "engine.commands.sample",
    "engine.commands.upscale",
    "engine.commands.inpaint",
    "engine.commands.export",
    "engine.commands.train",
    "engine.commands.world",
    "engine.commands.evaluate",
)

#: subcommand names (known without importing torch: main.py uses it to pick CLI vs GUI);
#: ``help [COMMAND]`` is answered here, not by a module
COMMANDS: tuple[str, ...] = tuple(name.rsplit(".", 1)[1] for name in COMMAND_MODULES) + ("help",)


def command_modules() -> dict[str, ModuleType]:
    modules = {}
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        modules[module.NAME] = module
    return modules


def command_list() -> str:
    """Every headless command with its one-line description, as ``--help`` prints them."""
    modules = command_modules()
    width = max(len(name) for name in modules) + 2
    lines = ["Headless commands (gan-studio COMMAND --help, or gan-studio help COMMAND, for each one's options):"]
    lines += [f"  {name.ljust(width)}{module.HELP}" for name, module in modules.items()]
    return "\n".join(lines)


def _help(topic: Sequence[str]) -> int:
    """``gan-studio help`` lists the commands; ``gan-studio help COMMAND`` prints that command's help."""
    if not topic:
        print(build_parser().format_usage().rstrip())
        print(command_list())
        return 0
    if topic[0] not in command_modules():
        print(f"error: there is no command '{topic[0]}'.\n{command_list()}", file=sys.stderr)
        return 2
    try:
        build_parser().parse_args([topic[0], "--help"])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gan-studio", description=f"{APP_NAME} {APP_VERSION}: headless commands. "
                                     "Run without a command to open the app.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {APP_VERSION}")
    parser.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (default: GAN_STUDIO_DEVICE or auto)")
    parser.add_argument("--precision", help="fp32 (default), fp16, bf16 or auto")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in command_modules().items():
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "help":
        return _help(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.command:
        parser.print_help()
        return 2
    try:
        return command_modules()[args.command].run(args)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
