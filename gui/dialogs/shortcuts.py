"""Help > Keyboard shortcuts: every shortcut of the window, read from the window itself.

Menu actions and buttons with a shortcut are found on the window (so the list never goes stale);
keys that views handle themselves (no QAction) are listed in :data:`VIEW_KEYS`. Nothing here
imports torch.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: (where, what, keys) of keys that views handle without an action
VIEW_KEYS: tuple[tuple[str, str, str], ...] = (
    ("Any image view", "Pan (hold, then drag)", "Space"),
    ("Any image view", "Zoom around the pointer", "Mouse wheel"),
    ("Paint, Inpaint", "Smaller / larger brush (the Size slider follows)", "[ / ]"),
    ("Inpaint", "Cancel the stroke being drawn", "Esc"),
    ("Latent", "Previous / next seed; a grid row up / down", "← / → ; ↑ / ↓"),
)


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").replace("…", "").strip()


def collect_shortcuts(window: QWidget) -> list[tuple[str, str, str]]:
    """(where, what, keys) for every action and button of ``window`` that has a shortcut, then
    :data:`VIEW_KEYS`; each action listed once."""
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for action in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        if not keys or not action.text():
            continue
        entry = (_plain(action.text()), " or ".join(keys))
        if entry not in seen:
            seen.add(entry)
            rows.append(("Menus", *entry))
    for button in window.findChildren(QAbstractButton):
        key = button.shortcut()
        if key.isEmpty() or not button.text():
            continue
        where = getattr(button.window(), "windowTitle", lambda: "")() if button.window() is not window else ""
        panel = next((p for p in _ancestors(button) if getattr(p, "TITLE", None)), None)
        where = f"{panel.TITLE} panel" if panel is not None else (where or "Panels")
        entry = (f"{_plain(button.text())} tool" if where == "Paint panel" else _plain(button.text()),
                 key.toString(QKeySequence.SequenceFormat.NativeText))
        if entry not in seen:
            seen.add(entry)
            rows.append((where, *entry))
    rows.extend(VIEW_KEYS)
    return rows


def _ancestors(widget: QWidget):
    parent = widget.parentWidget()
    while parent is not None:
        yield parent
        parent = parent.parentWidget()


class ShortcutsDialog(QDialog):
    """A table of :func:`collect_shortcuts` (where, what, keys)."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = collect_shortcuts(window)
        self.table = QTableWidget(len(self.rows), 3)
        self.table.setHorizontalHeaderLabels(["Where", "What", "Keys"])
        for row, values in enumerate(self.rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.resizeColumnsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(620, 520)
