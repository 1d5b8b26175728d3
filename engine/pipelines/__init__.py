"""What a request does to a model, dispatched by one table: (request type, model family) -> handler.

:data:`PIPELINES` names the handler of every pair the engine can run, as ``"module:function"``
(imported on first use, as :data:`engine.loaders.detect.FORMAT_MODULES` does for formats), so
importing this package costs no torch. A handler is ``handler(model, request, ctx)`` with a
:class:`~engine.models.loaded.LoadedModel`, the request dataclass and a job context
(``progress``, ``check_cancelled``, ``device``); it returns the request's result dataclass.

Modules: ``paint_spade`` (+ ``paint_spade_cache``, its incremental renderer), ``paint_translate``
(pix2pixHD, pix2pix, CycleGAN), ``latent_stylegan2``, ``latent_biggan`` (+ ``latent_common``,
the seed/interpolation helpers both use), ``upscale``, ``inpaint``.

Adding a family: add its rows here (one per request type it answers); nothing else dispatches.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from engine.errors import InputError
from engine.inpaint_types import InpaintRequest
from engine.latent_types import DirectionsRequest, InterpolationRequest, LatentSampleRequest
from engine.types import SynthesizeRequest, UpscaleFolderRequest, UpscaleRequest

Handler = Callable[[Any, Any, Any], Any]

_PAINT = {
    "spade": "engine.pipelines.paint_spade:synthesize",
    "pix2pixhd": "engine.pipelines.paint_translate:synthesize",
    "pix2pix_unet": "engine.pipelines.paint_translate:synthesize",
    "cyclegan_resnet": "engine.pipelines.paint_translate:synthesize",
}
_UPSCALE_FAMILIES = ("esrgan", "srvgg", "srresnet")

#: (request type, model family) -> "module:function". Add rows when you add a family.
PIPELINES: dict[tuple[type, str], str] = {
    **{(SynthesizeRequest, family): target for family, target in _PAINT.items()},
    (LatentSampleRequest, "stylegan2"): "engine.pipelines.latent_stylegan2:sample",
    (LatentSampleRequest, "biggan"): "engine.pipelines.latent_biggan:sample",
    (InterpolationRequest, "stylegan2"): "engine.pipelines.latent_stylegan2:interpolate",
    (InterpolationRequest, "biggan"): "engine.pipelines.latent_biggan:interpolate",
    (DirectionsRequest, "stylegan2"): "engine.pipelines.latent_stylegan2:principal_directions",
    (DirectionsRequest, "biggan"): "engine.pipelines.latent_biggan:principal_directions",  # explains there is no W
    **{(UpscaleRequest, family): "engine.pipelines.upscale:upscale" for family in _UPSCALE_FAMILIES},
    **{(UpscaleFolderRequest, family): "engine.pipelines.upscale:upscale_folder_request" for family in _UPSCALE_FAMILIES},
    (InpaintRequest, "context_encoder"): "engine.pipelines.inpaint:inpaint",
}

#: what a request type asks of a model, for the message when a model's family cannot do it:
#: (what the model cannot do, which models can and where to pick one)
_REFUSALS: dict[type, tuple[str, str]] = {
    SynthesizeRequest: ("does not turn label maps into images",
                        "Pick a SPADE, pix2pixHD, pix2pix or CycleGAN model for the Paint workspace."),
    LatentSampleRequest: ("has no latent space to explore", "The Latent explorer needs a StyleGAN2 or BigGAN generator."),
    InterpolationRequest: ("has no latent space to explore", "The Latent explorer needs a StyleGAN2 or BigGAN generator."),
    DirectionsRequest: ("has no latent space to explore", "The Latent explorer needs a StyleGAN2 or BigGAN generator."),
    UpscaleRequest: ("cannot upscale", "Pick an ESRGAN, Real-ESRGAN, SRVGG or SRResNet model in the Upscale panel."),
    UpscaleFolderRequest: ("cannot upscale", "Pick an ESRGAN, Real-ESRGAN, SRVGG or SRResNet model in the Upscale panel."),
    InpaintRequest: ("cannot inpaint", "An inpainting model (a context encoder) is needed. Train one with "
                     "`python -m engine.training.context_encoder` or pick one in the Inpaint panel."),
}


def families_for(request_type: type) -> tuple[str, ...]:
    """The model families that answer requests of ``request_type``, in table order."""
    return tuple(family for (kind, family) in PIPELINES if kind is request_type)


def pipeline_for(request_type: type, family: str, model_name: str = "The model") -> Handler:
    """The handler of ``(request_type, family)``; :class:`InputError` for people when the
    family cannot answer that request (``model_name`` names the model in the message)."""
    target = PIPELINES.get((request_type, family))
    if target is None:
        cannot, advice = _REFUSALS.get(request_type, ("cannot answer this request", ""))
        raise InputError(f"{model_name} is a '{family}' model, which {cannot}. {advice}".strip())
    module_name, _, function = target.partition(":")
    return getattr(importlib.import_module(module_name), function)


def run(model: Any, request: Any, ctx: Any) -> Any:
    """Run ``request`` on ``model`` (a LoadedModel) with the handler the table names."""
    handler = pipeline_for(type(request), model.family, Path(str(model.path)).name)
    return handler(model, request, ctx)
