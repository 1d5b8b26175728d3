"""Atomic file writing: a crash or a kill during a save never leaves a half-written file.

    with atomic_write("out.png") as tmp:     # tmp: a temporary path in the same folder
        write_something(tmp)
    # now out.png is the complete new file (fsync'd, renamed over the old one)

The new file gets the permissions a plain ``open(path, "w")`` would give it: those of the file it
replaces, or for a new file 0o666 less the user's umask (``mkstemp`` alone would leave it 0600,
readable only by its owner). If the block raises, the temporary file is removed and the previous file is untouched. A process
killed mid-save cannot remove its temporary file (``.NAME.XXXXXXXX.tmp`` next to the target);
:func:`cleanup_stale_temps` removes such leftovers before the next save of that file.
Plain Python only (no torch, no Qt).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

#: the random part tempfile.mkstemp puts between prefix and suffix (8 of [a-z0-9_])
_TEMP_RANDOM = r"[a-z0-9_]{8}"
STALE_TEMP_AGE_S = 3600


def _temp_prefix(path: Path) -> str:
    return "." + path.name + "."


def _temp_suffix() -> str:
    return ".tmp"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=_temp_suffix(), dir=str(path.parent))
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        _give_normal_mode(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(path.parent)


def _current_umask() -> int:
    """The process's umask: read from /proc on Linux (no race with other threads), else set and set back."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _give_normal_mode(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the mode of the file it will replace, or the umask's default for a new file."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_current_umask()
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)


def cleanup_stale_temps(path: str | os.PathLike, older_than_s: float = STALE_TEMP_AGE_S) -> list[Path]:
    """Remove the temporary files that killed saves of ``path`` left next to it.

    Only files named exactly like :func:`atomic_write`'s temporaries for this target
    (``.NAME.XXXXXXXX.tmp``) and last modified more than ``older_than_s`` seconds ago go (a younger
    one may belong to a save still running in another window or process). Never raises: a file that
    cannot be removed is logged and left. Returns the paths removed.
    """
    path = Path(path)
    pattern = re.compile(re.escape(_temp_prefix(path)) + _TEMP_RANDOM + re.escape(_temp_suffix()))
    cutoff = time.time() - older_than_s
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed  # no folder (yet), or not readable: nothing to clean
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_mtime > cutoff:
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("could not remove the stale temporary file %s: %s", entry.path, exc)
            continue
        log.info("removed %s, left by a save that did not finish", entry.path)
        removed.append(Path(entry.path))
    return removed


def _fsync_directory(folder: Path) -> None:
    """Make the rename durable where the platform allows it (not on Windows)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
