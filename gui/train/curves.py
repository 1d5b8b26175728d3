"""A small loss-curve plot (QPainter): one line per loss over training steps.

:class:`LossCurves` takes the run's log records as they arrive (:meth:`LossCurves.add_records`),
draws each loss as a line (optionally smoothed with an exponential moving average, optionally on
a log scale), with step and value axes, a legend whose entries show or hide their line when clicked,
and a hover read-out of the values at the step under the pointer. Long runs are drawn decimated
to about one point per pixel, so painting stays cheap however many lines the run logged.
"""

from __future__ import annotations

import math
from bisect import bisect_left

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

#: line colours, in the order losses first appear (readable on the dark theme)
LINE_COLORS = ("#5b9bd5", "#ed7d31", "#7bc96f", "#ffc857", "#c678dd", "#4dd0e1", "#ff6b6b", "#b0b0b5")
MARGINS = (58, 26, 14, 30)  # left, top (the legend's row), right, bottom, in pixels
BACKGROUND = QColor(30, 30, 32)
GRID = QColor(58, 58, 62)
AXIS_TEXT = QColor(160, 160, 166)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering [low, high] (1, 2, 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.75)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


def log_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Tick positions (log10 of the values) for a log axis spanning 10**low .. 10**high: the decades,
    and 2x / 5x within them when the span is short."""
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low] if math.isfinite(low) else []
    decades = list(range(math.ceil(low), math.floor(high) + 1))
    if len(decades) >= 2:
        stride = max(1, math.ceil(len(decades) / max(1, count)))
        return [float(d) for d in decades[::stride]]
    ticks = []
    for power in range(math.floor(low), math.ceil(high) + 1):
        for mantissa in (1, 2, 5):
            value = power + math.log10(mantissa)
            if low <= value <= high:
                ticks.append(value)
    return ticks if len(ticks) >= 2 else nice_ticks(low, high, count)


def format_value(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000 or magnitude < 0.01:
        return f"{value:.1e}"
    return f"{value:.3g}"


def format_step(step: float) -> str:
    return f"{step / 1000:g}k" if step >= 10000 else f"{step:g}"


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential moving average with debiasing (``weight`` in [0, 1): 0 = raw)."""
    if weight <= 0:
        return list(values)
    out, average, norm = [], 0.0, 0.0
    for value in values:
        average = weight * average + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        out.append(average / norm)
    return out


