"""Application setup: QApplication, names for QSettings, the theme, the qasync loop, the window.

Public API (what main.py calls):

``run_gui(engine, model_paths=(), image_paths=(), argv=None, shutdown=None, settings=None, image_path=None) -> int``
    Show the main window for an already-built ``engine`` and run the event loop (Qt + asyncio
    via qasync, so panels can ``await bridge.run(...)``) until the window closes. The window
    shuts the engine down when it closes (``engine.shutdown()``; pass ``shutdown`` to replace
    that, e.g. a no-op when the caller shuts it down itself). ``image_paths`` are opened in
    order once the window shows (each an undoable step; the last one is on the canvas);
    ``image_path`` is the same for one file. ``settings`` replaces the app's
    QSettings (tests). Returns the exit code.

``run_app(argv, engine_factory, model_paths=(), image_paths=()) -> int``
    The same, but builds the engine with ``engine_factory()`` after the QApplication exists
    (so a failure, e.g. an unavailable device, is shown in a dialog and exits with 2).
    main.py can do ``run_app(sys.argv, lambda: Engine(device=args.device))``.

``create_application(argv=None) -> QApplication``
    The QApplication (made once): app/organisation names for QSettings, Fusion style and the
    dark neutral palette. Tests and gui.screenshot use it.

Nothing here imports torch: the engine arrives from outside.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any, Callable, Iterable, Sequence

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.errors import EngineError
from engine.version import APP_NAME, APP_VERSION
from gui import gc_guard
from gui.refcount_guard import protect_singletons

log = logging.getLogger(__name__)

ORGANIZATION_NAME = "GAN Studio"
ORGANIZATION_DOMAIN = "ganstudio.local"

#: start a deferred engine after this long (ms) even when no first frame was reported
FIRST_FRAME_FALLBACK_MS = 1000


def dark_palette() -> QPalette:
    """A dark, colour-neutral palette (grey UI, so it does not tint the artist's judgement of colour)."""
    p = QPalette()
    window, base, text = QColor(50, 50, 53), QColor(36, 36, 38), QColor(222, 222, 225)
    disabled_text = QColor(128, 128, 132)
    highlight = QColor(74, 118, 168)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor(44, 44, 47),
        QPalette.ColorRole.ToolTipBase: QColor(30, 30, 32),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: disabled_text,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(60, 60, 64),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 110, 100),
        QPalette.ColorRole.Light: QColor(80, 80, 84),
        QPalette.ColorRole.Midlight: QColor(66, 66, 70),
        QPalette.ColorRole.Mid: QColor(44, 44, 47),
        QPalette.ColorRole.Dark: QColor(28, 28, 30),
        QPalette.ColorRole.Shadow: QColor(12, 12, 12),
        QPalette.ColorRole.Highlight: highlight,
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(110, 160, 220),
        QPalette.ColorRole.LinkVisited: QColor(150, 130, 210),
    }
    for role, colour in roles.items():
        p.setColor(role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled_text)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor(70, 70, 74))
    return p


STYLE_SHEET = """
QDockWidget::title { padding: 4px 6px; background: #2e2e31; }
QStatusBar QLabel { padding: 0 6px; color: #b8b8bc; }
QToolTip { border: 1px solid #55555a; }
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (existing one reused), named for QSettings and themed."""
    protect_singletons()  # a PySide6 6.12.0 reference-count bug would abort long sessions (gui.refcount_guard)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setOrganizationName(ORGANIZATION_NAME)
    QCoreApplication.setOrganizationDomain(ORGANIZATION_DOMAIN)
    QCoreApplication.setApplicationVersion(APP_VERSION)
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationDisplayName(APP_NAME)
    apply_theme(app)
    gc_guard.install(app)  # Qt objects must never be garbage-collected on the engine thread
    return app


def run_gui(engine: Any, model_paths: Iterable[str] = (), image_paths: Iterable[str] = (),
            argv: Sequence[str] | None = None, shutdown: Callable[[], None] | None = None,
            settings: QSettings | None = None, image_path: str | None = None,
            on_first_frame: Callable[[Any], None] | None = None, recovery_folder: str | None = None) -> int:
    """Show the main window for ``engine`` and run until it closes; returns the exit code.

    An engine with a ``start()`` method (:class:`engine.deferred.DeferredEngine`) is started
    once the window's first frame is painted, so importing torch never delays the window.
    ``on_first_frame(window)`` is called then too (bench/bench_startup.py).
    """
    import qasync

    from gui.main_window import MainWindow

    app = create_application(argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    images = tuple(image_paths) + ((image_path,) if image_path else ())
    window = MainWindow(engine, settings=settings, model_paths=tuple(model_paths), image_paths=images,
                        shutdown=shutdown, recovery_folder=recovery_folder)
    start = getattr(engine, "start", None)
    if callable(start):
        window.first_frame.connect(start)
        QTimer.singleShot(FIRST_FRAME_FALLBACK_MS, start)  # a platform that never paints still gets an engine
    if on_first_frame is not None:
        window.first_frame.connect(lambda: on_first_frame(window))
    window.show()
    try:
        with loop:
            code = loop.run_forever()
    finally:
        window.shutdown_engine()  # no-op when the window already closed normally
    return int(code or 0)


def run_app(argv: Sequence[str], engine_factory: Callable[[], Any], model_paths: Iterable[str] = (),
            image_paths: Iterable[str] = ()) -> int:
    """Create the QApplication, build the engine with ``engine_factory()``, then :func:`run_gui`."""
    app = create_application(argv)
    try:
        engine = engine_factory()
    except EngineError as exc:
        log.error("the engine could not start: %s", exc)
        QMessageBox.critical(None, f"{APP_NAME} cannot start", str(exc))
        return 2
    except Exception as exc:  # a person must see why the app did not open
        log.exception("the engine could not start")
        QMessageBox.critical(None, f"{APP_NAME} cannot start",
                             f"The engine could not start ({type(exc).__name__}: {exc}). See the log for details.")
        return 2
    del app
    return run_gui(engine, model_paths=model_paths, image_paths=image_paths, argv=argv)
