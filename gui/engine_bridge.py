"""The one place where engine Futures and progress callbacks become main-thread Qt signals.

The engine runs jobs on its own thread and answers with :class:`concurrent.futures.Future`\\ s
whose callbacks (done and progress) run on that thread. Widgets must only be touched on the
main thread, so every callback is marshalled here through a queued Qt signal, and panels only
ever see:

* the bridge's signals ``finished(job_id, result)``, ``failed(job_id, message)``,
  ``progress(job_id, fraction, message)`` and ``cancelled(job_id)``, all emitted on the main
  thread; ``fraction`` is a float in [0, 1] or ``None`` when the engine cannot tell;
* optional per-job callbacks given to :meth:`EngineBridge.submit` (also main thread);
* an awaitable API for qasync coroutines: ``result = await bridge.run(request, channel)``.

Stale results are dropped here, in one place: a result (or progress report, or failure) whose
job is older than the newest job submitted on the same *channel* is never delivered; it counts as
cancelled (``cancelled`` signal, ``on_cancel`` callback, :class:`engine.errors.Cancelled` for
awaiters). Jobs without a channel are never stale.

The bridge uses only the engine's duck-typed API (``submit(request, channel, progress)``,
``cancel(future)``, ``cancel_channel(channel)``), so it works with the real
``engine.service.Engine`` and with test fakes alike. It never imports torch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine.errors import Cancelled, EngineError, EngineShutdownError
from engine.types import ProgressEvent

log = logging.getLogger(__name__)

ResultCallback = Callable[[Any], None]
ErrorCallback = Callable[[str, BaseException], None]
ProgressCallback = Callable[[float | None, str], None]
CancelCallback = Callable[[], None]

# Ids for jobs whose submit() failed before the engine could number them (negative, never clash).
_local_ids = itertools.count(-1, -1)


def describe_error(error: BaseException) -> str:
    """A message for a person: an EngineError's own text, or a clear wrapper around anything else."""
    if isinstance(error, EngineError):
        return str(error) or type(error).__name__
    text = str(error).strip()
    detail = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return (f"The engine hit an unexpected error ({detail}). Your work is unchanged; "
            "the log has the details.")


@dataclass
class JobHandle:
    """What :meth:`EngineBridge.submit` returns: the job's id, channel, request and Future.

    ``done`` turns True once the bridge has delivered (or dropped) the job's outcome on the
    main thread. Call :meth:`cancel` to cancel the job: from then on its result is never
    delivered (it counts as cancelled), even if the engine had already finished it.
    """

    job_id: int
    channel: str | None
    request: Any
    future: concurrent.futures.Future
    bridge: "EngineBridge" = field(repr=False)
    done: bool = False
    cancel_requested: bool = False
    on_result: ResultCallback | None = field(default=None, repr=False)
    on_error: ErrorCallback | None = field(default=None, repr=False)
    on_progress: ProgressCallback | None = field(default=None, repr=False)
    on_cancel: CancelCallback | None = field(default=None, repr=False)

    def cancel(self) -> None:
        self.bridge.cancel(self)


class _Relay(QObject):
    """Lives on the main thread; its signals are emitted from the engine thread and queued."""

    job_done = Signal(object)  # the Future
    job_progress = Signal(object)  # a ProgressEvent


