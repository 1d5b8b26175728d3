"""The Latent dock: seed navigation, truncation and noise on top (always in view), then tabs for
Class, Mixing, Directions and Bookmarks, and the export / recipe / send-to-document buttons."""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QToolButton,
    QWidget,
)

from engine.errors import EngineError
from engine.latent_types import NOISE_MODES
from gui.latent.session import PSI_RANGE, LatentSession
from gui.latent.tabs import BookmarksTab, ClassTab, DirectionsTab, MixingTab
from gui.latent.widgets import SeedBox, ValueSlider
from gui.recipes import choose_recipe_file
from gui.workspace_common import ScrollingDockPanel

log = logging.getLogger(__name__)

NOISE_LABELS = {"const": "Fixed (the model's own)", "random": "Random (from a seed)", "none": "None (smoother)"}


class LatentPanel(ScrollingDockPanel):
    TITLE = "Latent"

    def __init__(self, session: LatentSession, parent: QWidget | None = None):
        super().__init__(parent, margins=6)  # short screens: the dock scrolls instead of forcing the window taller
        self.setObjectName("latentPanel")
        self.session = session
        self.body.setObjectName("latentPanelBody")
        layout = self.body_layout

        self.model_label = QLabel("No latent model loaded — open a StyleGAN2 or BigGAN checkpoint (File > Open model).")
        self.model_label.setObjectName("latentModel")
        self.model_label.setWordWrap(True)
        layout.addWidget(self.model_label)

        seed_row = QHBoxLayout()
        seed_row.addWidget(QLabel("Seed"))
        self.seed_box = SeedBox()
        self.seed_box.setObjectName("latentSeed")
        self.seed_box.valueChanged.connect(lambda v: session.set_seed(int(v)))
        seed_row.addWidget(self.seed_box, 1)
        self.previous_button = self._tool("◀", "Previous seed (← on the image)", lambda: session.step_seed(-1))
        self.next_button = self._tool("▶", "Next seed (→ on the image)", lambda: session.step_seed(1))
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Jump to a random seed")
        self.random_button.clicked.connect(session.random_seed)
        for widget in (self.previous_button, self.next_button, self.random_button):
            seed_row.addWidget(widget)
        layout.addLayout(seed_row)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.psi_slider = ValueSlider(PSI_RANGE[0], PSI_RANGE[1], 0.01, session.settings.psi, fmt=lambda v: f"{v:.2f}")
        self.psi_slider.setObjectName("latentPsi")
        self.psi_slider.setToolTip("Truncation ψ: 1 = the model's full variety, lower = closer to the average "
                                   "(cleaner, less varied), 0 = the average image, above 1 exaggerates")
        self.psi_slider.value_changed.connect(session.set_psi)
        form.addRow("Truncation ψ", self.psi_slider)
        self.cutoff_slider = ValueSlider(0, 1, 1, 1, fmt=self._cutoff_text)
        self.cutoff_slider.setObjectName("latentCutoff")
        self.cutoff_slider.setToolTip("Truncate only the layers below this one (coarse layers first); all = every layer")
        self.cutoff_slider.value_changed.connect(lambda v: session.set_cutoff(int(round(v))))
        form.addRow("Cutoff", self.cutoff_slider)
        noise_row = QHBoxLayout()
        self.noise_combo = QComboBox()
        self.noise_combo.setObjectName("latentNoise")
        self.noise_combo.setToolTip("Per-pixel noise the generator adds (hair strands, pores, grain)")
        for mode in NOISE_MODES:
            self.noise_combo.addItem(NOISE_LABELS[mode], mode)
        self.noise_combo.currentIndexChanged.connect(
            lambda _i: session.set_noise(self.noise_combo.currentData()))
        self.noise_seed = SeedBox()
        self.noise_seed.setToolTip("Noise seed (random noise mode)")
        self.noise_seed.valueChanged.connect(lambda v: session.set_noise(session.settings.noise_mode, int(v)))
        noise_row.addWidget(self.noise_combo, 1)
        noise_row.addWidget(self.noise_seed)
        form.addRow("Noise", noise_row)
        layout.addLayout(form)
        self.form = form

        self.tabs = QTabWidget()
        self.tabs.setObjectName("latentTabs")
        self.class_tab = ClassTab(session)
        self.mixing_tab = MixingTab(session)
        self.directions_tab = DirectionsTab(session)
        self.bookmarks_tab = BookmarksTab(session)
        self.tabs.addTab(self.class_tab, "Class")
        self.tabs.addTab(self.mixing_tab, "Mixing")
        self.tabs.addTab(self.directions_tab, "Directions")
        self.tabs.addTab(self.bookmarks_tab, "Bookmarks")
        layout.addWidget(self.tabs, 1)

        actions = QGridLayout()
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save the image with its full recipe (Open recipe brings it all back)")
        self.export_button.clicked.connect(self.export_png)
        self.recipe_button = QPushButton("Open recipe…")
        self.recipe_button.setToolTip("Restore the settings from a PNG exported by GAN Studio")
        self.recipe_button.clicked.connect(self.open_recipe)
        self.send_button = QPushButton("Send to document")
        self.send_button.setToolTip("Add this image to the document as a layer (undoable), to inpaint or upscale it")
        self.send_button.clicked.connect(self.send_to_document)
        actions.addWidget(self.export_button, 0, 0)
        actions.addWidget(self.recipe_button, 0, 1)
        actions.addWidget(self.send_button, 1, 0, 1, 2)
        layout.addLayout(actions)
        self.message = QLabel()
        self.message.setObjectName("latentMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)

        self._shown_model: str | None = None
        session.model_changed.connect(self.refresh)
        session.settings_changed.connect(self.sync)
        session.rendered.connect(lambda _r: self._enable())
        session.render_failed.connect(self.message.setText)
        session.status.connect(self.message.setText)
        self.refresh()

    @staticmethod
    def _tool(text: str, tip: str, slot) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _c=False: slot())
        return button

    def _cutoff_text(self, value: float) -> str:
        layers = self.session.layers
        value = int(round(value))
        return "all" if value >= layers else ("none" if value == 0 else f"0–{value - 1}")

    # ------------------------------------------------------------------ state -> widgets

    def refresh(self) -> None:
        session = self.session
        model = session.model
        if model is None:
            self.model_label.setText("No latent model loaded — open a StyleGAN2 or BigGAN checkpoint (File > Open model).")
        else:
            parts = [f"<b>{os.path.basename(model.path)}</b>", model.family,
                     f"{len(session.classes)} classes" if session.is_conditional else "unconditional"]
            if session.layers > 1:
                parts.append(f"{session.layers} style layers")
            self.model_label.setText(" · ".join(parts))
        self.cutoff_slider.set_range(0, session.layers)
        self.psi_slider.set_range(*session.psi_range)
        # rows a model has no use for are hidden (BigGAN: one latent, no noise inputs)
        self.form.setRowVisible(self.cutoff_slider, model is None or session.layers > 1)
        self.form.setRowVisible(2, model is None or session.has_noise)
        self.tabs.setTabEnabled(0, session.is_conditional)
        self.tabs.setTabEnabled(1, session.can_mix_styles)
        self.tabs.setTabEnabled(2, model is None or session.has_directions)
        path = model.path if model is not None else None
        if path != self._shown_model or not self.tabs.isTabEnabled(self.tabs.currentIndex()):
            # a new model: start on what it offers first (classes, else style mixing)
            first = (self.class_tab if session.is_conditional else self.mixing_tab if session.can_mix_styles
                     else self.directions_tab if session.has_directions else self.bookmarks_tab)
            self.tabs.setCurrentWidget(first)
        self._shown_model = path
        self.sync()

    def sync(self) -> None:
        s = self.session.settings
        self.seed_box.set_seed(s.seed)
        self.psi_slider.set_value(s.psi)
        self.cutoff_slider.set_value(self.session.layers if s.cutoff is None else s.cutoff)
        with QSignalBlocker(self.noise_combo):
            self.noise_combo.setCurrentIndex(max(0, self.noise_combo.findData(s.noise_mode)))
        self.noise_seed.set_seed(s.noise_seed)
        self._enable()

    def _enable(self) -> None:
        has_model = self.session.model is not None
        for widget in (self.seed_box, self.previous_button, self.next_button, self.random_button, self.psi_slider,
                       self.cutoff_slider, self.noise_combo):
            widget.setEnabled(has_model)
        self.cutoff_slider.setEnabled(has_model and "truncation" in self.session.capabilities and self.session.layers > 1)
        self.noise_combo.setEnabled(self.session.has_noise)
        self.noise_seed.setEnabled(self.session.has_noise and self.session.settings.noise_mode == "random")
        self.noise_combo.setToolTip("Per-pixel noise the generator adds (hair strands, pores, grain)"
                                    if self.session.has_noise or not has_model else "This model has no noise inputs")
        has_render = self.session.last is not None
        self.export_button.setEnabled(has_render)
        self.send_button.setEnabled(has_render)

    # ------------------------------------------------------------------ files and the document

    def export_png(self) -> None:
        if self.session.last is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export image", f"seed{self.session.last.settings.seed}.png",
                                              "PNG images (*.png)")
        if path:
            self.export_png_to(path if path.lower().endswith(".png") else path + ".png")

    def export_png_to(self, path: str) -> bool:
        try:
            self.session.export_png(path)
        except (OSError, EngineError) as exc:
            log.warning("exporting %s failed: %s", path, exc)
            QMessageBox.warning(self, "Export image", f"Could not write {path}: {getattr(exc, 'strerror', None) or exc}")
            return False
        self.message.setText(f"Exported {os.path.basename(path)} with its recipe.")
        return True

    def open_recipe(self) -> None:
        path = choose_recipe_file(self)
        if path:
            self.open_recipe_from(path)

    def open_recipe_from(self, path: str) -> dict | None:
        """Restore the settings stored in ``path``; a message (and None) when it cannot."""
        try:
            recipe = self.session.open_recipe(path)
        except EngineError as exc:
            QMessageBox.warning(self, "Open recipe", str(exc))
            return None
        self.message.setText(f"Restored the recipe of {os.path.basename(path)}.")
        return recipe

    def send_to_document(self) -> None:
        try:
            self.message.setText(self.session.send_to_document())
        except (EngineError, ValueError) as exc:
            QMessageBox.warning(self, "Send to document", str(exc))
