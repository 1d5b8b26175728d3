"""The Train dock: set up a new run (what to train, the dataset and its check, the settings that
matter, an advanced section) and Start it.

Fields left at "family default" are not written into the run's options: the family's trainer
fills them in (:func:`engine.training.options.resolve`). Choosing a preset fills the fields with
its values. The dataset is checked on a worker thread as soon as its folders are given (and again
before Start if anything changed); its report is shown here and a failing report blocks Start.
"""

from __future__ import annotations

import os
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.train.recipes import (
    AMP_CHOICES,
    AUGMENT_CHOICES,
    DEVICE_CHOICES,
    LAYOUT_HINTS,
    LOSS_CHOICES,
    Recipe,
    build_options,
    recipes,
)
from gui.train.session import TrainSession
from gui.workspace_common import (
    ERROR_COLOR,
    HINT_COLOR,
    ScrollingDockPanel,
    hint_label,
    message_label,
)

DEFAULT_TEXT = "family default"
OK_COLOR = "#8fd19e"
WARN_COLOR = "#ffc857"
CHECK_DELAY_MS = 500


def section(title: str) -> QLabel:
    label = QLabel(title.upper())
    label.setStyleSheet("color: #9a9aa0; font-weight: 600; letter-spacing: 1px; padding-top: 8px;")
    return label


class OptionalSpin(QSpinBox):
    """An int field whose lowest value means "the family's default" (:meth:`chosen` is then None)."""

    def __init__(self, low: int, high: int, step: int = 1, tip: str = ""):
        super().__init__()
        self.setRange(low - 1 if low > 0 else -1, high)
        self.setSingleStep(step)
        self.setSpecialValueText(DEFAULT_TEXT)
        self.setValue(self.minimum())
        self.setToolTip(tip)
        self.setAccelerated(True)

    def chosen(self) -> int | None:
        return None if self.value() == self.minimum() else self.value()

    def set_chosen(self, value: int | None) -> None:
        self.setValue(self.minimum() if value is None else int(value))


class RateSpin(QDoubleSpinBox):
    """A learning rate: shown like 2e-4, the arrows halve / double it; 0 means the family default."""

    def __init__(self, tip: str = ""):
        super().__init__()
        self.setDecimals(8)
        self.setRange(0.0, 1.0)
        self.setSpecialValueText(DEFAULT_TEXT)
        self.setValue(0.0)
        self.setToolTip(tip)

    def textFromValue(self, value: float) -> str:
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return 0.0

    def validate(self, text: str, pos: int):
        from PySide6.QtGui import QValidator

        stripped = text.strip()
        if stripped in ("", DEFAULT_TEXT) or all(c in "0123456789.eE-+" for c in stripped):
            try:
                float(stripped)
                return QValidator.State.Acceptable, text, pos
            except ValueError:
                return QValidator.State.Intermediate, text, pos
        return QValidator.State.Invalid, text, pos

    def stepBy(self, steps: int) -> None:
        value = self.value() or 1e-4
        self.setValue(min(1.0, value * (2.0 ** steps)))

    def chosen(self) -> float | None:
        return self.value() or None

    def set_chosen(self, value: float | None) -> None:
        self.setValue(float(value) if value else 0.0)


def choice_combo(choices: tuple[str, ...], tip: str) -> QComboBox:
    combo = QComboBox()
    combo.addItem(DEFAULT_TEXT, None)
    for choice in choices:
        combo.addItem(choice, choice)
    combo.setToolTip(tip)
    return combo


def set_combo_data(combo: QComboBox, value: Any) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(index if index >= 0 else 0)


