"""Paint-to-pixels latency of SPADE: eager full forward vs the cached-modulation path.

Prints, per config and device, the median latency of
  * baseline: the plain generator forward (one-hot label map in, image out, nothing reused);
  * (a) style change: same label map, new z;
  * (b) small stroke: a 12x12 brush dab of another class;
  * (c) whole new label map;
with the ratio to the baseline and the max abs difference to the baseline's output.
Random weights, 256x256. ``--quick`` runs fewer repeats and only the CPU.

    python bench/bench_paint.py [--quick] [--repeats N] [--configs official,small] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.models.layers import SNConv2d
from engine.models.spade import SpadeConfig, SpadeGenerator
from engine.pipelines.paint_spade_cache import SpadeModulationCache, onehot_from_codes

CONFIGS = {
    # ADE20K layout: 150 classes + don't care, no instance map (semantic_nc 151), ngf 64
    "official": SpadeConfig(label_nc=150, contain_dontcare_label=True, no_instance=True, ngf=64,
                            use_vae=True, crop_size=256),
    "small": SpadeConfig(label_nc=11, contain_dontcare_label=True, no_instance=True, ngf=16,
                         use_vae=True, crop_size=256),
}


def random_generator(config: SpadeConfig, device: torch.device) -> SpadeGenerator:
    """Random weights scaled so that the image is not saturated (a meaningful max|diff|):
    converged spectral-norm vectors, Xavier-normal plain convs, non-trivial running statistics."""
    torch.manual_seed(0)
    g = SpadeGenerator(config)
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, SNConv2d):
                for _ in range(30):
                    m.power_iteration()
            elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                torch.nn.init.xavier_normal_(m.weight, gain=1.0 if m is g.conv_img else 0.5)
                torch.nn.init.zeros_(m.bias)
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return g.eval().requires_grad_(False).to(device)


def blob_map(config: SpadeConfig, size: int, seed: int, device: torch.device) -> torch.Tensor:
    """A label map of large blobs (like a painting), HxW long."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, config.onehot_nc, (1, 1, size // 32, size // 32), generator=gen).float()
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="nearest")[0, 0].long().to(device)


def timed(fn, repeats: int, device: torch.device) -> tuple[float, torch.Tensor]:
    times, out = [], None
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def bench(name: str, config: SpadeConfig, device: torch.device, repeats: int, size: int = 256) -> None:
    g = random_generator(config, device)
    out_size = (size, size)
    z_gen = torch.Generator().manual_seed(1)
    zs = [torch.randn(1, config.z_dim, generator=z_gen).to(device) for _ in range(repeats + 2)]
    base_map = blob_map(config, size, 0, device)

    def eager(codes, z):
        with torch.inference_mode():
            return g(onehot_from_codes(codes, config.onehot_nc, False), z, out_size=out_size)

    cache = SpadeModulationCache(g)
    cache.render(base_map, zs[0], out_size)  # warm-up + fill the cache
    eager(base_map, zs[0])

    t_base, _ = timed(lambda: eager(base_map, zs[0]), repeats, device)
    rows = []

    # (a) style change: same map, a new z every time
    state = {"i": 0}

    def style_change():
        state["i"] += 1
        return cache.render(base_map, zs[state["i"] % len(zs)], out_size)
    t, out = timed(style_change, repeats, device)
    ref = eager(base_map, zs[state["i"] % len(zs)])
    rows.append(("(a) style change", t, (out - ref).abs().max().item()))

    # (b) small strokes: a 12x12 dab at a new place each time
    strokes = {"map": base_map.clone(), "k": 0}
    gen = torch.Generator().manual_seed(2)

    def stroke():
        y, x = (int(v) for v in torch.randint(0, size - 12, (2,), generator=gen))
        strokes["map"][y:y + 12, x:x + 12] = (strokes["k"] * 7) % config.onehot_nc
        strokes["k"] += 1
        return cache.render(strokes["map"], zs[0], out_size)
    t, out = timed(stroke, repeats, device)
    ref = eager(strokes["map"], zs[0])
    rows.append(("(b) small stroke", t, (out - ref).abs().max().item(), cache.last.recomputed_fraction))

    # (c) a whole new label map each time
    maps = [blob_map(config, size, 10 + i, device) for i in range(repeats)]
    state["j"] = -1

    def new_map():
        state["j"] += 1
        return cache.render(maps[state["j"]], zs[0], out_size)
    t, out = timed(new_map, repeats, device)
    ref = eager(maps[state["j"]], zs[0])
    rows.append(("(c) whole new map", t, (out - ref).abs().max().item()))

    print(f"\n{name}: ngf={config.ngf} semantic_nc={config.semantic_nc} {size}x{size} on {device} "
          f"(torch threads {torch.get_num_threads()}, median of {repeats}); cache {cache.nbytes() / 2**20:.0f} MiB")
    print(f"  {'eager baseline (full forward)':32s} {t_base * 1000:9.1f} ms   1.00x")
    for row in rows:
        label, t, diff = row[:3]
        extra = f"   recomputed {row[3] * 100:.1f}% of modulation" if len(row) > 3 else ""
        print(f"  {label:32s} {t * 1000:9.1f} ms  {t_base / t:5.2f}x   max|diff| {diff:.2e}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repeats, CPU only")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--configs", default="official,small")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: both when CUDA is available)")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)
    if args.device:
        devices = [torch.device(args.device)]
    else:
        devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() and not args.quick else [])
    for device in devices:
        for name in args.configs.split(","):
            bench(name, CONFIGS[name], device, repeats)


if __name__ == "__main__":
    main()
