"""Start-up: the window shows before torch is imported; the engine starts behind it and requests queue."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from engine.deferred import QUEUED_ID_BASE, DeferredEngine
from engine.errors import EngineError

ROOT = Path(__file__).resolve().parents[2]


def test_building_and_showing_the_main_window_imports_no_torch(tmp_path):
    """In a fresh process: build MainWindow on a DeferredEngine, show it until its first frame, and
    check that neither torch nor engine.service was imported on the way."""
    code = textwrap.dedent(f"""
        import sys
        from PySide6.QtCore import QSettings, QTimer
        from engine.deferred import DeferredEngine
        from gui.app import create_application
        from gui.main_window import MainWindow

        app = create_application()
        engine = DeferredEngine(lambda: 1 / 0, start=False)  # never started: the window must not need it
        settings = QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat)
        window = MainWindow(engine, settings=settings, confirm_close=False, recovery_folder={str(tmp_path / 'rec')!r})
        frames = []
        window.first_frame.connect(lambda: (frames.append(1), app.quit()))
        window.show()
        QTimer.singleShot(20000, app.quit)
        app.exec()
        print("FRAME", bool(frames))
        print("TORCH", sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.") or m == "engine.service"))
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "FRAME True" in out.stdout, out.stdout + out.stderr
    assert "TORCH []" in out.stdout, out.stdout


def test_requests_queue_until_the_engine_is_ready_then_run_in_order(fake_engine):
    gate = threading.Event()

    def factory():
        assert gate.wait(10)
        return fake_engine

    engine = DeferredEngine(factory)
    assert engine.starting
    progress = []
    first = engine.submit(("value", 1), channel="a", progress=progress.append)
    second = engine.submit(("value", 2), channel="b")
    assert QUEUED_ID_BASE <= first.job_id < second.job_id < 0
    assert engine.state().queue_length == 2 and not first.done()
    gate.set()
    assert first.result(10) == 1 and second.result(10) == 2
    assert not engine.starting
    later = engine.submit(("value", 3))
    assert later.result(10) == 3 and later.job_id > 0  # straight to the engine now
    engine.shutdown()
    assert fake_engine.shutdown_calls == 1


def test_a_queued_request_can_be_cancelled_before_the_engine_is_ready(fake_engine):
    gate = threading.Event()
    engine = DeferredEngine(lambda: (gate.wait(10), fake_engine)[1])
    kept = engine.submit(("value", "kept"), channel="keep")
    dropped = engine.submit(("value", "dropped"), channel="drop")
    engine.cancel_channel("drop")
    assert dropped.cancelled()
    gate.set()
    assert kept.result(10) == "kept"
    engine.shutdown()


def test_an_engine_that_cannot_start_fails_every_request_with_a_message():
    def factory():
        raise RuntimeError("no CUDA device")

    engine = DeferredEngine(factory, start=False)
    queued = engine.submit(("value", 1))
    engine.start()
    with pytest.raises(EngineError, match="could not start.*no CUDA device"):
        queued.result(10)
    with pytest.raises(EngineError):
        engine.submit(("value", 2)).result(1)
    assert engine.state().stopped and engine.device_description == "not available"


def test_the_window_says_starting_engine_and_runs_a_queued_self_test(qtbot, make_window, fake_engine, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: shown.append((title, text)))
    gate = threading.Event()
    engine = DeferredEngine(lambda: (gate.wait(10), fake_engine)[1])
    window = make_window(engine)
    window.poll_engine_state()
    assert "starting engine" in window.engine_label.text()
    assert "starting" in window.device_label.text()
    handle = window.run_self_test()  # queued while the engine starts
    assert handle.job_id < 0
    gate.set()
    qtbot.waitUntil(lambda: window.document.has_image, timeout=10000)
    window.poll_engine_state()
    assert "starting" not in window.engine_label.text()
    assert window.device_label.text() == f"Device: {fake_engine.device_description}"
    assert shown == []


def test_the_window_tells_why_the_engine_did_not_start(qtbot, make_window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: shown.append((title, text)))
    engine = DeferredEngine(lambda: (_ for _ in ()).throw(RuntimeError("torch is missing")))
    engine.wait_ready(10)
    window = make_window(engine)
    window.poll_engine_state()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert "torch is missing" in shown[0][1]
    assert "not available" in window.device_label.text()
