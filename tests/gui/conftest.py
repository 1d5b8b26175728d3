"""Fixtures for GUI tests: offscreen Qt, a themed app, throwaway settings, real and fake engines."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings

from engine.errors import InputError
from engine.types import EngineState, ImageResult, LoadModelRequest, ModelSummary, TestPatternRequest
from engine.worker import Worker


@pytest.fixture
def settings(tmp_path):
    """QSettings in a temp ini file, so tests never touch the user's settings (nor its autosave folder)."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("autosave/folder", str(tmp_path / "recovery"))
    settings.setValue("models/load_starters", False)  # tests that want the starter models turn them on
    settings.sync()
    return settings


@pytest.fixture
def real_engine():
    """The real engine on the CPU (imports torch: fine in tests, never in gui/ modules)."""
    from engine.service import Engine

    engine = Engine(device="cpu")
    yield engine
    engine.shutdown()


class FakeEngine:
    """The engine's duck-typed API on a real :class:`engine.worker.Worker`, with a scripted handler.

    Requests: ``("block", x)`` waits until :attr:`release` is set, then returns ``x``;
    ``("fail", message)`` raises InputError(message); ``("value", x)`` returns ``x``;
    LoadModelRequest returns a ModelSummary unless the path contains "broken";
    TestPatternRequest returns a small gradient.
    """

    device_description = "Fake CPU (tests)"

    def __init__(self):
        self.release = threading.Event()
        self.started = threading.Event()
        self.shutdown_calls = 0
        self.worker = Worker(self._handle, "cpu", self.device_description)

    def _handle(self, request, ctx):
        if isinstance(request, TestPatternRequest):
            import numpy as np

            image = np.zeros((request.height, request.width, 3), np.uint8)
            image[..., 0] = np.linspace(0, 255, request.width, dtype=np.uint8)[None, :]
            ctx.progress(1.0, "done")
            return ImageResult(image=image, duration_s=0.001)
        if isinstance(request, LoadModelRequest):
            if "broken" in request.model.path:
                raise InputError(f"{request.model.path} is not a checkpoint GAN Studio can read (test).")
            return ModelSummary(path=request.model.path, family="spade", source_format="spade-official",
                                config={"label_nc": 182, "ngf": 64}, parameter_count=96_800_000,
                                networks=("netG",), capabilities=("synthesize",), notes=("a test model",))
        kind, value = request
        if kind == "block":
            self.started.set()
            ctx.progress(0.5, "half way")
            assert self.release.wait(10), "test forgot to release the fake engine"
            return value
        if kind == "fail":
            raise InputError(value)
        if kind == "crash":
            raise RuntimeError(value)
        return value

    def submit(self, request, channel=None, progress=None):
        return self.worker.submit(request, channel, progress)

    def cancel(self, future):
        return self.worker.cancel(future)

    def cancel_channel(self, channel):
        self.worker.cancel_channel(channel)

    def state(self) -> EngineState:
        return self.worker.state()

    def shutdown(self):
        self.shutdown_calls += 1
        self.release.set()
        self.worker.shutdown()


@pytest.fixture
def fake_engine():
    engine = FakeEngine()
    yield engine
    engine.release.set()
    engine.worker.shutdown()


@pytest.fixture
def make_window(qtbot, settings, tmp_path):
    """Build a MainWindow on an engine (closed and its engine shut down at teardown). Autosaves go
    to ``tmp_path/recovery``, never to the user's folder."""
    from gui.app import create_application
    from gui.main_window import MainWindow

    create_application()

    def make(engine, **kwargs):
        kwargs.setdefault("settings", settings)
        kwargs.setdefault("confirm_close", False)
        kwargs.setdefault("load_starters", False)  # the starter-model tests turn them on
        kwargs.setdefault("recovery_folder", str(tmp_path / "recovery"))
        window = MainWindow(engine, **kwargs)
        qtbot.addWidget(window)
        return window

    return make


@pytest.fixture(autouse=True)
def _no_unanswered_options_dialog(monkeypatch):
    """A modal options dialog would wait forever offscreen: tests that expect one replace its
    ``exec`` (or ModelLoader.ask_options); any other fails the load at once instead of hanging."""
    from gui.dialogs.options_dialog import OptionsDialog

    def refuse(dialog):
        raise AssertionError(f"a test opened the options dialog unanswered: {dialog.question.summary}")

    monkeypatch.setattr(OptionsDialog, "exec", refuse)


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread(qapp):
    """Collect each test's cyclic garbage (widgets, sessions) here, on the main thread, and keep the
    automatic collector off, so it can never destroy Qt objects on the engine's worker thread."""
    import gc

    from gui import gc_guard

    gc_guard.install(qapp)
    yield
    gc.collect()