class FolderField(QWidget):
    """A folder path with a Browse… button. Signal ``changed(str)`` (typed or picked)."""

    changed = Signal(str)

    def __init__(self, placeholder: str, dialog_title: str, tip: str, pick_file: str | None = None):
        super().__init__()
        self.dialog_title = dialog_title
        self.pick_file = pick_file
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setToolTip(tip)
        self.edit.setClearButtonEnabled(True)
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip(tip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)
        self.edit.textChanged.connect(self.changed)
        self.browse.clicked.connect(self._browse)

    def path(self) -> str:
        return os.path.expanduser(self.edit.text().strip())

    def set_path(self, path: str) -> None:
        self.edit.setText(path)

    def _browse(self) -> None:
        start = self.path() or os.path.expanduser("~")
        if self.pick_file is not None:
            path, _ = QFileDialog.getOpenFileName(self, self.dialog_title, start, self.pick_file)
        else:
            path = QFileDialog.getExistingDirectory(self, self.dialog_title, start)
        if path:
            self.set_path(path)


class TrainPanel(ScrollingDockPanel):
    """The Train dock (set up and start a run)."""

    TITLE = "Train"

    def __init__(self, session: TrainSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainPanel")
        self.session = session
        self.recipes: list[Recipe] = recipes()
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.check_now)
        session.destroyed.connect(self._check_timer.stop)  # no check after the session is gone
        layout = self.body_layout
        self._build_recipe(layout)
        self._build_dataset(layout)
        self._build_settings(layout)
        self._build_advanced(layout)
        self._build_start(layout)
        layout.addStretch(1)
        session.check_started.connect(self._check_started)
        session.check_finished.connect(self._show_report)
        session.message.connect(self._show_message)
        first = next((i for i, r in enumerate(self.recipes) if r.available), 0)
        self.recipe_combo.setCurrentIndex(first)
        self._recipe_changed(first)

    # ------------------------------------------------------------------ building

    def _build_recipe(self, layout: QVBoxLayout) -> None:
        layout.addWidget(section("What to train"))
        self.recipe_combo = QComboBox()
        self.recipe_combo.setObjectName("trainRecipe")
        self.recipe_combo.setToolTip("A preset (a family with settings for a use case) or a family with your own settings.")
        model = self.recipe_combo.model()
        for i, recipe in enumerate(self.recipes):
            title = recipe.title if recipe.available else f"{recipe.title} (not in this build)"
            self.recipe_combo.addItem(title, i)
            self.recipe_combo.setItemData(i, recipe.description, Qt.ItemDataRole.ToolTipRole)
            if not recipe.available:
                model.item(i).setEnabled(False)
        self.recipe_combo.currentIndexChanged.connect(self._recipe_changed)
        layout.addWidget(self.recipe_combo)
        self.recipe_text = hint_label()
        layout.addWidget(self.recipe_text)

    def _build_dataset(self, layout: QVBoxLayout) -> None:
        layout.addWidget(section("Your images"))
        self.layout_text = hint_label()
        layout.addWidget(self.layout_text)
        tip = "The folder of training images; the check below says what it found."
        self.data_a = FolderField("dataset folder", "Choose the dataset folder", tip)
        self.data_b = FolderField("domain B folder", "Choose the domain B folder", "The second domain's images (CycleGAN).")
        self.data_a.setObjectName("trainDataA")
        self.data_b.setObjectName("trainDataB")
        layout.addWidget(self.data_a)
        layout.addWidget(self.data_b)
        for field in (self.data_a, self.data_b):
            field.changed.connect(lambda _text: self._check_timer.start())
        self.report = QLabel()
        self.report.setObjectName("trainCheckReport")
        self.report.setWordWrap(True)
        self.report.setTextFormat(Qt.TextFormat.RichText)
        self.report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report.setFrameShape(QFrame.Shape.StyledPanel)
        self.report.setStyleSheet("QLabel { background: #29292c; padding: 6px; border-radius: 3px; }")
        self.report.setText(f"<span style='color:{HINT_COLOR}'>Choose a folder: it is checked before anything starts.</span>")
        layout.addWidget(self.report)
        self.check_button = QPushButton("Check again")
        self.check_button.setToolTip("Open every file of the dataset again and report counts, sizes and problems.")
        self.check_button.clicked.connect(self.check_now)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.check_button)
        layout.addLayout(row)
        layout.addWidget(section("Start from"))
        self.from_ckpt = FolderField("nothing: train from scratch", "Choose a checkpoint to fine-tune",
                                     "Fine-tune: a checkpoint of the same family (GAN Studio's own or an official file). "
                                     "Empty: new weights.", pick_file="Checkpoints (*.safetensors *.pth *.pt *.pkl *.ckpt);;All files (*)")
        self.from_ckpt.setObjectName("trainFrom")
        layout.addWidget(self.from_ckpt)

    def _build_settings(self, layout: QVBoxLayout) -> None:
        layout.addWidget(section("Settings"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.resolution = OptionalSpin(4, 4096, 32, "Training crop size in pixels (square). Smaller trains much faster; "
                                                    "fine-tuning uses the checkpoint's size.")
        self.resolution.setSuffix(" px")
        self.batch = OptionalSpin(1, 1024, 1, "Images per step (over all processes). Larger is smoother but needs more memory.")
        self.steps = OptionalSpin(1, 10_000_000, 500, "How many optimiser steps to train. The run can be resumed for more later.")
        self.lr_g = RateSpin("Generator learning rate (Adam). The arrows halve / double it.")
        self.lr_d = RateSpin("Discriminator learning rate (Adam). Often 1-4x the generator's (TTUR).")
        self.augment = choice_combo(AUGMENT_CHOICES, "Augment what the discriminator sees so that a few hundred images do "
                                                     "not make it overfit: ADA adapts its strength, DiffAugment is fixed.")
        form.addRow("Resolution", self.resolution)
        form.addRow("Batch", self.batch)
        form.addRow("Steps", self.steps)
        form.addRow("Learning rate G", self.lr_g)
        form.addRow("Learning rate D", self.lr_d)
        form.addRow("Augmentation", self.augment)
        layout.addLayout(form)
        self.resolution.valueChanged.connect(lambda _v: self._check_timer.start())

    def _build_advanced(self, layout: QVBoxLayout) -> None:
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setStyleSheet("QToolButton { border: none; background: transparent; color: #c8c8cc; }")
        layout.addWidget(self.advanced_toggle)
        self.advanced = QWidget()
        form = QFormLayout(self.advanced)
        form.setContentsMargins(12, 0, 0, 0)
        self.loss = choice_combo(LOSS_CHOICES, "The adversarial loss. Not every family takes every loss; the run says so.")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Seeds the weights, the data order and the crops: the same seed repeats a run.")
        self.sample_every = OptionalSpin(1, 1_000_000, 50, "Write a preview grid every this many steps.")
        self.checkpoint_every = OptionalSpin(1, 1_000_000, 100, "Save the full state and latest.safetensors every this many steps.")
        self.log_every = OptionalSpin(1, 100_000, 5, "Log the losses (one curve point) every this many steps.")
        self.keep = OptionalSpin(1, 1000, 1, "How many full-state checkpoints to keep (the newest).")
        self.freeze_d = QSpinBox()
        self.freeze_d.setRange(0, 64)
        self.freeze_d.setToolTip("Fine-tuning on few images: keep the discriminator's first layers frozen.")
        self.device = QComboBox()
        for choice in DEVICE_CHOICES:
            self.device.addItem(choice, choice)
        self.device.setToolTip("Where the run trains: auto picks the GPU when there is one.")
        self.amp = QComboBox()
        for choice in AMP_CHOICES:
            self.amp.addItem(choice, choice)
        self.amp.setToolTip("Mixed precision on a GPU (bf16 or fp16): faster, less memory.")
        self.threads = QSpinBox()
        self.threads.setRange(1, max(1, os.cpu_count() or 1))
        self.threads.setValue(self.session.threads)
        self.threads.setToolTip("CPU threads of the run. One core is left to the app by default so painting stays smooth.")
        self.threads.valueChanged.connect(lambda n: setattr(self.session, "threads", n))
        self.deterministic = QCheckBox("Deterministic")
        self.deterministic.setToolTip("Bit-exact repeatable on the CPU (slower on a GPU).")
        for label, widget in (("Loss", self.loss), ("Seed", self.seed), ("Preview every", self.sample_every),
                              ("Checkpoint every", self.checkpoint_every), ("Log every", self.log_every),
                              ("Keep checkpoints", self.keep), ("Freeze D layers", self.freeze_d),
                              ("Device", self.device), ("Precision", self.amp), ("CPU threads", self.threads),
                              ("", self.deterministic)):
            form.addRow(label, widget)
        self.advanced.hide()
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        layout.addWidget(self.advanced)

    def _build_start(self, layout: QVBoxLayout) -> None:
        layout.addWidget(section("Run"))
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("trainRunName")
        self.name_edit.setPlaceholderText("name (default: family and date)")
        self.name_edit.setToolTip("The run's folder name inside the runs folder.")
        layout.addWidget(self.name_edit)
        self.folder_label = hint_label()
        self.folder_button = QPushButton("Change…")
        self.folder_button.setToolTip("Where runs are kept. The runs list shows every run in it, also after a restart.")
        self.folder_button.clicked.connect(self._choose_runs_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder_label, 1)
        row.addWidget(self.folder_button)
        layout.addLayout(row)
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("trainStart")
        self.start_button.setMinimumHeight(34)
        self.start_button.setStyleSheet("QPushButton { background: #2d5b88; border-color: #5b9bd5; color: white; font-weight: 600; }"
                                        "QPushButton:hover { background: #356aa0; }"
                                        "QPushButton:disabled { background: #3c3c40; color: #77777c; }")
        self.start_button.setToolTip("Check the dataset, create the run folder and start training in its own process.")
        self.start_button.clicked.connect(self.start)
        layout.addWidget(self.start_button)
        self.message = message_label("trainMessage")
        layout.addWidget(self.message)
        self._show_runs_folder()

    # ------------------------------------------------------------------ reacting

    @property
    def recipe(self) -> Recipe:
        return self.recipes[max(0, self.recipe_combo.currentIndex())]

    def _recipe_changed(self, _index: int) -> None:
        recipe = self.recipe
        self.recipe_text.setText(f"{recipe.description}<br><b>Opens in:</b> {recipe.info.opens_in} "
                                 f"&nbsp;·&nbsp; <b>family:</b> {recipe.info.title}")
        self.recipe_text.setTextFormat(Qt.TextFormat.RichText)
        unpaired = recipe.layout == "unpaired"
        self.layout_text.setText(LAYOUT_HINTS[recipe.layout])
        self.data_a.edit.setPlaceholderText("domain A folder" if unpaired else "dataset folder")
        self.data_b.setVisible(unpaired)
        self.from_ckpt.edit.setPlaceholderText("the checkpoint to fine-tune (needed)" if recipe.fine_tunes
                                              else "nothing: train from scratch")
        values = recipe.values
        self.resolution.set_chosen(values.get("resolution"))
        self.batch.set_chosen(values.get("batch"))
        self.steps.set_chosen(values.get("steps"))
        self.lr_g.set_chosen(values.get("lr_g"))
        self.lr_d.set_chosen(values.get("lr_d"))
        set_combo_data(self.augment, values.get("augment"))
        set_combo_data(self.loss, values.get("loss"))
        self.sample_every.set_chosen(values.get("sample_every"))
        self.checkpoint_every.set_chosen(values.get("checkpoint_every"))
        self.log_every.set_chosen(values.get("log_every"))
        self.keep.set_chosen(values.get("keep"))
        self.freeze_d.setValue(int(values.get("freeze_d") or 0))
        self._check_timer.start()

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _choose_runs_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the runs folder", str(self.session.runs_folder))
        if folder:
            self.session.set_runs_folder(folder)
            self._show_runs_folder()

    def _show_runs_folder(self) -> None:
        self.folder_label.setText(f"in {self.session.runs_folder}")

    # ------------------------------------------------------------------ the dataset check

    def data_dirs(self) -> tuple[str, ...]:
        dirs = [self.data_a.path()]
        if self.recipe.layout == "unpaired":
            dirs.append(self.data_b.path())
        return tuple(dirs)

    def check_now(self) -> None:
        dirs = self.data_dirs()
        if not all(dirs):
            return
        self.session.check_dataset(self.recipe.layout, dirs, self.resolution.chosen())

    def _check_started(self) -> None:
        self.report.setText(f"<span style='color:{HINT_COLOR}'>Checking the dataset…</span>")

    def _show_report(self, report: Any) -> None:
        if isinstance(report, str):
            self.report.setText(f"<span style='color:{ERROR_COLOR}'>{_escape(report)}</span>")
            return
        counts = ", ".join(f"{n} {k}" for k, n in report.counts.items()) or "nothing usable"
        if report.ok:
            head = f"<span style='color:{OK_COLOR}; font-weight:600'>✓ Ready: {counts}</span>"
        else:
            head = f"<span style='color:{ERROR_COLOR}; font-weight:600'>✗ Not ready</span>"
        lines = [head]
        for line in report.text().splitlines()[1:]:
            line = line.strip()
            if line in ("OK", "NOT READY: fix the errors above"):
                continue
            color = ERROR_COLOR if line.startswith("error:") else WARN_COLOR if line.startswith("warning:") else "#c8c8cc"
            lines.append(f"<span style='color:{color}'>{_escape(line)}</span>")
        self.report.setText("<br>".join(lines))

    # ------------------------------------------------------------------ start

    def chosen_values(self) -> dict[str, Any]:
        """The fields as TrainOptions values (None: the family's default)."""
        return {
            "resolution": self.resolution.chosen(), "batch": self.batch.chosen(), "steps": self.steps.chosen(),
            "lr_g": self.lr_g.chosen(), "lr_d": self.lr_d.chosen(), "augment": self.augment.currentData(),
            "loss": self.loss.currentData(), "seed": self.seed.value(),
            "sample_every": self.sample_every.chosen(), "checkpoint_every": self.checkpoint_every.chosen(),
            "log_every": self.log_every.chosen(), "keep": self.keep.chosen(),
            "freeze_d": self.freeze_d.value() or None, "device": self.device.currentData(), "amp": self.amp.currentData(),
            "deterministic": self.deterministic.isChecked() or None,
            "from_ckpt": self.from_ckpt.path() or None,
        }

    def run_name(self) -> str:
        return self.name_edit.text().strip() or f"{self.recipe.family}-{time.strftime('%Y%m%d-%H%M')}"

    def start(self) -> None:
        recipe = self.recipe
        if not recipe.available:
            self._show_message(f"Training {recipe.info.title} is not available in this build.", True)
            return
        dirs = self.data_dirs()
        if not all(dirs):
            self._show_message("Choose the dataset folder first." if len(dirs) == 1 else "Choose both folders (A and B) first.", True)
            return
        if recipe.fine_tunes and not self.from_ckpt.path():
            self._show_message("This preset fine-tunes a model: choose its checkpoint under Start from.", True)
            return
        opts = build_options(recipe, dirs, self.chosen_values())
        self._show_message("Checking the dataset before the start…", False)
        self.session.start(opts, self.run_name())

    def _show_message(self, text: str, error: bool) -> None:
        self.message.setStyleSheet(f"color: {ERROR_COLOR if error else HINT_COLOR};")
        self.message.setText(text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
