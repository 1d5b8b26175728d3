"""A training run is a directory. Its files (the GUI reads them; all JSON is UTF-8):

``options.json``
    ``{"format_version": 1, "family": str, "app_version": str, "torch_version": str, "created": unix s,
    "options": TrainOptions.to_dict()}`` -- everything needed to reproduce the run, the data folders
    included. Written when the run is created; a resume reads it (only ``steps`` may change).
``progress.jsonl``
    One JSON object per line, appended. ``{"kind": "log", "step": int, "time": unix s, "losses":
    {name: float}, "images_per_s": float, "elapsed_s": float, "eta_s": float | null}`` every
    ``log_every`` steps (``step`` = iterations done), and events ``{"kind": "event", "event":
    "start" | "resume" | "note" | "sample" | "checkpoint" | "stop" | "done" | "error", "step": int,
    "time": unix s, "message": str}`` (``sample`` events carry ``"path"``, relative to the run).
    A line cut by a kill is skipped by :func:`read_progress`. After a kill, a ``resume`` event at
    step k supersedes the earlier lines with a step above k (those steps are trained again).
``status.json``
    The latest state, rewritten atomically: ``{"state": "running" | "stopped" | "done" | "failed",
    "step": int, "steps": int, "pid": int, "message": str, "updated": unix s}``.
``samples/step_00000500.png``
    The preview grid after 500 steps (same fixed inputs each time); ``samples/latest.png`` is a copy
    of the newest.
``latest.safetensors``
    The newest generator in GAN Studio's own format (:mod:`engine.loaders.native`), loadable by
    every command and panel at any moment (it is replaced atomically).
``checkpoints/state_00001000.safetensors``
    The full training state after 1000 steps (all networks, optimizers, grad scaler, the trainer's
    extra state, RNG states, step): tensors in safetensors, the structure as JSON in its metadata.
    Written atomically; the newest ``keep`` are kept. Resume uses the newest that loads.
``STOP``
    Create this file to ask a run to stop; it writes a final checkpoint and removes the file.
``run.log``
    The run process's stdout and stderr (:mod:`engine.training.launcher`).

Importing this module does not import torch (the GUI uses it): torch is imported only by the
functions that read or write training states. :func:`list_runs` / :func:`run_info` summarise runs
for a list of past runs.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from engine.errors import CheckpointError, InputError
from engine.fileutil import atomic_write, cleanup_stale_temps
from engine.training.options import TrainOptions
from engine.version import APP_VERSION

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
OPTIONS = "options.json"
PROGRESS = "progress.jsonl"
STATUS = "status.json"
LATEST = "latest.safetensors"
SAMPLES = "samples"
CHECKPOINTS = "checkpoints"
STOP = "STOP"
STATE_PREFIX = "state_"
STATE_META_KEY = "gan_studio_train_state"


class RunDir:
    """Paths and file operations of one run directory (see the module docstring)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path).expanduser()

    # paths
    @property
    def options_path(self) -> Path:
        return self.path / OPTIONS

    @property
    def progress_path(self) -> Path:
        return self.path / PROGRESS

    @property
    def status_path(self) -> Path:
        return self.path / STATUS

    @property
    def latest_path(self) -> Path:
        return self.path / LATEST

    @property
    def samples_dir(self) -> Path:
        return self.path / SAMPLES

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def stop_path(self) -> Path:
        return self.path / STOP

    def sample_path(self, step: int) -> Path:
        return self.samples_dir / f"step_{step:08d}.png"

    def state_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"{STATE_PREFIX}{step:08d}.safetensors"

    # ---- options ---------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.options_path.is_file()

    def read_options(self) -> TrainOptions:
        try:
            record = json.loads(self.options_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{self.path} is not a training run (it has no {OPTIONS}).") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"{self.options_path} cannot be read ({exc}); the run folder is damaged.") from exc
        if int(record.get("format_version", 0)) > FORMAT_VERSION:
            raise InputError(f"The run in {self.path} was made by a newer GAN Studio; update it to continue the run.")
        return TrainOptions.from_dict(record["options"])

    def write_options(self, opts: TrainOptions) -> None:
        record = {
            "format_version": FORMAT_VERSION,
            "family": opts.family,
            "app_version": APP_VERSION,
            "torch_version": _torch_version(),
            "created": time.time(),
            "options": opts.to_dict(),
        }
        with atomic_write(self.options_path) as tmp:
            tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")

    def prepare(self, opts: TrainOptions, resume: bool) -> TrainOptions:
        """Create the run directory for ``opts`` or check it for a resume; return the options to run.

        A new run refuses a folder that holds a run (or other files); a resume refuses a run of
        another family and keeps the stored options, taking only ``steps`` from ``opts``."""
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path} is a file; give a folder for the run.")
        if self.exists():
            stored = self.read_options()
            if stored.family != opts.family:
                raise InputError(
                    f"{self.path} holds a {stored.family} run, not {opts.family}. Resume it as {stored.family}, "
                    "or give another folder for the new run."
                )
            if not resume:
                raise InputError(f"{self.path} already holds a {stored.family} run. Add --resume to continue it, or give a new folder.")
            merged = stored.replace(steps=opts.steps or stored.steps)
            if merged != stored:
                self.write_options(merged)
            return merged
        if self.path.is_dir() and any(p for p in self.path.iterdir() if p.name != STOP):
            raise InputError(f"{self.path} is not empty and holds no run. Give an empty or a new folder for the run.")
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_options(opts)
        return opts

    # ---- progress and status -------------------------------------------------------------

    def append_progress(self, record: dict[str, Any]) -> None:
        record = {"time": time.time(), **record}
        with open(self.progress_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def event(self, event: str, step: int, message: str = "", **more: Any) -> None:
        self.append_progress({"kind": "event", "event": event, "step": step, "message": message, **more})

    def write_status(self, state: str, step: int, steps: int, message: str = "") -> None:
        record = {"state": state, "step": step, "steps": steps, "pid": os.getpid(), "message": message, "updated": time.time()}
        with atomic_write(self.status_path) as tmp:
            tmp.write_text(json.dumps(record), encoding="utf-8")

    def read_status(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    def clear_stop(self) -> None:
        try:
            self.stop_path.unlink()
        except FileNotFoundError:
            pass

    def request_stop(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.stop_path.write_text("stop\n", encoding="utf-8")

    # ---- checkpoints -----------------------------------------------------------------------

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of the complete state checkpoints, oldest first."""
        if not self.checkpoints_dir.is_dir():
            return []
        found = []
        for p in self.checkpoints_dir.iterdir():
            if p.name.startswith(STATE_PREFIX) and p.suffix == ".safetensors":
                try:
                    found.append((int(p.stem[len(STATE_PREFIX):]), p))
                except ValueError:
                    continue
        return sorted(found)

    def save_state(self, step: int, state: dict[str, Any], keep: int) -> Path:
        """Write the training state of ``step`` atomically, then drop all but the newest ``keep``."""
        path = self.state_path(step)
        cleanup_stale_temps(path)
        tensors, structure = flatten_state(state)
        with atomic_write(path) as tmp:
            write_safetensors(tensors, tmp, {STATE_META_KEY: json.dumps(structure)})
        for _, old in self.checkpoints()[:-keep]:
            try:
                old.unlink()
            except OSError as exc:
                log.warning("could not remove the old checkpoint %s: %s", old, exc)
        return path

    def load_latest_state(self, on_skip: Callable[[str], None] | None = None) -> tuple[int, dict[str, Any]] | None:
        """The newest state checkpoint that loads, or None when there is none. A damaged newer file is
        skipped with a warning, also passed to ``on_skip`` (a kill -9 cannot leave one, but a disk can)."""
        for step, path in reversed(self.checkpoints()):
            try:
                return step, load_state(path)
            except CheckpointError as exc:
                message = f"{exc} It is skipped; the run resumes from an older checkpoint."
                log.warning("%s", message)
                if on_skip is not None:
                    on_skip(message)
        return None

    def samples(self) -> list[Path]:
        return sorted(self.samples_dir.glob("step_*.png")) if self.samples_dir.is_dir() else []


def _torch_version() -> str | None:
    """torch's version without importing torch."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return None


@dataclass(frozen=True)
class RunInfo:
    """A run at a glance (for a list of runs): ``state`` from status.json ("running", "stopped",
    "done", "failed", or "new" before the first start; "running" with a dead process reads
    "interrupted"), ``step`` of ``steps``, ``latest`` is the latest.safetensors path or None."""

    path: Path
    family: str
    state: str
    step: int
    steps: int | None
    message: str
    updated: float | None
    latest: Path | None
    preset: str | None = None


def run_info(path: str | os.PathLike) -> RunInfo:
    """Summarise the run in ``path`` (raises :class:`InputError` when it is not a run)."""
    rd = RunDir(path)
    opts = rd.read_options()
    status = rd.read_status() or {}
    state = status.get("state", "new")
    if state == "running" and not _alive(status.get("pid")):
        state = "interrupted"
    return RunInfo(path=rd.path, family=opts.family, state=state, step=int(status.get("step", 0)),
                   steps=status.get("steps", opts.steps), message=status.get("message", ""),
                   updated=status.get("updated"), latest=rd.latest_path if rd.latest_path.is_file() else None,
                   preset=opts.preset)


def list_runs(folder: str | os.PathLike) -> list[RunInfo]:
    """The runs directly inside ``folder``, most recently updated first (unreadable ones skipped)."""
    folder = Path(folder).expanduser()
    runs = []
    if not folder.is_dir():
        return runs
    for child in folder.iterdir():
        if (child / OPTIONS).is_file():
            try:
                runs.append(run_info(child))
            except InputError as exc:
                log.warning("skipping %s: %s", child, exc)
    return sorted(runs, key=lambda r: -(r.updated or 0.0))


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_progress(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """The records of a progress.jsonl; a partial last line (run killed mid-write) is skipped."""
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except ValueError:
                continue


# ---------------------------------------------------------------------------------------------
# the training state as safetensors + JSON structure


def write_safetensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """The one writer of state files (tests replace it to simulate a full disk)."""
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata=metadata)


def flatten_state(obj: Any) -> tuple[dict[str, torch.Tensor], Any]:
    """Split a nested state (dicts, lists, tuples, tensors, numbers, strings, None) into tensors and a
    JSON structure in which each tensor is ``{"__tensor__": key}``; tuples and dicts with non-string
    keys are tagged so they come back as they were."""
    import numpy as np
    import torch

    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = value.detach().to("cpu").contiguous().clone()
            return {"__tensor__": key}
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value):
                return {"__dict__": {k: walk(v) for k, v in value.items()}}
            return {"__items__": [[walk(k), walk(v)] for k, v in value.items()]}
        if isinstance(value, tuple):
            return {"__tuple__": [walk(v) for v in value]}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.ndarray):
            return {"__tensor__": _add_numpy(tensors, value)}
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f"cannot store a {type(value).__name__} in the training state")

    return tensors, walk(obj)


def _add_numpy(tensors: dict[str, torch.Tensor], array: Any) -> str:
    import torch

    key = f"n{len(tensors)}"
    tensors[key] = torch.from_numpy(array.copy())
    return key


def unflatten_state(tensors: dict[str, torch.Tensor], structure: Any) -> Any:
    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__tensor__" in value:
            key = value["__tensor__"]
            return tensors[key].numpy() if key.startswith("n") else tensors[key]
        if "__dict__" in value:
            return {k: walk(v) for k, v in value["__dict__"].items()}
        if "__items__" in value:
            return {walk(k): walk(v) for k, v in value["__items__"]}
        if "__tuple__" in value:
            return tuple(walk(v) for v in value["__tuple__"])
        raise CheckpointError("the training state holds an unknown entry; the file is damaged")

    return walk(structure)


def load_state(path: Path) -> dict[str, Any]:
    """Read a state checkpoint written by :meth:`RunDir.save_state` (no pickle involved)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        structure = json.loads(metadata[STATE_META_KEY])
    except Exception as exc:  # any failure to read means the file cannot be used
        raise CheckpointError(f"The training state {path.name} cannot be read ({type(exc).__name__}: {exc}).") from exc
    return unflatten_state(tensors, structure)
