"""Dock panels of the Paint workspace: tools + palette (:class:`PaintPanel`) and style (:class:`StylePanel`)."""

from __future__ import annotations

import logging
import random

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine import labelsets
from engine.errors import EngineError
from gui.canvas.qimage import array_to_qimage
from gui.dialogs.options_dialog import CHOOSE_FILE_TEXT, LABEL_SET_NAMES
from gui.paint.session import BRUSH_SIZE_RANGE, PaintSession
from gui.recipes import choose_recipe_file
from gui.signals import blocked_signals

log = logging.getLogger(__name__)

TOOL_LABELS = {
    "brush": ("Brush", "B", "Paint the chosen class"),
    "line": ("Line", "L", "Drag a straight line of the chosen class"),
    "rect": ("Rect", "R", "Drag a filled rectangle of the chosen class"),
    "fill": ("Fill", "G", "Flood-fill a connected region with the chosen class"),
    "eraser": ("Eraser", "E", "Paint the eraser class (background)"),
    "picker": ("Pick", "I", "Eyedropper: pick the class under the cursor"),
    "instance": ("Instance", "N", "Paint instance ids (pix2pixHD): each id is one object"),
}


def _swatch(color) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(int(color[0]), int(color[1]), int(color[2])))
    return QIcon(pixmap)


