"""The main window: canvas in the middle, one dock per workspace, menus and the status bar.

The window receives the engine from its owner (main.py / gui.app) and talks to it only through
:class:`gui.engine_bridge.EngineBridge` and ``engine.state()`` / ``engine.device_description``.
It never imports torch.
"""

from __future__ import annotations

import logging
import os
import random
from typing import Any, Callable, Iterable

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTabBar,
    QInputDialog,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine import starter
from engine.document import Layer
from engine.errors import EngineError, MissingOptionError
from engine.types import EngineState, ImageResult, LoadModelRequest, ModelRef, ModelSummary, TestPatternRequest
from engine.version import APP_NAME, APP_VERSION
from gui.autosave import Autosaver, offer_recovery
from gui.canvas.view import CanvasView
from gui.document import DocumentModel
from gui.engine_bridge import EngineBridge
from gui.history_panel import HistoryPanel
from gui.layers_panel import LayersPanel
from gui.latent.workspace import LatentWorkspaceController
from gui.paint.workspace import PaintWorkspaceController
from gui.inpaint.workspace import InpaintWorkspaceController
from gui.panels.models import NO_MODEL_TEXT, ModelsPanel, short_name
from gui.panels.train import TrainPanel
from gui.settings import MODEL_EXTENSIONS, AppSettings, is_model_path
from gui.upscale.workspace import UpscaleWorkspaceController

log = logging.getLogger(__name__)

#: Workspace controllers, in dock order. A controller is built as ``Controller(bridge, document_model,
#: parent)`` and has ``TITLE``, ``view`` (a central view widget, shown as a tab, or None), ``panels``
#: (its dock widgets, each with ``TITLE`` and an object name), ``accepts(summary)`` and
#: ``use_model(summary, options)``: a loaded model goes to the first workspace that accepts it.
WORKSPACE_CONTROLLERS = (PaintWorkspaceController, LatentWorkspaceController, InpaintWorkspaceController,
                         UpscaleWorkspaceController)
#: placeholder panels of workspaces that are not built yet
WORKSPACE_PANELS = (TrainPanel,)
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;All files (*)"
OPEN_FILTER = ("Documents and images (*.ora *.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;"
               "GAN Studio / OpenRaster documents (*.ora);;" + IMAGE_FILTER)
DOCUMENT_FILTER = "GAN Studio document (OpenRaster) (*.ora)"
DEFAULT_NEW_SIZE = (512, 512)  # width, height of File > New without an open document
MODEL_FILTER = ("Model checkpoints (" + " ".join(f"*{ext}" for ext in MODEL_EXTENSIONS) + ");;All files (*)")
STATE_POLL_MS = 250
#: document.state key of the Latent explorer's model, its options and settings (state["latent"] is its library)
LATENT_MODEL_STATE = "latent_model"
SELF_TEST_SIZE = (512, 384)  # width, height


def is_document_path(path: str) -> bool:
    """True for GAN Studio / OpenRaster documents (.ora)."""
    return str(path).lower().endswith(".ora")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1.0:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def describe_state(state: EngineState) -> str:
    """'idle', 'busy · paint · 2 queued', 'stopped' ..."""
    if state.stopped:
        return "engine stopped"
    parts = ["busy" if state.busy else "idle"]
    if state.busy and state.running_channel:
        parts.append(state.running_channel)
    if state.queue_length:
        parts.append(f"{state.queue_length} queued")
    return " · ".join(parts)


