"""The engine thread: one thread owns the device and runs jobs one at a time.

* :meth:`Worker.submit` returns a :class:`concurrent.futures.Future` at once.
* Jobs on a named *channel* coalesce: a newer request replaces the older one still waiting on
  that channel (its Future is cancelled), so a slider drag of 100 events renders a handful of
  frames and always ends on the last. Jobs without a channel all run, in order.
* Channels are served round-robin, so one busy channel cannot starve another.
* :meth:`Worker.cancel` cancels a queued job at once, and a running one cooperatively: the job
  sees it at its next :meth:`JobContext.check_cancelled` and its Future fails with
  :class:`engine.errors.Cancelled`.
* An exception in a job fails that job's Future; the worker lives on.
* :meth:`Worker.shutdown` cancels what is queued, lets the running job see a cancel, and joins.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from engine.errors import Cancelled, EngineShutdownError
from engine.types import EngineState, ProgressEvent

log = logging.getLogger(__name__)

ProgressCallback = Callable[[ProgressEvent], None]
Handler = Callable[[Any, "JobContext"], Any]

_job_ids = itertools.count(1)


class Context(Protocol):
    """What a pipeline needs of a job context (:class:`JobContext` has it; tests may pass a stand-in)."""

    device: Any

    def progress(self, fraction: float | None, message: str = "") -> None: ...

    def check_cancelled(self) -> None: ...


class JobContext:
    """What a running job may use: progress reports, cancellation checks, the device.

    Handlers call :meth:`check_cancelled` at safe points (between tiles, layers, frames).
    """

    def __init__(self, job_id: int, device: Any, progress: ProgressCallback | None = None,
                 cancel_event: threading.Event | None = None):
        self.job_id = job_id
        self.device = device
        self._progress = progress
        self._cancel = cancel_event or threading.Event()

    @classmethod
    def detached(cls, device: Any = "cpu", progress: ProgressCallback | None = None) -> "JobContext":
        """A context for running a pipeline directly (tests, CLI) without a worker."""
        import torch

        return cls(job_id=0, device=torch.device(device), progress=progress)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if the job was cancelled."""
        if self._cancel.is_set():
            raise Cancelled(f"job {self.job_id} was cancelled")

    def progress(self, fraction: float | None, message: str = "") -> None:
        """Report progress (``fraction`` in [0, 1] or None) and check for cancellation."""
        if self._progress is not None:
            if fraction is not None:
                fraction = min(1.0, max(0.0, float(fraction)))
            try:
                self._progress(ProgressEvent(self.job_id, fraction, message))
            except Exception:  # a broken listener must not fail the job
                log.exception("progress callback failed")
        self.check_cancelled()


class EngineFuture(concurrent.futures.Future):
    """A Future that knows its job: ``job_id``, ``channel`` and ``request``."""

    def __init__(self, job_id: int, channel: str | None, request: Any):
        super().__init__()
        self.job_id = job_id
        self.channel = channel
        self.request = request


@dataclass
class _Job:
    future: EngineFuture
    request: Any
    channel: str | None
    progress: ProgressCallback | None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    submitted_at: float = field(default_factory=time.perf_counter)


_FIFO = object()  # the queue key of jobs without a channel


