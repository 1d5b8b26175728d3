"""NVlabs stylegan2-ada-pytorch network pickles: numerics against the official outputs, and the
restricted unpickler against crafted (malicious, truncated, odd) pickles.

Every fixture set under ``<compat>/stylegan2_ada`` is checked; shapes come from the files.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import CheckpointError, UnsafePickleError
from engine.loaders import native, safe_pickle
from engine.loaders.detect import load_model
from tests.helpers import compat_root, family_dir, fixture_sets

FAMILY_DIR = "stylegan2_ada"
IMG_ATOL = 1e-4
WS_ATOL = 1e-5


def _models():
    """(fixture folder, model name, pickle file) for every model of every fixture set."""
    out = []
    for folder in fixture_sets(FAMILY_DIR):
        config = json.loads((folder / "config.json").read_text())
        for name, entry in config.get("models", {}).items():
            out.append(pytest.param(folder, name, folder / entry["file"], id=f"{folder.name}-{name}"))
    return out


MODELS = _models()


def _cases(folder: Path, model: str) -> dict[str, dict[str, np.ndarray]]:
    with np.load(folder / "cases.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    cases: dict[str, dict[str, np.ndarray]] = collections.defaultdict(dict)
    for key, value in arrays.items():
        parts = key.split("__")
        if parts[0] == model and len(parts) == 3:
            cases[parts[1]][parts[2]] = value
    return dict(cases)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a, dtype=np.float32))


def _cutoff(case) -> int | None:
    value = int(case.get("truncation_cutoff", np.float32(-1)))
    return None if value < 0 else value


def _max_diff(a: torch.Tensor, b: np.ndarray) -> float:
    assert tuple(a.shape) == b.shape
    return float((a.detach() - _t(b)).abs().max())


def test_fixture_folder_present_or_skipped():
    family_dir(FAMILY_DIR)  # skips the module's remaining meaning when absent
    assert MODELS, f"{compat_root() / FAMILY_DIR} has no fixture set with a config.json"


@pytest.mark.parametrize("folder,model_name,path", MODELS)
def test_loads_as_stylegan2_with_official_config(folder, model_name, path, loaded):
    model = loaded(path)
    config = json.loads((folder / "config.json").read_text())["models"][model_name]
    resolved = config["G_resolved"]
    assert model.family == "stylegan2" and model.source_format == "stylegan2-ada-pkl"
    cfg = model.config
    assert (cfg.z_dim, cfg.w_dim, cfg.c_dim, cfg.img_resolution) == (
        resolved["z_dim"], resolved["w_dim"], resolved["c_dim"], resolved["img_resolution"])
    assert cfg.num_ws == resolved["num_ws"]
    widths = [resolved["synthesis"]["blocks"][str(r)]["out_channels"] for r in cfg.block_resolutions]
    assert list(cfg.widths) == widths
    caps = model.capabilities()
    assert {"latent", "truncation", "style_mixing"} <= set(caps)
    assert ("class_conditional" in caps) == (cfg.c_dim > 0)
    w_avg = np.load(folder / "cases.npz")[f"{model_name}__w_avg"]
    assert _max_diff(model.networks["G"].mapping.w_avg, w_avg) == 0.0


@pytest.mark.parametrize("folder,model_name,path", MODELS)
def test_every_case_matches_official_outputs(folder, model_name, path, loaded):
    G = loaded(path).networks["G"]
    cases = _cases(folder, model_name)
    assert cases, f"no cases for {model_name} in {folder / 'cases.npz'}"
    checked = []
    with torch.no_grad():
        for name, case in cases.items():
            if "mix_index" in case:
                psi = float(case["truncation_psi"])
                ws1 = G.mapping(_t(case["z"]), _t(case["c"]), psi, _cutoff(case))
                ws2 = G.mapping(_t(case["z2"]), _t(case["c2"]), psi, _cutoff(case))
                assert _max_diff(ws1, case["ws1"]) <= WS_ATOL, name
                assert _max_diff(ws2, case["ws2"]) <= WS_ATOL, name
                index = int(case["mix_index"])
                ws = ws1.clone()
                ws[:, index:] = ws2[:, index:]
                noise_mode = "const"
            else:
                psi = float(case.get("truncation_psi", np.float32(1.0)))
                ws = G.mapping(_t(case["z"]), _t(case["c"]), psi, _cutoff(case))
                noise_mode = "none" if name == "nonoise" else "const"
            assert _max_diff(ws, case["ws"]) <= WS_ATOL, f"{model_name}/{name} ws"
            img = G.synthesis(ws, noise_mode)
            diff = _max_diff(img, case["img"])
            assert diff <= IMG_ATOL, f"{model_name}/{name}: image differs by {diff}"
            if "mix_index" not in case and noise_mode == "const":
                # the whole generator in one call gives the same image
                full = G(_t(case["z"]), _t(case["c"]), psi, _cutoff(case), noise_mode="const")
                assert _max_diff(full, case["img"]) <= IMG_ATOL
            checked.append(name)
    assert {"psi1", "psi07", "mix", "nonoise"} <= set(checked)


@pytest.mark.parametrize("folder,model_name,path", MODELS)
def test_native_round_trip(folder, model_name, path, loaded, tmp_path):
    model = loaded(path)
    out = native.save(model, tmp_path / "converted.safetensors")
    again = load_model(out)
    assert again.family == "stylegan2" and again.config == model.config
    case = _cases(folder, model_name)["psi07"]
    with torch.no_grad():
        a = model.networks["G"](_t(case["z"]), _t(case["c"]), 0.7)
        b = again.networks["G"](_t(case["z"]), _t(case["c"]), 0.7)
    assert torch.equal(a, b)
    assert _max_diff(b, case["img"]) <= IMG_ATOL


# --------------------------------------------------------------------------------------------
# Restricted unpickler


@pytest.fixture
def fake_persistence(monkeypatch):
    """Make ``torch_utils.persistence._reconstruct_persistent_obj`` picklable by name, so tests can
    write pickles that look like official ones (only while writing; loading never imports it)."""
    package = types.ModuleType("torch_utils")
    module = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):  # never called by the code under test
        raise AssertionError("the official reconstructor must not run")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    module._reconstruct_persistent_obj = _reconstruct_persistent_obj
    package.persistence = module
    monkeypatch.setitem(sys.modules, "torch_utils", package)
    monkeypatch.setitem(sys.modules, "torch_utils.persistence", module)

    class Persistent:
        def __init__(self, class_name, state, module_src="# placeholder"):
            self.meta = dict(type="class", version=6, module_src=module_src, class_name=class_name, state=state)

        def __reduce__(self):
            return (_reconstruct_persistent_obj, (self.meta,))

    return Persistent


class _Reduce:
    """Pickles as ``func(*args)``: how a malicious pickle calls arbitrary functions."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def _write(path: Path, obj, protocol=4) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


