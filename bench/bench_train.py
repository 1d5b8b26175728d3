"""Training speed per family: the shared loop against a straightforward eager loop, same run.

For every family trainer of this build, at a small config (table :data:`SMALL`) on generated
images, two measurements alternate ``--repeats`` times:

* **loop**: :func:`engine.training.loop.run_training` on a prepared run directory (progress line
  every 10 steps; no sample or checkpoint inside the timed window), timed from the end of iteration
  ``--warmup`` to the end of the last iteration;
* **eager**: the same trainer built the same way, driven by a plain ``for`` loop that fetches the
  same batches (``TrainData.batch``), moves them to the device and calls ``train_step``.

Printed: steps/s of each (median over repeats), ratio = loop time / eager time (the issue asks
that the loop cost at most 5% more, i.e. ratio <= 1.05), and a noise-corrected ratio: both loops
also time their ``train_step`` calls, so the time each spends outside ``train_step`` per step is
known; ``1 + (loop outside - eager outside) / eager step`` is the loop's own cost, unaffected by
the step-to-step noise of the training computation itself (a busy machine). On a CUDA GPU
``--amp bf16|fp16`` turns on mixed precision for both.

    python -m bench.bench_train                      # every available family on the CPU
    python -m bench.bench_train --families spade,stylegan2 --steps 30 --device cuda --amp bf16
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from engine.training import families
from engine.training.loop import prepare_data, run_training, seed_everything
from engine.training.options import TrainOptions, resolve
from engine.training.rundir import RunDir
from engine.training.trainer import RunContext

#: family -> (resolution, batch, extra): small but not trivial configs
SMALL: dict[str, tuple[int, int, dict[str, Any]]] = {
    "spade": (64, 2, {"ngf": 8, "ndf": 16, "n_layers_d": 2, "num_d": 2}),
    "pix2pixhd": (64, 2, {"ngf": 8, "n_downsample_global": 2, "n_blocks_global": 2, "ndf": 16, "n_layers_d": 2,
                          "num_d": 2}),
    "pix2pix": (64, 4, {"ngf": 16, "ndf": 16, "n_layers_d": 3}),
    "cyclegan": (64, 1, {"ngf": 16, "ndf": 16, "n_blocks": 2, "n_layers_d": 2}),
    "stylegan2": (32, 4, {"z_dim": 64, "w_dim": 64, "mapping_layers": 2, "channel_base": 1024, "channel_max": 64}),
    "biggan": (32, 4, {"channel_width": 16, "z_dim": 32, "d_channel_width": 16}),
    "context_encoder": (64, 8, {"base_width": 16, "max_width": 64, "disc_base_width": 16}),
    "esrgan": (64, 4, {"arch": "srvgg", "scale": 4, "num_feat": 16, "num_conv": 4, "d_feat": 16, "psnr_steps": 0,
                       "perceptual_weight": 0}),
}


def write_dataset(layout: str, root: Path, size: int, count: int = 8) -> list[Path]:
    """Smooth random images (and label maps) in ``layout``; returns the --data folders."""
    rng = np.random.default_rng(0)

    def image(path: Path) -> None:
        base = rng.random((size // 8 + 1, size // 8 + 1, 3))
        arr = np.kron(base, np.ones((8, 8, 1)))[:size, :size]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((arr * 255).astype(np.uint8)).save(path)

    if layout == "paired":
        for i in range(count):
            image(root / "images" / f"{i}.png")
            (root / "labels").mkdir(exist_ok=True)
            label = np.kron(rng.integers(0, 5, (size // 8, size // 8)), np.ones((8, 8))).astype(np.uint8)
            Image.fromarray(label, mode="L").save(root / "labels" / f"{i}.png")
        return [root]
    if layout == "classes":
        for i in range(count):
            image(root / f"class{i % 2}" / f"{i}.png")
        return [root]
    if layout == "unpaired":
        for i in range(count):
            image(root / "A" / f"{i}.png")
            image(root / "B" / f"{i}.png")
        return [root / "A", root / "B"]
    for i in range(count):
        image(root / f"{i}.png")
    return [root]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class StepTimer:
    """Wraps a trainer class's ``train_step`` to sum its time over steps >= ``warmup``."""

    def __init__(self, cls: type, warmup: int, device: torch.device) -> None:
        self.total = 0.0
        original = cls.train_step
        timer = self

        def timed(trainer, batch, step):
            start = time.perf_counter()
            out = original(trainer, batch, step)
            _sync(device)
            if step >= warmup:
                timer.total += time.perf_counter() - start
            return out

        self.cls, self.original, self.timed = cls, original, timed

    def __enter__(self) -> "StepTimer":
        self.cls.train_step = self.timed
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cls.train_step = self.original


