"""The options dialog: every option a checkpoint leaves open, at once, with the right widget each.

Built from an :class:`engine.open_options.OptionsQuestion` (what the loader knows): a word-wrapped
summary, one row per option (a spin box for numbers, a check box for yes/no, a list for choices,
a line for free text) with its plain-words help, dataset presets that set several options and the
label set in one click, a label-set choice, and a line that says whether the values fit the weights
(OK stays off until they do). Guessed values come pre-filled and marked, never applied silently.
"Remember for this file" (on by default) asks the caller to store the answers in the sidecar JSON.

The dialog is at most :data:`MAX_WIDTH` px wide; long texts wrap. Nothing here imports torch.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.labelsets import BUILTIN_NAMES
from engine.open_options import OptionsQuestion, OptionSpec, layout_problem

MAX_WIDTH = 640
GUESSED_MARK = "  (guessed: check it)"
CHOOSE_FILE_TEXT = "Label-set JSON file…"
LABEL_SET_NAMES = {"ade20k": "ADE20K (150 classes)", "cocostuff": "COCO-Stuff (182 classes)",
                   "cityscapes": "Cityscapes (35 classes)", "world": "World (GAN Studio starter set)"}


def _wrapped(text: str, muted: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if muted:
        label.setStyleSheet("color: #a8a8ad;")
    return label


class OptionsDialog(QDialog):
    """Ask every open option of ``question`` at once; :meth:`values` after ``exec()`` accepted."""

    def __init__(self, question: OptionsQuestion, parent: QWidget | None = None):
        super().__init__(parent)
        self.question = question
        self.setObjectName("optionsDialog")
        self.setWindowTitle("Options this model needs")
        self.setMaximumWidth(MAX_WIDTH)
        self.editors: dict[str, QWidget] = {}
        self.preset_buttons: dict[str, QPushButton] = {}
        self._extra_label_sets: list[str] = []

        layout = QVBoxLayout(self)
        self.summary_label = _wrapped(question.summary)
        layout.addWidget(self.summary_label)
        if question.presets:
            layout.addLayout(self._preset_row())
        form = QFormLayout()
        for spec in question.options:
            editor = self._editor(spec)
            self.editors[spec.name] = editor
            label = spec.label + (GUESSED_MARK if spec.guessed else "")
            form.addRow(label, editor)
            if spec.help:  # the whole width, under its option, so it wraps into few lines
                form.addRow(_wrapped(spec.help, muted=True))
        self.label_set_box: QComboBox | None = None
        if question.ask_label_set:
            self.label_set_box = self._label_set_box()
            form.addRow("Label set (class names and colours)", self.label_set_box)
        layout.addLayout(form)
        self.problem_label = _wrapped("")
        self.problem_label.setStyleSheet("color: #ff9f8a;")
        layout.addWidget(self.problem_label)
        self.remember_box = QCheckBox("Remember for this file (saved next to it, for the app and the command line)")
        self.remember_box.setChecked(True)
        layout.addWidget(self.remember_box)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Open model")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._check()

    # ------------------------------------------------------------------ building

    def _preset_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Trained on:"))
        for preset in self.question.presets:
            button = QPushButton(preset.name)
            button.setToolTip("Set " + ", ".join(f"{k}={v}" for k, v in preset.values.items())
                              + (f" and the {preset.label_set} label set" if preset.label_set else ""))
            button.clicked.connect(lambda _checked=False, preset=preset: self.apply_preset(preset.name))
            row.addWidget(button)
            self.preset_buttons[preset.name] = button
        row.addStretch(1)
        return row

    def _editor(self, spec: OptionSpec) -> QWidget:
        if spec.kind == "bool":
            editor: QWidget = QCheckBox("yes")
            editor.setChecked(bool(spec.value))
            editor.toggled.connect(self._check)
        elif spec.kind == "int":
            editor = QSpinBox()
            editor.setRange(int(spec.minimum if spec.minimum is not None else 0),
                            int(spec.maximum if spec.maximum is not None else 1_000_000))
            editor.setSpecialValueText("")
            if spec.value is not None:
                editor.setValue(int(spec.value))
            editor.valueChanged.connect(self._check)
        elif spec.kind == "float":
            editor = QDoubleSpinBox()
            editor.setDecimals(3)
            editor.setRange(spec.minimum if spec.minimum is not None else 0.0,
                            spec.maximum if spec.maximum is not None else 1e6)
            if spec.value is not None:
                editor.setValue(float(spec.value))
            editor.valueChanged.connect(self._check)
        elif spec.kind == "choice":
            editor = QComboBox()
            editor.addItems(list(spec.choices))
            if spec.value is not None and str(spec.value) in spec.choices:
                editor.setCurrentText(str(spec.value))
            editor.currentIndexChanged.connect(self._check)
        else:
            editor = QLineEdit("" if spec.value is None else str(spec.value))
            editor.textChanged.connect(self._check)
        editor.setObjectName(f"option_{spec.name}")
        return editor

    def _label_set_box(self) -> QComboBox:
        box = QComboBox()
        box.setObjectName("labelSetBox")
        box.addItem("Numbered classes (class 0, class 1 …)", None)
        for name in BUILTIN_NAMES:
            box.addItem(LABEL_SET_NAMES.get(name, name), name)
        box.addItem(CHOOSE_FILE_TEXT, "")
        self.label_set_box = box
        if self.question.label_set:
            self.set_label_set(self.question.label_set)
        box.activated.connect(self._label_set_activated)
        return box

    # ------------------------------------------------------------------ behaviour

    def apply_preset(self, name: str) -> None:
        """Set the values (and label set) of the preset called ``name``."""
        preset = next(p for p in self.question.presets if p.name == name)
        for option, value in preset.values.items():
            editor = self.editors.get(option)
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                editor.setValue(value)
            elif isinstance(editor, QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, QLineEdit):
                editor.setText(str(value))
        if preset.label_set:
            self.set_label_set(preset.label_set)
        self._check()

    def set_label_set(self, value: str) -> None:
        """Pick a built-in set by name, or a JSON file by path (added to the list)."""
        if self.label_set_box is None:
            return
        index = self.label_set_box.findData(value)
        if index < 0:
            self.label_set_box.insertItem(self.label_set_box.count() - 1, value, value)
            index = self.label_set_box.findData(value)
        self.label_set_box.setCurrentIndex(index)

    def _label_set_activated(self, index: int) -> None:
        if self.label_set_box is None or self.label_set_box.itemData(index) != "":
            return
        path, _ = QFileDialog.getOpenFileName(self, "Label set", "", "Label sets (*.json);;All files (*)")
        if path:
            self.set_label_set(path)
        else:
            self.label_set_box.setCurrentIndex(0)

    def values(self) -> dict[str, Any]:
        """The answers: official option names to values (``label_set`` included when chosen)."""
        out: dict[str, Any] = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QCheckBox):
                out[name] = editor.isChecked()
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                out[name] = editor.value()
            elif isinstance(editor, QComboBox):
                out[name] = editor.currentText()
            elif isinstance(editor, QLineEdit):
                text = editor.text().strip()
                if text:
                    from engine.commands.common import parse_option_value

                    out[name] = parse_option_value(text)
        if self.label_set_box is not None and self.label_set_box.currentData():
            out["label_set"] = self.label_set_box.currentData()
        return out

    def problem(self) -> str | None:
        """Why the current values cannot be right (None when they may be)."""
        values = self.values()
        missing = [s.label for s in self.question.options if s.kind == "text" and s.name not in values]
        if missing:
            return "Fill in: " + ", ".join(missing) + "."
        return layout_problem(values, self.question.channels)

    def _check(self, *_args) -> None:
        problem = self.problem()
        self.problem_label.setText(problem or "")
        self.problem_label.setVisible(bool(problem))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)
