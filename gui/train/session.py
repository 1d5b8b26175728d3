"""The Train workspace's model: the runs folder, the run being watched, starting / stopping / resuming.

:class:`TrainSession` knows no widget. It polls with a QTimer (every :data:`POLL_MS`): the watched
run's new progress lines (:class:`engine.training.runfiles.ProgressTail`, a bounded read of only the
new bytes), its status, its samples and its latest.safetensors; the runs list every few polls.
Reading a preview image and checking a dataset folder run on worker threads, so a big dataset or a
large grid never blocks painting. Runs are separate processes (:mod:`gui.train.process`); the
session only writes a run's options.json when it creates it and STOP when it stops it.

"Open in ..." asks the window to load the run's latest.safetensors (:attr:`TrainSession.load_requested`);
while the run goes on, every newer latest.safetensors of a run opened that way is loaded again.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import os
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QImage

import engine.training.runfiles as runfiles
from engine.errors import EngineError, InputError
from engine.training.families import LAYOUTS
from engine.training.options import TrainOptions
from gui.train import process

log = logging.getLogger(__name__)

POLL_MS = 400
#: bytes of progress.jsonl read per piece (~1500 lines): each piece's records are drawn on the UI thread
READ_PIECE = 256 * 1024
#: the runs list is re-read every this many polls
RUNS_EVERY = 5
#: the most log records kept in memory for the curves (older ones are thinned)
MAX_RECORDS = 20000
DEFAULT_RUNS_FOLDER = os.path.join(os.path.expanduser("~"), "GAN Studio", "runs")
SETTINGS_FOLDER = "train/runs_folder"
SETTINGS_CURRENT = "train/current_run"


@dataclass
class WatchedRun:
    """What the session has read of the watched run so far."""

    path: Path
    tail: runfiles.ProgressTail
    info: runfiles.RunInfo | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    samples: list[tuple[int, Path]] = field(default_factory=list)
    reading: bool = False  # a read of its progress file is under way on a worker thread

    @property
    def last_log(self) -> dict[str, Any] | None:
        return self.logs[-1] if self.logs else None


@dataclass(frozen=True)
class CheckKey:
    """What a dataset check was made for (a new check is needed when any of it changes)."""

    layout: str
    dirs: tuple[str, ...]
    resolution: int | None


class _Relay(QObject):
    """Carries a worker thread's result to the main thread (a queued signal)."""

    done = Signal(object)