def time_loop(opts: TrainOptions, run_dir: Path, warmup: int, device: torch.device) -> tuple[float, float]:
    """(wall time of the timed iterations, time spent in train_step) through the shared loop."""
    RunDir(run_dir).prepare(opts, resume=False)
    stamps: list[float] = []

    def stamp() -> bool:  # called by the loop once at the end of every iteration
        _sync(device)
        stamps.append(time.perf_counter())
        return False

    with StepTimer(families.trainer_class(opts.family), warmup, device) as timer:
        run_training(run_dir, should_stop=stamp)
    return stamps[-1] - stamps[warmup - 1], timer.total


def time_eager(opts: TrainOptions, warmup: int, device: torch.device) -> tuple[float, float]:
    """The same through a plain for loop."""
    cls = families.trainer_class(opts.family)
    resolved = resolve(opts, cls.defaults, cls.losses)
    data = prepare_data(resolved, cls.layout, check=False)
    seed_everything(resolved.seed)
    trainer = cls(resolved, data, device, RunContext())
    start = 0.0
    with StepTimer(cls, warmup, device) as timer:
        for step in range(resolved.steps):
            batch = {k: v.to(device) for k, v in data.batch(step, resolved.batch).items()}
            trainer.train_step(batch, step)
            if step == warmup - 1:
                _sync(device)
                start = time.perf_counter()
        _sync(device)
    return time.perf_counter() - start, timer.total


def bench_family(family: str, args: argparse.Namespace, device: torch.device, tmp: Path) -> dict[str, float] | None:
    cls = families.trainer_class(family)
    resolution, batch, extra = SMALL.get(family, (32, 4, {}))
    data = write_dataset(cls.layout, tmp / family / "data", max(resolution, 64))
    steps = args.warmup + args.steps
    opts = TrainOptions(family=family, data=tuple(map(str, data)), steps=steps, resolution=resolution, batch=batch,
                        log_every=10, sample_every=10**9, checkpoint_every=10**9, checkpoint_minutes=1e9,
                        device=str(device), amp=args.amp, extra=dict(extra))
    loops, eagers, corrected = [], [], []
    for r in range(args.repeats):
        loop_t, loop_in = time_loop(opts, tmp / family / f"run{r}", args.warmup, device)
        eager_t, eager_in = time_eager(opts, args.warmup, device)
        loops.append(loop_t)
        eagers.append(eager_t)
        corrected.append(1.0 + ((loop_t - loop_in) - (eager_t - eager_in)) / eager_t)
    loop_t, eager_t = statistics.median(loops), statistics.median(eagers)
    return {"loop_steps_s": args.steps / loop_t, "eager_steps_s": args.steps / eager_t, "ratio": loop_t / eager_t,
            "corrected": statistics.median(corrected)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", help="comma-separated (default: every available family)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", default="off", choices=("off", "bf16", "fp16"))
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    available = families.available()
    wanted = args.families.split(",") if args.families else [f for f, ok in available.items() if ok]
    print(f"device {device}, amp {args.amp}, torch threads {torch.get_num_threads()}, "
          f"{args.steps} timed steps after {args.warmup}, median of {args.repeats}")
    print(f"{'family':<16} {'loop steps/s':>13} {'eager steps/s':>14} {'loop/eager':>11} {'corrected':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for family in wanted:
            if not available.get(family):
                print(f"{family:<16} not available in this build")
                continue
            result = bench_family(family, args, device, Path(tmp))
            print(f"{family:<16} {result['loop_steps_s']:>13.2f} {result['eager_steps_s']:>14.2f} {result['ratio']:>11.3f} {result['corrected']:>10.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
