"""rosinality/stylegan2-pytorch checkpoints: numerics against the official outputs, layouts and
the messages for files that cannot be used as they are.

Every fixture set under ``<compat>/stylegan2_rosinality`` is checked; shapes come from the files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import CheckpointError, UnsafePickleError
from engine.loaders import native
from engine.loaders.detect import load_model
from engine.loaders.files import read_checkpoint
from tests.helpers import compat_root, family_dir, fixture_sets, load_cases

FAMILY_DIR = "stylegan2_rosinality"
IMG_ATOL = 1e-4
WS_ATOL = 1e-5


def _sets():
    out = []
    for folder in fixture_sets(FAMILY_DIR):
        config = json.loads((folder / "config.json").read_text())
        out.append(pytest.param(folder, config, id=folder.name))
    return out


SETS = _sets()


def _files(folder: Path, config: dict) -> tuple[Path, Path | None]:
    """(train checkpoint, converted file or None) of a fixture set, as its config names them."""
    train = converted = None
    for name, what in config.get("files", {}).items():
        if "latent_avg" in what:
            converted = folder / name
        else:
            train = folder / name
    assert train is not None, f"{folder / 'config.json'} names no train checkpoint"
    return train, converted


def _t(a) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a, dtype=np.float32))


def _diff(a: torch.Tensor, b: np.ndarray) -> float:
    assert tuple(a.shape) == b.shape
    return float((a - _t(b)).abs().max())


def test_fixture_folder_present_or_skipped():
    family_dir(FAMILY_DIR)
    assert SETS, f"{compat_root() / FAMILY_DIR} has no fixture set with a config.json"


@pytest.mark.parametrize("folder,config", SETS)
def test_config_is_read_from_the_weights(folder, config, loaded):
    train, _ = _files(folder, config)
    model = loaded(train)
    cfg = model.config
    assert model.family == "stylegan2" and model.source_format == "stylegan2-rosinality"
    ctor = config["Generator_ctor"]
    assert (cfg.img_resolution, cfg.w_dim, cfg.z_dim, cfg.mapping_layers) == (ctor["size"], ctor["style_dim"], ctor["style_dim"], ctor["n_mlp"])
    assert list(cfg.widths) == [config["channels_used"][str(r)] for r in cfg.block_resolutions]
    assert cfg.num_ws == config["n_latent"]
    assert cfg.num_conv_layers == config["num_layers_noise"]
    assert model.metadata["args"]["size"] == ctor["size"]
    assert "class_conditional" not in model.capabilities()


@pytest.mark.parametrize("folder,config", SETS)
def test_train_checkpoint_cases_match(folder, config, loaded):
    train, _ = _files(folder, config)
    G = loaded(train).networks["G"]
    cases = load_cases(folder)
    center = _t(cases["mean_latent"]["value"])
    num_ws = G.num_ws
    checked = []
    with torch.no_grad():
        for name, case in cases.items():
            if name in ("mean_latent",) or name.startswith("converted"):
                continue
            psi = float(case.get("truncation", 1.0))
            if "styles1" in case:  # style mixing at inject_index
                ws1 = G.mapping(_t(case["styles1"]), None, psi, None, center=center)
                ws2 = G.mapping(_t(case["styles2"]), None, psi, None, center=center)
                index = int(case["inject_index"])
                ws = torch.cat([ws1[:, :index], ws2[:, index:]], dim=1)
            elif name.startswith("w"):  # w given directly ([N, D]) or per layer ([N, n_latent, D])
                styles = _t(case["styles"])
                ws = styles if styles.ndim == 3 else styles.unsqueeze(1).repeat(1, num_ws, 1)
            else:
                ws = G.mapping(_t(case["styles"]), None, psi, None, center=center)
            if "latent" in case:
                assert _diff(ws, case["latent"]) <= WS_ATOL, f"{name} latent"
            img = G.synthesis(ws, "const")
            diff = _diff(img, case["img"])
            assert diff <= IMG_ATOL, f"{name}: image differs by {diff}"
            checked.append(name)
    assert {"z", "trunc07", "w", "wplus", "mix"} <= set(checked)


@pytest.mark.parametrize("folder,config", SETS)
def test_missing_latent_avg_is_computed_reproducibly_and_noted(folder, config, loaded):
    train, _ = _files(folder, config)
    model = loaded(train)
    assert any("latent_avg" in note and "seed" in note for note in model.notes)
    again = load_model(train)
    w_avg = model.networks["G"].mapping.w_avg
    assert torch.equal(w_avg, again.networks["G"].mapping.w_avg)
    # it estimates the same mean as the official mean_latent (4096 other samples)
    mean_latent = _t(load_cases(folder)["mean_latent"]["value"]).reshape(-1)
    assert float((w_avg - mean_latent).norm() / mean_latent.norm()) < 0.05


@pytest.mark.parametrize("folder,config", SETS)
def test_converted_file_uses_its_latent_avg(folder, config, loaded):
    _, converted = _files(folder, config)
    if converted is None:
        pytest.skip("no converted file in this set")
    model = loaded(converted)
    G = model.networks["G"]
    case = load_cases(folder)["converted"]
    assert _diff(G.mapping.w_avg, case["latent_avg"]) == 0.0
    assert not model.notes
    with torch.no_grad():
        ws = G.mapping(_t(case["styles"]), None, float(case["truncation"]))
        assert _diff(ws, case["latent"]) <= WS_ATOL
        assert _diff(G.synthesis(ws, "const"), case["img"]) <= IMG_ATOL


@pytest.mark.parametrize("folder,config", SETS)
def test_file_with_g_but_no_g_ema(folder, config, tmp_path):
    train, _ = _files(folder, config)
    ckpt = read_checkpoint(train).obj
    only_g = {k: v for k, v in ckpt.items() if k in ("g", "d", "args")}
    path = tmp_path / "000001.pt"
    torch.save(only_g, path)
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    assert "g_ema" in str(info.value) and "use_g" in str(info.value)
    model = load_model(path, {"use_g": True})
    assert any("'g'" in note for note in model.notes)
    # g is not g_ema: the weights really came from 'g'
    g_key = next(iter(ckpt["g"]))
    assert g_key.startswith("style.")
    got = model.networks["G"].mapping.layers[0].weight
    assert torch.equal(got, ckpt["g"]["style.1.weight"].float())


@pytest.mark.parametrize("folder,config", SETS)
def test_native_round_trip(folder, config, loaded, tmp_path):
    train, _ = _files(folder, config)
    model = loaded(train)
    again = load_model(native.save(model, tmp_path / "ros.safetensors"))
    assert again.config == model.config
    z = torch.randn(2, model.config.z_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(model.networks["G"](z, None, 0.7), again.networks["G"](z, None, 0.7))


def test_truncated_and_malicious_torch_files(tmp_path):
    if not SETS:
        pytest.skip("no rosinality fixtures")
    train, _ = _files(SETS[0].values[0], SETS[0].values[1])
    data = train.read_bytes()
    cut = tmp_path / "000040.pt"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(cut)

    victim = tmp_path / "pwned.txt"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch '{victim}'",))

    evil = tmp_path / "evil.pt"
    torch.save({"g_ema": {"style.1.weight": torch.zeros(1)}, "args": Evil()}, evil)
    with pytest.raises(UnsafePickleError):
        load_model(evil)
    assert not victim.exists()
