"""The Upscale workspace in the main window, on the real engine with tiny random SRVGG models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from engine.imageio import read_image, write_png
from gui.upscale.session import NO_IMAGE_TEXT, NO_MODEL_TEXT
from tests.helpers import save_tiny_upscaler

SCALE = 2


@pytest.fixture(scope="module")
def model_paths(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("upscale_models")
    return (str(save_tiny_upscaler(folder / "psnr.safetensors", 0, SCALE)),
            str(save_tiny_upscaler(folder / "gan.safetensors", 1, SCALE)))


def _image(h: int = 12, w: int = 10, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)


@pytest.fixture
def window(make_window, real_engine):
    return make_window(real_engine)


def _load(qtbot, window, path: str):
    workspace = window.workspace("Upscale")
    count = len(workspace.session.models)
    window.model_loader.load(path)
    qtbot.waitUntil(lambda: len(workspace.session.models) > count, timeout=20_000)
    return workspace


def _run(qtbot, session):
    assert session.run()
    qtbot.waitUntil(lambda: not session.is_running, timeout=20_000)
    return session.last


def test_loaded_upscale_model_lands_in_the_upscale_workspace(qtbot, window, model_paths):
    workspace = _load(qtbot, window, model_paths[0])
    assert workspace.session.model.path == model_paths[0]
    assert window.views.currentWidget() is workspace.view
    assert window.panels["Upscale"] is workspace.panel
    assert workspace.panel.model_combo.currentData() == model_paths[0]
    assert workspace.panel.scale_combo.currentText().startswith(f"×{SCALE}")
    assert window.workspace("Paint").session.model is None  # not a paint model

    _load(qtbot, window, model_paths[1])
    combo = workspace.panel.model_combo
    assert [combo.itemData(i) for i in range(combo.count())] == [model_paths[1], model_paths[0]]  # newest first


def test_run_apply_and_undo(qtbot, window, model_paths):
    original = _image()
    window.document.replace_image(original, text="Open", new_document=True)
    workspace = _load(qtbot, window, model_paths[0])
    session, panel = workspace.session, workspace.panel

    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.last is not None, timeout=20_000)
    record = session.last
    assert record.image.shape == (original.shape[0] * SCALE, original.shape[1] * SCALE, 3)
    assert workspace.view.view.comparing and panel.apply_button.isEnabled()
    assert "Done" in panel.message.text()

    # the split follows a drag on the view and the slider under it
    view = workspace.view.view
    view.fit_to_window()
    x = view.mapFromScene(view.sceneRect().left() + view.sceneRect().width() * 0.25, 1).x()
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, view.viewport().height() // 2))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, view.viewport().height() // 2))
    assert view.split == pytest.approx(0.25, abs=0.05)
    assert workspace.view.split_slider.value() == pytest.approx(250, abs=50)
    workspace.view.split_slider.setValue(800)
    assert view.split == pytest.approx(0.8)

    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    applied = window.document.composite()
    assert applied.shape[:2] == record.image.shape[:2]
    assert np.array_equal(applied[:, :, :3], record.image) and session.last is None
    assert window.document.is_modified

    window.undo_action.trigger()
    assert np.array_equal(window.document.composite()[:, :, :3], original)
    window.redo_action.trigger()
    assert np.array_equal(window.document.composite()[:, :, :3], record.image)


def test_apply_refuses_a_result_of_an_image_that_changed_since(qtbot, window, model_paths):
    window.document.replace_image(_image(), text="Open", new_document=True)
    workspace = _load(qtbot, window, model_paths[0])
    record = _run(qtbot, workspace.session)
    assert record is not None
    other = _image(seed=7)
    window.document.replace_image(other, text="Open another", new_document=True)
    assert workspace.session.result_is_stale
    assert not workspace.session.apply()
    assert "changed" in workspace.panel.message.text()
    assert np.array_equal(window.document.composite()[:, :, :3], other)  # the user's image stays


def test_cancel_leaves_the_image_and_the_engine_ready(qtbot, window, model_paths):
    original = _image(40, 40)
    window.document.replace_image(original, text="Open", new_document=True)
    workspace = _load(qtbot, window, model_paths[0])
    session = workspace.session
    session.set_tile(8)
    assert session.run()
    assert workspace.panel.cancel_button.isEnabled() and not workspace.panel.run_button.isEnabled()
    qtbot.mouseClick(workspace.panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not session.is_running, timeout=20_000)
    assert session.last is None and "cancelled" in session.last_message
    assert np.array_equal(window.document.composite()[:, :, :3], original)
    assert workspace.panel.run_button.isEnabled()
    assert _run(qtbot, session) is not None  # the engine carries on


def test_no_image_or_no_model_says_so(qtbot, window, model_paths):
    workspace = window.workspace("Upscale")
    session = workspace.session
    assert not session.run() and session.last_message == NO_MODEL_TEXT
    assert not workspace.panel.run_button.isEnabled()
    _load(qtbot, window, model_paths[0])
    assert not window.document.has_image
    assert not session.run()
    assert workspace.panel.message.text() == NO_IMAGE_TEXT and not session.is_running


def test_batch_writes_readable_images_and_reports_the_bad_one(qtbot, window, model_paths, tmp_path):
    workspace = _load(qtbot, window, model_paths[0])
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    write_png(source / "a.png", _image(6, 5))
    write_png(source / "b.png", _image(4, 4, seed=3))
    (source / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    panel = workspace.panel
    panel.source_edit.setText(str(source))
    panel.output_edit.setText(str(target))
    qtbot.mouseClick(panel.batch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: workspace.session.last_batch is not None, timeout=20_000)
    result = workspace.session.last_batch
    assert sorted(Path(o).name for _s, o in result.written) == ["a.png", "b.png"]
    assert [Path(s).name for s, _why in result.skipped] == ["bad.png"]
    assert read_image(target / "a.png").shape == (12, 10, 3)
    assert not (target / "bad.png").exists()
    assert "bad.png" in panel.message.text() and "2 of 3" in panel.message.text()
    rows = [panel.batch_list.item(i).text() for i in range(panel.batch_list.count())]
    assert any("bad.png" in row and "could not be read" in row for row in rows)
    assert panel.batch_button.isEnabled() and not panel.batch_cancel_button.isEnabled()

    # same folder in and out: refused before anything reaches the engine
    assert not workspace.session.run_batch(str(source), str(source))
    assert "input folder" in panel.message.text()

    # cancel a batch
    workspace.session.last_batch = None
    assert workspace.session.run_batch(str(source), str(tmp_path / "out2"))
    qtbot.mouseClick(panel.batch_cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not workspace.session.is_batch_running, timeout=20_000)
    assert "cancelled" in panel.message.text() and workspace.session.last_batch is None


def test_interpolation_alpha_0_and_1_equal_the_two_models(qtbot, window, model_paths):
    window.document.replace_image(_image(), text="Open", new_document=True)
    workspace = _load(qtbot, window, model_paths[0])
    session, panel = workspace.session, workspace.panel
    only_first = _run(qtbot, session).image
    _load(qtbot, window, model_paths[1])
    only_second = _run(qtbot, session).image
    assert not np.array_equal(only_first, only_second)  # the checks below can fail

    panel.model_combo.setCurrentIndex(panel.model_combo.findData(model_paths[0]))
    assert session.model.path == model_paths[0]
    assert panel.blend_check.isEnabled()
    panel.blend_check.setChecked(True)
    assert session.blend_model.path == model_paths[1]
    results = {}
    for value in (0, 100, 50):
        panel.alpha_slider.setValue(value)
        results[value] = _run(qtbot, session).image
    assert np.array_equal(results[0], only_first)
    assert np.array_equal(results[100], only_second)
    assert not np.array_equal(results[50], only_first) and not np.array_equal(results[50], only_second)
    assert "blend" in session.last.describe()
    panel.blend_check.setChecked(False)
    assert session.blend_model is None and not panel.alpha_slider.isEnabled()
