"""The main window: self-test on a real engine, opening images and models, settings, undo, closing."""

from __future__ import annotations

import sys
import threading
import types

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

import engine
from engine.errors import ImageReadError
from gui.panels.models import NO_MODEL_TEXT


@pytest.fixture
def captured_warnings(monkeypatch):
    """Replace QMessageBox.warning (a modal dialog) with a recorder."""
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: shown.append((title, text)))
    return shown


@pytest.fixture
def fake_imageio(monkeypatch):
    """An engine.imageio stand-in: files named '*broken*' are unreadable, others are 4x6 gradients."""
    written = {}

    def read_image(path):
        if "broken" in str(path):
            raise ImageReadError(f"{path} is not an image GAN Studio can read (it may be truncated).")
        image = np.zeros((4, 6, 3), np.uint8)
        image[..., 1] = 200
        return image

    def write_png(path, array, text_chunks=None):
        if "readonly" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        written[str(path)] = (np.array(array), dict(text_chunks or {}))

    module = types.SimpleNamespace(read_image=read_image, write_png=write_png, written=written)
    monkeypatch.setitem(sys.modules, "engine.imageio", module)
    monkeypatch.setattr(engine, "imageio", module, raising=False)
    return module


def test_self_test_on_real_engine_shows_pattern_and_status(qtbot, make_window, real_engine):
    window = make_window(real_engine)
    window.show()
    assert "No model loaded yet" in window.banner.label.text() and window.banner.isVisibleTo(window)
    assert real_engine.device_description in window.device_label.text()

    delivered_on = []
    window.bridge.finished.connect(lambda *_: delivered_on.append(threading.current_thread()))
    window.self_test_action.trigger()
    qtbot.waitUntil(lambda: window.document.has_image, timeout=30_000)

    assert delivered_on == [threading.main_thread()]
    assert window.canvas.has_image and window.canvas.image_size == (512, 384)
    assert "self-test passed" in window.statusBar().currentMessage()
    window.poll_engine_state()
    qtbot.waitUntil(lambda: "idle" in window.engine_label.text(), timeout=10_000)
    assert "ms" in window.last_job_label.text() or " s" in window.last_job_label.text()
    assert window.undo_action.isEnabled()  # the self-test result is an undoable step


def test_open_unreadable_image_shows_message_and_keeps_current_image(qtbot, make_window, fake_engine,
                                                                      fake_imageio, captured_warnings, tmp_path):
    window = make_window(fake_engine)
    assert window.files.open_image(str(tmp_path / "good.png"))
    before = window.document.composite().copy()
    steps = window.document.undo_stack.count()

    assert not window.files.open_image(str(tmp_path / "broken.png"))

    assert len(captured_warnings) == 1
    title, text = captured_warnings[0]
    assert title == "Could not open image" and "broken.png" in text and "truncated" in text
    np.testing.assert_array_equal(window.document.composite(), before)
    assert window.document.undo_stack.count() == steps
    assert window.document.path.endswith("good.png")


def test_open_garbage_file_with_real_imageio(qtbot, make_window, fake_engine, captured_warnings, tmp_path):
    pytest.importorskip("engine.imageio")
    garbage = tmp_path / "not_really.png"
    garbage.write_bytes(b"this is not a png at all")
    window = make_window(fake_engine)
    assert not window.files.open_image(str(garbage))
    assert captured_warnings and "not_really.png" in captured_warnings[0][1]
    assert not window.document.has_image


def test_open_image_then_undo_redo(qtbot, make_window, fake_engine, fake_imageio, tmp_path):
    window = make_window(fake_engine)
    window.document.replace_image(np.full((4, 6, 3), 9, np.uint8), text="Engine self-test", new_document=True)
    window.files.open_image(str(tmp_path / "photo.png"))
    assert window.document.composite()[0, 0, 1] == 200

    window.undo_action.trigger()
    assert window.document.composite()[0, 0, 1] == 9
    assert window.document.path is None
    window.redo_action.trigger()
    assert window.document.composite()[0, 0, 1] == 200
    assert window.document.path.endswith("photo.png")
    assert window.canvas.image_size == (6, 4)


def test_save_writes_png_and_marks_clean(qtbot, make_window, fake_engine, fake_imageio, captured_warnings, tmp_path):
    window = make_window(fake_engine)
    window.files.open_image(str(tmp_path / "photo.jpg"))
    assert window.document.is_modified and window.isWindowModified()
    target = str(tmp_path / "out.png")
    assert window.files.save_image(target)
    array, chunks = fake_imageio.written[target]
    assert array.shape == (4, 6, 3) and array[0, 0, 1] == 200
    assert "GAN Studio" in chunks["Software"]
    assert not window.document.is_modified and not window.isWindowModified()

    assert not window.files.save_image(str(tmp_path / "readonly" / "x.png"))
    assert captured_warnings and captured_warnings[-1][0] == "Could not save image"
    assert window.document.path == target  # a failed save changes nothing


