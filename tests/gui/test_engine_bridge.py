"""EngineBridge: results arrive on the main thread, stale results are dropped, failures carry a message."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from engine.errors import Cancelled, InputError
from engine.types import ImageResult
from engine.types import TestPatternRequest as PatternRequest  # alias: pytest must not collect it
from gui.engine_bridge import EngineBridge, describe_error


def test_real_engine_result_arrives_on_main_thread(qtbot, real_engine):
    bridge = EngineBridge(real_engine)
    seen = {}

    def on_finished(job_id, result):
        seen["thread"] = threading.current_thread()
        seen["job_id"] = job_id
        seen["result"] = result

    progress_threads = []
    bridge.finished.connect(on_finished)
    bridge.progress.connect(lambda *_args: progress_threads.append(threading.current_thread()))
    with qtbot.waitSignal(bridge.finished, timeout=30_000):
        handle = bridge.submit(PatternRequest(width=32, height=16, steps=3), channel="selftest")

    assert seen["thread"] is threading.main_thread()
    assert seen["job_id"] == handle.job_id
    assert isinstance(seen["result"], ImageResult)
    assert seen["result"].image.shape == (16, 32, 3) and seen["result"].image.dtype == np.uint8
    assert progress_threads and all(t is threading.main_thread() for t in progress_threads)
    assert handle.done and bridge.pending_count == 0


def test_callbacks_run_on_main_thread(qtbot, fake_engine):
    bridge = EngineBridge(fake_engine)
    threads = []
    handle = bridge.submit(("value", 7), on_result=lambda r: threads.append((threading.current_thread(), r)))
    qtbot.waitUntil(lambda: handle.done, timeout=10_000)
    assert threads == [(threading.main_thread(), 7)]


def test_stale_result_on_a_channel_is_dropped(qtbot, fake_engine):
    bridge = EngineBridge(fake_engine)
    finished, cancelled = [], []
    bridge.finished.connect(lambda job_id, result: finished.append((job_id, result)))
    bridge.cancelled.connect(cancelled.append)

    first = bridge.submit(("block", "old frame"), channel="paint")
    assert fake_engine.started.wait(10)
    middle = bridge.submit(("value", "middle frame"), channel="paint")  # replaced while queued
    newest = bridge.submit(("value", "newest frame"), channel="paint")
    other = bridge.submit(("value", "other channel"), channel="latent")
    fake_engine.release.set()  # the old frame completes on the engine, after newer ones were asked for

    qtbot.waitUntil(lambda: bridge.pending_count == 0, timeout=10_000)
    assert sorted(finished) == sorted([(newest.job_id, "newest frame"), (other.job_id, "other channel")])
    assert sorted(cancelled) == sorted([first.job_id, middle.job_id])


def test_jobs_without_channel_are_never_stale(qtbot, fake_engine):
    bridge = EngineBridge(fake_engine)
    results = []
    bridge.finished.connect(lambda _job_id, result: results.append(result))
    for value in range(3):
        bridge.submit(("value", value))
    qtbot.waitUntil(lambda: len(results) == 3, timeout=10_000)
    assert results == [0, 1, 2]


def test_failure_reaches_the_user_as_a_message(qtbot, fake_engine):
    bridge = EngineBridge(fake_engine)
    errors = []
    message = "This model needs label_nc; add it to the sidecar JSON."
    with qtbot.waitSignal(bridge.failed, timeout=10_000) as blocker:
        handle = bridge.submit(("fail", message), channel="paint",
                               on_error=lambda text, exc: errors.append((text, type(exc))))
    assert blocker.args == [handle.job_id, message]
    assert errors == [(message, InputError)]


def test_unexpected_error_is_wrapped_for_people(qtbot, fake_engine):
    bridge = EngineBridge(fake_engine)
    with qtbot.waitSignal(bridge.failed, timeout=10_000) as blocker:
        bridge.submit(("crash", "tensor size mismatch"))
    text = blocker.args[1]
    assert "RuntimeError" in text and "tensor size mismatch" in text and "unchanged" in text
    assert describe_error(InputError("plain words")) == "plain words"


def test_cancel_a_running_job(qtbot, fake_engine):
    bridge = EngineBridge(fake_engine)
    finished = []
    bridge.finished.connect(lambda *args: finished.append(args))
    handle = bridge.submit(("block", 1), channel="paint")
    assert fake_engine.started.wait(10)
    with qtbot.waitSignal(bridge.cancelled, timeout=10_000) as blocker:
        handle.cancel()
        fake_engine.release.set()
    assert blocker.args == [handle.job_id]
    assert finished == []


def test_submit_after_close_fails_with_a_message(qtbot, fake_engine):
    bridge = EngineBridge(fake_engine)
    bridge.close()
    errors = []
    bridge.submit(("value", 1), on_error=lambda text, exc: errors.append(text))
    qtbot.waitUntil(lambda: bool(errors), timeout=5_000)
    assert "shut down" in errors[0]


def _run_with_qasync(coro):
    import qasync
    from PySide6.QtWidgets import QApplication

    loop = qasync.QEventLoop(QApplication.instance())
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def test_await_result_with_qasync(qtbot, real_engine):
    bridge = EngineBridge(real_engine)

    async def panel_code():
        result = await bridge.run(PatternRequest(width=8, height=8), channel="selftest")
        return threading.current_thread(), result

    thread, result = _run_with_qasync(panel_code())
    assert thread is threading.main_thread()
    assert result.image.shape == (8, 8, 3)


def test_await_raises_engine_error_and_cancelled_when_superseded(qtbot, fake_engine):
    bridge = EngineBridge(fake_engine)

    async def panel_code():
        with pytest.raises(InputError, match="bad input"):
            await bridge.run(("fail", "bad input"))
        old = asyncio.ensure_future(bridge.run(("block", "old"), channel="paint"))
        await asyncio.sleep(0)  # let it submit
        while not fake_engine.started.is_set():
            await asyncio.sleep(0.005)
        newest = asyncio.ensure_future(bridge.run(("value", "new"), channel="paint"))
        while bridge.pending_count < 2:  # the task submits when it first runs
            await asyncio.sleep(0)
        fake_engine.release.set()
        assert await newest == "new"
        with pytest.raises(Cancelled):
            await old
        return True

    assert _run_with_qasync(panel_code())