@pytest.mark.parametrize("attack", ["os.system", "builtins.open", "subprocess", "builtins.exec"])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, attack):
    victim = tmp_path / "pwned.txt"
    import subprocess

    payload = {
        "os.system": _Reduce(os.system, f"touch '{victim}'"),
        "builtins.open": _Reduce(open, str(victim), "w"),
        "subprocess": _Reduce(subprocess.check_call, ["touch", str(victim)]),
        "builtins.exec": _Reduce(exec, f"open({str(victim)!r}, 'w').write('x')"),
    }[attack]
    path = _write(tmp_path / "network-snapshot-evil.pkl", {"G_ema": payload, "training_set_kwargs": {}})
    with pytest.raises(UnsafePickleError) as info:
        load_model(path)
    assert "does not allow" in str(info.value)
    assert not victim.exists()


def test_persistence_pickle_that_tries_to_exec_its_module_src_is_refused(tmp_path, fake_persistence):
    victim = tmp_path / "pwned.txt"
    source = f"open({str(victim)!r}, 'w').write('pwned')\n"
    state = {"_parameters": collections.OrderedDict(), "_modules": collections.OrderedDict(),
             "trigger": _Reduce(exec, source)}
    path = _write(tmp_path / "evil.pkl", {"G_ema": fake_persistence("Generator", state, module_src=source)})
    with pytest.raises(UnsafePickleError):
        load_model(path)
    assert not victim.exists()


def test_persistence_module_src_is_never_executed(tmp_path, fake_persistence):
    # The official loader exec()s module_src; ours keeps only class_name and state, so this
    # pickle loads as data and then fails as a network, without having run anything.
    victim = tmp_path / "pwned.txt"
    source = f"open({str(victim)!r}, 'w').write('pwned')\n"
    state = {"_parameters": collections.OrderedDict(), "_buffers": collections.OrderedDict(),
             "_modules": collections.OrderedDict(), "_init_kwargs": {"z_dim": 8, "w_dim": 8, "img_resolution": 8}}
    path = _write(tmp_path / "evil.pkl", {"G_ema": fake_persistence("Generator", state, module_src=source)})
    obj = safe_pickle.load_pickle_file(path)
    assert obj["G_ema"].class_name == "Generator" and "not executed" in obj["G_ema"].module_name
    with pytest.raises(CheckpointError):
        load_model(path)
    assert not victim.exists()


