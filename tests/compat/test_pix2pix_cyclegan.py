"""Official junyanz/pytorch-CycleGAN-and-pix2pix generators load through load_model and
reproduce the official outputs.

Fixture sets: ``<compat>/pix2pix_cyclegan/<set>/`` with ``latest_net_G.pth`` (pix2pix) or
``latest_net_G_A.pth`` + ``latest_net_G_B.pth`` (CycleGAN), ``config.json``, ``cases.npz``.
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
from engine.pipelines.paint_translate import synthesize
from engine.types import ModelRef, SynthesizeRequest
from engine.worker import JobContext
from tests.helpers import family_dir, fixture_sets, load_cases

FAMILY = "pix2pix_cyclegan"
SETS = fixture_sets(FAMILY)
ATOL = 1e-4
#: official options a user might pass; none is needed, all are checked against the weights
USER_OPTIONS = ("model", "netG", "input_nc", "output_nc", "ngf", "norm", "no_dropout")


def _config(path: Path) -> dict:
    return json.loads((path / "config.json").read_text())


def _options(config: dict) -> dict:
    return {k: config[k] for k in USER_OPTIONS if k in config}


def _first_file(path: Path) -> Path:
    return path / _config(path)["generator_files"][0]


#: what the official test script writes: (input array, output array, the generators that map one to the other)
TRANSLATIONS = (("real_A", "fake_B", ("G", "G_A")), ("fake_B", "rec_A", ("G_B",)),
                ("real_B", "fake_A", ("G_B",)), ("fake_A", "rec_B", ("G_A",)))


def _translations(model, case: dict) -> list[tuple[str, str, str]]:
    """(generator, input array, expected array) for every translation the case holds and the
    model has a generator for (a set may hold one direction or both, any channel counts)."""
    found = []
    for source, target, roles in TRANSLATIONS:
        role = next((r for r in roles if r in model.networks), None)
        if role is not None and source in case and target in case:
            found.append((role, source, target))
    return found


def _direction(role: str) -> tuple[str, str]:
    """The case arrays (input, output) of the generator ``role`` translating a real image."""
    return ("real_B", "fake_A") if role == "G_B" else ("real_A", "fake_B")


def _file_role(name: str) -> str:
    return name.replace("latest_net_", "").rsplit(".", 1)[0]


def _max_diff(a: torch.Tensor, b: np.ndarray) -> float:
    a = a.detach().cpu().numpy()
    assert a.shape == b.shape, f"shape {a.shape} vs expected {b.shape}"
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


@pytest.fixture(scope="module")
def loaded():
    """Each set loaded once from its first generator file, without any option."""
    return {path.name: load_model(_first_file(path)) for path in SETS}


def test_fixture_family_present():
    family_dir(FAMILY)
    assert SETS, "the pix2pix_cyclegan fixture folder holds no set with a config.json"


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_config_inferred_from_weights(path, loaded):
    config = _config(path)
    model = loaded[path.name]
    c = model.config
    assert model.source_format == "pix2pix-cyclegan-official"
    assert (c.input_nc, c.output_nc, c.ngf, c.norm) == (config["input_nc"], config["output_nc"], config["ngf"], config["norm"])
    if config["netG"].startswith("unet"):
        assert model.family == "pix2pix_unet"
        assert c.num_downs == {"unet_256": 8, "unet_128": 7}[config["netG"]]
        assert list(model.networks) == ["G"]
    else:
        assert model.family == "cyclegan_resnet"
        assert c.n_blocks == int(config["netG"][len("resnet_"):-len("blocks")])
        roles = sorted(f.replace("latest_net_", "").replace(".pth", "") for f in config["generator_files"])
        assert sorted(model.networks) == roles  # the sibling direction was found
    # all official options together agree with the weights
    assert load_model(_first_file(path), _options(config)).config.ngf == c.ngf


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_outputs_match_official(path, loaded):
    model = loaded[path.name]
    for name, case in load_cases(path, "_").items():
        translations = _translations(model, case)
        assert translations, f"{name}: no case array fits the model's generators {list(model.networks)}"
        with torch.no_grad():
            for role, source, target in translations:
                assert _max_diff(model.networks[role](torch.from_numpy(case[source])), case[target]) <= ATOL, (name, role)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """CxHxW in [-1, 1] -> HxWxC uint8 (HxW for one channel, as a grey image arrives)."""
    pixels = np.round((image.transpose(1, 2, 0) + 1) * 127.5).clip(0, 255).astype(np.uint8)
    return pixels[..., 0] if pixels.shape[2] == 1 else pixels


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_paint_pipeline_matches_official(path, loaded):
    model = loaded[path.name]
    role = getattr(model.config, "primary_network", "G")
    source, target = _direction(role)
    case = next(c for c in load_cases(path, "_").values() if source in c and target in c)
    image = _to_uint8(case[source][0])
    request = SynthesizeRequest(model=ModelRef(str(_first_file(path))), label_map=image)
    result = synthesize(model, request, JobContext.detached())
    expected = _to_uint8(case[target][0])
    expected = np.repeat(expected[..., None], 3, axis=2) if expected.ndim == 2 else expected  # grey comes back as RGB
    assert result.image.shape == expected.shape and result.image.dtype == np.uint8
    assert np.abs(result.image.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_native_round_trip(path, loaded, tmp_path):
    model = loaded[path.name]
    again = load_model(native.save(model, tmp_path / "model.safetensors"))
    assert again.family == model.family and again.config == model.config
    assert sorted(again.networks) == sorted(model.networks)
    case = load_cases(path, "_")["case1"]
    inputs = {role: case[source] for role, source, _ in reversed(_translations(model, case))}
    assert sorted(inputs) == sorted(model.networks)
    with torch.no_grad():
        for role, net in model.networks.items():
            x = torch.from_numpy(inputs[role])
            assert torch.equal(net(x), again.networks[role](x)), role


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_truncated_file_is_a_checkpoint_error(path, tmp_path):
    data = _first_file(path).read_bytes()
    broken = tmp_path / _first_file(path).name
    broken.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(broken)


@pytest.mark.parametrize("path", [p for p in SETS if _config(p)["netG"].startswith("resnet")], ids=lambda p: p.name)
def test_ambiguous_resnet_file_names_the_model_option(path, tmp_path):
    """A lone ResNet generator called latest_net_G.pth could be pix2pixHD's or CycleGAN's."""
    config = _config(path)
    lone = tmp_path / "latest_net_G.pth"
    shutil.copy(_first_file(path), lone)
    with pytest.raises(MissingOptionError) as info:
        load_model(lone)
    assert info.value.option == "model"
    assert "model=cycle_gan" in str(info.value)
    model = load_model(lone, {"model": "cycle_gan"})
    assert model.family == "cyclegan_resnet" and list(model.networks) == ["G"]
    source, target = _direction(_file_role(_first_file(path).name))
    case = next(c for c in load_cases(path, "_").values() if source in c and target in c)
    with torch.no_grad():
        assert _max_diff(model.networks["G"](torch.from_numpy(case[source])), case[target]) <= ATOL
    # an opt.txt next to the file decides too
    (tmp_path / "opt.txt").write_text("------------ Options -------------\n"
                                      f"model: {config['model']}\t[default: test]\nnetG: {config['netG']}\n")
    assert load_model(lone).family == "cyclegan_resnet"
    # and the pix2pixHD reading is available when asked for (its input: a one-hot label map)
    in_channels = int(case[source].shape[1])
    hd = load_model(lone, {"model": "pix2pixHD", "label_nc": in_channels, "no_instance": True})
    assert hd.family == "pix2pixhd" and hd.config.n_downsample_global == config.get("derived", {}).get("n_downsampling", 2)


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_options_that_contradict_the_weights_are_refused(path):
    config = _config(path)
    with pytest.raises(CheckpointError, match="ngf"):
        load_model(_first_file(path), {**_options(config), "ngf": config["ngf"] + 1})
