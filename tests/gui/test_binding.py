"""Widget binding helpers: exception-safe signal blocking, and the compare view's split bar."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QSlider

from gui.canvas.compare import SPLIT_STEPS, CompareView, SplitBar
from gui.signals import blocked_signals


def test_blocked_signals_restores_state_even_when_the_block_raises(qtbot):
    slider, other = QSlider(), QSlider()
    seen = []
    slider.valueChanged.connect(seen.append)
    other.blockSignals(True)  # blocked by its owner before: must stay blocked afterwards
    with pytest.raises(RuntimeError):
        with blocked_signals(slider, other):
            slider.setValue(5)
            raise RuntimeError("boom")
    assert seen == [] and not slider.signalsBlocked() and other.signalsBlocked()
    slider.setValue(7)
    assert seen == [7]


def test_split_bar_and_compare_view_follow_each_other_without_echo(qtbot):
    view = CompareView("nothing yet", "testCompare")
    bar = SplitBar(view, "tip", "testSplit")
    qtbot.addWidget(view)
    qtbot.addWidget(bar)
    before = np.zeros((4, 4, 3), np.uint8)
    after = np.full((8, 8, 3), 200, np.uint8)
    view.show_comparison(before, after)
    assert view.comparing and view.objectName() == "testCompare" and bar.slider.objectName() == "testSplit"
    moves = []
    bar.slider.valueChanged.connect(moves.append)
    view.set_split(0.25)  # dragging on the view moves the slider silently
    assert bar.slider.value() == round(0.25 * SPLIT_STEPS) and moves == []
    bar.slider.setValue(round(0.8 * SPLIT_STEPS))  # the slider moves the split
    assert view.split == pytest.approx(0.8)
    view.show_single(None)
    assert not view.comparing
