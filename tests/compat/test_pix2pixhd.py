"""Official NVIDIA/pix2pixHD checkpoints load through load_model and reproduce the official outputs.

Fixture sets: ``<compat>/pix2pixhd/<set>/`` with ``latest_net_G.pth`` (+ ``latest_net_E.pth``),
``config.json`` (official options) and ``cases.npz`` (inputs, intermediate arrays, eval outputs).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import CheckpointError, MissingOptionError
from engine.loaders import load_model, native
from engine.models.pix2pixhd import instance_edges, one_hot_labels
from engine.pipelines.paint_translate import pix2pixhd_inputs, synthesize
from engine.types import ModelRef, SynthesizeRequest
from engine.worker import JobContext
from tests.helpers import family_dir, fixture_sets, load_cases

FAMILY = "pix2pixhd"
SETS = fixture_sets(FAMILY)
ATOL = 1e-4
#: the options a user passes for a pix2pixHD model: what the weights cannot tell
USER_OPTIONS = ("label_nc", "no_instance", "instance_feat", "label_feat")
#: every official option in config.json that loaders understand (checked against the weights)
ALL_OPTIONS = USER_OPTIONS + ("netG", "ngf", "n_downsample_global", "n_blocks_global", "n_local_enhancers",
                              "n_blocks_local", "norm", "feat_num", "nef", "n_downsample_E", "input_nc", "output_nc")


def _config(path: Path) -> dict:
    return json.loads((path / "config.json").read_text())


def _options(config: dict, names=USER_OPTIONS) -> dict:
    return {k: config[k] for k in names if k in config}


def _max_diff(a: torch.Tensor | np.ndarray, b: np.ndarray) -> float:
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a
    assert a.shape == b.shape, f"shape {a.shape} vs expected {b.shape}"
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def _label_or_image(model, case: dict) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(label ids, input image) of a case: a label map, or for label_nc=0 models the image the
    official code feeds instead (case array ``label``, float in [-1, 1])."""
    if model.config.label_nc > 0:
        return torch.from_numpy(case["label"]), None
    return None, torch.from_numpy(case["label"]).float()


def _feature_ids(config: dict, labels, instances):
    return instances if config["instance_feat"] else labels


@pytest.fixture(scope="module")
def loaded():
    """Each fixture set loaded once with the user options of its config.json."""
    return {path.name: load_model(path / "latest_net_G.pth", _options(_config(path))) for path in SETS}


