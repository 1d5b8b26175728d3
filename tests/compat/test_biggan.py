"""BigGAN-deep checkpoints (Hugging Face pytorch-pretrained-BigGAN format): numerics against the
official outputs, the truncated-normal sampler, and the messages for files that cannot be used.

Every fixture set under ``<compat>/biggan`` is checked; sizes come from the files.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import CheckpointError, MissingOptionError, UnsafePickleError
from engine.latent_types import LatentSampleRequest, class_mix_vector
from engine.loaders import native
from engine.loaders.detect import load_model
from engine.models.biggan import truncated_noise_sample
from engine.pipelines.images import tensor_to_image
from engine.pipelines import latent_biggan
from engine.types import ModelRef
from engine.worker import JobContext
from tests.helpers import compat_root, family_dir, fixture_sets, load_cases

FAMILY_DIR = "biggan"
IMG_ATOL = 1e-5  # the official float64 run is within 1.3e-6 of the float32 outputs


def _sets():
    out = []
    for folder in fixture_sets(FAMILY_DIR):
        description = json.loads((folder / "config.json").read_text())
        out.append(pytest.param(folder, description, id=folder.name))
    return out


SETS = _sets()


def _truncation(description: dict, case: str) -> float:
    """The exact Python double the case used (the float32 stored in cases.npz selects other BN rows)."""
    return float(description["cases"]["truncation_rows"][case]["t"])


def _model_dir(folder: Path, description: dict) -> Path:
    return folder / description.get("checkpoint_dir", "model").split()[0].rstrip("/")


def _paths(folder: Path, description: dict) -> list[Path]:
    """The folder and the .bin inside it: the two ways a user opens the model."""
    model_dir = _model_dir(folder, description)
    return [model_dir, model_dir / "pytorch_model.bin"]


def _render(model, case: dict[str, np.ndarray], truncation: float) -> torch.Tensor:
    with torch.no_grad():
        return model.networks["G"](torch.from_numpy(case["z"]), torch.from_numpy(case["class_vector"]), truncation)


def test_fixture_folder_present_or_skipped():
    family_dir(FAMILY_DIR)
    assert SETS, f"{compat_root() / FAMILY_DIR} has no fixture set with a config.json"


@pytest.mark.parametrize("folder,description", SETS)
def test_config_and_summary(folder, description, loaded):
    expected = description["BigGANConfig"]
    for path in _paths(folder, description):
        model = loaded(path)
        summary = model.summary()
        assert (summary.family, summary.source_format) == ("biggan", "biggan-hf")
        for name, value in expected.items():
            assert summary.config[name] == value, name
        assert summary.capabilities == ("latent", "truncation", "class_conditional", "class_mixing")
        assert len(summary.label_set["classes"]) == expected["num_classes"]
        assert any("class names" in note and "labels.txt" in note for note in summary.notes)
        G = model.networks["G"]
        assert not G.training
        assert len(G.state_dict()) == description["derived"]["num_state_dict_tensors"]


@pytest.mark.parametrize("folder,description", SETS)
def test_cases_match_the_official_outputs(folder, description, loaded):
    cases = load_cases(folder)
    assert set(cases) == set(description["cases"]["truncation_rows"])
    for path in _paths(folder, description):
        model = loaded(path)
        for name, case in cases.items():
            img = _render(model, case, _truncation(description, name))
            assert tuple(img.shape) == case["img"].shape, name
            diff = float((img - torch.from_numpy(case["img"])).abs().max())
            assert diff <= IMG_ATOL, f"{path.name} {name}: image differs by {diff}"


@pytest.mark.parametrize("folder,description", SETS)
def test_standing_statistics_row_follows_the_exact_truncation(folder, description, loaded):
    """float32 0.4 is a hair above 0.4, and the format then blends towards row 21: reproduced."""
    model = loaded(_paths(folder, description)[0])
    name = next(n for n, row in description["cases"]["truncation_rows"].items() if row["modf"][0] == 0.0 and row["t"] < 1)
    case = load_cases(folder)[name]
    exact = _render(model, case, _truncation(description, name))
    as_float32 = _render(model, case, float(np.float32(_truncation(description, name))))
    assert float((exact - as_float32).abs().max()) > 1e-3


@pytest.mark.parametrize("folder,description", SETS)
def test_sampler_reproduces_the_official_noise(folder, description):
    cases = load_cases(folder)
    seeds = description["cases"]["spec"]["seeds"]
    names = list(description["cases"]["truncation_rows"])
    assert len(seeds) == len(names)
    dim = description["BigGANConfig"]["z_dim"]
    for seed, name in zip(seeds, names):
        z = cases[name]["z"]
        got = truncated_noise_sample(z.shape[0], dim, _truncation(description, name), seed)
        assert got.dtype == np.float32
        assert np.abs(got - z).max() <= 1e-6, name


@pytest.mark.parametrize("folder,description", SETS)
def test_class_vectors_follow_the_one_hot_convention(folder, description):
    cases = load_cases(folder)
    spec = description["cases"]["spec"]
    n = description["BigGANConfig"]["num_classes"]
    names = list(description["cases"]["truncation_rows"])
    for classes, name in zip(spec["classes"], names):
        vectors = cases[name]["class_vector"]
        if classes is None:  # the mixed case: 0.5/0.5 twice, then 0.25/0.75
            a, b = spec["mix_pair"]
            expected = [class_mix_vector(n, {a: 1, b: 1}), class_mix_vector(n, {a: 1, b: 1}), class_mix_vector(n, {a: 0.25, b: 0.75})]
        else:
            expected = [class_mix_vector(n, {c: 1.0}) for c in classes]
        assert np.array_equal(vectors, np.stack(expected)), name


@pytest.mark.parametrize("folder,description", SETS)
def test_latent_pipeline_renders_the_official_image(folder, description, loaded):
    model = loaded(_paths(folder, description)[0])
    name = "tinterp" if "tinterp" in description["cases"]["truncation_rows"] else next(iter(description["cases"]["truncation_rows"]))
    case = load_cases(folder)[name]
    request = LatentSampleRequest(model=ModelRef(str(folder)), psi=_truncation(description, name),
                                  class_vector=case["class_vector"][0], ws=case["z"][0])
    result = latent_biggan.sample(model, request, JobContext.detached())
    expected = tensor_to_image(torch.from_numpy(case["img"][0]))
    assert result.image.shape == expected.shape
    assert np.abs(result.image.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize("folder,description", SETS)
def test_legacy_torch_format_loads_the_same(folder, description, loaded, tmp_path):
    model_dir = _model_dir(folder, description)
    state = torch.load(model_dir / "pytorch_model.bin", map_location="cpu", weights_only=True)
    torch.save(state, tmp_path / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    shutil.copy(model_dir / "config.json", tmp_path / "config.json")
    legacy = load_model(tmp_path)
    case = next(iter(load_cases(folder).items()))
    t = _truncation(description, case[0])
    assert torch.equal(_render(legacy, case[1], t), _render(loaded(model_dir), case[1], t))


@pytest.mark.parametrize("folder,description", SETS)
def test_native_round_trip(folder, description, loaded, tmp_path):
    model = loaded(_paths(folder, description)[0])
    again = load_model(native.save(model, tmp_path / "biggan.safetensors"))
    assert (again.family, again.source_format) == ("biggan", "gan-studio")
    assert again.config == model.config
    assert again.label_set == model.label_set
    for name, case in load_cases(folder).items():
        t = _truncation(description, name)
        assert torch.equal(_render(model, case, t), _render(again, case, t)), name


@pytest.mark.parametrize("folder,description", SETS)
def test_truncated_bin_is_a_checkpoint_error(folder, description, tmp_path):
    model_dir = _model_dir(folder, description)
    data = (model_dir / "pytorch_model.bin").read_bytes()
    (tmp_path / "pytorch_model.bin").write_bytes(data[: len(data) // 2])
    shutil.copy(model_dir / "config.json", tmp_path / "config.json")
    for path in (tmp_path, tmp_path / "pytorch_model.bin"):
        with pytest.raises(CheckpointError, match="truncated"):
            load_model(path)


@pytest.mark.parametrize("folder,description", SETS)
def test_missing_config_says_what_to_do(folder, description, tmp_path):
    model_dir = _model_dir(folder, description)
    shutil.copy(model_dir / "pytorch_model.bin", tmp_path / "pytorch_model.bin")
    for path in (tmp_path, tmp_path / "pytorch_model.bin"):
        with pytest.raises(MissingOptionError) as info:
            load_model(path)
        assert info.value.option == "config_json"
        assert "config.json" in str(info.value) and "config_json" in str(info.value)
    # the option names a config elsewhere
    model = load_model(tmp_path, {"config_json": str(model_dir / "config.json")})
    assert model.config.num_classes == description["BigGANConfig"]["num_classes"]
    # or the config fields come as options (e.g. a gan_studio.json sidecar)
    (tmp_path / "gan_studio.json").write_text((model_dir / "config.json").read_text())
    model = load_model(tmp_path / "pytorch_model.bin")
    assert model.metadata["config_file"] == "options"
    assert model.config == load_model(model_dir).config


@pytest.mark.parametrize("folder,description", SETS)
def test_release_file_names_find_their_config(folder, description, tmp_path):
    model_dir = _model_dir(folder, description)
    shutil.copy(model_dir / "pytorch_model.bin", tmp_path / "biggan-deep-32-pytorch_model.bin")
    shutil.copy(model_dir / "config.json", tmp_path / "biggan-deep-32-config.json")
    model = load_model(tmp_path / "biggan-deep-32-pytorch_model.bin")
    assert model.metadata["config_file"] == "biggan-deep-32-config.json"


@pytest.mark.parametrize("folder,description", SETS)
def test_config_of_another_model_is_named(folder, description, tmp_path):
    model_dir = _model_dir(folder, description)
    shutil.copy(model_dir / "pytorch_model.bin", tmp_path / "pytorch_model.bin")
    base = json.loads((model_dir / "config.json").read_text())

    def attempt(**changes) -> str:
        (tmp_path / "config.json").write_text(json.dumps({**base, **changes}))
        with pytest.raises(CheckpointError) as info:
            load_model(tmp_path)
        return str(info.value)

    assert "num_classes" in attempt(num_classes=base["num_classes"] + 1)
    assert "n_stats" in attempt(n_stats=base["n_stats"] + 1)
    assert "n_stats" in attempt(n_stats="many")
    message = attempt(channel_width=base["channel_width"] * 2)
    assert "shape mismatches" in message and "does not fit" in message


@pytest.mark.parametrize("folder,description", SETS)
def test_class_names_beside_the_model(folder, description, tmp_path):
    model_dir = _model_dir(folder, description)
    n = description["BigGANConfig"]["num_classes"]
    shutil.copy(model_dir / "pytorch_model.bin", tmp_path / "pytorch_model.bin")
    shutil.copy(model_dir / "config.json", tmp_path / "config.json")
    (tmp_path / "labels.txt").write_text("\n".join(f"thing {i}" for i in range(n)) + "\n")
    model = load_model(tmp_path)
    assert [c["name"] for c in model.label_set["classes"]] == [f"thing {i}" for i in range(n)]
    (tmp_path / "labels.txt").unlink()
    (tmp_path / "classes.json").write_text(json.dumps({str(i): [f"n{i:08d}", f"kind {i}"] for i in range(n)}))
    model = load_model(tmp_path / "pytorch_model.bin")
    assert model.label_set["classes"][n - 1]["name"] == f"kind {n - 1}"
    (tmp_path / "classes.json").write_text(json.dumps(["too", "few"]))
    model = load_model(tmp_path)
    assert model.label_set["classes"][0]["name"] == "class 0"
    assert any("classes.json" in note and "not used" in note for note in model.notes)


def test_pickle_with_code_is_refused(tmp_path):
    victim = tmp_path / "pwned.txt"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch '{victim}'",))

    torch.save({"embeddings.weight": torch.zeros(1), "x": Evil()}, tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text(json.dumps({"layers": [[False, 16, 16]], "channel_width": 8, "n_stats": 51}))
    with pytest.raises(UnsafePickleError):
        load_model(tmp_path / "pytorch_model.bin")
    assert not victim.exists()
