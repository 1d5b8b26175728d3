"""Helpers for the FAMILIES-A trainer tests (pix2pix, CycleGAN, ESRGAN, context encoder): tiny
generated datasets, a tiny run through the shared loop, and the trained model read back."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from engine.imageio import write_png
from engine.loaders import load_model
from engine.models.loaded import LoadedModel
from engine.training.families import trainer_class
from engine.training.loop import prepare_data, run_training, seed_everything
from engine.training.options import TrainOptions, resolve
from engine.training.rundir import RunDir, read_progress
from engine.training.trainer import RunContext, Trainer


def smooth_image(rng: np.random.Generator, size: int) -> np.ndarray:
    """An HxWx3 uint8 image with low-frequency structure (gradients and a disc), not noise."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = rng.uniform(0.2, 0.8, size=3)
    slope = rng.uniform(-0.4, 0.4, size=(2, 3))
    image = base + yy[..., None] * slope[0] + xx[..., None] * slope[1]
    cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.3)
    disc = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
    image[disc] = rng.uniform(0, 1, size=3)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def write_images(folder: Path, count: int, size: int, seed: int = 0) -> list[np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = [smooth_image(rng, size) for _ in range(count)]
    for i, image in enumerate(images):
        write_png(folder / f"img{i:02d}.png", image)
    return images


def tiny_options(family: str, data: list[Path], run: Path, **fields: Any) -> TrainOptions:
    values: dict[str, Any] = dict(family=family, data=tuple(str(d) for d in data), out=str(run), steps=3, batch=2,
                                  log_every=1, sample_every=2, checkpoint_every=100, preview_count=2, device="cpu")
    values.update(fields)
    return TrainOptions(**values)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Tiny networks train fastest on one thread (and do not fight the other tests for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_tiny(opts: TrainOptions) -> tuple[LoadedModel, list[dict[str, Any]]]:
    """Prepare the run folder, train through the shared loop, return (latest model, log records)."""
    RunDir(opts.out).prepare(opts, resume=False)
    with one_thread():
        result = run_training(opts.out)
    assert result.state == "done", result
    records = [r for r in read_progress(Path(opts.out) / "progress.jsonl") if r.get("kind") == "log"]
    assert records, "no progress lines were logged"
    for record in records:
        assert record["losses"], record
        assert all(np.isfinite(v) for v in record["losses"].values()), record
    assert (Path(opts.out) / "samples" / "latest.png").is_file()
    return load_model(Path(opts.out) / "latest.safetensors"), records


def fresh_trainer(opts: TrainOptions) -> Trainer:
    """The trainer as the loop builds it at step 0 (same seed: the same initial weights)."""
    cls = trainer_class(opts.family)
    resolved = resolve(opts, cls.defaults, cls.losses)
    data = prepare_data(resolved, cls.layout)
    seed_everything(resolved.seed)
    return cls(resolved, data, torch.device("cpu"), RunContext())


def changed(before: torch.nn.Module, after: torch.nn.Module) -> bool:
    """Whether any parameter differs between two networks of the same architecture."""
    a, b = before.state_dict(), after.state_dict()
    assert a.keys() == b.keys()
    return any(not torch.equal(a[k].float(), b[k].float()) for k in a if a[k].is_floating_point())


def notes_of(run: Path) -> list[str]:
    return [r.get("message", "") for r in read_progress(run / "progress.jsonl") if r.get("event") == "note"]


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")


def assert_resume_is_exact(opts: TrainOptions, stop_at: int) -> dict[str, Any]:
    """Train ``opts.steps`` in one go and again stopped at ``stop_at`` then resumed; every network
    (and the extra state's tensors) must end bit-identical. Returns the uninterrupted run's state."""
    from engine.training.loop import run_training as run

    whole = opts.replace(out=str(Path(opts.out) / "whole"), deterministic=True)
    part = whole.replace(out=str(Path(opts.out) / "part"))
    run_tiny(whole)
    RunDir(part.out).prepare(part, resume=False)
    iterations = []

    def stop_now() -> bool:  # asked once per iteration: a stop request after iteration stop_at
        iterations.append(1)
        return len(iterations) >= stop_at

    with one_thread():  # as run_tiny: the same thread count gives the same float sums
        stopped = run(part.out, should_stop=stop_now)
        assert stopped.state == "stopped" and stopped.step == stop_at, stopped
        RunDir(part.out).prepare(part, resume=True)
        assert run(part.out, resume=True).state == "done"
    a = RunDir(whole.out).load_latest_state()[1]
    b = RunDir(part.out).load_latest_state()[1]
    assert a["step"] == b["step"] == opts.steps
    for net, state in a["networks"].items():
        for key, value in state.items():
            assert torch.equal(value, b["networks"][net][key]), (net, key)
    for key, value in a["extra"].items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b["extra"][key]), key
    return a
