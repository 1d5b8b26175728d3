"""gui.app: the themed application and the qasync-driven run_gui loop."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from engine.version import APP_NAME
from gui.app import create_application, run_gui


def test_application_is_named_and_dark(qapp):
    app = create_application()
    assert QCoreApplication.applicationName() == APP_NAME and QCoreApplication.organizationName()
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80


def test_run_gui_runs_until_the_window_closes_and_shuts_the_engine_down(qtbot, fake_engine, settings):
    from gui.main_window import MainWindow

    def close_window():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        assert len(windows) == 1
        windows[0].confirm_close = False
        windows[0].close()

    QTimer.singleShot(50, close_window)
    failsafe = QTimer()
    failsafe.setSingleShot(True)
    failsafe.timeout.connect(lambda: QApplication.instance().exit(99))  # never hang the suite
    failsafe.start(20_000)
    code = run_gui(fake_engine, settings=settings)
    failsafe.stop()
    assert code == 0
    assert fake_engine.shutdown_calls == 1
