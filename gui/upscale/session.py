"""The Upscale workspace's state and jobs, without widgets.

:class:`UpscaleSession` keeps the upscale models loaded in this session (newest first), the
chosen model, an optional second model for network interpolation (ESRGAN's PSNR <-> GAN blend),
the output scale and tile size. :meth:`UpscaleSession.run` sends the document image
(``DocumentModel.composite()``) to the engine as an :class:`engine.types.UpscaleRequest`;
the result is kept as an :class:`UpscaleRecord` (with the exact image it came from) until the
user applies it to the document (one undoable step that swaps in the bigger image) or discards
it. :meth:`UpscaleSession.run_batch` upscales a whole folder on the engine
(:class:`engine.types.UpscaleFolderRequest`). Both report progress and can be cancelled.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.document import Document
from engine.types import ModelSummary, UpscaleFolderRequest, UpscaleFolderResult, UpscaleRequest, UpscaleResult
from gui.jobs import TrackedJob
from gui.model_session import ModelJobSession

log = logging.getLogger(__name__)

UPSCALE_CHANNEL = "upscale"
BATCH_CHANNEL = "upscale-batch"
UPSCALE_FAMILIES = ("esrgan", "srvgg", "srresnet")
#: tile edges offered (input pixels); 0 = the whole image at once
TILE_SIZES = (0, 128, 256, 512)
DEFAULT_TILE = 256
#: output scales offered besides the network's own
OUTSCALES = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)

NO_MODEL_TEXT = "Load an upscale model first: File > Open model… (ESRGAN, Real-ESRGAN, SRVGG or SRResNet)."
NO_IMAGE_TEXT = "There is no image to upscale yet. Open one first (File > Open…)."


def is_upscale_model(summary: ModelSummary) -> bool:
    return "upscale" in summary.capabilities or summary.family in UPSCALE_FAMILIES


def network_scale(summary: ModelSummary | None) -> int | None:
    """The scale factor the network itself produces (from its config), or None when unknown."""
    if summary is None:
        return None
    value = summary.config.get("scale") or summary.config.get("upscale")
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def model_label(summary: ModelSummary) -> str:
    """'RealESRGAN_x4plus.pth · ESRGAN ×4' for lists."""
    name = os.path.basename(summary.path.rstrip("/\\")) or summary.path
    scale = network_scale(summary)
    family = {"esrgan": "ESRGAN", "srvgg": "SRVGG", "srresnet": "SRResNet"}.get(summary.family, summary.family)
    return f"{name} · {family}" + (f" ×{scale}" if scale else "")


def same_architecture(a: ModelSummary, b: ModelSummary) -> bool:
    """True when the weights of ``a`` and ``b`` can be interpolated (same family and config)."""
    return a.family == b.family and dict(a.config) == dict(b.config)


@dataclass
class UpscaleRecord:
    """One upscale result and where it came from.

    ``original``: the document composite that was upscaled (HxWx4 uint8 RGBA); ``image``: the
    result (H*s x W*s x 3 or x4 uint8); ``document``: the document object it was taken from.
    """

    original: np.ndarray
    image: np.ndarray
    scale: float
    model: str
    document: Document | None
    blend: str | None = None
    blend_alpha: float = 0.0
    duration_s: float = 0.0
    tile_used: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        (h, w), (oh, ow) = self.original.shape[:2], self.image.shape[:2]
        text = f"{w}×{h} → {ow}×{oh} (×{self.scale:g}) in {self.duration_s:.1f} s"
        if self.blend:
            text += f"; blend {1 - self.blend_alpha:.2f}·{os.path.basename(self.model)} + " \
                    f"{self.blend_alpha:.2f}·{os.path.basename(self.blend)}"
        return text


class UpscaleSession(ModelJobSession):
    """Upscale the document image (or a folder) with the chosen model.

    ``bridge`` is the gui.engine_bridge.EngineBridge; ``document_model`` the gui.document.DocumentModel.
    Signals: ``models_changed()`` (the model list or selection changed); ``running_changed(bool)``;
    ``progress(object, str)`` (fraction in [0, 1] or None, message); ``result_changed(object)``
    (an :class:`UpscaleRecord`, or None); ``source_changed()`` (the document image changed);
    ``message(str)`` (a line for the user); ``batch_running_changed(bool)``;
    ``batch_progress(object, str)``; ``batch_finished(object)`` (an UpscaleFolderResult).
    """

    source_changed = Signal()
    message = Signal(str)
    batch_running_changed = Signal(bool)
    batch_progress = Signal(object, str)
    batch_finished = Signal(object)

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(bridge, document_model, parent)
        self.blend_model: ModelSummary | None = None
        self.blend_alpha = 0.5
        self.tile = DEFAULT_TILE
        self.outscale: float | None = None
        self.last: UpscaleRecord | None = None
        self.last_batch: UpscaleFolderResult | None = None
        self.batch = TrackedJob(bridge, self)
        self.batch.running_changed.connect(self.batch_running_changed)
        self.batch.progress.connect(self.batch_progress)
        self.docs.changed.connect(self.source_changed)

    # ------------------------------------------------------------------ models

    def add_model(self, summary: ModelSummary, options: dict[str, Any] | None = None) -> None:
        """A freshly loaded upscale model: remember it (newest first) and use it."""
        self._remember_model(summary, options)
        if self.blend_model is not None and (self.blend_model.path == summary.path
                                             or not same_architecture(summary, self.blend_model)):
            self.blend_model = None
        self.models_changed.emit()

    def select_model(self, path: str) -> None:
        summary = self._find(path)
        if summary is not None and summary is not self.model:
            self.model = summary
            if self.blend_model is not None and not same_architecture(summary, self.blend_model):
                self.blend_model = None
            self.models_changed.emit()

    def blend_candidates(self) -> list[ModelSummary]:
        """Loaded models whose weights can be blended with the current model's."""
        if self.model is None:
            return []
        return [m for m in self.models if m.path != self.model.path and same_architecture(m, self.model)]

    def set_blend(self, path: str | None) -> None:
        """Interpolate with the model at ``path`` (one of :meth:`blend_candidates`), or None for no blend."""
        self.blend_model = None if path is None else self._find(path)
        self.models_changed.emit()

    def set_blend_alpha(self, alpha: float) -> None:
        """Weight of the second model: 0 = only the first model, 1 = only the second."""
        self.blend_alpha = min(1.0, max(0.0, float(alpha)))

    def set_tile(self, tile: int) -> None:
        self.tile = max(0, int(tile))

    def set_outscale(self, outscale: float | None) -> None:
        """The output scale; None uses the network's own."""
        self.outscale = None if outscale is None else float(outscale)

    @property
    def effective_scale(self) -> float | None:
        return self.outscale if self.outscale is not None else network_scale(self.model)

    # ------------------------------------------------------------------ one image

    def build_request(self, image: np.ndarray) -> UpscaleRequest:
        assert self.model is not None
        if image.ndim == 3 and image.shape[2] == 4 and bool((image[:, :, 3] == 255).all()):
            image = image[:, :, :3]  # opaque: no alpha to carry
        blend = self.blend_model
        return UpscaleRequest(model=self._ref(self.model), image=np.ascontiguousarray(image), tile=self.tile,
                              tile_pad=16, outscale=self.outscale, blend=None if blend is None else self._ref(blend),
                              blend_alpha=self.blend_alpha if blend is not None else 0.0)

    def run(self) -> bool:
        """Upscale the document image. False (with a message) when there is no model or no image."""
        if self.model is None:
            self._say(NO_MODEL_TEXT)
            return False
        original = self.source_image()
        if original is None:
            self._say(NO_IMAGE_TEXT)
            return False
        request = self.build_request(original)
        document = self.docs.document
        model, blend = self.model, self.blend_model
        height, width = original.shape[:2]
        self._say(f"Upscaling {width}×{height} with {os.path.basename(model.path)}…")
        self._submit(request, UPSCALE_CHANNEL,
                     lambda result: self._on_result(original, document, model, blend, request, result),
                     "Upscale cancelled; the image is unchanged.")
        return True

    def _on_result(self, original: np.ndarray, document, model: ModelSummary, blend: ModelSummary | None,
                   request: UpscaleRequest, result: UpscaleResult) -> None:
        self.last = UpscaleRecord(
            original=original, image=result.image, scale=float(result.scale), model=model.path, document=document,
            blend=None if blend is None else blend.path, blend_alpha=request.blend_alpha,
            duration_s=float(result.duration_s), tile_used=int(result.tile_used), notes=tuple(result.notes),
        )
        self._say("Done: " + self.last.describe() + ". Compare, then Apply to put it in the document."
                          + ("".join(f" {note}" for note in result.notes)))
        self.result_changed.emit(self.last)

    # ------------------------------------------------------------------ the result

    def apply(self) -> bool:
        """Make the result the document image (one undo step). False (with a message) when it cannot."""
        record = self.last
        if record is None:
            self._say("Nothing to apply yet: run Upscale first.")
            return False
        current = self.docs.composite()
        if current is None or current.shape != record.original.shape or not np.array_equal(current, record.original):
            self._say("The image changed since it was upscaled; run Upscale again to apply the new one.")
            return False
        top = self.docs.document.top("image") if self.docs.document is not None else None
        recipe = {"tool": "upscale", "model": record.model, "scale": record.scale, "blend": record.blend,
                  "blend_alpha": record.blend_alpha, "tile": self.tile,
                  "source": dict(top.recipe) if top is not None and top.recipe else None}
        self.docs.replace_image(record.image, text=f"Upscale ×{record.scale:g}",
                                name=top.name if top is not None else "Upscaled", recipe=recipe)
        self.last = None
        self.result_changed.emit(None)
        height, width = record.image.shape[:2]
        self._say(f"Applied: the image is now {width}×{height}. Edit > Undo brings the original back.")
        return True

    # ------------------------------------------------------------------ folders

    @property
    def is_batch_running(self) -> bool:
        return self.batch.is_running

    def run_batch(self, source_dir: str, output_dir: str) -> bool:
        """Upscale every image of ``source_dir`` into ``output_dir`` (PNG, same names) on the engine."""
        if self.model is None:
            self._say(NO_MODEL_TEXT)
            return False
        source_dir, output_dir = source_dir.strip(), output_dir.strip()
        if not source_dir or not os.path.isdir(source_dir):
            self._say("Pick the folder of images to upscale.")
            return False
        if not output_dir:
            self._say("Pick a folder to write the upscaled images into.")
            return False
        if os.path.realpath(output_dir) == os.path.realpath(source_dir):
            self._say("The output folder is the input folder; choose another one so the originals are kept.")
            return False
        blend = self.blend_model
        request = UpscaleFolderRequest(
            model=self._ref(self.model), source_dir=source_dir, output_dir=output_dir, tile=self.tile, tile_pad=16,
            outscale=self.outscale, blend=None if blend is None else self._ref(blend),
            blend_alpha=self.blend_alpha if blend is not None else 0.0)
        self._say(f"Upscaling the images in {source_dir}…")
        self.batch.submit(
            request, BATCH_CHANNEL,
            on_result=lambda result: self._on_batch_result(output_dir, result),
            on_error=lambda message, _exc: self._say(message),
            on_cancel=lambda: self._say(f"Batch cancelled. Images finished before the cancel are in {output_dir}."),
        )
        return True

    def cancel_batch(self) -> None:
        self.batch.cancel()

    def _on_batch_result(self, output_dir: str, result: UpscaleFolderResult) -> None:
        self.last_batch = result
        total = len(result.written) + len(result.skipped)
        text = f"Upscaled {len(result.written)} of {total} images into {output_dir} in {result.duration_s:.1f} s."
        if result.skipped:
            text += f" {len(result.skipped)} skipped: " + "; ".join(os.path.basename(s) for s, _ in result.skipped) + "."
        self._say(text)
        self.batch_finished.emit(result)

    # ------------------------------------------------------------------ messages

    def _say(self, text: str) -> None:
        log.info("upscale: %s", text)
        self.last_message = text
        self.message.emit(text)
