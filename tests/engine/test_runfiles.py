"""engine.training.runfiles: the torch-free reading side of run directories (what the GUI watches)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from engine.errors import InputError
from engine.training import rundir, runfiles
from engine.training.options import TrainOptions


def write_status(run, state, step, steps, pid=None, message=""):
    (run / runfiles.STATUS).write_text(json.dumps(
        {"state": state, "step": step, "steps": steps, "pid": pid or os.getpid(), "message": message, "updated": 1.0}))


def log_line(step, **losses):
    return json.dumps({"kind": "log", "step": step, "time": 1.0, "losses": losses or {"loss_g": 1.0 / (step + 1)},
                       "images_per_s": 12.5, "elapsed_s": step * 0.5, "eta_s": 10.0}) + "\n"


def test_file_names_are_the_run_directorys():
    for name in ("FORMAT_VERSION", "OPTIONS", "PROGRESS", "STATUS", "LATEST", "SAMPLES", "CHECKPOINTS", "STOP"):
        assert getattr(runfiles, name) == getattr(rundir, name), name
    from engine.training import launcher

    assert runfiles.LOG == launcher.LOG_NAME
    assert rundir.RunDir("x").sample_path(500).name == "step_00000500.png"
    assert runfiles.sample_step(rundir.RunDir("x").sample_path(500)) == 500


def test_a_run_created_here_is_read_by_the_training_process_as_given(tmp_path):
    opts = TrainOptions("pix2pix", data=(str(tmp_path / "data"),), steps=40, resolution=32, batch=2, lr_g=1e-3,
                        augment="diffaugment", preset="x", extra={"ngf": 4})
    path = runfiles.create_run(tmp_path / "runs" / "a", opts)
    record = json.loads((path / runfiles.OPTIONS).read_text())
    assert record["family"] == "pix2pix" and record["format_version"] == rundir.FORMAT_VERSION
    stored = rundir.RunDir(path).read_options()
    assert stored == opts.replace(out=str(path))
    assert runfiles.read_options(path) == stored
    import torch

    assert record["torch_version"] == torch.__version__
    # a resume of it through the training core's own prepare keeps the options, takes new steps
    merged = rundir.RunDir(path).prepare(opts.replace(steps=80), resume=True)
    assert merged.steps == 80 and merged.lr_g == 1e-3


def test_create_run_refuses_a_run_or_a_folder_of_other_files(tmp_path):
    path = runfiles.create_run(tmp_path / "a", TrainOptions("pix2pix"))
    with pytest.raises(InputError, match="already holds a training run"):
        runfiles.create_run(path, TrainOptions("pix2pix"))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        runfiles.create_run(tmp_path / "b", TrainOptions("pix2pix"))
    assert (tmp_path / "b" / "notes.txt").read_text() == "mine"
    (tmp_path / "c").write_text("a file")
    with pytest.raises(InputError, match="is a file"):
        runfiles.create_run(tmp_path / "c", TrainOptions("pix2pix"))


def test_progress_tail_reads_only_complete_new_lines(tmp_path):
    path = tmp_path / runfiles.PROGRESS
    tail = runfiles.ProgressTail(path)
    assert tail.read() == []  # no file yet
    path.write_text(log_line(10) + log_line(20) + '{"kind": "log", "st')
    assert [r["step"] for r in tail.read()] == [10, 20]
    assert tail.read() == [] and not tail.at_end  # the cut line waits
    with open(path, "a") as handle:
        handle.write('ep": 30, "losses": {}}\n' + "not json\n" + log_line(40))
    assert [r["step"] for r in tail.read()] == [30, 40]
    assert tail.at_end and not tail.restarted


def test_progress_tail_reads_big_files_in_bounded_pieces_and_restarts_on_a_new_file(tmp_path):
    path = tmp_path / runfiles.PROGRESS
    path.write_text("".join(log_line(s) for s in range(1, 201)))
    tail = runfiles.ProgressTail(path)
    got = []
    for _ in range(100):
        piece = tail.read(limit=1000)
        got += piece
        assert len(piece) <= 1000 // 100
        if tail.at_end:
            break
    assert [r["step"] for r in got] == list(range(1, 201))
    path.write_text(log_line(1))  # the file replaced by a shorter one
    assert [r["step"] for r in tail.read()] == [1] and tail.restarted


def test_run_info_states_steps_and_the_runs_list(tmp_path):
    runs = tmp_path / "runs"
    runfiles.create_run(runs / "new", TrainOptions("pix2pix", steps=100))
    done = runfiles.create_run(runs / "done", TrainOptions("context_encoder", steps=50, preset="inpainter"))
    write_status(done, "done", 50, 50, message="finished 50 steps")
    running = runfiles.create_run(runs / "running", TrainOptions("pix2pix", steps=100))
    write_status(running, "running", 0, 100)
    (running / runfiles.PROGRESS).write_text(log_line(10) + log_line(20) + json.dumps({"kind": "event", "step": 25}) + "\n")
    dead = runfiles.create_run(runs / "dead", TrainOptions("pix2pix", steps=100))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_status(dead, "running", 0, 100, pid=gone.pid)
    (runs / "not-a-run").mkdir()
    (runs / "damaged").mkdir()
    (runs / "damaged" / runfiles.OPTIONS).write_text("{not json")

    infos = {info.name: info for info in runfiles.list_runs(runs)}
    assert set(infos) == {"new", "done", "running", "dead"}
    assert infos["new"].state == "new" and infos["new"].steps == 100 and infos["new"].step == 0
    assert infos["done"].state == "done" and infos["done"].fraction == 1.0 and infos["done"].preset == "inpainter"
    assert infos["done"].family == "context_encoder" and infos["done"].message == "finished 50 steps"
    assert infos["running"].state == "running" and infos["running"].step == 20  # from the last log line
    assert infos["dead"].state == "interrupted" and infos["dead"].can_resume
    assert [i.name for i in runfiles.list_runs(runs)][0] == "dead"  # newest first
    assert runfiles.list_runs(tmp_path / "nowhere") == []


def test_samples_latest_model_stop_and_steps(tmp_path):
    run = runfiles.create_run(tmp_path / "r", TrainOptions("pix2pix", steps=10))
    assert runfiles.samples(run) == [] and runfiles.latest_model(run) is None
    (run / "samples").mkdir()
    for step in (20, 5, 100):
        (run / "samples" / f"step_{step:08d}.png").write_bytes(b"")
    (run / "samples" / "latest.png").write_bytes(b"")
    assert [s for s, _ in runfiles.samples(run)] == [5, 20, 100]
    (run / runfiles.LATEST).write_bytes(b"x")
    stamp = runfiles.file_stamp(run / runfiles.LATEST)
    assert runfiles.latest_model(run) == run / runfiles.LATEST and stamp is not None
    assert runfiles.request_stop(run).exists() and rundir.RunDir(run).stop_requested()
    runfiles.set_steps(run, 30)
    assert runfiles.read_options(run).steps == 30
    with pytest.raises(InputError):
        runfiles.set_steps(tmp_path, 30)
    assert runfiles.unique_run_dir(tmp_path, "r") == tmp_path / "r-2"
    assert runfiles.unique_run_dir(tmp_path, "my run/../x").name == "my-run-..-x"
