"""Reading run directories without torch: what the GUI (and any watcher) needs to follow a run.

The files of a run directory are described in :mod:`engine.training.rundir` (which the training
process itself uses, with torch). This module is the torch-free reading side, plus the two writes a
watcher makes: creating a new run's ``options.json`` (:func:`create_run`, the twin of
``RunDir.prepare`` for a new run) and asking a run to stop (:func:`request_stop`).

Everything here is plain Python and cheap: :class:`ProgressTail` reads ``progress.jsonl``
incrementally (only the bytes added since the last call, bounded per call), :func:`run_info` reads
two small JSON files and the last few kB of the progress file. Nothing imports torch or Qt.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InputError
from engine.fileutil import atomic_write
from engine.training.options import TrainOptions
from engine.version import APP_VERSION

log = logging.getLogger(__name__)

# the file names of a run directory are defined once, in engine.training.rundir (which imports no torch)
from engine.training.rundir import (  # noqa: F401 (CHECKPOINTS: re-exported with the other run-directory names)
    CHECKPOINTS, FORMAT_VERSION, LATEST, OPTIONS, PROGRESS, SAMPLES, STATUS, STOP,
)

LOG = "run.log"
SAMPLE_PREFIX = "step_"

#: states a run can be in: the four status.json writes, plus "new" (options.json only: created but
#: never started, or starting right now) and "interrupted" (status.json says running but its process
#: is gone: killed, or the machine restarted; a resume continues from the last checkpoint)
STATES = ("new", "running", "stopped", "done", "failed", "interrupted")

#: how much of the end of progress.jsonl :func:`last_log` reads (bytes)
TAIL_BYTES = 16 * 1024
#: the most bytes :meth:`ProgressTail.read` reads in one call (the rest comes with the next calls)
READ_LIMIT = 1 << 20


@dataclass(frozen=True)
class RunInfo:
    """What a run list shows about one run.

    ``step`` is the newest step known (from the last progress line or status.json), ``steps`` the
    run's total; ``created`` and ``updated`` are unix seconds; ``state`` is one of :data:`STATES`.
    """

    path: Path
    family: str
    state: str
    step: int
    steps: int | None
    message: str = ""
    created: float = 0.0
    updated: float = 0.0
    preset: str | None = None
    data: tuple[str, ...] = ()
    pid: int | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def fraction(self) -> float:
        """Progress in [0, 1] (0 when the total is unknown)."""
        return min(1.0, self.step / self.steps) if self.steps else 0.0

    @property
    def has_model(self) -> bool:
        return (self.path / LATEST).is_file()

    @property
    def can_resume(self) -> bool:
        return self.state in ("stopped", "failed", "interrupted", "done", "new")


# ---------------------------------------------------------------------------------------------
# small JSON files


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_options_record(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The whole options.json record (``family``, ``options`` ...), or None when it is missing or damaged."""
    record = _read_json(Path(run_dir) / OPTIONS)
    if not isinstance(record, dict) or not isinstance(record.get("options"), dict):
        return None
    return record


def read_options(run_dir: str | os.PathLike) -> TrainOptions:
    """The run's :class:`TrainOptions`; :class:`InputError` when the folder is not a readable run."""
    path = Path(run_dir)
    record = read_options_record(path)
    if record is None:
        raise InputError(f"{path} is not a training run, or its {OPTIONS} is damaged.")
    return TrainOptions.from_dict(record["options"])


