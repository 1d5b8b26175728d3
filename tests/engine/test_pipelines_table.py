"""The one dispatch table of the engine: (request type, family) -> pipeline function."""

from __future__ import annotations

import importlib

import pytest

from engine import pipelines
from engine.errors import InputError
from engine.inpaint_types import InpaintRequest
from engine.latent_types import DirectionsRequest, LatentSampleRequest
from engine.models import FAMILIES
from engine.types import UpscaleRequest


def test_every_row_names_a_function_of_a_known_family():
    for (request_type, family), target in pipelines.PIPELINES.items():
        assert family in FAMILIES, family
        module_name, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module_name), function)), target


def test_every_family_answers_some_request():
    answered = {family for (_, family) in pipelines.PIPELINES}
    assert answered == set(FAMILIES)


@pytest.mark.parametrize("request_type, family, words", [
    (UpscaleRequest, "spade", "cannot upscale"),
    (InpaintRequest, "esrgan", "cannot inpaint"),
    (LatentSampleRequest, "esrgan", "Latent explorer needs a StyleGAN2 or BigGAN"),
])
def test_a_family_that_cannot_answer_gets_a_message_for_people(request_type, family, words):
    with pytest.raises(InputError, match=words) as info:
        pipelines.pipeline_for(request_type, family, "x.pth")
    assert f"x.pth is a '{family}' model" in str(info.value)


def test_biggan_directions_go_to_the_biggan_module_which_explains():
    from engine.pipelines import latent_biggan

    assert pipelines.pipeline_for(DirectionsRequest, "biggan") is latent_biggan.principal_directions
    assert pipelines.families_for(DirectionsRequest) == ("stylegan2", "biggan")
