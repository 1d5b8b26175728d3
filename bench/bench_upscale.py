"""Tiled super-resolution throughput and memory, against a whole-image forward in the same run.

Prints, per model (random weights, Real-ESRGAN sizes) and tile size: input megapixels per second,
the ratio to a whole-image eager forward, and the peak memory the run added (CPU: peak RSS over
the baseline, via /proc; CUDA: peak allocated). On CUDA also fp16/bf16 with their output
difference to fp32. Then a memory demonstration: a large image at x4 whose peak memory beyond
the input and output arrays does not grow with the image.

    python bench/bench_upscale.py                        # small CPU default (a few minutes)
    python bench/bench_upscale.py --device cuda --size 1024 --memory-size 4000
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.models.loaded import LoadedModel
from engine.memstats import peak_rss, reset_peak_rss
from engine.models import esrgan, srvgg
from engine.pipelines.upscale import upscale_image
from engine.worker import JobContext

MB = 2**20


def make_model(kind: str, device: torch.device) -> LoadedModel:
    torch.manual_seed(0)
    if kind == "rrdb":
        config = esrgan.RRDBNetConfig(num_feat=64, num_block=23, num_grow_ch=32, scale=4)
        family, module = "esrgan", esrgan
    elif kind == "srvgg":
        config = srvgg.SRVGGConfig(num_feat=64, num_conv=32, upscale=4, act_type="prelu")
        family, module = "srvgg", srvgg
    elif kind == "srvgg-small":
        config = srvgg.SRVGGConfig(num_feat=16, num_conv=4, upscale=4, act_type="prelu")
        family, module = "srvgg", srvgg
    else:
        raise SystemExit(f"unknown model {kind}")
    networks = module.build_networks(config)
    for net in networks.values():
        net.eval().requires_grad_(False)
        # random init makes activations explode through 23 RRDBs; damp it so outputs stay sane
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(0.5)
    model = LoadedModel(path=f"{kind}.pth", family=family, source_format="bench", config=config, networks=networks)
    return model.to(device)


class PeakMemory:
    """Peak memory added while the block runs: CUDA allocator peak, or peak RSS on Linux."""

    def __init__(self, device: torch.device):
        self.device = device
        self.added = float("nan")

    def __enter__(self):
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        elif reset_peak_rss():
            self.base = peak_rss()
        else:
            self.base = None
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.added = torch.cuda.max_memory_allocated() - self.base
        elif self.base is not None:
            self.added = peak_rss() - self.base
        return False




def whole_forward(model: LoadedModel, image: np.ndarray, dtype: torch.dtype = torch.float32) -> np.ndarray:
    net = model.networks["G"]
    x = torch.from_numpy(image).to(model.device).permute(2, 0, 1)[None].to(dtype) / 255
    with torch.inference_mode():
        y = net.to(dtype)(x)
    net.float()
    return y.float().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()


def timed(fn, device: torch.device, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_model(kind: str, args, device: torch.device) -> None:
    model = make_model(kind, device)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(args.size, args.size, 3), dtype=np.uint8)
    mpix = args.size * args.size / 1e6
    ctx = JobContext.detached(device)
    print(f"\n{kind}: {model.parameter_count() / 1e6:.1f}M parameters, input {args.size}x{args.size} -> x4, {device}")
    print(f"  {'run':<22}{'MP/s (input)':>14}{'vs whole':>10}{'peak added MB':>15}{'max diff':>10}")
    baseline = None
    try:
        with PeakMemory(device) as mem:
            seconds, reference = timed(lambda: whole_forward(model, image), device, args.repeat)
        baseline = mpix / seconds
        print(f"  {'whole image (eager)':<22}{baseline:>14.4f}{1.0:>10.2f}{mem.added / MB:>15.0f}{'-':>10}")
    except (RuntimeError, MemoryError) as exc:
        reference = None
        print(f"  whole image does not fit: {str(exc).splitlines()[0][:80]}")
    for tile in args.tiles:
        with PeakMemory(device) as mem:
            seconds, (out, used, _) = timed(lambda tile=tile: upscale_image(model, image, ctx, tile=tile, tile_pad=args.tile_pad, pre_pad=0),
                                              device, args.repeat)
        rate = mpix / seconds
        ratio = f"{rate / baseline:.2f}" if baseline else "-"
        diff = f"{np.abs(out / 255.0 - reference).max() * 255:.1f}/255" if reference is not None else "-"
        print(f"  {'tile ' + str(tile) + ' (used ' + str(used) + ')':<22}{rate:>14.4f}{ratio:>10}{mem.added / MB:>15.0f}{diff:>10}")
    if device.type == "cuda" and reference is not None:
        for dtype in (torch.float16, torch.bfloat16):
            with PeakMemory(device) as mem:
                seconds, low = timed(lambda dtype=dtype: whole_forward(model, image, dtype), device, args.repeat)
            diff = np.abs(low - reference).max()
            print(f"  {'whole ' + str(dtype).split('.')[-1]:<22}{mpix / seconds:>14.4f}{mpix / seconds / baseline:>10.2f}"
                  f"{mem.added / MB:>15.0f}{diff * 255:>7.2f}/255")


def memory_demo(args, device: torch.device) -> None:
    """Peak memory beyond input+output arrays at two image sizes: it should not grow."""
    model = make_model("srvgg-small", device)
    ctx = JobContext.detached(device)
    print(f"\nmemory: small SRVGG x4, tile {args.memory_tile}, {device}")
    print(f"  {'input':<12}{'in+out arrays MB':>18}{'peak added MB':>15}{'beyond arrays MB':>18}{'seconds':>9}")
    for size in (args.memory_size // 2, args.memory_size):  # both well above the tile: same tile working set
        image = np.random.default_rng(1).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
        arrays = image.nbytes + image.nbytes * 16
        with PeakMemory(device) as mem:
            start = time.perf_counter()
            out, _, _ = upscale_image(model, image, ctx, tile=args.memory_tile, tile_pad=args.tile_pad)
            seconds = time.perf_counter() - start
        beyond = mem.added - (out.nbytes if device.type == "cpu" else 0)
        print(f"  {size}x{size:<7}{arrays / MB:>18.0f}{mem.added / MB:>15.0f}{beyond / MB:>18.0f}{seconds:>9.1f}")
        del out, image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, default=96, help="input edge in pixels (default 96: minutes on 2 CPU cores)")
    parser.add_argument("--tiles", type=lambda s: [int(t) for t in s.split(",")], default=[128, 256, 512])
    parser.add_argument("--tile-pad", type=int, default=16)
    parser.add_argument("--models", default="srvgg,rrdb")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--memory-size", type=int, default=2000, help="edge of the memory demo's large input (0 = skip)")
    parser.add_argument("--memory-tile", type=int, default=256)
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""))
    for kind in args.models.split(","):
        bench_model(kind.strip(), args, device)
    if args.memory_size:
        memory_demo(args, device)


if __name__ == "__main__":
    main()
