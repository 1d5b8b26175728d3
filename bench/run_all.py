"""Every row of the speed table (issue 14) in one run: speed-ups of GAN Studio over the plain forward.

The plain eager forward of our own model stands for the official code (the compat tests hold the two
equal); for the ``_fine`` rows the baseline is our own full render. Each row times its baseline and its
candidate interleaved (baseline, candidate, baseline, ...) in this process and reports the ratio of the
medians, so that load from other processes hits both sides alike. Full-size configs, random weights.

    python bench/run_all.py --quick [--json FILE]     # upscale rows on a 256x256 input, fewer repeats
    python bench/run_all.py [--only spade,stylegan2,rrdbnet]

JSON keys: spade_new_map, spade_stroke, spade_new_seed, stylegan2_256_full, stylegan2_256_fine,
stylegan2_512_full, stylegan2_512_fine, rrdbnet_x4_fp32, rrdbnet_x4_bf16 (null: cannot run here).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_latent import REF, make_model as make_stylegan2
from bench.bench_paint import blob_map, random_generator
from bench.bench_upscale import make_model as make_upscaler
from engine.latent_types import LatentDirection, LatentSampleRequest
from engine.memstats import peak_rss
from engine.models.spade import SpadeConfig
from engine.models.stylegan2 import StyleGAN2Config
from engine.pipelines import latent_stylegan2 as latent
from engine.pipelines.paint_spade_cache import SpadeModulationCache, onehot_from_codes
from engine.pipelines.upscale import upscale_image
from engine.worker import JobContext

KEYS = ("spade_new_map", "spade_stroke", "spade_new_seed", "stylegan2_256_full", "stylegan2_256_fine",
        "stylegan2_512_full", "stylegan2_512_fine", "rrdbnet_x4_fp32", "rrdbnet_x4_bf16")
ADE20K = dict(label_nc=150, contain_dontcare_label=True, no_instance=True, ngf=64, crop_size=256)
STYLEGAN2 = {  # paper256 widths, and the official 512 config
    256: StyleGAN2Config(z_dim=512, w_dim=512, img_resolution=256, mapping_layers=8, channel_base=16384, channel_max=512),
    512: StyleGAN2Config(z_dim=512, w_dim=512, img_resolution=512, mapping_layers=8, channel_base=32768, channel_max=512),
}
FINE_FROM_PX = 64  # "fine" layers: the style-mixing split of the StyleGAN paper (64 px and up)


def interleaved(baseline: Callable[[int], object], candidate: Callable[[int], object],
                repeats: int) -> tuple[float, float, object, object]:
    """Median seconds of ``baseline(i)`` and ``candidate(i)`` run alternately for i in range(repeats)."""
    tb, tc, out_b, out_c = [], [], None, None
    for i in range(repeats):
        start = time.perf_counter()
        out_b = baseline(i)
        tb.append(time.perf_counter() - start)
        start = time.perf_counter()
        out_c = candidate(i)
        tc.append(time.perf_counter() - start)
    return statistics.median(tb), statistics.median(tc), out_b, out_c


def report(rows: dict, key: str, label: str, t_base: float, t_cand: float, note: str = "") -> None:
    rows[key] = t_base / t_cand
    print(f"  {label:<58} {t_base * 1000:9.1f} ms -> {t_cand * 1000:9.1f} ms  {rows[key]:5.2f}x  {note}", flush=True)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> str:
    return f"max|diff| {(a.float() - b.float()).abs().max().item():.1e}"


# ---------------------------------------------------------------------------------------------
# SPADE


def spade_rows(rows: dict, repeats: int) -> None:
    size = (256, 256)
    config = SpadeConfig(**ADE20K, use_vae=False)
    g = random_generator(config, torch.device("cpu"))
    cpu = torch.device("cpu")

    def eager(codes, z, gen=g, cfg=config):
        with torch.inference_mode():
            return gen(onehot_from_codes(codes, cfg.onehot_nc, False), z, out_size=size)

    print(f"SPADE ADE20K 256x256 (ngf 64, {config.onehot_nc} one-hot channels), median of {repeats}, interleaved")
    cache = SpadeModulationCache(g)
    maps = [blob_map(config, 256, 10 + i, cpu) for i in range(repeats + 1)]
    cache.render(maps[-1], None, size)  # warm-up
    tb, tc, ref, out = interleaved(lambda i: eager(maps[i], None), lambda i: cache.render(maps[i], None, size), repeats)
    report(rows, "spade_new_map", "a new label map", tb, tc, max_diff(ref, out))

    painted = maps[-1].clone()
    gen = torch.Generator().manual_seed(2)

    def stroke(i: int) -> torch.Tensor:
        y, x = (int(v) for v in torch.randint(0, 256 - 16, (2,), generator=gen))
        painted[y:y + 16, x:x + 16] = (7 * i + 3) % config.onehot_nc
        return cache.render(painted, None, size)
    tb, tc, ref, out = interleaved(lambda i: eager(painted, None), stroke, repeats)
    # the baseline of step i ran on the map before stroke i: compare the last candidate with a fresh eager
    report(rows, "spade_stroke", "after a 16x16 stroke", tb, tc, max_diff(eager(painted, None), out))

    vae_config = SpadeConfig(**ADE20K, use_vae=True)
    gv = random_generator(vae_config, cpu)
    zs = [torch.randn(1, vae_config.z_dim, generator=torch.Generator().manual_seed(i)) for i in range(repeats + 1)]
    vae_cache = SpadeModulationCache(gv)
    vae_cache.render(maps[0], zs[-1], size)
    tb, tc, ref, out = interleaved(lambda i: eager(maps[0], zs[i], gv, vae_config),
                                   lambda i: vae_cache.render(maps[0], zs[i], size), repeats)
    report(rows, "spade_new_seed", "with the VAE style encoder: a new style seed", tb, tc, max_diff(ref, out))
    print(f"  modulation cache {vae_cache.nbytes() / 2**20:.0f} MiB; peak RSS so far {peak_rss() / 2**30:.2f} GB")


# ---------------------------------------------------------------------------------------------
# StyleGAN2


def stylegan2_rows(rows: dict, repeats: int, resolutions: tuple[int, ...]) -> None:
    for res in resolutions:
        stylegan2_resolution(rows, repeats, res)


def stylegan2_resolution(rows: dict, repeats: int, res: int) -> None:
    ctx = JobContext.detached(torch.device("cpu"))
    model = make_stylegan2(STYLEGAN2[res], torch.device("cpu"), half=False)
    G = model.networks["G"]
    fine = 2 * int(round(math.log2(FINE_FROM_PX // 4)))
    z = torch.from_numpy(np.random.RandomState(1).randn(1, G.z_dim).astype(np.float32))
    vec = np.random.RandomState(1).randn(G.w_dim).astype(np.float32)
    base = LatentSampleRequest(REF, seed=1)

    def plain(_i: int):
        with torch.inference_mode():
            return G(z, None, noise_mode="const")

    def full(_i: int):
        latent.clear_cache(model)
        return latent.sample(model, base, ctx)

    def fine_edit(i: int):
        direction = LatentDirection(vec, 0.1 * (i + 1), fine)
        return latent.sample(model, LatentSampleRequest(REF, seed=1, directions=(direction,)), ctx)

    latent.sample(model, base, ctx)  # warm-up
    print(f"StyleGAN2 {res} ({STYLEGAN2[res].num_ws} layers), median of {repeats}, interleaved")
    tb, tc, _, _ = interleaved(plain, full, repeats)
    report(rows, f"stylegan2_{res}_full", "full render (vs the plain G(z) forward)", tb, tc)
    latent.sample(model, base, ctx)
    tb, tc, _, result = interleaved(full, fine_edit, repeats)
    report(rows, f"stylegan2_{res}_fine", f"layers >= {fine} ({FINE_FROM_PX} px up) change (vs our full)", tb, tc,
           f"restarted at {result.first_layer}")


# ---------------------------------------------------------------------------------------------
# RRDBNet x4


def native_bf16() -> bool:
    """True when the CPU has bf16 arithmetic (avx512_bf16 or AMX), read from /proc/cpuinfo (Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def rrdbnet_rows(rows: dict, repeats: int, size: int, tile: int, tile_pad: int) -> None:
    model = make_upscaler("rrdb", torch.device("cpu"))
    net = model.networks["G"]
    image = np.random.default_rng(0).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    ctx = JobContext.detached(torch.device("cpu"))

    def plain(_i: int, dtype=torch.float32) -> np.ndarray:
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255).to(dtype)
        with torch.inference_mode():
            y = net.to(dtype)(x).float().clamp(0, 1)
        net.float()
        return (y[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()

    def ours(_i: int) -> np.ndarray:
        return upscale_image(model, image, ctx, tile=tile, tile_pad=tile_pad)[0]

    print(f"RRDBNet x4 (23 blocks), {size}x{size} input, tile {tile} pad {tile_pad}, median of {repeats}, interleaved")
    tb, tc, ref, out = interleaved(plain, ours, repeats)
    seam = np.abs(ref.astype(int) - out.astype(int)).max()
    report(rows, "rrdbnet_x4_fp32", "fp32 tiled (vs the plain whole-image forward)", tb, tc, f"max|diff| {seam}/255")
    if not native_bf16():
        rows["rrdbnet_x4_bf16"] = None
        print("  bf16: this CPU has no native bf16 (null)")
        return
    tb, tc, ref, low = interleaved(plain, lambda i: plain(i, torch.bfloat16), repeats)
    report(rows, "rrdbnet_x4_bf16", "bf16 whole-image forward (vs fp32)", tb, tc, f"PSNR vs fp32 {psnr(ref, low):.1f} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repeats (1 for RRDBNet), upscale rows on 256x256")
    parser.add_argument("--json", type=Path, help="also write the speed-ups as one JSON object to this file")
    parser.add_argument("--only", default="spade,stylegan2,rrdbnet", help="comma-separated row groups")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else 7
    groups = set(args.only.split(","))
    rows: dict = dict.fromkeys(KEYS)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; ratios are baseline / GAN Studio")
    if "spade" in groups:
        spade_rows(rows, repeats)
    if "stylegan2" in groups:
        stylegan2_rows(rows, repeats, (256, 512))
    if "rrdbnet" in groups:
        rrdbnet_rows(rows, 1 if args.quick else 5, 256 if args.quick else 600, tile=256, tile_pad=16)
    print(json.dumps(rows, indent=1))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
