"""The upscale pipeline: tiling, odd sizes, alpha/gray/16-bit, progress, cancellation, OOM fallback,
network interpolation and folder batches — on tiny random models, on the CPU."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from engine.memstats import peak_rss, reset_peak_rss
from engine.errors import Cancelled, CheckpointError, DeviceError, InputError
from engine.imageio import read_image, write_png
from engine.models.loaded import LoadedModel
from engine.models import esrgan, srvgg
from engine.pipelines.upscale import interpolate_models, upscale, upscale_folder, upscale_image
from engine.types import ModelRef, UpscaleRequest
from engine.worker import JobContext


def _model(family: str, config, seed: int = 0) -> LoadedModel:
    torch.manual_seed(seed)
    module = {"srvgg": srvgg, "esrgan": esrgan}[family]
    networks = module.build_networks(config)
    for net in networks.values():
        net.eval().requires_grad_(False)
    return LoadedModel(path=f"{family}-{seed}.pth", family=family, source_format="test", config=config, networks=networks)


@pytest.fixture(scope="module")
def vgg() -> LoadedModel:
    """x2, receptive field of 4 input pixels: tiles with 8 pixels of context are exact."""
    return _model("srvgg", srvgg.SRVGGConfig(num_feat=8, num_conv=2, upscale=2, act_type="prelu"))


@pytest.fixture(scope="module")
def rrdb_x2() -> LoadedModel:
    """x2 by pixel-unshuffle: inputs must be even, the pipeline pads them."""
    return _model("esrgan", esrgan.RRDBNetConfig(scale=2, num_feat=8, num_block=1, num_grow_ch=4))


def _image(h: int, w: int, channels: int | None = 3, dtype=np.uint8, seed: int = 1) -> np.ndarray:
    """A smooth random image (like a photo, unlike noise)."""
    rng = np.random.default_rng(seed)
    small = rng.random((max(2, h // 4), max(2, w // 4), channels or 1))
    ys = np.linspace(0, small.shape[0] - 1, h)
    xs = np.linspace(0, small.shape[1] - 1, w)
    values = small[np.round(ys).astype(int)][:, np.round(xs).astype(int)] * 0.7 + rng.random((h, w, channels or 1)) * 0.3
    top = 65535 if dtype == np.uint16 else 255
    image = np.round(values * top).astype(dtype)
    return image[..., 0] if channels is None else image


def _ctx(events: list | None = None) -> JobContext:
    return JobContext.detached(progress=events.append if events is not None else None)


def test_tiled_equals_untiled_in_the_interior(vgg: LoadedModel, rrdb_x2: LoadedModel):
    image = _image(45, 37)
    for model, pad in ((vgg, 8), (rrdb_x2, 16)):
        whole, tile_used, _ = upscale_image(model, image, _ctx(), tile=0)
        tiled, tile_used, _ = upscale_image(model, image, _ctx(), tile=16, tile_pad=pad)
        assert tile_used == 16 and tiled.shape == whole.shape == (90, 74, 3)
        diff = np.abs(tiled.astype(int) - whole.astype(int))
        assert diff.max() <= 1, f"{model.family}: seams differ by {diff.max()}/255"
    # the check can fail: without context the seams show
    seamy, _, _ = upscale_image(rrdb_x2, image, _ctx(), tile=16, tile_pad=0)
    assert np.abs(seamy.astype(int) - whole.astype(int)).max() > 1


@pytest.mark.parametrize("h,w", [(1, 1), (1, 7), (13, 1), (5, 3), (33, 17)])
def test_odd_sizes(rrdb_x2: LoadedModel, vgg: LoadedModel, h: int, w: int):
    for model in (rrdb_x2, vgg):
        out, _, _ = upscale_image(model, _image(h, w), _ctx(), tile=8, tile_pad=4)
        assert out.shape == (2 * h, 2 * w, 3) and out.dtype == np.uint8


def test_request_level_result(vgg: LoadedModel):
    request = UpscaleRequest(model=ModelRef("vgg.pth"), image=_image(20, 30), tile=16, tile_pad=8, outscale=3)
    result = upscale(vgg, request, _ctx())
    assert result.image.shape == (60, 90, 3) and result.scale == 3.0 and result.tile_used == 16
    assert any("Lanczos" in note for note in result.notes)


def test_rgba_alpha_is_upscaled_separately(vgg: LoadedModel):
    rgb = _image(24, 20)
    alpha = np.full((24, 20, 1), 200, np.uint8)
    alpha[:, 10:] = 0
    out, _, _ = upscale_image(vgg, np.concatenate([rgb, alpha], axis=2), _ctx(), tile=16, tile_pad=8)
    plain, _, _ = upscale_image(vgg, rgb, _ctx(), tile=16, tile_pad=8)
    assert out.shape == (48, 40, 4)
    np.testing.assert_array_equal(out[..., :3], plain)  # alpha does not leak into colour
    assert (out[:, :16, 3] == 200).all() and (out[:, 24:, 3] == 0).all()


def test_gray_in_gray_out(vgg: LoadedModel):
    gray = _image(18, 22, channels=None)
    out, _, _ = upscale_image(vgg, gray, _ctx(), tile=0)
    assert out.shape == (36, 44) and out.dtype == np.uint8
    rgb, _, _ = upscale_image(vgg, np.repeat(gray[..., None], 3, axis=2), _ctx(), tile=0)
    luma = rgb.astype(float) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(out - luma).max() <= 1.0


def test_uint16_stays_uint16_at_full_precision(vgg: LoadedModel):
    image16 = _image(16, 16, dtype=np.uint16)
    out16, _, _ = upscale_image(vgg, image16, _ctx(), tile=0)
    assert out16.dtype == np.uint16 and out16.shape == (32, 32, 3)
    out8, _, _ = upscale_image(vgg, (image16 // 257).astype(np.uint8), _ctx(), tile=0)
    assert np.abs(out16 / 257.0 - out8).max() <= 2
    assert len(np.unique(out16 % 257)) > 10  # not 8-bit values stretched


def test_progress_per_tile_and_cancellation(vgg: LoadedModel):
    events: list = []
    upscale_image(vgg, _image(40, 40), _ctx(events), tile=16, tile_pad=4)
    tile_events = [e for e in events if e.message.startswith("tile")]
    assert len(tile_events) == 9  # 3x3 tiles of 16 cover 40x40; tiles lying only in the padding are skipped
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0

    ctx = JobContext.detached()
    calls = []

    def cancel_after_first(event):
        calls.append(event)
        ctx.cancel()

    ctx._progress = cancel_after_first
    with pytest.raises(Cancelled):
        upscale_image(vgg, _image(40, 40), ctx, tile=16, tile_pad=4)
    assert len(calls) == 1


class _SmallMemoryNet(nn.Module):
    """Raises the device's out-of-memory error for inputs larger than ``limit`` pixels per side."""

    def __init__(self, inner: nn.Module, limit: int, error: type = torch.OutOfMemoryError):
        super().__init__()
        self.inner, self.limit, self.error, self.sizes = inner, limit, error, []

    def forward(self, x):
        self.sizes.append(tuple(x.shape[-2:]))
        if max(x.shape[-2:]) > self.limit:
            raise self.error("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(x)


@pytest.mark.parametrize("error", [torch.OutOfMemoryError, RuntimeError])
def test_out_of_memory_retries_with_smaller_tiles(vgg: LoadedModel, error: type):
    image = _image(70, 50)
    expected, _, _ = upscale_image(vgg, image, _ctx(), tile=0)
    wrapped = LoadedModel(path="small.pth", family="srvgg", source_format="test", config=vgg.config,
                          networks={"G": _SmallMemoryNet(vgg.networks["G"], limit=60, error=error)})
    out, tile_used, notes = upscale_image(wrapped, image, _ctx(), tile=128, tile_pad=8)
    assert tile_used == 32  # 128 -> 64 (+16 context = 80 > 60) -> 32
    assert any("Out of memory" in n for n in notes)
    np.testing.assert_array_equal(out, expected)

    hopeless = LoadedModel(path="tiny.pth", family="srvgg", source_format="test", config=vgg.config,
                           networks={"G": _SmallMemoryNet(vgg.networks["G"], limit=4)})
    with pytest.raises(DeviceError, match="Out of memory"):
        upscale_image(hopeless, image, _ctx(), tile=64, tile_pad=8)


def test_other_runtime_errors_are_not_swallowed(vgg: LoadedModel):
    broken = LoadedModel(path="b.pth", family="srvgg", source_format="test", config=vgg.config,
                         networks={"G": _SmallMemoryNet(vgg.networks["G"], limit=0, error=lambda m: RuntimeError("shape mismatch"))})
    with pytest.raises(RuntimeError, match="shape mismatch"):
        upscale_image(broken, _image(10, 10), _ctx(), tile=0)


def test_bad_inputs_are_input_errors(vgg: LoadedModel):
    with pytest.raises(InputError):
        upscale_image(vgg, np.zeros((4, 4, 2), np.uint8), _ctx())
    with pytest.raises(InputError):
        upscale_image(vgg, np.zeros((4, 4, 3), np.float32), _ctx())


def test_network_interpolation(vgg: LoadedModel):
    other = _model("srvgg", vgg.config, seed=5)
    x = torch.rand(1, 3, 9, 9)
    for alpha, reference in ((0.0, vgg), (1.0, other)):
        blended = interpolate_models(vgg, other, alpha)
        assert torch.allclose(blended.networks["G"](x), reference.networks["G"](x), atol=1e-6)
    half = interpolate_models(vgg, other, 0.5)
    key = "body.0.weight"
    expected = (vgg.networks["G"].state_dict()[key] + other.networks["G"].state_dict()[key]) / 2
    assert torch.allclose(half.networks["G"].state_dict()[key], expected)
    bigger = _model("srvgg", srvgg.SRVGGConfig(num_feat=8, num_conv=3, upscale=2))
    with pytest.raises(CheckpointError, match="num_conv"):
        interpolate_models(vgg, bigger, 0.5)
    with pytest.raises(InputError):
        interpolate_models(vgg, other, 1.5)


def test_folder_batch_skips_unreadable_files(vgg: LoadedModel, tmp_path: Path):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    write_png(source / "a.png", _image(12, 10))
    write_png(source / "b.png", _image(8, 9, channels=4))
    (source / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (source / "notes.txt").write_text("not an image")
    events: list = []
    items = list(upscale_folder(vgg, source, target, _ctx(events), tile=8, tile_pad=4))
    assert [i.source.name for i in items] == ["a.png", "b.png", "broken.png"]
    assert items[2].output is None and "broken.png" in items[2].error
    assert read_image(items[0].output).shape == (24, 20, 3)
    assert read_image(items[1].output).shape == (16, 18, 4)
    assert events[-1].fraction == pytest.approx(2 / 3)


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc peak-RSS reset")
def test_peak_memory_does_not_grow_with_the_image(vgg: LoadedModel):
    """Peak process memory beyond the input and output arrays is bounded by the tile, not the image."""

    def extra(size: int, tile: int) -> int:
        image = _image(size, size)
        gc.collect()
        if not reset_peak_rss():
            pytest.skip("cannot reset the peak RSS")
        base = peak_rss()
        out, _, _ = upscale_image(vgg, image, _ctx(), tile=tile, tile_pad=8)
        return peak_rss() - base - out.nbytes

    extra(64, 64)  # warm up allocator and kernels
    small, large = extra(160, 128), extra(480, 128)
    whole = extra(720, 0)
    # 9x the pixels: the tiled run's extra memory stays put; the control (a whole-image run, made
    # big enough that its growth stands well above allocator noise) shows the measurement sees growth
    assert large - small < 8 * 2**20, (small, large)
    assert whole - large > 20 * 2**20, (large, whole)


@pytest.mark.parametrize("config", [
    esrgan.RRDBNetConfig(scale=4, num_feat=8, num_block=1, num_grow_ch=4),
    esrgan.RRDBNetConfig(scale=2, num_feat=8, num_block=1, num_grow_ch=4),
])
def test_rrdbnet_tail_in_strips_equals_the_whole_tail(config):
    """The high-resolution tail run on strips of feature rows (with its halo) is the plain forward."""
    torch.manual_seed(0)
    net = esrgan.RRDBNet(config).eval()
    x = torch.rand(1, 3, 28, 20)
    with torch.inference_mode():
        whole = net(x)
        for rows in (1, 3, 7):
            net.tail_strip_rows = rows
            assert (net(x) - whole).abs().max().item() < 1e-4
    del net.tail_strip_rows
    assert "tail_strip_rows" not in net.state_dict()


def test_memory_budget_plans_strips_and_tiles_without_changing_the_image():
    model = _model("esrgan", esrgan.RRDBNetConfig(scale=4, num_feat=8, num_block=1, num_grow_ch=4))
    image = _image(40, 36)
    plain, _, _ = upscale_image(model, image, _ctx(), tile=0, tile_pad=0, memory_budget_mb=0)
    # a budget that fits the body but only a few tail rows: strips, same tile (whole image), same pixels
    lean, tile_used, notes = upscale_image(model, image, _ctx(), tile=0, tile_pad=0, memory_budget_mb=1)
    assert tile_used == 0 and not notes
    np.testing.assert_array_equal(lean, plain)
    assert not hasattr(model.networks["G"], "tail_strip_rows") or model.networks["G"].tail_strip_rows == 0
    from engine.pipelines.upscale import plan_memory
    net = model.networks["G"]
    tile, rows, _ = plan_memory(net, 0, 0, 1, (40, 36))
    assert tile == 0 and 1 <= rows < 40 // net.unshuffle
    # a huge tile under a small budget is cut down, with a note
    tile, rows, notes = plan_memory(net, 4096, 8, 8, (5000, 5000))
    assert 32 <= tile < 4096 and notes and rows >= 1
