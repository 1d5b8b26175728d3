"""Start a prepared training run as its own process, without torch in the app.

``python -m engine.training.run RUN_DIR [--resume] [--threads N]`` runs in a new session (a crash
of the run never takes the app down, and the run goes on when the app closes; the Train workspace
finds it again in the runs folder). Its stdout and stderr are appended to ``RUN_DIR/run.log``.
The app watches the run directory's files; it stops a run with the STOP file
(:func:`engine.training.runfiles.request_stop`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import engine.training.runfiles as runfiles

log = logging.getLogger(__name__)

#: where the ``engine`` package lives (the run process imports it from there)
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def default_threads() -> int:
    """CPU threads for a run: all cores but one, so the app (painting, exploring) stays responsive."""
    return max(1, (os.cpu_count() or 2) - 1)


def run_command(run_dir: str | os.PathLike, *, resume: bool = False, threads: int | None = None) -> list[str]:
    """The command line of the run process (the training core's entry, :mod:`engine.training.run`)."""
    args = [sys.executable, "-m", "engine.training.run", str(run_dir)]
    if resume:
        args.append("--resume")
    if threads:
        args.append(f"--threads={int(threads)}")
    return args


def start_run_process(run_dir: str | os.PathLike, *, resume: bool = False, threads: int | None = None) -> subprocess.Popen:
    """Start the run in ``run_dir`` (it must hold options.json); returns the process (poll it to reap it)."""
    path = Path(run_dir)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("QT_QPA_PLATFORM", None)
    kwargs: dict = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True
    command = run_command(path, resume=resume, threads=threads)
    log.info("starting the run %s: %s", path, " ".join(command))
    with open(path / runfiles.LOG, "ab") as log_file:
        return subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=str(PACKAGE_ROOT), **kwargs)


def log_tail(run_dir: str | os.PathLike, lines: int = 6, max_bytes: int = 8192) -> str:
    """The last ``lines`` lines of the run's run.log (what it printed before it ended)."""
    try:
        with open(Path(run_dir) / runfiles.LOG, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - max_bytes))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
