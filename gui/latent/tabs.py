"""The Latent panel's tabs: Class, Mixing, Directions and Bookmarks.

Each tab writes plain settings into the :class:`~gui.latent.session.LatentSession` and re-syncs
its widgets (signals blocked) when ``settings_changed`` says something else changed them.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QSignalBlocker, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import EngineError
from gui.latent.export import FORMATS, FrameExport
from gui.latent.model_info import PRESET_LABELS, preset_range
from gui.latent.session import LatentSession
from gui.latent.widgets import LayerChecks, LayerRangeCombo, SeedBox, ValueSlider, icon, pixmap, thumbnail_label

log = logging.getLogger(__name__)


def _scroll(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #9a9aa0;")
    return label


# ---------------------------------------------------------------------------------------------
# Class


class ClassTab(QWidget):
    """Pick the class (searchable by name) and, optionally, mix several classes with weights."""

    def __init__(self, session: LatentSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        self.note = _hint("")
        layout.addWidget(self.note)
        self.search = QLineEdit()
        self.search.setObjectName("latentClassSearch")
        self.search.setPlaceholderText("Search classes by name or number")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter)
        layout.addWidget(self.search)
        self.class_list = QListWidget()
        self.class_list.setObjectName("latentClassList")
        self.class_list.currentItemChanged.connect(self._on_current)
        self.class_list.itemDoubleClicked.connect(lambda item: self.add_to_mix(int(item.data(Qt.ItemDataRole.UserRole))))
        layout.addWidget(self.class_list, 1)

        mix_box = QGroupBox("Class mixing")
        mix_layout = QVBoxLayout(mix_box)
        mix_layout.addWidget(_hint("Blend two or more classes (weights are normalised). Double-click a class "
                                   "or use Add to put it in the mix."))
        self.mix_rows = QVBoxLayout()
        mix_layout.addLayout(self.mix_rows)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add to mix")
        self.add_button.clicked.connect(self._add_current)
        self.clear_button = QPushButton("Clear mix")
        self.clear_button.clicked.connect(lambda: session.set_class_mix({}))
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        mix_layout.addLayout(buttons)
        layout.addWidget(mix_box)
        self._mix_sliders: dict[int, ValueSlider] = {}
        session.model_changed.connect(self.refresh)
        session.settings_changed.connect(self.sync)
        self.refresh()

    def refresh(self) -> None:
        with QSignalBlocker(self.class_list):
            self.class_list.clear()
            for index, name in enumerate(self.session.classes):
                item = QListWidgetItem(f"{index:>4}  {name}")
                item.setData(Qt.ItemDataRole.UserRole, index)
                self.class_list.addItem(item)
        conditional = self.session.is_conditional
        for widget in (self.search, self.class_list, self.add_button, self.clear_button):
            widget.setEnabled(conditional)
        if self.session.model is None:
            self.note.setText("Class-conditional models (BigGAN, conditional StyleGAN2) let you pick what to draw.")
        elif not conditional:
            self.note.setText("This model is not class-conditional: it has no classes to pick.")
        else:
            named = self.session.model.label_set is not None
            self.note.setText(f"{len(self.session.classes)} classes" + ("" if named else " (the model has no class names; numbered)"))
        self.filter(self.search.text())
        self.sync()

    def filter(self, text: str) -> None:
        """Show only classes whose name or number contains ``text``."""
        needle = text.strip().lower()
        for row in range(self.class_list.count()):
            item = self.class_list.item(row)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    def visible_classes(self) -> list[int]:
        return [int(self.class_list.item(r).data(Qt.ItemDataRole.UserRole)) for r in range(self.class_list.count())
                if not self.class_list.item(r).isHidden()]

    def sync(self) -> None:
        s = self.session.settings
        if s.class_index is not None and 0 <= s.class_index < self.class_list.count():
            with QSignalBlocker(self.class_list):
                self.class_list.setCurrentRow(s.class_index)
        self._sync_mix()

    def _sync_mix(self) -> None:
        weights = self.session.settings.class_mix
        if set(weights) != set(self._mix_sliders):
            while self.mix_rows.count():
                item = self.mix_rows.takeAt(0)
                if item.widget() is not None:
                    item.widget().deleteLater()
            self._mix_sliders = {}
            for index in sorted(weights):
                row = QWidget()
                line = QHBoxLayout(row)
                line.setContentsMargins(0, 0, 0, 0)
                name = self.session.classes[index] if index < len(self.session.classes) else str(index)
                label = QLabel(f"{index} {name}")
                label.setMinimumWidth(90)
                label.setToolTip(name)
                slider = ValueSlider(0, 1, 0.01, weights[index], fmt=lambda v: f"{v:.2f}")
                slider.value_changed.connect(lambda v, index=index: self._set_weight(index, v))
                remove = QToolButton()
                remove.setText("✕")
                remove.setToolTip("Remove this class from the mix")
                remove.clicked.connect(lambda _c=False, index=index: self._remove(index))
                line.addWidget(label)
                line.addWidget(slider, 1)
                line.addWidget(remove)
                self.mix_rows.addWidget(row)
                self._mix_sliders[index] = slider
        for index, slider in self._mix_sliders.items():
            slider.set_value(weights[index])

    def _on_current(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            self.session.set_class(int(item.data(Qt.ItemDataRole.UserRole)))

    def _add_current(self) -> None:
        item = self.class_list.currentItem()
        if item is not None:
            self.add_to_mix(int(item.data(Qt.ItemDataRole.UserRole)))

    def add_to_mix(self, index: int) -> None:
        weights = dict(self.session.settings.class_mix)
        if not weights and self.session.settings.class_index is not None and self.session.settings.class_index != index:
            weights[self.session.settings.class_index] = 1.0  # the class shown so far starts the mix
        weights.setdefault(index, 1.0)
        self.session.set_class_mix(weights)

    def _set_weight(self, index: int, value: float) -> None:
        weights = dict(self.session.settings.class_mix)
        weights[index] = value
        self.session.set_class_mix(weights)

    def _remove(self, index: int) -> None:
        weights = dict(self.session.settings.class_mix)
        weights.pop(index, None)
        self.session.set_class_mix(weights)


# ---------------------------------------------------------------------------------------------
# Mixing


class MixSourceRow(QFrame):
    """One style-mixing source: thumbnail, seed, layer preset and per-layer checkboxes."""

    def __init__(self, session: LatentSession, source_id: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.source_id = source_id
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.thumbnail = thumbnail_label(64)
        self.seed_box = SeedBox()
        self.seed_box.valueChanged.connect(lambda v: session.set_mix_seed(source_id, int(v)))
        self.random_button = QToolButton()
        self.random_button.setText("Random")
        self.random_button.setToolTip("A random seed for this source")
        self.random_button.clicked.connect(self._random)
        self.remove_button = QToolButton()
        self.remove_button.setText("✕")
        self.remove_button.setToolTip("Remove this source")
        self.remove_button.clicked.connect(lambda: session.remove_mix_source(source_id))
        self.preset = QComboBox()
        self.preset.setToolTip("Which layers take this seed's style")
        for name in ("coarse", "middle", "fine", "coarse+middle", "middle+fine", "all"):
            self.preset.addItem(PRESET_LABELS[name], name)
        self.preset.addItem("Custom (checkboxes)", None)
        self.preset.activated.connect(self._preset_chosen)
        self.checks = LayerChecks()
        self.checks.layers_changed.connect(lambda layers: session.set_mix_layers(source_id, layers))

        top = QHBoxLayout()
        top.addWidget(QLabel("Seed"))
        top.addWidget(self.seed_box, 1)
        top.addWidget(self.random_button)
        top.addWidget(self.remove_button)
        column = QVBoxLayout()
        column.addLayout(top)
        column.addWidget(self.preset)
        column.addWidget(self.checks)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(column, 1)

    def sync(self) -> None:
        source = self.session.mix_source(self.source_id)
        self.seed_box.set_seed(source.seed)
        self.checks.set_layers(self.session.layers)
        self.checks.set_checked(source.layers)
        layers = self.session.layers
        match = next((i for i in range(self.preset.count() - 1)
                      if tuple(range(*preset_range(self.preset.itemData(i), layers))) == tuple(source.layers)),
                     self.preset.count() - 1)
        with QSignalBlocker(self.preset):
            self.preset.setCurrentIndex(match)

    def set_thumbnail(self, image) -> None:
        self.thumbnail.setPixmap(pixmap(image, 64))

    def _random(self) -> None:
        import random

        self.session.set_mix_seed(self.source_id, random.randrange(2**32))

    def _preset_chosen(self, index: int) -> None:
        name = self.preset.itemData(index)
        if name is not None:
            self.session.set_mix_layers(self.source_id, range(*preset_range(name, self.session.layers)))


class MixingTab(QWidget):
    """Style mixing: several seeds, each giving its style to a range of layers."""

    def __init__(self, session: LatentSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.rows: dict[int, MixSourceRow] = {}
        layout = QVBoxLayout(self)
        self.note = _hint("Each layer takes its style from one seed: the main seed, or a source below. "
                          "Coarse layers set pose and shape; middle ones features; fine ones colour and texture.")
        layout.addWidget(self.note)
        add_row = QHBoxLayout()
        self.add_button = QPushButton("Add source")
        self.add_button.setObjectName("latentAddMixSource")
        self.add_button.setToolTip("Take some layers' style from another (random) seed")
        self.add_button.clicked.connect(lambda: session.add_mix_source(preset=self.new_preset.currentData()))
        self.new_preset = QComboBox()
        for name in ("fine", "middle", "coarse"):
            self.new_preset.addItem(f"taking {PRESET_LABELS[name].split(' (')[0].lower()} layers", name)
        add_row.addWidget(self.add_button)
        add_row.addWidget(self.new_preset, 1)
        layout.addLayout(add_row)
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.addStretch(1)
        layout.addWidget(_scroll(self.list_widget), 1)
        session.model_changed.connect(self.refresh)
        session.settings_changed.connect(self.sync)
        session.thumbnail_ready.connect(self._thumbnail)
        self.refresh()

    def refresh(self) -> None:
        enabled = self.session.can_mix_styles
        self.add_button.setEnabled(enabled)
        self.new_preset.setEnabled(enabled)
        if self.session.model is not None and not enabled:
            self.note.setText("This model has no per-layer styles to mix (BigGAN: mix classes in the Class tab).")
        self.sync()

    def sync(self) -> None:
        ids = [m.id for m in self.session.settings.mix]
        for source_id in list(self.rows):
            if source_id not in ids:
                self.rows.pop(source_id).deleteLater()
        for position, source_id in enumerate(ids):
            row = self.rows.get(source_id)
            if row is None:
                row = self.rows[source_id] = MixSourceRow(self.session, source_id)
                self.list_layout.insertWidget(position, row)
            row.sync()

    def _thumbnail(self, source_id: int, image) -> None:
        row = self.rows.get(source_id)
        if row is not None:
            row.set_thumbnail(image)


# ---------------------------------------------------------------------------------------------
# Directions


def _sd(value: float) -> str:
    return f"{value:+.1f} σ"


class DirectionsTab(QWidget):
    """Principal directions of W as sliders (in standard deviations, each on a layer range), and
    directions the user saved (in the document)."""

    SD_RANGE = 5.0

    def __init__(self, session: LatentSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.sliders: dict[int, ValueSlider] = {}
        self.ranges: dict[int, LayerRangeCombo] = {}
        self.named_sliders: dict[str, ValueSlider] = {}
        layout = QVBoxLayout(self)
        self.status = _hint("Principal directions of the model's latent space appear here once a model is loaded.")
        self.status.setObjectName("latentDirectionsStatus")
        layout.addWidget(self.status)
        content = QWidget()
        self.content_layout = QVBoxLayout(content)
        self.content_layout.setContentsMargins(0, 0, 0, 0)
        self.pca_grid = QGridLayout()
        self.pca_grid.setHorizontalSpacing(6)
        self.content_layout.addLayout(self.pca_grid)
        self.saved_box = QGroupBox("Saved directions")
        self.saved_grid = QGridLayout(self.saved_box)
        self.content_layout.addWidget(self.saved_box)
        self.content_layout.addStretch(1)
        layout.addWidget(_scroll(content), 1)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save as direction…")
        self.save_button.setToolTip("Keep the current slider setting as one named direction (stored in the document)")
        self.save_button.clicked.connect(self.save_direction)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("All directions back to zero")
        self.reset_button.clicked.connect(session.reset_directions)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        session.directions_changed.connect(self.rebuild)
        session.model_changed.connect(self.rebuild)
        session.library_changed.connect(self.rebuild_saved)
        session.settings_changed.connect(self.sync)
        self.rebuild()

    def rebuild(self) -> None:
        while self.pca_grid.count():
            item = self.pca_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.sliders, self.ranges = {}, {}
        session = self.session
        directions = session.directions
        if session.model is None:
            self.status.setText("Principal directions of the model's latent space appear here once a model is loaded.")
        elif not session.has_directions:
            self.status.setText("This model has no W space to find directions in (they are a StyleGAN2 feature); "
                                "mix classes in the Class tab instead.")
        elif session.directions_error:
            self.status.setText(f"Directions are not available for this model: {session.directions_error}")
        elif directions is None:
            self.status.setText("Finding the main directions of this model's latent space…")
        else:
            self.status.setText(f"The {len(directions)} strongest directions of variation (PCA of W), in standard "
                                "deviations; each acts on the layers you pick.")
            for index in range(len(directions)):
                name = QLabel(f"PC{index + 1}")
                name.setToolTip(f"Principal direction {index + 1}: {directions.explained[index] * 100:.1f}% of the variance")
                slider = ValueSlider(-self.SD_RANGE, self.SD_RANGE, 0.1, 0.0, fmt=_sd)
                slider.setObjectName(f"latentDirection{index}")
                slider.value_changed.connect(lambda v, index=index: session.set_direction(index, v))
                combo = LayerRangeCombo()
                combo.set_layers(session.layers)
                combo.range_changed.connect(lambda start, end, index=index: session.set_direction_layers(index, start, end))
                self.pca_grid.addWidget(name, index, 0)
                self.pca_grid.addWidget(slider, index, 1)
                self.pca_grid.addWidget(combo, index, 2)
                self.sliders[index], self.ranges[index] = slider, combo
            self.pca_grid.setColumnStretch(1, 1)
        self.rebuild_saved()
        self.sync()

    def rebuild_saved(self) -> None:
        saved = self.session.saved_directions()
        self.saved_box.setVisible(bool(saved))
        if [d.name for d in saved] == list(self.named_sliders):
            self.sync()
            return
        while self.saved_grid.count():
            item = self.saved_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.named_sliders = {}
        for row, direction in enumerate(saved):
            label = QLabel(direction.name)
            label.setToolTip(f"Saved from {os.path.basename(direction.model) or 'a model'}; 1.0 = as saved")
            slider = ValueSlider(-2.0, 2.0, 0.05, 0.0, fmt=lambda v: f"{v:+.2f}×")
            slider.value_changed.connect(lambda v, name=direction.name: self.session.set_named_amount(name, v))
            delete = QToolButton()
            delete.setText("✕")
            delete.setToolTip(f"Delete '{direction.name}' from the document (undoable)")
            delete.clicked.connect(lambda _c=False, name=direction.name: self.session.delete_direction(name))
            self.saved_grid.addWidget(label, row, 0)
            self.saved_grid.addWidget(slider, row, 1)
            self.saved_grid.addWidget(delete, row, 2)
            self.named_sliders[direction.name] = slider
        self.saved_grid.setColumnStretch(1, 1)
        self.saved_box.setVisible(bool(saved))
        self.sync()

    def sync(self) -> None:
        s = self.session.settings
        for index, slider in self.sliders.items():
            slider.set_value(s.pca.get(index, 0.0))
            self.ranges[index].set_range(*s.pca_layers.get(index, (0, None)))
        for name, slider in self.named_sliders.items():
            slider.set_value(s.named.get(name, 0.0))
        self.save_button.setEnabled(bool(self.sliders) and any(s.pca.values()))
        self.reset_button.setEnabled(bool(self.sliders) or bool(self.named_sliders))

    def save_direction(self) -> None:
        name, ok = QInputDialog.getText(self, "Save direction", "Name of this direction (e.g. 'smile', 'older'):")
        if ok and name.strip():
            try:
                self.session.save_direction(name)
            except EngineError as exc:
                QMessageBox.warning(self, "Save direction", str(exc))


# ---------------------------------------------------------------------------------------------
# Bookmarks


class BookmarksTab(QWidget):
    """Named latents in the document; interpolation between them exported as animation."""

    def __init__(self, session: LatentSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.export: FrameExport | None = None
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setObjectName("latentBookmarks")
        self.list.setIconSize(QSize(40, 40))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemDoubleClicked.connect(lambda item: self.recall(item.data(Qt.ItemDataRole.UserRole)))
        self.list.setToolTip("Double-click to recall. Select two or more to interpolate between them (else all are used).")
        layout.addWidget(self.list, 1)
        buttons = QGridLayout()
        self.add_button = QPushButton("Bookmark…")
        self.add_button.setToolTip("Keep the current image's latent in the document")
        self.add_button.clicked.connect(self._ask_add)
        self.recall_button = QPushButton("Recall")
        self.recall_button.clicked.connect(lambda: self.recall(self._current_id()))
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._delete)
        for i, button in enumerate((self.add_button, self.recall_button, self.rename_button, self.delete_button)):
            buttons.addWidget(button, i // 2, i % 2)
        layout.addLayout(buttons)

        box = QGroupBox("Interpolation")
        form = QFormLayout(box)
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(2, 600)
        self.frames_spin.setValue(24)
        self.frames_spin.setToolTip("Frames from one bookmark to the next (both ends included)")
        form.addRow("Frames per step", self.frames_spin)
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, 60)
        self.fps_spin.setValue(12)
        form.addRow("Frames per second", self.fps_spin)
        self.loop_check = QCheckBox("Loop back to the first")
        form.addRow("", self.loop_check)
        self.format_combo = QComboBox()
        for key, label in FORMATS.items():
            self.format_combo.addItem(label, key)
        form.addRow("Save as", self.format_combo)
        export_row = QHBoxLayout()
        self.export_button = QPushButton("Export animation…")
        self.export_button.setObjectName("latentExportAnimation")
        self.export_button.clicked.connect(self._ask_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_export)
        export_row.addWidget(self.export_button, 1)
        export_row.addWidget(self.cancel_button)
        form.addRow(export_row)
        self.progress = QProgressBar()
        self.progress.setObjectName("latentExportProgress")
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m frames")
        self.progress.hide()
        form.addRow(self.progress)
        self.message = _hint("")
        form.addRow(self.message)
        layout.addWidget(box)
        session.library_changed.connect(self.refresh)
        session.model_changed.connect(self.refresh)
        session.rendered.connect(lambda _r: self._enable())
        self.list.itemSelectionChanged.connect(self._enable)
        self.refresh()

    def refresh(self) -> None:
        selected = {item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()}
        with QSignalBlocker(self.list):
            self.list.clear()
            for bookmark in self.session.bookmarks():
                item = QListWidgetItem(icon(bookmark.thumbnail, 40), bookmark.name)
                item.setData(Qt.ItemDataRole.UserRole, bookmark.id)
                item.setToolTip(f"{bookmark.name} — {os.path.basename(bookmark.model)}, seed {bookmark.settings.get('seed')}, "
                                f"ψ {bookmark.settings.get('psi')}")
                self.list.addItem(item)
                item.setSelected(bookmark.id in selected)
        self._enable()

    def _enable(self) -> None:
        has_model = self.session.model is not None
        count = self.list.count()
        current = self._current_id() is not None
        exporting = self.export is not None and not self.export.done
        self.add_button.setEnabled(has_model and self.session.last is not None)
        for button in (self.recall_button, self.rename_button, self.delete_button):
            button.setEnabled(current)
        self.export_button.setEnabled(has_model and count >= 2 and not exporting)
        self.cancel_button.setEnabled(exporting)

    def _current_id(self) -> str | None:
        item = self.list.currentItem() or (self.list.selectedItems() or [None])[0]
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def chosen_ids(self) -> list[str]:
        """The selected bookmarks in list order, or all of them when fewer than two are selected."""
        items = [self.list.item(r) for r in range(self.list.count())]
        selected = [i for i in items if i.isSelected()]
        return [i.data(Qt.ItemDataRole.UserRole) for i in (selected if len(selected) >= 2 else items)]

    # ------------------------------------------------------------------ bookmarks

    def _ask_add(self) -> None:
        default = f"Seed {self.session.settings.seed}"
        name, ok = QInputDialog.getText(self, "Bookmark", "Name of this bookmark:", text=default)
        if ok:
            self.add(name or default)

    def add(self, name: str) -> None:
        try:
            self.session.add_bookmark(name)
        except EngineError as exc:
            QMessageBox.warning(self, "Bookmark", str(exc))

    def recall(self, bookmark_id: str | None) -> None:
        if bookmark_id is None:
            return
        try:
            self.session.recall_bookmark(bookmark_id)
        except ValueError as exc:
            QMessageBox.warning(self, "Recall bookmark", str(exc))

    def _ask_rename(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        name, ok = QInputDialog.getText(self, "Rename bookmark", "New name:", text=item.text())
        if ok and name.strip():
            self.session.rename_bookmark(item.data(Qt.ItemDataRole.UserRole), name.strip())

    def _delete(self) -> None:
        bookmark_id = self._current_id()
        if bookmark_id is not None:
            self.session.remove_bookmark(bookmark_id)

    # ------------------------------------------------------------------ interpolation

    def _ask_export(self) -> None:
        fmt = self.format_combo.currentData()
        title = "Export animated PNG" if fmt == "apng" else "Export PNG frames (name of the first; numbered _0001, _0002 …)"
        path, _ = QFileDialog.getSaveFileName(self, title, "interpolation.png", "PNG images (*.png)")
        if path:
            self.export_to(path if path.lower().endswith(".png") else path + ".png", fmt)

    def export_to(self, path: str, fmt: str = "apng") -> FrameExport | None:
        """Render the interpolation through the chosen bookmarks and write it to ``path``."""
        try:
            requests = self.session.interpolation_requests(self.chosen_ids(), self.frames_spin.value(),
                                                           self.loop_check.isChecked())
        except EngineError as exc:
            self.message.setText(str(exc))
            return None
        names = {b.id: b.name for b in self.session.bookmarks()}
        recipe = {"tool": "latent-interpolation", "model": self.session.model.path,
                  "bookmarks": [names.get(i, i) for i in self.chosen_ids()], "frames_per_step": self.frames_spin.value(),
                  "loop": self.loop_check.isChecked()}
        self.export = FrameExport(self.session.bridge, requests, path, fmt, self.fps_spin.value(), recipe, self)
        self.export.progress.connect(self._progress)
        for signal in (self.export.finished, self.export.failed, self.export.cancelled):
            signal.connect(self._done)
        self.progress.setRange(0, len(requests))
        self.progress.setValue(0)
        self.progress.show()
        self.message.setText(f"Rendering {len(requests)} frames…")
        self.export.start()
        self._enable()
        return self.export

    def cancel_export(self) -> None:
        if self.export is not None:
            self.export.cancel()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _done(self, message: str) -> None:
        self.message.setText(message)
        self.progress.hide()
        self._enable()
