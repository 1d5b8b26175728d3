"""Distributed training on the CPU: torchrun with 2 gloo processes.

After some steps every process holds the same parameters, and they equal (within float tolerance)
those of a one-process run with the same global batch (the toy's input noise is off so that both
runs compute the same losses)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from engine.training import launcher
from engine.training.loop import run_training
from engine.training.options import TrainOptions
from engine.training.rundir import RunDir, read_progress
from tests.engine import training_toy

TOY_SCRIPT = str(Path(training_toy.__file__).resolve())
STEPS = 4

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or sys.platform == "win32",
                                reason="needs torch.distributed with gloo")


def _prepare(run_dir: Path, images: Path, dump: Path) -> RunDir:
    dump.mkdir(parents=True, exist_ok=True)
    opts = TrainOptions(family="toy", data=(str(images),), out=str(run_dir), steps=STEPS, batch=4, checkpoint_every=2,
                        sample_every=2, deterministic=True, seed=5, extra={"noise": 0.0, "dump_dir": str(dump)})
    rd = RunDir(run_dir)
    rd.prepare(opts, resume=False)
    return rd


def test_two_gloo_processes_match_each_other_and_one_process(tmp_path):
    images = training_toy.write_images(tmp_path / "images", count=6)
    dist_dir = _prepare(tmp_path / "dist", images, tmp_path / "dump_dist")
    proc = launcher.start(dist_dir.path, nproc=2, threads=1, entry=[TOY_SCRIPT])
    code = proc.wait(240)
    assert code == 0, (dist_dir.path / launcher.LOG_NAME).read_text()[-3000:]

    torch.set_num_threads(1)
    single_dir = _prepare(tmp_path / "single", images, tmp_path / "dump_single")
    assert run_training(single_dir.path).state == "done"

    rank0 = load_file(str(tmp_path / "dump_dist" / "rank0.safetensors"))
    rank1 = load_file(str(tmp_path / "dump_dist" / "rank1.safetensors"))
    single = load_file(str(tmp_path / "dump_single" / "rank0.safetensors"))
    initial = None
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), f"{key} differs between the ranks"
        torch.testing.assert_close(rank0[key], single[key], rtol=1e-4, atol=1e-5, msg=f"{key}: 2 processes vs 1")
    # the runs trained: the final weights are not the initial ones (same seed, so same init)
    from engine.training.rundir import load_state

    first_step, first_path = dist_dir.checkpoints()[0]
    initial = load_state(first_path)["networks"]["G"]["body.0.weight"]
    assert first_step == 2 and not torch.equal(initial, rank0["G.body.0.weight"])
    # rank 0 alone wrote the run's files: one line per logged step, not two
    logs = [r["step"] for r in read_progress(dist_dir.progress_path) if r["kind"] == "log"]
    assert logs == sorted(set(logs)) and logs[-1] == STEPS
    assert dist_dir.read_status()["state"] == "done"
