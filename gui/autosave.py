"""Autosave to a recovery folder, and recovery after a crash.

Every running window has an :class:`Autosaver` with its own id. While it runs, the recovery
folder holds ``<id>.lock`` (JSON: process id, host, start time, the document's file and name,
time of the last autosave) and, once the document has unsaved changes, ``<id>.ora`` — written
every N minutes (setting ``autosave/minutes``) with :func:`engine.ora.write_ora`, atomically,
from a snapshot of the document on a background thread (the UI never waits for the disk).

A clean exit (:meth:`Autosaver.finish`) removes both files. Files whose lock names a process
that is gone (a crash, a kill -9, a power cut) are offered for recovery at the next start
(:func:`offer_recovery`); the recovered document is exactly the last autosave. Saving the
document removes its autosave (there is nothing left to recover).
"""

from __future__ import annotations

import concurrent.futures
import copy
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from engine.document import Document
from engine.errors import EngineError

log = logging.getLogger(__name__)

POLL_MS = 100
#: Autosavers running in this process (a lock with our pid but an id not in here was left behind)
_LIVE: set[str] = set()


def snapshot(document: Document) -> Document:
    """A copy of ``document`` that later edits cannot touch (pixels copied; JSON state deep-copied)."""
    layers = []
    for layer in document.layers:
        dup = copy.copy(layer)
        dup.pixels = layer.pixels.copy()
        dup.instances = None if layer.instances is None else layer.instances.copy()
        dup.recipe = copy.deepcopy(layer.recipe)
        layers.append(dup)
    return Document(width=document.width, height=document.height, layers=layers,
                    label_sets=copy.deepcopy(document.label_sets), state=copy.deepcopy(document.state),
                    arrays={key: value.copy() for key, value in document.arrays.items()})


@dataclass
class RecoveryFile:
    """An autosave left behind by a window that did not close properly."""

    ora: Path
    lock: Path
    document_path: str | None
    name: str
    saved_at: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at)) if self.saved_at else "an unknown time"
        where = f" ({self.document_path})" if self.document_path else ""
        return f"'{self.name}'{where}, autosaved {when}"

    def discard(self) -> None:
        for path in (self.ora, self.lock):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove %s: %s", path, exc)


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OSError:
        return False
    return True


