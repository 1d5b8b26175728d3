"""The inpaint pipeline on tiny random-weight context encoders, on the CPU: unmasked pixels stay
bit-identical (any size, masks on the border, several regions, alpha), the content under the mask
never reaches the network, the feathered blend, region finding, progress, cancellation, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import Cancelled, InputError
from engine.inpaint_types import InpaintRequest, InpaintResult
from engine.models.loaded import LoadedModel
from engine.models import context_encoder, srvgg
from engine.pipelines.inpaint import feather_alpha, find_regions, inpaint, label_components
from engine.types import ModelRef
from engine.worker import JobContext


def _model(variant: str, seed: int = 0) -> LoadedModel:
    torch.manual_seed(seed)
    config = context_encoder.ContextEncoderConfig(resolution=32, variant=variant, base_width=8, max_width=32,
                                                  overlap=2, disc_base_width=8)
    networks = context_encoder.build_networks(config)
    for net in networks.values():
        net.eval().requires_grad_(False)
    return LoadedModel(path=f"ce-{variant}.safetensors", family="context_encoder", source_format="test",
                       config=config, networks=networks)


@pytest.fixture(scope="module", params=["full", "center"])
def model(request) -> LoadedModel:
    return _model(request.param)


@pytest.fixture(scope="module")
def full_model() -> LoadedModel:
    return _model("full")


def _image(h: int, w: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, channels)).astype(np.uint8)


def _run(model: LoadedModel, image: np.ndarray, mask: np.ndarray, feather: int = 3, ctx=None) -> InpaintResult:
    request = InpaintRequest(model=ModelRef(model.path), image=image, mask=mask, feather=feather)
    return inpaint(model, request, ctx or JobContext.detached())


def _assert_only_mask_changed(image: np.ndarray, mask: np.ndarray, result: InpaintResult) -> None:
    out = result.image
    assert out.shape == image.shape and out.dtype == image.dtype
    assert np.array_equal(out[~mask], image[~mask])  # bit-identical outside the mask
    if image.shape[2] == 4:
        assert np.array_equal(out[..., 3], image[..., 3])  # alpha untouched, masked or not


@pytest.mark.parametrize("h, w, channels", [(37, 53, 3), (5, 200, 4), (1, 1, 3), (97, 31, 4), (64, 64, 3)])
def test_unmasked_pixels_are_bit_identical_at_any_size(model, h, w, channels):
    image = _image(h, w, channels)
    rng = np.random.default_rng(1)
    mask = rng.random((h, w)) < 0.04
    mask[0, 0] = True  # a corner
    mask[-1, w // 2:] = True  # along the bottom edge
    mask[:, -1] = True  # along the right edge
    before = image.copy()
    result = _run(model, image, mask)
    _assert_only_mask_changed(image, mask, result)
    assert np.array_equal(image, before)  # the input is never written to
    assert result.regions_filled >= 1
    assert sum(r.pixels for r in result.regions) == mask.sum()


def test_several_regions_are_filled_separately(model):
    image = _image(90, 120)
    mask = np.zeros((90, 120), dtype=bool)
    mask[5:12, 5:15] = True
    mask[60:70, 90:100] = True
    mask[40:44, 2:6] = True
    events = []
    result = _run(model, image, mask, ctx=JobContext.detached(progress=events.append))
    _assert_only_mask_changed(image, mask, result)
    assert result.regions_filled == 3
    assert [r.box for r in result.regions] == [(5, 5, 7, 10), (40, 2, 4, 4), (60, 90, 10, 10)]
    messages = [e.message for e in events]
    assert "filling region 1 of 3" in messages and "filling region 3 of 3" in messages
    assert events[-1].fraction == 1.0
    assert np.abs(result.image[mask].astype(int) - image[mask]).sum() > 0  # something was filled


def test_content_under_the_mask_never_reaches_the_network(model):
    image = _image(70, 50, seed=3)
    mask = np.zeros((70, 50), dtype=bool)
    mask[20:35, 10:30] = True
    mask[60:, 40:] = True
    other = image.copy()
    other[mask] = 255 - other[mask]  # something else entirely under the mask
    a, b = _run(model, image, mask, feather=0), _run(model, other, mask, feather=0)
    assert np.array_equal(a.image, np.where(mask[..., None], b.image, image))


def test_feather_blends_from_the_original_at_the_mask_edge_only_inside_the_mask(full_model):
    image = _image(48, 48, seed=4)
    mask = np.zeros((48, 48), dtype=bool)
    mask[10:30, 12:36] = True
    hard = _run(full_model, image, mask, feather=0).image.astype(np.float32)
    soft = _run(full_model, image, mask, feather=4).image.astype(np.float32)
    alpha = feather_alpha(mask, 4)[..., None]
    expected = alpha * hard + (1 - alpha) * image
    assert np.abs(soft - expected).max() <= 1.0  # rounding only
    assert np.array_equal(soft[~mask], image[~mask].astype(np.float32))
    deep = np.zeros_like(mask)
    deep[15:25, 17:31] = True
    assert np.array_equal(soft[deep], hard[deep])  # the full fill deeper than the feather


def test_no_seam_where_the_fill_meets_the_image(model):
    """A random-weight network fills with roughly mid-grey; the seam correction must still make the
    fill run on from its surroundings (a smooth reddish gradient here)."""
    ys, xs = np.mgrid[0:64, 0:80]
    image = np.stack([180 + ys, 40 + xs // 2, 90 + 0 * xs], axis=-1).astype(np.uint8)
    mask = np.zeros((64, 80), dtype=bool)
    mask[20:40, 25:50] = True
    out = _run(model, image, mask, feather=0).image.astype(int)
    # steps across the mask border (inside pixel vs its outside neighbour), left/right/top/bottom edges
    steps = np.concatenate([
        out[20:40, 25] - out[20:40, 24], out[20:40, 49] - out[20:40, 50],
        out[20, 25:50] - out[19, 25:50], out[39, 25:50] - out[40, 25:50],
    ])
    assert np.abs(steps).mean() < 6, np.abs(steps).mean()
    assert np.abs(out[mask] - image[mask].astype(int)).mean() < 25  # and the colour carries inside


def test_feather_alpha_is_zero_outside_and_ramps_inside():
    mask = np.zeros((12, 12), dtype=bool)
    mask[2:10, 2:12] = True  # touches the right edge of the image
    alpha = feather_alpha(mask, 3)
    assert (alpha[~mask] == 0).all()
    assert alpha[5, 2] == pytest.approx(0.25) and alpha[5, 3] == pytest.approx(0.5)
    assert alpha[5, 11] == 1.0  # the image border is not a seam
    assert alpha[5, 6] == 1.0
    assert (feather_alpha(mask, 0) == mask).all()


def test_same_request_gives_the_same_pixels(model):
    image = _image(40, 40, seed=5)
    mask = np.zeros((40, 40), dtype=bool)
    mask[10:20, 15:25] = True
    assert np.array_equal(_run(model, image, mask).image, _run(model, image, mask).image)


def test_large_region_is_filled_at_reduced_resolution_with_a_note(model):
    image = _image(150, 160, seed=6)
    mask = np.zeros((150, 160), dtype=bool)
    mask[20:130, 30:140] = True
    result = _run(model, image, mask)
    _assert_only_mask_changed(image, mask, result)
    assert result.regions[0].scale < 1
    assert any("reduced resolution" in note or "% resolution" in note for note in result.notes)


def test_whole_image_masked_is_filled_with_a_note(full_model):
    image = _image(20, 24)
    mask = np.ones((20, 24), dtype=bool)
    result = _run(full_model, image, mask)
    assert result.image.shape == image.shape
    assert any("no context" in note for note in result.notes)


def test_regions_merge_when_close_and_cover_every_masked_pixel():
    mask = np.zeros((40, 60), dtype=bool)
    mask[5:10, 5:10] = True
    mask[5:10, 13:16] = True  # 3 px away: same region
    mask[30:35, 40:50] = True  # far away: its own region
    regions = find_regions(mask, merge_distance=4)
    assert len(regions) == 2
    assert regions[0].box == (5, 5, 5, 11)
    covered = np.zeros_like(mask)
    for region in regions:
        assert not (covered[region.rows, region.cols] & region.mask).any()
        covered[region.rows, region.cols] |= region.mask
    assert np.array_equal(covered, mask)


def _flood_fill_count(mask: np.ndarray) -> int:
    seen = np.zeros_like(mask)
    count = 0
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        count += 1
        stack = [start]
        seen[start] = True
        while stack:
            y, x = stack.pop()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
    return count


def test_connected_components_match_a_flood_fill():
    rng = np.random.default_rng(7)
    for _ in range(30):
        h, w = rng.integers(1, 25, size=2)
        mask = rng.random((h, w)) < rng.uniform(0.1, 0.6)
        labels, boxes = label_components(mask)
        assert len(boxes) == _flood_fill_count(mask)
        assert np.array_equal(labels > 0, mask)
        for label, (top, left, bottom, right) in enumerate(boxes, start=1):
            ys, xs = np.nonzero(labels == label)
            assert (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1) == (top, left, bottom, right)


def test_cancel_stops_between_regions_and_leaves_the_input_alone(full_model):
    image = _image(60, 60)
    before = image.copy()
    mask = np.zeros((60, 60), dtype=bool)
    mask[5:8, 5:8] = mask[40:45, 40:45] = True
    ctx = JobContext.detached()

    def cancel_on_second(event) -> None:
        if "region 2" in event.message:
            ctx.cancel()

    ctx._progress = cancel_on_second
    with pytest.raises(Cancelled):
        _run(full_model, image, mask, ctx=ctx)
    assert np.array_equal(image, before)


def test_mask_of_another_size_names_both_sizes(full_model):
    with pytest.raises(InputError, match=r"mask is 30x20 pixels but the image is 40x20"):
        _run(full_model, _image(20, 40), np.ones((20, 30), dtype=bool))


def test_empty_mask_says_there_is_nothing_to_do(full_model):
    with pytest.raises(InputError, match="nothing to inpaint: the mask is empty"):
        _run(full_model, _image(20, 20), np.zeros((20, 20), dtype=bool))


def test_model_of_another_family_is_refused_by_name():
    config = srvgg.SRVGGConfig(num_feat=4, num_conv=1, upscale=2)
    upscaler = LoadedModel(path="sr.pth", family="srvgg", source_format="test", config=config,
                           networks=srvgg.build_networks(config))
    with pytest.raises(InputError, match=r"srvgg model.*inpainting model"):
        _run(upscaler, _image(10, 10), np.ones((10, 10), dtype=bool))


@pytest.mark.parametrize("image, why", [
    (np.zeros((10, 10), np.uint8), "HxWx3"),
    (np.zeros((10, 10, 3), np.uint16), "uint8"),
])
def test_bad_images_are_refused(full_model, image, why):
    with pytest.raises(InputError, match=why):
        _run(full_model, image, np.ones((10, 10), dtype=bool))


def test_negative_feather_is_refused(full_model):
    with pytest.raises(InputError, match="feather"):
        _run(full_model, _image(10, 10), np.ones((10, 10), dtype=bool), feather=-1)


def test_request_types_import_without_torch():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, engine.inpaint_types\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'torch'], 'torch was loaded'\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
