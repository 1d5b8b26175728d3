"""The Upscale workspace's central view: a before/after comparison with a draggable split.

:class:`CompareView` shows the upscaled result with the original over its left part, up to the
split line. The original is drawn nearest-neighbour enlarged to the result's size (so its pixels
show as blocks, the honest "before"); drag anywhere with the left button (or move the slider under
the view) to move the split. Wheel zoom and middle/Space-drag pan come from
:class:`~gui.canvas.view.CanvasView`. Without a result it shows the document image alone.

:class:`UpscaleWorkspace` is the view plus a bar with the split slider and what the result is.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gui.canvas.qimage import array_to_qimage
from gui.canvas.view import CanvasView
from gui.upscale.session import NO_IMAGE_TEXT, UpscaleRecord, UpscaleSession
from gui.workspace_common import RefreshOnShow, sync_slider

SPLIT_STEPS = 1000
LINE_COLOR = QColor(255, 255, 255, 230)
SHADOW_COLOR = QColor(0, 0, 0, 140)
TAG_BACKGROUND = QColor(20, 20, 22, 190)
GRAB_DISTANCE = 8  # screen pixels: the cursor becomes a split cursor this close to the line


class CompareView(CanvasView):
    """Before (left of the split) | after (right of it). ``split_changed(float)``: the split in [0, 1]."""

    split_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("upscaleCompareView")
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
        self.set_placeholder(NO_IMAGE_TEXT)
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


class UpscaleWorkspace(RefreshOnShow, QWidget):
    """The comparison view and, under it, the split slider and a line about the result."""

    def __init__(self, session: UpscaleSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("upscaleWorkspace")
        self.session = session
        self.view = CompareView()
        self.caption = QLabel()
        self.caption.setObjectName("upscaleCaption")
        self.split_slider = QSlider(Qt.Orientation.Horizontal)
        self.split_slider.setObjectName("upscaleSplitSlider")
        self.split_slider.setRange(0, SPLIT_STEPS)
        self.split_slider.setValue(round(self.view.split * SPLIT_STEPS))
        self.split_slider.setToolTip("Where the original (left) gives way to the result (right); "
                                     "you can also drag on the image")
        self.split_slider.setMinimumWidth(160)
        self.split_slider.setMaximumWidth(320)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole image (Ctrl+0 on the Image tab)")
        self.actual_button = QPushButton("100%")
        self.actual_button.setToolTip("One result pixel per screen pixel")
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        self.before_label = QLabel("Before")
        self.after_label = QLabel("After")
        bar.addWidget(self.before_label)
        bar.addWidget(self.split_slider, 1)
        bar.addWidget(self.after_label)
        bar.addSpacing(16)
        bar.addWidget(self.caption, 2)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.actual_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addLayout(bar)

        self.split_slider.valueChanged.connect(lambda v: self.view.set_split(v / SPLIT_STEPS))
        self.view.split_changed.connect(self._sync_slider)
        self.fit_button.clicked.connect(self.view.fit_to_window)
        self.actual_button.clicked.connect(self.view.actual_size)
        session.result_changed.connect(lambda _record: self.refresh())
        session.source_changed.connect(self._document_changed)
        self._dirty = True
        self.refresh()

    def _sync_slider(self, fraction: float) -> None:
        sync_slider(self.split_slider, round(fraction * SPLIT_STEPS))

    def refresh(self) -> None:
        """Show the current result against its original, or the document image alone."""
        self._dirty = False
        record: UpscaleRecord | None = self.session.last
        comparing = record is not None
        for widget in (self.split_slider, self.before_label, self.after_label):
            widget.setVisible(comparing)
        if record is not None:
            self.view.show_comparison(record.original, record.image)
            stale = " — the image has changed since; run again to apply" if self.session.result_is_stale else ""
            self.caption.setText(record.describe() + stale)
            self.caption.setToolTip(self.caption.text())
            return
        image = self.session.source_image()
        self.view.show_single(image)
        if image is None:
            self.caption.setText("")
        else:
            height, width = image.shape[:2]
            self.caption.setText(f"Document image {width}×{height}. Run Upscale to compare before and after.")
