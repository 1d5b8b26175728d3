"""Garbage collection on the main thread only.

Python's cyclic garbage collector runs on whichever thread happens to allocate when a threshold
is crossed — often the engine's worker thread. If the garbage it finds holds Qt objects (widgets,
QObjects whose Python wrappers sit in reference cycles), they are destroyed on that thread, which
Qt does not allow and which crashes the process. :class:`MainThreadGarbageCollector` turns the
automatic collector off and collects from a timer on the main (GUI) thread instead: the youngest
generation often, the older ones less often, so memory stays bounded.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

INTERVAL_MS = 500


class MainThreadGarbageCollector(QObject):
    """Install once per application (:func:`install`); collects on the thread it lives on."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._threshold = gc.get_threshold()
        gc.disable()
        self._timer.start()

    def check(self) -> None:
        """Collect each generation whose count passed its threshold, like the automatic collector."""
        counts = gc.get_count()
        if counts[0] > self._threshold[0]:
            generation = 0
            if counts[1] > self._threshold[1]:
                generation = 2 if counts[2] > self._threshold[2] else 1
            gc.collect(generation)


_installed: MainThreadGarbageCollector | None = None


def install(app: QObject) -> MainThreadGarbageCollector:
    """Turn off automatic collection and collect on ``app``'s thread from now on (idempotent)."""
    global _installed
    if _installed is None:
        _installed = MainThreadGarbageCollector(app)
    return _installed
