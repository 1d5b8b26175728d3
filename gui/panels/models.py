"""Models workspace: what is loaded, and what each model is (family, format, config, size).

The window does the loading (through the engine bridge) and tells this panel what happened:
:meth:`ModelsPanel.model_loading`, :meth:`ModelsPanel.model_loaded`, :meth:`ModelsPanel.model_failed`.
"""

from __future__ import annotations

import html
import json
import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.starter import StarterModel
from engine.types import ModelSummary
from gui.panels.base import format_count

NO_MODEL_TEXT = "No model loaded yet — open one (File > Open model) or train one (Train panel)."


def summary_html(summary: ModelSummary) -> str:
    """The head facts of a model as rich text for a QLabel."""
    rows = [
        ("Family", summary.family),
        ("Format", summary.source_format),
        ("Parameters", format_count(summary.parameter_count)),
        ("Networks", ", ".join(summary.networks) or "—"),
        ("Can do", ", ".join(summary.capabilities) or "—"),
        ("File", summary.path),
    ]
    if summary.label_set:
        name = summary.label_set.get("name", "") if isinstance(summary.label_set, dict) else ""
        count = len(summary.label_set.get("labels", [])) if isinstance(summary.label_set, dict) else 0
        rows.insert(4, ("Label set", f"{name} ({count} labels)" if count else name or "yes"))
    body = "".join(
        f"<tr><td style='color:#9a9aa0; padding-right:8px'>{html.escape(k)}</td>"
        f"<td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in summary.notes)
    notes_html = f"<p><b>Notes</b></p><ul style='margin-left:-20px'>{notes}</ul>" if notes else ""
    return f"<table>{body}</table>{notes_html}"


def format_size(size_bytes: int) -> str:
    """'1.4 MB' / '820 KB' (decimal units, as file managers show)."""
    if size_bytes >= 10**6:
        return f"{size_bytes / 10**6:.1f} MB"
    return f"{max(1, round(size_bytes / 1000))} KB"


def metric_text(metric: dict[str, Any]) -> str:
    """One metric row of ``gan-studio evaluate --json`` as 'name value unit (reference name value)'."""
    unit = f" {metric['unit']}" if metric.get("unit") else ""
    text = f"{metric.get('name', '?')}: {float(metric.get('value', float('nan'))):.3g}{unit}"
    refs = dict(metric.get("baselines") or {})
    if metric.get("reference") is not None:
        refs = {metric.get("reference_name") or metric.get("reference_kind") or "reference": metric["reference"], **refs}
    if refs:
        text += " (" + ", ".join(f"{name} {float(value):.3g}" for name, value in refs.items()) + ")"
    return text


def catalog_line(model: StarterModel) -> str:
    """The list line of an available model: title, family, resolution, size, source."""
    parts = [model.title or short_name(model.path), model.family or "unknown family"]
    if model.scale:
        parts.append(f"x{model.scale}")
    elif model.resolution:
        parts.append(f"{model.resolution} px")
    if model.size_bytes:
        parts.append(format_size(model.size_bytes))
    parts.append("shipped" if model.source == "shipped" else "your folder")
    return "  ·  ".join(parts)


def catalog_html(model: StarterModel) -> str:
    """Everything the Models panel says about an available model (rich text)."""
    rows = [("Family", model.family or "—"), ("Workspace", model.workspace),
            ("Resolution", f"x{model.scale}, any image size" if model.scale else
             f"{model.resolution} px" if model.resolution else "—"),
            ("Size", format_size(model.size_bytes) if model.size_bytes else "—"),
            ("Source", "shipped with GAN Studio" if model.source == "shipped" else "your models folder"),
            ("License", model.license or "—"), ("File", model.path)]
    training = model.training or {}
    if training:
        rows.append(("Trained", f"{training.get('steps', '?')} steps, {round(training.get('wall_time_s', 0) / 60)} min "
                                f"on {training.get('hardware', '?')}"))
    body = "".join(f"<tr><td style='color:#9a9aa0; padding-right:8px'>{html.escape(k)}</td>"
                   f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    metrics = "".join(f"<li>{html.escape(metric_text(m))}</li>" for m in model.metrics)
    metrics_html = f"<p><b>Measured</b></p><ul style='margin-left:-20px'>{metrics}</ul>" if metrics else ""
    about = f"<p>{html.escape(model.description)}</p>" if model.description else ""
    return f"{about}<table>{body}</table>{metrics_html}"


def short_name(path: str) -> str:
    """The last part of a file or folder path, for lists and messages."""
    return os.path.basename(path.rstrip("/\\")) or path


def config_text(config: Any) -> str:
    try:
        return json.dumps(dict(config), indent=2, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(config)


class ModelsPanel(QWidget):
    """Lists loaded models and shows the selected one's summary."""

    TITLE = "Models"
    OBJECT_NAME = "modelsPanel"

    open_model_requested = Signal()
    open_model_folder_requested = Signal()
    load_requested = Signal(str)  # path of an available model the user double-clicked
    models_folder_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(self.OBJECT_NAME)
        self._summaries: dict[str, ModelSummary] = {}
        self._loading: set[str] = set()

        self.status_label = QLabel(NO_MODEL_TEXT)
        self.status_label.setObjectName("modelsStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 0)  # busy indicator: loading has no known fraction
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setMaximumHeight(6)
        self.progress_bar.hide()

        open_button = QPushButton("Open model…")
        open_button.setToolTip("Open a checkpoint file (.safetensors, .pth, .pt, .bin, .pkl)")
        open_button.clicked.connect(self.open_model_requested)
        folder_button = QPushButton("Open folder…")
        folder_button.setToolTip("Open a model folder (a checkpoint with its config files)")
        folder_button.clicked.connect(self.open_model_folder_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(open_button)
        buttons.addWidget(folder_button)
        buttons.addStretch(1)

        self.catalog_list = QListWidget()
        self.catalog_list.setObjectName("catalogList")
        self.catalog_list.setToolTip("Shipped models and your own; double-click one to load it into its workspace")
        self.catalog_list.itemDoubleClicked.connect(self._catalog_activated)
        self.catalog_list.currentItemChanged.connect(self._show_catalog_entry)
        self.catalog_details = QLabel()
        self.catalog_details.setObjectName("catalogDetails")
        self.catalog_details.setWordWrap(True)
        self.catalog_details.setTextFormat(Qt.TextFormat.RichText)
        self.catalog_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.catalog_problems = QLabel()
        self.catalog_problems.setObjectName("catalogProblems")
        self.catalog_problems.setWordWrap(True)
        self.catalog_problems.setTextFormat(Qt.TextFormat.PlainText)
        self.catalog_problems.setStyleSheet("color:#e07a6a")
        self.catalog_problems.hide()
        folder_models_button = QPushButton("Models folder…")
        folder_models_button.setToolTip("Choose the folder of your own models; they are listed here beside the shipped ones")
        folder_models_button.clicked.connect(self.models_folder_requested)
        buttons.insertWidget(2, folder_models_button)
        self._catalog: dict[str, StarterModel] = {}
        catalog = QWidget()
        catalog_layout = QVBoxLayout(catalog)
        catalog_layout.setContentsMargins(0, 0, 0, 0)
        catalog_layout.addWidget(QLabel("Available models (double-click to load)"))
        catalog_layout.addWidget(self.catalog_problems)
        catalog_layout.addWidget(self.catalog_list, 1)
        catalog_layout.addWidget(self.catalog_details)

        self.model_list = QListWidget()
        self.model_list.setObjectName("modelList")
        self.model_list.currentItemChanged.connect(self._show_current)

        self.details_label = QLabel()
        self.details_label.setObjectName("modelDetails")
        self.details_label.setWordWrap(True)
        self.details_label.setTextFormat(Qt.TextFormat.RichText)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.config_view = QPlainTextEdit()
        self.config_view.setObjectName("modelConfig")
        self.config_view.setReadOnly(True)
        self.config_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.config_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.config_view.setPlaceholderText("The architecture config of the selected model appears here.")
        details = QWidget()
        details_layout = QVBoxLayout(details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addWidget(self.details_label)
        details_layout.addWidget(QLabel("Config"))
        details_layout.addWidget(self.config_view, 1)
        self.details = details
        self.details.hide()

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(catalog)
        splitter.addWidget(self.model_list)
        splitter.addWidget(details)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 3)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.status_label)
        layout.addWidget(self.progress_bar)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        self._update_status()

    # ------------------------------------------------------------------ available models

    def set_catalog(self, models: list[StarterModel], problems: tuple[str, ...] | list[str] = ()) -> None:
        """List the shipped and user models (``problems``: sentences shown above the list, e.g.
        a starter model whose checksum does not match and was therefore not loaded)."""
        self.catalog_list.clear()
        self._catalog = {}
        for model in models:
            item = QListWidgetItem(catalog_line(model))
            item.setData(Qt.ItemDataRole.UserRole, model.path)
            item.setToolTip(model.path)
            self.catalog_list.addItem(item)
            self._catalog[model.path] = model
        self.catalog_problems.setText("\n".join(problems))
        self.catalog_problems.setVisible(bool(problems))
        self.catalog_details.clear()

    @property
    def catalog(self) -> list[StarterModel]:
        return list(self._catalog.values())

    def _catalog_activated(self, item: QListWidgetItem) -> None:
        self.load_requested.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def _show_catalog_entry(self, *_args) -> None:
        item = self.catalog_list.currentItem()
        model = None if item is None else self._catalog.get(item.data(Qt.ItemDataRole.UserRole))
        self.catalog_details.setText(catalog_html(model) if model else "")

    # ------------------------------------------------------------------ what the window reports

    @property
    def has_model(self) -> bool:
        return bool(self._summaries)

    @property
    def summaries(self) -> list[ModelSummary]:
        return list(self._summaries.values())

    def current_summary(self) -> ModelSummary | None:
        item = self.model_list.currentItem()
        return None if item is None else self._summaries.get(item.data(Qt.ItemDataRole.UserRole))

    def model_loading(self, path: str) -> None:
        self._loading.add(path)
        self._update_status()

    def model_loaded(self, summary: ModelSummary, requested_path: str | None = None) -> None:
        self._loading.discard(requested_path or summary.path)
        self._loading.discard(summary.path)
        key = summary.path
        if key not in self._summaries:
            item = QListWidgetItem(f"{short_name(key)}  ·  {summary.family}")
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(key)
            self.model_list.addItem(item)
        self._summaries[key] = summary
        for row in range(self.model_list.count()):
            item = self.model_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == key:
                self.model_list.setCurrentItem(item)
                break
        self._show_current()
        self._update_status()

    def model_failed(self, path: str, message: str) -> None:
        self._loading.discard(path)
        self._update_status(f"Could not load {short_name(path)}: {message}")

    # ------------------------------------------------------------------ display

    def _show_current(self, *_args) -> None:
        summary = self.current_summary()
        if summary is None:
            self.details.hide()
            return
        self.details_label.setText(summary_html(summary))
        self.config_view.setPlainText(config_text(summary.config))
        self.details.show()

    def _update_status(self, error: str | None = None) -> None:
        if self._loading:
            names = ", ".join(sorted(short_name(p) for p in self._loading))
            text = f"Loading {names}…"
        elif error:
            text = error if self._summaries else f"{error}\n\n{NO_MODEL_TEXT}"
        elif self._summaries:
            count = len(self._summaries)
            text = f"{count} model{'s' if count != 1 else ''} loaded. Select one to see what it is."
        else:
            text = NO_MODEL_TEXT
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color:#e07a6a" if error and not self._loading else "")
        self.progress_bar.setVisible(bool(self._loading))
        self.model_list.setVisible(bool(self._summaries))
