"""The main window: canvas and workspace views in the middle, docks, menus and the status bar.

The window receives the engine from its owner (main.py / gui.app) and talks to it only through
:class:`gui.engine_bridge.EngineBridge` and ``engine.state()`` / ``engine.device_description``.
It knows workspaces only through :class:`gui.workspaces.base.Workspace` (built from
:data:`gui.workspaces.table.WORKSPACES`); what the File menu does lives in
:class:`gui.file_actions.FileActions` (``window.files``) and model loading in
:class:`gui.model_loading.ModelLoader` (``window.model_loader``). It never imports torch.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Callable, Iterable

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTabBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.types import EngineState, ImageResult, ModelSummary, TestPatternRequest
from engine.version import APP_NAME, APP_VERSION
from gui.canvas.view import CanvasView
from gui.document import DocumentModel
from gui.engine_bridge import EngineBridge
from gui.file_actions import FileActions
from gui.model_loading import ModelLoader
from gui.panels.history import HistoryPanel
from gui.panels.layers import LayersPanel
from gui.panels.models import NO_MODEL_TEXT, ModelsPanel
from gui.settings import AppSettings
from gui.starter_models import StarterModels
from gui.workspaces.base import Workspace
from gui.workspaces.table import WORKSPACES

log = logging.getLogger(__name__)

STATE_POLL_MS = 250
SELF_TEST_SIZE = (512, 384)  # width, height
IMAGE_WORKSPACE_TITLE = "Image"
IMAGE_WORKSPACE_KEY = "image"


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

    ``first_frame`` is emitted once, just after the window's first frame is painted (gui.app
    starts a :class:`engine.deferred.DeferredEngine` then, and bench/bench_startup.py times it).
    While the engine reports ``starting`` the status bar says "starting engine…"; requests made
    meanwhile wait in the engine's queue.

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

    first_frame = Signal()

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
        self._first_frame_seen = False
        self._start_error_shown = False
        self._device_known = False
        self._last_canvas: CanvasView | None = None

        self.setWindowTitle(APP_NAME)
        self.resize(1360, 860)
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)

        self.recovery_folder = recovery_folder or self.settings.recovery_folder()
        self._build_central()
        self._build_docks()
        self.model_loader = ModelLoader(self.bridge, self.models_panel, self.settings, self.workspaces, self,
                                        self._show_error, self)
        self.starters = StarterModels(self.model_loader, self.models_panel, self.settings, self,
                                      checkpoints_folder, self)
        self.files = FileActions(self.document, self.settings, self.workspaces, self.model_loader, self,
                                 self._show_error, self.layers_panel.current_layer, self.recovery_folder, self)
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._connect()
        self._restore_settings()
        self.centralWidget().installEventFilter(self)
        self._update_title()
        self._update_model_state()

        self._state_timer = QTimer(self)
        self._state_timer.setInterval(STATE_POLL_MS)
        self._state_timer.timeout.connect(self.poll_engine_state)
        self._state_timer.start()
        self.poll_engine_state()

        # once the window is up: what a crash left (never our own files)
        QTimer.singleShot(0, self.files.check_recovery)
        self.files.autosaver.start()

        model_paths = [str(p) for p in model_paths]
        for path in model_paths:
            self.model_loader.load(path)
        self.starters.refresh()
        if not model_paths and (self.settings.load_starters() if load_starters is None else load_starters):
            self.starters.load_all()
        images = [str(p) for p in image_paths] + ([str(image_path)] if image_path else [])
        if images:  # after the window shows, so a message box about a bad file has a parent on screen
            QTimer.singleShot(0, lambda: [self.files.open_image(path) for path in images])

    # ------------------------------------------------------------------ construction

    def _build_central(self) -> None:
        """The workspace switcher and the banner over a page per view: the document image, then each
        workspace's own view. ``views`` is a QTabWidget whose own tab bar is hidden: the switcher
        (one tab per workspace, Ctrl+1…) is the one place that picks a workspace."""
        self.canvas = CanvasView()
        self.banner = NoModelBanner()
        self.views = QTabWidget()
        self.views.setObjectName("views")
        self.views.setDocumentMode(True)
        self.views.tabBar().hide()
        self.views.addTab(self.canvas, IMAGE_WORKSPACE_TITLE)
        self.workspaces: list[Workspace] = [kind(self.bridge, self.document, self) for kind in WORKSPACES]
        for workspace in self.workspaces:
            if workspace.view is not None:
                self.views.addTab(workspace.view, workspace.TITLE)
        self.switcher = QTabBar()
        self.switcher.setObjectName("workspaceSwitcher")
        self.switcher.setDocumentMode(True)
        self.switcher.setExpanding(False)
        self.switcher.setDrawBase(True)
        for index in range(self.views.count()):
            self.switcher.addTab(self.views.tabText(index))
        self.switcher.currentChanged.connect(self._switcher_changed)
        self.views.currentChanged.connect(self._view_changed)
        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.switcher)
        layout.addWidget(self.banner)
        layout.addWidget(self.views, 1)
        self.setCentralWidget(central)
        self._hidden_panels: set[str] = set()
        self._switching = False

    def workspace(self, name: str) -> Workspace:
        """The workspace whose ``TITLE`` or ``KEY`` is ``name`` (e.g. "Paint" or "paint"); KeyError when none is."""
        for workspace in self.workspaces:
            if name in (workspace.TITLE, workspace.KEY):
                return workspace
        raise KeyError(f"no workspace called {name!r}")

    def show_workspace(self, workspace: Workspace) -> None:
        """Bring ``workspace``'s view and its panels to the front (other workspaces' panels hide)."""
        if workspace.view is not None:
            self.show_view(workspace.view)
        else:
            self._arrange_panels(workspace)
        if workspace.panels:
            self.docks[workspace.panels[0].TITLE].raise_()

    def show_view(self, widget: QWidget) -> None:
        """Bring a central view (the Image canvas or a workspace's view) and its workspace's panels to the front."""
        index = self.views.indexOf(widget)
        if index >= 0:
            self.views.setCurrentIndex(index)

    def current_workspace(self) -> Workspace | None:
        """The workspace whose view is shown (None for the Image view)."""
        widget = self.views.currentWidget()
        return next((w for w in self.workspaces if w.view is not None and w.view is widget), None)

    def _switcher_changed(self, index: int) -> None:
        if index >= 0 and index != self.views.currentIndex():
            self.views.setCurrentIndex(index)

    def _view_changed(self, index: int) -> None:
        """The shown view changed: the switcher, the panels, the zoom readout and the menu follow."""
        if self.switcher.currentIndex() != index:
            self.switcher.setCurrentIndex(index)
        self._arrange_panels(self.current_workspace())
        if 0 <= index < len(getattr(self, "workspace_actions", [])):
            self.workspace_actions[index].setChecked(True)
        self._show_zoom()

    def _workspace_docks(self, workspace: Workspace) -> list[QDockWidget]:
        return [self.docks[p.TITLE] for p in workspace.panels if p.TITLE in getattr(self, "docks", {})]

    def _arrange_panels(self, shown: Workspace | None) -> None:
        """Show ``shown``'s panels (except those the user closed) and hide every other workspace's."""
        if not hasattr(self, "docks"):
            return
        self._switching = True
        try:
            for workspace in self.workspaces:
                for dock in self._workspace_docks(workspace):
                    wanted = workspace is shown and dock.windowTitle() not in self._hidden_panels
                    if dock.isHidden() == wanted:
                        dock.setVisible(wanted)
            if shown is not None and shown.panels:
                first = self.docks.get(shown.panels[0].TITLE)
                if first is not None and not first.isHidden():
                    first.raise_()
        finally:
            self._switching = False
        QTimer.singleShot(0, self._refresh_dock_tab_bars)

    def _refresh_dock_tab_bars(self) -> None:
        """After panels were shown or hidden: dock tab bars with tabs show again (a bar hidden as
        stale earlier may hold the shown workspace's panels now), then stale duplicates hide."""
        for bar in self.findChildren(QTabBar):
            if bar.parent() is self:
                bar.setVisible(bar.count() > 1)  # one tab (the others' panels hidden): the dock title says it
        self._hide_stale_tab_bars()

    def _panel_toggled(self, title: str, visible: bool) -> None:
        """The user showed or closed a panel: remember it for its workspace (not while switching)."""
        if self._switching:
            return
        current = self.current_workspace()
        if current is None or title not in {p.TITLE for p in current.panels}:
            return
        if visible:
            self._hidden_panels.discard(title)
        else:
            self._hidden_panels.add(title)

    # ------------------------------------------------------------------ zoom (acts on the shown view)

    def active_canvas(self) -> CanvasView | None:
        """The canvas that zoom acts on: the shown view if it is one, else the focused (or first
        visible) canvas inside the shown workspace view."""
        widget = self.views.currentWidget()
        if isinstance(widget, CanvasView):
            return widget
        if widget is None:
            return None
        canvases = [c for c in widget.findChildren(CanvasView) if c.isVisibleTo(widget)]
        focused = [c for c in canvases if c.hasFocus() or c.viewport().hasFocus()]
        if focused:
            return focused[0]
        if self._last_canvas in canvases:
            return self._last_canvas
        return canvases[0] if canvases else None

    def _zoom(self, how: str) -> None:
        canvas = self.active_canvas()
        if canvas is not None:
            getattr(canvas, how)()
            self._last_canvas = canvas
            self._show_zoom()

    def _canvas_zoomed(self, canvas: CanvasView, _zoom: float) -> None:
        if canvas is self.active_canvas():
            self._show_zoom()

    def _show_zoom(self) -> None:
        canvas = self.active_canvas()
        if hasattr(self, "zoom_label"):
            self.zoom_label.setText("—" if canvas is None else f"{canvas.zoom * 100:.0f}%")

    def _build_docks(self) -> None:
        self.docks: dict[str, QDockWidget] = {}
        self.panels: dict[str, QWidget] = {}
        self.models_panel = ModelsPanel()
        models_dock = self._add_dock(self.models_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        models_dock.setMinimumWidth(260)
        first: QDockWidget | None = None
        panels = [panel for workspace in self.workspaces for panel in workspace.panels]
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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Notice the first paint of the central area: the window is on screen (``first_frame``)."""
        if not self._first_frame_seen and event.type() == QEvent.Type.Paint and watched is self.centralWidget():
            self._first_frame_seen = True
            QTimer.singleShot(0, self.first_frame.emit)  # after this frame is finished
        return super().eventFilter(watched, event)

    def showEvent(self, event) -> None:
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

        self.new_action = action("&New", self.files.new_document, QKeySequence.StandardKey.New,
                                 "Start an empty document (Undo brings the current one back)")
        self.open_action = action("&Open…", self.files.choose_file_to_open, QKeySequence.StandardKey.Open,
                                  "Open a document (.ora) or an image")
        self.open_image_action = self.open_action
        self.save_action = action("&Save", self.files.save, QKeySequence.StandardKey.Save,
                                  "Save the document (layers, label maps, recipes) as .ora")
        self.save_as_action = action("Save &As…", self.files.save_as, QKeySequence.StandardKey.SaveAs,
                                     "Save the document as a new .ora file")
        self.export_image_action = action("&Export image…", self.files.choose_export_image, "Ctrl+E",
                                          "Save the flattened image as PNG, with the recipes of generated layers")
        self.export_labels_action = action("Export &label map…", self.files.choose_export_label_map, None,
                                           "Save a label layer as an index PNG")
        self.open_model_action = action("Open &model…", self.model_loader.choose_file, "Ctrl+Shift+O",
                                        "Load a checkpoint (.safetensors, .pth, .pt, .bin, .pkl)")
        self.open_model_folder_action = action("Open model &folder…", self.model_loader.choose_folder, None,
                                               "Load a model stored as a folder")
        self.quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.undo_action = self.document.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.document.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)

        self.zoom_in_action = action("Zoom &in", lambda: self._zoom("zoom_in"), QKeySequence.StandardKey.ZoomIn,
                                     "Zoom in on the shown view")
        self.zoom_out_action = action("Zoom &out", lambda: self._zoom("zoom_out"), QKeySequence.StandardKey.ZoomOut,
                                      "Zoom out of the shown view")
        self.fit_action = action("&Fit to window", lambda: self._zoom("fit_to_window"), "Ctrl+0",
                                 "Show the whole image of the shown view")
        self.actual_size_action = action("&Actual size (100%)", lambda: self._zoom("actual_size"), "Ctrl+Alt+0",
                                         "One image pixel per screen pixel in the shown view")
        self.workspace_group = QActionGroup(self)
        self.workspace_actions: list[QAction] = []
        for index in range(self.views.count()):
            title = self.views.tabText(index)
            act = action(title, lambda index=index: self.views.setCurrentIndex(index),
                         f"Ctrl+{index + 1}" if index < 9 else None, f"Show the {title} workspace")
            act.setCheckable(True)
            self.workspace_group.addAction(act)
            self.workspace_actions.append(act)
        self.workspace_actions[self.views.currentIndex()].setChecked(True)
        self.reset_layout_action = action("&Reset panel layout", self.reset_layout)

        self.self_test_action = action("Engine &self-test", self.run_self_test, None,
                                       "Render a test pattern on the engine to check it works")
        self.shortcuts_action = action("&Keyboard shortcuts", self.show_shortcuts, "F1",
                                       "Every keyboard shortcut of the app")
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

        workspace_menu = bar.addMenu("&Workspace")
        for act in self.workspace_actions:
            workspace_menu.addAction(act)
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
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.self_test_action)
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)
        self.menus = {"File": file_menu, "Edit": edit_menu, "Workspace": workspace_menu, "View": view_menu,
                      "Help": help_menu}

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
        self.zoom_label.setToolTip("Zoom of the shown view (View > Fit to window: Ctrl+0, 100%: Ctrl+Alt+0)")
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
        for canvas in [self.canvas] + [c for w in self.workspaces if w.view is not None
                                       for c in w.view.findChildren(CanvasView)]:
            canvas.zoom_changed.connect(lambda zoom, canvas=canvas: self._canvas_zoomed(canvas, zoom))
        for title, dock in self.docks.items():
            dock.toggleViewAction().toggled.connect(lambda visible, title=title: self._panel_toggled(title, visible))
        self.bridge.busy_changed.connect(self._bridge_busy)
        self.bridge.progress.connect(self._bridge_progress)
        self.models_panel.open_model_requested.connect(self.model_loader.choose_file)
        self.models_panel.open_model_folder_requested.connect(self.model_loader.choose_folder)
        self.banner.open_button.clicked.connect(self.model_loader.choose_file)
        self.model_loader.status.connect(self._show_status)
        self.model_loader.models_changed.connect(self._update_model_state)
        self.model_loader.model_used.connect(self._model_used)
        self.starters.status.connect(self._show_status)
        self.files.status.connect(self._show_status)
        self.files.document_shown.connect(lambda: self.show_panel("Layers"))
        self.files.layer_added.connect(self.layers_panel.select_layer)
        trainers = [w for w in self.workspaces if w.KEY == "train"]
        if trainers:
            self.banner.train_button.clicked.connect(lambda: self.show_workspace(trainers[0]))
        else:
            self.banner.train_button.hide()

    # ------------------------------------------------------------------ panels

    def show_panel(self, title: str) -> None:
        dock = self.docks[title]
        dock.show()
        dock.raise_()

    def reset_layout(self) -> None:
        """Back to the default panel layout: every closed panel comes back (the shown workspace's panels)."""
        self.restoreState(self._default_state)
        self._hidden_panels.clear()
        for dock in self.docks.values():
            dock.show()
        self._arrange_panels(self.current_workspace())

    # ------------------------------------------------------------------ models and recent files

    def _model_used(self, workspace: Workspace | None, summary: ModelSummary) -> None:
        """Show the workspace that took a freshly loaded model (the Models panel when none did).
        The starter models load quietly, except Paint's, which comes to the front."""
        if self.starters.is_starter(summary.path) and (workspace is None or workspace.KEY != "paint"):
            return
        if workspace is not None:
            self.show_workspace(workspace)
        else:
            self.show_panel("Models")

    def _update_model_state(self) -> None:
        self.banner.setVisible(not self.models_panel.has_model)

    @Slot()
    def rebuild_recent_menu(self) -> None:
        self.files.fill_recent_menu(self.recent_menu)

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

    def show_shortcuts(self):
        """Help > Keyboard shortcuts (non-modal; returns the dialog)."""
        from gui.dialogs.shortcuts import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<b>{APP_NAME}</b> {APP_VERSION}<br>Paint, explore and train GANs on your own "
                          f"machine.<br><br>Engine device: {self._device_description()}")

    # ------------------------------------------------------------------ status bar

    @Slot()
    def poll_engine_state(self) -> None:
        """Read ``engine.state()`` (cheap) and update the status bar labels when they change."""
        starting = bool(getattr(self.engine, "starting", False))
        try:
            state = self.engine.state()
        except Exception:
            log.debug("engine.state() failed", exc_info=True)
            texts = ("engine unavailable", self.last_job_label.text())
        else:
            texts = (describe_state(state), f"Last job: {format_duration(state.last_duration_s)}")
        if starting:
            queued = f" · {state.queue_length} waiting" if texts[0] != "engine unavailable" and state.queue_length else ""
            texts = (f"starting engine…{queued}", "")
        elif not self._device_known:
            self._device_known = True
            self.device_label.setText(f"Device: {self._device_description()}")
        self._report_start_error()
        if texts != self._last_state_text:
            self._last_state_text = texts
            self.engine_label.setText(f"Engine: {texts[0]}")
            self.last_job_label.setText(texts[1])

    def _report_start_error(self) -> None:
        """Once: tell the user why the engine did not start (the window stays usable for files)."""
        error = getattr(self.engine, "start_error", None)
        if error is None or self._start_error_shown:
            return
        self._start_error_shown = True
        self.device_label.setText("Device: not available")
        QTimer.singleShot(0, lambda: self._show_error(f"{APP_NAME}: the engine could not start", str(error)))

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

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Checkpoints load as models, .ora files open, images become new layers (undoable)."""
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.files.open_dropped(url.toLocalFile())
        event.acceptProposedAction()

    # ------------------------------------------------------------------ settings and closing

    def _restore_settings(self) -> None:
        geometry = self.settings.window_geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state()
        if state is not None and not self.restoreState(state):
            log.info("the saved panel layout could not be restored; using the default")
        self._hidden_panels = self.settings.hidden_workspace_panels()
        key = self.settings.current_workspace()
        shown = next((w for w in self.workspaces if w.KEY == key and w.view is not None), None)
        if shown is not None:
            self.show_workspace(shown)
        else:
            self._arrange_panels(self.current_workspace())
        self._tune_tab_bars()

    def save_settings(self) -> None:
        self.settings.save_window(self.saveGeometry(), self.saveState())
        current = self.current_workspace()
        self.settings.save_workspace(current.KEY if current is not None else IMAGE_WORKSPACE_KEY, self._hidden_panels)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.confirm_close and self.document.is_modified and self.document.document is not None:
            answer = QMessageBox.question(
                self, "Unsaved changes",
                f"{self.document.display_name} has changes that are not saved. Save them before closing?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save,
            )
            if answer == QMessageBox.StandardButton.Cancel or (
                    answer == QMessageBox.StandardButton.Save and not self.files.save()):
                event.ignore()
                return
        self.save_settings()
        self.files.autosaver.finish()  # a clean exit: nothing to recover next time
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
        except Exception:
            log.exception("engine shutdown failed")

    # ------------------------------------------------------------------ messages

    def _show_status(self, message: str, milliseconds: int = 0) -> None:
        """A status bar message for ``milliseconds`` (0: until replaced); an empty one clears it."""
        if message:
            self.statusBar().showMessage(message, milliseconds)
        else:
            self.statusBar().clearMessage()

    def _show_error(self, title: str, message: str) -> None:
        """Tell the user what went wrong (a modal warning); the work on the canvas is untouched."""
        log.info("%s: %s", title, message)
        QMessageBox.warning(self, title, message)
