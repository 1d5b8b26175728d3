"""The canvas: shows numpy images, zooms around the cursor, fits, 100 %, pans."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent

from gui.canvas.qimage import array_to_qimage, qimage_to_array, to_display_uint8
from gui.canvas.view import CanvasView


@pytest.fixture
def canvas(qtbot):
    view = CanvasView()
    view.resize(400, 300)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_array_round_trip_rgb_rgba_grey_16bit():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    back = qimage_to_array(array_to_qimage(rgb))
    np.testing.assert_array_equal(back[:, :, :3], rgb)
    assert (back[:, :, 3] == 255).all()
    rgba = np.dstack([rgb, np.full((5, 7), 128, np.uint8)])
    np.testing.assert_array_equal(qimage_to_array(array_to_qimage(rgba)), rgba)
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert (qimage_to_array(array_to_qimage(grey))[:, :, 0] == grey).all()
    assert to_display_uint8(np.array([[65535, 0]], np.uint16)).tolist() == [[255, 0]]
    with pytest.raises(ValueError, match="shape"):
        to_display_uint8(np.zeros((2, 2, 2), np.uint8))


def test_fit_actual_size_and_zoom_steps(canvas):
    zooms = []
    canvas.zoom_changed.connect(zooms.append)
    canvas.set_image(np.zeros((100, 200, 3), np.uint8))
    assert canvas.image_size == (200, 100)
    assert canvas.zoom > 1.0  # fitted up into 400x300
    canvas.actual_size()
    assert canvas.zoom == 1.0
    canvas.zoom_in()
    assert canvas.zoom == 1.5
    canvas.zoom_out()
    canvas.zoom_out()
    assert canvas.zoom == pytest.approx(2 / 3)
    canvas.fit_to_window()
    assert canvas.zoom == pytest.approx(min((400 - 16) / 200, (300 - 16) / 100), rel=0.05)
    assert zooms[-1] == canvas.zoom


def test_wheel_zoom_keeps_point_under_cursor(canvas, qtbot):
    canvas.set_image(np.zeros((1000, 1000, 3), np.uint8))
    canvas.actual_size()
    cursor = QPointF(300, 100)
    before = canvas.mapToScene(cursor.toPoint())
    canvas.zoom_by(1.2 ** 2, cursor)
    after = canvas.mapToScene(cursor.toPoint())
    assert canvas.zoom == pytest.approx(1.44)
    assert abs(before.x() - after.x()) <= 1.0 and abs(before.y() - after.y()) <= 1.0


def test_middle_drag_pans(canvas, qtbot):
    canvas.set_image(np.zeros((1000, 1000, 3), np.uint8))
    canvas.actual_size()
    start = canvas.horizontalScrollBar().value()
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(200, 150))
    # qtbot.mouseMove sends no held buttons; send the drag's move event as Qt would
    move = QMouseEvent(QEvent.Type.MouseMove, QPointF(150, 150), QPointF(150, 150), Qt.MouseButton.NoButton,
                       Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier)
    canvas.mouseMoveEvent(move)
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(150, 150))
    assert canvas.horizontalScrollBar().value() == start + 50


def test_checkerboard_shows_through_transparency(canvas, qtbot):
    image = np.zeros((60, 60, 4), np.uint8)  # fully transparent
    canvas.set_image(image)
    canvas.actual_size()
    shot = qimage_to_array(canvas.viewport().grab().toImage())
    centre = shot[shot.shape[0] // 2 - 20: shot.shape[0] // 2 + 20, shot.shape[1] // 2 - 20: shot.shape[1] // 2 + 20, :3]
    assert len(np.unique(centre.reshape(-1, 3), axis=0)) == 2  # the two checker greys

    canvas.set_image(None)
    assert not canvas.has_image
