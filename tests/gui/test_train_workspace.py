"""The Train workspace: set up, start, watch, stop and resume runs; open their models in other workspaces.

A fake run directory (written here with the files documented in engine/training/rundir.py) checks
what the workspace shows and that it follows appended lines; a real tiny pix2pix run started from
the panel checks the whole path (options.json written without torch, the run process, progress,
samples, latest.safetensors, Open in Paint through the window's model loading).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

import engine.training.runfiles as runfiles
from engine.imageio import write_png
from engine.training.options import TrainOptions

LOSSES = ("loss_d", "loss_g_gan", "loss_l1")


def log_record(step: int, steps: int, scale: float = 1.0) -> dict:
    return {"kind": "log", "step": step, "steps": steps, "time": time.time(),
            "losses": {name: scale * (1 + i) / (1 + step / 50) for i, name in enumerate(LOSSES)},
            "images_per_s": 24.0, "elapsed_s": step * 0.25, "eta_s": (steps - step) * 0.25}


def append(run: Path, *records: dict) -> None:
    with open(run / runfiles.PROGRESS, "a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def write_sample(run: Path, step: int, size: int = 24) -> Path:
    image = np.zeros((size, size * 2, 3), np.uint8)
    image[..., 0] = step % 256
    image[: size // 2, :, 1] = 200
    path = run / runfiles.SAMPLES / f"step_{step:08d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_png(path, image)
    append(run, {"kind": "event", "event": "sample", "step": step, "time": time.time(), "message": "",
                 "path": str(path.relative_to(run))})
    return path


def fake_run(folder: Path, name: str = "fake", steps: int = 400, logged: int = 200, state: str = "running",
             pid: int | None = None, family: str = "pix2pix") -> Path:
    """A run directory as a training process leaves it: options, status, progress lines, samples."""
    run = runfiles.create_run(folder / name, TrainOptions(family, data=(str(folder / "data"),), steps=steps))
    (run / runfiles.STATUS).write_text(json.dumps({"state": state, "step": 0, "steps": steps, "pid": pid or os.getpid(),
                                                   "message": "", "updated": time.time()}))
    append(run, {"kind": "event", "event": "start", "step": 0, "time": time.time(), "message": f"{family}: step 0 of {steps}"})
    for step in range(10, logged + 1, 10):
        append(run, log_record(step, steps))
        if step % 100 == 0:
            write_sample(run, step)
    return run


@pytest.fixture
def workspace(qtbot, tmp_path, settings):
    from gui.app import create_application
    from gui.train.workspace import TrainWorkspace

    create_application()
    settings.setValue("train/runs_folder", str(tmp_path / "runs"))
    workspace = TrainWorkspace(None, None, None, settings=settings)
    workspace.session.timer.setInterval(50)
    qtbot.addWidget(workspace.view)
    qtbot.addWidget(workspace.panel)
    yield workspace
    workspace.session.shutdown()


def test_the_workspace_builds_without_torch_and_lists_presets():
    code = ("import os; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "import sys\n"
            "from gui.app import create_application\n"
            "from PySide6.QtCore import QSettings\n"
            "import tempfile\n"
            "create_application()\n"
            "from gui.train.workspace import TrainWorkspace\n"
            "d = tempfile.mkdtemp()\n"
            "s = QSettings(d + '/s.ini', QSettings.Format.IniFormat); s.setValue('train/runs_folder', d)\n"
            "w = TrainWorkspace(None, None, None, settings=s)\n"
            "w.panel.recipe_combo.setCurrentIndex(1)\n"
            "assert w.panel.recipe_combo.count() >= 8, w.panel.recipe_combo.count()\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n"
            "print('ok')\n")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_a_fake_run_shows_progress_curves_and_samples_and_follows_new_lines(qtbot, workspace, tmp_path):
    run = fake_run(tmp_path / "runs")
    session, view = workspace.session, workspace.view
    session.refresh_runs()
    assert [r.name for r in session.runs] == ["fake"] and view.runs_list.count() == 1
    view.runs_list.setCurrentRow(0)
    assert session.current is not None and session.current.path == run
    qtbot.waitUntil(lambda: len(view.curves.series.get("loss_d", ((),))[0]) == 20, timeout=5000)  # read off the UI thread
    assert set(view.curves.series) == set(LOSSES)
    assert view.progress.value() == 500  # 200 of 400 steps
    assert "step 200 of 400 (50%)" in view.stats.text() and "24.0 images/s" in view.stats.text()
    assert "ETA" in view.stats.text()
    assert view.state_chip.text() == "training" and view.stop_button.isEnabled() and not view.resume_button.isEnabled()
    qtbot.waitUntil(lambda: view.preview.step == 200, timeout=5000)
    assert view.sample_slider.maximum() == 1 and not view.preview.pixmap().isNull()

    append(run, *(log_record(step, 400) for step in range(210, 310, 10)))
    write_sample(run, 300)
    qtbot.waitUntil(lambda: len(view.curves.series["loss_d"][0]) == 30, timeout=5000)
    qtbot.waitUntil(lambda: view.preview.step == 300, timeout=5000)
    assert view.progress.value() == 750 and "step 300 of 400" in view.stats.text()
    assert view.sample_slider.value() == view.sample_slider.maximum() == 2
    view.sample_slider.setValue(0)  # looking back at an older preview
    qtbot.waitUntil(lambda: view.preview.step == 100, timeout=5000)
    assert "step 100" in view.sample_label.text()

    # a partial line (the run is writing it) waits; the finished run then shows as done
    with open(run / runfiles.PROGRESS, "a") as handle:
        handle.write('{"kind": "log", "step": 31')
    qtbot.wait(200)
    assert len(view.curves.series["loss_d"][0]) == 30
    with open(run / runfiles.PROGRESS, "a") as handle:
        handle.write('0, "losses": {"loss_d": 0.5}}\n')
    (run / runfiles.STATUS).write_text(json.dumps({"state": "done", "step": 400, "steps": 400, "pid": os.getpid(),
                                                   "message": "finished 400 steps", "updated": time.time()}))
    qtbot.waitUntil(lambda: view.state_chip.text() == "done" and len(view.curves.series["loss_d"][0]) == 31, timeout=5000)
    assert view.progress.value() == 1000
    assert not view.stop_button.isEnabled() and view.resume_button.isEnabled()
    assert view.resume_steps.value() == 800  # a finished run resumes to train on: twice as long by default


def test_stop_writes_stop_and_a_dead_process_shows_as_interrupted(qtbot, workspace, tmp_path):
    run = fake_run(tmp_path / "runs", logged=50)
    workspace.session.watch(run)
    view = workspace.view
    assert view.stop_button.isEnabled()
    view.stop_button.click()
    assert (run / runfiles.STOP).exists()
    assert "Stopping" in view.message.text()
    (run / runfiles.STOP).unlink()

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = fake_run(tmp_path / "runs", name="dead", logged=30, pid=gone.pid)
    workspace.session.refresh_runs()
    assert {r.name: r.state for r in workspace.session.runs}["dead"] == "interrupted"
    workspace.session.watch(dead)
    qtbot.waitUntil(lambda: bool(view.curves.series), timeout=5000)
    assert view.state_chip.text() == "interrupted" and view.resume_button.isEnabled() and not view.stop_button.isEnabled()
    assert "resume continues from the last checkpoint" in view.stats.text()
    actions = {a.text(): a for a in view.run_menu(workspace.session.current.info).actions() if a.text()}
    assert list(actions) == ["Open in Paint", "Stop", "Resume", "Show folder", "Copy path"]
    assert not actions["Open in Paint"].isEnabled() and not actions["Stop"].isEnabled() and actions["Resume"].isEnabled()
    running = view.run_menu(runfiles.run_info(run)).actions()
    running[1].trigger()  # Stop, from the runs list
    assert (run / runfiles.STOP).exists()


def test_runs_are_listed_again_after_a_restart_with_the_watched_one(qtbot, tmp_path, settings):
    from gui.app import create_application
    from gui.train.workspace import TrainWorkspace

    create_application()
    settings.setValue("train/runs_folder", str(tmp_path / "runs"))
    fake_run(tmp_path / "runs", name="a", state="done")
    b = fake_run(tmp_path / "runs", name="b", state="stopped")
    first = TrainWorkspace(None, None, None, settings=settings)
    first.session.watch(b)
    first.session.shutdown()
    again = TrainWorkspace(None, None, None, settings=QSettings(settings.fileName(), QSettings.Format.IniFormat))
    for workspace in (first, again):
        qtbot.addWidget(workspace.view)
        qtbot.addWidget(workspace.panel)
    try:
        assert {r.name for r in again.session.runs} == {"a", "b"}
        assert again.session.current is not None and again.session.current.path == b
        assert again.view.state_chip.text() == "stopped"
        qtbot.waitUntil(lambda: bool(again.view.curves.series), timeout=5000)
    finally:
        again.session.shutdown()


def test_the_panel_fills_the_options_and_refuses_a_bad_dataset(qtbot, workspace, tmp_path):
    from gui.train.recipes import build_options

    panel = workspace.panel
    index = next(i for i, r in enumerate(panel.recipes) if r.family == "pix2pix" and r.preset is None)
    panel.recipe_combo.setCurrentIndex(index)
    assert not panel.data_b.isVisible()
    cyclegan = next(i for i, r in enumerate(panel.recipes) if r.family == "cyclegan")
    panel.recipe_combo.setCurrentIndex(cyclegan)
    assert panel.data_b.isVisibleTo(panel)
    panel.recipe_combo.setCurrentIndex(index)
    panel.resolution.set_chosen(64)
    panel.lr_g.set_chosen(5e-4)
    opts = build_options(panel.recipe, ("/data",), panel.chosen_values())
    assert opts.family == "pix2pix" and opts.resolution == 64 and opts.lr_g == 5e-4
    assert opts.batch is None and opts.lr_d is None  # left to the family's defaults

    empty = tmp_path / "empty"
    empty.mkdir()
    panel.data_a.set_path(str(empty))
    panel.start_button.click()
    qtbot.waitUntil(lambda: "Not ready" in panel.report.text(), timeout=10_000)
    assert "images/ folder" in panel.report.text()
    assert "not ready" in panel.message.text()
    assert runfiles.list_runs(tmp_path / "runs") == []  # nothing was created


def image_pairs(root: Path, count: int = 3, size: int = 32) -> Path:
    rng = np.random.default_rng(0)
    for folder in ("inputs", "images"):
        (root / folder).mkdir(parents=True)
    for i in range(count):
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        write_png(root / "inputs" / f"p{i}.png", image)
        write_png(root / "images" / f"p{i}.png", 255 - image)
    return root


def test_a_real_tiny_run_started_from_the_panel_stops_resumes_and_opens_in_paint(qtbot, tmp_path, settings, make_window,
                                                                                real_engine):
    settings.setValue("train/runs_folder", str(tmp_path / "runs"))
    window = make_window(real_engine)
    train = window.workspace("train")
    session, panel, view = train.session, train.panel, train.view
    session.timer.setInterval(100)
    session.threads = 1
    index = next(i for i, r in enumerate(panel.recipes) if r.family == "pix2pix" and r.preset is None)
    panel.recipe_combo.setCurrentIndex(index)
    panel.data_a.set_path(str(image_pairs(tmp_path / "data")))
    panel.resolution.set_chosen(32)
    panel.batch.set_chosen(2)
    panel.steps.set_chosen(100_000)  # far more than it will run: it is stopped
    panel.log_every.set_chosen(1)
    panel.sample_every.set_chosen(3)
    panel.checkpoint_every.set_chosen(100_000)
    panel.name_edit.setText("tiny")
    original_values = panel.chosen_values
    panel.chosen_values = lambda: {**original_values(), "extra": {"ngf": 4, "ndf": 4, "n_layers_d": 1}}
    panel.start_button.click()
    qtbot.waitUntil(lambda: session.current is not None and session.current.path.name == "tiny", timeout=20_000)
    assert "Ready" in panel.report.text()
    run = session.current.path
    assert runfiles.read_options(run).extra["ngf"] == 4

    # it trains: curves and previews arrive; Stop ends it with a final checkpoint
    qtbot.waitUntil(lambda: len(view.curves.series.get("loss_l1", ((), ()))[0]) >= 3, timeout=60_000)
    assert set(view.curves.series) == set(LOSSES) and view.state_chip.text() == "training"
    assert view.stop_button.isEnabled() and not view.open_button.isEnabled()  # no checkpoint yet
    view.stop_button.click()
    qtbot.waitUntil(lambda: session.current.info.state == "stopped", timeout=30_000)
    qtbot.waitUntil(lambda: not session.processes, timeout=30_000)  # the process ended and was reaped
    stopped_at = session.current.info.step
    assert stopped_at >= 3 and runfiles.latest_model(run) is not None and view.open_button.isEnabled()
    qtbot.waitUntil(lambda: view.preview.step is not None, timeout=10_000)

    # Resume (to 2 more steps) continues from the final checkpoint and finishes
    view.resume_steps.setValue(stopped_at + 2)
    view.resume_button.click()
    qtbot.waitUntil(lambda: session.current.info.state == "done" and session.current.info.step == stopped_at + 2,
                    timeout=60_000)
    # status.json says done a moment before the last progress line arrives: wait for that line
    qtbot.waitUntil(lambda: session.current.events and session.current.events[-1]["event"] == "done", timeout=10_000)
    events = [e["event"] for e in session.current.events]
    assert events.count("resume") == 1 and events.count("stop") == 1
    assert view.progress.value() == 1000 and view.open_button.text() == "Open in Paint"

    # Open in Paint loads latest.safetensors through the window's model loading
    paint = window.workspace("paint")
    view.open_button.click()
    latest = str(run / runfiles.LATEST)
    qtbot.waitUntil(lambda: getattr(paint.session.model, "path", None) == latest, timeout=30_000)
    assert paint.session.model.family == "pix2pix_unet"
    assert window.views.currentWidget() is paint.view

    # a newer latest.safetensors (what the run's next checkpoint does: an atomic replace) is loaded again
    loads = []
    train.load_model_requested.connect(lambda path, _options: loads.append(path))
    qtbot.wait(300)
    assert loads == []  # nothing new yet
    newer = run / "newer.tmp"
    shutil.copyfile(latest, newer)
    os.utime(newer, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    os.replace(newer, latest)
    qtbot.waitUntil(lambda: loads == [latest], timeout=10_000)
    view.follow.setChecked(False)  # no more reloads once the user turns it off
    os.utime(latest, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
    qtbot.wait(400)
    assert loads == [latest]


def test_presets_fill_the_fields_and_families_without_a_trainer_cannot_be_chosen(qtbot, tmp_path, settings, monkeypatch):
    from gui.app import create_application
    from gui.train import recipes
    from gui.train.workspace import TrainWorkspace

    class Preset:  # the shape of engine.training.presets.Preset
        name, family, title, description = "upscaler-textures", "pix2pix", "Translate my sketches", "A preset for the test."
        values = {"steps": 1234, "resolution": 64, "lr_d": 4e-4, "betas": [0.0, 0.9], "resize": "none"}

    monkeypatch.setattr(recipes, "engine_presets", lambda: [Preset()])
    create_application()
    settings.setValue("train/runs_folder", str(tmp_path / "runs"))
    workspace = TrainWorkspace(None, None, None, settings=settings)
    qtbot.addWidget(workspace.view)
    qtbot.addWidget(workspace.panel)
    try:
        panel = workspace.panel
        assert panel.recipe_combo.currentIndex() == 0 and panel.recipe.preset == "upscaler-textures"
        assert panel.steps.chosen() == 1234 and panel.resolution.chosen() == 64 and panel.lr_d.chosen() == 4e-4
        assert panel.batch.chosen() is None and panel.lr_g.text() == "family default"
        panel.batch.set_chosen(3)
        opts = recipes.build_options(panel.recipe, ("/d",), panel.chosen_values())
        assert (opts.steps, opts.batch, opts.betas, opts.preset, opts.extra) == (1234, 3, (0.0, 0.9), "upscaler-textures",
                                                                               {"resize": "none"})
        model = panel.recipe_combo.model()
        for i, recipe in enumerate(panel.recipes):
            assert model.item(i).isEnabled() == recipe.available == recipes.family_available(recipe.family)
        assert recipes.family_available("pix2pix") and not recipes.family_available("no-such-family")
        assert not panel.recipe.fine_tunes
        tuned = recipes.Recipe("pix2pix", "Fine-tune pix2pix on my pairs", "", "finetune-pix2pix", {})
        panel.recipes[0] = tuned
        panel.data_a.set_path(str(tmp_path))
        panel.start()
        assert "choose its checkpoint" in panel.message.text() and not workspace.session.checking
    finally:
        workspace.session.shutdown()


def test_loss_curves_ticks_smoothing_and_legend_clicks(qtbot):
    from PySide6.QtCore import Qt

    from gui.train.curves import LossCurves, log_ticks, nice_ticks, smooth

    ticks = nice_ticks(0.03, 2.9)
    assert ticks[0] >= 0.03 and ticks[-1] <= 2.9 and len(ticks) >= 3
    assert all(abs(round(t / (ticks[1] - ticks[0])) * (ticks[1] - ticks[0]) - t) < 1e-9 for t in ticks)
    assert log_ticks(-2.5, 1.2) == [-2.0, -1.0, 0.0, 1.0]
    assert smooth([4.0, 4.0, 4.0], 0.9) == pytest.approx([4.0, 4.0, 4.0])  # debiased: no ramp from zero
    assert smooth([1.0, 3.0], 0.0) == [1.0, 3.0]

    curves = LossCurves()
    qtbot.addWidget(curves)
    curves.resize(500, 260)
    curves.show()
    curves.add_records([log_record(s, 100) for s in (10, 20, 30)] + [{"kind": "event", "step": 30}])
    curves.add_records([log_record(20, 100, scale=2.0)])  # a resumed run logs step 20 again: it replaces 20 and 30
    assert curves.series["loss_d"][0] == [10, 20] and curves.series["loss_d"][1][1] == pytest.approx(2.0 / 1.4)
    image = curves.grab().toImage()
    assert not image.isNull()
    box = curves._legend_boxes["loss_l1"]
    qtbot.mouseClick(curves, Qt.MouseButton.LeftButton, pos=box.center().toPoint())
    assert "loss_l1" in curves.hidden and "loss_l1" not in curves._visible_series()
    qtbot.mouseClick(curves, Qt.MouseButton.LeftButton, pos=box.center().toPoint())
    assert not curves.hidden
    curves.add_records([log_record(s, 100) for s in (30, 40, 50)])
    assert curves.smoothed("loss_g_gan") == pytest.approx(smooth(curves.series["loss_g_gan"][1], curves.smoothing))
    curves.set_log_scale(True)
    curves.set_smoothing(0.0)
    for name, (steps, values) in curves._visible_series().items():
        assert steps == curves.series[name][0]
        assert values == pytest.approx([math.log10(v) for v in curves.series[name][1]])
    assert not curves.grab().toImage().isNull()


def test_a_run_process_that_dies_before_it_writes_its_status_is_reported_with_its_log(qtbot, workspace, tmp_path):
    session = workspace.session
    run = runfiles.create_run(tmp_path / "runs" / "crash", TrainOptions("pix2pix", steps=10))
    script = "import sys, time; time.sleep(1.5); print('error: the trainer could not start (test)'); sys.exit(1)"
    with open(run / runfiles.LOG, "ab") as log_file:
        session.processes[run] = subprocess.Popen([sys.executable, "-c", script], stdout=log_file, stderr=subprocess.STDOUT)
    session.refresh_runs()
    starting = {r.name: r for r in session.runs}["crash"]
    assert (starting.state, starting.message) == ("running", "starting…")  # ours, alive, no status.json yet
    messages = []
    session.message.connect(lambda text, error: messages.append((text, error)))
    qtbot.waitUntil(lambda: bool(messages), timeout=20_000)
    text, error = messages[0]
    assert error and "exit status 1" in text and "the trainer could not start (test)" in text
    assert not session.processes and {r.name: r.state for r in session.runs}["crash"] == "new"


def test_drawing_a_long_run_costs_few_qt_calls_and_none_is_protected(qtbot, workspace):
    """The installed PySide6 drops a reference to None per void Qt call on CPython 3.11 (see
    gui.refcount_guard), and one to True per signal emit: the plot must not make one call per
    point, and the workspace guards None, True and False."""
    from gui import refcount_guard
    from gui.train.curves import LossCurves

    if refcount_guard.needed():
        assert refcount_guard._applied
        assert min(sys.getrefcount(obj) for obj in (None, True, False)) > refcount_guard.RESERVE // 2
    curves = LossCurves()
    qtbot.addWidget(curves)
    curves.resize(800, 300)
    curves.add_records([log_record(step, 50_000) for step in range(10, 50_001, 10)])  # 5000 points a loss
    curves.grab()
    before = sys.getrefcount(None)
    curves.grab()
    assert abs(sys.getrefcount(None) - before) < 400  # not one call per point (3 x 5000 points here)
