"""ESRGAN / Real-ESRGAN / BasicSR checkpoints load through ``load_model`` and reproduce the
official outputs (fixtures: ``shared/compat/esrgan``, see its README.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import CheckpointError, MissingOptionError, UnknownFormatError
from engine.loaders import basicsr, esrgan_legacy, load_model, native
from engine.loaders.base import RawCheckpoint
from engine.models import esrgan, srvgg
from engine.pipelines.upscale import reflect_indices, upscale_tensor
from engine.worker import JobContext
from tests.helpers import fixture_sets

ATOL = 1e-5
FAMILY_OF_CLASS = {"RRDBNet": "esrgan", "RRDB_Net": "esrgan", "SRVGGNetCompact": "srvgg", "MSRResNet": "srresnet"}
#: official constructor names -> our config field
CTOR_FIELDS = {
    "num_in_ch": "num_in_ch", "in_nc": "num_in_ch", "num_out_ch": "num_out_ch", "out_nc": "num_out_ch",
    "num_feat": "num_feat", "nf": "num_feat", "num_block": "num_block", "nb": "num_block",
    "num_grow_ch": "num_grow_ch", "gc": "num_grow_ch", "num_conv": "num_conv", "act_type": "act_type",
    "scale": "scale", "upscale": "scale",
}


def _entries() -> list[tuple[Path, str, dict]]:
    entries = []
    for folder in fixture_sets("esrgan"):
        config = json.loads((folder / "config.json").read_text())
        for name, entry in config["files"].items():
            entries.append((folder, name, entry))
    return entries


ENTRIES = _entries()
IDS = [f"{folder.name}/{name}" for folder, name, _ in ENTRIES]


def _prefixes(entry: dict) -> list[str]:
    """'rrdbnet (same weights as the plain file); realesrganer' -> ['rrdbnet', 'realesrganer']."""
    return [m.group(0) for part in entry["cases_prefix"].split(";") if (m := re.match(r"\w+", part.strip()))]


def _class_name(entry: dict) -> str:
    return re.split(r"[.\s]", entry["arch"].split(" ")[0])[-1]


@pytest.fixture(scope="module")
def ctx() -> JobContext:
    return JobContext.detached()


def _skip_without_fixtures():
    if not ENTRIES:
        pytest.skip("no esrgan fixtures")


@pytest.mark.parametrize("folder,name,entry", ENTRIES, ids=IDS)
def test_official_file_reproduces_reference_outputs(folder: Path, name: str, entry: dict, ctx: JobContext):
    model = load_model(folder / name)
    assert model.family == FAMILY_OF_CLASS[_class_name(entry)]
    assert model.source_format in (basicsr.NAME, esrgan_legacy.NAME)
    # the architecture was read from the weights: it must agree with the official constructor
    for ctor_name, value in entry["ctor"].items():
        field = CTOR_FIELDS.get(ctor_name)
        if field is not None and hasattr(model.config, field):
            assert getattr(model.config, field) == value, f"{ctor_name}: {getattr(model.config, field)} != {value}"
    if entry.get("wrapper") and "params_ema" in entry["wrapper"]:
        assert model.metadata.get("weights_key") == "params_ema"
    cases = np.load(folder / "cases.npz")
    ran = 0
    for prefix in _prefixes(entry):
        for index in range(10):
            key = f"{prefix}__case{index}__input"
            if key not in cases:
                break
            x, expected = cases[key], cases[f"{prefix}__case{index}__output"]
            assert expected.shape[-1] == x.shape[-1] * model.config.scale
            if _fits_the_network(model, x):  # the network alone needs sides the x2/x1 unshuffle divides
                with torch.no_grad():
                    direct = model.networks["G"](torch.from_numpy(x)).numpy()
                assert direct.shape == expected.shape
                assert np.abs(direct - expected).max() <= ATOL, f"{prefix} case {index} (network)"
            # the same through the upscale pipeline's float path (whole image, no pre-padding; it
            # pads to the input multiple itself)
            piped = upscale_tensor(model, x, ctx, tile=0, pre_pad=0)
            assert np.abs(piped - expected).max() <= ATOL, f"{prefix} case {index} (pipeline)"
            ran += 1
    if "realesrganer" not in _prefixes(entry):
        assert ran > 0, f"no cases found for {name}"


def _fits_the_network(model, x: np.ndarray) -> bool:
    multiple = int(getattr(model.config, "input_multiple", 1))
    return x.shape[-2] % multiple == 0 and x.shape[-1] % multiple == 0


def _probe(model, seed: int = 0) -> np.ndarray:
    """A random NCHW float image with the model's input channels and odd sides: what users give."""
    channels = int(getattr(model.config, "num_in_ch", 3))
    return torch.rand(1, channels, 9, 11, generator=torch.Generator().manual_seed(seed)).numpy()