class EngineBridge(QObject):
    """Turns engine Futures into main-thread signals and awaitables; drops stale results.

    Create it on the main thread with the engine object. All signals and callbacks are
    delivered on the thread the bridge lives on (the main thread).
    """

    finished = Signal(int, object)  # job_id, result
    failed = Signal(int, str)  # job_id, message for the user
    progress = Signal(int, object, str)  # job_id, fraction in [0, 1] or None, message
    cancelled = Signal(int)  # job_id: cancelled, superseded by a newer job, or dropped as stale
    busy_changed = Signal(bool)  # True while any job submitted through the bridge is outstanding

    def __init__(self, engine: Any, parent: QObject | None = None):
        super().__init__(parent)
        self.engine = engine
        self._relay = _Relay()
        self._relay.job_done.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._relay.job_progress.connect(self._deliver_progress, Qt.ConnectionType.QueuedConnection)
        self._handles: dict[int, JobHandle] = {}
        self._newest: dict[str, int] = {}
        self._closed = False

    # ------------------------------------------------------------------ public API

    def submit(self, request: Any, channel: str | None = None, *,
               on_result: ResultCallback | None = None,
               on_error: ErrorCallback | None = None,
               on_progress: ProgressCallback | None = None,
               on_cancel: CancelCallback | None = None) -> JobHandle:
        """Submit ``request`` to the engine; returns a :class:`JobHandle` at once.

        The outcome arrives later on the main thread: ``finished``/``on_result(result)``,
        ``failed``/``on_error(message, exception)``, or ``cancelled``/``on_cancel()`` when the
        job was cancelled or superseded by a newer job on the same ``channel``.
        """
        relay = self._relay

        def report_progress(event: ProgressEvent) -> None:  # engine thread
            try:
                relay.job_progress.emit(event)
            except RuntimeError:  # the relay is gone: the app is closing
                pass

        if self._closed:
            future: concurrent.futures.Future = concurrent.futures.Future()
            future.set_exception(EngineShutdownError("The engine has shut down; restart GAN Studio to render again."))
            job_id = next(_local_ids)
        else:
            try:
                future = self.engine.submit(request, channel=channel, progress=report_progress)
                job_id = int(future.job_id)
            except Exception as exc:  # a broken submit still answers through the Future
                log.exception("engine.submit failed for %s", type(request).__name__)
                future = concurrent.futures.Future()
                future.set_exception(exc)
                job_id = next(_local_ids)

        handle = JobHandle(job_id, channel, request, future, self, on_result=on_result,
                           on_error=on_error, on_progress=on_progress, on_cancel=on_cancel)
        was_idle = not self._handles
        self._handles[job_id] = handle
        if channel is not None:
            self._newest[channel] = max(job_id, self._newest.get(channel, job_id))
        if was_idle:
            self.busy_changed.emit(True)

        def on_done(fut: concurrent.futures.Future, job_id: int = job_id) -> None:  # any thread
            try:
                relay.job_done.emit((job_id, fut))
            except RuntimeError:
                pass

        future.add_done_callback(on_done)
        return handle

    async def run(self, request: Any, channel: str | None = None,
                  on_progress: ProgressCallback | None = None) -> Any:
        """Submit ``request`` and await its result (qasync: call from a coroutine on the main thread).

        Raises the engine's exception (an :class:`engine.errors.EngineError` with a message for
        the user, see :func:`describe_error`) when the job fails, and
        :class:`engine.errors.Cancelled` when it is cancelled or superseded by a newer job on
        ``channel``. Cancelling the awaiting task cancels the engine job.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future = loop.create_future()

        def resolve(value: Any) -> None:
            if not waiter.done():
                waiter.set_result(value)

        def reject(_message: str, error: BaseException) -> None:
            if not waiter.done():
                waiter.set_exception(error)

        def cancelled() -> None:
            if not waiter.done():
                waiter.set_exception(Cancelled(f"{type(request).__name__} was cancelled or superseded"))

        handle = self.submit(request, channel, on_result=resolve, on_error=reject,
                             on_progress=on_progress, on_cancel=cancelled)
        try:
            return await waiter
        except asyncio.CancelledError:
            self.cancel(handle)
            raise

    def cancel(self, handle: JobHandle) -> None:
        """Cancel one job (queued: at once; running: at its next safe point)."""
        if handle.done:
            return
        handle.cancel_requested = True  # even if the engine finishes it anyway, it is not delivered
        try:
            self.engine.cancel(handle.future)
        except Exception:
            log.exception("engine.cancel failed")
            handle.future.cancel()

    def cancel_channel(self, channel: str) -> None:
        """Cancel the waiting and running jobs of ``channel``; anything still in flight there is dropped."""
        try:
            self.engine.cancel_channel(channel)
        except Exception:
            log.exception("engine.cancel_channel failed")
        for handle in list(self._handles.values()):
            if handle.channel == channel:
                handle.cancel_requested = True

    def is_stale(self, handle: JobHandle) -> bool:
        """True when a newer job was submitted on the handle's channel."""
        if handle.channel is None:
            return False
        return handle.job_id < self._newest.get(handle.channel, handle.job_id)

    @property
    def pending_count(self) -> int:
        """Jobs submitted through the bridge whose outcome has not been delivered yet."""
        return len(self._handles)

    def close(self) -> None:
        """Stop delivering: outstanding jobs are forgotten, later submits fail at once."""
        self._closed = True
        self._handles.clear()

    # ------------------------------------------------------------------ main thread

    @Slot(object)
    def _deliver_progress(self, event: ProgressEvent) -> None:
        handle = self._handles.get(event.job_id)
        if handle is None or self.is_stale(handle):
            return
        fraction = None if event.fraction is None else float(event.fraction)
        self.progress.emit(handle.job_id, fraction, event.message)
        if handle.on_progress is not None:
            self._call(handle.on_progress, fraction, event.message)

    @Slot(object)
    def _deliver(self, payload: tuple[int, concurrent.futures.Future]) -> None:
        job_id, future = payload
        handle = self._handles.pop(job_id, None)
        if handle is None:  # closed, or delivered already
            return
        handle.done = True
        try:
            if future.cancelled() or handle.cancel_requested or self.is_stale(handle):
                self._deliver_cancel(handle, "stale" if self.is_stale(handle) else "cancelled")
                return
            error = future.exception()
            if isinstance(error, concurrent.futures.CancelledError):
                self._deliver_cancel(handle, "cancelled")
            elif error is not None:
                message = describe_error(error)
                if isinstance(error, EngineError):
                    log.info("engine job %s failed: %s", job_id, message)
                else:
                    log.error("engine job %s failed", job_id, exc_info=error)
                self.failed.emit(job_id, message)
                if handle.on_error is not None:
                    self._call(handle.on_error, message, error)
            else:
                result = future.result()
                self.finished.emit(job_id, result)
                if handle.on_result is not None:
                    self._call(handle.on_result, result)
        finally:
            if not self._handles:
                self.busy_changed.emit(False)

    def _deliver_cancel(self, handle: JobHandle, why: str) -> None:
        log.debug("engine job %s %s; dropped", handle.job_id, why)
        self.cancelled.emit(handle.job_id)
        if handle.on_cancel is not None:
            self._call(handle.on_cancel)

    @staticmethod
    def _call(callback: Callable, *args: Any) -> None:
        """Run a panel's callback; a bug there is logged, it must not break delivery of others."""
        try:
            callback(*args)
        except Exception:
            log.exception("engine callback %r failed", callback)
