"""The Inpaint dock: model picker, mask tools and operations, feather, fill/cancel, apply/discard."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.inpaint import masks
from gui.inpaint.session import MAX_BRUSH, MAX_FEATHER, InpaintSession, model_label
from gui.signals import blocked_signals
from gui.workspace_common import CHECKABLE_STYLE, ERROR_COLOR, ModelJobPanel, hint_label, message_label

log = logging.getLogger(__name__)

TOOL_LABELS = {
    "brush": ("Brush", "Paint the mask (right button: remove)"),
    "eraser": ("Eraser", "Remove from the mask (right button: add)"),
    "rect": ("Rectangle", "Drag a rectangle to mask (right button: unmask it)"),
    "lasso": ("Lasso", "Draw round an area to mask it (right button: unmask it)"),
}


class InpaintPanel(ModelJobPanel):
    """Widgets write the session's settings; the session's signals update the widgets.

    ``open_model_requested(str)``: a checkpoint the user picked with "Open…" (the main window loads it)."""

    TITLE = "Inpaint"
    MODEL_DIALOG_TITLE = "Open inpainting model"
    MODEL_DIALOG_FILTER = "Model checkpoints (*.safetensors *.pth *.pt *.bin);;All files (*)"

    def __init__(self, session: InpaintSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inpaintPanel")
        self.session = session
        layout = self.body_layout
        layout.addWidget(self._build_model_box())
        layout.addWidget(self._build_mask_box())
        layout.addWidget(self._build_fill_box())
        layout.addStretch(1)

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
        self._build_model_picker(QVBoxLayout(box), "inpaintModelCombo",
                                 "Inpainting models loaded in this session, newest first",
                                 "Load an inpainting checkpoint (a context encoder, .safetensors)")
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
        form.addWidget(hint_label("Left button adds, right button removes · [ ] brush size · Esc cancels a stroke"))
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

        self._build_run_rows(layout, "inpaint", "Fill masked area", "Let the model fill the masked pixels of the image",
                             "Put the fill into the top image layer — only the masked pixels change "
                             "(Edit > Undo takes it back)", cancel_name="inpaintCancelButton")
        self.clear_after_check = QCheckBox("Clear the mask after applying")
        self.clear_after_check.setToolTip("Off: keep the mask, to adjust it and fill again (several passes refine)")
        self.clear_after_check.setChecked(self.session.clear_mask_after_apply)
        self.clear_after_check.toggled.connect(lambda on: setattr(self.session, "clear_mask_after_apply", bool(on)))
        layout.addWidget(self.clear_after_check)

        self.message = message_label("inpaintMessage")
        layout.addWidget(self.message)
        return box

    # ------------------------------------------------------------------ session -> widgets

    def refresh(self) -> None:
        session = self.session
        self._refresh_model_combo(model_label, "No inpainting model loaded")
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
            with blocked_signals(widget):
                widget.setValue(round(self.session.mask_tool.size))

    def _update_mask_buttons(self) -> None:
        mask = self.session.mask()
        has_mask = mask is not None and bool(mask.any())
        has_image = self.session.docs.has_image
        for button in (self.clear_button, self.grow_button, self.shrink_button):
            button.setEnabled(has_mask)
        self.invert_button.setEnabled(has_image)

    def _update_buttons(self) -> None:
        session = self.session
        self._update_run_buttons(session.model is not None and session.docs.has_image)
        self._update_mask_buttons()

    def show_message(self, text: str, level: str = "info") -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {ERROR_COLOR};" if level == "error" else "")

    # ------------------------------------------------------------------ widgets -> session

    def _on_size(self, value: int) -> None:
        self.session.set_brush_size(value)
        for widget in (self.size_slider, self.size_spin):
            if widget.value() != value:
                with blocked_signals(widget):
                    widget.setValue(value)
