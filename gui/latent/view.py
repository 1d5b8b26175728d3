"""The Latent workspace's central view: the render, which you drag to move through the seed grid.

:class:`SeedGridView` is a :class:`~gui.canvas.view.CanvasView` (wheel zoom, middle/Space-drag
pan) where a left-drag moves through the seed grid: :data:`PIXELS_PER_SEED` screen pixels of drag
is one seed; in between, the session blends the neighbouring seeds' latents bilinearly.

:class:`LatentWorkspaceView` adds the readout strip under it: where on the grid you are, the
engine's render time and the frames per second arriving.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.canvas.view import CanvasView
from gui.latent.model_info import GRID_STRIDE, grid_neighbours
from gui.latent.session import LatentRender, LatentSession

PIXELS_PER_SEED = 160.0
FPS_REFRESH_MS = 500


class SeedGridView(CanvasView):
    """The rendered image; left-drag moves through the seed grid."""

    def __init__(self, session: LatentSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setObjectName("latentCanvas")
        self._drag_origin: QPointF | None = None
        self.set_placeholder("Open a StyleGAN2 or BigGAN model (File > Open model) to explore what it can make.\n\n"
                             "Then drag on the image to wander between seeds.")
        self.setToolTip("Drag to move between seeds (sideways: neighbouring seeds; up/down: a row of "
                        f"{GRID_STRIDE} seeds away); double-click settles on the nearest seed. Arrow keys step "
                        "seed by seed. Wheel zooms; middle-drag pans.")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self._space_held and self.has_image:
            self._drag_origin = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_origin is not None:
            delta = event.position() - self._drag_origin
            self._drag_origin = event.position()
            if delta.x() or delta.y():
                self.session.move_on_grid(-delta.x() / PIXELS_PER_SEED, -delta.y() / PIXELS_PER_SEED)
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_origin is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag_origin = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        """←/→: previous/next seed; ↑/↓: a grid row up/down (when the image has focus)."""
        steps = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        step = steps.get(Qt.Key(event.key()))
        if step is not None and self.session.model is not None:
            x, y = round(self.session.settings.seed_x), round(self.session.settings.seed_y)
            self.session.update(seed_x=float(x + step[0]), seed_y=float(y + step[1]))
            event.accept()
            return
        super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.has_image:
            self.session.snap_to_grid()  # settle on the nearest seed
            event.accept()
            return
        super().mouseDoubleClickEvent(event)


def describe_position(x: float, y: float) -> str:
    """'Seed 42' on a grid point; 'Between seeds 42, 43 (x 42.35, y 0.00)' off it."""
    neighbours = grid_neighbours(x, y)
    if len(neighbours) == 1:
        return f"Seed {neighbours[0][0]}"
    seeds = ", ".join(str(seed) for seed, _w in neighbours)
    return f"Between seeds {seeds} (x {x:.2f}, y {y:.2f})"


def format_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


class LatentWorkspaceView(QWidget):
    """The seed-grid view with its readout strip (position · render time · frames per second)."""

    def __init__(self, session: LatentSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("latentWorkspace")
        self.session = session
        self.canvas = SeedGridView(session)
        strip = QWidget()
        strip.setObjectName("latentReadout")
        strip.setStyleSheet("#latentReadout { background: #2b2b2e; border-top: 1px solid #3c3c40; }"
                            "#latentReadout QLabel { color: #c8c8cc; padding: 2px 6px; }")
        self.position_label = QLabel("No model")
        self.position_label.setObjectName("latentPosition")
        self.message_label = QLabel()
        self.message_label.setObjectName("latentMessage")
        self.message_label.setStyleSheet("color: #f0b060;")
        self.time_label = QLabel("Render —")
        self.time_label.setObjectName("latentRenderTime")
        self.time_label.setToolTip("How long the engine took for the last image")
        self.fps_label = QLabel("— fps")
        self.fps_label.setObjectName("latentFps")
        self.fps_label.setToolTip("Images arriving per second while you drag a slider or the image")
        row = QHBoxLayout(strip)
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(self.position_label)
        row.addWidget(self.message_label, 1)
        row.addWidget(self.time_label)
        row.addWidget(self.fps_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(strip)
        self._fps_timer = QTimer(self)
        self._fps_timer.setInterval(FPS_REFRESH_MS)
        self._fps_timer.timeout.connect(self._refresh_fps)
        self._fps_timer.start()
        session.rendered.connect(self._on_rendered)
        session.render_failed.connect(self._on_failed)
        session.settings_changed.connect(self._refresh_position)
        session.model_changed.connect(self._refresh_position)

    def _on_rendered(self, record: LatentRender) -> None:
        self.canvas.set_image(record.image, keep_view=True)
        self.time_label.setText(f"Render {format_ms(record.duration_s)}")
        self.message_label.setText("; ".join(record.notes))
        self._refresh_fps()

    def _on_failed(self, message: str) -> None:
        self.message_label.setText(message)
        self.message_label.setToolTip(message)

    def _refresh_position(self) -> None:
        if self.session.model is None:
            self.position_label.setText("No model")
            return
        s = self.session.settings
        self.position_label.setText(describe_position(s.seed_x, s.seed_y))

    def _refresh_fps(self) -> None:
        fps = self.session.frames_per_second()
        text = "— fps" if fps is None or not math.isfinite(fps) else f"{fps:.1f} fps"
        if self.fps_label.text() != text:
            self.fps_label.setText(text)