def test_truncated_pickle_is_a_checkpoint_error(tmp_path):
    if not MODELS:
        pytest.skip("no stylegan2_ada fixtures")
    data = Path(MODELS[0].values[2]).read_bytes()
    path = tmp_path / "network-snapshot-cut.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    assert not isinstance(info.value, UnsafePickleError)
    assert "truncated" in str(info.value)


def test_pickle_without_g_ema_says_what_it_holds(tmp_path, fake_persistence):
    disc = fake_persistence("Discriminator", {"_parameters": collections.OrderedDict(), "_modules": collections.OrderedDict()})
    path = _write(tmp_path / "d-only.pkl", {"training_set_kwargs": {"resolution": 32}, "D": disc})
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    message = str(info.value)
    assert "G_ema" in message and "'D'" in message and "training_set_kwargs" in message


def test_stylegan3_and_unknown_generators_are_named(tmp_path, fake_persistence):
    empty = {"_parameters": collections.OrderedDict(), "_modules": collections.OrderedDict()}
    sg3_synthesis = fake_persistence("SynthesisNetwork", {**empty, "_modules": collections.OrderedDict(input=fake_persistence("SynthesisInput", dict(empty)))})
    sg3 = fake_persistence("Generator", {**empty, "_modules": collections.OrderedDict(synthesis=sg3_synthesis)})
    with pytest.raises(CheckpointError, match="StyleGAN3"):
        load_model(_write(tmp_path / "sg3.pkl", {"G_ema": sg3}))
    other = fake_persistence("BigGANGenerator", dict(empty))
    with pytest.raises(CheckpointError, match="BigGANGenerator"):
        load_model(_write(tmp_path / "other.pkl", {"G_ema": other}))


@pytest.mark.parametrize("module", ["numpy.core.multiarray", "numpy._core.multiarray"])
def test_numpy_scalars_of_numpy_1_and_2_are_read(module):
    data = pickle.dumps({"weight_gain": np.float64(0.125), "act_gain": np.float32(1.5)}, protocol=3)
    for name in (b"numpy.core.multiarray\nscalar", b"numpy._core.multiarray\nscalar"):
        data = data.replace(name, module.encode() + b"\nscalar")
    assert module.encode() + b"\nscalar" in data
    out = safe_pickle.loads(data)
    assert out["weight_gain"] == 0.125 and out["weight_gain"].dtype == np.float64
    assert out["act_gain"] == 1.5 and out["act_gain"].dtype == np.float32


def test_storages_saved_on_cuda_load_on_cpu():
    tensor = torch.arange(6.0).reshape(2, 3)
    blob = io.BytesIO()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(tensor.storage(), blob, _use_new_zipfile_serialization=False)
    on_cuda = blob.getvalue().replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
    assert on_cuda != blob.getvalue()
    rebuilt = _Reduce(torch._utils._rebuild_tensor_v2, _Reduce(torch.storage._load_from_bytes, on_cuda), 0, (2, 3), (3, 1), False, collections.OrderedDict())
    out = safe_pickle.loads(pickle.dumps({"w": rebuilt}, protocol=4))
    assert out["w"].device.type == "cpu" and torch.equal(out["w"], tensor)


@pytest.mark.parametrize("folder,model_name,path", MODELS[:1])
def test_inconsistent_resolution_and_shapes_are_named(folder, model_name, path):
    from engine.loaders import stylegan2_ada
    from engine.loaders.files import read_checkpoint

    ckpt = read_checkpoint(path)
    gen = ckpt.obj["G_ema"]
    kwargs = gen.state["_init_kwargs"]
    real = kwargs["img_resolution"]
    kwargs["img_resolution"] = real * 2
    with pytest.raises(CheckpointError, match="img_resolution"):
        stylegan2_ada.load(ckpt, {})
    kwargs["img_resolution"] = real

    affine = gen.children()["synthesis"].children()["b4"].children()["conv1"].children()["affine"]
    affine.state["_parameters"]["weight"] = torch.zeros(3, 5)
    with pytest.raises(CheckpointError, match=r"synthesis\.convs\.0\.affine\.weight"):
        stylegan2_ada.load(ckpt, {})
