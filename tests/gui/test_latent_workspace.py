"""The Latent workspace in the main window, on the real engine with a StyleGAN2 fixture checkpoint.

The fixture (tests/compat: stylegan2_ada/network-snapshot-cond.pkl, 32x32, 5 classes, 8 layers)
renders in milliseconds on the CPU; tests wait with qtbot.waitUntil, never with sleeps.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from engine.imageio import read_image, read_png_text
from engine.latent_types import LatentSampleRequest
from engine.types import ModelRef
from gui.latent.view import format_ms
from tests.helpers import compat_root

WAIT_MS = 30_000


@pytest.fixture
def checkpoint():
    path = compat_root() / "stylegan2_ada" / "network-snapshot-cond.pkl"
    if not path.is_file():
        pytest.skip(f"no StyleGAN2 fixture at {path}")
    return str(path)


@pytest.fixture
def warnings_shown(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: shown.append((title, text)))
    return shown


@pytest.fixture(scope="module")
def real_engine():
    """One CPU engine for the module: the model and its principal directions stay cached between
    tests (each test still builds its own window, session and document)."""
    from engine.service import Engine

    engine = Engine(device="cpu")
    yield engine
    engine.shutdown()


@pytest.fixture
def latent(qtbot, make_window, real_engine, checkpoint, warnings_shown):
    """(window, workspace) with the fixture loaded and its first image and directions in."""
    window = make_window(real_engine, shutdown=lambda: None)
    workspace = window.workspace("Latent")
    window.model_loader.load(checkpoint)
    qtbot.waitUntil(lambda: workspace.session.last is not None and workspace.session.directions is not None,
                    timeout=WAIT_MS)
    return window, workspace


def wait_render(qtbot, session, condition):
    """Wait until the latest render satisfies ``condition(render)``; returns that render."""
    qtbot.waitUntil(lambda: session.last is not None and condition(session.last), timeout=WAIT_MS)
    return session.last


def direct_render(engine, request):
    return engine.submit(request).result(timeout=30)


def test_loading_shows_the_workspace_and_a_render_equal_to_a_direct_engine_render(qtbot, latent, real_engine, checkpoint):
    window, workspace = latent
    session, panel = workspace.session, workspace.panel
    assert window.views.currentWidget() is workspace.view
    assert "5 classes" in panel.model_label.text()
    panel.seed_box.setValue(5)
    panel.psi_slider.slider.setValue(50)  # psi 0.5
    render = wait_render(qtbot, session, lambda r: r.settings.seed == 5 and r.settings.psi == pytest.approx(0.5))
    expected = direct_render(real_engine, LatentSampleRequest(model=ModelRef(checkpoint, {}), seed=5, psi=0.5, class_index=0))
    np.testing.assert_array_equal(render.image, expected.image)
    assert workspace.view.canvas.image_size == (expected.image.shape[1], expected.image.shape[0])
    assert workspace.view.time_label.text() == f"Render {format_ms(session.last.duration_s)}"  # any duration
    assert workspace.view.position_label.text() == "Seed 5"
    panel.next_button.click()
    wait_render(qtbot, session, lambda r: r.settings.seed == 6)
    assert panel.seed_box.seed() == 6


def test_dragging_on_the_image_blends_neighbouring_seeds(qtbot, latent, real_engine, checkpoint):
    window, workspace = latent
    session, view = workspace.session, workspace.view.canvas
    session.set_seed(10)
    first = wait_render(qtbot, session, lambda r: r.settings.seed == 10)
    center = view.viewport().rect().center()
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=center)
    qtbot.mouseMove(view.viewport(), center - QPoint(80, 0))  # half a seed to the right
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=center - QPoint(80, 0))
    render = wait_render(qtbot, session, lambda r: r.request.ws is not None)
    assert session.settings.seed_x == pytest.approx(10.5)
    ref = ModelRef(checkpoint, {})
    ws10 = direct_render(real_engine, LatentSampleRequest(model=ref, seed=10, psi=0.7, class_index=0)).ws
    ws11 = direct_render(real_engine, LatentSampleRequest(model=ref, seed=11, psi=0.7, class_index=0)).ws
    np.testing.assert_allclose(render.ws, 0.5 * ws10 + 0.5 * ws11, atol=1e-5)
    assert not np.array_equal(render.image, first.image)
    assert "Between seeds 10, 11" in workspace.view.position_label.text()


def test_mixing_and_direction_sliders_change_the_image(qtbot, latent):
    window, workspace = latent
    session, panel = workspace.session, workspace.panel
    base = wait_render(qtbot, session, lambda r: True).image
    panel.tabs.setCurrentWidget(panel.mixing_tab)
    panel.mixing_tab.add_button.click()
    mixed = wait_render(qtbot, session, lambda r: bool(r.request.mix))
    assert not np.array_equal(mixed.image, base)
    assert min(m.layer_start for m in mixed.request.mix) == 4  # fine layers of 8
    (row,) = panel.mixing_tab.rows.values()
    qtbot.waitUntil(lambda: row.thumbnail.pixmap() is not None and not row.thumbnail.pixmap().isNull(), timeout=WAIT_MS)
    row.checks.boxes[0].setChecked(True)  # the coarsest layer from the source too
    before = wait_render(qtbot, session, lambda r: bool(r.request.mix) and r.request.mix[0].layer_start == 0)

    tab = panel.directions_tab
    assert len(tab.sliders) == 10
    tab.sliders[0].slider.setValue(30)  # +3 standard deviations
    moved = wait_render(qtbot, session, lambda r: bool(r.request.directions))
    assert session.settings.pca[0] == pytest.approx(3.0)
    assert not np.array_equal(moved.image, before.image)
    assert moved.request.directions[0].strength == pytest.approx(3.0 * session.directions.std[0])


def test_bookmarks_save_and_restore(qtbot, latent, monkeypatch):
    window, workspace = latent
    session, tab = workspace.session, workspace.panel.bookmarks_tab
    session.set_seed(3)
    at_three = wait_render(qtbot, session, lambda r: r.settings.seed == 3)
    tab.add("three")
    session.set_seed(30)
    session.set_psi(1.0)
    wait_render(qtbot, session, lambda r: r.settings.seed == 30)
    assert tab.list.count() == 1 and tab.list.item(0).text() == "three"
    tab.list.setCurrentRow(0)
    tab.recall_button.click()
    back = wait_render(qtbot, session, lambda r: r.settings.seed == 3)
    np.testing.assert_array_equal(back.image, at_three.image)
    assert workspace.panel.psi_slider.value() == pytest.approx(0.7)
    stack = window.document.undo_stack
    stack.undo()  # recalling a bookmark is an undo step of its own: seed 30 and psi 1.0 come back
    assert session.settings.seed == 30 and workspace.panel.psi_slider.value() == pytest.approx(1.0)
    while tab.list.count() and stack.canUndo():
        stack.undo()
    assert tab.list.count() == 0


def test_recipe_export_and_open_round_trip(qtbot, latent, tmp_path, warnings_shown):
    window, workspace = latent
    session, panel = workspace.session, workspace.panel
    session.set_seed(11)
    session.set_psi(0.8)
    session.set_class(3)
    session.add_mix_source(seed=99, preset="middle")
    session.set_direction(1, -2.0)
    session.set_noise("random", 4)
    made = wait_render(qtbot, session, lambda r: r.settings.seed == 11 and r.settings.pca and r.settings.noise_mode == "random")
    path = tmp_path / "eleven.png"
    assert panel.export_png_to(str(path))
    recipe = json.loads(read_png_text(path)["gan_studio_recipe"])
    assert (recipe["tool"], recipe["seed"], recipe["psi"], recipe["class"], recipe["noise_mode"]) == ("latent", 11, 0.8, 3, "random")
    assert recipe["mix"] == [[99, 2, 4]] and len(recipe["directions"]) == 1
    np.testing.assert_array_equal(read_image(path), made.image)

    session.apply_settings(type(session.settings)())
    wait_render(qtbot, session, lambda r: r.settings.seed == 0 and not r.settings.mix)
    assert panel.open_recipe_from(str(path)) is not None
    again = wait_render(qtbot, session, lambda r: r.settings.seed == 11 and bool(r.settings.mix))
    np.testing.assert_array_equal(again.image, made.image)
    assert panel.seed_box.seed() == 11 and panel.noise_combo.currentData() == "random"

    junk = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(junk)
    assert panel.open_recipe_from(str(junk)) is None
    assert warnings_shown and "no GAN Studio recipe" in warnings_shown[-1][1]
    assert session.settings.seed == 11  # the work is untouched


def test_interpolation_export_writes_frames_and_can_be_cancelled(qtbot, latent, tmp_path):
    window, workspace = latent
    session, tab = workspace.session, workspace.panel.bookmarks_tab
    for seed in (1, 2):
        session.set_seed(seed)
        wait_render(qtbot, session, lambda r, seed=seed: r.settings.seed == seed)
        tab.add(f"seed {seed}")
    tab.frames_spin.setValue(4)
    export = tab.export_to(str(tmp_path / "walk.png"), "apng")
    qtbot.waitUntil(lambda: export.done, timeout=WAIT_MS)
    with Image.open(tmp_path / "walk.png") as animation:
        assert animation.n_frames == 4
    assert "4 frames" in tab.message.text()

    tab.frames_spin.setValue(60)
    (tmp_path / "frames").mkdir()
    export = tab.export_to(str(tmp_path / "frames" / "walk.png"), "sequence")
    export.progress.connect(lambda done, _total: export.cancel() if done >= 2 else None)
    with qtbot.waitSignal(export.cancelled, timeout=WAIT_MS):
        pass
    written = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert 2 <= len(written) < 60 and written[0] == "walk_0001.png"
    assert "cancelled" in tab.message.text() and tab.export_button.isEnabled()


def test_class_picker_search_and_class_change(qtbot, latent):
    window, workspace = latent
    session, tab = workspace.session, workspace.panel.class_tab
    assert tab.isEnabled() and tab.class_list.count() == 5
    tab.search.setText("3")
    assert tab.visible_classes() == [3]
    tab.search.setText("")
    base = wait_render(qtbot, session, lambda r: r.request.class_index == 0)
    tab.class_list.setCurrentRow(2)
    other = wait_render(qtbot, session, lambda r: r.request.class_index == 2)
    assert not np.array_equal(other.image, base.image)
    tab.add_to_mix(4)
    mixed = wait_render(qtbot, session, lambda r: r.request.class_vector is not None)
    np.testing.assert_allclose(mixed.request.class_vector, [0, 0, 0.5, 0, 0.5])


def test_send_to_document_makes_an_undoable_image_layer(qtbot, latent):
    window, workspace = latent
    render = wait_render(qtbot, workspace.session, lambda r: True)
    workspace.panel.send_button.click()
    assert window.document.has_image
    np.testing.assert_array_equal(window.document.composite()[:, :, :3], render.image)
    window.document.undo_stack.undo()
    assert not window.document.has_image


def test_biggan_classes_truncation_and_blending(qtbot, make_window, real_engine, warnings_shown):
    path = compat_root() / "biggan" / "model"
    if not path.is_dir():
        pytest.skip(f"no BigGAN fixture at {path}")
    window = make_window(real_engine, shutdown=lambda: None)
    workspace = window.workspace("Latent")
    session, panel = workspace.session, workspace.panel
    window.model_loader.load(str(path))
    render = wait_render(qtbot, session, lambda r: True)
    assert session.is_biggan and len(session.classes) == 10 and session.directions is None
    assert not panel.tabs.isTabEnabled(1) and not panel.tabs.isTabEnabled(2) and panel.tabs.currentWidget() is panel.class_tab
    assert panel.psi_slider.slider.maximum() == 100 and not panel.noise_combo.isEnabled()  # psi in (0, 1]
    ref = ModelRef(str(path), {})
    expected = direct_render(real_engine, LatentSampleRequest(model=ref, seed=0, psi=0.7, class_index=0))
    np.testing.assert_array_equal(render.image, expected.image)

    panel.class_tab.add_to_mix(7)
    mixed = wait_render(qtbot, session, lambda r: r.request.class_vector is not None)
    np.testing.assert_allclose(mixed.request.class_vector[[0, 7]], [0.5, 0.5])
    session.move_on_grid(0.5, 0.0)
    blended = wait_render(qtbot, session, lambda r: r.request.ws is not None)
    z0 = direct_render(real_engine, LatentSampleRequest(model=ref, seed=0, psi=0.7, class_vector=mixed.request.class_vector)).ws
    z1 = direct_render(real_engine, LatentSampleRequest(model=ref, seed=1, psi=0.7, class_vector=mixed.request.class_vector)).ws
    np.testing.assert_allclose(blended.ws, 0.5 * z0 + 0.5 * z1, atol=1e-6)
    assert not warnings_shown


def test_reopening_a_document_loads_its_latent_model_and_settings(qtbot, make_window, real_engine, latent, tmp_path):
    window, workspace = latent
    workspace.session.set_psi(0.6)
    workspace.session.set_seed(77)
    expected = workspace.session.settings.to_dict()
    path = tmp_path / "explore.ora"
    window.document.new_document(8, 8)
    assert window.files.save_document(str(path))

    again = make_window(real_engine, shutdown=lambda: None)
    session = again.workspace("Latent").session
    assert again.files.open_document(str(path))
    qtbot.waitUntil(lambda: session.model is not None and session.last is not None, timeout=WAIT_MS)
    assert session.model.path == workspace.session.model.path
    assert session.settings.to_dict() == expected and session.settings.psi == 0.6