def _realesrganer_entries():
    return [(folder, name, entry) for folder, name, entry in ENTRIES if "realesrganer" in _prefixes(entry)]


@pytest.mark.parametrize("folder,name,entry", _realesrganer_entries(), ids=[n for _, n, _ in _realesrganer_entries()])
def test_realesrganer_padding_is_reproduced_by_the_pipeline(folder: Path, name: str, entry: dict, ctx: JobContext):
    params = json.loads((folder / "config.json").read_text())["realesrganer_case"]
    cases = np.load(folder / "cases.npz")
    x = cases["realesrganer__input_nchw"]
    model = load_model(folder / params["model_file"])
    # our virtual reflection padding reads exactly the pixels RealESRGANer's padded input holds
    h, w = x.shape[2:]
    padded = cases["realesrganer__padded_input"]
    multiple = model.config.input_multiple
    rows = reflect_indices(h, -(-(h + params["pre_pad"]) // multiple) * multiple, params["pre_pad"])
    cols = reflect_indices(w, -(-(w + params["pre_pad"]) // multiple) * multiple, params["pre_pad"])
    np.testing.assert_array_equal(x[0][:, rows][:, :, cols], padded[0])
    out = upscale_tensor(model, x, ctx, tile=params["tile"], pre_pad=params["pre_pad"])
    assert out.shape == cases["realesrganer__output"].shape
    assert np.abs(out - cases["realesrganer__output"]).max() <= ATOL


def _training_saves():
    """Files that hold both ``params`` and ``params_ema`` (BasicSR's save of net_g + net_g_ema)."""
    return [(folder, name) for folder, name, entry in ENTRIES
            if "'params'" in (entry.get("wrapper") or "") and "'params_ema'" in (entry.get("wrapper") or "")]


@pytest.mark.parametrize("folder,name", _training_saves(), ids=[n for _, n in _training_saves()])
def test_training_save_prefers_params_ema(folder: Path, name: str, ctx: JobContext):
    ema = load_model(folder / name)
    raw = load_model(folder / name, {"weights_key": "params"})
    assert any("params_ema" in note for note in ema.notes)
    x = _probe(ema)
    assert not np.allclose(upscale_tensor(ema, x, ctx, tile=0, pre_pad=0), upscale_tensor(raw, x, ctx, tile=0, pre_pad=0))


def _legacy_pairs():
    """(old-layout file, master-layout file) of the original ESRGAN code, same weights (see README)."""
    old = [n for _, n, e in ENTRIES if "old layout" in e["arch"]]
    master = [n for _, n, e in ENTRIES if "master layout" in e["arch"]]
    folder = ENTRIES[0][0] if ENTRIES else None
    return [(folder, a, b) for a, b in zip(sorted(old), sorted(master))]


@pytest.mark.parametrize("folder,old_name,master_name", _legacy_pairs(), ids=[a for _, a, _ in _legacy_pairs()])
def test_old_and_master_layouts_give_identical_outputs(folder: Path, old_name: str, master_name: str, ctx: JobContext):
    old, master = load_model(folder / old_name), load_model(folder / master_name)
    x = _probe(old)
    assert np.array_equal(upscale_tensor(old, x, ctx, tile=0, pre_pad=0), upscale_tensor(master, x, ctx, tile=0, pre_pad=0))


# ---------------------------------------------------------------------------------------------
# errors and sniffing


def test_truncated_file_is_a_checkpoint_error(tmp_path: Path):
    _skip_without_fixtures()
    folder, name, _ = ENTRIES[0]
    data = (folder / name).read_bytes()
    broken = tmp_path / name
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as info:
        load_model(broken)
    assert "truncated" in str(info.value)


@pytest.mark.parametrize("state", [
    {"fc.weight": torch.zeros(16, 3, 3, 3), "head_0.conv_0.weight": torch.zeros(16, 16, 3, 3)},  # SPADE-like, incomplete
    {"foo": torch.zeros(3), "bar.weight": torch.zeros(2, 2)},
    {"params": {"conv_first.weight": torch.zeros(8, 3, 3, 3), "layers.0.weight": torch.zeros(8, 8, 3, 3)}},
], ids=["spade-like", "unrelated", "other-basicsr-arch"])
def test_unknown_dicts_are_unknown_format(tmp_path: Path, state: dict):
    path = tmp_path / "weights.pth"
    torch.save(state, path)
    with pytest.raises(UnknownFormatError):
        load_model(path)


@pytest.mark.parametrize("keys", [
    # pix2pixHD global generator / CycleGAN ResnetGenerator: 'model.N' keys, no 'model.1.sub.N.RDBk'
    ["model.1.weight", "model.1.bias", "model.2.weight", "model.10.conv_block.1.weight", "model.26.weight"],
    ["model.model.0.weight", "model.model.1.model.2.weight"],
])
def test_sr_sniffers_leave_pix2pix_style_files_alone(keys: list[str]):
    ckpt = RawCheckpoint(path=Path("x.pth"), kind="torch", obj={k: torch.zeros(4, 4, 3, 3) for k in keys})
    assert not basicsr.sniff(ckpt, {})
    assert not esrgan_legacy.sniff(ckpt, {})


def test_native_round_trip_gives_identical_outputs(tmp_path: Path, ctx: JobContext):
    _skip_without_fixtures()
    seen = set()
    for folder, name, entry in ENTRIES:
        model = load_model(folder / name)
        if (model.family, model.source_format) in seen:  # one file per architecture and layout
            continue
        seen.add((model.family, model.source_format))
        saved = native.save(model, tmp_path / (Path(name).stem + ".safetensors"))
        again = load_model(saved)
        assert again.family == model.family and again.config == model.config
        x = _probe(model)
        assert np.array_equal(upscale_tensor(model, x, ctx, tile=0, pre_pad=0),
                              upscale_tensor(again, x, ctx, tile=0, pre_pad=0)), name


# ---------------------------------------------------------------------------------------------
# layouts the public fixtures do not cover, made with our own modules


def _save(tmp_path: Path, state: dict, name: str = "model.pth") -> Path:
    path = tmp_path / name
    torch.save(state, path)
    return path


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_basicsr_rrdbnet_scale_is_read_from_conv_first(tmp_path: Path, scale: int):
    config = esrgan.RRDBNetConfig(scale=scale, num_feat=8, num_block=1, num_grow_ch=4)
    net = esrgan.build_networks(config)["G"].eval()
    model = load_model(_save(tmp_path, {"params_ema": net.state_dict()}))
    assert model.config == config
    x = torch.rand(1, 3, 8, 12)
    with torch.no_grad():
        assert model.networks["G"](x).shape == (1, 3, 8 * scale, 12 * scale)
        assert torch.equal(model.networks["G"](x), net(x))


def _to_old_layout(state: dict, num_block: int, n_up: int) -> dict:
    old = {}
    for key, value in state.items():
        if m := re.match(r"body\.(\d+)\.rdb(\d)\.conv(\d)\.(\w+)$", key):
            old[f"model.1.sub.{m[1]}.RDB{m[2]}.conv{m[3]}.0.{m[4]}"] = value
        elif m := re.match(r"conv_up(\d)\.(\w+)$", key):
            old[f"model.{3 + 3 * (int(m[1]) - 1)}.{m[2]}"] = value
        else:
            head, kind = key.split(".")
            index = {"conv_first": "0", "conv_body": f"1.sub.{num_block}", "conv_hr": str(2 + 3 * n_up),
                     "conv_last": str(4 + 3 * n_up)}[head]
            old[f"model.{index}.{kind}"] = value
    return old


@pytest.mark.parametrize("scale,n_up", [(1, 0), (2, 1), (3, 1), (8, 3)])
def test_old_esrgan_layout_at_other_scales(tmp_path: Path, scale: int, n_up: int):
    config = esrgan.RRDBNetConfig(scale=scale, num_feat=8, num_block=2, num_grow_ch=32, pixel_unshuffle=False)
    net = esrgan.build_networks(config)["G"].eval()
    path = _save(tmp_path, _to_old_layout(net.state_dict(), 2, n_up))
    if n_up == 1:  # x2 and x3 files look alike: the user must say which
        with pytest.raises(MissingOptionError) as info:
            load_model(path)
        assert info.value.option == "scale"
        model = load_model(path, {"scale": scale})
    else:
        model = load_model(path)
    assert model.config == config
    x = torch.rand(1, 3, 5, 7)
    with torch.no_grad():
        assert torch.equal(model.networks["G"](x), net(x))


@pytest.mark.parametrize("name, scale", [("2x_Community.pth", 2), ("Community_x3.pth", 3), ("Community-3x.pth", 3)])
def test_x2_x3_scale_is_taken_from_the_file_name_with_a_note(tmp_path: Path, name: str, scale: int):
    config = esrgan.RRDBNetConfig(scale=scale, num_feat=8, num_block=1, num_grow_ch=8, pixel_unshuffle=False)
    net = esrgan.build_networks(config)["G"].eval()
    path = _save(tmp_path, _to_old_layout(net.state_dict(), 1, 1), name)
    model = load_model(path)
    assert model.config == config
    assert any(f"x{scale} from the file name" in note for note in model.notes)
    x = torch.rand(1, 3, 5, 7)
    with torch.no_grad():
        assert torch.equal(model.networks["G"](x), net(x))
    other = 5 - scale  # an explicit option wins over the name
    assert load_model(path, {"scale": other}).config.scale == other


@pytest.mark.parametrize("name", ["model.pth", "4x_Community.pth", "2x_to_3x.pth"])
def test_x2_x3_scale_is_asked_for_when_the_name_does_not_settle_it(tmp_path: Path, name: str):
    config = esrgan.RRDBNetConfig(scale=2, num_feat=8, num_block=1, num_grow_ch=8, pixel_unshuffle=False)
    net = esrgan.build_networks(config)["G"]
    with pytest.raises(MissingOptionError, match="file name does not say x2 or x3") as info:
        load_model(_save(tmp_path, _to_old_layout(net.state_dict(), 1, 1), name))
    assert info.value.option == "scale"


def test_scale_from_sidecar_json(tmp_path: Path):
    config = esrgan.RRDBNetConfig(scale=3, num_feat=8, num_block=1, num_grow_ch=8, pixel_unshuffle=False)
    net = esrgan.build_networks(config)["G"]
    path = _save(tmp_path, _to_old_layout(net.state_dict(), 1, 1), "x3_model.pth")
    path.with_suffix(".json").write_text(json.dumps({"upscale": 3}))
    assert load_model(path).config.scale == 3


def test_option_contradicting_the_weights_is_an_error(tmp_path: Path):
    net = esrgan.build_networks(esrgan.RRDBNetConfig(num_feat=8, num_block=1, num_grow_ch=4))["G"]
    path = _save(tmp_path, net.state_dict())
    with pytest.raises(CheckpointError, match="num_block"):
        load_model(path, {"num_block": 23})


@pytest.mark.parametrize("act_type", ["relu", "leakyrelu"])
def test_srvgg_without_prelu_needs_act_type(tmp_path: Path, act_type: str):
    config = srvgg.SRVGGConfig(num_feat=8, num_conv=2, upscale=2, act_type=act_type)
    net = srvgg.build_networks(config)["G"].eval()
    path = _save(tmp_path, {"params": net.state_dict()})
    default = load_model(path)
    assert default.config.act_type == "relu"
    assert any("act_type" in note for note in default.notes)
    chosen = load_model(path, {"act_type": act_type})
    assert chosen.config == config
    x = torch.rand(1, 3, 6, 5) - 0.5
    with torch.no_grad():
        assert torch.equal(chosen.networks["G"](x), net(x))
