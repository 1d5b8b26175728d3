"""A progress strip with Cancel, shown over a view while its job runs.

:class:`JobProgressOverlay` is a child of the view it covers (kept at the top of its viewport);
connect it to a :class:`gui.jobs.TrackedJob` with :meth:`JobProgressOverlay.follow`: it shows
while the job runs, follows its progress (a busy bar when the engine cannot tell how far it is)
and its Cancel button cancels it. Nothing here imports torch.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

OVERLAY_WIDTH = 300  # px


class JobProgressOverlay(QFrame):
    """Progress bar, message and Cancel over the top of ``view`` (hidden while nothing runs)."""

    def __init__(self, view: QWidget, what: str = "Rendering"):
        super().__init__(view)
        self.setObjectName("jobProgressOverlay")
        self.setStyleSheet("#jobProgressOverlay { background: rgba(30, 30, 32, 220); border-radius: 4px; }")
        self.what = what
        self.label = QLabel(f"{what}…")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(10)
        self.cancel_button = QPushButton("Cancel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        self._view = view
        view.installEventFilter(self)
        self.hide()

    def follow(self, job) -> None:
        """Show while ``job`` (a TrackedJob) runs, show its progress, cancel it with the button."""
        job.running_changed.connect(self.set_running)
        job.progress.connect(self.set_progress)
        self.cancel_button.clicked.connect(job.cancel)

    def set_running(self, running: bool) -> None:
        if running:
            self.set_progress(None, "")
            self._place()
            self.show()
            self.raise_()
        else:
            self.hide()

    def set_progress(self, fraction: float | None, message: str) -> None:
        """``fraction`` in [0, 1], or None for a busy bar; ``message`` from the engine."""
        if fraction is None or fraction <= 0.0:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(min(1.0, fraction) * 1000))
        self.label.setText(f"{self.what}…")
        self.bar.setToolTip(message)

    def _place(self) -> None:
        width = min(OVERLAY_WIDTH, max(120, self._view.width() - 16))
        self.resize(width, self.sizeHint().height())
        self.move((self._view.width() - width) // 2, 8)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._view and event.type() == QEvent.Type.Resize:
            self._place()
        return super().eventFilter(watched, event)
