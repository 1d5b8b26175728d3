"""The Inpaint dock: model picker, mask tools and operations, feather, fill/cancel, apply/discard."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.inpaint import masks
from gui.inpaint.session import MAX_BRUSH, MAX_FEATHER, InpaintSession, model_label

log = logging.getLogger(__name__)

TOOL_LABELS = {
    "brush": ("Brush", "Paint the mask (right button: remove)"),
    "eraser": ("Eraser", "Remove from the mask (right button: add)"),
    "rect": ("Rectangle", "Drag a rectangle to mask (right button: unmask it)"),
    "lasso": ("Lasso", "Draw round an area to mask it (right button: unmask it)"),
}
HINT_COLOR = "#a8a8ae"
#: checkable buttons (mask tools, Mask/Compare) show which one is on
CHECKABLE_STYLE = (
    "QToolButton, QPushButton { padding: 4px 8px; border: 1px solid #55555a; border-radius: 3px; background: #3c3c40; }"
    "QToolButton:hover, QPushButton:hover { background: #46464b; }"
    "QToolButton:checked, QPushButton:checked { background: #2d5b88; border-color: #5b9bd5; color: white; }"
    "QToolButton:disabled, QPushButton:disabled { color: #77777c; }"
)
ERROR_COLOR = "#ff8a80"


class InpaintPanel(QWidget):
    """Widgets write the session's settings; the session's signals update the widgets."""

    TITLE = "Inpaint"
    #: a checkpoint the user picked with "Open…" (the main window loads it)
    open_model_requested = Signal(str)

    def __init__(self, session: InpaintSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inpaintPanel")
        self.session = session
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self._build_model_box())
        layout.addWidget(self._build_mask_box())
        layout.addWidget(self._build_fill_box())
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        session.models_changed.connect(self.refresh)
        session.running_changed.connect(self._running_changed)
        session.progress.connect(self._show_progress)
        session.result_changed.connect(lambda _record: self._update_buttons())
        session.document_changed.connect(self._update_buttons)
        session.mask_changed.connect(lambda _rect: self._update_mask_buttons())
        session.tool_changed.connect(self._tool_changed)
        session.brush_size_changed.connect(lambda _size: self._tool_changed(session.mask_tool.tool))
        session.message.connect(self.show_message)
        self.refresh()

    # ------------------------------------------------------------------ construction

    def _build_model_box(self) -> QGroupBox:
        box = QGroupBox("Model")
        form = QVBoxLayout(box)
        row = QHBoxLayout()
        self.model_combo = QComboBox()
        self.model_combo.setObjectName("inpaintModelCombo")
        self.model_combo.setToolTip("Inpainting models loaded in this session, newest first")
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(12)
        self.model_combo.currentIndexChanged.connect(self._on_model)
        row.addWidget(self.model_combo, 1)
        self.open_model_button = QPushButton("Open…")
        self.open_model_button.setToolTip("Load an inpainting checkpoint (a context encoder, .safetensors)")
        self.open_model_button.clicked.connect(self.choose_model)
        row.addWidget(self.open_model_button)
        form.addLayout(row)
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        self.model_info.setStyleSheet(f"color: {HINT_COLOR};")
        form.addWidget(self.model_info)
        return box

    def _build_mask_box(self) -> QGroupBox:
        box = QGroupBox("Mask")
        form = QVBoxLayout(box)
        tools_row = QGridLayout()
        self.tool_group = QButtonGroup(self)
        self.tool_group.setExclusive(True)
        self.tool_buttons: dict[str, QToolButton] = {}
        for i, (tool, (label, tip)) in enumerate(TOOL_LABELS.items()):
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            button.setStyleSheet(CHECKABLE_STYLE)
            button.clicked.connect(lambda _c=False, t=tool: self.session.set_tool(t))
            self.tool_group.addButton(button)
            self.tool_buttons[tool] = button
            tools_row.addWidget(button, i // 2, i % 2)
        form.addLayout(tools_row)

        size_row = QHBoxLayout()
        size_row.addWidget(QLabel("Size"))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setObjectName("inpaintBrushSize")
        self.size_slider.setRange(1, MAX_BRUSH)
        self.size_slider.setToolTip("Brush diameter in image pixels ([ and ] on the image)")
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, MAX_BRUSH)
        self.size_spin.setSuffix(" px")
        self.size_slider.valueChanged.connect(self._on_size)
        self.size_spin.valueChanged.connect(self._on_size)
        size_row.addWidget(self.size_slider, 1)
        size_row.addWidget(self.size_spin)
        form.addLayout(size_row)

        self.show_mask_check = QCheckBox("Show the mask over the image")
        self.show_mask_check.setChecked(self.session.overlay_visible)
        self.show_mask_check.toggled.connect(self.session.set_overlay_visible)
        form.addWidget(self.show_mask_check)

        ops = QGridLayout()
        self.invert_button = QPushButton("Invert")
        self.invert_button.setToolTip("Mask what is not masked and the other way round")
        self.invert_button.clicked.connect(self.session.invert_mask)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Empty the mask")
        self.clear_button.clicked.connect(self.session.clear_mask)
        self.grow_button = QPushButton("Grow")
        self.grow_button.setToolTip("Widen the mask by the given number of pixels")
        self.grow_button.clicked.connect(lambda: self.session.grow_mask())
        self.shrink_button = QPushButton("Shrink")
        self.shrink_button.setToolTip("Narrow the mask by the given number of pixels")
        self.shrink_button.clicked.connect(lambda: self.session.shrink_mask())
        self.grow_spin = QSpinBox()
        self.grow_spin.setObjectName("inpaintGrowBy")
        self.grow_spin.setRange(1, masks.MAX_RADIUS)
        self.grow_spin.setPrefix("by ")
        self.grow_spin.setSuffix(" px")
        self.grow_spin.setValue(self.session.mask_tool.grow_by)
        self.grow_spin.valueChanged.connect(lambda v: setattr(self.session.mask_tool, "grow_by", int(v)))
        ops.addWidget(self.grow_button, 0, 0)
        ops.addWidget(self.shrink_button, 0, 1)
        ops.addWidget(self.grow_spin, 0, 2)
        ops.addWidget(self.invert_button, 1, 0)
        ops.addWidget(self.clear_button, 1, 1)
        form.addLayout(ops)
        hint = QLabel("Left button adds, right button removes · [ ] brush size · Esc cancels a stroke")
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {HINT_COLOR};")
        form.addWidget(hint)
        return box

    def _build_fill_box(self) -> QGroupBox:
        box = QGroupBox("Fill")
        layout = QVBoxLayout(box)
        form = QFormLayout()
        self.feather_spin = QSpinBox()
        self.feather_spin.setObjectName("inpaintFeather")
        self.feather_spin.setRange(0, MAX_FEATHER)
        self.feather_spin.setSuffix(" px")
        self.feather_spin.setValue(self.session.feather)
        self.feather_spin.setToolTip("Width of the band inside the mask's edge where the fill fades in from the "
                                     "original (0: a hard edge). Pixels outside the mask never change.")
        self.feather_spin.valueChanged.connect(self.session.set_feather)
        form.addRow("Feather", self.feather_spin)
        layout.addLayout(form)

        run_row = QHBoxLayout()
        self.run_button = QPushButton("Fill masked area")
        self.run_button.setObjectName("inpaintRunButton")
        self.run_button.setDefault(True)
        self.run_button.setToolTip("Let the model fill the masked pixels of the image")
        self.run_button.clicked.connect(self.session.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("inpaintCancelButton")
        self.cancel_button.clicked.connect(self.session.cancel)
        run_row.addWidget(self.run_button, 1)
        run_row.addWidget(self.cancel_button)
        layout.addLayout(run_row)
        self.progress = QProgressBar()
        self.progress.setObjectName("inpaintProgress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.progress.hide()
        layout.addWidget(self.progress)

        apply_row = QHBoxLayout()
        self.apply_button = QPushButton("Apply to image")
        self.apply_button.setObjectName("inpaintApplyButton")
        self.apply_button.setToolTip("Put the fill into the top image layer — only the masked pixels change "
                                     "(Edit > Undo takes it back)")
        self.apply_button.clicked.connect(self.session.apply)
        self.discard_button = QPushButton("Discard")
        self.discard_button.clicked.connect(self.session.discard)
        apply_row.addWidget(self.apply_button, 1)
        apply_row.addWidget(self.discard_button)
        layout.addLayout(apply_row)
        self.clear_after_check = QCheckBox("Clear the mask after applying")
        self.clear_after_check.setToolTip("Off: keep the mask, to adjust it and fill again (several passes refine)")
        self.clear_after_check.setChecked(self.session.clear_mask_after_apply)
        self.clear_after_check.toggled.connect(lambda on: setattr(self.session, "clear_mask_after_apply", bool(on)))
        layout.addWidget(self.clear_after_check)

        self.message = QLabel()
        self.message.setObjectName("inpaintMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        return box

    # ------------------------------------------------------------------ session -> widgets

    def refresh(self) -> None:
        session = self.session
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for summary in session.models:
            self.model_combo.addItem(model_label(summary), summary.path)
            self.model_combo.setItemData(self.model_combo.count() - 1, summary.path, Qt.ItemDataRole.ToolTipRole)
        if session.model is not None:
            self.model_combo.setCurrentIndex(self.model_combo.findData(session.model.path))
        else:
            self.model_combo.addItem("No inpainting model loaded")
        self.model_combo.blockSignals(False)
        self.model_combo.setEnabled(bool(session.models))
        model = session.model
        if model is None:
            self.model_info.setText("Open a context-encoder checkpoint with File > Open model… or Open…; "
                                    "it appears here.")
        else:
            self.model_info.setText(f"{model.family.replace('_', ' ')} · {model.parameter_count:,} parameters")
            self.model_info.setToolTip(model.path)
        self._tool_changed(session.mask_tool.tool)
        self._update_buttons()

    def _tool_changed(self, tool: str) -> None:
        self.tool_buttons[tool].setChecked(True)
        brush = tool in ("brush", "eraser")
        for widget in (self.size_slider, self.size_spin):
            widget.setEnabled(brush)
            widget.blockSignals(True)
            widget.setValue(round(self.session.mask_tool.size))
            widget.blockSignals(False)

    def _update_mask_buttons(self) -> None:
        mask = self.session.mask()
        has_mask = mask is not None and bool(mask.any())
        has_image = self.session.docs.has_image
        for button in (self.clear_button, self.grow_button, self.shrink_button):
            button.setEnabled(has_mask)
        self.invert_button.setEnabled(has_image)

    def _update_buttons(self) -> None:
        session = self.session
        running = session.is_running
        self.run_button.setEnabled(session.model is not None and session.docs.has_image and not running)
        self.cancel_button.setEnabled(running)
        self.apply_button.setEnabled(session.last is not None and not running)
        self.discard_button.setEnabled(session.last is not None and not running)
        self._update_mask_buttons()

    def _running_changed(self, running: bool) -> None:
        self.progress.setVisible(running)
        self._update_buttons()

    def _show_progress(self, fraction: float | None, text: str) -> None:
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(fraction * 1000))
        self.progress.setToolTip(text)

    def show_message(self, text: str, level: str = "info") -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {ERROR_COLOR};" if level == "error" else "")

    # ------------------------------------------------------------------ widgets -> session

    def _on_model(self, index: int) -> None:
        path = self.model_combo.itemData(index)
        if path:
            self.session.select_model(path)

    def _on_size(self, value: int) -> None:
        self.session.set_brush_size(value)
        for widget in (self.size_slider, self.size_spin):
            if widget.value() != value:
                widget.blockSignals(True)
                widget.setValue(value)
                widget.blockSignals(False)

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open inpainting model", "", "Model checkpoints (*.safetensors *.pth *.pt *.bin);;All files (*)")
        if path:
            self.open_model_requested.emit(path)
