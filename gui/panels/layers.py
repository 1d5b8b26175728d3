"""The Layers dock: the document's layer stack, top first, and buttons for every layer operation.

Each row shows a thumbnail, the name (double-click or Rename to edit), the kind and a visibility
checkbox. Under the list: opacity, blend mode and lock of the selected layer; buttons add (image,
label or mask layer), delete, duplicate, rename, move up/down and flatten. Every change goes
through :class:`gui.document.DocumentModel`, so it is one undoable step; the panel only mirrors
the document (rebuilt on ``changed`` with its own signals blocked).
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.document import BLEND_MODES, Layer
from engine.document import colorize_labels, label_palette
from gui.canvas.qimage import array_to_qimage
from gui.signals import blocked_signals

log = logging.getLogger(__name__)

THUMBNAIL = 40
KIND_TEXT = {"image": "image", "labels": "label map", "mask": "mask"}
BLEND_TEXT = {"normal": "Normal"}


def thumbnail(document, layer: Layer, size: int = THUMBNAIL) -> np.ndarray:
    """A small RGB(A) picture of a layer (strided sampling: cheap even for huge layers)."""
    height, width = layer.size
    step = max(1, -(-max(height, width) // size))
    pixels = layer.pixels[::step, ::step]
    if layer.kind == "labels":
        return colorize_labels(pixels, label_palette(document, layer))
    if layer.kind == "mask":
        out = np.full(pixels.shape + (3,), 40, np.uint8)
        out[pixels] = 235
        return out
    return np.ascontiguousarray(pixels)


class LayersPanel(QWidget):
    """Layers dock. ``current_layer_changed(str | None)`` tells which layer is selected (its id)."""

    TITLE = "Layers"
    current_layer_changed = Signal(object)

    def __init__(self, document_model, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("layersPanel")
        self.docs = document_model
        self._current_id: str | None = None
        self._syncing = False
        layout = QVBoxLayout(self)

        self.list = QListWidget()
        self.list.setObjectName("layerList")
        self.list.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.list.setEditTriggers(QListWidget.EditTrigger.DoubleClicked | QListWidget.EditTrigger.EditKeyPressed)
        self.list.currentItemChanged.connect(self._on_current_item)
        self.list.itemChanged.connect(self._on_item_changed)
        layout.addWidget(self.list, 1)

        form = QFormLayout()
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Opacity of the selected layer (a drag is one undo step)")
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        self.opacity_label = QLabel("100%")
        row = QGridLayout()
        row.addWidget(self.opacity_slider, 0, 0)
        row.addWidget(self.opacity_label, 0, 1)
        form.addRow("Opacity", row)
        self.blend_combo = QComboBox()
        for mode in BLEND_MODES:
            self.blend_combo.addItem(BLEND_TEXT.get(mode, mode.title()), mode)
        self.blend_combo.currentIndexChanged.connect(self._on_blend)
        form.addRow("Blend", self.blend_combo)
        self.lock_check = QCheckBox("Lock pixels")
        self.lock_check.setToolTip("A locked layer cannot be painted on")
        self.lock_check.toggled.connect(self._on_lock)
        form.addRow("", self.lock_check)
        layout.addLayout(form)

        buttons = QGridLayout()
        self.add_button = QToolButton()
        self.add_button.setText("Add")
        self.add_button.setToolTip("Add an empty layer above the selected one")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_button)
        self.add_actions: dict[str, QAction] = {}
        for kind, text in (("image", "Image layer"), ("labels", "Label map layer"), ("mask", "Mask layer")):
            act = menu.addAction(text)
            act.triggered.connect(lambda _c=False, k=kind: self.add_layer(k))
            self.add_actions[kind] = act
        self.add_button.setMenu(menu)
        self.delete_button = QPushButton("Delete")
        self.duplicate_button = QPushButton("Duplicate")
        self.rename_button = QPushButton("Rename")
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.flatten_button = QPushButton("Flatten")
        self.flatten_button.setToolTip("Merge the visible image layers into one (label and mask layers stay)")
        self.delete_button.clicked.connect(self.delete_layer)
        self.duplicate_button.clicked.connect(self.duplicate_layer)
        self.rename_button.clicked.connect(self.start_rename)
        self.up_button.clicked.connect(lambda: self.move_layer(+1))
        self.down_button.clicked.connect(lambda: self.move_layer(-1))
        self.flatten_button.clicked.connect(self.docs_flatten)
        for i, button in enumerate((self.add_button, self.delete_button, self.duplicate_button, self.rename_button,
                                    self.up_button, self.down_button, self.flatten_button)):
            button.setMinimumWidth(60)
            buttons.addWidget(button, i // 4, i % 4)
        layout.addLayout(buttons)

        self.docs.changed.connect(self.refresh)
        self.docs.undo_stack.indexChanged.connect(lambda _index: self.refresh())  # strokes: new thumbnails
        self.refresh()

    # ------------------------------------------------------------------ document -> widgets

    @property
    def current_layer_id(self) -> str | None:
        return self._current_id

    def current_layer(self) -> Layer | None:
        doc = self.docs.document
        if doc is None or self._current_id is None:
            return None
        try:
            return doc.layer(self._current_id)
        except KeyError:
            return None

    def refresh(self) -> None:
        """Rebuild the rows from the document (top layer first), keeping the selection."""
        doc = self.docs.document
        self._syncing = True
        try:
            self.list.clear()
            layers = list(reversed(doc.layers)) if doc is not None else []
            ids = [layer.id for layer in layers]
            if self._current_id not in ids:
                self._current_id = ids[0] if ids else None
            for layer in layers:
                item = QListWidgetItem(self._icon(doc, layer), layer.name)
                item.setData(Qt.ItemDataRole.UserRole, layer.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
                lock = " · locked" if layer.locked else ""
                opacity = f" · {layer.opacity * 100:.0f}%" if layer.opacity < 1 else ""
                item.setToolTip(f"{layer.name}\n{KIND_TEXT[layer.kind]}{opacity}{lock}"
                                + ("\nhas a recipe (how it was made)" if layer.recipe else ""))
                item.setStatusTip(f"{KIND_TEXT[layer.kind]}{opacity}{lock}")
                self.list.addItem(item)
                if layer.id == self._current_id:
                    self.list.setCurrentItem(item)
        finally:
            self._syncing = False
        self._sync_controls()
        self.current_layer_changed.emit(self._current_id)

    def _icon(self, doc, layer: Layer) -> QIcon:
        try:
            picture = thumbnail(doc, layer)
            pixmap = QPixmap.fromImage(array_to_qimage(picture)).scaled(
                THUMBNAIL, THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
        except Exception:  # a thumbnail must never break the panel
            log.debug("thumbnail of %s failed", layer.name, exc_info=True)
            pixmap = QPixmap(THUMBNAIL, THUMBNAIL)
            pixmap.fill(Qt.GlobalColor.darkGray)
        return QIcon(pixmap)

    def _sync_controls(self) -> None:
        layer = self.current_layer()
        doc = self.docs.document
        has_layer = layer is not None
        for widget in (self.opacity_slider, self.blend_combo, self.lock_check, self.delete_button,
                       self.duplicate_button, self.rename_button):
            widget.setEnabled(has_layer)
        self.add_button.setEnabled(doc is not None)
        self.flatten_button.setEnabled(doc is not None and sum(l.kind == "image" for l in doc.layers) > 1)
        index = doc.index_of(layer.id) if has_layer else 0
        self.up_button.setEnabled(has_layer and index < len(doc.layers) - 1)
        self.down_button.setEnabled(has_layer and index > 0)
        with blocked_signals(self.opacity_slider, self.blend_combo, self.lock_check):
            if has_layer:
                self.opacity_slider.setValue(round(layer.opacity * 100))
                self.blend_combo.setCurrentIndex(max(0, self.blend_combo.findData(layer.blend_mode)))
                self.lock_check.setChecked(layer.locked)
            self.opacity_label.setText(f"{self.opacity_slider.value()}%")

    # ------------------------------------------------------------------ widgets -> document

    def _on_current_item(self, item: QListWidgetItem | None, _previous=None) -> None:
        if self._syncing:
            return
        self._current_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        self._sync_controls()
        self.current_layer_changed.emit(self._current_id)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._syncing:
            return
        layer_id = item.data(Qt.ItemDataRole.UserRole)
        visible = item.checkState() == Qt.CheckState.Checked
        name = item.text()
        layer = self.docs.layer(layer_id)
        if visible != layer.visible:
            self.docs.set_layer_visible(layer_id, visible)
        elif name != layer.name:
            if name.strip():
                self.docs.rename_layer(layer_id, name)
            else:
                self.refresh()  # an empty name is not a name: show the old one again

    def _on_opacity(self, value: int) -> None:
        self.opacity_label.setText(f"{value}%")
        if self._current_id is not None:
            self.docs.set_layer_opacity(self._current_id, value / 100.0)

    def _on_blend(self, row: int) -> None:
        if self._current_id is not None and row >= 0:
            self.docs.set_layer_blend_mode(self._current_id, self.blend_combo.itemData(row))

    def _on_lock(self, locked: bool) -> None:
        if self._current_id is not None:
            self.docs.set_layer_locked(self._current_id, locked)

    def select_layer(self, layer_id: str) -> None:
        self._current_id = layer_id
        self.refresh()

    def add_layer(self, kind: str = "image") -> Layer | None:
        doc = self.docs.document
        if doc is None:
            return None
        current = self.current_layer()
        index = doc.index_of(current.id) + 1 if current is not None else None
        label_set = None
        if kind == "labels":
            top = doc.top("labels")
            label_set = top.label_set if top is not None else None
        layer = self.docs.new_layer(kind, label_set=label_set, index=index)
        self.select_layer(layer.id)
        return layer

    def delete_layer(self) -> None:
        if self.current_layer() is not None:
            doc = self.docs.document
            index = doc.index_of(self._current_id)
            self.docs.delete_layer(self._current_id)
            if doc.layers:
                self.select_layer(doc.layers[max(0, index - 1)].id)

    def duplicate_layer(self) -> Layer | None:
        if self.current_layer() is None:
            return None
        copy = self.docs.duplicate_layer(self._current_id)
        self.select_layer(copy.id)
        return copy

    def start_rename(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    def move_layer(self, delta: int) -> None:
        """Move the selected layer ``delta`` places up (+) or down (-) the stack."""
        layer = self.current_layer()
        if layer is not None:
            self.docs.move_layer(layer.id, self.docs.document.index_of(layer.id) + delta)

    def docs_flatten(self) -> None:
        self.docs.flatten()
