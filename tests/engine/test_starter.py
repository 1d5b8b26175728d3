"""Starter models: the shipped manifest matches its files, every model loads and renders, a
damaged file is reported and never loaded, the user's own models folder is listed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine import starter


def shipped_entries() -> list[dict]:
    return starter.read_manifest(starter.CHECKPOINT_DIR).get("models", [])


def _write_manifest(folder: Path, entries: list[dict]) -> None:
    (folder / starter.MANIFEST_NAME).write_text(json.dumps({"format": starter.MANIFEST_FORMAT, "models": entries}))


# ---- the shipped manifest ----------------------------------------------------------------------


def test_every_shipped_entry_exists_with_its_sha256_and_size():
    for entry in shipped_entries():
        path = starter.CHECKPOINT_DIR / entry["file"]
        assert path.is_file(), f"{entry['file']} is listed but missing"
        assert len(entry["sha256"]) == 64 and starter.sha256_of(path) == entry["sha256"], entry["file"]
        assert path.stat().st_size == entry["size_bytes"], entry["file"]
        assert entry["workspace"] in starter.WORKSPACES
        for key in ("family", "config", "preset", "training", "metrics", "license"):
            assert entry.get(key) not in (None, ""), f"{entry['file']} has no {key}"
        for key in ("steps", "wall_time_s", "hardware", "data"):
            assert key in entry["training"], f"{entry['file']}: training has no {key}"
    assert not starter.scan().problems


def test_checkpoints_folder_stays_under_80_mb():
    total = sum(p.stat().st_size for p in starter.CHECKPOINT_DIR.rglob("*") if p.is_file())
    assert total < 80 * 10**6


def _non_degenerate(image: np.ndarray) -> None:
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert np.isfinite(image.astype(np.float64)).all()
    assert int(image.max()) - int(image.min()) > 10, "a constant image"
    assert float(image.astype(np.float64).std()) > 2.0


def _render(engine, entry: dict, path: Path) -> tuple[np.ndarray, tuple[int, ...]]:
    """Render one image with a shipped model through the engine; returns it and the expected shape."""
    from engine.inpaint_types import InpaintRequest
    from engine.latent_types import LatentSampleRequest
    from engine.types import LoadModelRequest, ModelRef, SynthesizeRequest, UpscaleRequest

    ref = ModelRef(str(path))
    summary = engine.submit(LoadModelRequest(ref)).result(timeout=300)
    assert summary.family == entry["family"]
    res = int(entry["resolution"])
    workspace = entry["workspace"]
    if workspace == "paint":
        labels = starter.example_scene_labels(res, res)
        out = engine.submit(SynthesizeRequest(ref, labels, seed=1)).result(timeout=300).image
        return out, (res, res, 3)
    if workspace == "latent":
        out = engine.submit(LatentSampleRequest(ref, seed=3)).result(timeout=300).image
        return out, (res, res, 3)
    rng = np.random.default_rng(0)
    image = (rng.random((48, 40, 3)) * 60 + np.linspace(0, 180, 40)[None, :, None]).astype(np.uint8)
    if workspace == "upscale":
        scale = int(entry["config"].get("upscale") or entry["config"].get("scale") or 4)
        out = engine.submit(UpscaleRequest(ref, image)).result(timeout=300).image
        return out, (48 * scale, 40 * scale, 3)
    mask = np.zeros(image.shape[:2], bool)
    mask[10:30, 12:28] = True
    out = engine.submit(InpaintRequest(ref, image, mask)).result(timeout=300).image
    assert np.array_equal(out[~mask], image[~mask]), "pixels outside the hole changed"
    return out, image.shape


@pytest.mark.slow
def test_every_shipped_model_loads_and_renders_a_real_image():
    entries = shipped_entries()
    if not entries:
        pytest.skip("no starter models are shipped in this checkout")
    from engine.service import Engine

    engine = Engine(device="cpu")
    try:
        for entry in entries:
            image, shape = _render(engine, entry, starter.CHECKPOINT_DIR / entry["file"])
            assert image.shape == shape, entry["file"]
            _non_degenerate(image)
    finally:
        engine.shutdown()


def _save_tiny_upscaler(path: Path) -> Path:
    from engine.loaders.native import save
    from engine.models import srvgg
    from engine.models.loaded import LoadedModel

    config = srvgg.SRVGGConfig(num_feat=4, num_conv=1, upscale=2)
    save(LoadedModel(path=str(path), family="srvgg", source_format="test", config=config,
                     networks=srvgg.build_networks(config)), path)
    return path


# ---- checksums and bad input --------------------------------------------------------------------


def test_a_file_that_does_not_match_its_sha256_is_reported_and_left_out(tmp_path):
    good, bad = tmp_path / "good.safetensors", tmp_path / "bad.safetensors"
    good.write_bytes(b"good model bytes")
    bad.write_bytes(b"original bytes!!")
    entries = [
        {"file": good.name, "workspace": "paint", "sha256": starter.sha256_of(good), "size_bytes": good.stat().st_size},
        {"file": bad.name, "workspace": "upscale", "sha256": starter.sha256_of(bad), "size_bytes": bad.stat().st_size},
    ]
    _write_manifest(tmp_path, entries)
    assert [Path(m.path).name for m in starter.scan(tmp_path).models] == ["good.safetensors", "bad.safetensors"]
    bad.write_bytes(b"tampered bytes!!")  # same size, other content
    found = starter.scan(tmp_path)
    assert [Path(m.path).name for m in found.models] == ["good.safetensors"]
    assert len(found.problems) == 1 and "bad.safetensors" in found.problems[0] and "SHA-256" in found.problems[0]
    bad.write_bytes(b"short")
    assert "bytes" in starter.scan(tmp_path).problems[0]


def test_missing_folder_broken_manifest_and_bad_entries(tmp_path):
    assert starter.scan(tmp_path / "nowhere") == starter.StarterScan()
    (tmp_path / starter.MANIFEST_NAME).write_text("{broken")
    found = starter.scan(tmp_path)
    assert not found.models and "reinstall" in found.problems[0]
    (tmp_path / "a.safetensors").write_bytes(b"x")
    _write_manifest(tmp_path, [{"file": "missing.safetensors"}, {"no_file": 1},
                               {"file": "a.safetensors", "workspace": "nowhere"},
                               {"file": "a.safetensors", "family": "esrgan"}])
    found = starter.scan(tmp_path)
    assert [(Path(m.path).name, m.workspace) for m in found.models] == [("a.safetensors", "upscale")]
    assert len(found.problems) == 3


def test_user_models_folder_lists_checkpoints_with_family_from_the_header(tmp_path):
    ours = _save_tiny_upscaler(tmp_path / "my-upscaler.safetensors")
    (tmp_path / "foreign.pth").write_bytes(b"not read")
    (tmp_path / "notes.txt").write_text("not a model")
    models = starter.user_models(tmp_path)
    assert [Path(m.path).name for m in models] == ["foreign.pth", ours.name]
    foreign, mine = models
    assert foreign.family == "" and foreign.source == "user" and foreign.size_bytes == 8
    assert mine.family == "srvgg" and mine.workspace == "upscale" and mine.size_bytes == ours.stat().st_size
    assert starter.user_models(tmp_path / "missing") == [] and starter.user_models("") == []


def test_example_scene_uses_the_world_label_set():
    from engine.data.world import CLASS_NAMES

    labels = starter.example_scene_labels(64, 96)
    assert labels.shape == (64, 96) and labels.dtype == np.int32
    assert 0 <= labels.min() and labels.max() < len(CLASS_NAMES)
    assert len(np.unique(labels)) >= 3, "an example scene should show several classes"
