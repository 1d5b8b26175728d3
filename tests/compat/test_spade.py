"""Official NVlabs/SPADE checkpoints load through load_model and reproduce the official outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import CheckpointError, MissingOptionError
from engine.loaders import load_model
from engine.loaders import native
from engine.pipelines.paint_spade import modulation_cache, semantic_codes, semantic_onehot
from tests.helpers import fixture_sets

SETS = fixture_sets("spade")
ATOL = 1e-5
#: the official option names a user would pass (from the set's opt.txt); nothing shape-specific
USER_OPTIONS = ("label_nc", "contain_dontcare_label", "no_instance", "num_upsampling_layers",
                "crop_size", "aspect_ratio", "norm_G", "use_vae", "z_dim", "ngf")

pytestmark = pytest.mark.skipif(not SETS, reason="no SPADE fixtures")


def _options(folder: Path) -> dict:
    config = json.loads((folder / "config.json").read_text())
    return {name: config[name] for name in USER_OPTIONS if name in config}


@pytest.fixture(scope="module", params=SETS, ids=[p.name for p in SETS])
def fixture_set(request):
    folder = request.param
    model = load_model(folder / "latest_net_G.pth", _options(folder))
    with np.load(folder / "cases.npz", allow_pickle=False) as data:
        cases = {k: data[k] for k in data.files}
    return folder, model, cases


def _max_diff(a: torch.Tensor, b: np.ndarray) -> float:
    return float(np.abs(a.detach().cpu().numpy() - b).max())


def test_config_matches_the_training_options(fixture_set):
    folder, model, _ = fixture_set
    config = json.loads((folder / "config.json").read_text())
    assert model.family == "spade" and model.source_format == "spade-official"
    assert model.config.semantic_nc == config["semantic_nc"]
    assert model.config.ngf == config["ngf"]
    assert model.config.use_vae == config["use_vae"]
    assert list(model.config.output_size) == config["derived"]["output_hw"]
    assert model.config.latent_size == (config["derived"]["sh"], config["derived"]["sw"])
    assert ("E" in model.networks) == config["use_vae"]


def test_generator_matches_official_outputs(fixture_set):
    _, model, cases = fixture_set
    g = model.networks["G"]
    seg = torch.from_numpy(cases["label_onehot"])
    with torch.inference_mode():
        if "fake_image" in cases:
            assert _max_diff(g(seg), cases["fake_image"]) <= ATOL
        if "z_encoded" in cases:
            assert _max_diff(g(seg, torch.from_numpy(cases["z_encoded"])), cases["fake_image_vae"]) <= ATOL
        if "z_random" in cases:
            assert _max_diff(g(seg, torch.from_numpy(cases["z_random"])), cases["fake_image_random_z"]) <= ATOL


def test_encoder_matches_official_outputs(fixture_set):
    _, model, cases = fixture_set
    if "mu" not in cases:
        pytest.skip("no encoder in this set")
    with torch.inference_mode():
        mu, logvar = model.networks["E"](torch.from_numpy(cases["style_image"]))
    assert _max_diff(mu, cases["mu"]) <= ATOL
    assert _max_diff(logvar, cases["logvar"]) <= ATOL
    z = torch.from_numpy(cases["eps"]) * torch.exp(0.5 * logvar) + mu
    assert _max_diff(z, cases["z_encoded"]) <= ATOL


def test_preprocessing_from_raw_maps_matches_official(fixture_set):
    _, model, cases = fixture_set
    config = model.config
    for i in range(cases["label"].shape[0]):
        label = cases["label"][i, 0].copy()
        if config.contain_dontcare_label:
            label[label == config.label_nc] = 255  # the raw value the dataset stores
        instance = cases["instance"][i, 0] if "instance" in cases else None
        onehot = semantic_onehot(label, instance, config)
        np.testing.assert_array_equal(onehot.numpy()[0], cases["label_onehot"][i])
        if instance is not None:
            np.testing.assert_array_equal(onehot.numpy()[0, -1], cases["instance_edge"][i, 0])


def test_cached_renderer_matches_official_outputs(fixture_set):
    _, model, cases = fixture_set
    cache = modulation_cache(model)
    key = "fake_image_random_z" if "z_random" in cases else "fake_image"
    for i in range(cases["label"].shape[0]):
        instance = cases["instance"][i, 0] if "instance" in cases else None
        codes, _ = semantic_codes(cases["label"][i, 0], instance, model.config)
        z = torch.from_numpy(cases["z_random"][i:i + 1]) if "z_random" in cases else None
        out = cache.render(torch.from_numpy(codes), z, model.config.output_size)
        assert _max_diff(out[0], cases[key][i]) <= ATOL


def test_native_round_trip_gives_identical_outputs(fixture_set, tmp_path):
    _, model, cases = fixture_set
    path = native.save(model, tmp_path / "spade.safetensors")
    again = load_model(path)
    assert again.family == "spade" and again.config == model.config
    assert sorted(again.networks) == sorted(model.networks)
    seg = torch.from_numpy(cases["label_onehot"])
    z = torch.from_numpy(cases["z_random"]) if "z_random" in cases else None
    with torch.inference_mode():
        assert torch.equal(model.networks["G"](seg, z), again.networks["G"](seg, z))
        if "E" in model.networks:
            style = torch.from_numpy(cases["style_image"])
            assert all(torch.equal(a, b) for a, b in zip(model.networks["E"](style), again.networks["E"](style)))


@pytest.mark.parametrize("folder", SETS, ids=[p.name for p in SETS])
def test_missing_label_nc_is_named(folder, tmp_path):
    from engine.loaders.spade_official import RELEASED_LAYOUTS

    semantic_nc = json.loads((folder / "config.json").read_text())["semantic_nc"]
    if semantic_nc in RELEASED_LAYOUTS:
        pytest.skip(f"{semantic_nc} input channels: the released {RELEASED_LAYOUTS[semantic_nc][0]} layout is assumed, rightly")
    copy = tmp_path / "latest_net_G.pth"
    shutil.copy(folder / "latest_net_G.pth", copy)
    with pytest.raises(MissingOptionError) as info:
        load_model(copy, {})
    assert info.value.option == "label_nc"
    assert "label_nc" in str(info.value)


@pytest.mark.parametrize("folder", SETS, ids=[p.name for p in SETS])
def test_options_that_contradict_the_weights_are_refused(folder):
    options = _options(folder)
    with pytest.raises(CheckpointError, match="label_nc"):
        load_model(folder / "latest_net_G.pth", {**options, "label_nc": options["label_nc"] + 5})
    with pytest.raises(CheckpointError, match="ngf"):
        load_model(folder / "latest_net_G.pth", {**options, "ngf": options["ngf"] * 2})


def test_vae_size_options_are_inferred_or_asked_for(tmp_path):
    vae = [p for p in SETS if _options(p).get("use_vae")]
    if not vae:
        pytest.skip("no VAE set")
    folder = vae[0]
    options = _options(folder)
    # crop_size alone (with aspect_ratio) fixes the upsampling count of a VAE generator
    partial = {k: v for k, v in options.items() if k != "num_upsampling_layers"}
    model = load_model(folder / "latest_net_G.pth", partial)
    assert model.config.num_upsampling_layers == options["num_upsampling_layers"]
    # wrong size options are caught by the fc width
    with pytest.raises(CheckpointError, match="crop_size"):
        load_model(folder / "latest_net_G.pth", {**options, "crop_size": options["crop_size"] * 2})


def test_missing_encoder_is_noted(tmp_path):
    vae = [p for p in SETS if _options(p).get("use_vae")]
    if not vae:
        pytest.skip("no VAE set")
    shutil.copy(vae[0] / "latest_net_G.pth", tmp_path / "latest_net_G.pth")
    model = load_model(tmp_path / "latest_net_G.pth", _options(vae[0]))
    assert "E" not in model.networks
    assert any("random" in note for note in model.notes)


def test_other_family_is_refused_clearly(tmp_path):
    path = tmp_path / "latest_net_G.pth"
    torch.save({"model.1.weight": torch.zeros(64, 3, 7, 7), "model.1.bias": torch.zeros(64)}, path)
    with pytest.raises(CheckpointError) as info:
        load_model(path, {"label_nc": 8})
    assert "not a model GAN Studio knows" in str(info.value)
    with pytest.raises(CheckpointError):
        load_model(path, {"format": "spade-official", "label_nc": 8})


def test_truncated_file_is_a_checkpoint_error(tmp_path):
    source = SETS[0] / "latest_net_G.pth"
    data = source.read_bytes()
    path = tmp_path / "latest_net_G.pth"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_model(path, _options(SETS[0]))
