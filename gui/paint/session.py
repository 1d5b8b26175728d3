"""The Paint workspace's state and live synthesis, without widgets.

:class:`PaintSession` edits the label layer of the open document (creating one when needed),
turns every edit into a ``SynthesizeRequest`` on the engine's ``"paint"`` channel (the newest
request wins, so painting never waits for rendering), and keeps the last result with its
recipe. Tools paint into the layer's array directly while the mouse moves; when a stroke ends
one undo command records only the changed rectangle.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine import labelsets
from engine.document import Document, Layer, resized_layer
from engine.errors import InputError
from engine.labelsets import LabelSet
from engine.types import ModelRef, ModelSummary, SynthesizeRequest, SynthesizeResult
from engine.version import APP_NAME, APP_VERSION
from gui.jobs import TrackedJob
from gui.paint import tools
from gui.document.commands import PatchCommand, ReplaceDocumentCommand

log = logging.getLogger(__name__)

TOOLS = ("brush", "line", "rect", "fill", "eraser", "picker", "instance")
PAINT_CHANNEL = "paint"
_stroke_ids = itertools.count(1)


class LabelPalette:
    """A label set as the Paint workspace shows it: names and a colour lookup by class index.

    Wraps :class:`engine.labelsets.LabelSet`; ``colorize`` never fails (values outside the set,
    e.g. from an imported map, show magenta) so the canvas can always display the work.
    """

    def __init__(self, label_set: LabelSet):
        self.label_set = label_set
        self.name = label_set.name
        self.colors = label_set.palette()
        self.names = {i: label_set.name_of(i) for i in range(len(self.colors))}
        self._lut = np.concatenate([self.colors, np.array([[255, 0, 255]], np.uint8)])

    @classmethod
    def for_model(cls, summary: ModelSummary | None) -> "LabelPalette":
        """The model's own label set, else the best guess from its ``label_nc``, else one class."""
        if summary is not None and summary.label_set:
            return cls(LabelSet.from_dict(summary.label_set))
        config = summary.config if summary is not None else {}
        label_nc = int(config.get("label_nc", 0) or 0)
        if label_nc <= 0:
            return cls(labelsets.generic(1))
        if config.get("contain_dontcare_label"):
            return cls(labelsets.generic(label_nc + 1))
        return cls(labelsets.for_label_nc(label_nc))

    def __len__(self) -> int:
        return len(self.colors)

    def colorize(self, labels: np.ndarray) -> np.ndarray:
        """HxW class indices -> HxWx3 uint8; indices outside the set show magenta."""
        index = labels.astype(np.int64)
        index[(index < 0) | (index >= len(self.colors))] = len(self.colors)
        return self._lut[index]


#: brush diameters in pixels the Size slider and the [ ] keys allow
BRUSH_SIZE_RANGE = (1, 256)


@dataclass
class BrushSettings:
    tool: str = "brush"
    size: float = 24.0
    hardness: float = 1.0
    class_index: int = 0
    eraser_class: int = 0
    instance_id: int = 1


@dataclass
class RenderRecord:
    """The last rendered image and everything needed to re-make it."""

    image: np.ndarray
    seed: int
    recipe: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    duration_s: float = 0.0


