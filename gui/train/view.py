"""The Train workspace's central view: the runs list and the watched run (progress, loss curves,
the preview grid, its log, Stop / Resume / Open in …).

Everything shown comes from :class:`gui.train.session.TrainSession`'s signals; the view never
reads a file itself.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QToolButton,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

import engine.training.runfiles as runfiles
from gui.train.curves import LossCurves
from gui.train.recipes import FAMILY_INFO, opens_in
from gui.train.session import TrainSession, age_text, eta_text
from gui.workspace_common import sync_slider

STATE_COLORS = {
    "new": "#a8a8ae", "running": "#5b9bd5", "stopped": "#ffc857", "done": "#8fd19e",
    "failed": "#ff8a80", "interrupted": "#ff8a80",
}
STATE_WORDS = {
    "new": "not started", "running": "training", "stopped": "stopped", "done": "done",
    "failed": "failed", "interrupted": "interrupted",
}
RUN_ROLE = Qt.ItemDataRole.UserRole + 1
MAX_LOG_LINES = 400


def short_count(n: int | None) -> str:
    """4300 -> '4.3k', 20000 -> '20k', 950 -> '950'."""
    if n is None:
        return "?"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.3g}M"
    if n >= 1000:
        return f"{n / 1000:.3g}k"
    return str(n)


def family_title(family: str) -> str:
    info = FAMILY_INFO.get(family)
    return info.title if info else family


class RunDelegate(QStyledItemDelegate):
    """A run in the list: name, family · state · step/steps, a thin progress line."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(120, 52)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        info: runfiles.RunInfo | None = index.data(RUN_ROLE)
        if info is None:
            return super().paint(painter, option, index)
        painter.save()
        rect = option.rect.adjusted(4, 2, -4, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#2d4a69") if selected else QColor("#2b2b2e"))
        painter.drawRoundedRect(rect, 4, 4)
        color = QColor(STATE_COLORS.get(info.state, "#a8a8ae"))
        painter.setBrush(color)
        painter.drawEllipse(QRect(rect.left() + 8, rect.top() + 10, 8, 8))
        font = painter.font()
        bold = painter.font()
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(QColor("#e6e6e9"))
        name_rect = QRect(rect.left() + 22, rect.top() + 4, rect.width() - 30, 18)
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(info.name, Qt.TextElideMode.ElideMiddle, name_rect.width()))
        painter.setFont(font)
        painter.setPen(QColor("#a8a8ae"))
        steps = f"{short_count(info.step)}/{short_count(info.steps)}" if info.steps else short_count(info.step)
        line = f"{family_title(info.family)} · {STATE_WORDS.get(info.state, info.state)} · {steps} · {age_text(info.created)}"
        sub_rect = QRect(rect.left() + 22, rect.top() + 22, rect.width() - 30, 16)
        painter.drawText(sub_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, sub_rect.width()))
        bar = QRect(rect.left() + 22, rect.bottom() - 7, rect.width() - 32, 3)
        painter.setBrush(QColor("#1e1e20"))
        painter.drawRect(bar)
        painter.setBrush(color)
        painter.drawRect(QRect(bar.left(), bar.top(), round(bar.width() * info.fraction), bar.height()))
        painter.restore()


class PreviewView(QLabel):
    """The preview grid, scaled to fit (never up beyond 2x, nearest-neighbour so pixels stay crisp)."""

    def __init__(self):
        super().__init__()
        self.setObjectName("trainPreview")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(120, 80)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setStyleSheet("QLabel { background: #1e1e20; color: #8a8a90; }")
        self.image: QImage | None = None
        self.step: int | None = None
        self.clear_image()

    def clear_image(self, text: str = "The preview grid appears here at the run's first sample.") -> None:
        self.image, self.step = None, None
        self.setPixmap(QPixmap())
        self.setText(text)

    def set_image(self, step: int, image: QImage) -> None:
        self.image, self.step = image, step
        self._rescale()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self.image is None:
            return
        size = self.size()
        scale = min(size.width() / self.image.width(), size.height() / self.image.height(), 2.0)
        mode = Qt.TransformationMode.FastTransformation if scale >= 1 else Qt.TransformationMode.SmoothTransformation
        target = QSize(max(1, int(self.image.width() * scale)), max(1, int(self.image.height() * scale)))
        self.setPixmap(QPixmap.fromImage(self.image.scaled(target, Qt.AspectRatioMode.KeepAspectRatio, mode)))


