"""The Inpaint workspace's state and jobs, without widgets.

:class:`InpaintSession` owns three things:

* **The mask**: the document's top ``"mask"`` layer (HxW bool, True = fill this), created on
  demand as its own undo step. Mask tools (brush, eraser, rectangle, lasso) paint straight into
  the layer's array while the mouse moves; when a stroke ends one
  :class:`~gui.document.commands.PatchCommand` records only the changed rectangle. Invert, grow,
  shrink and clear are undoable patches too.
* **The models**: inpainting models loaded in this session (newest first), the chosen one and the
  feather width.
* **The run**: :meth:`InpaintSession.run` sends the document composite and the mask to the engine
  as an :class:`engine.inpaint_types.InpaintRequest`; the result is kept as an
  :class:`InpaintRecord` (with the exact image and mask it came from) until the user applies it
  (one undo step writing only the masked pixels into the top image layer, optionally clearing the
  mask) or discards it. Apply, adjust the mask, run again: several passes refine the fill.

Signals carry plain values; the widgets in :mod:`gui.inpaint.panel` and :mod:`gui.inpaint.view`
listen. Nothing here imports torch.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from engine.document import Document, Layer
from engine.inpaint_types import DEFAULT_FEATHER, FilledRegion, InpaintRequest, InpaintResult
from engine.types import ModelSummary
from gui.inpaint import masks
from gui.model_session import ModelJobSession
from gui.paint import tools
from gui.document.commands import GroupCommand, PatchCommand

log = logging.getLogger(__name__)

INPAINT_CHANNEL = "inpaint"
MASK_TOOLS = ("brush", "eraser", "rect", "lasso")
MAX_FEATHER = 64
MAX_BRUSH = 512

NO_MODEL_TEXT = ("Load an inpainting model first (a context encoder): File > Open model…, or Open… above. "
                 "Train one with `python -m engine.training.context_encoder`.")
NO_IMAGE_TEXT = "There is no image to inpaint yet. Open one first (File > Open…)."
EMPTY_MASK_TEXT = ("The mask is empty: paint over the part of the image to fill (Brush, Rectangle or Lasso), "
                   "then Fill again.")


def is_inpaint_model(summary: ModelSummary) -> bool:
    return "inpaint" in summary.capabilities


def model_label(summary: ModelSummary) -> str:
    """'ce.safetensors · context encoder 128 px (full)' for lists."""
    name = os.path.basename(summary.path.rstrip("/\\")) or summary.path
    config = summary.config
    family = summary.family.replace("_", " ")
    resolution = config.get("resolution")
    variant = config.get("variant")
    detail = (f" {resolution} px" if resolution else "") + (f" ({variant})" if variant else "")
    return f"{name} · {family}{detail}"


@dataclass
class MaskTool:
    """The mask tool and its settings. ``size``: brush diameter in image pixels."""

    tool: str = "brush"
    size: float = 32.0
    grow_by: int = 4


@dataclass
class InpaintRecord:
    """One fill and where it came from.

    ``original``: the document composite that was filled (HxWx4 uint8 RGBA); ``image``: the result
    (HxWx4 uint8, alpha = the original's); ``mask``: the mask it was filled with (HxW bool);
    ``document``: the document object it was taken from.
    """

    original: np.ndarray
    image: np.ndarray
    mask: np.ndarray
    model: str
    document: Document | None
    feather: int
    duration_s: float = 0.0
    regions: tuple[FilledRegion, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        count = len(self.regions)
        pixels = int(self.mask.sum())
        return (f"{count} region{'s' if count != 1 else ''} ({pixels:,} px) filled with "
                f"{os.path.basename(self.model)} in {self.duration_s:.2f} s")


class InpaintSession(ModelJobSession):
    """Mask editing and inpainting for one document.

    ``bridge`` is the gui.engine_bridge.EngineBridge; ``document_model`` the gui.document.DocumentModel.
    Signals: ``mask_changed(object)`` with the changed rect ``(x0, y0, x1, y1)`` or None (everything);
    ``document_changed()`` (the image or which document is open changed); ``lasso_changed(object)``
    (the lasso points while one is drawn, [] when done); ``models_changed()``; ``tool_changed(str)``;
    ``brush_size_changed(float)``;
    ``overlay_changed(bool)``; ``running_changed(bool)``; ``progress(object, str)`` (fraction in
    [0, 1] or None, message); ``result_changed(object)`` (an :class:`InpaintRecord` or None);
    ``message(str, str)`` (text, level: "info" or "error").
    """

    mask_changed = Signal(object)
    document_changed = Signal()
    lasso_changed = Signal(object)
    tool_changed = Signal(str)
    brush_size_changed = Signal(float)
    overlay_changed = Signal(bool)
    message = Signal(str, str)

    DISCARDED_TEXT = "Result discarded; the image is unchanged."

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(bridge, document_model, parent)
        self.mask_tool = MaskTool()
        self.feather = DEFAULT_FEATHER
        self.clear_mask_after_apply = False
        self.overlay_visible = True
        self.last: InpaintRecord | None = None
        self.last_level = "info"
        self._stroke: dict[str, Any] | None = None
        self._mask_edit_only = False
        self.docs.changed.connect(self._on_document_changed)

    def _announce_mask_edit(self) -> None:
        """Tell the document's other listeners (the Layers panel) that the mask changed; this
        workspace already knows from ``mask_changed`` and need not re-composite the image."""
        self._mask_edit_only = True
        try:
            self.docs.changed.emit()
        finally:
            self._mask_edit_only = False

    def _on_document_changed(self) -> None:
        if self._mask_edit_only:
            return
        if self._stroke is not None and self.mask_layer() is None:
            self._stroke = None  # the layer went away under the stroke (e.g. another document opened)
            self.lasso_changed.emit([])
        self.document_changed.emit()

    # ------------------------------------------------------------------ models

    def add_model(self, summary: ModelSummary, options: dict[str, Any] | None = None) -> None:
        """A freshly loaded inpainting model: remember it (newest first) and use it."""
        self._remember_model(summary, options)
        self.models_changed.emit()
        self._say(f"Using {model_label(summary)}. Paint a mask over what to fill, then Fill.")

    def select_model(self, path: str) -> None:
        summary = self._find(path)
        if summary is not None and summary is not self.model:
            self.model = summary
            self.models_changed.emit()

    def set_feather(self, pixels: int) -> None:
        """Width in image pixels of the band inside the mask border where the fill fades in."""
        self.feather = int(min(MAX_FEATHER, max(0, int(pixels))))

    # ------------------------------------------------------------------ mask layer

    def mask_layer(self) -> Layer | None:
        doc = self.docs.document
        return None if doc is None else doc.top("mask")

    def mask(self) -> np.ndarray | None:
        """The mask (HxW bool, the layer's own array: do not write to it), or None when there is none."""
        layer = self.mask_layer()
        return None if layer is None else layer.pixels

    def ensure_mask_layer(self) -> Layer | None:
        """The top mask layer, created (one undo step) when there is none; None without an image."""
        layer = self.mask_layer()
        if layer is not None:
            return layer
        doc = self.docs.document
        if doc is None or not self.docs.has_image:
            self._say(NO_IMAGE_TEXT)
            return None
        layer = Layer(name="Mask", kind="mask", pixels=np.zeros((doc.height, doc.width), bool))
        self.docs.add_layer(layer, text="New mask layer")
        return self.mask_layer()

    def _editable_mask_layer(self) -> Layer | None:
        layer = self.ensure_mask_layer()
        if layer is not None and layer.locked:
            self._say(f"The layer '{layer.name}' is locked (Layers panel); unlock it to edit the mask.", "error")
            return None
        return layer

    def set_tool(self, tool: str) -> None:
        if tool not in MASK_TOOLS:
            raise ValueError(f"mask tool must be one of {MASK_TOOLS}, not {tool!r}")
        self.mask_tool.tool = tool
        self.tool_changed.emit(tool)

    def set_brush_size(self, size: float) -> None:
        self.mask_tool.size = float(min(MAX_BRUSH, max(1.0, size)))
        self.brush_size_changed.emit(self.mask_tool.size)

    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay_visible = bool(visible)
        self.overlay_changed.emit(self.overlay_visible)

    # ------------------------------------------------------------------ strokes

    @property
    def stroking(self) -> bool:
        return self._stroke is not None

    def begin_stroke(self, x: float, y: float, subtract: bool = False) -> None:
        """Mouse press at image coordinates (x, y). ``subtract`` (right button): the tool removes
        from the mask instead (the eraser adds)."""
        layer = self._editable_mask_layer()
        if layer is None:
            return
        tool = self.mask_tool.tool
        value = (tool == "eraser") == subtract  # eraser removes; subtract flips it
        self._stroke = {"layer": layer.id, "tool": tool, "value": value, "before": layer.pixels.copy(),
                        "start": (x, y), "last": (x, y), "rect": None, "points": [(x, y)]}
        if tool in ("brush", "eraser"):
            self._touched(tools.paint_dab(layer.pixels, x, y, self.mask_tool.size, value))
        elif tool == "lasso":
            self.lasso_changed.emit(list(self._stroke["points"]))

    def move_stroke(self, x: float, y: float) -> None:
        stroke = self._stroke
        if stroke is None:
            return
        target = self.mask_layer().pixels
        tool, value = stroke["tool"], stroke["value"]
        if tool in ("brush", "eraser"):
            lx, ly = stroke["last"]
            self._touched(tools.paint_line(target, lx, ly, x, y, self.mask_tool.size, value, include_start=False))
            stroke["last"] = (x, y)
        elif tool == "rect":
            previous = stroke["rect"]
            if previous is not None:  # preview: put back what the rectangle covered, draw it anew
                x0, y0, x1, y1 = previous
                target[y0:y1, x0:x1] = stroke["before"][y0:y1, x0:x1]
            sx, sy = stroke["start"]
            height, width = target.shape
            cx, cy = min(max(x, 0.0), width - 1.0), min(max(y, 0.0), height - 1.0)
            rect = tools.fill_rect(target, min(max(sx, 0.0), width - 1.0), min(max(sy, 0.0), height - 1.0),
                                   cx, cy, value)
            stroke["rect"] = rect
            self.mask_changed.emit(tools.union(previous, rect))
        elif tool == "lasso":
            lx, ly = stroke["points"][-1]
            if abs(x - lx) + abs(y - ly) >= 1.0:
                stroke["points"].append((x, y))
                self.lasso_changed.emit(list(stroke["points"]))

    def end_stroke(self, x: float | None = None, y: float | None = None) -> None:
        """Mouse release: finish the stroke as one undo step (nothing when nothing changed)."""
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return
        layer = self.mask_layer()
        if stroke["tool"] == "lasso":
            points = stroke["points"] + ([(x, y)] if x is not None and y is not None else [])
            self.lasso_changed.emit([])
            if layer is not None:
                self._touched(tools.fill_polygon(layer.pixels, points, stroke["value"]))
        if layer is None or layer.id != stroke["layer"]:
            return
        text = {"brush": "Mask brush", "eraser": "Mask eraser", "rect": "Mask rectangle",
                "lasso": "Mask lasso"}[stroke["tool"]]
        if not stroke["value"] and stroke["tool"] != "eraser":
            text = text.replace("Mask", "Unmask")
        self._push_mask_patch(text, stroke["before"], layer.pixels)

    def cancel_stroke(self) -> None:
        """Abandon the stroke in progress (Escape): the mask is as it was before it."""
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return
        self.lasso_changed.emit([])
        layer = self.mask_layer()
        if layer is not None and layer.id == stroke["layer"]:
            layer.pixels[...] = stroke["before"]
            self.mask_changed.emit(None)

    def _touched(self, rect) -> None:
        if rect is not None:
            if self._stroke is not None:
                self._stroke["rect"] = tools.union(self._stroke["rect"], rect)
            self.mask_changed.emit(rect)

    # ------------------------------------------------------------------ whole-mask operations

    def invert_mask(self) -> bool:
        layer = self._editable_mask_layer()
        if layer is None:
            return False
        return self._replace_mask(layer, masks.invert(layer.pixels), "Invert mask")

    def clear_mask(self) -> bool:
        layer = self.mask_layer()
        if layer is None or not layer.pixels.any():
            self._say("The mask is already empty.")
            return False
        if self._editable_mask_layer() is None:
            return False
        return self._replace_mask(layer, np.zeros_like(layer.pixels), "Clear mask")

    def grow_mask(self, pixels: int | None = None) -> bool:
        return self._morph(masks.grow, "Grow", pixels)

    def shrink_mask(self, pixels: int | None = None) -> bool:
        return self._morph(masks.shrink, "Shrink", pixels)

    def _morph(self, operation: Callable[[np.ndarray, int], np.ndarray], verb: str, pixels: int | None) -> bool:
        radius = int(self.mask_tool.grow_by if pixels is None else pixels)
        layer = self.mask_layer()
        if layer is None or not layer.pixels.any():
            self._say(f"Nothing to {verb.lower()}: the mask is empty.")
            return False
        if self._editable_mask_layer() is None:
            return False
        radius = min(masks.MAX_RADIUS, max(0, radius))
        return self._replace_mask(layer, operation(layer.pixels, radius), f"{verb} mask by {radius} px")

    def _replace_mask(self, layer: Layer, new: np.ndarray, text: str) -> bool:
        before = layer.pixels.copy()
        layer.pixels[...] = new
        if not self._push_mask_patch(text, before, layer.pixels):
            return False
        self.mask_changed.emit(None)
        return True

    def _push_mask_patch(self, text: str, before_full: np.ndarray, after_full: np.ndarray) -> bool:
        command = self._patch_command(text, self.mask_layer().id, before_full, after_full, self._mask_patched)
        if command is None:
            return False
        self.docs.undo_stack.push(command)
        self.mask_changed.emit(command.rect)
        self._announce_mask_edit()  # the mask is document content (the Layers panel shows it)
        return True

    def _patch_command(self, text: str, layer_id: str, before_full: np.ndarray, after_full: np.ndarray,
                       notify: Callable) -> PatchCommand | None:
        rect = tools.changed_rect(before_full, after_full)
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        docs = self.docs

        def target() -> np.ndarray:
            return docs.document.layer(layer_id).pixels

        return PatchCommand(text, target, rect, before_full[y0:y1, x0:x1].copy(), after_full[y0:y1, x0:x1].copy(),
                            notify=notify)

    def _mask_patched(self, rect) -> None:
        """Undo/redo of a mask patch."""
        self.mask_changed.emit(rect)
        self._announce_mask_edit()

    def _image_patched(self, _rect) -> None:
        """Undo/redo of an applied fill."""
        self.docs.changed.emit()

    # ------------------------------------------------------------------ run

    def build_request(self, image: np.ndarray, mask: np.ndarray) -> InpaintRequest:
        assert self.model is not None
        if image.shape[2] == 4 and bool((image[:, :, 3] == 255).all()):
            image = image[:, :, :3]  # opaque: no alpha to carry
        return InpaintRequest(model=self._ref(self.model),
                              image=np.ascontiguousarray(image), mask=mask.copy(), feather=int(self.feather))

    def run(self) -> bool:
        """Fill the masked pixels of the document image. False (with a message) when there is no
        model, no image or an empty mask; nothing is submitted then."""
        if self.model is None:
            self._say(NO_MODEL_TEXT, "error")
            return False
        original = self.source_image()
        if original is None:
            self._say(NO_IMAGE_TEXT, "error")
            return False
        mask = self.mask()
        if mask is None or not mask.any():
            self._say(EMPTY_MASK_TEXT, "error")
            return False
        request = self.build_request(original, mask)
        document, model = self.docs.document, self.model
        self._say(f"Filling {int(mask.sum()):,} masked pixels with {os.path.basename(model.path)}…")
        self._submit(request, INPAINT_CHANNEL,
                     lambda result: self._on_result(original, document, request, result),
                     "Fill cancelled; the image is unchanged.", "error")
        return True

    def _on_result(self, original: np.ndarray, document, request: InpaintRequest, result: InpaintResult) -> None:
        image = result.image
        if image.shape[2] == 3:
            image = np.concatenate([image, original[:, :, 3:4]], axis=2)
        self.last = InpaintRecord(original=original, image=image, mask=request.mask, model=request.model.path,
                                  document=document, feather=int(request.feather),
                                  duration_s=float(result.duration_s), regions=tuple(result.regions),
                                  notes=tuple(result.notes))
        text = "Done: " + self.last.describe() + ". Compare, then Apply to put it in the image."
        self._say(text + "".join(f" {note}" for note in result.notes))
        self.result_changed.emit(self.last)

    # ------------------------------------------------------------------ the result

    def target_layer(self) -> Layer | None:
        """The image layer a fill goes into: the top visible image layer."""
        doc = self.docs.document
        if doc is None:
            return None
        return next((layer for layer in reversed(doc.layers) if layer.kind == "image" and layer.visible), None)

    def apply(self) -> bool:
        """Write the fill into the top image layer — only the masked pixels — as one undo step
        (which also clears the mask when :attr:`clear_mask_after_apply`). False (with a message)
        when it cannot."""
        record = self.last
        if record is None:
            self._say("Nothing to apply yet: Fill first.")
            return False
        current = self.source_image()
        if (record.document is not self.docs.document or current is None or current.shape != record.original.shape
                or not np.array_equal(current, record.original)):
            self._say("The image changed since this fill was made; Fill again to apply to the new image.", "error")
            return False
        layer = self.target_layer()
        if layer is None:
            self._say("There is no visible image layer to put the fill into; show one in the Layers panel.", "error")
            return False
        if layer.locked:
            self._say(f"The layer '{layer.name}' is locked (Layers panel); unlock it to apply the fill.", "error")
            return False
        filled = layer.pixels.copy()
        filled[record.mask] = record.image[record.mask]
        parts: list[QUndoCommand] = []
        image_patch = self._patch_command("Apply fill", layer.id, layer.pixels, filled, self._image_patched)
        if image_patch is not None:
            x0, y0, x1, y1 = image_patch.rect
            layer.pixels[y0:y1, x0:x1] = filled[y0:y1, x0:x1]
            parts.append(image_patch)
        mask_layer = self.mask_layer()
        if self.clear_mask_after_apply and mask_layer is not None and mask_layer.pixels.any() and not mask_layer.locked:
            cleared = np.zeros_like(mask_layer.pixels)
            mask_patch = self._patch_command("Clear mask", mask_layer.id, mask_layer.pixels, cleared, self._mask_patched)
            if mask_patch is not None:
                mask_layer.pixels[...] = cleared
                parts.append(mask_patch)
        if parts:
            self.docs.undo_stack.push(GroupCommand("Inpaint fill", parts))
        self.last = None
        self.result_changed.emit(None)
        self.mask_changed.emit(None)
        self.docs.changed.emit()
        if image_patch is None:
            self._say("The fill is identical to the image; nothing changed.")
        else:
            self._say("Applied. Adjust the mask and Fill again to refine; Edit > Undo takes it back.")
        return True

    # ------------------------------------------------------------------ messages

    def _say(self, text: str, level: str = "info") -> None:
        log.info("inpaint: %s", text)
        self.last_message, self.last_level = text, level
        self.message.emit(text, level)
