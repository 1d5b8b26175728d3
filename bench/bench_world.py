"""Starter-world rendering speed on one CPU core, against reading the same scenes from PNG.

Prints, per size: scenes rendered per second (labels + image + instances, all biomes in turn;
wall clock, and per CPU second of this process, which is what a free core reaches), the same for decoding the scene's image and label PNGs from memory (what a data loader reading a
pre-rendered dataset pays), and their ratio; then per biome at 256 px. Aim: at least 20 scenes/s
at 256x256 so that trainers can render on the fly.

    python bench/bench_world.py [--count 70] [--sizes 128 256]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")      # one core: before numpy loads its BLAS
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.data.world import BIOME_NAMES, render_scene


def render_rate(seeds, size: int, biome=None) -> tuple[float, float, list]:
    """Scenes per wall-clock second and per CPU second of this process (the latter is what one
    free core would reach; on a busy machine the two differ)."""
    wall, cpu = time.perf_counter(), time.process_time()
    scenes = [render_scene(seed, size, biome) for seed in seeds]
    return len(seeds) / (time.perf_counter() - wall), len(seeds) / (time.process_time() - cpu), scenes


def png_rate(scenes) -> float:
    blobs = []
    for labels, image, _ in scenes:
        pair = []
        for array, mode in ((image, "RGB"), (labels, "L")):
            buffer = io.BytesIO()
            Image.fromarray(array, mode=mode).save(buffer, format="PNG")
            pair.append(buffer.getvalue())
        blobs.append(pair)
    start = time.perf_counter()
    for pair in blobs:
        for blob in pair:
            np.asarray(Image.open(io.BytesIO(blob)))
    return len(blobs) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=70, help="scenes per size (default 70: ten per biome)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    args = parser.parse_args()
    render_scene(0, 64)  # load the textures once (not part of the rate)
    seeds = range(500_000, 500_000 + args.count)
    print(f"{'size':>6} {'render/s':>10} {'per CPU-s':>10} {'PNG read/s':>11} {'render cost / PNG read':>24}")
    for size in args.sizes:
        rate, cpu_rate, scenes = render_rate(seeds, size)
        baseline = png_rate(scenes)
        print(f"{size:>6} {rate:>10.1f} {cpu_rate:>10.1f} {baseline:>11.1f} {baseline / rate:>23.1f}x")
    per = max(args.count // len(BIOME_NAMES), 3)
    print(f"\nper biome at 256 px ({per} scenes each): scenes/s (per CPU-s)")
    for index, name in enumerate(BIOME_NAMES):
        rate, cpu_rate, _ = render_rate(range(600_000, 600_000 + per), 256, index)
        print(f"  {name:<8} {rate:6.1f} ({cpu_rate:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
