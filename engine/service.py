"""The Engine facade: the one object the GUI and the CLI talk to.

``engine.submit(request, channel)`` returns a Future at once; the worker thread runs the request
with the handler registered for its type in :data:`Engine.handlers` (an explicit table).
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
from engine.inpaint_types import InpaintRequest, InpaintResult
from engine.latent_types import (
    DirectionsRequest,
    DirectionsResult,
    InterpolationRequest,
    InterpolationResult,
    LatentSampleRequest,
    LatentSampleResult,
)
from engine.types import (
    EngineState,
    ImageResult,
    LoadModelRequest,
    ModelRef,
    ModelSummary,
    SynthesizeRequest,
    SynthesizeResult,
    TestPatternRequest,
    UpscaleFolderRequest,
    UpscaleFolderResult,
    UpscaleRequest,
    UpscaleResult,
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
        self.handlers: dict[type, Callable[[Any, JobContext], Any]] = {
            LoadModelRequest: self._load_model,
            TestPatternRequest: self._test_pattern,
            SynthesizeRequest: self._synthesize,
            UpscaleRequest: self._upscale,
            UpscaleFolderRequest: self._upscale_folder,
            LatentSampleRequest: self._latent_sample,
            DirectionsRequest: self._latent_directions,
            InterpolationRequest: self._latent_interpolate,
            InpaintRequest: self._inpaint,
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
        if handler is None:
            raise InputError(f"The engine does not know requests of type {type(request).__name__}.")
        # no_grad rather than inference_mode: models loaded here may later be fine-tuned, and
        # inference tensors cannot take part in autograd or version tracking.
        with torch.no_grad():
            return handler(request, ctx)

    def _load_model(self, request: LoadModelRequest, ctx: JobContext) -> ModelSummary:
        ctx.progress(None, f"loading {request.model.path}")
        return self.models.get(request.model).summary()

    def _synthesize(self, request: SynthesizeRequest, ctx: JobContext) -> SynthesizeResult:
        from engine.pipelines import label2image

        model = self.models.get(request.model)
        return label2image.synthesize(model, request, ctx)

    def _upscale(self, request: UpscaleRequest, ctx: JobContext) -> UpscaleResult:
        from engine.pipelines import upscale

        model = self._upscale_model(request.model, request.blend, request.blend_alpha)
        return upscale.upscale(model, request, ctx)

    def _upscale_folder(self, request: UpscaleFolderRequest, ctx: JobContext) -> UpscaleFolderResult:
        from engine.pipelines import upscale

        started = time.perf_counter()
        model = self._upscale_model(request.model, request.blend, request.blend_alpha)
        scale = float(request.outscale) if request.outscale else float(upscale.model_scale(model))
        written: list[tuple[str, str]] = []
        skipped: list[tuple[str, str]] = []
        for item in upscale.upscale_folder(model, request.source_dir, request.output_dir, ctx, tile=request.tile,
                                           tile_pad=request.tile_pad, outscale=request.outscale,
                                           suffix=request.suffix):
            if item.output is not None:
                written.append((str(item.source), str(item.output)))
            else:
                skipped.append((str(item.source), item.error or "skipped"))
        ctx.progress(1.0, f"{len(written)} written, {len(skipped)} skipped")
        return UpscaleFolderResult(written=tuple(written), skipped=tuple(skipped),
                                   duration_s=time.perf_counter() - started, scale=scale)

    def _upscale_model(self, ref: ModelRef, blend: ModelRef | None, alpha: float):
        """The model to upscale with: ``ref`` itself, or its network interpolation with ``blend``.

        The blend is built once per (blend checkpoint, alpha) and kept in the first model's
        runtime cache (only the newest one: a slider drag must not pile up copies of the weights).
        """
        from engine.pipelines import upscale

        model = self.models.get(ref)
        if blend is None:
            return model
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

    def _latent_sample(self, request: LatentSampleRequest, ctx: JobContext) -> LatentSampleResult:
        from engine.pipelines import latent

        return latent.sample(self.models.get(request.model), request, ctx)

    def _latent_directions(self, request: DirectionsRequest, ctx: JobContext) -> DirectionsResult:
        from engine.pipelines import latent

        return latent.principal_directions(self.models.get(request.model), request, ctx)

    def _latent_interpolate(self, request: InterpolationRequest, ctx: JobContext) -> InterpolationResult:
        from engine.pipelines import latent

        return latent.interpolate(self.models.get(request.model), request, ctx)

    def _inpaint(self, request: InpaintRequest, ctx: JobContext) -> InpaintResult:
        from engine.pipelines import inpaint

        return inpaint.inpaint(self.models.get(request.model), request, ctx)

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
