"""Widget pieces the workspaces share (Inpaint, Upscale, Latent).

* :class:`ScrollingDockPanel`: a dock panel whose content scrolls vertically on short screens.
* :class:`ModelJobPanel`: the scaffolding of a dock that runs one model on the document image —
  a model box (recent-models combo, Open… button, a line about the model), run/cancel and
  apply/discard rows with a progress bar, a message line. The session is a
  :class:`gui.model_session.ModelJobSession`.
* :class:`RefreshOnShow`: a central view that re-reads the document only while it is visible
  (a hidden one marks itself dirty and refreshes when it is shown).
* :func:`progress_bar`, :func:`show_progress`, :func:`message_label`, :func:`sync_slider` and the
  shared colours / :data:`CHECKABLE_STYLE`.

Nothing here imports torch.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gui.signals import blocked_signals

HINT_COLOR = "#a8a8ae"
ERROR_COLOR = "#ff8a80"
#: checkable buttons (mask tools, Mask/Compare) show which one is on
CHECKABLE_STYLE = (
    "QToolButton, QPushButton { padding: 4px 8px; border: 1px solid #55555a; border-radius: 3px; background: #3c3c40; }"
    "QToolButton:hover, QPushButton:hover { background: #46464b; }"
    "QToolButton:checked, QPushButton:checked { background: #2d5b88; border-color: #5b9bd5; color: white; }"
    "QToolButton:disabled, QPushButton:disabled { color: #77777c; }"
)
#: progress bars count in thousandths
PROGRESS_STEPS = 1000


def progress_bar(name: str) -> QProgressBar:
    """A thin, hidden, textless progress bar named ``name`` (shown while a job runs)."""
    bar = QProgressBar()
    bar.setObjectName(name)
    bar.setRange(0, PROGRESS_STEPS)
    bar.setTextVisible(False)
    bar.setMaximumHeight(10)
    bar.hide()
    return bar


def show_progress(bar: QProgressBar, fraction: float | None, text: str) -> None:
    """``fraction`` in [0, 1] on ``bar``, or a busy bar when None; ``text`` as its tooltip."""
    if fraction is None:
        bar.setRange(0, 0)
    else:
        bar.setRange(0, PROGRESS_STEPS)
        bar.setValue(round(fraction * PROGRESS_STEPS))
    bar.setToolTip(text)


def message_label(name: str) -> QLabel:
    """The word-wrapped, selectable line a panel tells the user things on."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def hint_label(text: str = "") -> QLabel:
    """A word-wrapped line in the grey hint colour."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {HINT_COLOR};")
    return label


def sync_slider(slider: QSlider, value: int) -> None:
    """Move ``slider`` to ``value`` without emitting its signals."""
    with blocked_signals(slider):
        slider.setValue(value)


class ScrollingDockPanel(QWidget):
    """A dock panel whose content (:attr:`body`, laid out by :attr:`body_layout`) scrolls
    vertically, so short screens scroll the dock instead of forcing the window taller."""

    def __init__(self, parent: QWidget | None = None, margins: int = 8):
        super().__init__(parent)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(margins, margins, margins, margins)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)


class ModelJobPanel(ScrollingDockPanel):
    """Scaffolding of a dock that runs a model of :attr:`session` on the document image.

    Subclasses set :attr:`MODEL_DIALOG_TITLE` / :attr:`MODEL_DIALOG_FILTER` and implement
    ``_update_buttons()``; the ``_build_*`` helpers create ``model_combo``, ``open_model_button``,
    ``model_info``, ``run_button``, ``cancel_button``, ``progress``, ``apply_button`` and
    ``discard_button``."""

    #: a checkpoint the user picked with "Open…" (the main window loads it)
    open_model_requested = Signal(str)
    MODEL_DIALOG_TITLE = "Open model"
    MODEL_DIALOG_FILTER = "All files (*)"

    # ------------------------------------------------------------------ construction

    def _build_model_picker(self, layout: QVBoxLayout, name: str, combo_tip: str, open_tip: str) -> None:
        """The recent-models combo (object name ``name``) with an Open… button, and the model line."""
        self.model_combo = QComboBox()
        self.model_combo.setObjectName(name)
        self.model_combo.setToolTip(combo_tip)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(12)
        self.model_combo.currentIndexChanged.connect(self._on_model)
        row = QHBoxLayout()
        row.addWidget(self.model_combo, 1)
        self.open_model_button = QPushButton("Open…")
        self.open_model_button.setToolTip(open_tip)
        self.open_model_button.clicked.connect(self.choose_model)
        row.addWidget(self.open_model_button)
        layout.addLayout(row)
        self.model_info = hint_label()
        layout.addWidget(self.model_info)

    def _build_run_rows(self, layout: QLayout, prefix: str, run_text: str, run_tip: str, apply_tip: str,
                        cancel_name: str = "") -> None:
        """Run | Cancel, the progress bar (``<prefix>Progress``), Apply | Discard, added to ``layout``."""
        run_row = QHBoxLayout()
        self.run_button = QPushButton(run_text)
        self.run_button.setObjectName(f"{prefix}RunButton")
        self.run_button.setDefault(True)
        self.run_button.setToolTip(run_tip)
        self.run_button.clicked.connect(self.session.run)
        self.cancel_button = QPushButton("Cancel")
        if cancel_name:
            self.cancel_button.setObjectName(cancel_name)
        self.cancel_button.clicked.connect(self.session.cancel)
        run_row.addWidget(self.run_button, 1)
        run_row.addWidget(self.cancel_button)
        layout.addLayout(run_row)
        self.progress = progress_bar(f"{prefix}Progress")
        layout.addWidget(self.progress)
        apply_row = QHBoxLayout()
        self.apply_button = QPushButton("Apply to image")
        self.apply_button.setObjectName(f"{prefix}ApplyButton")
        self.apply_button.setToolTip(apply_tip)
        self.apply_button.clicked.connect(self.session.apply)
        self.discard_button = QPushButton("Discard")
        self.discard_button.clicked.connect(self.session.discard)
        apply_row.addWidget(self.apply_button, 1)
        apply_row.addWidget(self.discard_button)
        layout.addLayout(apply_row)

    # ------------------------------------------------------------------ session -> widgets

    def _refresh_model_combo(self, label: Callable, empty_text: str) -> None:
        """Refill the combo with the session's recent models (``label(summary)``), the current one
        selected; ``empty_text`` (and disabled) when none is loaded."""
        session = self.session
        with blocked_signals(self.model_combo):
            self.model_combo.clear()
            for summary in session.models:
                self.model_combo.addItem(label(summary), summary.path)
                self.model_combo.setItemData(self.model_combo.count() - 1, summary.path, Qt.ItemDataRole.ToolTipRole)
            if session.model is not None:
                self.model_combo.setCurrentIndex(self.model_combo.findData(session.model.path))
            else:
                self.model_combo.addItem(empty_text)
        self.model_combo.setEnabled(bool(session.models))

    def _update_run_buttons(self, can_run: bool) -> None:
        """Enable Run when ``can_run`` and nothing runs; Cancel while it runs; Apply/Discard with a result."""
        session = self.session
        running = session.is_running
        self.run_button.setEnabled(can_run and not running)
        self.cancel_button.setEnabled(running)
        self.apply_button.setEnabled(session.last is not None and not running)
        self.discard_button.setEnabled(session.last is not None and not running)

    def _update_buttons(self) -> None:
        raise NotImplementedError

    def _running_changed(self, running: bool) -> None:
        self.progress.setVisible(running)
        self._update_buttons()

    def _show_progress(self, fraction: float | None, text: str) -> None:
        show_progress(self.progress, fraction, text)

    # ------------------------------------------------------------------ widgets -> session

    def _on_model(self, index: int) -> None:
        path = self.model_combo.itemData(index)
        if path:
            self.session.select_model(path)

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.MODEL_DIALOG_TITLE, "", self.MODEL_DIALOG_FILTER)
        if path:
            self.open_model_requested.emit(path)


class RefreshOnShow:
    """Mixin for a QWidget central view: :meth:`_document_changed` refreshes at once while the
    view is visible and otherwise only marks it dirty, so it is re-composited when its tab is
    shown, not on every edit elsewhere. A new view starts dirty; subclasses implement
    :meth:`refresh`, which sets ``self._dirty = False``. List the mixin before QWidget."""

    _dirty = True

    def _document_changed(self) -> None:
        if self.isVisible():
            self.refresh()
        else:
            self._dirty = True  # composited when the tab is shown, not on every edit elsewhere

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self.refresh()

    def refresh(self) -> None:
        raise NotImplementedError
