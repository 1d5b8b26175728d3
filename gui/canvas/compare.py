"""The before/after comparison view and its split bar, shared by the workspaces that compare
a result with its original (Upscale, Inpaint).

:class:`CompareView` shows the result with the original over its left part, up to the split
line. The original is drawn nearest-neighbour enlarged to the result's size (so its pixels show
as blocks, the honest "before"); drag anywhere with the left button to move the split. Wheel
zoom and middle/Space-drag pan come from :class:`~gui.canvas.view.CanvasView`.
:meth:`CompareView.show_single` shows one image alone.

:class:`SplitBar` is "Before [slider] After", kept in step with a CompareView both ways.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QTransform,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QSlider,
    QWidget,
)

from gui.canvas.qimage import array_to_qimage
from gui.canvas.view import CanvasView
from gui.signals import blocked_signals

SPLIT_STEPS = 1000
LINE_COLOR = QColor(255, 255, 255, 230)
SHADOW_COLOR = QColor(0, 0, 0, 140)
TAG_BACKGROUND = QColor(20, 20, 22, 190)
GRAB_DISTANCE = 8  # screen pixels: the cursor becomes a split cursor this close to the line


class CompareView(CanvasView):
    """Before (left of the split) | after (right of it). ``split_changed(float)``: the split in [0, 1].

    ``placeholder``: what the view says while it shows nothing; ``name``: its object name."""

    split_changed = Signal(float)

    def __init__(self, placeholder: str = "", name: str = "compareView", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(name)
        self.setMouseTracking(True)
        self._clip = QGraphicsRectItem()
        self._clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self._clip.setPen(QPen(Qt.PenStyle.NoPen))
        self._clip.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self._clip.setZValue(1)
        self._before = QGraphicsPixmapItem(self._clip)
        self._before.setTransformationMode(Qt.TransformationMode.FastTransformation)  # nearest: honest pixels
        self._before.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self.scene().addItem(self._clip)
        self._clip.hide()
        self._comparing = False
        self._split = 0.5
        self._dragging = False
        self.set_placeholder(placeholder)
        self.zoom_changed.connect(lambda _zoom: self._update_before_sampling())

    # ------------------------------------------------------------------ content

    @property
    def comparing(self) -> bool:
        return self._comparing

    @property
    def split(self) -> float:
        return self._split

    def show_single(self, image: np.ndarray | None) -> None:
        """Show ``image`` alone (no comparison), or the placeholder when None."""
        self._comparing = False
        self._dragging = False
        self._clip.hide()
        self._before.setPixmap(QPixmap())
        self.set_image(image, keep_view=True)

    def show_comparison(self, before: np.ndarray, after: np.ndarray) -> None:
        """``before`` (the original) enlarged nearest-neighbour to ``after``'s size, left of the split."""
        self.set_image(after, keep_view=True)
        self._before.setPixmap(QPixmap.fromImage(array_to_qimage(before)))
        (bh, bw), (ah, aw) = before.shape[:2], after.shape[:2]
        self._before.setTransform(QTransform.fromScale(aw / bw, ah / bh))
        self._comparing = True
        self._clip.show()
        self._update_before_sampling()
        self._update_clip()

    def _update_before_sampling(self) -> None:
        """Nearest neighbour while the original is shown enlarged; smooth when it is shown smaller
        than its own pixels (then nearest would only add aliasing the result does not have)."""
        on_screen = self.zoom * self._before.transform().m11()
        self._before.setTransformationMode(Qt.TransformationMode.FastTransformation if on_screen >= 1.0
                                           else Qt.TransformationMode.SmoothTransformation)

    def set_split(self, fraction: float) -> None:
        """Move the split: 0 shows only the result, 1 only the original."""
        fraction = min(1.0, max(0.0, float(fraction)))
        if fraction == self._split:
            return
        self._split = fraction
        self._update_clip()
        self.split_changed.emit(fraction)

    def _update_clip(self) -> None:
        rect = self.sceneRect()
        self._clip.setRect(QRectF(rect.left(), rect.top(), rect.width() * self._split, rect.height()))
        self.viewport().update()

    def _split_x(self) -> float:
        """The split line's x in viewport pixels."""
        rect = self.sceneRect()
        return self.mapFromScene(QPointF(rect.left() + rect.width() * self._split, rect.top())).x()

    # ------------------------------------------------------------------ mouse: drag the split

    def _split_from(self, event: QMouseEvent) -> float:
        rect = self.sceneRect()
        x = self.mapToScene(event.position().toPoint()).x()
        return (x - rect.left()) / rect.width() if rect.width() > 0 else 0.5

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._comparing and event.button() == Qt.MouseButton.LeftButton and not self._space_held:
            self._dragging = True
            self.set_split(self._split_from(event))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self.set_split(self._split_from(event))
            event.accept()
            return
        if self._comparing and self._pan_origin is None and not self._space_held:
            near = abs(event.position().x() - self._split_x()) <= GRAB_DISTANCE
            self.viewport().setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._dragging and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # ------------------------------------------------------------------ painting

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        super().drawForeground(painter, rect)
        if not self._comparing:
            return
        scene = self.sceneRect()
        top_left = self.mapFromScene(scene.topLeft())
        bottom_right = self.mapFromScene(scene.bottomRight())
        x = self._split_x()
        view = self.viewport().rect()
        top, bottom = max(top_left.y(), view.top()), min(bottom_right.y(), view.bottom())
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(SHADOW_COLOR, 3))
        painter.drawLine(QPointF(x, top), QPointF(x, bottom))
        painter.setPen(QPen(LINE_COLOR, 1.5))
        painter.drawLine(QPointF(x, top), QPointF(x, bottom))
        # a round handle in the middle of the visible line, with arrows
        middle = (top + bottom) / 2
        painter.setBrush(QColor(30, 30, 32, 220))
        painter.drawEllipse(QPointF(x, middle), 11, 11)
        painter.drawText(QRectF(x - 11, middle - 11, 22, 22), Qt.AlignmentFlag.AlignCenter, "⇔")
        # "Before" / "After" tags either side of the line, at the top
        metrics = painter.fontMetrics()
        for text, right_side in (("Before", False), ("After", True)):
            width = metrics.horizontalAdvance(text) + 14
            left = x + 8 if right_side else x - 8 - width
            tag = QRectF(left, top + 8, width, metrics.height() + 6)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(TAG_BACKGROUND)
            painter.drawRoundedRect(tag, 4, 4)
            painter.setPen(LINE_COLOR)
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class SplitBar(QWidget):
    """"Before [slider] After" for ``view``: moving the slider moves the split, dragging the split
    on the view moves the slider (without echoing back). ``tip``: the slider's tooltip;
    ``name``: the slider's object name."""

    def __init__(self, view: CompareView, tip: str, name: str = "splitSlider", parent: QWidget | None = None):
        super().__init__(parent)
        self.view = view
        self.before_label = QLabel("Before")
        self.after_label = QLabel("After")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName(name)
        self.slider.setRange(0, SPLIT_STEPS)
        self.slider.setValue(round(view.split * SPLIT_STEPS))
        self.slider.setToolTip(tip)
        self.slider.setMinimumWidth(140)
        self.slider.setMaximumWidth(320)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.before_label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.after_label)
        self.slider.valueChanged.connect(lambda value: view.set_split(value / SPLIT_STEPS))
        view.split_changed.connect(self._follow_view)

    def _follow_view(self, fraction: float) -> None:
        with blocked_signals(self.slider):
            self.slider.setValue(round(fraction * SPLIT_STEPS))
