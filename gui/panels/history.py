"""The History dock: every undo step of the document; click one to go back (or forward) to it."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QUndoView, QVBoxLayout, QWidget


class HistoryPanel(QWidget):
    """A QUndoView on the document's undo stack, with a line on how much the history keeps."""

    TITLE = "History"

    def __init__(self, document_model, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.docs = document_model
        layout = QVBoxLayout(self)
        self.view = QUndoView(document_model.undo_stack)
        self.view.setObjectName("historyView")
        self.view.setEmptyLabel("Start")
        layout.addWidget(self.view, 1)
        self.memory_label = QLabel()
        self.memory_label.setWordWrap(True)
        layout.addWidget(self.memory_label)
        document_model.undo_stack.indexChanged.connect(lambda _index: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        docs = self.docs
        used = docs.undo_memory() / (1 << 20)
        bound = f"{docs.undo_bytes / (1 << 20):.0f} MB" if docs.undo_bytes else "no limit"
        steps = f"{docs.undo_steps} steps" if docs.undo_steps else "any number of steps"
        self.memory_label.setText(f"History keeps {used:.1f} MB of pixels (up to {bound}, {steps}).")