class LossCurves(QWidget):
    """The plot. Signals: ``visibility_changed()`` when a legend click shows or hides a line."""

    visibility_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lossCurves")
        self.setMinimumSize(200, 110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.series: dict[str, tuple[list[int], list[float]]] = {}
        self.hidden: set[str] = set()
        self.log_scale = False
        self.smoothing = 0.6
        self.placeholder = "Loss curves appear here once the run logs its first steps."
        self._hover_x: float | None = None
        self._legend_boxes: dict[str, QRectF] = {}
        #: name -> (smoothed values, EMA state: average, norm), extended as points arrive
        self._smoothed: dict[str, tuple[list[float], float, float]] = {}

    def sizeHint(self) -> QSize:
        return QSize(640, 280)

    # ------------------------------------------------------------------ data

    def clear(self) -> None:
        self.series.clear()
        self._smoothed.clear()
        self.update()

    def add_records(self, records: list[dict]) -> None:
        """Append the losses of ``"kind": "log"`` records (other records are ignored)."""
        added = False
        for record in records:
            if record.get("kind") != "log":
                continue
            step = int(record.get("step") or 0)
            for name, value in (record.get("losses") or {}).items():
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    continue
                if not math.isfinite(value):
                    continue
                steps, values = self.series.setdefault(str(name), ([], []))
                if steps and step < steps[-1]:  # a resumed run re-logs steps after its checkpoint
                    cut = bisect_left(steps, step)
                    del steps[cut:], values[cut:]
                    self._smoothed.pop(str(name), None)
                steps.append(step)
                values.append(value)
                added = True
        if added:
            self.update()

    def set_log_scale(self, on: bool) -> None:
        self.log_scale = bool(on)
        self.update()

    def set_smoothing(self, weight: float) -> None:
        """``weight`` in [0, 0.99]: the EMA weight of the drawn lines (0 = the raw values)."""
        self.smoothing = min(0.99, max(0.0, float(weight)))
        self._smoothed.clear()
        self.update()

    def set_visible_loss(self, name: str, visible: bool) -> None:
        (self.hidden.discard if visible else self.hidden.add)(name)
        self.update()
        self.visibility_changed.emit()

    def color_of(self, name: str) -> QColor:
        names = list(self.series)
        index = names.index(name) if name in names else len(names)
        return QColor(LINE_COLORS[index % len(LINE_COLORS)])

    # ------------------------------------------------------------------ geometry

    def plot_rect(self) -> QRectF:
        left, top, right, bottom = MARGINS
        return QRectF(left, top, max(10, self.width() - left - right), max(10, self.height() - top - bottom))

    def smoothed(self, name: str) -> list[float]:
        """The EMA of ``name``'s values (debiased), extended incrementally as points arrive."""
        values = self.series[name][1]
        done, average, norm = self._smoothed.get(name, ([], 0.0, 0.0))
        weight = self.smoothing
        for value in values[len(done):]:
            average = weight * average + (1 - weight) * value
            norm = weight * norm + (1 - weight)
            done.append(average / norm)
        self._smoothed[name] = (done, average, norm)
        return done

    def _visible_series(self, width: float | None = None) -> dict[str, tuple[list[int], list[float]]]:
        """What is drawn: per shown loss, at most about one point per pixel of ``width``
        (default: the plot's), smoothed, and as log10 on a log scale (non-positive values left out)."""
        width = self.plot_rect().width() if width is None else width
        out = {}
        for name, (steps, _values) in self.series.items():
            if name in self.hidden or not steps:
                continue
            drawn = self.smoothed(name)
            stride = max(1, int(len(steps) / max(1.0, width)))
            indices = list(range(0, len(steps), stride))
            if indices[-1] != len(steps) - 1:
                indices.append(len(steps) - 1)
            pairs = [(steps[i], drawn[i]) for i in indices]
            if self.log_scale:
                pairs = [(x, math.log10(v)) for x, v in pairs if v > 0]
                if not pairs:
                    continue
            out[name] = ([p[0] for p in pairs], [p[1] for p in pairs])
        return out

    def _ranges(self, shown: dict[str, tuple[list[int], list[float]]]) -> tuple[float, float, float, float]:
        xs = [s for steps, _ in shown.values() for s in (steps[0], steps[-1])]
        ys = [v for _, values in shown.values() for v in values]
        x0, x1 = min(xs), max(xs)
        if x1 <= x0:
            x1 = x0 + 1
        y0, y1 = min(ys), max(ys)
        pad = (y1 - y0) * 0.06 or max(abs(y0) * 0.1, 0.1)
        return x0, x1, y0 - pad, y1 + pad

    # ------------------------------------------------------------------ painting

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), BACKGROUND)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        painter.setFont(font)
        shown = self._visible_series()
        rect = self.plot_rect()
        if not shown:
            painter.setPen(AXIS_TEXT)
            text = self.placeholder if not self.series else "Every loss is hidden (or not positive on a log scale)."
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
            self._draw_legend(painter, rect)
            painter.end()
            return
        x0, x1, y0, y1 = self._ranges(shown)

        def to_point(step: float, value: float) -> QPointF:
            return QPointF(rect.left() + (step - x0) / (x1 - x0) * rect.width(),
                           rect.bottom() - (value - y0) / (y1 - y0) * rect.height())

        self._draw_axes(painter, rect, x0, x1, y0, y1, to_point)
        painter.save()
        painter.setClipRect(rect.adjusted(-1, -1, 1, 1))
        for name, (steps, values) in shown.items():
            self._draw_line(painter, steps, values, self.color_of(name), to_point)
        painter.restore()
        self._draw_hover(painter, rect, shown, x0, x1, to_point)
        self._draw_legend(painter, rect)
        painter.end()

    def _draw_axes(self, painter: QPainter, rect: QRectF, x0, x1, y0, y1, to_point) -> None:
        painter.setPen(QPen(GRID, 1))
        painter.drawRect(rect)
        ticks = log_ticks if self.log_scale else nice_ticks
        for value in ticks(y0, y1, max(2, int(rect.height() / 40))):
            y = to_point(x0, value).y()
            painter.setPen(QPen(GRID, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            painter.setPen(AXIS_TEXT)
            label = format_value(10 ** value) if self.log_scale else format_value(value)
            painter.drawText(QRectF(0, y - 8, rect.left() - 6, 16),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        for step in nice_ticks(x0, x1, max(2, int(rect.width() / 90))):
            x = to_point(step, y0).x()
            painter.setPen(QPen(GRID, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            painter.setPen(AXIS_TEXT)
            painter.drawText(QRectF(x - 40, rect.bottom() + 4, 80, 16), Qt.AlignmentFlag.AlignHCenter, format_step(step))
        painter.drawText(QRectF(0, rect.bottom() + 4, rect.left() - 6, 16), Qt.AlignmentFlag.AlignRight, "step")

    @staticmethod
    def _draw_line(painter: QPainter, steps: list[int], values: list[float], color: QColor, to_point) -> None:
        """One polyline per loss (one Qt call, not one per point: cheaper, and see gui.refcount_guard)."""
        pen = QPen(color, 1.0)  # a 1 px pen: wider ones go through Qt's stroker, 20-50x slower on long lines
        pen.setJoinStyle(Qt.PenJoinStyle.BevelJoin)
        painter.setPen(pen)
        if len(steps) == 1:
            painter.setBrush(color)
            painter.drawEllipse(to_point(steps[0], values[0]), 2.5, 2.5)
            return
        painter.drawPolyline(QPolygonF([to_point(step, value) for step, value in zip(steps, values)]))

    def _draw_hover(self, painter: QPainter, rect: QRectF, shown, x0: float, x1: float, to_point) -> None:
        if self._hover_x is None or not rect.contains(QPointF(self._hover_x, rect.center().y())):
            return
        step = x0 + (self._hover_x - rect.left()) / rect.width() * (x1 - x0)
        lines = []
        for name, (steps, values) in shown.items():
            i = _nearest(steps, step)
            value = 10 ** values[i] if self.log_scale else values[i]
            lines.append((name, steps[i], value))
            painter.setBrush(self.color_of(name))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawEllipse(to_point(steps[i], values[i]), 3, 3)
        if not lines:
            return
        painter.setPen(QPen(QColor(200, 200, 205, 90), 1))
        painter.drawLine(QPointF(self._hover_x, rect.top()), QPointF(self._hover_x, rect.bottom()))
        text = [f"step {lines[0][1]}"] + [f"{name}  {format_value(value)}" for name, _s, value in lines]
        metrics = painter.fontMetrics()
        box_w = max(metrics.horizontalAdvance(t) for t in text) + 14
        box_h = metrics.height() * len(text) + 8
        x = self._hover_x + 10 if self._hover_x + 10 + box_w < rect.right() else self._hover_x - 10 - box_w
        box = QRectF(x, rect.top() + 6, box_w, box_h)
        painter.setBrush(QColor(20, 20, 22, 230))
        painter.setPen(QPen(GRID, 1))
        painter.drawRoundedRect(box, 3, 3)
        painter.setPen(QColor(225, 225, 228))
        for n, t in enumerate(text):
            painter.drawText(QPointF(box.left() + 7, box.top() + 4 + metrics.ascent() + n * metrics.height()), t)

    def _draw_legend(self, painter: QPainter, rect: QRectF) -> None:
        self._legend_boxes.clear()
        metrics = painter.fontMetrics()
        x = rect.right()
        y = max(1.0, rect.top() - metrics.height() - 8)  # the legend sits above the plot, never over a line
        for name in reversed(list(self.series)):
            values = self.series[name][1]
            last = f" {format_value(values[-1])}" if values else ""
            text = f"{name}{last}"
            width = metrics.horizontalAdvance(text) + 22
            box = QRectF(x - width, y, width, metrics.height() + 4)
            x -= width + 6
            self._legend_boxes[name] = box
            hidden = name in self.hidden
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(20, 20, 22, 200))
            painter.drawRoundedRect(box, 3, 3)
            color = self.color_of(name)
            if hidden:
                color.setAlpha(60)
            painter.setBrush(color)
            painter.drawRect(QRectF(box.left() + 5, box.center().y() - 1.5, 10, 3))
            painter.setPen(QColor(110, 110, 115) if hidden else QColor(215, 215, 220))
            painter.drawText(box.adjusted(19, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)

    # ------------------------------------------------------------------ mouse

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._hover_x = event.position().x()
        self.update()

    def leaveEvent(self, _event) -> None:
        self._hover_x = None
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        for name, box in self._legend_boxes.items():
            if box.contains(event.position()):
                self.set_visible_loss(name, name in self.hidden)
                return
        super().mousePressEvent(event)


def _nearest(steps: list[int], step: float) -> int:
    i = bisect_left(steps, step)
    if i <= 0:
        return 0
    if i >= len(steps):
        return len(steps) - 1
    return i if steps[i] - step < step - steps[i - 1] else i - 1
