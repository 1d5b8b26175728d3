"""The Paint workspace's central views: the label canvas you paint on, and the rendered output.

:class:`LabelPaintView` shows the label map in its palette colours (exact class colours, no
smoothing) and sends mouse strokes to the :class:`~gui.paint.session.PaintSession`; wheel zoom
and middle/Space-drag pan come from :class:`~gui.canvas.view.CanvasView`. In overlay mode the
rendered image is shown under the labels, whose opacity is a slider.

:class:`PaintWorkspace` puts the two side by side (or one over the other, in overlay mode).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from gui.canvas.busy import JobProgressOverlay
from gui.canvas.view import CanvasView
from gui.paint.session import PaintSession


class LabelPaintView(CanvasView):
    """Paint on the label layer with the session's current tool."""

    def __init__(self, session: PaintSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.overlay_image: np.ndarray | None = None
        self.label_opacity = 1.0
        self._painting = False
        self._cursor_pos: QPointF | None = None
        self.setMouseTracking(True)
        self.set_placeholder("Open a paint model (File > Open model) to start painting.")
        session.labels_changed.connect(lambda _rect: self.refresh())
        session.model_changed.connect(self.refresh)

    def refresh(self) -> None:
        """Re-draw the label map (and the overlay image under it)."""
        if self.session.translates_images:
            self.set_image(self.session.docs.composite(), keep_view=True)
            return
        layer = self.session.label_layer()
        if layer is None:
            self.set_image(None)
            return
        colors = self.session.palette.colorize(layer.pixels)
        if self.overlay_image is not None and self.overlay_image.shape[:2] == colors.shape[:2] and self.label_opacity < 1:
            a = self.label_opacity
            colors = (colors.astype(np.float32) * a + self.overlay_image[:, :, :3].astype(np.float32) * (1 - a) + 0.5).astype(np.uint8)
        self.set_image(colors, keep_view=True)

    def set_overlay(self, image: np.ndarray | None, opacity: float) -> None:
        self.overlay_image = image
        self.label_opacity = float(opacity)
        self.refresh()

    def _image_pos(self, event: QMouseEvent) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self._space_held and self.has_image:
            pos = self._image_pos(event)
            self._painting = True
            self.session.begin_stroke(pos.x(), pos.y())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._cursor_pos = event.position()
        if self._painting:
            pos = self._image_pos(event)
            self.session.move_stroke(pos.x(), pos.y())
            event.accept()
            return
        super().mouseMoveEvent(event)
        self.viewport().update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._painting and event.button() == Qt.MouseButton.LeftButton:
            pos = self._image_pos(event)
            self.session.move_stroke(pos.x(), pos.y())
            self.session.end_stroke(pos.x(), pos.y())
            self._painting = False
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight):
            factor = 1.25 if event.key() == Qt.Key.Key_BracketRight else 1 / 1.25
            self.session.set_brush_size(self.session.brush.size * factor)  # the Size slider follows
            self.viewport().update()
            return
        super().keyPressEvent(event)

    def drawForeground(self, painter: QPainter, rect) -> None:
        super().drawForeground(painter, rect)
        if self._cursor_pos is None or not self.has_image or self.session.brush.tool not in ("brush", "eraser", "instance", "line"):
            return
        painter.save()
        painter.resetTransform()
        radius = self.session.brush.size * self.zoom / 2.0
        painter.setPen(QPen(QColor(255, 255, 255, 200), 1))
        painter.drawEllipse(self._cursor_pos, radius, radius)
        painter.setPen(QPen(QColor(0, 0, 0, 160), 1))
        painter.drawEllipse(self._cursor_pos, radius + 1, radius + 1)
        painter.restore()


class PaintWorkspace(QWidget):
    """Label canvas and output view, side by side or overlaid."""

    def __init__(self, session: PaintSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.label_view = LabelPaintView(session)
        self.output_view = CanvasView()
        self.output_view.set_placeholder("The rendered image appears here as you paint.")
        self.progress_overlay = JobProgressOverlay(self, "Rendering")  # over both views (side by side or overlay)
        self.progress_overlay.follow(session.render_job)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.label_view)
        self.splitter.addWidget(self.output_view)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self._sized = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.mode = "side"
        self.opacity = 0.5
        session.rendered.connect(self._on_rendered)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._sized and self.width() > 0:
            half = max(1, self.splitter.width() // 2)
            self.splitter.setSizes([half, half])
            self._sized = True

    def _on_rendered(self, record) -> None:
        self.output_view.set_image(record.image, keep_view=True)
        if self.mode == "overlay":
            self.label_view.set_overlay(record.image, self.opacity)

    def set_mode(self, mode: str, opacity: float | None = None) -> None:
        """``"side"``: labels | output; ``"overlay"``: the output under the labels at ``opacity``."""
        self.mode = mode
        if opacity is not None:
            self.opacity = float(opacity)
        self.output_view.setVisible(mode == "side")
        image = self.session.last.image if (mode == "overlay" and self.session.last is not None) else None
        self.label_view.set_overlay(image, self.opacity if mode == "overlay" else 1.0)
