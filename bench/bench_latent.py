"""Latent explorer frame rates: full renders vs renders restarted at a fine layer.

Random-weight StyleGAN2 generators (official channel widths), rendered through
``engine.pipelines.latent_stylegan2.sample`` exactly as the Latent panel does (batch 1, const noise).
A "cached" frame changes a direction limited to layers >= k, so synthesis restarts at k;
figures are frames per second and the speed-up against the full render measured in the same run.

    python -m bench.bench_latent            # 128, 256 and 1024 px on the CPU (+ CUDA fp32/fp16 if present)
    python -m bench.bench_latent --quick    # 128 and 256 px, fewer frames
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from engine.latent_types import LatentDirection, LatentSampleRequest
from engine.models.loaded import LoadedModel
from engine.models.stylegan2 import StyleGAN2Config, build_networks
from engine.pipelines import latent_stylegan2 as latent
from engine.types import ModelRef
from engine.worker import JobContext

CONFIGS = {
    # name: (config, frames per measurement on the CPU)
    "128px small (w 256, base 8192 / max 256)": (StyleGAN2Config(z_dim=256, w_dim=256, img_resolution=128, mapping_layers=8, channel_base=8192, channel_max=256), 4),
    "256px (w 512, base 16384 / max 512)": (StyleGAN2Config(z_dim=512, w_dim=512, img_resolution=256, mapping_layers=8, channel_base=16384, channel_max=512), 2),
    "1024px official (w 512, base 32768 / max 512)": (StyleGAN2Config(img_resolution=1024), 2),
}
REF = ModelRef("memory://bench")


def make_model(config: StyleGAN2Config, device: torch.device, half: bool) -> LoadedModel:
    torch.manual_seed(0)
    G = build_networks(config)["G"].eval().requires_grad_(False)
    model = LoadedModel(path="bench", family="stylegan2", source_format="bench", config=config, networks={"G": G})
    model.to(device)
    if half:
        G.synthesis.half()  # the mapping stays fp32 (it is tiny)
    return model


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fps(model: LoadedModel, ctx, frames: int, start_layer: int | None) -> tuple[float, int]:
    """Frames per second; ``start_layer`` None = full renders (cache dropped every frame), else
    each frame moves a direction on layers >= start_layer of the base render (seed 1)."""
    G = model.networks["G"]
    vec = np.random.RandomState(1).randn(G.w_dim).astype(np.float32)
    base = LatentSampleRequest(REF, seed=1)
    latent.sample(model, base, ctx)  # warm-up; a full render only the first time (else cheap)
    _sync(ctx.device)
    first = 0
    started = time.perf_counter()
    for i in range(frames):
        if start_layer is None:
            latent.clear_cache(model)
            request = base
        else:
            request = LatentSampleRequest(REF, seed=1, directions=(LatentDirection(vec, 0.1 * (i + 1), start_layer),))
        first = latent.sample(model, request, ctx).first_layer
    _sync(ctx.device)
    elapsed = time.perf_counter() - started
    latent.sample(model, base, ctx)  # back to the base render, from start_layer
    return frames / elapsed, first


def run(device: torch.device, half: bool, quick: bool) -> None:
    ctx = JobContext.detached(device)
    label = f"{device.type}{' fp16' if half else ' fp32'}"
    for name, (config, frames) in CONFIGS.items():
        if quick and config.img_resolution > 256:
            continue
        if device.type == "cuda":
            frames *= 10
        if quick:
            frames = max(2, frames // 2)
        model = make_model(config, device, half)
        n = config.num_ws
        full, _ = fps(model, ctx, frames, None)
        print(f"\n[{label}] {name}: {n} layers, {model.parameter_count() / 1e6:.1f} M parameters")
        print(f"  {'full render':<34} {full:8.2f} frames/s   1.00x")
        # fine layers: the last block, the last two blocks, the upper half
        for k in sorted({n - 1, n - 3, n - 5, n // 2}, reverse=True):
            cached, first = fps(model, ctx, frames, k)
            res = 4 * 2 ** (k // 2)  # the resolution step k starts at
            print(f"  {f'changes at layer >= {k} (from {res}px)':<34} {cached:8.2f} frames/s  {cached / full:5.2f}x  (restarted at {first})")
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="128 and 256 px only, fewer frames")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}")
    run(torch.device("cpu"), half=False, quick=args.quick)
    if torch.cuda.is_available():
        print(f"\nCUDA: {torch.cuda.get_device_name()}")
        run(torch.device("cuda"), half=False, quick=args.quick)
        run(torch.device("cuda"), half=True, quick=args.quick)
    else:
        print("\n(no CUDA device: GPU figures skipped)")


if __name__ == "__main__":
    main()
