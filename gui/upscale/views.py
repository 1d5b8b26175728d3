"""The Upscale workspace's central view: the upscaled result against its original.

:class:`UpscaleWorkspace` is a :class:`~gui.canvas.compare.CompareView` (the original left of a
draggable split, the result right of it; the document image alone before a result) plus a bar
with the split (:class:`~gui.canvas.compare.SplitBar`) and a line about the result.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from gui.canvas.compare import CompareView, SplitBar
from gui.upscale.session import NO_IMAGE_TEXT, UpscaleRecord, UpscaleSession
from gui.workspace_common import RefreshOnShow


class UpscaleWorkspace(RefreshOnShow, QWidget):
    """The comparison view and, under it, the split slider and a line about the result."""

    def __init__(self, session: UpscaleSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("upscaleWorkspace")
        self.session = session
        self.view = CompareView(NO_IMAGE_TEXT, "upscaleCompareView")
        self.caption = QLabel()
        self.caption.setObjectName("upscaleCaption")
        self.split_bar = SplitBar(self.view, "Where the original (left) gives way to the result (right); "
                                  "you can also drag on the image", "upscaleSplitSlider")
        self.split_slider = self.split_bar.slider
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole image (Ctrl+0 on the Image tab)")
        self.actual_button = QPushButton("100%")
        self.actual_button.setToolTip("One result pixel per screen pixel")
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        bar.addWidget(self.split_bar, 1)
        bar.addSpacing(16)
        bar.addWidget(self.caption, 2)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.actual_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addLayout(bar)

        self.fit_button.clicked.connect(self.view.fit_to_window)
        self.actual_button.clicked.connect(self.view.actual_size)
        session.result_changed.connect(lambda _record: self.refresh())
        session.source_changed.connect(self._document_changed)
        self._dirty = True
        self.refresh()

    def refresh(self) -> None:
        """Show the current result against its original, or the document image alone."""
        self._dirty = False
        record: UpscaleRecord | None = self.session.last
        comparing = record is not None
        self.split_bar.setVisible(comparing)
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
