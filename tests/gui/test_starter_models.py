"""The first minute: the window opens with the starter models loaded (Paint shows the example
scene), lists shipped and user models, reports a damaged starter instead of loading it, and still
opens without a checkpoints folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine import starter


def _write_models(folder: Path, names: dict[str, str]) -> dict[str, Path]:
    """Files + manifest in ``folder``: ``names`` maps file name -> workspace. Returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, entries = {}, []
    for name, workspace in names.items():
        path = folder / name
        path.write_bytes(f"model bytes of {name}".encode())
        paths[name] = path
        entries.append({"file": name, "workspace": workspace, "family": "spade", "title": name,
                        "sha256": starter.sha256_of(path), "size_bytes": path.stat().st_size,
                        "metrics": [{"name": "FCN pixel accuracy", "value": 0.7, "reference": 0.9,
                                     "reference_name": "real images", "unit": ""}]})
    (folder / starter.MANIFEST_NAME).write_text(json.dumps({"format": starter.MANIFEST_FORMAT, "models": entries}))
    return paths


def _loaded_paths(window) -> set[str]:
    return {s.path for s in window.models_panel.summaries}


def test_starters_are_listed_and_loaded_at_start(make_window, fake_engine, tmp_path, qtbot):
    paths = _write_models(tmp_path / "ckpt", {"a.safetensors": "paint", "b.safetensors": "upscale"})
    window = make_window(fake_engine, checkpoints_folder=str(tmp_path / "ckpt"), load_starters=True)
    qtbot.waitUntil(lambda: _loaded_paths(window) == {str(p) for p in paths.values()}, timeout=5000)
    panel = window.models_panel
    assert [Path(m.path).name for m in panel.catalog] == ["a.safetensors", "b.safetensors"]
    assert not panel.catalog_problems.isVisibleTo(window)
    assert not window.banner.isVisibleTo(window)
    assert window.settings.recent_files() == []  # starters do not crowd the recent files


def test_a_starter_whose_sha256_does_not_match_is_reported_not_loaded(make_window, fake_engine, tmp_path, qtbot):
    paths = _write_models(tmp_path / "ckpt", {"good.safetensors": "paint", "bad.safetensors": "upscale"})
    paths["bad.safetensors"].write_bytes(b"model bytes of XXX.safetensors")  # same size, other bytes
    window = make_window(fake_engine, checkpoints_folder=str(tmp_path / "ckpt"), load_starters=True)
    qtbot.waitUntil(lambda: _loaded_paths(window) == {str(paths["good.safetensors"])}, timeout=5000)
    qtbot.wait(100)
    assert _loaded_paths(window) == {str(paths["good.safetensors"])}
    panel = window.models_panel
    assert [Path(m.path).name for m in panel.catalog] == ["good.safetensors"]
    assert panel.catalog_problems.isVisibleTo(window)
    assert "bad.safetensors" in panel.catalog_problems.text() and "SHA-256" in panel.catalog_problems.text()


def test_the_app_opens_without_a_checkpoints_folder(make_window, fake_engine, tmp_path, qtbot):
    window = make_window(fake_engine, checkpoints_folder=str(tmp_path / "no-such-folder"), load_starters=True)
    qtbot.wait(50)
    assert window.models_panel.catalog == [] and not window.models_panel.has_model
    assert window.banner.isVisibleTo(window)
    assert not window.models_panel.catalog_problems.isVisibleTo(window)


def test_user_models_folder_is_listed_and_double_click_loads(make_window, fake_engine, settings, tmp_path, qtbot):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "portrait.pth").write_bytes(b"0" * 2048)
    settings.setValue("models/folder", str(user))
    _write_models(tmp_path / "ckpt", {"a.safetensors": "paint"})
    window = make_window(fake_engine, checkpoints_folder=str(tmp_path / "ckpt"), load_starters=False)
    panel = window.models_panel
    assert [(Path(m.path).name, m.source) for m in panel.catalog] == [("a.safetensors", "shipped"), ("portrait.pth", "user")]
    assert "your folder" in panel.catalog_list.item(1).text() and "2 KB" in panel.catalog_list.item(1).text()
    assert not panel.has_model
    panel.catalog_list.itemDoubleClicked.emit(panel.catalog_list.item(1))
    qtbot.waitUntil(lambda: _loaded_paths(window) == {str(user / "portrait.pth")}, timeout=5000)
    panel.catalog_list.setCurrentRow(0)
    assert "FCN pixel accuracy" in panel.catalog_details.text() and "shipped with GAN Studio" in panel.catalog_details.text()


@pytest.mark.slow
def test_the_app_opens_with_the_shipped_models_in_their_workspaces(make_window, real_engine, qtbot):
    shipped = starter.scan()
    if not shipped.models:
        pytest.skip("no starter models are shipped in this checkout")
    window = make_window(real_engine, load_starters=True)
    wanted = {m.workspace: m.path for m in reversed(shipped.models)}
    qtbot.waitUntil(lambda: _loaded_paths(window) == set(wanted.values()), timeout=120_000)
    sessions = {"paint": window.workspace("Paint").session, "latent": window.workspace("Latent").session}
    if "paint" in wanted:
        paint = sessions["paint"]
        assert paint.model is not None and paint.model.path == wanted["paint"]
        labels = paint.label_layer().pixels
        assert np.array_equal(labels, starter.example_scene_labels(*labels.shape))
        qtbot.waitUntil(lambda: paint.last is not None, timeout=120_000)
        image = paint.last.image
        assert image.shape[:2] == labels.shape and int(image.max()) - int(image.min()) > 10
        assert window.views.currentWidget() is window.workspace("Paint").view
    if "latent" in wanted:
        assert sessions["latent"].model is not None and sessions["latent"].model.path == wanted["latent"]
    for title, workspace in (("Upscale", "upscale"), ("Inpaint", "inpaint")):
        if workspace in wanted:
            session = window.workspace(title).session
            assert session.model is not None and session.model.path == wanted[workspace]
