"""The Upscale dock: model picker (with network interpolation), scale, tile size, run/cancel,
apply/discard, and folder batches."""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gui.signals import blocked_signals
from gui.upscale.session import OUTSCALES, TILE_SIZES, UpscaleSession, model_label, network_scale
from gui.workspace_common import ModelJobPanel, hint_label, message_label, progress_bar, show_progress

log = logging.getLogger(__name__)

ALPHA_STEPS = 100


class UpscalePanel(ModelJobPanel):
    """Widgets write the session's settings; the session's signals update the widgets.

    ``open_model_requested(str)``: a checkpoint the user picked with "Open…" (the main window loads it)."""

    TITLE = "Upscale"
    MODEL_DIALOG_TITLE = "Open upscale model"
    MODEL_DIALOG_FILTER = "Model checkpoints (*.pth *.pt *.safetensors *.bin *.ckpt);;All files (*)"

    def __init__(self, session: UpscaleSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("upscalePanel")
        self.session = session
        layout = self.body_layout
        layout.addWidget(self._build_model_box())
        layout.addWidget(self._build_settings_box())
        run_rows = QVBoxLayout()
        self._build_run_rows(run_rows, "upscale", "Upscale image", "Upscale the document image with these settings",
                             "Replace the document image with the result (Edit > Undo brings it back)")
        layout.addLayout(run_rows)
        self.message = message_label("upscaleMessage")
        layout.addWidget(self.message)
        layout.addSpacing(6)
        layout.addWidget(self._build_batch_box())
        layout.addStretch(1)

        session.models_changed.connect(self.refresh)
        session.running_changed.connect(self._running_changed)
        session.progress.connect(self._show_progress)
        session.result_changed.connect(lambda _record: self._update_buttons())
        session.source_changed.connect(self._update_buttons)
        session.message.connect(self.message.setText)
        session.batch_running_changed.connect(self._batch_running_changed)
        session.batch_progress.connect(self._on_batch_progress)
        session.batch_finished.connect(self._show_batch)
        self.refresh()

    # ------------------------------------------------------------------ construction

    def _build_model_box(self) -> QGroupBox:
        box = QGroupBox("Model")
        form = QVBoxLayout(box)
        self._build_model_picker(form, "upscaleModelCombo",
                                 "Upscale models loaded in this session (File > Open model… adds one)",
                                 "Load another upscale checkpoint (.pth, .safetensors)")

        self.blend_check = QCheckBox("Blend with a second model")
        self.blend_check.setToolTip("Network interpolation: mix the weights of two models of the same architecture, "
                                    "e.g. ESRGAN's PSNR model (smooth) and GAN model (sharp, more texture)")
        self.blend_check.toggled.connect(self._on_blend_toggled)
        form.addWidget(self.blend_check)
        self.blend_combo = QComboBox()
        self.blend_combo.setObjectName("upscaleBlendCombo")
        self.blend_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.blend_combo.setMinimumContentsLength(12)
        self.blend_combo.currentIndexChanged.connect(self._on_blend_model)
        form.addWidget(self.blend_combo)
        alpha_row = QHBoxLayout()
        self.alpha_slider = QSlider(Qt.Orientation.Horizontal)
        self.alpha_slider.setObjectName("upscaleAlphaSlider")
        self.alpha_slider.setRange(0, ALPHA_STEPS)
        self.alpha_slider.setToolTip("0: only the first model; 1: only the second")
        self.alpha_slider.valueChanged.connect(self._on_alpha)
        self.alpha_label = QLabel()
        self.alpha_label.setMinimumWidth(64)
        alpha_row.addWidget(QLabel("First"))
        alpha_row.addWidget(self.alpha_slider, 1)
        alpha_row.addWidget(QLabel("Second"))
        form.addLayout(alpha_row)
        form.addWidget(self.alpha_label)
        return box

    def _build_settings_box(self) -> QGroupBox:
        box = QGroupBox("Settings")
        form = QFormLayout(box)
        self.scale_combo = QComboBox()
        self.scale_combo.setObjectName("upscaleScaleCombo")
        self.scale_combo.setToolTip("The network's own scale, or another one (Lanczos-resized after the network)")
        self.scale_combo.currentIndexChanged.connect(self._on_scale)
        form.addRow("Scale", self.scale_combo)
        self.tile_combo = QComboBox()
        self.tile_combo.setObjectName("upscaleTileCombo")
        for tile in TILE_SIZES:
            self.tile_combo.addItem("Whole image" if tile == 0 else f"{tile} px", tile)
        self.tile_combo.setToolTip("Tiles keep memory use low on big images (the result is the same). Whole image is "
                                   "fastest; when memory runs out the engine retries with smaller tiles by itself.")
        self.tile_combo.setCurrentIndex(self.tile_combo.findData(self.session.tile))
        self.tile_combo.currentIndexChanged.connect(lambda _i: self.session.set_tile(self.tile_combo.currentData()))
        form.addRow("Tile size", self.tile_combo)
        return box

    def _build_batch_box(self) -> QGroupBox:
        box = QGroupBox("Folder batch")
        form = QVBoxLayout(box)
        form.addWidget(hint_label("Every image in a folder, written as PNG with the same names into another folder."))
        self.source_edit, source_row = self._folder_row("Images in", "Folder of images to upscale")
        self.output_edit, output_row = self._folder_row("Write to", "Folder to write the upscaled PNGs into")
        form.addLayout(source_row)
        form.addLayout(output_row)
        run_row = QHBoxLayout()
        self.batch_button = QPushButton("Upscale folder")
        self.batch_button.setObjectName("upscaleBatchButton")
        self.batch_button.clicked.connect(self.run_batch)
        self.batch_cancel_button = QPushButton("Cancel")
        self.batch_cancel_button.clicked.connect(self.session.cancel_batch)
        run_row.addWidget(self.batch_button, 1)
        run_row.addWidget(self.batch_cancel_button)
        form.addLayout(run_row)
        self.batch_progress = progress_bar("upscaleBatchProgress")
        form.addWidget(self.batch_progress)
        self.batch_status = hint_label()
        form.addWidget(self.batch_status)
        self.batch_list = QListWidget()
        self.batch_list.setObjectName("upscaleBatchList")
        self.batch_list.setMaximumHeight(110)
        self.batch_list.hide()
        form.addWidget(self.batch_list)
        return box

    def _folder_row(self, label: str, title: str) -> tuple[QLineEdit, QHBoxLayout]:
        row = QHBoxLayout()
        name = QLabel(label)
        name.setMinimumWidth(56)
        edit = QLineEdit()
        edit.setPlaceholderText("folder…")
        browse = QPushButton("…")
        browse.setMaximumWidth(32)
        browse.setToolTip(title)

        def choose() -> None:
            folder = QFileDialog.getExistingDirectory(self, title, edit.text() or os.path.expanduser("~"))
            if folder:
                edit.setText(folder)

        browse.clicked.connect(choose)
        row.addWidget(name)
        row.addWidget(edit, 1)
        row.addWidget(browse)
        return edit, row

    # ------------------------------------------------------------------ session -> widgets

    def refresh(self) -> None:
        self._refresh_model_combo(model_label, "No upscale model loaded")
        self._refresh_model_info()
        self._refresh_blend()
        self._refresh_scales()
        self._update_buttons()

    def _refresh_model_info(self) -> None:
        model = self.session.model
        if model is None:
            self.model_info.setText("Open an ESRGAN, Real-ESRGAN, SRVGG or SRResNet checkpoint with "
                                    "File > Open model…; it appears here.")
            return
        scale = network_scale(model)
        self.model_info.setText(f"{model.family} · ×{scale or '?'} · {model.parameter_count:,} parameters")
        self.model_info.setToolTip(model.path)

    def _refresh_blend(self) -> None:
        session = self.session
        candidates = session.blend_candidates()
        with blocked_signals(self.blend_combo, self.blend_check):
            self.blend_combo.clear()
            for summary in candidates:
                self.blend_combo.addItem(model_label(summary), summary.path)
            if session.blend_model is not None:
                self.blend_combo.setCurrentIndex(self.blend_combo.findData(session.blend_model.path))
            self.blend_check.setChecked(session.blend_model is not None)
        self.blend_check.setEnabled(bool(candidates))
        self.blend_check.setToolTip(
            self.blend_check.toolTip() if candidates else
            "Load a second model of the same architecture (e.g. the PSNR and the GAN version of ESRGAN) to blend them")
        blending = session.blend_model is not None
        self.blend_combo.setVisible(bool(candidates))
        self.blend_combo.setEnabled(blending)
        self.alpha_slider.setEnabled(blending)
        with blocked_signals(self.alpha_slider):
            self.alpha_slider.setValue(round(session.blend_alpha * ALPHA_STEPS))
        self._refresh_alpha_label()

    def _refresh_alpha_label(self) -> None:
        session = self.session
        if session.blend_model is None:
            self.alpha_label.setText("No blend: the first model alone." if session.blend_candidates() else
                                     "To blend, load a second model of the same architecture.")
            return
        alpha = session.blend_alpha
        self.alpha_label.setText(f"{1 - alpha:.2f} × first + {alpha:.2f} × second")

    def _refresh_scales(self) -> None:
        scale = network_scale(self.session.model)
        current = self.session.outscale
        with blocked_signals(self.scale_combo):
            self.scale_combo.clear()
            self.scale_combo.addItem(f"×{scale} (the model's own)" if scale else "The model's own", None)
            for value in OUTSCALES:
                if scale is None or value != scale:
                    self.scale_combo.addItem(f"×{value:g}", value)
            index = self.scale_combo.findData(current) if current is not None else 0
            self.scale_combo.setCurrentIndex(max(0, index))
        if current is not None and index < 0:
            self.session.set_outscale(None)

    def _update_buttons(self) -> None:
        session = self.session
        has_model = session.model is not None
        self._update_run_buttons(has_model)
        batch = session.is_batch_running
        self.batch_button.setEnabled(has_model and not batch)
        self.batch_cancel_button.setEnabled(batch)

    def _batch_running_changed(self, running: bool) -> None:
        self.batch_progress.setVisible(running)
        if running:
            self.batch_list.clear()
            self.batch_list.hide()
            self.batch_status.setText("Starting…")
        else:
            self.batch_status.setText("")
        self._update_buttons()

    def _on_batch_progress(self, fraction: float | None, text: str) -> None:
        show_progress(self.batch_progress, fraction, text)
        if text:
            self.batch_status.setText(text)

    def _show_batch(self, result) -> None:
        self.batch_list.clear()
        for source, why in result.skipped:
            self.batch_list.addItem(f"✗ {os.path.basename(source)}: {why}")
        for source, output in result.written:
            self.batch_list.addItem(f"✓ {os.path.basename(source)} → {os.path.basename(output)}")
        self.batch_list.setVisible(self.batch_list.count() > 0)

    # ------------------------------------------------------------------ widgets -> session

    def _on_blend_toggled(self, checked: bool) -> None:
        if checked:
            path = self.blend_combo.currentData() or next((m.path for m in self.session.blend_candidates()), None)
            self.session.set_blend(path)
        else:
            self.session.set_blend(None)

    def _on_blend_model(self, index: int) -> None:
        path = self.blend_combo.itemData(index)
        if path and self.blend_check.isChecked():
            self.session.set_blend(path)

    def _on_alpha(self, value: int) -> None:
        self.session.set_blend_alpha(value / ALPHA_STEPS)
        self._refresh_alpha_label()

    def _on_scale(self, _index: int) -> None:
        self.session.set_outscale(self.scale_combo.currentData())

    def run_batch(self) -> bool:
        return self.session.run_batch(self.source_edit.text(), self.output_edit.text())
