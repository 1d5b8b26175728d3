"""The Engine facade: the one object the GUI and the CLI talk to.

``engine.submit(request, channel)`` returns a Future at once; the worker thread runs the request.
Requests about the engine itself (load a model, a test pattern) have handlers here
(:data:`Engine.handlers`); every request about a model goes to the pipeline that the table in
:mod:`engine.pipelines` names for its (request type, model family).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import numpy as np
import torch

from engine.cache import DEFAULT_MAX_BYTES, ModelCache
from engine.device import DeviceChoice, select_device
from engine.errors import InputError
from engine import pipelines
from engine.types import (
    EngineState,
    ImageResult,
    LoadModelRequest,
    ModelRef,
    ModelSummary,
    TestPatternRequest,
    UpscaleFolderRequest,
    UpscaleRequest,
)
from engine.worker import EngineFuture, JobContext, ProgressCallback, Worker

log = logging.getLogger(__name__)

#: where an upscale model keeps its last network-interpolation blend (``LoadedModel.runtime_cache``)
BLEND_CACHE_KEY = "upscale.blend"


class Engine:
    """Owns the device, the model cache and the worker thread."""

    def __init__(self, device: str | None = None, precision: str | None = None,
                 cache_bytes: int = DEFAULT_MAX_BYTES, choice: DeviceChoice | None = None):
        self.choice = choice or select_device(device, precision)
        self.models = ModelCache(self.choice.device, cache_bytes)
        #: requests about the engine itself; everything else is a model request (engine.pipelines)
        self.handlers: dict[type, Callable[[Any, JobContext], Any]] = {
            LoadModelRequest: self._load_model,
            TestPatternRequest: self._test_pattern,
        }
        self.worker = Worker(self._handle, self.choice.device, self.choice.description)

    # ------------------------------------------------------------------ public API

    @property
    def device_description(self) -> str:
        return self.choice.description

    def submit(self, request: Any, channel: str | None = None, progress: ProgressCallback | None = None) -> EngineFuture:
        """Queue ``request``; see :class:`engine.worker.Worker`. Unknown request types fail the Future."""
        return self.worker.submit(request, channel, progress)

    def cancel(self, future) -> bool:
        return self.worker.cancel(future)

    def cancel_channel(self, channel: str) -> None:
        self.worker.cancel_channel(channel)

    def state(self) -> EngineState:
        return self.worker.state()

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self.worker.wait_idle(timeout)

    def shutdown(self, wait: bool = True) -> None:
        self.worker.shutdown(wait)
        self.models.clear()

    # ------------------------------------------------------------------ the engine thread

    def _handle(self, request: Any, ctx: JobContext) -> Any:
        handler = self.handlers.get(type(request))
        if handler is None and not _is_model_request(request):
            raise InputError(f"The engine does not know requests of type {type(request).__name__}.")
        # no_grad rather than inference_mode: models loaded here may later be fine-tuned, and
        # inference tensors cannot take part in autograd or version tracking.
        with torch.no_grad():
            if handler is not None:
                return handler(request, ctx)
            return pipelines.run(self._model_for(request), request, ctx)

    def _load_model(self, request: LoadModelRequest, ctx: JobContext) -> ModelSummary:
        ctx.progress(None, f"loading {request.model.path}")
        return self.models.get(request.model).summary()

    def _model_for(self, request: Any):
        """The model a request runs on: ``request.model`` from the cache, or for upscale requests
        with a ``blend`` its network interpolation with that second model."""
        blend = getattr(request, "blend", None)
        if isinstance(request, (UpscaleRequest, UpscaleFolderRequest)) and blend is not None:
            return self._upscale_model(request.model, blend, request.blend_alpha)
        return self.models.get(request.model)

    def _upscale_model(self, ref: ModelRef, blend: ModelRef, alpha: float):
        """``ref``'s network interpolation with ``blend``.

        The blend is built once per (blend checkpoint, alpha) and kept in the first model's
        runtime cache (only the newest one: a slider drag must not pile up copies of the weights).
        """
        from engine.pipelines import upscale

        model = self.models.get(ref)
        alpha = float(alpha)
        other = self.models.get(blend)  # may drop `model` from a full cache; this call still holds it
        key = (self.models.key(blend), alpha, str(model.device))
        cached = model.runtime_cache.get(BLEND_CACHE_KEY)
        if cached is not None and cached[0] == key:
            return cached[1]
        model.runtime_cache.pop(BLEND_CACHE_KEY, None)
        blended = upscale.interpolate_models(model, other, alpha)
        model.runtime_cache[BLEND_CACHE_KEY] = (key, blended)
        return blended

    def _test_pattern(self, request: TestPatternRequest, ctx: JobContext) -> ImageResult:
        """A colour gradient with seeded noise, computed on the engine's device."""
        if not (1 <= request.width <= 8192 and 1 <= request.height <= 8192):
            raise InputError(f"A test pattern must be 1..8192 pixels on each side, not {request.width}x{request.height}.")
        started = time.perf_counter()
        device = self.choice.device
        gen = torch.Generator(device="cpu").manual_seed(int(request.seed))
        ys = torch.linspace(0, 1, request.height, device=device)[:, None].expand(request.height, request.width)
        xs = torch.linspace(0, 1, request.width, device=device)[None, :].expand(request.height, request.width)
        image = torch.stack([xs, ys, 1 - xs * ys], dim=-1)
        steps = max(1, int(request.steps))
        for step in range(steps):
            noise = torch.rand(request.height, request.width, 3, generator=gen).to(device)
            image = 0.9 * image + 0.1 * noise
            ctx.progress((step + 1) / steps, f"test pattern {step + 1}/{steps}")
        pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
        return ImageResult(image=np.ascontiguousarray(pixels), duration_s=time.perf_counter() - started)


def _is_model_request(request: Any) -> bool:
    """Whether some row of the pipeline table answers requests of this type."""
    return bool(pipelines.families_for(type(request)))