def read_status(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """status.json as a dict, or None (not written yet, or being replaced this instant)."""
    status = _read_json(Path(run_dir) / STATUS)
    return status if isinstance(status, dict) else None


def is_run(path: str | os.PathLike) -> bool:
    return (Path(path) / OPTIONS).is_file()


def pid_alive(pid: int | None) -> bool:
    """Whether a process ``pid`` exists on this machine (True when that cannot be told)."""
    if not pid or pid <= 0:
        return False
    if sys.platform == "win32":
        return True  # os.kill(pid, 0) would terminate it on Windows; the status file decides there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    except OSError:
        return False
    return True


def last_log(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The newest ``"kind": "log"`` record, read from the last :data:`TAIL_BYTES` of progress.jsonl."""
    path = Path(run_dir) / PROGRESS
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read()
    except OSError:
        return None
    for line in reversed(tail.split(b"\n")):
        record = _parse_line(line)
        if record is not None and record.get("kind") == "log":
            return record
    return None


def run_info(run_dir: str | os.PathLike) -> RunInfo | None:
    """A summary of the run in ``run_dir``, or None when the folder holds no readable run."""
    path = Path(run_dir)
    record = read_options_record(path)
    if record is None:
        return None
    options = record["options"]
    status = read_status(path) or {}
    state = str(status.get("state") or "new")
    pid = status.get("pid") if isinstance(status.get("pid"), int) else None
    if state == "running" and not pid_alive(pid):
        state = "interrupted"
    step = int(status.get("step") or 0)
    last = last_log(path) if state in ("running", "interrupted") else None
    if last is not None:
        step = max(step, int(last.get("step") or 0))
    steps = status.get("steps") or options.get("steps")
    updated = float(status.get("updated") or record.get("created") or 0.0)
    return RunInfo(path=path, family=str(record.get("family") or options.get("family") or "?"), state=state,
                   step=step, steps=int(steps) if steps else None, message=str(status.get("message") or ""),
                   created=float(record.get("created") or 0.0), updated=updated, preset=options.get("preset"),
                   data=tuple(options.get("data") or ()), pid=pid)


def list_runs(folder: str | os.PathLike) -> list[RunInfo]:
    """Every run directly inside ``folder`` (a runs folder), the most recently created first."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        if child.is_dir() and not child.name.startswith("."):
            info = run_info(child)
            if info is not None:
                runs.append(info)
    return sorted(runs, key=lambda r: (r.created, r.name), reverse=True)


# ---------------------------------------------------------------------------------------------
# progress.jsonl, incrementally


def _parse_line(line: bytes) -> dict[str, Any] | None:
    line = line.strip()
    if not line:
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


class ProgressTail:
    """Reads the records appended to a progress.jsonl since the last call.

    Only complete lines are returned: a line being written (no newline yet) waits for the next call.
    A file that shrank or was replaced (a new run in the same folder) is read again from the start,
    and :attr:`restarted` is set so the caller can drop what it had.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.offset = 0
        self.restarted = False
        self._identity: tuple[int, int] | None = None

    def read(self, limit: int = READ_LIMIT) -> list[dict[str, Any]]:
        """The new complete records (at most about ``limit`` bytes of them; call again for more)."""
        self.restarted = False
        try:
            stat = self.path.stat()
        except OSError:
            return []
        identity = (stat.st_dev, stat.st_ino)
        if (self._identity is not None and identity != self._identity) or stat.st_size < self.offset:
            self.offset, self.restarted = 0, True
        self._identity = identity
        if stat.st_size == self.offset:
            return []
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read(limit)
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            if len(chunk) >= limit:  # one absurdly long line: skip it rather than stall forever
                self.offset += len(chunk)
            return []
        self.offset += end + 1
        records = (_parse_line(line) for line in chunk[:end].split(b"\n"))
        return [r for r in records if r is not None]

    @property
    def at_end(self) -> bool:
        """True when everything written so far has been read."""
        try:
            return self.path.stat().st_size <= self.offset
        except OSError:
            return True


# ---------------------------------------------------------------------------------------------
# samples and the latest model


def sample_step(path: Path) -> int | None:
    """The step of a ``samples/step_00000500.png`` file, or None for other names."""
    stem = path.stem
    if not stem.startswith(SAMPLE_PREFIX):
        return None
    try:
        return int(stem[len(SAMPLE_PREFIX):])
    except ValueError:
        return None


def samples(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, path) of the run's preview grids, oldest first."""
    folder = Path(run_dir) / SAMPLES
    if not folder.is_dir():
        return []
    found = [(sample_step(p), p) for p in folder.glob(f"{SAMPLE_PREFIX}*.png")]
    return sorted((step, p) for step, p in found if step is not None)


def latest_model(run_dir: str | os.PathLike) -> Path | None:
    """The run's latest.safetensors, or None before its first checkpoint."""
    path = Path(run_dir) / LATEST
    return path if path.is_file() else None


def file_stamp(path: str | os.PathLike) -> tuple[int, int] | None:
    """(mtime in ns, size) of a file, or None when it is missing: changes whenever it is replaced."""
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


# ---------------------------------------------------------------------------------------------
# the writes a watcher makes


def request_stop(run_dir: str | os.PathLike) -> Path:
    """Create ``RUN_DIR/STOP``: the run stops after its current step with a final checkpoint."""
    path = Path(run_dir) / STOP
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("stop\n", encoding="utf-8")
    return path


def torch_version() -> str | None:
    """The installed torch's version as ``torch.__version__`` says it (local tag included), read from
    its ``version.py`` or package metadata; torch is not imported."""
    import importlib.util
    import re
    from importlib import metadata

    spec = importlib.util.find_spec("torch")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            text = (Path(folder) / "version.py").read_text(encoding="utf-8")
        except OSError:
            continue
        found = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
        if found:
            return found.group(1)
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None


def options_record(opts: TrainOptions) -> dict[str, Any]:
    """The options.json record of a new run (the format of ``RunDir.write_options``)."""
    return {
        "format_version": FORMAT_VERSION,
        "family": opts.family,
        "app_version": APP_VERSION,
        "torch_version": torch_version(),
        "created": time.time(),
        "options": opts.to_dict(),
    }


def create_run(run_dir: str | os.PathLike, opts: TrainOptions) -> Path:
    """Create a new run directory holding ``opts`` (options.json), ready for
    ``python -m engine.training.run RUN_DIR``. Refuses a folder that holds a run or other files,
    like ``RunDir.prepare`` does for a new run."""
    path = Path(run_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} is a file; give a folder for the run.")
    if is_run(path):
        raise InputError(f"{path} already holds a training run. Resume it, or give the new run another name.")
    if path.is_dir() and any(p.name != STOP for p in path.iterdir()):
        raise InputError(f"{path} is not empty and holds no run. Give an empty or a new folder for the run.")
    path.mkdir(parents=True, exist_ok=True)
    opts = dataclasses.replace(opts, out=str(path))
    with atomic_write(path / OPTIONS) as tmp:
        tmp.write_text(json.dumps(options_record(opts), indent=2), encoding="utf-8")
    return path


def set_steps(run_dir: str | os.PathLike, steps: int) -> None:
    """Change the run's total ``steps`` (the one option a resume may change), e.g. to train on after it is done."""
    path = Path(run_dir)
    record = read_options_record(path)
    if record is None:
        raise InputError(f"{path} is not a training run, or its {OPTIONS} is damaged.")
    if steps < 1:
        raise InputError(f"steps must be at least 1 (got {steps}).")
    if record["options"].get("steps") == steps:
        return
    record["options"]["steps"] = int(steps)
    with atomic_write(path / OPTIONS) as tmp:
        tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")


def unique_run_dir(folder: str | os.PathLike, name: str) -> Path:
    """``folder/name``, or ``folder/name-2``, ``-3`` ... when that exists already."""
    root = Path(folder).expanduser()
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.strip()).strip("-.") or "run"
    candidate, n = root / safe, 2
    while candidate.exists():
        candidate, n = root / f"{safe}-{n}", n + 1
    return candidate
