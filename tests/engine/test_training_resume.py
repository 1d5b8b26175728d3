"""Exact resume on the CPU: a run stopped (or killed with SIGKILL) and resumed ends with the same
parameters, optimizer state and RNG-driven results as a run that never stopped."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import torch

from engine.loaders.detect import load_model
from engine.training import launcher
from engine.training.loop import run_training
from engine.training.options import TrainOptions
from engine.training.rundir import RunDir, load_state, read_progress
from tests.engine import training_toy

TOY_SCRIPT = str(Path(training_toy.__file__).resolve())


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return training_toy.write_images(tmp_path_factory.mktemp("toy_images"))


def _prepare(run_dir: Path, images: Path, steps: int, **extra) -> RunDir:
    opts = TrainOptions(family="toy", data=(str(images),), out=str(run_dir), steps=steps, checkpoint_every=2,
                        sample_every=3, deterministic=True, seed=3, extra=extra)
    rd = RunDir(run_dir)
    rd.prepare(opts, resume=False)
    return rd


def _final_state(rd: RunDir) -> dict:
    _, path = rd.checkpoints()[-1]
    return load_state(path)


def _assert_same_training(a: dict, b: dict) -> None:
    assert a["step"] == b["step"]
    for name in a["networks"]:
        for key, value in a["networks"][name].items():
            assert torch.equal(value, b["networks"][name][key]), f"{name}.{key} differs"
    for name in a["optimizers"]:
        for pid, slots in a["optimizers"][name]["state"].items():
            for key, value in slots.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["optimizers"][name]["state"][pid][key]))
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
    assert a["extra"] == b["extra"]


def test_stopped_and_resumed_run_equals_uninterrupted(tmp_path, images):
    whole = _prepare(tmp_path / "whole", images, steps=8)
    assert run_training(whole.path).state == "done"

    parts = _prepare(tmp_path / "parts", images, steps=8)
    seen = []

    def stop_at_5():
        return len(seen) >= 5  # true once step 5 is logged: the run ends after 5 steps

    result = run_training(parts.path, should_stop=stop_at_5,
                          on_progress=lambda r: seen.append(r["step"]) if r["kind"] == "log" else None)
    assert result.state == "stopped" and result.step == 5 and result.checkpoint_step == 5
    resumed = run_training(parts.path, resume=True)
    assert resumed.state == "done" and resumed.step == 8

    _assert_same_training(_final_state(whole), _final_state(parts))
    events = [r["event"] for r in read_progress(parts.progress_path) if r["kind"] == "event"]
    assert "resume" in events and events[-1] == "done"
    # the training really moved the parameters (the comparison is not between two untouched nets)
    first = load_state(parts.checkpoints()[0][1])
    assert not torch.equal(first["networks"]["G"]["body.0.weight"], _final_state(parts)["networks"]["G"]["body.0.weight"])


def test_resume_after_kill_9(tmp_path, images):
    steps = 24
    whole = _prepare(tmp_path / "whole", images, steps=steps)
    assert run_training(whole.path).state == "done"

    killed = _prepare(tmp_path / "killed", images, steps=steps, sleep_s=0.15)
    proc = launcher.start(killed.path, threads=1, entry=[TOY_SCRIPT])
    try:
        deadline = time.monotonic() + 120
        while not any(step >= 6 for step, _ in killed.checkpoints()):
            assert proc.poll() is None, (killed.path / launcher.LOG_NAME).read_text()
            assert time.monotonic() < deadline, "the run wrote no checkpoint in time"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.process.kill()
    last_step = killed.checkpoints()[-1][0]
    assert last_step < steps, "the run finished before it was killed; the test proves nothing"
    # whatever the moment of the kill, latest.safetensors is a complete model
    assert load_model(killed.latest_path).family == "srvgg"

    # resume without the slowdown (sleep_s does not change any number)
    result = run_training(killed.path, resume=True)
    assert result.state == "done" and result.step == steps
    _assert_same_training(_final_state(whole), _final_state(killed))


def test_stop_file_stops_with_a_final_checkpoint(tmp_path, images):
    rd = _prepare(tmp_path / "run", images, steps=50)

    def on_progress(record):
        if record["kind"] == "log" and record["step"] == 3:
            rd.request_stop()

    result = run_training(rd.path, on_progress=on_progress)
    assert result.state == "stopped" and result.step == 3
    status = rd.read_status()
    assert status["state"] == "stopped" and status["step"] == 3
    assert rd.checkpoints()[-1][0] == 3
    assert not rd.stop_path.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_stops_with_a_final_checkpoint(tmp_path, images):
    rd = _prepare(tmp_path / "run", images, steps=50)

    def on_progress(record):
        if record["kind"] == "log" and record["step"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    result = run_training(rd.path, on_progress=on_progress)
    assert signal.getsignal(signal.SIGTERM) is previous  # the run's handler is removed again
    assert result.state == "stopped" and result.step == 2 and "SIGTERM" in result.message
    assert rd.checkpoints()[-1][0] == 2
    assert rd.read_status()["state"] == "stopped"
