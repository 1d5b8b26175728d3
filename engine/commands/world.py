"""gan-studio world OUT_DIR --count N --resolution R [--layout paired|flat|classes] [--seed S] [--append]

Writes N scenes of the procedural starter world as a dataset folder the trainers read (see
:mod:`engine.data.world.writer` for the layouts). Seeds 0..999,999 are training seeds;
1,000,000 and up are held out for evaluation.
"""

from __future__ import annotations

import argparse
import sys
import time

from engine.data.world.seeds import HELD_OUT_START

NAME = "world"
HELP = ("write scenes of the procedural starter world as a dataset folder (paired labels/images, flat images, or "
        "one folder per biome); seeds from 1,000,000 are held out for evaluation")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", help="the folder to write (new or empty, unless --append)")
    parser.add_argument("--count", type=int, required=True, help="how many scenes in all (classes: spread over the biomes)")
    parser.add_argument("--resolution", type=int, default=256, help="image edge in pixels, 32..2048 (default 256)")
    parser.add_argument("--layout", choices=("paired", "flat", "classes"), default="paired",
                        help="paired: labels/ images/ instances/ labelset.json; flat: images only; classes: DIR/<biome>/")
    parser.add_argument("--seed", type=int, default=0,
                        help=f"first seed (default 0); training seeds are 0..{HELD_OUT_START - 1:,}, "
                             f"{HELD_OUT_START:,} and up are held out for evaluation")
    parser.add_argument("--append", action="store_true", help="add to a folder that is not empty (existing files are kept)")


class ProgressBar:
    """A one-line progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, label: str):
        self.label = label
        self.start = time.perf_counter()
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.tty:
            return
        width = 30
        filled = int(width * done / max(total, 1))
        rate = done / max(time.perf_counter() - self.start, 1e-6)
        print(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({rate:.1f}/s)",
              end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from engine.data.world.writer import write_dataset

    bar = ProgressBar("rendering")
    try:
        report = write_dataset(args.out_dir, args.count, args.resolution, args.layout, args.seed, args.append, bar)
    finally:
        bar.close()
    kind = "held-out (evaluation)" if report.first_seed >= HELD_OUT_START else "training"
    print(f"wrote {report.written} scenes ({report.skipped} already there) to {report.out_dir} "
          f"[{report.layout}, {args.resolution}x{args.resolution}, {kind} seeds {report.first_seed}..{report.last_seed}]")
    return 0
