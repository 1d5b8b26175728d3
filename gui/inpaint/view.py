"""The Inpaint workspace's central views: the mask canvas and the before/after comparison.

:class:`MaskCanvas` shows the document image with the mask as a translucent coloured overlay
(which can be hidden) and sends mouse strokes to the :class:`~gui.inpaint.session.InpaintSession`:
left button adds to the mask with the current tool, right button removes (the eraser adds);
Escape abandons a stroke, ``[`` / ``]`` change the brush size. Wheel zoom and middle/Space-drag
pan come from :class:`~gui.canvas.view.CanvasView`.

:class:`InpaintWorkspace` stacks the mask canvas and the Upscale workspace's
:class:`~gui.canvas.compare.CompareView` (original left of the split, fill right of it), with a bar
to switch between them, the split slider and a line about the result.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from gui.canvas.compare import CompareView, SplitBar
from gui.canvas.view import CanvasView
from gui.inpaint.session import NO_IMAGE_TEXT, InpaintRecord, InpaintSession
from gui.workspace_common import CHECKABLE_STYLE, RefreshOnShow

#: the mask overlay: RGB and opacity
OVERLAY_RGB = (255, 48, 96)
OVERLAY_ALPHA = 0.45
#: the mask's edge pixels are drawn more opaque, so its outline shows over any colour
EDGE_ALPHA = 0.9
LASSO_COLOR = QColor(255, 255, 255, 230)


class MaskOverlayItem(QGraphicsItem):
    """The mask drawn as a translucent colour over the image, in image pixels.

    Holds a premultiplied RGBA array that a QImage shares (no copy), so a stroke only rewrites the
    rectangle it touched and repaints that part."""

    def __init__(self):
        super().__init__()
        self.setZValue(1)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._rgba: np.ndarray | None = None
        self._image = QImage()
        alpha = round(OVERLAY_ALPHA * 255)
        self._color = np.array([round(c * OVERLAY_ALPHA) for c in OVERLAY_RGB] + [alpha], np.uint8)
        self._edge = np.array([round(c * EDGE_ALPHA) for c in OVERLAY_RGB] + [round(EDGE_ALPHA * 255)], np.uint8)

    def boundingRect(self) -> QRectF:  # Qt API
        if self._rgba is None:
            return QRectF()
        height, width = self._rgba.shape[:2]
        return QRectF(0, 0, width, height)

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Show ``mask`` (HxW bool), or nothing when None."""
        self.prepareGeometryChange()
        if mask is None:
            self._image = QImage()  # drop the image before the pixels it shares
            self._rgba = None
            return
        height, width = mask.shape
        if self._rgba is None or self._rgba.shape[:2] != (height, width):
            rgba = np.zeros((height, width, 4), np.uint8)
            self._image = QImage(rgba.data, width, height, width * 4, QImage.Format.Format_RGBA8888_Premultiplied)
            self._rgba = rgba
        self.update_rect(mask, None)

    def update_rect(self, mask: np.ndarray, rect: tuple[int, int, int, int] | None) -> None:
        """Re-colour ``rect`` (x0, y0, x1, y1) of the overlay from ``mask`` (None = all of it)."""
        if self._rgba is None or self._rgba.shape[:2] != mask.shape:
            self.set_mask(mask)
            return
        height, width = mask.shape
        x0, y0, x1, y1 = rect if rect is not None else (0, 0, width, height)
        # one more pixel around: the edge of the neighbours may have changed
        x0, y0, x1, y1 = max(0, x0 - 1), max(0, y0 - 1), min(width, x1 + 1), min(height, y1 + 1)
        padded = np.pad(mask[max(0, y0 - 1):y1 + 1, max(0, x0 - 1):x1 + 1],
                        ((int(y0 == 0), int(y1 == height)), (int(x0 == 0), int(x1 == width))), mode="edge")
        region = padded[1:-1, 1:-1]
        inner = (region & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
        colour = np.where(region[:, :, None], self._color, np.uint8(0))
        colour[region & ~inner] = self._edge
        self._rgba[y0:y1, x0:x1] = colour
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self._rgba is None:
            return
        exposed = option.exposedRect.toAlignedRect().intersected(self._image.rect())
        if exposed.isEmpty():
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, painter.worldTransform().m11() < 1.0)
        painter.drawImage(exposed, self._image, exposed)


