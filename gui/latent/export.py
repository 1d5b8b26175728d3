"""Render a list of latent frames on the engine and write them as an animated PNG or numbered PNGs.

:class:`FrameExport` submits one frame at a time on the ``latent.export`` channel (the live
``latent`` channel keeps rendering meanwhile: the engine serves channels round-robin), reports
progress, and can be cancelled between frames (the running frame is cancelled too). Files are
written on a helper thread, so a long animation never freezes the window; an animated PNG is
written to a temporary file and renamed into place only when complete.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import tempfile
from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal

from engine.version import APP_NAME, APP_VERSION
from gui.jobs import TrackedJob

log = logging.getLogger(__name__)

EXPORT_CHANNEL = "latent.export"
FORMATS = {"apng": "Animated PNG", "sequence": "Numbered PNG frames"}


def frame_path(path: str, index: int) -> str:
    """``out.png`` -> ``out_0001.png`` (1-based, 4 digits)."""
    root, ext = os.path.splitext(path)
    return f"{root}_{index + 1:04d}{ext or '.png'}"


def write_apng(path: str, frames: Sequence[np.ndarray], fps: float, text: dict[str, str] | None = None) -> None:
    """Write ``frames`` (HxWx3 uint8) as a looping animated PNG, atomically."""
    from PIL import Image, PngImagePlugin

    images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            images[0].save(handle, format="PNG", save_all=True, append_images=images[1:],
                           duration=int(round(1000.0 / max(0.1, fps))), loop=0, pnginfo=info,
                           default_image=False, disposal=0, blend=0)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class FrameExport(QObject):
    """One export job. Signals (main thread): ``progress(done, total)``, ``finished(message)``,
    ``failed(message)``, ``cancelled(message)``. Call :meth:`start` once."""

    progress = Signal(int, int)
    finished = Signal(str)
    failed = Signal(str)
    cancelled = Signal(str)
    _written = Signal(object)  # from the writer thread: (kind, payload)

    def __init__(self, bridge, requests: Sequence[Any], path: str, fmt: str = "apng", fps: float = 12.0,
                 recipe: dict[str, Any] | None = None, parent: QObject | None = None):
        super().__init__(parent)
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {list(FORMATS)}")
        self.bridge = bridge
        self.requests = list(requests)
        self.path = path
        self.format = fmt
        self.fps = float(fps)
        self.recipe = dict(recipe or {})
        self.frames: list[np.ndarray] = []
        self.written_paths: list[str] = []
        self.done = False
        self._rendered = 0
        self._job = TrackedJob(bridge, self)  # the frame being rendered
        self._cancel_requested = False
        self._writer = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="latent-export")
        self._written.connect(self._on_written, Qt.ConnectionType.QueuedConnection)

    @property
    def total(self) -> int:
        return len(self.requests)

    def start(self) -> None:
        self.progress.emit(0, self.total)
        self._submit_next()

    def cancel(self) -> None:
        """Stop after (and without) the frame being rendered; numbered frames already written stay."""
        if self.done or self._cancel_requested:
            return
        if not self._job.is_running and self._rendered >= self.total:
            return  # every frame is rendered; the file is being written
        self._cancel_requested = True
        self._job.cancel()  # between frames there is none; the next step sees the flag

    def _cancel_message(self) -> str:
        if self.format == "sequence" and self.written_paths:
            return (f"Export cancelled after {len(self.written_paths)} of {self.total} frames; "
                    f"the frames written so far are in {os.path.dirname(self.path) or '.'}.")
        return "Export cancelled; nothing was written."

    def _submit_next(self) -> None:
        if self.done:
            return
        if self._cancel_requested:
            self._writer.submit(lambda: None).add_done_callback(
                lambda _f: self._emit_written(("cancelled", None)))
            return
        index = self._rendered
        if index >= self.total:
            self._writer.submit(self._write_all).add_done_callback(self._after_write_all)
            return
        self._job.submit(self.requests[index], EXPORT_CHANNEL, on_result=self._on_frame, on_error=self._on_error,
                         on_cancel=self._on_cancel)

    def _on_frame(self, result) -> None:
        if self.done:
            return
        image = np.ascontiguousarray(result.image)
        index = self._rendered
        self._rendered += 1
        if self.format == "apng":
            self.frames.append(image)
        if self.format == "sequence":
            target = frame_path(self.path, index)
            self._writer.submit(self._write_frame, target, image).add_done_callback(
                lambda f, target=target: self._emit_written(("frame", (target, f.exception()))))
        self.progress.emit(index + 1, self.total)
        self._submit_next()

    def _on_error(self, message: str, _exc: BaseException) -> None:
        self._finish("failed", f"Rendering frame {self._rendered + 1} failed: {message}")

    def _on_cancel(self) -> None:
        self._cancel_requested = True
        if self.done:
            return
        self._writer.submit(lambda: None).add_done_callback(lambda _f: self._emit_written(("cancelled", None)))

    # ------------------------------------------------------------------ writer thread

    def _text(self) -> dict[str, str]:
        recipe = dict(self.recipe, app=APP_NAME, app_version=APP_VERSION, frames=self.total, fps=self.fps)
        return {"gan_studio_recipe": json.dumps(recipe), "Software": f"{APP_NAME} {APP_VERSION}"}

    def _write_frame(self, target: str, image: np.ndarray) -> None:
        from engine.imageio import write_png

        write_png(target, image, self._text())

    def _write_all(self) -> None:
        if self.format == "apng":
            write_apng(self.path, self.frames, self.fps, self._text())

    def _after_write_all(self, future: concurrent.futures.Future) -> None:
        error = future.exception()
        self._emit_written(("all", error))

    def _emit_written(self, payload) -> None:
        try:
            self._written.emit(payload)
        except RuntimeError:  # the exporter is gone (window closed)
            pass

    # ------------------------------------------------------------------ main thread

    def _on_written(self, payload) -> None:
        kind, value = payload
        if self.done:
            return
        if kind == "frame":
            target, error = value
            if error is not None:
                self._cancel_requested = True
                self._finish("failed", f"Could not write {target}: {getattr(error, 'strerror', None) or error}")
            else:
                self.written_paths.append(target)
        elif kind == "cancelled":
            self._finish("cancelled", self._cancel_message())
        elif kind == "all":
            if value is not None:
                self._finish("failed", f"Could not write {self.path}: {getattr(value, 'strerror', None) or value}")
            elif self.format == "apng":
                self._finish("finished", f"Wrote {os.path.basename(self.path)}: {self.total} frames at {self.fps:g} fps.")
            else:
                self._finish("finished", f"Wrote {self.total} frames: {os.path.basename(frame_path(self.path, 0))} … "
                                         f"{os.path.basename(frame_path(self.path, self.total - 1))}.")

    def _finish(self, outcome: str, message: str) -> None:
        if self.done:
            return
        self.done = True
        self.frames = []
        self._job.abandon()  # e.g. a frame could not be written: stop rendering too
        self._writer.shutdown(wait=False)
        log.info("latent export %s: %s", outcome, message)
        getattr(self, outcome).emit(message)
