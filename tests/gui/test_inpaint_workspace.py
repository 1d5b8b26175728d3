"""The Inpaint workspace in the main window, on the real engine with a tiny random context encoder:
the model lands here, the mask is painted with the mouse and edited undoably, a fill equals a
direct engine call and changes only masked pixels, Apply is one exact undo step, and the refusals
(no image, empty mask) submit nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.inpaint_types import InpaintRequest
from engine.types import ModelRef
from gui.inpaint import masks
from gui.inpaint.session import EMPTY_MASK_TEXT, NO_IMAGE_TEXT
from tests.helpers import save_tiny_inpainter

H, W = 48, 64


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    return str(save_tiny_inpainter(tmp_path_factory.mktemp("inpaint_models") / "ce.safetensors"))


def _image(seed: int = 0) -> np.ndarray:
    """A smooth gradient with a little noise (so fills differ from the original)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:H, 0:W]
    image = np.stack([xs * 255 // (W - 1), ys * 255 // (H - 1), np.full_like(xs, 90)], axis=-1)
    return np.clip(image + rng.integers(-20, 20, image.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def window(make_window, real_engine):
    window = make_window(real_engine)
    window.resize(1100, 700)
    window.show()
    return window


def _load(qtbot, window, path: str):
    workspace = window.workspace("Inpaint")
    count = len(workspace.session.models)
    window.model_loader.load(path)
    qtbot.waitUntil(lambda: len(workspace.session.models) > count, timeout=20_000)
    return workspace


def _open_image(window, image=None):
    image = _image() if image is None else image
    window.document.replace_image(image, text="Open", new_document=True)
    return image


def _drag(qtbot, view, points, button=Qt.MouseButton.LeftButton):
    viewport = view.viewport()
    to_view = [view.mapFromScene(x, y) for x, y in points]
    qtbot.mousePress(viewport, button, pos=to_view[0])
    for p in to_view[1:]:
        qtbot.mouseMove(viewport, p)
    qtbot.mouseRelease(viewport, button, pos=to_view[-1])


def _rect_mask(session, x0, y0, x1, y1):
    """Mask a rectangle through the session (one undo step after the layer's own)."""
    session.set_tool("rect")
    session.begin_stroke(x0, y0)
    session.move_stroke(x1 - 1, y1 - 1)
    session.end_stroke(x1 - 1, y1 - 1)
    expected = np.zeros((H, W), bool)
    expected[y0:y1, x0:x1] = True
    assert np.array_equal(session.mask(), expected)
    return expected


def _fill(qtbot, session):
    assert session.run()
    qtbot.waitUntil(lambda: not session.is_running, timeout=20_000)
    return session.last


# ----------------------------------------------------------------------------------- mask operations


def test_grow_and_shrink_are_disc_dilation_and_erosion():
    rng = np.random.default_rng(0)
    mask = rng.random((30, 40)) < 0.04
    for radius in (1, 3, 6):
        ys, xs = np.mgrid[-radius:radius + 1, -radius:radius + 1]
        disc = [(dy, dx) for dy, dx in zip(ys.ravel(), xs.ravel()) if dx * dx + dy * dy <= radius * radius]
        padded = np.pad(mask, radius)
        grown = np.zeros_like(mask)
        for dy, dx in disc:
            grown |= padded[radius + dy:radius + dy + 30, radius + dx:radius + dx + 40]
        assert np.array_equal(masks.grow(mask, radius), grown)
        outside_masked = np.pad(mask, radius, constant_values=True)
        shrunk = np.ones_like(mask)
        for dy, dx in disc:
            shrunk &= outside_masked[radius + dy:radius + dy + 30, radius + dx:radius + dx + 40]
        assert np.array_equal(masks.shrink(mask, radius), shrunk)
    square = np.zeros((20, 20), bool)
    square[5:15, 5:15] = True
    assert np.array_equal(masks.shrink(masks.grow(square, 2), 2), square)  # closing keeps a square
    assert not masks.shrink(square, 5).any() and masks.shrink(square, 4).sum() == 4
    assert np.array_equal(masks.invert(masks.invert(square)), square)


# ----------------------------------------------------------------------------------- the workspace


def test_inpaint_model_lands_in_the_inpaint_workspace(qtbot, window, model_path):
    workspace = _load(qtbot, window, model_path)
    session, panel = workspace.session, workspace.panel
    assert session.model.path == model_path
    assert window.views.currentWidget() is workspace.view
    assert window.panels["Inpaint"] is panel
    assert panel.model_combo.currentData() == model_path
    assert "context encoder 32 px" in panel.model_combo.currentText()
    assert window.workspace("Paint").session.model is None and window.workspace("Upscale").session.model is None


def test_paint_the_mask_with_the_mouse_and_undo(qtbot, window, model_path):
    _open_image(window)
    workspace = _load(qtbot, window, model_path)
    session, canvas = workspace.session, workspace.view.canvas
    canvas.fit_to_window()
    stack = window.document.undo_stack
    start = stack.index()

    session.set_tool("brush")
    session.set_brush_size(6)
    _drag(qtbot, canvas, [(10, 24), (20, 24), (30, 24)])
    mask = session.mask()
    assert mask is not None and mask.dtype == bool and mask.shape == (H, W)
    assert mask[24, 10] and mask[24, 20] and mask[24, 30] and not mask[5, 5] and not mask[24, 45]
    assert stack.index() == start + 2  # "New mask layer", then the stroke
    assert window.document.document.top("mask") is not None
    overlay = canvas.overlay._rgba
    assert overlay[24, 20, 3] > 0 and overlay[5, 5, 3] == 0  # the overlay shows the mask

    # the right button removes, with any tool
    _drag(qtbot, canvas, [(20, 24), (20, 25)], button=Qt.MouseButton.RightButton)
    assert not session.mask()[24, 20] and session.mask()[24, 10]

    # a lasso fills the polygon drawn
    session.set_tool("lasso")
    _drag(qtbot, canvas, [(40, 5), (60, 5), (60, 20), (40, 20)])
    assert session.mask()[12, 50] and not session.mask()[30, 50]

    stroke_mask = session.mask().copy()
    session.set_tool("rect")
    _drag(qtbot, canvas, [(2, 35), (12, 45)])
    assert session.mask()[40, 7] and not stroke_mask[40, 7]
    window.undo_action.trigger()
    assert np.array_equal(session.mask(), stroke_mask)
    for _ in range(3):
        window.undo_action.trigger()
    assert not session.mask().any()
    window.undo_action.trigger()  # and the layer itself
    assert session.mask() is None and stack.index() == start


def test_grow_shrink_invert_clear_are_undoable(qtbot, window, model_path):
    _open_image(window)
    workspace = _load(qtbot, window, model_path)
    session, panel = workspace.session, workspace.panel
    square = _rect_mask(session, 20, 15, 40, 30)

    panel.grow_spin.setValue(3)
    qtbot.mouseClick(panel.grow_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(session.mask(), masks.grow(square, 3))
    qtbot.mouseClick(panel.shrink_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(session.mask(), masks.shrink(masks.grow(square, 3), 3))
    qtbot.mouseClick(panel.invert_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(session.mask(), ~masks.shrink(masks.grow(square, 3), 3))
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert not session.mask().any() and not panel.clear_button.isEnabled()

    for expected in (~masks.shrink(masks.grow(square, 3), 3), masks.shrink(masks.grow(square, 3), 3),
                     masks.grow(square, 3), square):
        window.undo_action.trigger()
        assert np.array_equal(session.mask(), expected)
    window.redo_action.trigger()
    assert np.array_equal(session.mask(), masks.grow(square, 3))
    assert np.array_equal(workspace.view.canvas.overlay._rgba[:, :, 3] > 0, masks.grow(square, 3))


def test_fill_equals_the_engine_apply_changes_only_masked_pixels_and_undo_restores(qtbot, window, model_path,
                                                                                  real_engine):
    original = _open_image(window)
    workspace = _load(qtbot, window, model_path)
    session, panel, view = workspace.session, workspace.panel, workspace.view
    mask = _rect_mask(session, 20, 15, 36, 30)
    panel.feather_spin.setValue(3)

    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.last is not None, timeout=20_000)
    record = session.last
    assert "Done" in panel.message.text() and panel.apply_button.isEnabled()
    assert view.mode == "compare" and view.compare.comparing

    direct = real_engine.submit(InpaintRequest(model=ModelRef(model_path), image=original, mask=mask,
                                               feather=3)).result(timeout=20)
    assert np.array_equal(record.image[:, :, :3], direct.image)
    assert np.array_equal(record.image[~mask][:, :3], original[~mask])  # only inside the mask
    assert not np.array_equal(record.image[mask][:, :3], original[mask])
    assert np.array_equal(window.document.composite()[:, :, :3], original)  # nothing applied yet

    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    applied = window.document.composite()
    assert np.array_equal(applied[:, :, :3], direct.image)
    assert np.array_equal(applied[~mask][:, :3], original[~mask]) and (applied[:, :, 3] == 255).all()
    assert session.last is None and view.mode == "mask"
    assert np.array_equal(session.mask(), mask)  # kept for another pass by default

    window.undo_action.trigger()
    assert np.array_equal(window.document.composite()[:, :, :3], original)  # exactly
    window.redo_action.trigger()
    assert np.array_equal(window.document.composite()[:, :, :3], direct.image)

    # a second pass with the mask cleared on apply: one undo step brings both back
    session.shrink_mask(4)
    panel.clear_after_check.setChecked(True)
    second_mask = session.mask().copy()
    second = _fill(qtbot, session)
    assert np.array_equal(second.original[:, :, :3], direct.image)  # it starts from the first fill
    before_second = window.document.composite()
    assert session.apply()
    after_second = window.document.composite()
    assert np.array_equal(after_second[~second_mask], before_second[~second_mask])
    assert not session.mask().any()
    window.undo_action.trigger()
    assert np.array_equal(window.document.composite(), before_second)
    assert np.array_equal(session.mask(), second_mask)


def test_refusals_submit_nothing(qtbot, window, model_path, real_engine, monkeypatch):
    workspace = _load(qtbot, window, model_path)
    session, panel = workspace.session, workspace.panel
    submitted = []
    original_submit = window.bridge.submit
    monkeypatch.setattr(window.bridge, "submit", lambda *a, **k: submitted.append(a) or original_submit(*a, **k))

    assert not session.run()  # no image
    assert panel.message.text() == NO_IMAGE_TEXT

    image = _open_image(window)
    assert not session.run()  # no mask layer
    assert panel.message.text() == EMPTY_MASK_TEXT
    _rect_mask(session, 5, 5, 10, 10)
    session.clear_mask()
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)  # an empty mask layer
    assert panel.message.text() == EMPTY_MASK_TEXT
    assert submitted == [] and session.last is None and not session.is_running
    assert np.array_equal(window.document.composite()[:, :, :3], image)


def test_a_changed_image_is_not_overwritten_by_an_old_fill(qtbot, window, model_path):
    _open_image(window)
    workspace = _load(qtbot, window, model_path)
    session = workspace.session
    _rect_mask(session, 20, 15, 36, 30)
    assert _fill(qtbot, session) is not None
    other = _image(seed=5)
    window.document.replace_image(other, text="Edit")
    assert not session.apply()
    assert "changed" in workspace.panel.message.text()
    assert np.array_equal(window.document.composite()[:, :, :3], other)


def test_cancel_and_engine_errors_are_shown_and_leave_the_image(qtbot, window, model_path, real_engine):
    image = _open_image(window)
    workspace = _load(qtbot, window, model_path)
    session, panel = workspace.session, workspace.panel
    _rect_mask(session, 20, 15, 36, 30)

    # keep the engine busy so the fill waits in the queue, then cancel it
    release = threading.Event()

    class Hold:
        pass

    real_engine.handlers[Hold] = lambda _request, _ctx: release.wait(20)
    hold = real_engine.submit(Hold())
    try:
        assert session.run()
        assert panel.cancel_button.isEnabled() and panel.progress.isVisible()
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not session.is_running, timeout=20_000)
    finally:
        release.set()
    hold.result(timeout=20)
    assert "cancelled" in panel.message.text() and session.last is None
    assert not panel.progress.isVisible() and panel.run_button.isEnabled()

    # an engine error (the checkpoint disappeared and the model is no longer cached)
    real_engine.models.clear()
    Path(model_path).rename(model_path + ".moved")
    try:
        assert session.run()
        qtbot.waitUntil(lambda: not session.is_running, timeout=20_000)
    finally:
        Path(model_path + ".moved").rename(model_path)
    assert session.last is None and panel.message.text() and session.last_level == "error"
    assert "ce.safetensors" in panel.message.text()
    assert np.array_equal(window.document.composite()[:, :, :3], image)


def test_overlay_toggle_modes_and_the_split_slider(qtbot, window, model_path):
    _open_image(window)
    workspace = _load(qtbot, window, model_path)
    session, view = workspace.session, workspace.view
    _rect_mask(session, 20, 15, 36, 30)
    session.set_overlay_visible(False)
    assert not view.canvas.overlay.isVisible()
    session.set_overlay_visible(True)
    assert view.canvas.overlay.isVisible()
    assert _fill(qtbot, session) is not None
    view.split_slider.setValue(750)
    assert view.compare.split == pytest.approx(0.75)
    qtbot.mouseClick(view.mask_button, Qt.MouseButton.LeftButton)
    assert view.mode == "mask"
    qtbot.mouseClick(view.compare_button, Qt.MouseButton.LeftButton)
    assert view.mode == "compare"
    workspace.panel.tool_buttons["lasso"].click()  # picking a mask tool goes back to the mask
    assert view.mode == "mask" and session.mask_tool.tool == "lasso"