class Worker:
    """Runs ``handler(request, ctx)`` for each submitted request on one thread.

    ``device`` is handed to each :class:`JobContext`; ``device_name`` is for display.
    """

    def __init__(self, handler: Handler, device: Any = "cpu", device_name: str | None = None, name: str = "gan-studio-engine"):
        self._handler = handler
        self._device = device
        self.device_name = device_name or str(device)
        self._lock = threading.Condition()
        # channel -> pending job (newest wins); _FIFO -> deque of jobs without a channel
        self._pending: "collections.OrderedDict[Any, Any]" = collections.OrderedDict()
        self._running: _Job | None = None
        self._stopping = False
        self._jobs_done = 0
        self._last_duration: float | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public API

    def submit(self, request: Any, channel: str | None = None, progress: ProgressCallback | None = None) -> EngineFuture:
        """Queue ``request``; returns its Future at once.

        With a ``channel``, a job still waiting on that channel is replaced (its Future is
        cancelled)."""
        future = EngineFuture(next(_job_ids), channel, request)
        job = _Job(future, request, channel, progress)
        with self._lock:
            if self._stopping:
                future.set_exception(EngineShutdownError("The engine has shut down; restart GAN Studio to render again."))
                return future
            if channel is None:
                fifo = self._pending.setdefault(_FIFO, collections.deque())
                fifo.append(job)
            else:
                older = self._pending.pop(channel, None)
                if older is not None:
                    older.future.cancel()
                self._pending[channel] = job
            self._lock.notify_all()
        return future

    def cancel(self, future: concurrent.futures.Future) -> bool:
        """Cancel a queued job (at once) or a running one (cooperatively). True if it will not complete normally."""
        with self._lock:
            if self._running is not None and self._running.future is future:
                self._running.cancel_event.set()
                return True
            for key, value in list(self._pending.items()):
                jobs = value if key is _FIFO else [value]
                for job in jobs:
                    if job.future is future:
                        if key is _FIFO:
                            value.remove(job)
                            if not value:
                                del self._pending[key]
                        else:
                            del self._pending[key]
                        return job.future.cancel()
        return future.cancel()

    def cancel_channel(self, channel: str) -> None:
        """Cancel the waiting and running jobs of ``channel``."""
        with self._lock:
            job = self._pending.pop(channel, None)
            if job is not None:
                job.future.cancel()
            if self._running is not None and self._running.channel == channel:
                self._running.cancel_event.set()

    def state(self) -> EngineState:
        with self._lock:
            return EngineState(
                device=self.device_name,
                busy=self._running is not None,
                queue_length=self._queue_length(),
                running_channel=self._running.channel if self._running else None,
                last_duration_s=self._last_duration,
                jobs_done=self._jobs_done,
                stopped=self._stopping,
            )

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running (for tests and the CLI). False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._running is not None or self._queue_length():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def shutdown(self, wait: bool = True, timeout: float | None = 10.0) -> None:
        """Stop: cancel queued jobs, ask the running one to stop, join the thread."""
        with self._lock:
            self._stopping = True
            for key, value in list(self._pending.items()):
                for job in (value if key is _FIFO else [value]):
                    job.future.cancel()
            self._pending.clear()
            if self._running is not None:
                self._running.cancel_event.set()
            self._lock.notify_all()
        if wait and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------------ the thread

    def _queue_length(self) -> int:
        return sum(len(v) if k is _FIFO else 1 for k, v in self._pending.items())

    def _next_job(self) -> _Job | None:
        """Pop the next job round-robin over channels; None when stopping. Lock held."""
        while True:
            if self._stopping:
                return None
            if self._pending:
                key, value = next(iter(self._pending.items()))
                if key is _FIFO:
                    job = value.popleft()
                    del self._pending[key]
                    if value:  # the FIFO goes to the back of the round-robin
                        self._pending[key] = value
                else:
                    job = value
                    del self._pending[key]
                if job.future.set_running_or_notify_cancel():
                    return job
                continue
            self._lock.wait()

    def _run(self) -> None:
        while True:
            with self._lock:
                job = self._next_job()
                self._running = job
            if job is None:
                break
            started = time.perf_counter()
            ctx = JobContext(job.future.job_id, self._device, job.progress, job.cancel_event)
            try:
                ctx.check_cancelled()
                result = self._handler(job.request, ctx)
            except concurrent.futures.CancelledError as exc:
                job.future.set_exception(exc if isinstance(exc, Cancelled) else Cancelled(str(exc)))
            except BaseException as exc:  # any failure belongs to this job only
                if not isinstance(exc, Exception):
                    log.error("engine job %s raised %s", job.future.job_id, type(exc).__name__)
                else:
                    log.debug("engine job %s failed", job.future.job_id, exc_info=True)
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)
            finally:
                with self._lock:
                    self._running = None
                    self._jobs_done += 1
                    self._last_duration = time.perf_counter() - started
                    self._lock.notify_all()
        log.debug("engine worker stopped")