def _read_lock(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def find_recoverable(folder: str | os.PathLike) -> list[RecoveryFile]:
    """Autosaves in ``folder`` whose window is gone, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for ora in folder.glob("*.ora"):
        instance = ora.stem
        lock = folder / f"{instance}.lock"
        info = _read_lock(lock) if lock.exists() else {}
        pid = int(info.get("pid", 0) or 0)
        same_host = info.get("host", socket.gethostname()) == socket.gethostname()
        if lock.exists() and same_host:
            if pid == os.getpid() and instance in _LIVE:
                continue  # a window of this very process
            if pid != os.getpid() and _process_alive(pid):
                continue  # another GAN Studio still running
        saved_at = float(info.get("saved_at", 0) or 0) or ora.stat().st_mtime
        found.append(RecoveryFile(ora=ora, lock=lock, document_path=info.get("document_path"),
                                  name=str(info.get("name") or "Untitled"), saved_at=saved_at))
    for lock in folder.glob("*.lock"):  # locks of windows that died before any autosave: nothing to offer
        if not lock.with_suffix(".ora").exists() and lock.stem not in _LIVE:
            pid = int(_read_lock(lock).get("pid", 0) or 0)
            if pid == os.getpid() or not _process_alive(pid):
                try:
                    lock.unlink()
                except OSError:
                    pass
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


class Autosaver(QObject):
    """Autosaves one DocumentModel into ``folder`` every ``minutes`` (0 = never; :meth:`autosave_now` still works).

    Signals: ``saved(str)`` with the autosave path; ``failed(str)`` with a message for people.
    """

    saved = Signal(str)
    failed = Signal(str)

    def __init__(self, document_model, folder: str | os.PathLike, minutes: float = 5.0, parent: QObject | None = None):
        super().__init__(parent)
        self.docs = document_model
        self.folder = Path(folder)
        self.instance = uuid.uuid4().hex[:16]
        self.ora_path = self.folder / f"{self.instance}.ora"
        self.lock_path = self.folder / f"{self.instance}.lock"
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._pending: concurrent.futures.Future | None = None
        self._saved_version: object = None
        self._version = 0
        self._started = time.time()
        self._running = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.autosave_now)
        self.set_interval(minutes)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check_pending)
        document_model.changed.connect(self._touch)
        document_model.undo_stack.indexChanged.connect(lambda _i: self._touch())
        document_model.modified_changed.connect(self._modified_changed)

    # ------------------------------------------------------------------ lifecycle

    def set_interval(self, minutes: float) -> None:
        self.minutes = max(0.0, float(minutes))
        if self.minutes > 0:
            self.timer.setInterval(max(1, int(self.minutes * 60_000)))
            if self._running:
                self.timer.start()
        else:
            self.timer.stop()

    def start(self) -> None:
        """Claim this window's lock in the recovery folder and start the timer."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._write_lock(saved_at=0.0)
        except OSError as exc:
            self.failed.emit(f"Autosave is off: the recovery folder {self.folder} cannot be written "
                             f"({exc.strerror or exc}).")
            return
        _LIVE.add(self.instance)
        self._running = True
        if self.minutes > 0:
            self.timer.start()

    def finish(self) -> None:
        """Clean exit: stop, wait for a running write, remove this window's autosave and lock."""
        self._stop()
        try:
            self._executor.shutdown(wait=True)
        finally:
            for path in (self.ora_path, self.lock_path):
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("could not remove %s: %s", path, exc)

    def abandon(self) -> None:
        """Stop without cleaning up, as a crash would (the files stay for recovery). For tests."""
        self._stop()
        self._executor.shutdown(wait=True)

    def _stop(self) -> None:
        self.timer.stop()
        self._poll.stop()
        self._running = False
        _LIVE.discard(self.instance)

    # ------------------------------------------------------------------ saving

    def _touch(self) -> None:
        self._version += 1

    def _modified_changed(self, modified: bool) -> None:
        if not modified and self._pending is None and self.ora_path.exists():
            try:
                self.ora_path.unlink()  # saved by the user: nothing to recover
            except OSError:
                pass
            self._saved_version = None

    @property
    def is_saving(self) -> bool:
        return self._pending is not None

    def autosave_now(self) -> bool:
        """Start an autosave when the document changed since the last one. True when one started."""
        doc = self.docs.document
        if not self._running or doc is None or self._pending is not None:
            return False
        if not self.docs.is_modified or self._saved_version == self._version:
            return False
        version = self._version
        state = snapshot(doc)
        info = {"document_path": self.docs.path, "name": self.docs.display_name}
        self._pending = self._executor.submit(self._write, state, info)
        self._pending_version = version
        self._poll.start()
        return True

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until a running autosave ends (tests, and quitting). True when none is left running."""
        if self._pending is None:
            return True
        try:
            self._pending.result(timeout)
        except Exception:  # noqa: BLE001 - reported by _check_pending
            pass
        self._check_pending()
        return self._pending is None

    def _write(self, document: Document, info: dict) -> str:
        from engine.ora import write_ora

        write_ora(self.ora_path, document)
        self._write_lock(saved_at=time.time(), **info)
        return str(self.ora_path)

    def _write_lock(self, saved_at: float, document_path: str | None = None, name: str | None = None) -> None:
        data = {"pid": os.getpid(), "host": socket.gethostname(), "started": self._started, "saved_at": saved_at,
                "document_path": document_path, "name": name or self.docs.display_name}
        tmp = self.lock_path.with_name(self.lock_path.name + ".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.lock_path)

    def _check_pending(self) -> None:
        future = self._pending
        if future is None or not future.done():
            return
        self._pending = None
        self._poll.stop()
        try:
            path = future.result()
        except (EngineError, OSError) as exc:
            log.warning("autosave failed: %s", exc)
            self.failed.emit(f"Autosave failed: {exc}")
            return
        except Exception as exc:  # autosave must never take the window down
            log.exception("autosave failed")
            self.failed.emit(f"Autosave failed: {exc}")
            return
        self._saved_version = self._pending_version
        log.info("autosaved to %s", path)
        self.saved.emit(path)


def offer_recovery(parent: QWidget | None, folder: str | os.PathLike) -> RecoveryFile | None:
    """Ask about the newest autosave left by a crash: Yes = recover it (returned, for the caller to
    open), Discard = delete it, anything else = keep it for next time (None)."""
    candidates = find_recoverable(folder)
    if not candidates:
        return None
    newest = candidates[0]
    more = f"\n\n{len(candidates) - 1} older autosave(s) will be offered next time." if len(candidates) > 1 else ""
    answer = QMessageBox.question(
        parent, "Recover unsaved work?",
        f"GAN Studio did not close properly last time. Recover {newest.describe()}?{more}",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Yes,
    )
    if answer == QMessageBox.StandardButton.Yes:
        return newest
    if answer == QMessageBox.StandardButton.Discard:
        newest.discard()
    return None