class PaintSession(QObject):
    """Label painting + live synthesis for one document.

    ``bridge`` is the gui.engine_bridge.EngineBridge; ``document_model`` the gui.document.DocumentModel.
    Signals: ``labels_changed(object)`` with the changed rect (or None = everything);
    ``rendered(object)`` with a :class:`RenderRecord`; ``render_failed(str)``;
    ``model_changed()``; ``status(str)``.
    """

    labels_changed = Signal(object)
    rendered = Signal(object)
    render_failed = Signal(str)
    model_changed = Signal()
    status = Signal(str)
    brush_size_changed = Signal(float)  # pixels, after set_brush_size (the [ and ] keys)

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.docs = document_model
        self.brush = BrushSettings()
        #: asked ``(old_hw, new_hw)`` before painted work is resampled to a new model's size; the
        #: workspace sets a question for the user (default: never resample painted work)
        self.confirm_resample: Callable[[tuple[int, int], tuple[int, int]], bool] = lambda _old, _new: False
        self.model: ModelSummary | None = None
        self.model_options: dict[str, Any] = {}
        self.palette = LabelPalette.for_model(None)
        self.seed = 0
        self.style_image: np.ndarray | None = None
        self.style_path: str | None = None
        self.live = True
        self.last: RenderRecord | None = None
        self._stroke: dict[str, Any] | None = None
        self.render_job = TrackedJob(self.bridge, self)  # the view's progress strip follows it (Cancel)
        self._render_started = 0.0
        self._checkpoint_hashes: dict[str, str] = {}
        self.docs.changed.connect(self._on_document_changed)
        self.docs.undo_stack.indexChanged.connect(self._on_history_moved)
        # full-resolution render once the user pauses (coalesced further by the engine channel)
        self._idle_timer = QTimer(self)
        self._idle_timer.setSingleShot(True)
        self._idle_timer.setInterval(30)
        self._idle_timer.timeout.connect(self.render_now)

    def _on_document_changed(self) -> None:
        self.labels_changed.emit(None)
        if self.translates_images:
            self.schedule_render()

    def _on_history_moved(self, _index: int) -> None:
        self.schedule_render()

    # ------------------------------------------------------------------ model

    def set_brush_size(self, size: float) -> None:
        """Brush diameter in pixels, clamped to :data:`BRUSH_SIZE_RANGE`; tells the panel's slider."""
        low, high = BRUSH_SIZE_RANGE
        self.brush.size = float(min(high, max(low, size)))
        self.brush_size_changed.emit(self.brush.size)

    def set_model(self, summary: ModelSummary, options: dict[str, Any] | None = None) -> None:
        """Use a loaded label-to-image model (a ModelSummary from a LoadModelRequest)."""
        self.model = summary
        self.model_options = dict(options or {})
        self.palette = LabelPalette.for_model(summary)
        self.brush.class_index = min(self.brush.class_index, len(self.palette) - 1)
        if self.translates_images:
            if not self.docs.has_image:
                self.status.emit("This model translates images: open one (File > Open…) and it renders here.")
        else:
            unchanged = not self.docs.is_modified
            created = self.label_layer() is None
            self.ensure_label_layer()
            resized = self.adapt_to_model_size()
            if unchanged and (created or resized) and not self.has_painted_work():
                self.docs.keep_unmodified()  # loading a model is not an edit of the user's work
        self.model_changed.emit()
        self.schedule_render()

    def has_painted_work(self) -> bool:
        """True when the document holds more than blank label layers (painting or images)."""
        doc = self.docs.document
        if doc is None:
            return False
        return any(layer.kind != "labels" or np.any(layer.pixels != layer.pixels.flat[0]) for layer in doc.layers)

    def adapt_to_model_size(self) -> bool:
        """Resize the document to the size the model renders at, when it differs, so renders fit it
        (and Send to new layer works). Painted work is resampled only when :attr:`confirm_resample`
        ``(old_hw, new_hw)`` says yes (labels nearest, images smoothly); one undo step. True when resized."""
        doc, size = self.docs.document, self.model_size
        if doc is None or size is None or (doc.height, doc.width) == size:
            return False
        if self.has_painted_work() and not self.confirm_resample((doc.height, doc.width), size):
            self.status.emit(f"The document stays {doc.width}×{doc.height}; this model renders {size[1]}×{size[0]}, "
                             "so renders are scaled to the document when sent to a layer.")
            return False
        height, width = size
        resized = Document(width=width, height=height, layers=[resized_layer(layer, width, height) for layer in doc.layers],
                           label_sets=dict(doc.label_sets), state=dict(doc.state), arrays=dict(doc.arrays))
        self.docs.undo_stack.push(ReplaceDocumentCommand(self.docs, resized, self.docs.path,
                                                         f"Resize to the model's {width}×{height}"))
        return True

    def model_label_count(self) -> int:
        """Classes the model paints with (label_nc, plus the don't-care class when it has one); 0 when unknown."""
        config = self.model.config if self.model is not None else {}
        label_nc = int(config.get("label_nc", 0) or 0)
        return label_nc + int(bool(config.get("contain_dontcare_label"))) if label_nc > 0 else 0

    def set_label_set(self, choice: str) -> LabelSet:
        """Name the model's classes with a shipped label set (``choice`` in
        :data:`engine.labelsets.BUILTIN_NAMES`) or a label-set JSON file (a path). The choice is kept
        as the model's ``label_set`` option (saved with documents and recipes). Raises
        :class:`engine.errors.InputError` when the file cannot be read or its class count does not
        fit the model (label_nc, or label_nc + 1 for a don't-care class); nothing changes then."""
        label_set = labelsets.builtin(choice) if choice in labelsets.BUILTIN_NAMES else LabelSet.load(choice)
        needed = self.model_label_count()
        if needed and not needed - 1 <= label_set.num_indices <= needed + 1:
            raise InputError(f"The label set {label_set.name} has {label_set.num_indices} classes, but this model "
                             f"paints with {needed}. Pick the set the model was trained with.")
        self.palette = LabelPalette(label_set)
        self.brush.class_index = min(self.brush.class_index, len(self.palette) - 1)
        self.model_options["label_set"] = choice
        layer = self.label_layer()
        if layer is not None:
            layer.label_set = self.palette.name
        self.model_changed.emit()
        self.labels_changed.emit(None)
        return label_set

    @property
    def translates_images(self) -> bool:
        """True for image-to-image models (pix2pix, CycleGAN): their input is the document image."""
        return self.model is not None and "image_to_image" in self.model.capabilities

    @property
    def model_size(self) -> tuple[int, int] | None:
        """(height, width) the model renders at, from its config, or None if it does not say."""
        if self.model is None:
            return None
        size = self.model.config.get("output_hw") or self.model.metadata.get("output_hw")
        if size:
            return int(size[0]), int(size[1])
        crop = self.model.config.get("crop_size")
        if crop:
            aspect = float(self.model.config.get("aspect_ratio", 1.0) or 1.0)
            return int(round(int(crop) / aspect)), int(crop)
        return None

    # ------------------------------------------------------------------ the label layer

    def label_layer(self) -> Layer | None:
        doc = self.docs.document
        return None if doc is None else doc.top("labels")

    def ensure_label_layer(self) -> Layer:
        """The document's top label layer, creating the document and/or the layer if needed."""
        layer = self.label_layer()
        if layer is not None:
            return layer
        height, width = self.model_size or (256, 256)
        doc = self.docs.document
        if doc is None:
            doc = Document(width=width, height=height)
        else:
            height, width = doc.height, doc.width
        layer = Layer(name="Labels", kind="labels", pixels=np.full((height, width), self.brush.eraser_class, np.int32),
                      label_set=self.palette.name)
        self.docs.add_layer(layer, text="New label layer", new_document=doc)
        return self.label_layer()

    def labels(self) -> np.ndarray:
        return self.ensure_label_layer().pixels

    def set_labels(self, labels: np.ndarray, text: str = "Replace label map") -> None:
        """Replace the whole label map (import), undoably."""
        layer = self.ensure_label_layer()
        if labels.shape != layer.pixels.shape:
            raise ValueError(f"the label map is {labels.shape[1]}x{labels.shape[0]}, the document {layer.pixels.shape[1]}x{layer.pixels.shape[0]}")
        before = layer.pixels.copy()
        layer.pixels[...] = labels
        self._push_patch(text, "pixels", before, layer.pixels, stroke_id=None)

    # ------------------------------------------------------------------ strokes

    def begin_stroke(self, x: float, y: float) -> None:
        """Mouse press at image coordinates (x, y) with the current tool."""
        if self.translates_images:
            self.status.emit("This model translates the document image; edit the image, not labels.")
            return
        layer = self.ensure_label_layer()
        tool = self.brush.tool
        if layer.locked and tool != "picker":
            self.status.emit(f"The layer '{layer.name}' is locked (Layers panel); unlock it to paint.")
            return
        if tool == "picker":
            value = tools.pick(layer.pixels, int(x), int(y))
            if value is not None:
                self.brush.class_index = int(value)
                self.status.emit(f"Picked {self.palette.names.get(int(value), value)}")
            return
        field_name = "instances" if tool == "instance" else "pixels"
        if tool == "instance" and layer.instances is None:
            layer.instances = np.zeros_like(layer.pixels)
        target = getattr(layer, field_name)
        self._stroke = {"field": field_name, "before": target.copy(), "start": (x, y), "last": (x, y), "rect": None}
        if tool == "fill":
            rect = tools.flood_fill(target, int(x), int(y), self._value())
            self._stroke["rect"] = rect
            self.end_stroke(x, y)
            return
        if tool in ("brush", "eraser", "instance"):
            self._apply_rect(tools.paint_dab(target, x, y, self.brush.size, self._value(), self.brush.hardness))

    def move_stroke(self, x: float, y: float) -> None:
        if self._stroke is None:
            return
        layer = self.label_layer()
        target = getattr(layer, self._stroke["field"])
        tool = self.brush.tool
        if tool in ("brush", "eraser", "instance"):
            lx, ly = self._stroke["last"]
            self._apply_rect(tools.paint_line(target, lx, ly, x, y, self.brush.size, self._value(),
                                              self.brush.hardness, include_start=False))
            self._stroke["last"] = (x, y)
        elif tool in ("line", "rect"):
            # preview: restore what the shape covered last time, draw it anew
            previous = self._stroke["rect"]
            if previous is not None:
                x0, y0, x1, y1 = previous
                target[y0:y1, x0:x1] = self._stroke["before"][y0:y1, x0:x1]
            sx, sy = self._stroke["start"]
            if tool == "line":
                rect = tools.paint_line(target, sx, sy, x, y, self.brush.size, self._value(), self.brush.hardness)
            else:
                rect = tools.fill_rect(target, sx, sy, x, y, self._value())
            self._stroke["rect"] = rect
            self.labels_changed.emit(tools.union(previous, rect))
            self.schedule_render(live=True)

    def end_stroke(self, x: float | None = None, y: float | None = None) -> None:
        if self._stroke is None:
            return
        stroke, self._stroke = self._stroke, None
        layer = self.label_layer()
        target = getattr(layer, stroke["field"])
        text = {"brush": "Brush stroke", "eraser": "Erase", "line": "Line", "rect": "Rectangle",
                "fill": "Fill", "instance": "Instance stroke"}.get(self.brush.tool, "Paint")
        self._push_patch(text, stroke["field"], stroke["before"], target, stroke_id=None)

    def _push_patch(self, text: str, field_name: str, before_full: np.ndarray, after_full: np.ndarray,
                    stroke_id: int | None) -> None:
        rect = tools.changed_rect(before_full, after_full)
        if rect is None:
            return
        x0, y0, x1, y1 = rect
        layer_id = self.label_layer().id
        docs = self.docs

        def target() -> np.ndarray:
            return getattr(docs.document.layer(layer_id), field_name)

        command = PatchCommand(text, target, rect, before_full[y0:y1, x0:x1].copy(), after_full[y0:y1, x0:x1].copy(),
                               notify=self._on_patch, stroke_id=stroke_id)
        self.docs.undo_stack.push(command)
        self.labels_changed.emit(rect)

    def _on_patch(self, rect) -> None:
        self.labels_changed.emit(rect)

    def _apply_rect(self, rect) -> None:
        if rect is None or self._stroke is None:
            return
        self._stroke["rect"] = tools.union(self._stroke["rect"], rect)
        self.labels_changed.emit(rect)
        self.schedule_render(live=True)

    def _value(self) -> int:
        if self.brush.tool == "eraser":
            return int(self.brush.eraser_class)
        if self.brush.tool == "instance":
            return int(self.brush.instance_id)
        return int(self.brush.class_index)

    # ------------------------------------------------------------------ into the document

    def send_to_layer(self) -> str:
        """Put the last render into the document as a new image layer on top, with its recipe
        (one undo step); returns a message. Raises EngineError when there is nothing to send."""
        from engine.document import rgb_to_rgba
        from engine.errors import EngineError

        if self.last is None:
            raise EngineError("Nothing rendered yet: paint something first.")
        doc = self.docs.document
        if doc is None:
            raise EngineError("There is no document to add the render to; paint something first.")
        name = f"Render seed {self.last.seed}"
        layer = Layer(name=name, kind="image", pixels=rgb_to_rgba(self.last.image), recipe=dict(self.last.recipe))
        scaled = layer.size != (doc.height, doc.width)
        if scaled:  # a model of another size: the render is scaled to the document
            layer = resized_layer(layer, doc.width, doc.height)
        self.docs.add_layer(layer, text=f"Send '{name}' to a new layer")
        note = f" (scaled to the document's {doc.width}×{doc.height})" if scaled else ""
        return f"Added '{name}' as a new layer{note} (with its recipe)."

    # ------------------------------------------------------------------ style

    def set_seed(self, seed: int) -> None:
        self.seed = int(seed) % (2**31)
        self.style_image = None
        self.style_path = None
        self.schedule_render()

    def set_style_image(self, image: np.ndarray | None, path: str | None = None) -> None:
        self.style_image = None if image is None else np.ascontiguousarray(image[:, :, :3])
        self.style_path = path
        self.schedule_render()

    # ------------------------------------------------------------------ rendering

    def schedule_render(self, live: bool = False) -> None:
        """Render soon: at once while painting (the channel keeps only the newest), else after a pause."""
        if self.model is None or not self.live:
            return
        if live:
            self.render_now()
        else:
            self._idle_timer.start()

    def build_request(self) -> SynthesizeRequest | None:
        if self.model is None:
            return None
        if self.translates_images:
            image = self.docs.composite()
            if image is None:
                return None
            return SynthesizeRequest(model=ModelRef(self.model.path, dict(self.model_options)),
                                     label_map=np.ascontiguousarray(image[:, :, :3]), seed=self.seed)
        if self.label_layer() is None:
            return None
        layer = self.label_layer()
        return SynthesizeRequest(
            model=ModelRef(self.model.path, dict(self.model_options)),
            label_map=layer.pixels.copy(),
            instance_map=None if layer.instances is None else layer.instances.copy(),
            style_image=self.style_image,
            seed=self.seed,
        )

    def render_now(self) -> None:
        request = self.build_request()
        if request is None:
            return
        self._render_started = time.perf_counter()
        self.render_job.submit(
            request, PAINT_CHANNEL,
            on_result=lambda result, request=request: self._on_result(request, result),
            on_error=lambda message, _exc: self.render_failed.emit(message),
            on_cancel=lambda: self.status.emit("Render cancelled; the next stroke renders again."),
        )

    def cancel_render(self) -> None:
        """Cancel the render in progress (the Cancel button over the result)."""
        self.render_job.cancel()

    def _on_result(self, request: SynthesizeRequest, result: SynthesizeResult) -> None:
        record = RenderRecord(image=result.image, seed=result.seed, recipe=self.recipe(request, result),
                              notes=tuple(result.notes), duration_s=result.duration_s)
        self.last = record
        self.rendered.emit(record)

    def recipe(self, request: SynthesizeRequest, result: SynthesizeResult) -> dict[str, Any]:
        """What made this image: enough to restore the state with Open recipe."""
        assert self.model is not None
        return {
            "app": APP_NAME,
            "app_version": APP_VERSION,
            "tool": "paint",
            "model": self.model.path,
            "model_family": self.model.family,
            "model_format": self.model.source_format,
            "model_options": dict(self.model_options),
            "checkpoint_sha256": self.checkpoint_hash(self.model.path),
            "label_set": self.palette.name,
            "seed": int(result.seed),
            "style": "image" if request.style_image is not None else "random",
            "style_path": self.style_path,
        }

    def checkpoint_hash(self, path: str) -> str:
        """sha256 of the checkpoint file (of every file, for a folder), computed once per path."""
        if path not in self._checkpoint_hashes:
            import os

            digest = hashlib.sha256()
            files = [path] if os.path.isfile(path) else sorted(
                os.path.join(root, f) for root, _d, names in os.walk(path) for f in names)
            try:
                for name in files:
                    with open(name, "rb") as handle:
                        for chunk in iter(lambda: handle.read(1 << 20), b""):
                            digest.update(chunk)
                self._checkpoint_hashes[path] = digest.hexdigest()
            except OSError:
                return "unavailable"
        return self._checkpoint_hashes[path]
