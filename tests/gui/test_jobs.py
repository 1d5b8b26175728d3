"""TrackedJob: one current job per run button; a replaced or abandoned job never reports."""

from __future__ import annotations

from gui.engine_bridge import EngineBridge
from gui.jobs import TrackedJob


def test_a_replaced_job_is_cancelled_and_only_the_current_one_reports(qtbot, fake_engine):
    bridge = EngineBridge(fake_engine)
    job = TrackedJob(bridge)
    running, outcomes = [], []
    job.running_changed.connect(running.append)
    first = job.submit(("block", "first"), "work", on_result=lambda r: outcomes.append(("result", r)),
                       on_cancel=lambda: outcomes.append(("cancel", "first")))
    assert fake_engine.started.wait(10) and job.is_running and job.handle is first
    job.submit(("value", "second"), "work", on_result=lambda r: outcomes.append(("result", r)))
    fake_engine.release.set()
    qtbot.waitUntil(lambda: not job.is_running, timeout=10_000)
    qtbot.waitUntil(lambda: first.done, timeout=10_000)
    qtbot.wait(20)
    assert outcomes == [("result", "second")]  # the first job's late outcome was ignored
    assert running == [True, True, False]


def test_errors_cancels_and_abandon(qtbot, fake_engine):
    bridge = EngineBridge(fake_engine)
    job = TrackedJob(bridge)
    outcomes = []
    job.submit(("fail", "bad input"), None, on_result=outcomes.append,
               on_error=lambda message, exc: outcomes.append(("error", message)))
    qtbot.waitUntil(lambda: not job.is_running, timeout=10_000)
    assert outcomes == [("error", "bad input")]

    fake_engine.release.clear()
    fake_engine.started.clear()
    job.submit(("block", "x"), "work", on_result=outcomes.append, on_cancel=lambda: outcomes.append("cancelled"))
    assert fake_engine.started.wait(10)
    job.cancel()
    fake_engine.release.set()
    qtbot.waitUntil(lambda: not job.is_running, timeout=10_000)
    assert outcomes[-1] in ("cancelled", "x")  # a cancel that came too late delivers the result instead

    job.submit(("value", "y"), "work", on_result=outcomes.append)
    job.abandon()
    assert not job.is_running
    qtbot.wait(50)
    assert "y" not in outcomes
