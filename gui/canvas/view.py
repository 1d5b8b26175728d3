"""The central image canvas: shows a numpy image with zoom and pan.

* wheel: zoom around the cursor; Ctrl+wheel works the same (trackpads);
* middle-drag, or Space + left-drag: pan;
* :meth:`CanvasView.fit_to_window`, :meth:`CanvasView.actual_size` (100 %),
  :meth:`CanvasView.zoom_in` / :meth:`CanvasView.zoom_out`;
* a checkerboard shows through transparent pixels;
* ``zoom_changed(float)`` reports the zoom factor (1.0 = 100 %) for the status bar readout.

The Paint workspace's label view (``gui/paint/views.py``) subclasses it and adds the painting tools
(``gui/paint/tools.py``).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QMouseEvent,
    QPainter,
    QPixmap,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from gui.canvas.qimage import array_to_qimage

BACKGROUND = QColor(38, 38, 40)
CHECKER_LIGHT = QColor(104, 104, 108)
CHECKER_DARK = QColor(80, 80, 84)
CHECKER_CELL = 8  # screen pixels
PLACEHOLDER_TEXT = QColor(150, 150, 155)


def _checker_brush() -> QBrush:
    tile = QPixmap(CHECKER_CELL * 2, CHECKER_CELL * 2)
    tile.fill(CHECKER_LIGHT)
    painter = QPainter(tile)
    painter.fillRect(0, 0, CHECKER_CELL, CHECKER_CELL, CHECKER_DARK)
    painter.fillRect(CHECKER_CELL, CHECKER_CELL, CHECKER_CELL, CHECKER_CELL, CHECKER_DARK)
    painter.end()
    return QBrush(tile)


class CanvasView(QGraphicsView):
    """A zoomable, pannable view of one image (HxW, HxWx3 or HxWx4 numpy array)."""

    zoom_changed = Signal(float)

    MIN_ZOOM = 1 / 32
    MAX_ZOOM = 64.0
    WHEEL_STEP = 1.2  # zoom factor per wheel notch
    PRESET_ZOOMS = (1 / 32, 1 / 24, 1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 1.0,
                    1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("canvas")
        self._scene = QGraphicsScene(self)
        self._item = QGraphicsPixmapItem()
        self._item.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self._scene.addItem(self._item)
        self.setScene(self._scene)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(BACKGROUND)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._checker = _checker_brush()
        self._image_shape: tuple[int, ...] | None = None
        self._has_alpha = False
        self._fit_mode = True  # keep fitting while the window resizes, until the user zooms
        self._space_held = False
        self._pan_origin: QPointF | None = None
        self._placeholder = "No image yet.\nFile > Open… (Ctrl+O) an image or a document, or drop one here."

    # ------------------------------------------------------------------ image

    def set_image(self, image: np.ndarray | None, keep_view: bool = False) -> None:
        """Show ``image`` (None clears). ``keep_view`` keeps zoom and position when the size is unchanged."""
        if image is None:
            self._item.setPixmap(QPixmap())
            self._image_shape = None
            self._scene.setSceneRect(QRectF())
            self.viewport().update()
            return
        same_size = self._image_shape is not None and self._image_shape[:2] == image.shape[:2]
        self._has_alpha = image.ndim == 3 and image.shape[2] == 4 and bool((image[:, :, 3] < 255).any())
        self._item.setPixmap(QPixmap.fromImage(array_to_qimage(image)))
        self._image_shape = tuple(image.shape)
        self._scene.setSceneRect(self._item.boundingRect())
        if not (keep_view and same_size):
            self.fit_to_window()
        self.viewport().update()

    @property
    def has_image(self) -> bool:
        return self._image_shape is not None

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(width, height) of the shown image, or None."""
        return None if self._image_shape is None else (self._image_shape[1], self._image_shape[0])

    def set_placeholder(self, text: str) -> None:
        """The hint drawn in the middle of an empty canvas."""
        self._placeholder = text
        self.viewport().update()

    # ------------------------------------------------------------------ zoom

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` (1.0 = 100 %), keeping the scene point under viewport position ``anchor`` still."""
        zoom = min(self.MAX_ZOOM, max(self.MIN_ZOOM, float(zoom)))
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        scene_point = self.mapToScene(anchor.toPoint())
        self.setTransform(QTransform.fromScale(zoom, zoom))
        # put the anchored scene point back under the anchor
        moved = self.mapFromScene(scene_point)
        delta = moved - anchor.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        self._item.setTransformationMode(
            Qt.TransformationMode.FastTransformation if zoom >= 2.0 else Qt.TransformationMode.SmoothTransformation
        )
        self.zoom_changed.emit(zoom)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self._fit_mode = False
        self.set_zoom(self.zoom * factor, anchor)

    def zoom_in(self) -> None:
        """Step to the next preset zoom level."""
        self._fit_mode = False
        current = self.zoom
        self.set_zoom(next((z for z in self.PRESET_ZOOMS if z > current * 1.001), self.MAX_ZOOM))

    def zoom_out(self) -> None:
        """Step to the previous preset zoom level."""
        self._fit_mode = False
        current = self.zoom
        self.set_zoom(next((z for z in reversed(self.PRESET_ZOOMS) if z < current / 1.001), self.MIN_ZOOM))

    def actual_size(self) -> None:
        """100 %: one image pixel per screen pixel."""
        self._fit_mode = False
        self.set_zoom(1.0)

    def fit_to_window(self) -> None:
        """Show the whole image, as large as fits (also keeps fitting while the window resizes)."""
        self._fit_mode = True
        if self._image_shape is None:
            self.set_zoom(1.0)
            return
        height, width = self._image_shape[:2]
        view = self.viewport().rect()
        margin = 16
        zoom = min((view.width() - margin) / width, (view.height() - margin) / height)
        self.set_zoom(max(self.MIN_ZOOM, zoom) if math.isfinite(zoom) and zoom > 0 else 1.0)
        self.centerOn(self._item)

    # ------------------------------------------------------------------ events

    def resizeEvent(self, event) -> None:  # Qt naming
        super().resizeEvent(event)
        if self._fit_mode and self._image_shape is not None:
            self.fit_to_window()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta or self._image_shape is None:
            event.ignore()
            return
        self.zoom_by(self.WHEEL_STEP ** (delta / 120.0), event.position())
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            if self._pan_origin is None:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            if self._pan_origin is None:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self._space_held = False
        self._pan_origin = None
        self.viewport().unsetCursor()
        super().focusOutEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        middle = event.button() == Qt.MouseButton.MiddleButton
        space_left = event.button() == Qt.MouseButton.LeftButton and self._space_held
        if middle or space_left:
            self._pan_origin = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_origin is not None:
            delta = event.position() - self._pan_origin
            self._pan_origin = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_origin is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_origin = None
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # ------------------------------------------------------------------ painting

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, BACKGROUND)
        if self._image_shape is None or not self._has_alpha:
            return
        image_rect = self.mapFromScene(self._item.sceneBoundingRect()).boundingRect()
        painter.save()
        painter.resetTransform()  # the checkerboard has a fixed size on screen
        painter.fillRect(image_rect, self._checker)
        painter.restore()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self._image_shape is not None or not self._placeholder:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(PLACEHOLDER_TEXT)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        area = self.viewport().rect().adjusted(24, 24, -24, -24)
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
        painter.restore()