def test_fixture_family_present():
    family_dir(FAMILY)  # skips when the family folder is absent
    assert SETS, "the pix2pixhd fixture folder holds no set with a config.json"


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_config_inferred_from_weights(path, loaded):
    config = _config(path)
    model = loaded[path.name]
    assert model.family == "pix2pixhd" and model.source_format == "pix2pixhd-official"
    c = model.config
    for key in ("netG", "label_nc", "no_instance", "ngf", "n_downsample_global", "n_blocks_global", "norm",
                "instance_feat", "label_feat", "output_nc"):
        assert getattr(c, key) == config[key], key
    if config["netG"] == "local":
        assert (c.n_local_enhancers, c.n_blocks_local) == (config["n_local_enhancers"], config["n_blocks_local"])
    if config["label_nc"] == 0:
        assert c.input_nc == config["input_nc"]
    if config["instance_feat"] or config["label_feat"]:
        assert "E" in model.networks  # picked up from the sibling file
        assert (c.feat_num, c.nef, c.n_downsample_E) == (config["feat_num"], config["nef"], config["n_downsample_E"])
    assert c.generator_input_nc == config["netG_input_nc_derived"]
    # all official options together agree with the weights, and give the same model
    again = load_model(path / "latest_net_G.pth", _options(config, ALL_OPTIONS))
    assert again.config == c


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_preprocessing_matches_official(path, loaded):
    """One-hot + instance edges (+ per-instance encoder features) computed by our code."""
    config = _config(path)
    model = loaded[path.name]
    for name, case in load_cases(path, "_").items():
        labels, image = _label_or_image(model, case)
        instances = torch.from_numpy(case["instance"]) if "instance" in case else None
        encoded = one_hot_labels(labels, model.config.label_nc) if labels is not None else image
        if instances is not None and "instance_edge" in case:
            assert _max_diff(instance_edges(instances), case["instance_edge"]) == 0.0, name
        if instances is not None and not model.config.no_instance:
            encoded = torch.cat([encoded, instance_edges(instances)], 1)
        if "label_onehot" in case:
            assert _max_diff(encoded, case["label_onehot"]) == 0.0, name
        if "E" in model.networks:
            encoder = model.networks["E"]
            real = torch.from_numpy(case["real_image"])
            ids = _feature_ids(config, labels, instances)
            with torch.no_grad():
                assert _max_diff(encoder.raw_features(real), case["feat_map_raw"]) <= ATOL, name
                assert _max_diff(encoder(real, ids), case["feat_map"]) <= ATOL, name


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_outputs_match_official(path, loaded):
    config = _config(path)
    model = loaded[path.name]
    checked = 0
    for name, case in load_cases(path, "_").items():
        labels, image = _label_or_image(model, case)
        instances = torch.from_numpy(case["instance"]) if "instance" in case else None
        with torch.no_grad():
            if model.config.use_features:
                ids = _feature_ids(config, labels, instances)
                features = model.networks["E"](torch.from_numpy(case["real_image"]), ids)
                x = pix2pixhd_inputs(model.config, labels, instances, features, image)
                assert _max_diff(model.networks["G"](x), case["fake_image_encoded"]) <= ATOL, name
                given = torch.from_numpy(case["feat_map_given"])
                x = pix2pixhd_inputs(model.config, labels, instances, given, image)
                assert _max_diff(model.networks["G"](x), case["fake_image_given_feat"]) <= ATOL, name
                checked += 2
            else:
                x = pix2pixhd_inputs(model.config, labels, instances, None, image)
                assert _max_diff(model.networks["G"](x), case["fake_image"]) <= ATOL, name
                checked += 1
    assert checked >= 2


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [-1, 1] on 8-bit levels -> HxWxC uint8 (HxW for one channel)."""
    pixels = np.round((image.transpose(1, 2, 0) + 1) * 127.5).clip(0, 255).astype(np.uint8)
    return pixels[..., 0] if pixels.shape[2] == 1 else pixels


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_paint_pipeline_matches_official(path, loaded):
    """The Paint pipeline (label map + instance map + style image as uint8) gives the official image."""
    model = loaded[path.name]
    case = load_cases(path, "_")["case1"]
    style = _to_uint8(case["real_image"][0]) if "real_image" in case else None
    if style is not None:
        assert np.allclose((style.astype(np.float32) / 255 - 0.5) / 0.5, case["real_image"][0].transpose(1, 2, 0), atol=1e-6)
    # the Paint input: a label map of ids, or for label_nc=0 models the input image as uint8
    label_map = case["label"][0, 0].astype(np.int32) if model.config.label_nc > 0 else _to_uint8(case["label"][0])
    request = SynthesizeRequest(
        model=ModelRef(str(path / "latest_net_G.pth")),
        label_map=label_map,
        instance_map=case["instance"][0, 0].astype(np.int32) if "instance" in case else None,
        style_image=style,
    )
    result = synthesize(model, request, JobContext.detached())
    expected = case["fake_image_encoded"] if model.config.use_features else case["fake_image"]
    expected = _to_uint8(expected[0])
    expected = np.repeat(expected[..., None], 3, axis=2) if expected.ndim == 2 else expected  # grey comes back as RGB
    diff = np.abs(result.image.astype(int) - expected.astype(int))
    assert result.image.shape == label_map.shape[:2] + (3,)
    assert diff.max() <= 1
    assert not any("resized" in note for note in result.notes)


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_native_round_trip(path, loaded, tmp_path):
    model = loaded[path.name]
    saved = native.save(model, tmp_path / "model.safetensors")
    again = load_model(saved)
    assert again.family == "pix2pixhd" and again.config == model.config
    assert sorted(again.networks) == sorted(model.networks)
    assert again.label_set == model.label_set
    case = load_cases(path, "_")["case0"]
    labels, image = _label_or_image(model, case)
    instances = torch.from_numpy(case["instance"]) if "instance" in case else None
    with torch.no_grad():
        features = None
        if model.config.use_features:
            features = torch.from_numpy(case["feat_map_given"])
            real = torch.from_numpy(case["real_image"])
            ids = _feature_ids(_config(path), labels, instances)
            assert torch.equal(model.networks["E"](real, ids), again.networks["E"](real, ids))
        x = pix2pixhd_inputs(model.config, labels, instances, features, image)
        assert torch.equal(model.networks["G"](x), again.networks["G"](x))


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_truncated_file_is_a_checkpoint_error(path, tmp_path):
    data = (path / "latest_net_G.pth").read_bytes()
    broken = tmp_path / "latest_net_G.pth"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(broken, _options(_config(path)))


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_missing_label_nc_is_named(path, tmp_path):
    """Without options the split of the input channels into classes/edges/features is unknown."""
    config = _config(path)
    features = config["feat_num"] if (config["instance_feat"] or config["label_feat"]) else 0
    if config["netG_input_nc_derived"] - features == 36:
        pytest.skip("36 input channels: the official default layout (label_nc=35 + edges) is assumed, rightly")
    shutil.copy(path / "latest_net_G.pth", tmp_path / "latest_net_G.pth")
    if (path / "latest_net_E.pth").exists():
        shutil.copy(path / "latest_net_E.pth", tmp_path / "latest_net_E.pth")
    with pytest.raises(MissingOptionError) as info:
        load_model(tmp_path / "latest_net_G.pth")
    assert info.value.option == "label_nc"
    assert "label_nc" in str(info.value)


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_options_that_contradict_the_weights_are_refused(path):
    config = _config(path)
    with pytest.raises(CheckpointError, match="ngf"):
        load_model(path / "latest_net_G.pth", {**_options(config), "ngf": config["ngf"] * 2})
    with pytest.raises(CheckpointError, match="label_nc"):
        load_model(path / "latest_net_G.pth", {**_options(config), "label_nc": config["label_nc"] + 5})


@pytest.mark.parametrize("path", [p for p in SETS if (p / "latest_net_E.pth").exists()], ids=lambda p: p.name)
def test_opening_the_encoder_file_loads_the_generator(path):
    model = load_model(path / "latest_net_E.pth", _options(_config(path)))
    assert sorted(model.networks) == ["E", "G"]
    assert any("feature encoder" in note for note in model.notes)