def test_open_model_shows_summary_and_hides_no_model_banner(qtbot, make_window, fake_engine, captured_warnings):
    window = make_window(fake_engine)
    window.show()
    assert window.models_panel.status_label.text() == NO_MODEL_TEXT
    window.model_loader.load("/models/coco/latest_net_G.pth")
    qtbot.waitUntil(lambda: window.models_panel.has_model, timeout=10_000)

    summary = window.models_panel.current_summary()
    assert summary.family == "spade"
    details = window.models_panel.details_label.text()
    assert "spade-official" in details and "96.8 M" in details and "a test model" in details
    assert '"label_nc": 182' in window.models_panel.config_view.toPlainText()
    assert not window.banner.isVisibleTo(window)
    assert captured_warnings == []


def test_open_model_failure_shows_the_engine_message(qtbot, make_window, fake_engine, captured_warnings):
    window = make_window(fake_engine)
    window.model_loader.load("/models/broken.pth")
    qtbot.waitUntil(lambda: bool(captured_warnings), timeout=10_000)
    title, text = captured_warnings[0]
    assert title == "Could not load model"
    assert "/models/broken.pth is not a checkpoint GAN Studio can read" in text
    assert not window.models_panel.has_model
    assert "Could not load broken.pth" in window.models_panel.status_label.text()


def test_model_paths_from_the_command_line_are_loaded(qtbot, make_window, fake_engine):
    window = make_window(fake_engine, model_paths=["/models/a.safetensors"])
    qtbot.waitUntil(lambda: window.models_panel.has_model, timeout=10_000)
    assert window.models_panel.summaries[0].path == "/models/a.safetensors"


def test_settings_round_trip_layout_and_recent_files(qtbot, make_window, fake_engine, fake_imageio, tmp_path):
    path = str(tmp_path / "settings.ini")
    first = make_window(fake_engine, settings=QSettings(path, QSettings.Format.IniFormat))
    first.show()
    first.resize(760, 620)  # the offscreen screen is 800x800; restoreGeometry clamps to it
    first.docks["Style"].hide()
    first.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, first.docks["Models"])
    first.files.open_image(str(tmp_path / "one.png"))
    first.files.open_image(str(tmp_path / "two.png"))
    assert first.height() == 620
    first.close()
    assert fake_engine.shutdown_calls == 1

    second = make_window(fake_engine, settings=QSettings(path, QSettings.Format.IniFormat))
    second.show()
    assert second.height() == 620  # (a fresh window is taller; the width is clamped to the small screen)
    assert not second.docks["Style"].isVisibleTo(second)
    assert second.dockWidgetArea(second.docks["Models"]) == Qt.DockWidgetArea.RightDockWidgetArea
    second.rebuild_recent_menu()
    labels = [a.text() for a in second.recent_menu.actions() if a.text()]
    assert labels[:2] == ["two.png  (image)", "one.png  (image)"]


def test_recent_file_that_vanished_is_reported_and_removed(qtbot, make_window, fake_engine, captured_warnings, tmp_path):
    window = make_window(fake_engine)
    gone = str(tmp_path / "gone.png")
    window.settings.add_recent_file(gone)
    window.files.open_recent(gone)
    assert captured_warnings and "no longer exists" in captured_warnings[0][1]
    assert gone not in window.settings.recent_files()


def test_view_menu_toggles_docks(qtbot, make_window, fake_engine):
    window = make_window(fake_engine)
    window.show()
    assert set(window.dock_actions) == {"Models", "Layers", "History", "Paint", "Style", "Latent", "Inpaint", "Upscale",
                                        "Train"}
    before = window.docks["Train"].isVisibleTo(window)  # (hidden unless its workspace is shown)
    window.dock_actions["Train"].trigger()
    assert window.docks["Train"].isVisibleTo(window) != before
    window.dock_actions["Train"].trigger()
    assert window.docks["Train"].isVisibleTo(window) == before


def test_close_asks_before_discarding_unsaved_work(qtbot, make_window, fake_engine, monkeypatch):
    window = make_window(fake_engine, confirm_close=True)
    window.show()
    window.document.replace_image(np.zeros((2, 2, 3), np.uint8))
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))

    assert not window.close()  # Cancel: the window stays, the engine keeps running
    assert window.isVisible() and fake_engine.shutdown_calls == 0
    assert window.close()  # Discard
    assert fake_engine.shutdown_calls == 1


def test_images_from_the_command_line_open_and_save_with_real_imageio(qtbot, make_window, fake_engine, tmp_path):
    imageio = pytest.importorskip("engine.imageio")
    from PIL import Image

    source = tmp_path / "start.png"
    pixels = np.zeros((6, 9, 3), np.uint8)
    pixels[:, :, 2] = 170
    Image.fromarray(pixels).save(source)
    window = make_window(fake_engine, image_paths=[str(source)])
    qtbot.waitUntil(lambda: window.document.has_image, timeout=10_000)
    assert window.canvas.image_size == (9, 6)

    target = tmp_path / "saved.png"
    assert window.files.save_image(str(target))
    np.testing.assert_array_equal(imageio.read_image(str(target))[..., :3], pixels)
