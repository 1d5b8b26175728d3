"""Upscale requests through the real Engine: network interpolation (blend) and folder batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.errors import CheckpointError, InputError
from engine.imageio import read_image, write_png
from engine.models import esrgan, srvgg
from engine.service import BLEND_CACHE_KEY, Engine
from engine.types import ModelRef, UpscaleFolderRequest, UpscaleFolderResult, UpscaleRequest
from tests.helpers import save_tiny_model

CONFIG = srvgg.SRVGGConfig(num_feat=4, num_conv=1, upscale=2)


def _save(path: Path, seed: int, family: str = "srvgg", config=CONFIG) -> ModelRef:
    return ModelRef(str(save_tiny_model(path, family, config, seed)))


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sr")
    return _save(folder / "psnr.safetensors", 0), _save(folder / "gan.safetensors", 1)


@pytest.fixture(scope="module")
def engine():
    engine = Engine(device="cpu")
    yield engine
    engine.shutdown()


def _image(h=7, w=9, seed=3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)


def _run(engine: Engine, request):
    return engine.submit(request).result(timeout=60)


def test_blend_alpha_0_and_1_are_the_two_models_and_the_blend_is_cached(engine, refs):
    a, b = refs
    image = _image()
    only_a = _run(engine, UpscaleRequest(a, image, tile=0)).image
    only_b = _run(engine, UpscaleRequest(b, image, tile=0)).image
    assert not np.array_equal(only_a, only_b)  # the check below can fail
    assert np.array_equal(_run(engine, UpscaleRequest(a, image, tile=0, blend=b, blend_alpha=0.0)).image, only_a)
    assert np.array_equal(_run(engine, UpscaleRequest(a, image, tile=0, blend=b, blend_alpha=1.0)).image, only_b)
    half = _run(engine, UpscaleRequest(a, image, tile=0, blend=b, blend_alpha=0.5)).image
    assert not np.array_equal(half, only_a) and not np.array_equal(half, only_b)

    model_a = engine.models.get(a)
    cached = model_a.runtime_cache[BLEND_CACHE_KEY]
    assert cached[0][1] == 0.5
    again = _run(engine, UpscaleRequest(a, image, tile=0, blend=b, blend_alpha=0.5)).image
    assert np.array_equal(again, half) and model_a.runtime_cache[BLEND_CACHE_KEY] is cached  # reused, not rebuilt


def test_blend_of_different_architectures_is_a_clear_error(engine, refs, tmp_path):
    other = _save(tmp_path / "rrdb.safetensors", 0, "esrgan", esrgan.RRDBNetConfig(scale=2, num_feat=4, num_block=1,
                                                                                    num_grow_ch=2))
    with pytest.raises(CheckpointError, match="cannot be interpolated"):
        _run(engine, UpscaleRequest(refs[0], _image(), blend=other, blend_alpha=0.5))


def test_folder_request_writes_readable_images_and_reports_the_rest(engine, refs, tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    write_png(source / "a.png", _image(5, 6))
    write_png(source / "c.png", _image(4, 4, seed=5))
    (source / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    events = []
    future = engine.submit(UpscaleFolderRequest(refs[0], str(source), str(target), tile=0, blend=refs[1],
                                                blend_alpha=1.0), progress=events.append)
    result = future.result(timeout=60)
    assert isinstance(result, UpscaleFolderResult) and result.scale == 2
    assert [Path(s).name for s, _ in result.written] == ["a.png", "c.png"]
    assert [Path(s).name for s, _ in result.skipped] == ["broken.png"] and "broken.png" in result.skipped[0][1]
    assert read_image(target / "a.png").shape == (10, 12, 3)
    # blended with alpha 1 = the second model
    assert np.array_equal(read_image(target / "a.png"), _run(engine, UpscaleRequest(refs[1], _image(5, 6), tile=0)).image)
    assert events and events[-1].fraction == 1.0


def test_folder_request_never_overwrites_a_source_image(engine, refs, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    from PIL import Image

    Image.fromarray(_image(4, 4)).save(source / "a.jpg")
    png = write_png(source / "a.png", _image(4, 4, seed=9)).read_bytes()
    with pytest.raises(InputError, match="overwrite a source image"):
        _run(engine, UpscaleFolderRequest(refs[0], str(source), str(source)))
    assert (source / "a.png").read_bytes() == png and len(list(source.iterdir())) == 2

    # two sources with the same name: the second is skipped, not written over the first's output
    result = _run(engine, UpscaleFolderRequest(refs[0], str(source), str(tmp_path / "out")))
    assert [Path(s).name for s, _ in result.written] == ["a.jpg"]
    assert [Path(s).name for s, _ in result.skipped] == ["a.png"] and "rename" in result.skipped[0][1]
