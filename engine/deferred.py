"""An engine that starts in the background, so the window can show before torch is imported.

``DeferredEngine(factory)`` returns at once; a thread calls ``factory()`` (which imports torch and
builds :class:`engine.service.Engine`, a few seconds on a cold start). Until it is ready, the
object answers the engine's duck-typed API itself:

* ``submit(request, channel, progress)`` returns a Future at once and queues the request; when
  the engine is ready the queued requests are submitted in order and their outcomes (and
  progress) are passed through to those Futures. After that, ``submit`` goes straight to the
  engine.
* ``cancel(future)`` / ``cancel_channel(channel)`` drop queued requests (or cancel the real jobs).
* ``state()`` reports a busy engine with the queue length; ``starting`` is True until the engine
  is ready, ``start_error`` is the exception when it could not start (every queued and later
  request then fails with an :class:`engine.errors.EngineError` that says why).
* ``device_description`` is "starting…" until the engine knows its device.

Job ids of queued requests are negative and increase, so they order before every id the real
engine hands out (the GUI's bridge drops a result when a newer job on its channel exists).
This module never imports torch itself: only ``factory`` does, on the starter thread.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from engine.errors import EngineError, EngineShutdownError
from engine.types import EngineState, ProgressEvent

log = logging.getLogger(__name__)

ProgressCallback = Callable[[ProgressEvent], None]

#: first id of a queued request; ids increase from here and stay below every real job id (>= 1)
QUEUED_ID_BASE = -(10**9)

STARTING_TEXT = "starting…"


class EngineStartError(EngineError):
    """The engine could not start (no torch, an unavailable device …); the message says why."""


class QueuedFuture(concurrent.futures.Future):
    """The Future of a request submitted before the engine was ready (``job_id`` is negative)."""

    def __init__(self, job_id: int, channel: str | None, request: Any):
        super().__init__()
        self.job_id = job_id
        self.channel = channel
        self.request = request
        self.real: concurrent.futures.Future | None = None  # the engine's Future once forwarded


@dataclass
class _Queued:
    future: QueuedFuture
    progress: ProgressCallback | None


class DeferredEngine:
    """The engine's API over an engine that ``factory()`` builds on a background thread.

    Args:
        factory: builds the real engine (called once, on the starter thread).
        start: start the thread at once (default); tests may call :meth:`start` themselves.
    """

    def __init__(self, factory: Callable[[], Any], start: bool = True):
        self._factory = factory
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._ids = itertools.count(QUEUED_ID_BASE)
        self._engine: Any = None
        self._shutdown_requested = False
        self._started = False
        self.start_error: BaseException | None = None
        self.ready = threading.Event()  # set once the engine is built or failed to build
        self._thread = threading.Thread(target=self._build, name="engine-starter", daemon=True)
        if start:
            self.start()

    # ------------------------------------------------------------------ starting

    def start(self) -> None:
        """Start building the engine on the starter thread (once; later calls do nothing)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        self._thread.start()

    @property
    def starting(self) -> bool:
        """True until the engine is built (or failed to build)."""
        return not self.ready.is_set()

    @property
    def engine(self) -> Any:
        """The real engine, or None while starting (or when it failed to start)."""
        return self._engine

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the engine is built or failed; True when it did either within ``timeout`` s."""
        return self.ready.wait(timeout)

    def _build(self) -> None:
        try:
            engine = self._factory()
        except BaseException as exc:  # any failure (even SystemExit from a broken import) becomes a message
            log.exception("the engine could not start")
            self._fail_start(exc)
            return
        with self._lock:
            self._engine = engine
            queued, self._queue = self._queue, []
            shut_down = self._shutdown_requested
            if not shut_down:
                for item in queued:  # in order, before any later submit reaches the engine
                    self._forward(item)
            self.ready.set()
        if shut_down:
            for item in queued:
                _settle(item.future, error=EngineShutdownError("The engine has shut down."))
            engine.shutdown()  # on the starter thread: the window is not waiting

    def _fail_start(self, exc: BaseException) -> None:
        error = exc if isinstance(exc, EngineError) else EngineStartError(
            f"The engine could not start ({type(exc).__name__}: {exc}). Check the installation "
            "(PyTorch) and the --device option; the log has the details.")
        with self._lock:
            self.start_error = error
            queued, self._queue = self._queue, []
            self.ready.set()
        for item in queued:
            _settle(item.future, error=error)

    def _forward(self, item: _Queued) -> None:
        """Submit a queued request to the real engine and mirror its outcome on the queued Future."""
        queued = item.future
        if queued.cancelled():
            return
        progress = item.progress

        def relay_progress(event: ProgressEvent) -> None:
            if progress is not None:
                progress(dataclasses.replace(event, job_id=queued.job_id))

        try:
            real = self._engine.submit(queued.request, channel=queued.channel, progress=relay_progress)
        except Exception as exc:  # noqa: BLE001 - the failure answers through the Future
            _settle(queued, error=exc)
            return
        queued.real = real
        real.add_done_callback(lambda done: _mirror(done, queued))

    # ------------------------------------------------------------------ the engine API

    def submit(self, request: Any, channel: str | None = None, progress: ProgressCallback | None = None):
        """Queue ``request`` (or hand it to the engine when ready); returns a Future with ``job_id``."""
        with self._lock:
            if self._engine is None and self.start_error is None and not self._shutdown_requested:
                future = QueuedFuture(next(self._ids), channel, request)
                self._queue.append(_Queued(future, progress))
                return future
            engine, error = self._engine, self.start_error
        if engine is not None and not self._shutdown_requested:
            return engine.submit(request, channel=channel, progress=progress)
        future = QueuedFuture(next(self._ids), channel, request)
        future.set_exception(error or EngineShutdownError("The engine has shut down."))
        return future

    def cancel(self, future: concurrent.futures.Future) -> bool:
        if isinstance(future, QueuedFuture):
            with self._lock:
                self._queue = [item for item in self._queue if item.future is not future]
            if future.real is not None and self._engine is not None:
                return self._engine.cancel(future.real)
            return future.cancel()
        if self._engine is not None:
            return self._engine.cancel(future)
        return future.cancel()

    def cancel_channel(self, channel: str) -> None:
        with self._lock:
            dropped = [item for item in self._queue if item.future.channel == channel]
            self._queue = [item for item in self._queue if item.future.channel != channel]
            engine = self._engine
        for item in dropped:
            item.future.cancel()
        if engine is not None:
            engine.cancel_channel(channel)

    def state(self) -> EngineState:
        engine = self._engine
        if engine is not None:
            return engine.state()
        with self._lock:
            queued = len(self._queue)
        failed = self.start_error is not None
        return EngineState(device="none" if failed else STARTING_TEXT, busy=not failed, queue_length=queued,
                           running_channel=None if failed else "starting", stopped=failed)

    @property
    def device_description(self) -> str:
        engine = self._engine
        if engine is not None:
            return engine.device_description
        return "not available" if self.start_error is not None else STARTING_TEXT

    def wait_idle(self, timeout: float | None = None) -> bool:
        if not self.ready.wait(timeout):
            return False
        return self._engine is None or self._engine.wait_idle(timeout)

    def shutdown(self, wait: bool = True) -> None:
        """Shut the engine down; when it is still starting, it shuts down as soon as it is built."""
        with self._lock:
            self._shutdown_requested = True
            engine = self._engine
            queued, self._queue = self._queue, []
        for item in queued:
            item.future.cancel()
        if engine is not None:
            engine.shutdown() if wait else engine.shutdown(wait=False)

    def __getattr__(self, name: str) -> Any:
        """Anything else (``models``, ``choice`` …) comes from the real engine once it is ready."""
        engine = self.__dict__.get("_engine")
        if engine is None:
            raise AttributeError(f"{name!r}: the engine is still starting")
        return getattr(engine, name)


def _mirror(real: concurrent.futures.Future, queued: QueuedFuture) -> None:
    """Copy a finished real Future's outcome onto the queued Future the caller holds."""
    if real.cancelled():
        queued.cancel()
        return
    error = real.exception()
    if error is not None:
        _settle(queued, error=error)
    else:
        _settle(queued, result=real.result())


def _settle(future: concurrent.futures.Future, result: Any = None, error: BaseException | None = None) -> None:
    """Set a Future's outcome unless it is already done (cancelled meanwhile)."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except concurrent.futures.InvalidStateError:
        pass
