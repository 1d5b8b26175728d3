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

from engine.errors import EngineError
from engine.types import EngineState, ImageResult, LoadModelRequest, ModelRef, ModelSummary, TestPatternRequest
from engine.version import APP_NAME, APP_VERSION
from gui.canvas.view import CanvasView
from gui.document import DocumentModel
from gui.engine_bridge import EngineBridge
from engine.errors import MissingOptionError
from gui.latent.workspace import LatentWorkspaceController
from gui.paint.workspace import PaintWorkspaceController
from gui.panels.inpaint import InpaintPanel
from gui.panels.models import NO_MODEL_TEXT, ModelsPanel, short_name
from gui.panels.train import TrainPanel
from gui.settings import MODEL_EXTENSIONS, AppSettings, is_model_path
from gui.upscale.workspace import UpscaleWorkspaceController

log = logging.getLogger(__name__)

#: Workspace controllers, in dock order. A controller is built as ``Controller(bridge, document_model,
#: parent)`` and has ``TITLE``, ``view`` (a central view widget, shown as a tab, or None), ``panels``
#: (its dock widgets, each with ``TITLE`` and an object name), ``accepts(summary)`` and
#: ``use_model(summary, options)``: a loaded model goes to the first workspace that accepts it.
WORKSPACE_CONTROLLERS = (PaintWorkspaceController, LatentWorkspaceController, UpscaleWorkspaceController)
#: placeholder panels of workspaces that are not built yet
WORKSPACE_PANELS = (InpaintPanel, TrainPanel)
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;All files (*)"
MODEL_FILTER = ("Model checkpoints (" + " ".join(f"*{ext}" for ext in MODEL_EXTENSIONS) + ");;All files (*)")
STATE_POLL_MS = 250
SELF_TEST_SIZE = (512, 384)  # width, height


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
    """

    def __init__(self, engine: Any, settings: QSettings | None = None, model_paths: Iterable[str] = (),
                 image_paths: Iterable[str] = (), image_path: str | None = None,
                 shutdown: Callable[[], None] | None = None, confirm_close: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.engine = engine
        self.settings = AppSettings(settings)
        self.bridge = EngineBridge(engine, self)
        self.document = DocumentModel(self)
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

        for path in model_paths:
            self.load_model(str(path))
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
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        self.resizeDocks([models_dock, first], [280, 400], Qt.Orientation.Horizontal)
        self._tune_tab_bars()
        self._default_state = self.saveState()

    def _tune_tab_bars(self) -> None:
        """Dock tabs show whole names (scroll arrows when they do not fit) instead of 'P…'."""
        for bar in self.findChildren(QTabBar):
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)

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

        self.open_image_action = action("&Open image…", self.choose_image_to_open, QKeySequence.StandardKey.Open,
                                        "Open an image file onto the canvas")
        self.save_image_action = action("&Save image", self.save, QKeySequence.StandardKey.Save,
                                        "Save the image as PNG")
        self.save_image_as_action = action("Save image &as…", self.save_as, QKeySequence.StandardKey.SaveAs,
                                           "Save the image as a new PNG file")
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
        file_menu.addAction(self.open_image_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self.rebuild_recent_menu)
        file_menu.addAction(self.save_image_action)
        file_menu.addAction(self.save_image_as_action)
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
        """Read ``path`` onto the canvas as an undoable step. False (and a message) when it cannot be read."""
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
        """Save to the document's PNG path, or ask for one."""
        path = self.document.path
        if path and path.lower().endswith(".png"):
            return self.save_image(path)
        return self.save_as()

    def save_as(self) -> bool:
        if not self.document.has_image:
            self._show_error("Nothing to save", "There is no image on the canvas yet.")
            return False
        current = self.document.path
        base = os.path.splitext(os.path.basename(current))[0] if current else "untitled"
        folder = os.path.dirname(current) if current else self.settings.last_folder("save")
        path, _ = QFileDialog.getSaveFileName(self, "Save image", os.path.join(folder, base + ".png"),
                                              "PNG image (*.png)")
        if not path:
            return False
        if not path.lower().endswith(".png"):
            path += ".png"
        self.settings.set_last_folder("save", path)
        return self.save_image(path)

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
        self.settings.add_recent_file(path)
        self._update_model_state()
        for workspace in self.workspaces:
            if workspace.accepts(summary):
                workspace.use_model(summary, options or {})
                if workspace.view is not None:
                    self.show_view(workspace.view)
                self.show_panel(workspace.panels[0].TITLE)
                break
        else:
            self.show_panel("Models")
        self.statusBar().showMessage(
            f"Loaded {short_name(path)}: {summary.family}, {summary.parameter_count:,} parameters", 8000)

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
            kind = "model" if is_model_path(path) else "image"
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
        has_image = self.document.has_image
        self.save_image_action.setEnabled(has_image)
        self.save_image_as_action.setEnabled(has_image)

    # ------------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_recent(url.toLocalFile())
        event.acceptProposedAction()

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
        if self.confirm_close and self.document.is_modified and self.document.has_image:
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