def box(title: str, body: QWidget, tools: list[QWidget] | None = None) -> QFrame:
    """A titled frame around ``body`` with optional tool widgets on the title row."""
    frame = QFrame()
    frame.setObjectName("trainBox")
    frame.setStyleSheet("#trainBox { background: #262628; border: 1px solid #3a3a3e; border-radius: 4px; }")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(8, 6, 8, 8)
    layout.setSpacing(4)
    row = QHBoxLayout()
    label = QLabel(title)
    label.setStyleSheet("color: #c8c8cc; font-weight: 600;")
    row.addWidget(label)
    row.addStretch(1)
    for tool in tools or []:
        row.addWidget(tool)
    layout.addLayout(row)
    layout.addWidget(body, 1)
    return frame


class TrainView(QWidget):
    """The central view of the Train workspace."""

    def __init__(self, session: TrainSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainView")
        self.session = session
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_runs())
        splitter.addWidget(self._build_detail())
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([190, 1000])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)
        session.runs_changed.connect(self._fill_runs)
        session.current_changed.connect(self._current_changed)
        session.records_added.connect(self._records_added)
        session.info_changed.connect(self._show_info)
        session.samples_changed.connect(self._samples_changed)
        session.sample_loaded.connect(self._sample_loaded)
        session.message.connect(self._message)
        self._fill_runs()
        self._current_changed()

    # ------------------------------------------------------------------ building

    def _build_runs(self) -> QWidget:
        self.runs_list = QListWidget()
        self.runs_list.setObjectName("trainRuns")
        self.runs_list.setItemDelegate(RunDelegate(self.runs_list))
        self.runs_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.runs_list.setStyleSheet("QListWidget { background: #222224; border: none; }")
        self.runs_list.setToolTip("Every run in the runs folder. Click one to watch it.")
        self.runs_list.currentItemChanged.connect(self._run_clicked)
        self.runs_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.runs_list.customContextMenuRequested.connect(self._runs_menu)
        self.runs_empty = QLabel("No runs yet.\nSet one up in the Train panel\nand press Start training.")
        self.runs_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.runs_empty.setStyleSheet("color: #8a8a90;")
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Read the runs folder again (it is re-read every few seconds anyway).")
        refresh.clicked.connect(self.session.refresh_runs)
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.runs_list, 1)
        layout.addWidget(self.runs_empty, 1)
        frame = box("Runs", holder, [refresh])
        frame.setMinimumWidth(150)
        return frame

    def _build_detail(self) -> QWidget:
        self.detail = QWidget()
        layout = QVBoxLayout(self.detail)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addLayout(self._build_header())
        layout.addLayout(self._build_progress())
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self._build_curves())
        split.addWidget(self._build_preview())
        split.addWidget(self._build_log())
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 4)
        split.setStretchFactor(2, 1)
        split.setSizes([300, 380, 90])
        layout.addWidget(split, 1)
        return self.detail

    def _build_header(self) -> QVBoxLayout:
        self.title = QLabel()
        self.title.setObjectName("trainRunTitle")
        self.title.setStyleSheet("font-size: 15pt; font-weight: 600; color: #ececef;")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.subtitle = QLabel()
        self.subtitle.setStyleSheet("color: #a8a8ae;")
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.subtitle.setWordWrap(True)
        self.state_chip = QLabel()
        self.state_chip.setObjectName("trainRunState")
        titles = QVBoxLayout()
        head = QHBoxLayout()
        head.addWidget(self.state_chip)
        head.addWidget(self.title, 1)
        titles.addLayout(head)
        titles.addWidget(self.subtitle)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("trainStop")
        self.stop_button.setToolTip("Stop after the current step; the run saves a final checkpoint and can be resumed.")
        self.stop_button.clicked.connect(lambda: self.session.stop())
        self.resume_steps = QSpinBox()
        self.resume_steps.setRange(1, 10_000_000)
        self.resume_steps.setSingleStep(500)
        self.resume_steps.setPrefix("to ")
        self.resume_steps.setGroupSeparatorShown(True)
        self.resume_steps.setToolTip("Resume until this many steps in all (raise it to train a finished run further).")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("trainResume")
        self.resume_button.setToolTip("Continue from the newest checkpoint, with every state restored.")
        self.resume_button.clicked.connect(self._resume)
        self.open_button = QPushButton("Open in Paint")
        self.open_button.setObjectName("trainOpen")
        self.open_button.clicked.connect(self._open)
        self.follow = QCheckBox("Auto-reload")
        self.follow.setObjectName("trainFollow")
        self.follow.setChecked(True)
        self.follow.setToolTip("Load each newer latest.safetensors of this run into its workspace while it trains.")
        self.follow.toggled.connect(self._follow_toggled)
        self.folder_button = QToolButton()
        self.folder_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon))
        self.folder_button.setAutoRaise(True)
        self.folder_button.setToolTip("Show the run folder (options.json, progress.jsonl, samples/, checkpoints/, run.log).")
        self.folder_button.clicked.connect(self._show_folder)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        for widget in (self.stop_button, self.resume_button, self.resume_steps, self.open_button, self.follow):
            widget.setMinimumWidth(40)  # squeezable: the view must fit next to the docks on small screens
            buttons.addWidget(widget)

        buttons.addStretch(1)
        buttons.addWidget(self.folder_button)
        titles.addLayout(buttons)
        return titles

    def _build_progress(self) -> QVBoxLayout:
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.stats = QLabel()
        self.stats.setObjectName("trainStats")
        self.stats.setStyleSheet("color: #c8c8cc;")
        self.stats.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message = QLabel()
        self.message.setObjectName("trainViewMessage")
        self.message.setWordWrap(True)
        layout = QVBoxLayout()
        layout.setSpacing(3)
        layout.addWidget(self.progress)
        row = QHBoxLayout()
        row.addWidget(self.stats, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        return layout

    def _build_curves(self) -> QWidget:
        self.curves = LossCurves()
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setToolTip("Plot the losses on a log scale (values at or below zero are left out).")
        self.log_scale.toggled.connect(self.curves.set_log_scale)
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 95)
        self.smoothing.setValue(round(self.curves.smoothing * 100))
        self.smoothing.setMinimumWidth(40)
        self.smoothing.setMaximumWidth(110)
        self.smoothing.setToolTip("Smoothing of the lines (an exponential moving average); left = the raw values.")
        self.smoothing.valueChanged.connect(lambda v: self.curves.set_smoothing(v / 100))
        smooth_label = QLabel("Smoothing")
        smooth_label.setStyleSheet("color: #a8a8ae;")
        return box("Losses", self.curves, [self.log_scale, smooth_label, self.smoothing])

    def _build_preview(self) -> QWidget:
        self.preview = PreviewView()
        self.sample_slider = QSlider(Qt.Orientation.Horizontal)
        self.sample_slider.setObjectName("trainSampleSlider")
        self.sample_slider.setMinimumWidth(40)
        self.sample_slider.setMaximumWidth(220)
        self.sample_slider.setToolTip("Look back at earlier previews; at the right end it follows the newest.")
        self.sample_slider.valueChanged.connect(self._sample_chosen)
        self.sample_label = QLabel()
        self.sample_label.setStyleSheet("color: #a8a8ae;")
        self.sample_label.setMinimumWidth(60)
        return box("Preview", self.preview, [self.sample_label, self.sample_slider])

    def _build_log(self) -> QWidget:
        self.log = QPlainTextEdit()
        self.log.setObjectName("trainLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        self.log.setMinimumHeight(36)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log.setStyleSheet("QPlainTextEdit { background: #1e1e20; border: none; color: #b8b8bc; font-family: monospace; }")
        return box("Log", self.log)

    # ------------------------------------------------------------------ runs list

    def _fill_runs(self) -> None:
        """Show :attr:`TrainSession.runs`; the same runs in the same order are updated in place (the
        list keeps its scroll position and selection while runs progress)."""
        current = self.session.current.path if self.session.current is not None else None
        runs = self.session.runs
        self.runs_list.blockSignals(True)
        same = [self.runs_list.item(i).data(RUN_ROLE).path for i in range(self.runs_list.count())] == [r.path for r in runs]
        if not same:
            self.runs_list.clear()
        for row, info in enumerate(runs):
            item = self.runs_list.item(row) if same else QListWidgetItem()
            item.setData(RUN_ROLE, info)
            item.setData(Qt.ItemDataRole.DisplayRole, info.name)
            item.setToolTip(f"{info.name}: {family_title(info.family)}, {STATE_WORDS.get(info.state, info.state)}, "
                            f"step {info.step:,}" + (f" of {info.steps:,}" if info.steps else "")
                            + f"\n{info.path}\n{info.message}".rstrip())
            if not same:
                self.runs_list.addItem(item)
            if info.path == current and self.runs_list.currentItem() is not item:
                self.runs_list.setCurrentItem(item)
        self.runs_list.blockSignals(False)
        self.runs_list.viewport().update()
        has_runs = bool(runs)
        self.runs_list.setVisible(has_runs)
        self.runs_empty.setVisible(not has_runs)

    def run_menu(self, info: runfiles.RunInfo) -> QMenu:
        """The actions on one run (the runs list's context menu)."""
        menu = QMenu(self)
        target = opens_in(info.family)
        open_action = menu.addAction(f"Open in {target}", lambda: self.session.open_model(info.path, self.follow.isChecked()))
        open_action.setEnabled(info.has_model)
        running = info.state == "running"
        menu.addAction("Stop", lambda: self.session.stop(info.path)).setEnabled(running)
        menu.addAction("Resume", lambda: self.session.resume(info.path)).setEnabled(info.can_resume and not running
                                                                                   and info.state != "done")
        menu.addSeparator()
        menu.addAction("Show folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(info.path))))
        menu.addAction("Copy path", lambda: QApplication.clipboard().setText(str(info.path)))
        return menu

    def _runs_menu(self, position) -> None:
        item = self.runs_list.itemAt(position)
        if item is not None:
            self.run_menu(item.data(RUN_ROLE)).exec(self.runs_list.viewport().mapToGlobal(position))

    def _run_clicked(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            self.session.watch(item.data(RUN_ROLE).path)

    # ------------------------------------------------------------------ the watched run

    def _current_changed(self) -> None:
        run = self.session.current
        self.curves.clear()
        self.log.clear()
        self.preview.clear_image()
        self.sample_slider.setRange(0, 0)
        self.sample_label.clear()
        self.detail.setEnabled(run is not None)
        self.message.clear()
        for widget in (self.stop_button, self.resume_button, self.resume_steps, self.open_button, self.follow,
                       self.folder_button, self.progress):
            widget.setVisible(run is not None)
        if run is None:
            self.title.setText("No run selected")
            self.subtitle.setText("Choose what to train in the Train panel, pick your images and press Start training. "
                                  "Runs go on when the app closes; they are listed here when you come back.")
            self.state_chip.clear()
            self.stats.clear()
            self.progress.setValue(0)
            return
        self.title.setText(run.path.name)
        self.curves.add_records(run.logs)
        for event in run.events:
            self._log_event(event)
        self._show_info()
        self._samples_changed()
        self._fill_runs()

    def _records_added(self, records: list) -> None:
        self.curves.add_records(records)
        for record in records:
            if record.get("kind") == "event":
                self._log_event(record)
        self._show_stats()

    def _log_event(self, event: dict) -> None:
        when = time.strftime("%H:%M:%S", time.localtime(float(event.get("time") or 0)))
        what = event.get("event", "")
        text = event.get("message") or (event.get("path") if what == "sample" else "")
        self.log.appendPlainText(f"{when}  step {event.get('step', 0):>7}  {what:<10} {text}")

    def _show_info(self) -> None:
        run = self.session.current
        if run is None:
            return
        info = run.info
        if info is None:
            self.subtitle.setText("This folder holds no readable run any more.")
            self.state_chip.clear()
            for button in (self.stop_button, self.resume_button, self.open_button):
                button.setEnabled(False)
            return
        color = STATE_COLORS.get(info.state, "#a8a8ae")
        self.state_chip.setText(STATE_WORDS.get(info.state, info.state))
        self.state_chip.setStyleSheet(f"QLabel {{ color: #1b1b1d; background: {color}; border-radius: 8px; "
                                      "padding: 1px 8px; font-weight: 600; }")
        preset = f" · preset {info.preset}" if info.preset else ""
        data = " + ".join(info.data) or "no data folder"
        self.subtitle.setText(f"{family_title(info.family)}{preset} · {data}")
        running = info.state == "running"
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(info.can_resume and not running)
        self.resume_steps.setEnabled(info.can_resume and not running)
        if not self.resume_steps.hasFocus():
            target = info.steps or 1
            if info.state == "done":
                target = max(target, info.step) * 2
            self.resume_steps.setValue(target)
        self.open_button.setText(f"Open in {opens_in(info.family)}")
        self.open_button.setEnabled(info.has_model)
        self.open_button.setToolTip(
            f"Load this run's latest.safetensors into {opens_in(info.family)}." if info.has_model
            else "The run writes its model (latest.safetensors) at its first checkpoint.")
        if info.path in self.session.opened:
            self.follow.blockSignals(True)
            self.follow.setChecked(info.path in self.session.followed)
            self.follow.blockSignals(False)
        if info.state in ("failed", "interrupted") and info.message:
            self._message(info.message, True)
        self._show_stats()

    def _show_stats(self) -> None:
        run = self.session.current
        if run is None or run.info is None:
            return
        info = run.info
        last = run.last_log
        step = max(info.step, int(last.get("step", 0)) if last else 0)
        steps = info.steps or (last.get("steps") if last else None)
        self.progress.setValue(round(1000 * min(1.0, step / steps)) if steps else 0)
        parts = [f"step {step:,} of {steps:,}" if steps else f"step {step:,}"]
        if steps:
            parts[0] += f" ({100 * step / steps:.0f}%)"
        if last:
            parts.append(f"{float(last.get('images_per_s') or 0):.1f} images/s")
            if info.state == "running":
                parts.append(f"ETA {eta_text(last.get('eta_s'))}")
            parts.append(f"trained {eta_text(last.get('elapsed_s'))}")
        if info.state == "interrupted":
            parts.append("the process is gone: resume continues from the last checkpoint")
        self.stats.setText("   ·   ".join(parts))

    # ------------------------------------------------------------------ samples

    def _samples_changed(self) -> None:
        run = self.session.current
        count = len(run.samples) if run is not None else 0
        at_end = self.sample_slider.value() >= self.sample_slider.maximum()
        self.sample_slider.setRange(0, max(0, count - 1))
        self.sample_slider.setEnabled(count > 1)
        if count and (at_end or self.preview.image is None):
            sync_slider(self.sample_slider, count - 1)
            self.session.load_sample(count - 1)
        self._show_sample_label()

    def _sample_chosen(self, index: int) -> None:
        self.session.load_sample(index)
        self._show_sample_label()

    def _show_sample_label(self) -> None:
        run = self.session.current
        if run is None or not run.samples:
            self.sample_label.setText("no preview yet")
            return
        index = min(self.sample_slider.value(), len(run.samples) - 1)
        newest = " (newest)" if index == len(run.samples) - 1 else ""
        self.sample_label.setText(f"step {run.samples[index][0]:,}{newest}")

    def _sample_loaded(self, step: int, image: QImage) -> None:
        self.preview.set_image(step, image)

    # ------------------------------------------------------------------ actions

    def _resume(self) -> None:
        run = self.session.current
        target = self.resume_steps.value()
        if run is not None and run.info is not None and target <= run.info.step:
            self._message(f"The run is at step {run.info.step:,}: raise 'to' above it to train further.", True)
            return
        self.session.resume(steps=target)

    def _open(self) -> None:
        self.session.open_model(follow=self.follow.isChecked())

    def _follow_toggled(self, on: bool) -> None:
        run = self.session.current
        if run is not None and (not on or run.path in self.session.opened):
            self.session.set_follow(run.path, on)

    def _show_folder(self) -> None:
        if self.session.current is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.session.current.path)))

    def _message(self, text: str, error: bool) -> None:
        self.message.setStyleSheet(f"color: {'#ff8a80' if error else '#a8a8ae'};")
        self.message.setText(text)
