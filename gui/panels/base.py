"""Shared pieces of the dock panels."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget


class PlaceholderPanel(QWidget):
    """A workspace that is not built yet: says what it is for and what will come.

    Subclasses set ``TITLE`` (dock title), ``OBJECT_NAME`` (stable id for saved layouts),
    ``SUMMARY`` (one sentence: what the workspace is for) and ``COMING`` (bullets).
    """

    TITLE = "Panel"
    OBJECT_NAME = "panel"
    SUMMARY = ""
    COMING: tuple[str, ...] = ()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(self.OBJECT_NAME)
        self.text_label = QLabel(self._html())
        self.text_label.setObjectName("placeholderText")
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.text_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text_label.setMargin(10)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.text_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    def _html(self) -> str:
        bullets = "".join(f"<li>{html.escape(item)}</li>" for item in self.COMING)
        return (
            f"<p style='font-size:large'><b>{html.escape(self.TITLE)}</b></p>"
            f"<p>{html.escape(self.SUMMARY)}</p>"
            "<p style='color:#c8a04a'><b>Not built yet.</b> This workspace arrives in a later release "
            "and will offer:</p>"
            f"<ul style='margin-left:-20px'>{bullets}</ul>"
        )


def format_count(n: int) -> str:
    """1234567 -> '1.23 M (1,234,567)'."""
    n = int(n)
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:.3g} {unit} ({n:,})"
    return f"{n:,}"
