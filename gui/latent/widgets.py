"""Small widgets the Latent panels share: a slider with a readout, a layer picker, thumbnails."""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QSlider,
    QWidget,
)

from engine.latent_types import SEED_MAX
from gui.canvas.qimage import array_to_qimage
from gui.latent.model_info import LAYER_PRESETS, PRESET_LABELS, describe_range, parse_range, preset_of, preset_range


def pixmap(image: np.ndarray, size: int) -> QPixmap:
    """An HxWx3 image scaled (smoothly) to fit ``size`` x ``size``."""
    return QPixmap.fromImage(array_to_qimage(image)).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def icon(image: np.ndarray | None, size: int = 48) -> QIcon:
    return QIcon() if image is None else QIcon(pixmap(image, size))


class SeedBox(QDoubleSpinBox):
    """A seed entry for the whole 0 .. 2**32 - 1 range (QSpinBox stops at 2**31 - 1)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDecimals(0)
        self.setRange(0, SEED_MAX)
        self.setSingleStep(1)
        self.setAccelerated(True)
        self.setToolTip(f"Seed: which latent (0 … {SEED_MAX}); the same seed gives the same image")

    def seed(self) -> int:
        return int(self.value())

    def set_seed(self, seed: int) -> None:
        with QSignalBlocker(self):
            self.setValue(float(seed))


class ValueSlider(QWidget):
    """A horizontal slider over ``[minimum, maximum]`` in steps of ``step``, with a readout.

    ``value_changed(float)`` fires on every move (live); :meth:`set_value` never emits.
    """

    value_changed = Signal(float)

    def __init__(self, minimum: float, maximum: float, step: float, value: float = 0.0,
                 fmt: Callable[[float], str] = lambda v: f"{v:.2f}", parent: QWidget | None = None):
        super().__init__(parent)
        self.step = float(step)
        self.fmt = fmt
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(minimum / step), round(maximum / step))
        self.slider.setMinimumWidth(90)
        self.readout = QLabel()
        self.readout.setMinimumWidth(48)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.readout)
        self.slider.valueChanged.connect(self._moved)
        self.set_value(value)

    def value(self) -> float:
        return self.slider.value() * self.step

    def set_range(self, minimum: float, maximum: float) -> None:
        """New limits (the value is kept when it fits, else clamped); never emits."""
        value = self.value()
        with QSignalBlocker(self.slider):
            self.slider.setRange(round(minimum / self.step), round(maximum / self.step))
        self.set_value(min(maximum, max(minimum, value)))

    def set_value(self, value: float) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(round(float(value) / self.step))
        self.readout.setText(self.fmt(self.value()))

    def _moved(self, position: int) -> None:
        self.readout.setText(self.fmt(position * self.step))
        self.value_changed.emit(position * self.step)


class LayerRangeCombo(QComboBox):
    """Pick a layer range: the presets (coarse / middle / fine ...) or a custom 'from-to'.

    ``range_changed(int, object)`` gives (start, end or None)."""

    range_changed = Signal(int, object)
    CUSTOM = "custom"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.layers = 1
        self._range: tuple[int, int | None] = (0, None)
        self.setToolTip("Which layers this applies to: coarse layers set pose and shape, fine ones colour and texture")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(9)
        self.activated.connect(self._activated)
        self.set_layers(1)

    def set_layers(self, layers: int) -> None:
        self.layers = max(1, int(layers))
        with QSignalBlocker(self):
            self.clear()
            for name in LAYER_PRESETS:
                start, end = preset_range(name, self.layers)
                self.addItem(f"{PRESET_LABELS[name]}", name)
                self.setItemData(self.count() - 1, f"Layers {start}–{end - 1}", Qt.ItemDataRole.ToolTipRole)
            self.addItem("Custom…", self.CUSTOM)
        self.set_range(*self._range)

    def set_range(self, start: int, end: int | None) -> None:
        self._range = (int(start), end)
        preset = preset_of(int(start), end, self.layers)
        with QSignalBlocker(self):
            if preset is not None:
                self.setCurrentIndex(self.findData(preset))
                self.setItemText(self.findData(self.CUSTOM), "Custom…")
            else:
                index = self.findData(self.CUSTOM)
                self.setItemText(index, describe_range(int(start), end, self.layers))
                self.setCurrentIndex(index)

    def _activated(self, index: int) -> None:
        data = self.itemData(index)
        if data == self.CUSTOM:
            start, end = self._range
            end = self.layers if end is None else end
            text, ok = QInputDialog.getText(self, "Layer range",
                                            f"Layers to use (0 … {self.layers - 1}), e.g. 4-8, 8- or 3:",
                                            text=f"{start}-{end}")
            if not ok:
                self.set_range(*self._range)
                return
            try:
                start, end = parse_range(text, self.layers)
            except ValueError as exc:
                self.setToolTip(str(exc))
                self.set_range(*self._range)
                return
        else:
            start, end = preset_range(data, self.layers)
        self.set_range(start, None if end >= self.layers else end)
        self.range_changed.emit(start, None if end >= self.layers else end)


class LayerChecks(QWidget):
    """One checkbox per w slot (coarse → fine); ``layers_changed(tuple)`` with the checked ones."""

    layers_changed = Signal(tuple)
    PER_ROW = 9

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(2)
        self.grid.setVerticalSpacing(0)
        self.boxes: list[QCheckBox] = []

    def set_layers(self, count: int) -> None:
        if count == len(self.boxes):
            return
        for box in self.boxes:
            box.deleteLater()
        self.boxes = []
        for k in range(count):
            box = QCheckBox(str(k))
            box.setToolTip(f"Layer {k} ({'coarse' if k < count / 4 else 'middle' if k < count / 2 else 'fine'})")
            box.toggled.connect(self._toggled)
            self.grid.addWidget(box, k // self.PER_ROW, k % self.PER_ROW)
            self.boxes.append(box)

    def set_checked(self, layers) -> None:
        chosen = set(layers)
        for k, box in enumerate(self.boxes):
            with QSignalBlocker(box):
                box.setChecked(k in chosen)

    def checked(self) -> tuple[int, ...]:
        return tuple(k for k, box in enumerate(self.boxes) if box.isChecked())

    def _toggled(self, _on: bool) -> None:
        self.layers_changed.emit(self.checked())


def thumbnail_label(size: int = 64) -> QLabel:
    label = QLabel()
    label.setFixedSize(QSize(size, size))
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("background: #202022; border: 1px solid #3c3c40; color: #808086;")
    label.setText("…")
    return label
