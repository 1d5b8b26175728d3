"""Start a training run as its own process (a crash of the run never takes the app down).

    from engine.training.launcher import start
    proc = start(run_dir, resume=False, nproc=1)   # the run directory must be prepared (options.json)
    proc.poll()        # None while running, else the exit status (see engine.training.run)
    proc.stop()        # writes RUN_DIR/STOP: the run saves a final checkpoint and exits
    proc.wait(60)

``nproc > 1`` starts ``python -m torch.distributed.run --standalone --nproc-per-node N`` (torchrun)
on this machine; every process runs ``engine.training.run`` and rank 0 writes the files. The
process's stdout and stderr go to ``RUN_DIR/run.log``. It is started in its own session, so a
Ctrl-C in the terminal that started the app does not reach it: stop it with :meth:`RunProcess.stop`
(or the STOP file, or SIGTERM). The GUI watches the run directory's files, nothing else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from engine.errors import InputError
from engine.training.rundir import RunDir

LOG_NAME = "run.log"
DEFAULT_ENTRY: tuple[str, ...] = ("-m", "engine.training.run")


def command(run_dir: str | os.PathLike, *, resume: bool = False, nproc: int = 1, threads: int | None = None,
            entry: Sequence[str] = DEFAULT_ENTRY) -> list[str]:
    """The command line that runs ``run_dir``; ``entry`` is what python runs (a module or a script)."""
    if nproc < 1:
        raise InputError(f"--nproc must be at least 1 (got {nproc}).")
    args = [str(run_dir)] + (["--resume"] if resume else []) + ([f"--threads={threads}"] if threads else [])
    if nproc == 1:
        return [sys.executable, *entry, *args]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *entry, *args]


@dataclass
class RunProcess:
    """A started run: its directory and process."""

    run_dir: Path
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.run_dir / LOG_NAME

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        """Ask the run to stop after its current step, with a final checkpoint."""
        RunDir(self.run_dir).request_stop()

    def terminate(self) -> None:
        """SIGTERM: also a clean stop with a final checkpoint (torchrun passes it to its workers)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)


def start(run_dir: str | os.PathLike, *, resume: bool = False, nproc: int = 1, threads: int | None = None,
          entry: Sequence[str] | None = None, env: dict[str, str] | None = None) -> RunProcess:
    """Start the prepared run in ``run_dir`` as a subprocess (see the module docstring)."""
    rd = RunDir(run_dir)
    if not rd.exists():
        raise InputError(f"{rd.path} is not a prepared run (no options.json); create it first (RunDir.prepare).")
    cmd = command(rd.path, resume=resume, nproc=nproc, threads=threads, entry=DEFAULT_ENTRY if entry is None else entry)
    full_env = dict(os.environ if env is None else env)
    root = str(Path(__file__).resolve().parents[2])
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (root, full_env.get("PYTHONPATH", "")) if p)
    log_file = open(rd.path / LOG_NAME, "ab")
    try:
        detach: dict = ({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if os.name == "nt"
                        else {"start_new_session": True})
        process = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=full_env, cwd=root, **detach)
    finally:
        log_file.close()
    return RunProcess(rd.path, process)