class TrainSession(QObject):
    """Signals:

    * ``runs_changed()``: :attr:`runs` was re-read;
    * ``current_changed()``: another run is watched (or none): views reset;
    * ``records_added(list)``: new progress records of the watched run (log lines and events);
    * ``info_changed()``: the watched run's state / step / process changed;
    * ``samples_changed()``: the watched run has a new preview grid;
    * ``sample_loaded(int, QImage)``: a preview image read off the main thread (step, image);
    * ``check_started()`` / ``check_finished(object)``: a dataset check (its CheckReport, or an error string);
    * ``message(str, bool)``: a sentence for the user (True: it is an error);
    * ``load_requested(str)``: load this latest.safetensors (the workspace passes it to the window).
    """

    runs_changed = Signal()
    current_changed = Signal()
    records_added = Signal(object)  # a list of records, passed as is (a "list" signal would convert every dict)
    info_changed = Signal()
    samples_changed = Signal()
    sample_loaded = Signal(int, QImage)
    check_started = Signal()
    check_finished = Signal(object)
    message = Signal(str, bool)
    load_requested = Signal(str)

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None, poll_ms: int = POLL_MS):
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.runs: list[runfiles.RunInfo] = []
        self.current: WatchedRun | None = None
        self.processes: dict[Path, subprocess.Popen] = {}
        self.followed: dict[Path, tuple[int, int] | None] = {}
        self.opened: set[Path] = set()  # runs whose model was opened with "Open in ..."
        self.threads = process.default_threads()
        self.last_report: Any = None
        self.last_check: CheckKey | None = None
        self._pending_start: tuple[TrainOptions, str] | None = None
        self._checking: CheckKey | None = None
        self._polls = 0
        # file reads (progress pieces, preview images) and dataset checks (which can take minutes) apart
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="train-read")
        self._checker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="train-check")
        self._check_relay = _Relay(self)
        self._check_relay.done.connect(self._check_done)
        self._image_relay = _Relay(self)
        self._image_relay.done.connect(self._image_done)
        self._progress_relay = _Relay(self)
        self._progress_relay.done.connect(self._progress_read)
        self.closed = False
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)
        self.refresh_runs()
        stored = self.settings.value(SETTINGS_CURRENT, "")
        if stored and runfiles.is_run(str(stored)):
            self.watch(Path(str(stored)))
        self.timer.start()

    # ------------------------------------------------------------------ settings

    @property
    def runs_folder(self) -> Path:
        value = self.settings.value(SETTINGS_FOLDER, "")
        return Path(str(value)) if value else Path(DEFAULT_RUNS_FOLDER)

    def set_runs_folder(self, folder: str | os.PathLike) -> None:
        self.settings.setValue(SETTINGS_FOLDER, str(folder))
        self.settings.sync()
        self.refresh_runs()

    # ------------------------------------------------------------------ runs list

    def refresh_runs(self) -> None:
        runs = runfiles.list_runs(self.runs_folder)
        if self.current is not None and all(r.path != self.current.path for r in runs):
            info = runfiles.run_info(self.current.path)  # a run outside the runs folder stays listed
            if info is not None:
                runs.insert(0, info)
        self.runs = [self._with_process(r) for r in runs]
        self.runs_changed.emit()

    def _with_process(self, info: runfiles.RunInfo) -> runfiles.RunInfo:
        """A run this app just started shows as running until its process writes status.json."""
        proc = self.processes.get(info.path)
        if proc is not None and proc.poll() is None and info.state in ("new", "interrupted", "stopped", "failed", "done"):
            status = runfiles.read_status(info.path) or {}
            if status.get("pid") != proc.pid:
                return replace(info, state="running", message="starting…")
        return info

    # ------------------------------------------------------------------ the watched run

    def watch(self, path: str | os.PathLike | None) -> None:
        """Watch the run in ``path`` (None: none); its whole progress file is read again."""
        if path is None:
            self.current = None
            self.settings.setValue(SETTINGS_CURRENT, "")
        else:
            path = Path(path)
            if self.current is not None and self.current.path == path:
                return
            self.current = WatchedRun(path, runfiles.ProgressTail(path / runfiles.PROGRESS))
            self.settings.setValue(SETTINGS_CURRENT, str(path))
        self.settings.sync()
        self.current_changed.emit()
        if self.current is not None:
            self._poll_current(first=True)

    def poll(self) -> None:
        """One tick of the timer: the watched run, our processes, followed models, the runs list."""
        self._polls += 1
        self._reap()
        if self.current is not None:
            self._poll_current()
        self._poll_followed()
        if self._polls % RUNS_EVERY == 0:
            self.refresh_runs()

    def _poll_current(self, first: bool = False) -> None:
        """Read the watched run's state (two small files) here, its new progress lines on a worker
        thread (a long run's progress file can be many MB: it arrives in bounded pieces, one poll each)."""
        run = self.current
        assert run is not None
        if not run.reading and not self.closed:
            run.reading = True
            tail, relay = run.tail, self._progress_relay

            def read() -> None:
                records = tail.read(READ_PIECE)
                try:
                    relay.done.emit((run, records, tail.restarted))
                except RuntimeError:  # the session is gone
                    pass

            self._executor.submit(read)
        info = self._with_process(runfiles.run_info(run.path)) if runfiles.is_run(run.path) else None
        if info != run.info:
            run.info = info
            self.info_changed.emit()
        if first:
            self._update_samples(run)

    def _progress_read(self, result: tuple[WatchedRun, list[dict[str, Any]], bool]) -> None:
        run, records, restarted = result
        run.reading = False
        if run is not self.current:
            return  # another run is watched now
        if restarted:
            run.logs.clear()
            run.events.clear()
            self.current_changed.emit()
        if not records:
            return
        new_sample = False
        for record in records:
            if record.get("kind") == "log":
                run.logs.append(record)
            elif record.get("kind") == "event":
                run.events.append(record)
                new_sample |= record.get("event") == "sample"
        if len(run.logs) > MAX_RECORDS:
            run.logs[:] = run.logs[: -MAX_RECORDS // 2: 2] + run.logs[-MAX_RECORDS // 2:]
        self.records_added.emit(records)
        if new_sample:
            self._update_samples(run)
        if not run.tail.at_end and not self.closed:
            QTimer.singleShot(0, self._poll_more)

    def _poll_more(self) -> None:
        """Catching up on a long progress file: read the next piece without waiting for the timer."""
        if self.current is not None and not self.current.reading and not self.closed:
            self._poll_current()

    def _update_samples(self, run: WatchedRun) -> None:
        samples = runfiles.samples(run.path)
        if samples != run.samples:
            run.samples = samples
            self.samples_changed.emit()

    def _reap(self) -> None:
        for path, proc in list(self.processes.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.processes[path]
            status = runfiles.read_status(path) or {}
            if code != 0 and status.get("state") not in ("failed",):
                tail = process.log_tail(path)
                self.message.emit(f"The run {path.name} ended unexpectedly (exit status {code}). {tail}".strip(), True)
            elif status.get("state") == "failed":
                self.message.emit(f"The run {path.name} failed: {status.get('message', '')}", True)
            elif status.get("state") == "done":
                self.message.emit(f"The run {path.name} is done: {status.get('message', '')}", False)
            self.refresh_runs()
            if self.current is not None and self.current.path == path:
                self._poll_current()

    # ------------------------------------------------------------------ samples

    def load_sample(self, index: int = -1) -> None:
        """Read the watched run's preview ``index`` (default: the newest) on a worker thread;
        ``sample_loaded`` brings it."""
        if self.closed or self.current is None or not self.current.samples:
            return
        step, path = self.current.samples[index]
        relay = self._image_relay

        def read() -> None:
            image = QImage(str(path))
            try:
                relay.done.emit((step, image))
            except RuntimeError:  # the session is gone
                pass

        self._executor.submit(read)

    def _image_done(self, result: tuple[int, QImage]) -> None:
        step, image = result
        if not image.isNull():
            self.sample_loaded.emit(step, image)

    # ------------------------------------------------------------------ dataset check

    def check_dataset(self, layout: str, dirs: tuple[str, ...], resolution: int | None) -> None:
        """Check the dataset folders on a worker thread (``check_finished`` brings the report)."""
        key = CheckKey(layout, tuple(dirs), resolution)
        if self.closed or self._checking == key:
            return
        self._checking = key
        relay = self._check_relay
        self.check_started.emit()

        def work() -> None:
            from engine.data import folders

            try:
                result: Any = (key, folders.check(layout, list(dirs), resolution))
            except Exception as exc:  # the checker should not raise; say what did
                log.exception("the dataset check failed")
                result = (key, f"The dataset check failed: {exc}")
            try:
                relay.done.emit(result)
            except RuntimeError:
                pass

        self._checker.submit(work)

    def _check_done(self, result: tuple[CheckKey, Any]) -> None:
        key, report = result
        if self._checking == key:
            self._checking = None
        self.last_check, self.last_report = key, report
        self.check_finished.emit(report)
        pending, self._pending_start = self._pending_start, None
        if pending is not None:
            opts, name = pending
            if self._check_key(opts) == key:
                if getattr(report, "ok", False):
                    self._launch_new(opts, name)
                else:
                    self.message.emit("The dataset is not ready; fix what the check reports, then Start again.", True)
            else:
                self.start(opts, name)

    @staticmethod
    def _check_key(opts: TrainOptions) -> CheckKey:
        return CheckKey(LAYOUTS[opts.family], tuple(opts.data), opts.resolution)

    @property
    def checking(self) -> bool:
        return self._checking is not None

    # ------------------------------------------------------------------ start / stop / resume

    def start(self, opts: TrainOptions, name: str) -> None:
        """Start a new run of ``opts`` called ``name`` in the runs folder, after a passing dataset check
        (run first when the last check was for other folders)."""
        key = self._check_key(opts)
        if self.last_check == key and self.last_report is not None:
            if getattr(self.last_report, "ok", False):
                self._launch_new(opts, name)
            else:
                self.message.emit("The dataset is not ready; fix what the check reports, then Start again.", True)
            return
        self._pending_start = (opts, name)
        self.check_dataset(key.layout, key.dirs, key.resolution)

    def _launch_new(self, opts: TrainOptions, name: str) -> Path | None:
        try:
            path = runfiles.create_run(runfiles.unique_run_dir(self.runs_folder, name), opts)
            self.processes[path] = process.start_run_process(path, threads=self.threads)
        except (EngineError, OSError) as exc:
            self.message.emit(f"The run could not start: {exc}", True)
            return None
        self.message.emit(f"Started {path.name}. It trains in its own process; the app stays free to use.", False)
        self.refresh_runs()
        self.watch(path)
        return path

    def is_running(self, path: str | os.PathLike) -> bool:
        path = Path(path)
        proc = self.processes.get(path)
        if proc is not None and proc.poll() is None:
            return True
        info = runfiles.run_info(path)
        return info is not None and info.state == "running"

    def stop(self, path: str | os.PathLike | None = None) -> None:
        """Ask the run (default: the watched one) to stop after its current step, with a final checkpoint.

        Writes STOP (any run, also one started before the app restarted). A run this app started also
        gets SIGTERM on POSIX: the same clean stop once it trains, and the only way to stop it while it
        is still starting (it clears stale STOP files when it starts; nothing is lost then)."""
        path = self._path(path)
        if path is None:
            return
        try:
            runfiles.request_stop(path)
        except OSError as exc:
            self.message.emit(f"Could not ask {path.name} to stop: {exc}", True)
            return
        proc = self.processes.get(path)
        if proc is not None and proc.poll() is None and os.name == "posix":
            proc.terminate()
        self.message.emit(f"Stopping {path.name} after its current step (it saves a final checkpoint)…", False)

    def resume(self, path: str | os.PathLike | None = None, steps: int | None = None) -> bool:
        """Continue the run (default: the watched one) from its newest checkpoint; ``steps`` raises its total."""
        path = self._path(path)
        if path is None:
            return False
        if self.is_running(path):
            self.message.emit(f"{path.name} is running already.", True)
            return False
        try:
            if steps:
                runfiles.set_steps(path, steps)
            (path / runfiles.STOP).unlink(missing_ok=True)
            self.processes[path] = process.start_run_process(path, resume=True, threads=self.threads)
        except (InputError, OSError) as exc:
            self.message.emit(f"{path.name} could not resume: {exc}", True)
            return False
        self.message.emit(f"Resuming {path.name} from its newest checkpoint…", False)
        self.refresh_runs()
        self.watch(path)
        return True

    def _path(self, path: str | os.PathLike | None) -> Path | None:
        if path is not None:
            return Path(path)
        return self.current.path if self.current is not None else None

    # ------------------------------------------------------------------ open in ... and follow

    def open_model(self, path: str | os.PathLike | None = None, follow: bool = True) -> bool:
        """Load the run's latest.safetensors (default: the watched run); with ``follow``, load it again
        each time the run writes a newer one."""
        path = self._path(path)
        latest = runfiles.latest_model(path) if path is not None else None
        if latest is None:
            self.message.emit("This run has no model yet: it writes latest.safetensors at its first checkpoint.", True)
            return False
        self.opened.add(path)
        if follow:
            self.followed[path] = runfiles.file_stamp(latest)
        else:
            self.followed.pop(path, None)
        self.load_requested.emit(str(latest))
        return True

    def set_follow(self, path: str | os.PathLike, follow: bool) -> None:
        path = Path(path)
        if follow:
            self.followed[path] = runfiles.file_stamp(path / runfiles.LATEST)
        else:
            self.followed.pop(path, None)

    def _poll_followed(self) -> None:
        for path, stamp in list(self.followed.items()):
            now = runfiles.file_stamp(path / runfiles.LATEST)
            if now is not None and now != stamp:
                self.followed[path] = now
                log.info("a newer %s: loading it again", path / runfiles.LATEST)
                self.load_requested.emit(str(path / runfiles.LATEST))

    # ------------------------------------------------------------------ closing

    def shutdown(self) -> None:
        """Stop watching (runs go on in their own processes); pending checks and image reads are dropped."""
        self.closed = True
        self.timer.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._checker.shutdown(wait=False, cancel_futures=True)


def eta_text(seconds: float | None) -> str:
    """'2 h 05 min', '12 min', '40 s' or '…' when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "…"
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def age_text(when: float, now: float | None = None) -> str:
    """How long ago ``when`` (unix s) was, for people."""
    delta = max(0.0, (now if now is not None else time.time()) - when)
    if delta < 60:
        return "just now"
    if delta < 3600:
        return f"{int(delta // 60)} min ago"
    if delta < 86400:
        return f"{int(delta // 3600)} h ago"
    return time.strftime("%d %b %Y", time.localtime(when))
