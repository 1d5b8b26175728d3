"""Widget/model binding helpers: update widgets from a model without echoing their signals back.

``with blocked_signals(slider, spin): ...`` blocks the signals of the given QObjects for the
block and restores each one's previous blocking state afterwards, also when the block raises
(a bare ``blockSignals(True)`` / ``blockSignals(False)`` pair would leave a widget deaf after an
exception, or unblock one its caller had blocked).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from PySide6.QtCore import QObject


@contextmanager
def blocked_signals(*objects: QObject) -> Iterator[None]:
    """Block the signals of ``objects`` inside the ``with`` block; restore their previous state after."""
    previous = [obj.blockSignals(True) for obj in objects]
    try:
        yield
    finally:
        for obj, was_blocked in zip(objects, previous):
            obj.blockSignals(was_blocked)