class NoModelBanner(QFrame):
    """The strip above the canvas that says no model is loaded and offers what to do."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("noModelBanner")
        self.setStyleSheet(
            "#noModelBanner { background: #3a3424; border-bottom: 1px solid #5c5030; }"
            "#noModelBanner QLabel { color: #f0dca0; }"
        )
        self.label = QLabel(NO_MODEL_TEXT)
        self.label.setWordWrap(True)
        self.label.setMinimumWidth(220)
        self.open_button = QPushButton("Open model…")
        self.train_button = QPushButton("Train a model…")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.open_button)
        layout.addWidget(self.train_button)


class MainWindow(QMainWindow):
    """GAN Studio's main window.

    Args:
        engine: the engine object (duck-typed: ``submit``, ``cancel``, ``cancel_channel``,
            ``state``, ``device_description``, ``shutdown``).
        settings: where window layout and recent files live (default: the app's QSettings).
        model_paths: checkpoints to load at start (CLI launch).
        image_paths: images to open at start, in order (each an undoable step; the last is shown).
        image_path: one image to open at start (same as ``image_paths=[path]``).
        shutdown: called once when the window closes; default ``engine.shutdown()``. Pass a
            no-op when the owner shuts the engine down itself.
        confirm_close: ask before closing with unsaved changes (tests turn it off).
        recovery_folder: where autosaves go (default: the ``autosave/folder`` setting, else the
            app data folder's ``recovery``); autosaves left by a crash there are offered at start.
        checkpoints_folder: where the shipped starter models and their manifest are (default:
            this install's checkpoints/, see :mod:`engine.starter`).
        load_starters: load the starter models at start when no ``model_paths`` are given
            (default: the ``models/load_starters`` setting, on unless turned off).
    """

    def __init__(self, engine: Any, settings: QSettings | None = None, model_paths: Iterable[str] = (),
                 image_paths: Iterable[str] = (), image_path: str | None = None,
                 shutdown: Callable[[], None] | None = None, confirm_close: bool = True,
                 recovery_folder: str | None = None, checkpoints_folder: str | None = None,
                 load_starters: bool | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.engine = engine
        self.settings = AppSettings(settings)
        self.bridge = EngineBridge(engine, self)
        self.document = DocumentModel(self)
        self.document.set_undo_limits(self.settings.undo_steps(), self.settings.undo_megabytes())
        self.confirm_close = confirm_close
        self._shutdown = shutdown if shutdown is not None else engine.shutdown
        self._shut_down = False
        self._last_state_text: tuple[str, str] | None = None

        self.setWindowTitle(APP_NAME)
        self.resize(1360, 860)
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)

        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._connect()
        self._restore_settings()
        self._update_title()
        self._update_model_state()

        self._state_timer = QTimer(self)
        self._state_timer.setInterval(STATE_POLL_MS)
        self._state_timer.timeout.connect(self.poll_engine_state)
        self._state_timer.start()
        self.poll_engine_state()

        self.recovery_folder = recovery_folder or self.settings.recovery_folder()
        self.autosaver = Autosaver(self.document, self.recovery_folder, self.settings.autosave_minutes(), self)
        self.autosaver.failed.connect(lambda message: self.statusBar().showMessage(message, 10000))
        self._recovery_checked = False
        QTimer.singleShot(0, self.check_recovery)  # once the window is up: what a crash left (never our own files)
        self.autosaver.start()

        self.checkpoints_folder = checkpoints_folder
        self._starter_paths: set[str] = set()
        self.refresh_model_catalog()
        model_paths = [str(p) for p in model_paths]
        for path in model_paths:
            self.load_model(path)
        if not model_paths and (self.settings.load_starters() if load_starters is None else load_starters):
            self.load_starter_models()
        images = [str(p) for p in image_paths] + ([str(image_path)] if image_path else [])
        if images:  # after the window shows, so a message box about a bad file has a parent on screen
            QTimer.singleShot(0, lambda: [self.open_image(path) for path in images])

    # ------------------------------------------------------------------ construction

    def _build_central(self) -> None:
        """The banner over a tab per view: the document image, then each workspace's own view."""
        self.canvas = CanvasView()
        self.banner = NoModelBanner()
        self.views = QTabWidget()
        self.views.setObjectName("views")
        self.views.setDocumentMode(True)
        self.views.addTab(self.canvas, "Image")
        self.workspaces = [controller(self.bridge, self.document, self) for controller in WORKSPACE_CONTROLLERS]
        for workspace in self.workspaces:
            if workspace.view is not None:
                self.views.addTab(workspace.view, workspace.TITLE)
            requests = getattr(workspace, "load_model_requested", None)
            if requests is not None:
                requests.connect(self.load_model)
        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.views, 1)
        self.setCentralWidget(central)

    def workspace(self, title: str):
        """The workspace controller called ``title`` (e.g. "Paint")."""
        return next(w for w in self.workspaces if w.TITLE == title)

    def show_view(self, widget: QWidget) -> None:
        """Bring a central view (the Image canvas or a workspace's view) to the front."""
        index = self.views.indexOf(widget)
        if index >= 0:
            self.views.setCurrentIndex(index)

    def _build_docks(self) -> None:
        self.docks: dict[str, QDockWidget] = {}
        self.panels: dict[str, QWidget] = {}
        self.models_panel = ModelsPanel()
        models_dock = self._add_dock(self.models_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        models_dock.setMinimumWidth(260)
        first: QDockWidget | None = None
        panels = [panel for workspace in self.workspaces for panel in workspace.panels]
        panels += [panel_class() for panel_class in WORKSPACE_PANELS]
        for panel in panels:
            dock = self._add_dock(panel, Qt.DockWidgetArea.RightDockWidgetArea)
            if first is None:
                first = dock
            else:
                self.tabifyDockWidget(first, dock)
        if first is not None:
            first.raise_()
        # Layers and History share the left column with Models, as tabs (the Models panel needs its height)
        self.layers_panel = LayersPanel(self.document)
        self.tabifyDockWidget(models_dock, self._add_dock(self.layers_panel, Qt.DockWidgetArea.LeftDockWidgetArea))
        self.history_panel = HistoryPanel(self.document)
        self.tabifyDockWidget(models_dock, self._add_dock(self.history_panel, Qt.DockWidgetArea.LeftDockWidgetArea))
        models_dock.raise_()
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        self.resizeDocks([models_dock, first], [280, 400], Qt.Orientation.Horizontal)
        self._tune_tab_bars()
        self._default_state = self.saveState()

    def _tune_tab_bars(self) -> None:
        """Dock tabs show whole names (scroll arrows when they do not fit) instead of 'P…'."""
        for bar in self.findChildren(QTabBar):
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)
        self._hide_stale_tab_bars()

    def _hide_stale_tab_bars(self) -> None:
        """Qt can leave the tab bar of a half-built second dock tab group showing (e.g. 'Models |
        Layers' over a panel) next to the real one; hide bars whose tabs another bar already shows."""
        bars = [bar for bar in self.findChildren(QTabBar) if bar.parent() is self and not bar.isHidden()]
        tabs = {bar: {bar.tabText(i) for i in range(bar.count())} for bar in bars}
        for bar in bars:
            if any(other is not bar and tabs[bar] < tabs[other] for other in bars):
                bar.hide()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        QTimer.singleShot(0, self._hide_stale_tab_bars)

    def _add_dock(self, panel: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        title = getattr(panel, "TITLE", panel.objectName())
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{panel.objectName()}Dock")  # stable: saved layouts refer to it
        dock.setWidget(panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        self.panels[title] = panel
        return dock

    def _build_actions(self) -> None:
        def action(text: str, slot: Callable, shortcut: Any = None, tip: str = "") -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            if tip:
                act.setStatusTip(tip)
            act.triggered.connect(lambda _checked=False: slot())
            return act

        self.new_action = action("&New", self.new_document, QKeySequence.StandardKey.New,
                                 "Start an empty document (Undo brings the current one back)")
        self.open_action = action("&Open…", self.choose_file_to_open, QKeySequence.StandardKey.Open,
                                  "Open a document (.ora) or an image")
        self.open_image_action = self.open_action
        self.save_action = action("&Save", self.save, QKeySequence.StandardKey.Save,
                                  "Save the document (layers, label maps, recipes) as .ora")
        self.save_as_action = action("Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs,
                                     "Save the document as a new .ora file")
        self.export_image_action = action("&Export image…", self.choose_export_image, "Ctrl+E",
                                          "Save the flattened image as PNG, with the recipes of generated layers")
        self.export_labels_action = action("Export &label map…", self.choose_export_label_map, None,
                                           "Save a label layer as an index PNG")
        self.open_model_action = action("Open &model…", self.choose_model_to_open, "Ctrl+Shift+O",
                                        "Load a checkpoint (.safetensors, .pth, .pt, .bin, .pkl)")
        self.open_model_folder_action = action("Open model &folder…", self.choose_model_folder_to_open, None,
                                               "Load a model stored as a folder")
        self.quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.undo_action = self.document.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.document.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)

        self.zoom_in_action = action("Zoom &in", self.canvas.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self.zoom_out_action = action("Zoom &out", self.canvas.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self.fit_action = action("&Fit to window", self.canvas.fit_to_window, "Ctrl+0")
        self.actual_size_action = action("&Actual size (100%)", self.canvas.actual_size, "Ctrl+1")
        self.reset_layout_action = action("&Reset panel layout", self.reset_layout)

        self.self_test_action = action("Engine &self-test", self.run_self_test, None,
                                       "Render a test pattern on the engine to check it works")
        self.about_action = action(f"&About {APP_NAME}", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.new_action)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self.rebuild_recent_menu)
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addAction(self.export_image_action)
        file_menu.addAction(self.export_labels_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_model_action)
        file_menu.addAction(self.open_model_folder_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.rebuild_recent_menu()

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)

        view_menu = bar.addMenu("&View")
        for act in (self.zoom_in_action, self.zoom_out_action, self.fit_action, self.actual_size_action):
            view_menu.addAction(act)
        view_menu.addSeparator()
        self.dock_actions: dict[str, QAction] = {}
        for title, dock in self.docks.items():
            toggle = dock.toggleViewAction()
            toggle.setText(f"{title} panel")
            view_menu.addAction(toggle)
            self.dock_actions[title] = toggle
        view_menu.addSeparator()
        view_menu.addAction(self.reset_layout_action)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.self_test_action)
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)
        self.menus = {"File": file_menu, "Edit": edit_menu, "View": view_menu, "Help": help_menu}

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.job_progress = QProgressBar()
        self.job_progress.setObjectName("jobProgress")
        self.job_progress.setRange(0, 1000)
        self.job_progress.setFixedWidth(140)
        self.job_progress.setMaximumHeight(14)
        self.job_progress.setTextVisible(False)
        self.job_progress.hide()
        self.zoom_label = QLabel("100%")
        self.zoom_label.setObjectName("zoomLabel")
        self.zoom_label.setToolTip("Zoom (View > Fit to window: Ctrl+0, 100%: Ctrl+1)")
        self.device_label = QLabel()
        self.device_label.setObjectName("deviceLabel")
        self.engine_label = QLabel()
        self.engine_label.setObjectName("engineStateLabel")
        self.last_job_label = QLabel()
        self.last_job_label.setObjectName("lastJobLabel")
        self.last_job_label.setToolTip("How long the engine took for its last job")
        for widget in (self.job_progress, self.zoom_label, self.device_label, self.engine_label, self.last_job_label):
            status.addPermanentWidget(widget)
        self.device_label.setText(f"Device: {self._device_description()}")

    def _connect(self) -> None:
        self.document.changed.connect(self._document_changed)
        self.document.modified_changed.connect(lambda _modified: self._update_title())
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.bridge.busy_changed.connect(self._bridge_busy)
        self.bridge.progress.connect(self._bridge_progress)
        self.models_panel.open_model_requested.connect(self.choose_model_to_open)
        self.models_panel.open_model_folder_requested.connect(self.choose_model_folder_to_open)
        self.models_panel.load_requested.connect(self.load_model)
        self.models_panel.models_folder_requested.connect(self.choose_models_folder)
        self.banner.open_button.clicked.connect(self.choose_model_to_open)
        self.banner.train_button.clicked.connect(lambda: self.show_panel("Train"))

    # ------------------------------------------------------------------ panels

    def show_panel(self, title: str) -> None:
        dock = self.docks[title]
        dock.show()
        dock.raise_()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in self.docks.values():
            dock.show()
        self.docks["Paint"].raise_()

    # ------------------------------------------------------------------ images

    def choose_image_to_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self.settings.last_folder("image"), IMAGE_FILTER)
        if path:
            self.settings.set_last_folder("image", path)
            self.open_image(path)

    def open_image(self, path: str) -> bool:
        """Read ``path`` onto the canvas as an undoable step. False (and a message) when it cannot be read.
        A .ora file opens as a document (:meth:`open_document`)."""
        if is_document_path(path):
            return self.open_document(path)
        from engine import imageio  # numpy + PIL only; imported late so a missing codec never blocks startup

        try:
            image = imageio.read_image(path)
            image = self._displayable(image, path)
        except EngineError as exc:
            self._show_error("Could not open image", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - any unreadable file must leave the work as it was
            log.exception("reading %s failed", path)
            self._show_error("Could not open image", f"{short_name(path)} could not be read ({exc}).")
            return False
        self.document.replace_image(image, text=f"Open {short_name(path)}", path=os.path.abspath(path),
                                    name=short_name(path), new_document=True)
        self.settings.add_recent_file(path)
        height, width = image.shape[:2]
        self.statusBar().showMessage(f"Opened {short_name(path)} ({width}×{height})", 5000)
        return True

    def _displayable(self, image: np.ndarray, path: str) -> np.ndarray:
        """The document holds 8-bit pixels; bring other depths there (with a note in the status bar)."""
        if image.dtype == np.uint8:
            return image
        if image.dtype == np.uint16:
            self.statusBar().showMessage(f"{short_name(path)} is 16-bit; it is shown and edited as 8-bit.", 8000)
            return (image >> 8).astype(np.uint8)
        if np.issubdtype(image.dtype, np.floating):
            return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
        raise EngineError(f"{short_name(path)} holds {image.dtype} pixels, which GAN Studio cannot show.")

    def save(self) -> bool:
        """Save to the document's .ora file (or, for a plain one-layer image opened from PNG, that PNG);
        otherwise ask for a .ora file."""
        path = self.document.path
        if path and is_document_path(path):
            return self.save_document(path)
        if path and path.lower().endswith(".png") and self._is_plain_image():
            return self.save_image(path)
        return self.save_as()

    def save_as(self) -> bool:
        """Ask for a .ora file and save the document there."""
        if self.document.document is None:
            self._show_error("Nothing to save", "There is no document yet.")
            return False
        current = self.document.path
        base = os.path.splitext(os.path.basename(current))[0] if current else "untitled"
        folder = os.path.dirname(current) if current else self.settings.last_folder("save")
        path, _ = QFileDialog.getSaveFileName(self, "Save document", os.path.join(folder, base + ".ora"),
                                              DOCUMENT_FILTER)
        if not path:
            return False
        if not path.lower().endswith(".ora"):
            path += ".ora"
        self.settings.set_last_folder("save", path)
        return self.save_document(path)

    def _is_plain_image(self) -> bool:
        """True when a PNG holds all of the document: one plain image layer, nothing else."""
        doc = self.document.document
        if doc is None or len(doc.layers) != 1 or doc.state or doc.arrays:
            return False
        layer = doc.layers[0]
        return layer.kind == "image" and layer.visible and layer.opacity == 1.0 and not layer.recipe

    def save_image(self, path: str) -> bool:
        """Write the composited image to ``path`` as PNG. False (and a message) when it fails."""
        from engine import imageio

        image = self.document.composite()
        if image is None:
            self._show_error("Nothing to save", "There is no image on the canvas yet.")
            return False
        if (image[:, :, 3] == 255).all():
            image = np.ascontiguousarray(image[:, :, :3])
        try:
            imageio.write_png(path, image, text_chunks={"Software": f"{APP_NAME} {APP_VERSION}"})
        except (OSError, EngineError) as exc:
            log.warning("saving %s failed: %s", path, exc)
            self._show_error("Could not save image", f"{path} could not be written: {exc}\n\nYour image is "
                             "still open; try another folder or file name.")
            return False
        self.document.mark_saved(os.path.abspath(path))
        self.settings.add_recent_file(path)
        self.statusBar().showMessage(f"Saved {short_name(path)}", 5000)
        return True

    # ------------------------------------------------------------------ documents

    def choose_file_to_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open", self.settings.last_folder("image"), OPEN_FILTER)
        if path:
            self.settings.set_last_folder("image", path)
            self.open_image(path)

    def new_document(self, width: int | None = None, height: int | None = None) -> None:
        """An empty untitled document (the open one's size, else 512×512); Undo brings the old one back."""
        doc = self.document.document
        default = (doc.width, doc.height) if doc is not None else DEFAULT_NEW_SIZE
        self.document.new_document(width or default[0], height or default[1])
        self.show_panel("Layers")
        self.statusBar().showMessage("New document. Paint, add layers, or drop images onto the window.", 5000)

    def open_document(self, path: str) -> bool:
        """Open a .ora document (an undoable step; the opened file is the saved state). False (and a
        message) when it cannot be opened; what could not be restored is shown as a note."""
        try:
            warnings = self.document.open_ora(path)
        except EngineError as exc:
            self._show_error("Could not open document", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a bad file must leave the work as it was
            log.exception("opening %s failed", path)
            self._show_error("Could not open document", f"{short_name(path)} could not be opened ({exc}).")
            return False
        self.settings.add_recent_file(path)
        self.show_panel("Layers")
        doc = self.document.document
        missing = self.restore_document_models()
        opened = f"Opened {short_name(path)} ({doc.width}×{doc.height}, {len(doc.layers)} layers)"
        if missing:
            self.statusBar().showMessage(f"{opened}. " + " ".join(missing), 15000)
        else:
            self.statusBar().showMessage(opened, 5000)
        if warnings:
            self._show_error("Some parts could not be opened",
                             f"{short_name(path)} was opened, but:\n\n• " + "\n• ".join(warnings))
        return True

    def save_document(self, path: str) -> bool:
        """Write the document to ``path`` as .ora (atomically). False (and a message) when it fails."""
        if self.document.document is None:
            self._show_error("Nothing to save", "There is no document yet.")
            return False
        self._capture_workspace_state()
        try:
            self.document.save_ora(path)
        except EngineError as exc:
            log.warning("saving %s failed: %s", path, exc)
            self._show_error("Could not save document", f"{exc}\n\nYour document is still open; try another folder "
                             "or file name.")
            return False
        self.settings.add_recent_file(path)
        self.statusBar().showMessage(f"Saved {short_name(path)}", 5000)
        return True

    def _capture_workspace_state(self) -> None:
        """Store what belongs to the work in the document before saving: the Paint model, seed and
        style, the label sets of label layers (so reopening shows the same classes), and the Latent
        model with its settings (:meth:`restore_document_models` brings the models back)."""
        doc = self.document.document
        paint = next((w for w in self.workspaces if w.TITLE == "Paint"), None)
        if paint is not None:
            session = paint.session
            palette = session.palette
            for layer in doc.layers:
                if layer.kind == "labels" and layer.label_set == palette.name and layer.label_set not in doc.label_sets:
                    doc.label_sets[layer.label_set] = palette.label_set.to_dict()
            if session.model is not None:
                doc.state["paint"] = {"model": session.model.path, "model_options": dict(session.model_options),
                                      "seed": int(session.seed), "style_path": session.style_path}
        latent = next((w for w in self.workspaces if w.TITLE == "Latent"), None)
        if latent is not None and latent.session.model is not None:
            session = latent.session
            doc.state[LATENT_MODEL_STATE] = {"model": session.model.path,
                                             "model_options": dict(session.model_options),
                                             "settings": session.settings.to_dict()}

    def restore_document_models(self) -> list[str]:
        """Load the models the open document was saved with (``state["paint"]``: model, options, seed
        and style; ``state["latent_model"]``: model, options and explorer settings), each through
        :meth:`load_model` unless it is loaded already; the settings apply once it has loaded.
        Returns a sentence for each checkpoint that is no longer there (the document stays open)."""
        doc = self.document.document
        if doc is None:
            return []
        missing = []
        for title, key in (("Paint", "paint"), ("Latent", LATENT_MODEL_STATE)):
            saved = doc.state.get(key)
            if not isinstance(saved, dict) or not saved.get("model"):
                continue
            model = str(saved["model"])
            options = saved.get("model_options")
            options = dict(options) if isinstance(options, dict) else {}
            workspace = next((w for w in self.workspaces if w.TITLE == title), None)
            if workspace is None:
                continue
            if not os.path.exists(model):
                log.info("the %s model of the document, %s, is gone", title, model)
                missing.append(f"Its {title} model {model} is not there any more; open it or another one "
                               f"with File > Open model.")
                continue
            if title == "Paint":
                style_path = saved.get("style_path")
                try:
                    seed = int(saved.get("seed", 0))
                except (TypeError, ValueError):
                    seed = 0
                recipe = {"model": model, "model_options": options, "seed": seed}
                if style_path and os.path.isfile(str(style_path)):
                    recipe.update(style="image", style_path=str(style_path))
                workspace.open_recipe(recipe)
            else:
                settings = saved.get("settings")
                workspace.session.restore(model, options, settings if isinstance(settings, dict) else None)
        return missing

    def choose_export_image(self) -> None:
        if not self.document.has_image:
            self._show_error("Nothing to export", "The document has no image layer yet.")
            return
        current = self.document.path
        base = os.path.splitext(os.path.basename(current))[0] if current else "untitled"
        folder = os.path.dirname(current) if current else self.settings.last_folder("save")
        path, _ = QFileDialog.getSaveFileName(self, "Export image", os.path.join(folder, base + ".png"),
                                              "PNG image (*.png)")
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            self.export_image(path)

    def export_image(self, path: str) -> bool:
        """The flattened document as PNG with the recipes of its generated layers (the document's own
        file and saved state do not change). False (and a message) when it fails."""
        from engine.ora import export_png

        if self.document.document is None:
            self._show_error("Nothing to export", "There is no document yet.")
            return False
        try:
            export_png(self.document.document, path)
        except (OSError, EngineError) as exc:
            self._show_error("Could not export image", f"{path} could not be written: {exc}")
            return False
        self.statusBar().showMessage(f"Exported {short_name(path)}", 5000)
        return True

    def _label_layer_to_export(self) -> Layer | None:
        current = self.layers_panel.current_layer()
        if current is not None and current.kind == "labels":
            return current
        doc = self.document.document
        return doc.top("labels") if doc is not None else None

    def choose_export_label_map(self) -> None:
        layer = self._label_layer_to_export()
        if layer is None:
            self._show_error("Nothing to export", "The document has no label map layer.")
            return
        folder = self.settings.last_folder("save")
        path, _ = QFileDialog.getSaveFileName(self, f"Export label map '{layer.name}'",
                                              os.path.join(folder, "labels.png"), "Index PNG (*.png)")
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            self.export_label_map(path, layer.id)

    def export_label_map(self, path: str, layer_id: str | None = None) -> bool:
        """A label layer (default: the selected or topmost one) as an index PNG."""
        from engine.ora import export_label_map

        layer = self._label_layer_to_export() if layer_id is None else self.document.layer(layer_id)
        if layer is None:
            self._show_error("Nothing to export", "The document has no label map layer.")
            return False
        try:
            export_label_map(self.document.document, path, layer.id)
        except (OSError, EngineError) as exc:
            self._show_error("Could not export label map", f"{path} could not be written: {exc}")
            return False
        self.statusBar().showMessage(f"Exported label map '{layer.name}' to {short_name(path)}", 5000)
        return True

    def add_image_layer_from_file(self, path: str) -> bool:
        """Add an image file as a new layer on top (undoable); it is scaled down to fit the document
        if larger, and centred. Without a document it opens as one."""
        from engine import imageio
        from engine.document import rgb_to_rgba

        doc = self.document.document
        if doc is None:
            return self.open_image(path)
        try:
            image = rgb_to_rgba(self._displayable(imageio.read_image(path), path))
        except EngineError as exc:
            self._show_error("Could not add image", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001
            log.exception("reading %s failed", path)
            self._show_error("Could not add image", f"{short_name(path)} could not be read ({exc}).")
            return False
        pixels = fit_into(image, doc.width, doc.height)
        self.document.add_layer(Layer(name=short_name(path), kind="image", pixels=pixels),
                                text=f"Add image {short_name(path)}")
        self.layers_panel.select_layer(self.document.document.layers[-1].id)
        self.statusBar().showMessage(f"Added {short_name(path)} as a new layer", 5000)
        return True

    # ------------------------------------------------------------------ crash recovery

    def check_recovery(self) -> bool:
        """Offer the newest autosave a crashed session left (once per window). True when one was recovered."""
        if self._recovery_checked:
            return False
        self._recovery_checked = True
        from engine.ora import read_ora
        from gui.commands import ReplaceDocumentCommand

        try:
            candidate = offer_recovery(self, self.recovery_folder)
        except OSError as exc:
            log.warning("could not look for autosaves in %s: %s", self.recovery_folder, exc)
            return False
        if candidate is None:
            return False
        try:
            document, warnings = read_ora(candidate.ora)
        except EngineError as exc:
            self._show_error("Could not recover", f"{exc}\n\nThe autosave stays in {self.recovery_folder}.")
            return False
        self.document.undo_stack.push(ReplaceDocumentCommand(self.document, document, candidate.document_path,
                                                             f"Recover {candidate.name}"))
        candidate.discard()  # this window's autosaver keeps it safe from now on
        self.show_panel("Layers")
        missing = self.restore_document_models()
        self.statusBar().showMessage(" ".join([f"Recovered {candidate.describe()}. Save it to keep it."] + missing), 10000)
        if warnings:
            self._show_error("Some parts could not be recovered", "\n".join(warnings))
        return True

    # ------------------------------------------------------------------ models

    def choose_model_to_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self.settings.last_folder("model"), MODEL_FILTER)
        if path:
            self.settings.set_last_folder("model", path)
            self.load_model(path)

    def choose_model_folder_to_open(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open model folder", self.settings.last_folder("model"))
        if path:
            self.settings.set_last_folder("model", path)
            self.load_model(path)

    def load_model(self, path: str, options: dict | None = None):
        """Ask the engine to load ``path`` (with official ``options`` the file cannot tell);
        the Models panel shows the outcome. Returns the job handle."""
        options = dict(options or {})
        self.models_panel.model_loading(path)
        self.statusBar().showMessage(f"Loading {short_name(path)}…")
        return self.bridge.submit(
            LoadModelRequest(ModelRef(str(path), options)),
            on_result=lambda summary: self._model_loaded(path, summary, options),
            on_error=lambda message, exc: self._model_failed(path, message, exc, options),
            on_cancel=lambda: self.models_panel.model_failed(path, "loading was cancelled"),
        )

    def _model_loaded(self, path: str, summary: ModelSummary, options: dict | None = None) -> None:
        self.models_panel.model_loaded(summary, requested_path=path)
        is_starter = path in self._starter_paths
        if not is_starter:
            self.settings.add_recent_file(path)
        self._update_model_state()
        for workspace in self.workspaces:
            if workspace.accepts(summary):
                workspace.use_model(summary, options or {})
                if is_starter and workspace.TITLE == "Paint":
                    self._paint_example_scene(workspace)
                if is_starter and workspace.TITLE != "Paint":
                    break  # starters load quietly; the Paint workspace is the one in front
                if workspace.view is not None:
                    self.show_view(workspace.view)
                self.show_panel(workspace.panels[0].TITLE)
                break
        else:
            self.show_panel("Models")
        self.statusBar().showMessage(
            f"Loaded {short_name(path)}: {summary.family}, {summary.parameter_count:,} parameters", 8000)

    # ------------------------------------------------------------------ starter and user models

    def refresh_model_catalog(self) -> starter.StarterScan:
        """List the shipped models (checksums verified) and the user's models folder in the
        Models panel; returns the scan of the shipped ones."""
        folder = self.checkpoints_folder
        found = starter.scan(None if folder is None else folder)
        users = starter.user_models(self.settings.models_folder())
        self.models_panel.set_catalog([*found.models, *users], found.problems)
        return found

    def load_starter_models(self) -> list[str]:
        """Load the shipped starter models (one per workspace) into their workspaces. A file that
        does not match its manifest checksum is reported in the status bar and the Models panel,
        never loaded. Returns the paths being loaded."""
        found = self.refresh_model_catalog()
        if found.problems:
            self.statusBar().showMessage(found.problems[0], 15000)
        chosen: dict[str, str] = {}
        for model in found.models:
            chosen.setdefault(model.workspace, model.path)
        for path in chosen.values():
            self._starter_paths.add(path)
            self.load_model(path)
        return list(chosen.values())

    def _paint_example_scene(self, workspace) -> None:
        """Give a fresh Paint document the example world scene (an undoable step), so the first
        render shows what the model does. A label map the user already painted is never touched."""
        session = workspace.session
        if session.translates_images:
            return
        layer = session.ensure_label_layer()
        eraser = session.brush.eraser_class
        if not np.all(layer.pixels == eraser):
            return
        try:
            labels = starter.example_scene_labels(*layer.pixels.shape)
        except (ValueError, ImportError) as exc:
            log.warning("no example scene: %s", exc)
            return
        if int(labels.max()) >= len(session.palette):
            return  # the model's label set is not the world's
        session.set_labels(labels, "Example scene")

    def choose_models_folder(self) -> None:
        """Pick the folder of the user's own models (a setting); the Models panel lists it."""
        path = QFileDialog.getExistingDirectory(self, "Your models folder", self.settings.models_folder()
                                                or self.settings.last_folder("model"))
        if path:
            self.settings.set_models_folder(path)
            self.refresh_model_catalog()

    def ask_model_option(self, path: str, message: str, option: str) -> object | None:
        """Ask the user for an option the checkpoint cannot tell; None when they cancel."""
        text, ok = QInputDialog.getText(
            self, "This model needs an option",
            f"{message}\n\nValue of '{option}' for {short_name(path)}:")
        if not ok or not text.strip():
            return None
        from engine.commands.common import parse_option_value

        return parse_option_value(text.strip())

    def _model_failed(self, path: str, message: str, error: BaseException | None = None,
                      options: dict | None = None) -> None:
        option = getattr(error, "option", None)
        if isinstance(error, MissingOptionError) and option and option not in (options or {}):
            value = self.ask_model_option(path, message, option)
            if value is not None:
                self.load_model(path, {**(options or {}), option: value})
                return
        self.models_panel.model_failed(path, message)
        self.statusBar().clearMessage()
        self._show_error("Could not load model", message)

    def _update_model_state(self) -> None:
        self.banner.setVisible(not self.models_panel.has_model)

    # ------------------------------------------------------------------ recent files

    @Slot()
    def rebuild_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.settings.recent_files()
        for path in files:
            kind = "model" if is_model_path(path) else "document" if is_document_path(path) else "image"
            act = menu.addAction(f"{short_name(path)}  ({kind})")
            act.setToolTip(path)
            act.setStatusTip(path)
            act.triggered.connect(lambda _checked=False, p=path: self.open_recent(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear list", self.settings.clear_recent_files)
        else:
            menu.addAction("No recent files").setEnabled(False)

    def open_recent(self, path: str) -> None:
        if not os.path.exists(path):
            self.settings.remove_recent_file(path)
            self._show_error("File not found", f"{path} no longer exists; it was removed from the recent files.")
            return
        if is_model_path(path):
            self.load_model(path)
        else:
            self.open_image(path)

    # ------------------------------------------------------------------ diagnostics

    def run_self_test(self):
        """Render a test pattern on the engine and show it on the canvas (undoable). Returns the job handle."""
        width, height = SELF_TEST_SIZE
        self.statusBar().showMessage("Running the engine self-test…")
        return self.bridge.submit(
            TestPatternRequest(width=width, height=height, seed=random.randrange(2**31), steps=8),
            channel="selftest",
            on_result=self._self_test_done,
            on_error=lambda message, _exc: self._self_test_failed(message),
        )

    def _self_test_done(self, result: ImageResult) -> None:
        image = getattr(result, "image", None)
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            self._self_test_failed(f"the engine answered with an unexpected result ({type(result).__name__}).")
            return
        self.document.replace_image(image, text="Engine self-test", name="Test pattern", new_document=True)
        height, width = image.shape[:2]
        self.statusBar().showMessage(
            f"Engine self-test passed: {width}×{height} test pattern rendered on {self._device_description()} "
            f"in {format_duration(result.duration_s)}.", 10000)

    def _self_test_failed(self, message: str) -> None:
        self.statusBar().clearMessage()
        self._show_error("Engine self-test failed", message)

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<b>{APP_NAME}</b> {APP_VERSION}<br>Paint, explore and train GANs on your own "
                          f"machine.<br><br>Engine device: {self._device_description()}")

    # ------------------------------------------------------------------ status bar

    @Slot()
    def poll_engine_state(self) -> None:
        """Read ``engine.state()`` (cheap) and update the status bar labels when they change."""
        try:
            state = self.engine.state()
        except Exception:  # noqa: BLE001 - the status bar must never take the window down
            log.debug("engine.state() failed", exc_info=True)
            texts = ("engine unavailable", self.last_job_label.text())
        else:
            texts = (describe_state(state), f"Last job: {format_duration(state.last_duration_s)}")
        if texts != self._last_state_text:
            self._last_state_text = texts
            self.engine_label.setText(f"Engine: {texts[0]}")
            self.last_job_label.setText(texts[1])

    def _bridge_busy(self, busy: bool) -> None:
        self.poll_engine_state()
        self.job_progress.setVisible(busy)
        if busy:
            self.job_progress.setRange(0, 0)

    def _bridge_progress(self, _job_id: int, fraction: float | None, message: str) -> None:
        if fraction is None:
            self.job_progress.setRange(0, 0)
        else:
            self.job_progress.setRange(0, 1000)
            self.job_progress.setValue(round(fraction * 1000))
        if message:
            self.job_progress.setToolTip(message)

    def _device_description(self) -> str:
        try:
            return str(self.engine.device_description)
        except Exception:  # noqa: BLE001
            return "unknown"

    # ------------------------------------------------------------------ document

    def _document_changed(self) -> None:
        image = self.document.composite()
        previous = self.canvas.image_size
        self.canvas.set_image(image, keep_view=True)
        if image is not None and previous != self.canvas.image_size:
            self.canvas.fit_to_window()
        self._update_title()

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.display_name}[*] — {APP_NAME}")
        self.setWindowModified(self.document.is_modified)
        has_document = self.document.document is not None
        self.save_action.setEnabled(has_document)
        self.save_as_action.setEnabled(has_document)
        self.export_image_action.setEnabled(self.document.has_image)
        self.export_labels_action.setEnabled(has_document and self.document.document.top("labels") is not None)

    # ------------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        """Checkpoints load as models, .ora files open, images become new layers (undoable)."""
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_dropped(url.toLocalFile())
        event.acceptProposedAction()

    def open_dropped(self, path: str) -> None:
        if is_model_path(path):
            self.load_model(path)
        elif is_document_path(path):
            self.open_document(path)
        else:
            self.add_image_layer_from_file(path)

    # ------------------------------------------------------------------ settings and closing

    def _restore_settings(self) -> None:
        geometry = self.settings.window_geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state()
        if state is not None and not self.restoreState(state):
            log.info("the saved panel layout could not be restored; using the default")
        self._tune_tab_bars()

    def save_settings(self) -> None:
        self.settings.save_window(self.saveGeometry(), self.saveState())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.confirm_close and self.document.is_modified and self.document.document is not None:
            answer = QMessageBox.question(
                self, "Unsaved changes",
                f"{self.document.display_name} has changes that are not saved. Save them before closing?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save,
            )
            if answer == QMessageBox.StandardButton.Cancel or (
                    answer == QMessageBox.StandardButton.Save and not self.save()):
                event.ignore()
                return
        self.save_settings()
        self.autosaver.finish()  # a clean exit: nothing to recover next time
        self.shutdown_engine()
        event.accept()

    def shutdown_engine(self) -> None:
        """Stop polling, forget outstanding jobs and shut the engine down (once)."""
        if self._shut_down:
            return
        self._shut_down = True
        self._state_timer.stop()
        self.bridge.close()
        try:
            self._shutdown()
        except Exception:  # noqa: BLE001 - closing must always succeed
            log.exception("engine shutdown failed")

    # ------------------------------------------------------------------ messages

    def _show_error(self, title: str, message: str) -> None:
        """Tell the user what went wrong (a modal warning); the work on the canvas is untouched."""
        log.info("%s: %s", title, message)
        QMessageBox.warning(self, title, message)


def fit_into(image, width: int, height: int):
    """HxWx4 ``image`` centred on a transparent ``width``×``height`` canvas, scaled down (keeping its
    aspect) when it is larger."""
    from PIL import Image

    h, w = image.shape[:2]
    scale = min(1.0, width / w, height / h)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
        h, w = image.shape[:2]
    canvas = np.zeros((height, width, 4), np.uint8)
    y, x = (height - h) // 2, (width - w) // 2
    canvas[y:y + h, x:x + w] = image
    return canvas
