"""gan-studio evaluate CHECKPOINT [--n N] [--json] [--images DIR]

Scores a model with the starter world's judges on held-out world seeds (1,000,000 and up): the
metric depends on the family (see :mod:`engine.eval.evaluate`), printed in one table next to its
ceiling, floor or baselines.
"""

from __future__ import annotations

import argparse
import json

from engine.commands.common import add_model_options, model_options
from engine.commands.world import ProgressBar

NAME = "evaluate"
HELP = ("score a model on held-out scenes of the starter world: FCN score (SPADE, pix2pixHD), world feature "
        "distance (StyleGAN2), biome accuracy and diversity (BigGAN), hole PSNR/SSIM (context encoder), "
        "PSNR/SSIM vs bicubic (super-resolution)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="the model to score (file or folder)")
    add_model_options(parser)
    parser.add_argument("--n", type=int, default=None,
                        help="how many held-out scenes/samples (default per family: 100 paint, 500 StyleGAN2, "
                             "350 BigGAN, 100 inpaint, 50 upscale)")
    parser.add_argument("--images", metavar="DIR", help="super-resolution and inpainting: score on these images "
                        "(e.g. held-out photos) instead of world scenes")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from engine.device import select_device
    from engine.eval.evaluate import evaluate
    from engine.loaders import load_model

    model = load_model(args.checkpoint, model_options(args))
    model.to(select_device(getattr(args, "device", None)).device)  # the judges themselves run on the CPU
    bar = ProgressBar("evaluating")
    try:
        report = evaluate(model, args.n, lambda done, total, message: bar(done, total), args.images)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(format_report(report))
    return 0


def format_report(report) -> str:
    """The report as a plain-text table."""
    lines = [f"{report.checkpoint}  ({report.family}; n = {report.n}; held-out world seeds "
             f"{report.seeds[0]:,}..{report.seeds[1]:,})"]
    name_width = max(len(m.name) for m in report.metrics) + 2
    lines.append(f"{'metric':<{name_width}}{'model':>10}  reference")
    for m in report.metrics:
        unit = f" {m.unit}" if m.unit else ""
        ref = ""
        if m.reference is not None:
            ref = f"{m.reference:.4f}{unit}  ({m.reference_kind}: {m.reference_name})"
        if m.baselines:
            ref = "; ".join(f"{name} {value:.4f}{unit}" for name, value in m.baselines.items())
        better = "" if m.higher_is_better else "  [lower is better]"
        lines.append(f"{m.name:<{name_width}}{m.value:>10.4f}  {ref}{better}")
    for note in report.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)