class PaintPanel(QWidget):
    """Tools, brush size/hardness, the searchable class palette, view mode, import/export."""

    view_mode_changed = Signal(str, float)  # "side"/"overlay", label opacity

    def __init__(self, session: PaintSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)

        tools_grid = QGridLayout()
        self.tool_group = QButtonGroup(self)
        self.tool_group.setExclusive(True)
        self.tool_buttons: dict[str, QToolButton] = {}
        for i, (tool, (label, key, tip)) in enumerate(TOOL_LABELS.items()):
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setToolTip(f"{tip} ({key})")
            button.setShortcut(key)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setMinimumWidth(64)
            button.clicked.connect(lambda _c=False, t=tool: self.set_tool(t))
            self.tool_group.addButton(button)
            self.tool_buttons[tool] = button
            tools_grid.addWidget(button, i // 4, i % 4)
        layout.addLayout(tools_grid)

        form = QFormLayout()
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(*BRUSH_SIZE_RANGE)
        self.size_slider.setToolTip("Brush diameter in pixels ([ and ] resize)")
        self.size_slider.valueChanged.connect(lambda v: setattr(session.brush, "size", float(v)))
        form.addRow("Size", self.size_slider)
        self.hardness_slider = QSlider(Qt.Orientation.Horizontal)
        self.hardness_slider.setRange(0, 100)
        self.hardness_slider.setToolTip("Edge hardness: soft edges stipple whole pixels of the class, never blend colours")
        self.hardness_slider.valueChanged.connect(lambda v: setattr(session.brush, "hardness", v / 100.0))
        form.addRow("Hardness", self.hardness_slider)
        self.instance_spin = QSpinBox()
        self.instance_spin.setRange(0, 1_000_000)
        self.instance_spin.valueChanged.connect(lambda v: setattr(session.brush, "instance_id", int(v)))
        form.addRow("Instance id", self.instance_spin)
        layout.addLayout(form)

        label_set_row = QHBoxLayout()
        label_set_row.addWidget(QLabel("Label set"))
        self.label_set_combo = QComboBox()
        self.label_set_combo.setObjectName("paintLabelSet")
        self.label_set_combo.setToolTip("The names and colours of the model's classes: a shipped set or a JSON file")
        self.label_set_combo.addItem("From the model", None)
        for name in labelsets.BUILTIN_NAMES:
            self.label_set_combo.addItem(LABEL_SET_NAMES.get(name, name), name)
        self.label_set_combo.addItem(CHOOSE_FILE_TEXT, "")
        self.label_set_combo.activated.connect(self._on_label_set)
        label_set_row.addWidget(self.label_set_combo, 1)
        layout.addLayout(label_set_row)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search classes (e.g. sky, sea, tree)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        layout.addWidget(self.search)
        self.class_list = QListWidget()
        self.class_list.setIconSize(QSize(14, 14))
        self.class_list.currentItemChanged.connect(self._on_class_item)
        layout.addWidget(self.class_list, 1)
        self.current_label = QLabel()
        layout.addWidget(self.current_label)
        eraser_row = QHBoxLayout()
        eraser_row.addWidget(QLabel("Eraser class"))
        self.eraser_combo = QComboBox()
        self.eraser_combo.currentIndexChanged.connect(self._on_eraser)
        eraser_row.addWidget(self.eraser_combo, 1)
        layout.addLayout(eraser_row)

        view_row = QHBoxLayout()
        self.view_combo = QComboBox()
        self.view_combo.addItem("Side by side", "side")
        self.view_combo.addItem("Overlay", "overlay")
        self.view_combo.currentIndexChanged.connect(self._emit_view)
        view_row.addWidget(self.view_combo)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setToolTip("Label map opacity over the rendered image (overlay view)")
        self.opacity_slider.valueChanged.connect(self._emit_view)
        view_row.addWidget(self.opacity_slider)
        layout.addLayout(view_row)

        buttons = QGridLayout()
        self.import_button = QPushButton("Import labels…")
        self.import_button.setToolTip("Open a label map PNG (class indices, or colours of this palette)")
        self.import_button.clicked.connect(self.import_labels)
        self.export_labels_button = QPushButton("Export labels…")
        self.export_labels_button.clicked.connect(self.export_labels)
        self.export_button = QPushButton("Export image…")
        self.export_button.setToolTip("Save the rendered image as PNG with its recipe")
        self.export_button.clicked.connect(self.export_image)
        self.recipe_button = QPushButton("Open recipe…")
        self.recipe_button.setToolTip("Restore model, seed and style from a PNG exported by GAN Studio")
        self.recipe_button.clicked.connect(self.open_recipe)
        self.send_button = QPushButton("Send to new layer")
        self.send_button.setToolTip("Put the rendered image into the document as a new image layer, with its recipe")
        self.send_button.clicked.connect(self.send_to_layer)
        for i, b in enumerate((self.import_button, self.export_labels_button, self.export_button, self.recipe_button,
                               self.send_button)):
            buttons.addWidget(b, i // 3, i % 3)
        layout.addLayout(buttons)

        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        session.model_changed.connect(self.refresh)
        session.brush_size_changed.connect(self._brush_size_changed)
        session.status.connect(self.message.setText)
        session.status.connect(lambda _t: self._sync_current())
        session.render_failed.connect(lambda text: self.message.setText(text))
        session.rendered.connect(lambda rec: self.message.setText("; ".join(rec.notes)))
        self.refresh()

    # ------------------------------------------------------------------ state -> widgets

    def _on_label_set(self, index: int) -> None:
        choice = self.label_set_combo.itemData(index)
        if choice is None:
            self._sync_label_set_combo()
            return
        if choice == "":
            choice, _ = QFileDialog.getOpenFileName(self, "Label set", "", "Label sets (*.json);;All files (*)")
            if not choice:
                self._sync_label_set_combo()
                return
        self.choose_label_set(choice)

    def choose_label_set(self, choice: str) -> bool:
        """Use the shipped set or JSON file ``choice`` for the model's classes; False (and a message) when it does not fit."""
        try:
            self.session.set_label_set(choice)
        except EngineError as exc:
            self.message.setText(str(exc))
            self._sync_label_set_combo()
            return False
        self.message.setText(f"Label set: {self.session.palette.name}")
        return True

    def _sync_label_set_combo(self) -> None:
        choice = self.session.model_options.get("label_set")
        index = self.label_set_combo.findData(choice) if choice else 0
        if index < 0:
            self.label_set_combo.insertItem(self.label_set_combo.count() - 1, str(choice), str(choice))
            index = self.label_set_combo.findData(choice)
        with blocked_signals(self.label_set_combo):
            self.label_set_combo.setCurrentIndex(index)

    def _brush_size_changed(self, size: float) -> None:
        with blocked_signals(self.size_slider):
            self.size_slider.setValue(round(size))

    def refresh(self) -> None:
        session = self.session
        self.label_set_combo.setEnabled(session.model is not None and not session.translates_images)
        self._sync_label_set_combo()
        with blocked_signals(self.size_slider, self.hardness_slider):
            self.size_slider.setValue(int(session.brush.size))
            self.hardness_slider.setValue(int(session.brush.hardness * 100))
        self.tool_buttons[session.brush.tool].setChecked(True)
        with blocked_signals(self.class_list, self.eraser_combo):
            self.class_list.clear()
            self.eraser_combo.clear()
            for index in range(len(session.palette)):
                name = session.palette.names[index]
                item = QListWidgetItem(_swatch(session.palette.colors[index]), f"{index:>3}  {name}")
                item.setData(Qt.ItemDataRole.UserRole, index)
                self.class_list.addItem(item)
                self.eraser_combo.addItem(_swatch(session.palette.colors[index]), f"{index} {name}", index)
            self.eraser_combo.setCurrentIndex(min(session.brush.eraser_class, max(0, self.eraser_combo.count() - 1)))
        self._filter(self.search.text())
        self._sync_current()
        has_model = session.model is not None
        for button in (self.import_button, self.export_labels_button, self.export_button, self.send_button):
            button.setEnabled(has_model)
        self.instance_spin.setEnabled("instance_map" in (session.model.capabilities if session.model else ()))
        if not has_model:
            self.message.setText("No paint model loaded yet — open one (File > Open model) or train one.")

    def _sync_current(self) -> None:
        index = self.session.brush.class_index
        for row in range(self.class_list.count()):
            item = self.class_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == index:
                with blocked_signals(self.class_list):
                    self.class_list.setCurrentItem(item)
                break
        self.current_label.setText(f"Painting: {self.session.palette.names.get(index, index)}")

    def _filter(self, text: str) -> None:
        text = text.strip().lower()
        for row in range(self.class_list.count()):
            item = self.class_list.item(row)
            item.setHidden(bool(text) and text not in item.text().lower())

    # ------------------------------------------------------------------ widgets -> state

    def set_tool(self, tool: str) -> None:
        self.session.brush.tool = tool
        self.tool_buttons[tool].setChecked(True)

    def _on_class_item(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            self.session.brush.class_index = int(item.data(Qt.ItemDataRole.UserRole))
            if self.session.brush.tool in ("eraser", "picker"):
                self.set_tool("brush")
            self._sync_current()

    def _on_eraser(self, row: int) -> None:
        if row >= 0:
            self.session.brush.eraser_class = int(self.eraser_combo.itemData(row))

    def _emit_view(self, *_args) -> None:
        self.view_mode_changed.emit(self.view_combo.currentData(), self.opacity_slider.value() / 100.0)

    # ------------------------------------------------------------------ files

    def _label_set(self):
        return self.session.palette.label_set

    def import_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import label map", "", "PNG images (*.png);;All files (*)")
        if path:
            self.import_labels_from(path)

    def import_labels_from(self, path: str, nearest: bool | None = None) -> bool:
        """Read an index or colour PNG into the label layer (undoable). Returns True on success."""
        from engine.errors import EngineError
        from engine.labelsets import read_color_png, read_index_png

        session = self.session
        layer = session.ensure_label_layer()
        notes: list[str] = []
        try:
            try:
                labels = read_index_png(path)
            except EngineError:
                labels, report = read_color_png(path, self._label_set(), nearest=bool(nearest))
                if not report.ok and not report.mapped_to_nearest:
                    if nearest is None:
                        answer = QMessageBox.question(
                            self, "Unknown colours",
                            f"{report.message()}\n\nMap them to the nearest palette colour?")
                        if answer == QMessageBox.StandardButton.Yes:
                            return self.import_labels_from(path, nearest=True)
                    QMessageBox.warning(self, "Import label map", report.message())
                    return False
                if report.unknown_pixels or report.ambiguous_colors:
                    notes.append(report.message())
        except EngineError as exc:
            QMessageBox.warning(self, "Import label map", str(exc))
            return False
        if labels.shape != layer.pixels.shape:
            from PIL import Image

            notes.append(f"resized from {labels.shape[1]}x{labels.shape[0]} to {layer.pixels.shape[1]}x{layer.pixels.shape[0]} (nearest)")
            labels = np.asarray(Image.fromarray(labels.astype(np.int32)).resize(
                (layer.pixels.shape[1], layer.pixels.shape[0]), Image.Resampling.NEAREST)).astype(np.int32)
        session.set_labels(labels.astype(np.int32), "Import label map")
        self.message.setText("Imported " + path + ("; " + "; ".join(notes) if notes else ""))
        return True

    def export_labels(self) -> None:
        from engine.labelsets import write_color_png, write_index_png

        path, chosen = QFileDialog.getSaveFileName(self, "Export label map", "labels.png",
                                                   "Index PNG (*.png);;Colour PNG (*.png)")
        if not path:
            return
        labels = self.session.labels()
        try:
            if chosen.startswith("Colour"):
                write_color_png(path, labels, self._label_set())
            else:
                write_index_png(path, labels, self._label_set())
        except OSError as exc:
            QMessageBox.warning(self, "Export label map", f"Could not write {path}: {exc.strerror or exc}")

    def export_image(self) -> None:
        if self.session.last is None:
            QMessageBox.information(self, "Export image", "Nothing rendered yet: paint something first.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export image", "painting.png", "PNG images (*.png)")
        if path:
            self.export_image_to(path)

    def export_image_to(self, path: str) -> None:
        from engine.imageio import write_recipe_png

        record = self.session.last
        try:
            write_recipe_png(path, record.image, record.recipe)
        except OSError as exc:
            QMessageBox.warning(self, "Export image", f"Could not write {path}: {exc.strerror or exc}")

    def send_to_layer(self) -> bool:
        """The last render as a new image layer (undoable); the message line says what happened."""
        from engine.errors import EngineError

        try:
            self.message.setText(self.session.send_to_layer())
            return True
        except EngineError as exc:
            self.message.setText(str(exc))
            return False

    def open_recipe(self) -> None:
        path = choose_recipe_file(self)
        if path:
            self.open_recipe_from(path)

    def open_recipe_from(self, path: str) -> dict | None:
        """Read the recipe of an exported PNG and restore seed/style; returns it (or None)."""
        from engine.errors import EngineError
        from engine.imageio import read_recipe

        try:
            recipe = read_recipe(path, tool="paint")  # the workspace's RecipeOpener restores it
        except EngineError as exc:
            QMessageBox.warning(self, "Open recipe", str(exc))
            return None
        self.recipe_requested.emit(recipe)
        return recipe

    recipe_requested = Signal(object)


class StylePanel(QWidget):
    """Style: random style by seed (re-roll), or a style image (file or drop); recent styles strip."""

    def __init__(self, session: PaintSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Seed"))
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.valueChanged.connect(lambda v: session.set_seed(v))
        row.addWidget(self.seed_spin, 1)
        self.reroll_button = QPushButton("Re-roll")
        self.reroll_button.setToolTip("A new random style")
        self.reroll_button.clicked.connect(self.reroll)
        row.addWidget(self.reroll_button)
        layout.addLayout(row)
        self.pick_button = QPushButton("Style image…")
        self.pick_button.setToolTip("Render in the style of an image (or drop one here); needs a model with a style encoder")
        self.pick_button.clicked.connect(self.pick_style)
        layout.addWidget(self.pick_button)
        self.preview = QLabel("Random style")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(96)
        layout.addWidget(self.preview)
        layout.addWidget(QLabel("Recent styles"))
        self.recent = QListWidget()
        self.recent.setViewMode(QListWidget.ViewMode.IconMode)
        self.recent.setIconSize(QSize(56, 56))
        self.recent.setMaximumHeight(84)
        self.recent.setFlow(QListWidget.Flow.LeftToRight)
        self.recent.setWrapping(False)
        self.recent.itemClicked.connect(self._use_recent)
        layout.addWidget(self.recent)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self._recent_images: dict[str, np.ndarray] = {}
        session.model_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        caps = self.session.model.capabilities if self.session.model else ()
        self.pick_button.setEnabled("style_image" in caps)
        if self.session.model is not None and "style_image" not in caps:
            self.message.setText("This model has no style encoder: styles come from the seed.")
        else:
            self.message.setText("")

    def reroll(self) -> None:
        seed = random.randrange(2**31)
        self.seed_spin.setValue(seed)
        self.preview.setText(f"Random style (seed {seed})")

    def pick_style(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Style image", "", "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)")
        if path:
            self.use_style_file(path)

    def use_style_file(self, path: str) -> bool:
        from engine.errors import EngineError
        from engine.imageio import read_image

        try:
            image = read_image(path)
        except EngineError as exc:
            QMessageBox.warning(self, "Style image", str(exc))
            return False
        if image.dtype != np.uint8:
            image = (image.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        image = np.ascontiguousarray(image[:, :, :3])
        self._recent_images[path] = image
        if not any(self.recent.item(i).data(Qt.ItemDataRole.UserRole) == path for i in range(self.recent.count())):
            item = QListWidgetItem(QIcon(QPixmap.fromImage(array_to_qimage(image)).scaled(56, 56, Qt.AspectRatioMode.KeepAspectRatio)), "")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent.insertItem(0, item)
            while self.recent.count() > 12:
                self._recent_images.pop(self.recent.takeItem(self.recent.count() - 1).data(Qt.ItemDataRole.UserRole), None)
        self.preview.setPixmap(QPixmap.fromImage(array_to_qimage(image)).scaled(160, 96, Qt.AspectRatioMode.KeepAspectRatio))
        self.session.set_style_image(image, path)
        return True

    def _use_recent(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        image = self._recent_images.get(path)
        if image is not None:
            self.preview.setPixmap(QPixmap.fromImage(array_to_qimage(image)).scaled(160, 96, Qt.AspectRatioMode.KeepAspectRatio))
            self.session.set_style_image(image, path)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.use_style_file(url.toLocalFile())
                break
