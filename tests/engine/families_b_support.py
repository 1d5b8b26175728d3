"""Tiny label/photo datasets for the SPADE and pix2pixHD trainer tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.labelsets import write_index_png
from tests.engine.image_train_support import one_thread, write_images


def label_dataset(root: Path, count: int = 3, size: int = 64, label_nc: int = 5, instances: bool = True) -> Path:
    """``root/images``, ``root/labels`` (every value 0..label_nc-1 appears in the first map) and,
    when ``instances``, ``root/instances`` (each labelled square its own instance id)."""
    write_images(root / "images", count, size, seed=2)
    (root / "labels").mkdir()
    if instances:
        (root / "instances").mkdir()
    rng = np.random.default_rng(3)
    side = max(2, size // 4)
    for i in range(count):
        labels = np.zeros((size, size), np.uint8)
        ids = np.zeros((size, size), np.uint8)
        for value in range(1, label_nc):
            top, left = ((value * 7) % (size - side), (value * 13) % (size - side)) if i == 0 else rng.integers(0, size - side, size=2)
            labels[top:top + side, left:left + side] = value
            ids[top:top + side, left:left + side] = value * 10 + 1
        write_index_png(root / "labels" / f"img{i:02d}.png", labels)
        if instances:
            write_index_png(root / "instances" / f"img{i:02d}.png", ids)
    return root


def assert_exact_resume(opts, stop_after: int) -> None:
    """Train ``opts`` (deterministic, checkpoint every step) straight through, and again stopped
    after ``stop_after`` steps and resumed: the final states (all networks, optimizers, the
    trainer's extra state) must be identical."""
    with one_thread():
        _compare_resumed(opts, stop_after)


def _compare_resumed(opts, stop_after: int) -> None:
    import torch

    from engine.training.loop import run_training
    from engine.training.rundir import RunDir, load_state

    def final(run: Path) -> dict:
        return load_state(RunDir(run).checkpoints()[-1][1])

    opts = opts.replace(deterministic=True, checkpoint_every=1)
    whole, parts = Path(opts.out + "_whole"), Path(opts.out + "_parts")
    RunDir(whole).prepare(opts.replace(out=str(whole)), resume=False)
    assert run_training(whole).state == "done"
    RunDir(parts).prepare(opts.replace(out=str(parts)), resume=False)
    seen: list[int] = []
    stopped = run_training(parts, should_stop=lambda: len(seen) >= stop_after,
                           on_progress=lambda r: seen.append(r["step"]) if r["kind"] == "log" else None)
    assert stopped.state == "stopped" and stopped.step == stop_after
    assert run_training(parts, resume=True).state == "done"
    a, b = final(whole), final(parts)
    assert a["step"] == b["step"] == opts.steps
    for name, state in a["networks"].items():
        for key, value in state.items():
            assert torch.equal(value, b["networks"][name][key]), f"{name}.{key} differs after resume"
    for name, opt in a["optimizers"].items():
        for pid, slots in opt["state"].items():
            for key, value in slots.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["optimizers"][name]["state"][pid][key]))
    assert repr(a["extra"]) == repr(b["extra"])
