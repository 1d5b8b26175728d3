"""One workspace switcher: it brings a workspace's view and its panels together, Ctrl+1…, the
layout remembered; zoom acts on the shown view and the status bar shows that view's zoom."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence

from gui.canvas.view import CanvasView


def _visible_panels(window):
    return {title for title, dock in window.docks.items() if dock.isVisibleTo(window)}


def _panel_titles(workspace):
    return {panel.TITLE for panel in workspace.panels}


def test_one_switcher_and_the_view_tab_bar_is_hidden(qtbot, make_window, fake_engine):
    window = make_window(fake_engine)
    window.show()
    assert window.views.tabBar().isHidden()
    titles = [window.switcher.tabText(i) for i in range(window.switcher.count())]
    assert titles == [window.views.tabText(i) for i in range(window.views.count())]
    assert titles[0] == "Image" and "Paint" in titles


def test_switching_brings_the_workspaces_panels_and_hides_the_others(qtbot, make_window, fake_engine):
    window = make_window(fake_engine)
    window.show()
    paint, latent = window.workspace("paint"), window.workspace("latent")
    window.switcher.setCurrentIndex(window.views.indexOf(paint.view))
    assert window.views.currentWidget() is paint.view
    visible = _visible_panels(window)
    assert _panel_titles(paint) <= visible and not (_panel_titles(latent) & visible)
    window.show_workspace(latent)
    assert window.switcher.currentIndex() == window.views.indexOf(latent.view)
    visible = _visible_panels(window)
    assert _panel_titles(latent) <= visible and not (_panel_titles(paint) & visible)
    assert {"Models", "Layers", "History"} <= visible  # shared panels stay


def test_ctrl_number_shortcuts_pick_workspaces(qtbot, make_window, fake_engine):
    window = make_window(fake_engine)
    window.show()
    assert len(window.workspace_actions) == window.views.count()
    for index, action in enumerate(window.workspace_actions):
        assert action.shortcut() == QKeySequence(f"Ctrl+{index + 1}")
    window.workspace_actions[2].trigger()
    assert window.views.currentIndex() == 2 and window.switcher.currentIndex() == 2
    window.workspace_actions[0].trigger()
    assert window.views.currentWidget() is window.canvas and window.workspace_actions[0].isChecked()


def test_the_workspace_and_closed_panels_are_remembered(qtbot, make_window, fake_engine, tmp_path):
    path = str(tmp_path / "layout.ini")
    first = make_window(fake_engine, settings=QSettings(path, QSettings.Format.IniFormat))
    first.show()
    paint = first.workspace("paint")
    first.show_workspace(paint)
    first.docks["Style"].close()  # the user closes one of Paint's panels
    first.show_workspace(first.workspace("latent"))
    first.show_workspace(paint)
    assert not first.docks["Style"].isVisibleTo(first) and first.docks["Paint"].isVisibleTo(first)
    first.close()

    second = make_window(fake_engine, settings=QSettings(path, QSettings.Format.IniFormat))
    second.show()
    assert second.current_workspace() is second.workspace("paint")
    assert second.docks["Paint"].isVisibleTo(second) and not second.docks["Style"].isVisibleTo(second)
    assert not (_panel_titles(second.workspace("latent")) & _visible_panels(second))
    second.reset_layout()
    assert second.docks["Style"].isVisibleTo(second)


def test_zoom_acts_on_the_shown_view_and_the_status_bar_shows_its_zoom(qtbot, make_window, fake_engine):
    window = make_window(fake_engine)
    window.resize(900, 700)
    window.show()
    upscale = window.workspace("upscale")
    window.show_workspace(upscale)
    target = window.active_canvas()
    assert isinstance(target, CanvasView) and target is not window.canvas
    target.set_image(np.zeros((40, 60, 3), np.uint8))
    image_zoom = window.canvas.zoom
    window.actual_size_action.trigger()
    assert target.zoom == 1.0 and window.zoom_label.text() == "100%"
    window.zoom_in_action.trigger()
    assert target.zoom > 1.0 and window.canvas.zoom == image_zoom  # the hidden Image view is untouched
    assert window.zoom_label.text() == f"{target.zoom * 100:.0f}%"
    window.zoom_out_action.trigger()
    window.zoom_out_action.trigger()
    assert target.zoom < 1.0
    window.show_workspace(window.workspace("paint"))
    window.workspace_actions[0].trigger()  # back to Image: the readout is the Image view's
    assert window.zoom_label.text() == f"{window.canvas.zoom * 100:.0f}%"
    assert window.fit_action.shortcut() == QKeySequence("Ctrl+0")
