"""The engine thread: coalescing, cancellation, error isolation, progress, shutdown."""

from __future__ import annotations

import concurrent.futures
import threading

import pytest

from engine.errors import Cancelled, EngineShutdownError
from engine.worker import Worker


class Gate:
    """A handler that blocks each job until released, recording what it ran and on which thread."""

    def __init__(self):
        self.ran: list = []
        self.threads: set = set()
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, request, ctx):
        self.threads.add(threading.current_thread().name)
        self.ran.append(request)
        self.started.set()
        if request == "block":
            assert self.release.wait(10)
        if request == "boom":
            raise ValueError("the model exploded")
        if request == "cooperative":
            while True:
                ctx.progress(None, "spinning")
                self.release.wait(0.005)
        return ("done", request)


@pytest.fixture
def gate():
    g = Gate()
    yield g
    g.release.set()


def test_submit_returns_future_at_once_and_runs_off_thread(gate):
    worker = Worker(gate)
    gate_block = worker.submit("block")
    assert isinstance(gate_block, concurrent.futures.Future)
    assert not gate_block.done()
    gate.release.set()
    assert gate_block.result(5) == ("done", "block")
    assert gate.threads == {"gan-studio-engine"}
    worker.shutdown()


def test_burst_on_a_channel_renders_few_and_ends_on_the_last(gate):
    worker = Worker(gate)
    first = worker.submit("block", channel="other")
    assert gate.started.wait(5)
    futures = [worker.submit(i, channel="slider") for i in range(100)]
    assert worker.state().queue_length == 1
    gate.release.set()
    assert futures[-1].result(5) == ("done", 99)
    assert all(f.cancelled() for f in futures[:-1])
    assert first.result(5)
    assert [r for r in gate.ran if r != "block"] == [99]
    worker.shutdown()


def test_jobs_without_channel_all_run_in_order(gate):
    worker = Worker(gate)
    worker.submit("block")
    assert gate.started.wait(5)
    futures = [worker.submit(i) for i in range(10)]
    gate.release.set()
    assert [f.result(5)[1] for f in futures] == list(range(10))
    assert gate.ran == ["block"] + list(range(10))
    worker.shutdown()


def test_channels_are_served_round_robin(gate):
    worker = Worker(gate)
    worker.submit("block")
    assert gate.started.wait(5)
    fifo = [worker.submit(f"fifo{i}") for i in range(3)]
    paint = worker.submit("paint", channel="paint")
    gate.release.set()
    paint.result(5)
    for f in fifo:
        f.result(5)
    # the paint job does not wait behind the whole FIFO
    assert gate.ran.index("paint") < gate.ran.index("fifo2")
    worker.shutdown()


def test_cancel_queued_job(gate):
    worker = Worker(gate)
    worker.submit("block")
    assert gate.started.wait(5)
    queued = worker.submit("never")
    assert worker.cancel(queued)
    assert queued.cancelled()
    gate.release.set()
    assert worker.wait_idle(5)
    assert "never" not in gate.ran
    worker.shutdown()


def test_cancel_running_job_cooperatively(gate):
    worker = Worker(gate)
    running = worker.submit("cooperative")
    assert gate.started.wait(5)
    assert worker.cancel(running)
    with pytest.raises(concurrent.futures.CancelledError):
        running.result(5)
    assert isinstance(running.exception(5), Cancelled)
    # the worker keeps serving
    assert worker.submit("after").result(5) == ("done", "after")
    worker.shutdown()


def test_exception_fails_only_that_job(gate):
    worker = Worker(gate)
    bad = worker.submit("boom")
    good = worker.submit("fine")
    with pytest.raises(ValueError, match="the model exploded"):
        bad.result(5)
    assert good.result(5) == ("done", "fine")
    assert worker.alive
    worker.shutdown()


def test_progress_callbacks_arrive_with_job_id():
    events = []

    def handler(request, ctx):
        for i in range(3):
            ctx.progress((i + 1) / 3, f"step {i}")
        return "ok"

    worker = Worker(handler)
    future = worker.submit("x", progress=events.append)
    assert future.result(5) == "ok"
    assert [e.fraction for e in events] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert {e.job_id for e in events} == {future.job_id}
    worker.shutdown()


def test_broken_progress_listener_does_not_fail_the_job():
    def handler(request, ctx):
        ctx.progress(0.5, "half")
        return "ok"

    def listener(event):
        raise RuntimeError("listener bug")

    worker = Worker(handler)
    assert worker.submit("x", progress=listener).result(5) == "ok"
    worker.shutdown()


def test_shutdown_cancels_queue_stops_running_and_refuses_new(gate):
    worker = Worker(gate)
    running = worker.submit("cooperative")
    assert gate.started.wait(5)
    queued = [worker.submit(i) for i in range(5)]
    worker.shutdown(wait=True)
    assert not worker.alive
    assert all(f.cancelled() for f in queued)
    assert isinstance(running.exception(5), Cancelled)
    late = worker.submit("late")
    with pytest.raises(EngineShutdownError):
        late.result(1)


def test_state_reports_busy_and_queue(gate):
    worker = Worker(gate, device_name="test device")
    worker.submit("block", channel="paint")
    assert gate.started.wait(5)
    worker.submit(1)
    worker.submit(2, channel="latent")
    state = worker.state()
    assert state.busy and state.running_channel == "paint" and state.queue_length == 2
    assert state.device == "test device"
    gate.release.set()
    assert worker.wait_idle(5)
    state = worker.state()
    assert not state.busy and state.queue_length == 0 and state.jobs_done == 3
    assert state.last_duration_s is not None
    worker.shutdown()
