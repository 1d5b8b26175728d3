"""GAN Studio entry point: ``python main.py`` or ``gan-studio``.

With a headless subcommand (``info``, ``synth``, ``upscale`` ...) it runs the CLI and never
starts Qt. Otherwise it shows the main window at once and builds the Engine (importing torch) on a
background thread after the window has painted (:class:`engine.deferred.DeferredEngine`):

    gan-studio [--device cpu|cuda|mps|auto] [--precision fp32|fp16|bf16|auto] [FILE ...]

FILEs may be images (opened on the canvas) or checkpoints (loaded as models).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

MODEL_SUFFIXES = {".safetensors", ".pth", ".pt", ".bin", ".pkl", ".ckpt"}


def _gui_arguments(argv: Sequence[str]) -> argparse.Namespace:
    epilog = None
    if "-h" in argv or "--help" in argv:
        from engine.cli import command_list  # imports the command modules: only when help is asked for

        epilog = command_list()
    parser = argparse.ArgumentParser(prog="gan-studio", description="Open GAN Studio (the app), or run a headless command.",
                                     epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (default: GAN_STUDIO_DEVICE or auto)")
    parser.add_argument("--precision", help="fp32 (default), fp16, bf16 or auto")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("files", nargs="*", help="images to open and checkpoints to load")
    return parser.parse_args(list(argv))


def _first_positional(argv: Sequence[str]) -> str | None:
    """The first argument that is not an option or an option's value."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--device", "--precision"):
            skip = True
            continue
        if not arg.startswith("-"):
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from engine.cli import COMMANDS, main as cli_main

    if _first_positional(argv) in COMMANDS or "--version" in argv:
        return cli_main(argv)

    args = _gui_arguments(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from pathlib import Path

    from engine.deferred import DeferredEngine

    def build_engine():
        from engine.service import Engine  # imports torch: on the starter thread, after the window shows

        return Engine(device=args.device, precision=args.precision)

    # the window shows first; the engine (and torch) start once it has painted, requests queue meanwhile
    engine = DeferredEngine(build_engine, start=False)
    models = [f for f in args.files if Path(f).suffix.lower() in MODEL_SUFFIXES or Path(f).is_dir()]
    images = [f for f in args.files if f not in models]
    from gui.app import run_gui

    return run_gui(engine, model_paths=models, image_paths=images)


if __name__ == "__main__":
    sys.exit(main())
