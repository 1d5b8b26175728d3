"""One tracked engine job at a time: the bookkeeping every "run / cancel / progress" button needs.

:class:`TrackedJob` submits a request through the :class:`gui.engine_bridge.EngineBridge`, keeps the
handle of the current job, forwards only that job's progress and outcome (a job replaced by a newer
one, or abandoned, is cancelled and its late callbacks are ignored), and says when it starts and
stops running. The Inpaint and Upscale runs, the folder upscale and the latent frame export use it.
Nothing here imports torch.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

ResultCallback = Callable[[Any], None]
ErrorCallback = Callable[[str, BaseException], None]
CancelCallback = Callable[[], None]


class TrackedJob(QObject):
    """The current job of one run button.

    Signals: ``running_changed(bool)`` (True on every submit, False when the current job ended;
    emitted before its outcome callback runs, so the callback may submit the next job);
    ``progress(object, str)`` (fraction in [0, 1] or None, message) of the current job only.
    """

    running_changed = Signal(bool)
    progress = Signal(object, str)

    def __init__(self, bridge, parent: QObject | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self._handle = None

    @property
    def is_running(self) -> bool:
        return self._handle is not None

    @property
    def handle(self):
        """The bridge's handle of the current job, or None."""
        return self._handle

    def submit(self, request: Any, channel: str | None, on_result: ResultCallback,
               on_error: ErrorCallback | None = None, on_cancel: CancelCallback | None = None):
        """Run ``request`` on ``channel`` as the current job (a running one is cancelled and forgotten).
        Exactly one of ``on_result(result)``, ``on_error(message, exception)`` or ``on_cancel()`` is
        called when it ends, unless it is replaced or abandoned first. Returns the handle."""
        self.abandon()
        handle = self.bridge.submit(
            request, channel,
            on_result=lambda result: self._end(handle, on_result, result),
            on_error=lambda message, exc: self._end(handle, on_error, message, exc),
            on_progress=lambda fraction, text: self._progress(handle, fraction, text),
            on_cancel=lambda: self._end(handle, on_cancel),
        )
        self._handle = handle
        self.running_changed.emit(True)
        self.progress.emit(0.0, "starting")
        return handle

    def cancel(self) -> None:
        """Ask the engine to cancel the current job; its ``on_cancel`` (or result, if it was done) follows."""
        if self._handle is not None:
            self.bridge.cancel(self._handle)

    def abandon(self) -> None:
        """Cancel the current job and ignore whatever it still reports (no callback, no running_changed)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self.bridge.cancel(handle)

    def _progress(self, handle, fraction: float | None, text: str) -> None:
        if handle is self._handle:
            self.progress.emit(fraction, text)

    def _end(self, handle, callback: Callable | None, *args) -> None:
        if handle is not self._handle:
            return
        self._handle = None
        self.running_changed.emit(False)
        if callback is not None:
            callback(*args)
