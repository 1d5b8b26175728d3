"""gan-studio upscale IN OUT --model CKPT [--tile 256] [--tile-pad 16] [--scale S] [--blend CKPT2 --alpha A]

Super-resolves one image, or every image of a folder, exactly as the Upscale workspace does
(ESRGAN, Real-ESRGAN, SRVGGNetCompact or SRResNet checkpoints; tiled, so any image size fits in
bounded memory). Outputs are PNG, written atomically; grayscale, alpha and 16-bit images keep
their layout and depth.

* IN a file: OUT is the PNG to write (or an existing folder, which gets ``IN's name.png``).
* IN a folder: every readable image in it is written into the folder OUT under its own name as
  PNG; unreadable files are reported and skipped (exit status 1 when any was skipped). An input
  image is never overwritten: OUT must not be IN.

Progress goes to stderr; what was written goes to stdout.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from engine.commands.common import add_model_options, engine_for, model_options, run_request
from engine.errors import EngineError

NAME = "upscale"
HELP = "upscale an image or a folder of images with a super-resolution model (ESRGAN, Real-ESRGAN)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="an image file, or a folder of images")
    parser.add_argument("output", help="the PNG to write (for a folder IN: the folder to write into)")
    add_model_options(parser, flag="--model")
    parser.add_argument("--tile", type=int, default=256,
                        help="tile edge in input pixels (0 = the whole image at once); default 256")
    parser.add_argument("--tile-pad", type=int, default=16, help="context pixels around each tile; default 16")
    parser.add_argument("--scale", type=float, default=None,
                        help="output scale (e.g. 2 with a x4 model: Lanczos after the network); default: the model's")
    parser.add_argument("--blend", metavar="CKPT2",
                        help="network interpolation: a second checkpoint of the same architecture (e.g. the PSNR model)")
    parser.add_argument("--alpha", type=float, default=0.5,
                        help="with --blend: weight of CKPT2 (0 = only --model, 1 = only CKPT2); default 0.5")


def run(args: argparse.Namespace) -> int:
    source, output = Path(args.input).expanduser(), Path(args.output).expanduser()
    if args.tile < 0 or args.tile_pad < 0:
        raise EngineError("--tile and --tile-pad must be zero or positive.")
    if args.blend is not None and not 0.0 <= args.alpha <= 1.0:
        raise EngineError(f"--alpha must be between 0 and 1, not {args.alpha:g}.")
    if source.is_dir():
        return _run_folder(args, source, output)
    if not source.exists():
        raise EngineError(f"{source} does not exist; give an image file or a folder of images.")
    return _run_file(args, source, output)


def _refs(args: argparse.Namespace):
    from engine.types import ModelRef

    options = model_options(args)
    model = ModelRef(str(args.model), options)
    blend = ModelRef(str(args.blend), options) if args.blend else None
    return model, blend


def _run_file(args: argparse.Namespace, source: Path, output: Path) -> int:
    from engine.imageio import read_image, write_png
    from engine.types import UpscaleRequest

    if output.is_dir():
        output = output / (source.stem + ".png")
    if output.suffix.lower() != ".png":
        raise EngineError(f"{output.name}: upscale writes PNG images; name the output *.png.")
    if output.resolve() == source.resolve():
        raise EngineError(f"{output} is the input image; write the result to another file so the original is kept.")
    image = read_image(source)
    model, blend = _refs(args)
    request = UpscaleRequest(model=model, image=image, tile=args.tile, tile_pad=args.tile_pad, outscale=args.scale,
                             blend=blend, blend_alpha=args.alpha if blend else 0.0)
    result = run_request(args, request, "upscaling")
    write_png(output, result.image, _text_chunks(args, source.name, result.scale))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    height, width = result.image.shape[:2]
    print(f"wrote {output} ({width}x{height}, x{result.scale:g}, {result.duration_s:.2f} s)")
    return 0


def _run_folder(args: argparse.Namespace, source: Path, output: Path) -> int:
    from engine.imageio import IMAGE_EXTENSIONS
    from engine.types import UpscaleFolderRequest

    if output.exists() and not output.is_dir():
        raise EngineError(f"{output} is a file; when IN is a folder, OUT must be a folder too.")
    if output.resolve() == source.resolve():
        raise EngineError(f"{output} is the input folder; choose another output folder so the originals are kept.")
    if not any(p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS for p in source.iterdir()):
        raise EngineError(f"{source} holds no images ({', '.join(IMAGE_EXTENSIONS)}).")
    if not getattr(args, "verbose", False):  # skipped files are reported below, once, not also as log warnings
        logging.getLogger("engine.pipelines.upscale").setLevel(logging.ERROR)
    model, blend = _refs(args)
    request = UpscaleFolderRequest(model=model, source_dir=str(source), output_dir=str(output), tile=args.tile,
                                   tile_pad=args.tile_pad, outscale=args.scale, blend=blend,
                                   blend_alpha=args.alpha if blend else 0.0)
    result = _run_with_file_progress(args, request)
    for src, why in result.skipped:
        print(f"skipped {Path(src).name}: {why}", file=sys.stderr)
    for _src, out in result.written:
        print(f"wrote {out}")
    total = len(result.written) + len(result.skipped)
    print(f"upscaled {len(result.written)} of {total} images into {output} (x{result.scale:g}, "
          f"{result.duration_s:.2f} s)" + (f"; {len(result.skipped)} skipped" if result.skipped else ""))
    return 1 if result.skipped else 0


def _run_with_file_progress(args: argparse.Namespace, request):
    """Run a folder request; progress on stderr (one updating line on a terminal, else a line per file)."""
    engine = engine_for(args)
    interactive = sys.stderr.isatty()
    last_file = [""]

    def progress(event) -> None:
        current = event.message.split(": ", 1)[0]
        if interactive and event.fraction is not None:
            print(f"\rupscaling: {event.fraction * 100:5.1f}% {event.message[:60]:<60}", end="", file=sys.stderr,
                  flush=True)
        elif not interactive and current and current != last_file[0] and "(" in current:
            print(f"upscaling {current}", file=sys.stderr, flush=True)
        last_file[0] = current

    try:
        return engine.submit(request, progress=progress).result()
    finally:
        if interactive:
            print(file=sys.stderr)
        engine.shutdown()


def _text_chunks(args: argparse.Namespace, source_name: str, scale: float) -> dict[str, str]:
    from engine.version import APP_NAME, APP_VERSION

    chunks = {"Software": f"{APP_NAME} {APP_VERSION}", "gan_studio:source": source_name,
              "gan_studio:model": Path(args.model).name, "gan_studio:scale": f"{scale:g}"}
    if args.blend:
        chunks["gan_studio:blend"] = f"{Path(args.blend).name} @ {args.alpha:g}"
    return chunks
