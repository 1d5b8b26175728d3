"""A real crash: a GAN Studio process autosaves, is killed with SIGKILL, and the next window recovers it.

The child process (this module run as ``python -m tests.gui.test_crash_recovery FOLDER SETTINGS``)
builds a MainWindow on the FakeEngine, makes a document with a few layers, autosaves it, prints
``AUTOSAVED {json}`` once the autosave and its lock are on disk, makes one more edit that is never
autosaved, and sleeps until it is killed. Nothing in it cleans up: only the kill ends it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from gui.autosave import find_recoverable

REPO_ROOT = Path(__file__).resolve().parents[2]
READY = "AUTOSAVED "
CHILD_START_TIMEOUT_S = 60  # start-up of a fresh Python + Qt on a slow, busy CI machine
KILL_TIMEOUT_S = 10


def crash_layers():
    """The child's layers: (name, kind, pixels), the same in both processes (a fixed seed)."""
    rng = np.random.default_rng(1234)
    photo = rng.integers(0, 256, (16, 24, 4), dtype=np.uint8)
    photo[..., 3] = 255
    labels = rng.integers(0, 5, (16, 24), dtype=np.int32)
    mask = rng.random((16, 24)) > 0.5
    return [("Photo", "image", photo), ("Labels", "labels", labels), ("Hole", "mask", mask)]


def child_main(folder: str, settings_path: str) -> None:  # pragma: no cover - runs in the child process
    import time

    from PySide6.QtCore import QSettings

    from engine.document import Document, Layer
    from gui.app import create_application
    from gui.main_window import MainWindow
    from tests.gui.conftest import FakeEngine

    create_application()
    settings = QSettings(settings_path, QSettings.Format.IniFormat)
    window = MainWindow(FakeEngine(), settings=settings, confirm_close=False, recovery_folder=folder)
    window.files.check_recovery()  # what its start-up timer does; the folder is empty, so nothing is asked
    layers = [Layer(name=name, kind=kind, pixels=pixels) for name, kind, pixels in crash_layers()]
    window.document.add_layer(layers[0], new_document=Document(width=24, height=16))
    for layer in layers[1:]:
        window.document.add_layer(layer)
    window.document.set_layer_opacity(layers[0].id, 0.25)
    if not (window.files.autosaver.autosave_now() and window.files.autosaver.wait(30)):
        print("AUTOSAVE FAILED", flush=True)
        sys.exit(3)
    info = {"ora": str(window.files.autosaver.ora_path), "lock": str(window.files.autosaver.lock_path),
            "ids": [layer.id for layer in layers]}
    print(READY + json.dumps(info), flush=True)
    window.document.delete_layer(layers[2].id)  # after the last autosave: lost in the crash
    time.sleep(120)  # killed long before this ends


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _wait_for_ready(process: subprocess.Popen, lines: queue.Queue) -> dict:
    output = []
    while True:
        try:
            line = lines.get(timeout=CHILD_START_TIMEOUT_S)
        except queue.Empty:
            pytest.fail(f"the child did not autosave within {CHILD_START_TIMEOUT_S} s:\n{''.join(output)}")
        if line is None:
            process.wait(KILL_TIMEOUT_S)
            pytest.fail(f"the child ended (exit {process.returncode}) before autosaving:\n{''.join(output)}")
        if line.startswith(READY):
            return json.loads(line[len(READY):])
        output.append(line)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_kill_9_after_an_autosave_then_the_next_window_recovers_it(qtbot, make_window, tmp_path, monkeypatch,
                                                                    fake_engine):
    folder = tmp_path / "recovery"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.gui.test_crash_recovery", str(folder), str(tmp_path / "child-settings.ini")],
        cwd=str(REPO_ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        info = _wait_for_ready(process, lines)
        assert Path(info["ora"]).exists() and Path(info["lock"]).exists()
        assert find_recoverable(folder) == []  # the child still runs: its autosave is not offered
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(KILL_TIMEOUT_S)  # reaped, so its pid is really gone
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL

    assert [r.ora for r in find_recoverable(folder)] == [Path(info["ora"])]
    offers = []

    def accept(parent, title, text, *args, **kwargs):
        offers.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", accept)
    window = make_window(fake_engine, recovery_folder=str(folder))
    qtbot.waitUntil(lambda: window.document.document is not None, timeout=5_000)
    assert len(offers) == 1 and "did not close properly" in offers[0] and "'Untitled'" in offers[0]

    recovered = window.document.document
    assert (recovered.width, recovered.height) == (24, 16)
    assert [layer.id for layer in recovered.layers] == info["ids"]  # the deleted layer is back: it was autosaved
    for layer, (name, kind, pixels) in zip(recovered.layers, crash_layers(), strict=True):
        assert (layer.name, layer.kind) == (name, kind)
        assert layer.pixels.dtype == pixels.dtype and np.array_equal(layer.pixels, pixels), name
    assert recovered.layers[0].opacity == 0.25
    assert window.isWindowModified() and window.document.path is None
    assert not Path(info["ora"]).exists() and not Path(info["lock"]).exists()  # taken over by this window
    window.close()
    assert [p for p in os.listdir(folder)] == []


if __name__ == "__main__":  # the crashing child
    child_main(sys.argv[1], sys.argv[2])