class MaskCanvas(CanvasView):
    """The document image with the mask over it; paint the mask with the session's tool."""

    def __init__(self, session: InpaintSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inpaintMaskCanvas")
        self.session = session
        self.overlay = MaskOverlayItem()
        self.scene().addItem(self.overlay)
        self._painting: Qt.MouseButton | None = None
        self._cursor_pos: QPointF | None = None
        self._lasso: list[tuple[float, float]] = []
        self.setMouseTracking(True)
        self.set_placeholder(NO_IMAGE_TEXT)
        session.mask_changed.connect(self._mask_changed)
        session.lasso_changed.connect(self._lasso_changed)
        session.overlay_changed.connect(self.overlay.setVisible)
        session.tool_changed.connect(lambda _tool: self.viewport().update())

    def refresh(self) -> None:
        """Re-read the document image and the mask."""
        self.set_image(self.session.source_image(), keep_view=True)
        self.overlay.set_mask(self.session.mask() if self.has_image else None)
        self.overlay.setVisible(self.session.overlay_visible)

    def _mask_changed(self, rect) -> None:
        mask = self.session.mask()
        if mask is None or not self.has_image:
            self.overlay.set_mask(None)
        else:
            self.overlay.update_rect(mask, rect)

    def _lasso_changed(self, points) -> None:
        self._lasso = list(points)
        self.viewport().update()

    # ------------------------------------------------------------------ mouse

    def _image_pos(self, event: QMouseEvent) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if (button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton) and not self._space_held
                and self.has_image and self._painting is None):
            pos = self._image_pos(event)
            self._painting = button
            self.session.begin_stroke(pos.x(), pos.y(), subtract=button == Qt.MouseButton.RightButton)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._cursor_pos = event.position()
        if self._painting is not None:
            pos = self._image_pos(event)
            self.session.move_stroke(pos.x(), pos.y())
            self.viewport().update()
            event.accept()
            return
        super().mouseMoveEvent(event)
        self.viewport().update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._painting is not None and event.button() == self._painting:
            pos = self._image_pos(event)
            self.session.move_stroke(pos.x(), pos.y())
            self.session.end_stroke(pos.x(), pos.y())
            self._painting = None
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event) -> None:  # the right button paints here
        event.accept()

    def leaveEvent(self, event) -> None:
        self._cursor_pos = None
        self.viewport().update()
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape and self.session.stroking:
            self.session.cancel_stroke()
            self._painting = None
            return
        if key in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight):
            size = self.session.mask_tool.size
            self.session.set_brush_size(size / 1.25 if key == Qt.Key.Key_BracketLeft else size * 1.25)
            self.viewport().update()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ painting

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        super().drawForeground(painter, rect)
        if not self.has_image:
            return
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if len(self._lasso) >= 2:
            path = QPainterPath(self.mapFromScene(*self._lasso[0]).toPointF())
            for x, y in self._lasso[1:]:
                path.lineTo(self.mapFromScene(x, y).toPointF())
            path.closeSubpath()
            painter.setPen(QPen(QColor(0, 0, 0, 170), 3))
            painter.drawPath(path)
            pen = QPen(LASSO_COLOR, 1.2, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawPath(path)
        if self._cursor_pos is not None and self.session.mask_tool.tool in ("brush", "eraser"):
            radius = self.session.mask_tool.size * self.zoom / 2.0
            painter.setPen(QPen(QColor(255, 255, 255, 200), 1))
            painter.drawEllipse(self._cursor_pos, radius, radius)
            painter.setPen(QPen(QColor(0, 0, 0, 160), 1))
            painter.drawEllipse(self._cursor_pos, radius + 1, radius + 1)
        painter.restore()


class InpaintWorkspace(RefreshOnShow, QWidget):
    """Mask canvas | before/after comparison, with a bar to switch, the split slider and a caption."""

    def __init__(self, session: InpaintSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inpaintWorkspace")
        self.session = session
        self.canvas = MaskCanvas(session)
        self.compare = CompareView("Fill the masked area to compare before and after.", "inpaintCompareView")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.canvas)
        self.stack.addWidget(self.compare)

        self.mask_button = QPushButton("Mask")
        self.mask_button.setToolTip("Edit the mask on the image")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("The image before (left of the split) and with the fill (right)")
        self.mode_group = QButtonGroup(self)
        for button in (self.mask_button, self.compare_button):
            button.setCheckable(True)
            button.setStyleSheet(CHECKABLE_STYLE)
            self.mode_group.addButton(button)
        self.mask_button.setChecked(True)
        self.split_bar = SplitBar(self.compare, "Where the original (left) gives way to the fill (right); you can "
                                  "also drag on the image", "inpaintSplitSlider")
        self.split_slider = self.split_bar.slider
        self.caption = QLabel()
        self.caption.setObjectName("inpaintCaption")
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole image")
        self.actual_button = QPushButton("100%")
        self.actual_button.setToolTip("One image pixel per screen pixel")
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        bar.addWidget(self.mask_button)
        bar.addWidget(self.compare_button)
        bar.addSpacing(12)
        bar.addWidget(self.split_bar, 1)
        bar.addSpacing(12)
        bar.addWidget(self.caption, 2)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.actual_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.stack, 1)
        layout.addLayout(bar)

        self.mask_button.clicked.connect(lambda: self.set_mode("mask"))
        self.compare_button.clicked.connect(lambda: self.set_mode("compare"))
        self.fit_button.clicked.connect(lambda: self.stack.currentWidget().fit_to_window())
        self.actual_button.clicked.connect(lambda: self.stack.currentWidget().actual_size())
        session.document_changed.connect(self._document_changed)
        session.result_changed.connect(self._result_changed)
        session.tool_changed.connect(lambda _tool: self.set_mode("mask"))
        session.mask_changed.connect(lambda _rect: self._update_caption())
        self._dirty = True
        self.set_mode("mask")

    @property
    def mode(self) -> str:
        return "compare" if self.stack.currentWidget() is self.compare else "mask"

    def set_mode(self, mode: str) -> None:
        """``"mask"``: edit the mask on the image; ``"compare"``: before/after of the last fill."""
        comparing = mode == "compare" and self.session.last is not None
        self.stack.setCurrentWidget(self.compare if comparing else self.canvas)
        (self.compare_button if comparing else self.mask_button).setChecked(True)
        self.compare_button.setEnabled(self.session.last is not None)
        self.split_bar.setVisible(comparing)
        if comparing:
            record = self.session.last
            self.compare.show_comparison(record.original, record.image)
        self._update_caption()

    def _result_changed(self, record: InpaintRecord | None) -> None:
        self.set_mode("compare" if record is not None else "mask")

    def refresh(self) -> None:
        """Re-read the document image and mask (and the caption)."""
        self._dirty = False
        self.canvas.refresh()
        self._update_caption()

    def _update_caption(self) -> None:
        record = self.session.last
        if self.mode == "compare" and record is not None:
            count = len(record.regions)
            text = (f"{count} region{'s' if count != 1 else ''} · {int(record.mask.sum()):,} px · "
                    f"{record.duration_s:.2f} s")
            if self.session.result_is_stale:
                text += " · another image is open now"
            self.caption.setText(text)
            self.caption.setToolTip(record.describe())
            return
        if not self.canvas.has_image:
            text = ""
        else:
            width, height = self.canvas.image_size
            mask = self.session.mask()
            count = 0 if mask is None else int(np.count_nonzero(mask))
            text = (f"{width}×{height} · mask: {count:,} px ({count / (width * height):.1%})" if count else
                    f"{width}×{height} · no mask yet: paint over what to fill (right button removes)")
        self.caption.setText(text)
        self.caption.setToolTip(text)
