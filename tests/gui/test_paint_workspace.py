"""The Paint workspace end to end: open a real SPADE checkpoint, paint with the mouse, see the render."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.types import ModelRef, SynthesizeRequest
from tests.helpers import compat_root

SPADE_SEG = compat_root() / "spade" / "seg" / "latest_net_G.pth"
needs_spade = pytest.mark.skipif(not SPADE_SEG.is_file(), reason="no SPADE fixture")
#: every option the fixture leaves open, given (a guess would be asked for in the options dialog)
SPADE_OPTIONS = {"label_nc": 8, "contain_dontcare_label": False, "no_instance": False, "crop_size": 64}


def _load_paint_model(qtbot, window, options):
    paint = window.workspace("Paint")
    window.model_loader.load(str(SPADE_SEG), options)
    qtbot.waitUntil(lambda: paint.session.model is not None, timeout=60_000)
    return paint


def _drag(qtbot, view, points):
    viewport = view.viewport()
    to_view = [view.mapFromScene(x, y) for x, y in points]
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=to_view[0])
    for p in to_view[1:]:
        qtbot.mouseMove(viewport, p)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=to_view[-1])


@needs_spade
def test_paint_with_the_mouse_renders_live_and_matches_the_engine(qtbot, make_window, real_engine):
    window = make_window(real_engine)
    window.show()
    paint = _load_paint_model(qtbot, window, dict(SPADE_OPTIONS))
    session, view = paint.session, paint.view.label_view
    assert window.views.currentWidget() is paint.view
    assert session.label_layer().pixels.shape == (64, 64)
    renders = []
    session.rendered.connect(renders.append)
    session.brush.class_index = 3
    session.brush.size = 10
    _drag(qtbot, view, [(10, 10), (20, 12), (40, 30)])
    labels = session.labels().copy()
    assert (labels == 3).sum() > 50 and window.document.undo_stack.canUndo()
    qtbot.waitUntil(lambda: bool(renders) and session.last is renders[-1], timeout=60_000)
    qtbot.waitUntil(lambda: window.bridge.pending_count == 0, timeout=60_000)
    final = session.last
    expected = real_engine.submit(SynthesizeRequest(ModelRef(str(SPADE_SEG), dict(SPADE_OPTIONS)),
                                                    labels, seed=session.seed)).result(60)
    assert np.array_equal(final.image, expected.image)
    assert final.recipe["model_family"] == "spade" and final.recipe["seed"] == session.seed


@needs_spade
def test_missing_option_is_asked_for_then_the_model_loads(qtbot, make_window, real_engine, monkeypatch):
    window = make_window(real_engine)
    asked = []

    def ask(question):  # the options dialog, answered: label_nc=8, the yes/no boxes left unticked
        asked.append(question)
        return {spec.name: (8 if spec.name == "label_nc" else bool(spec.value)) for spec in question.options}

    monkeypatch.setattr(window.model_loader, "ask_options", ask)
    paint = window.workspace("Paint")
    window.model_loader.load(str(SPADE_SEG))
    qtbot.waitUntil(lambda: paint.session.model is not None, timeout=60_000)
    first = asked[0].spec("label_nc")
    assert first is not None and first.value is None and not first.guessed  # asked, not guessed
    assert {s.name for s in asked[0].options} == {"label_nc", "contain_dontcare_label", "no_instance"}
    assert asked[0].channels == 9 and len(asked) == 1
    assert paint.session.model_options == {"label_nc": 8, "contain_dontcare_label": False, "no_instance": False}


@needs_spade
def test_undo_of_a_stroke_restores_labels_and_rerenders(qtbot, make_window, real_engine):
    window = make_window(real_engine)
    paint = _load_paint_model(qtbot, window, dict(SPADE_OPTIONS))
    session = paint.session
    qtbot.waitUntil(lambda: session.last is not None, timeout=60_000)
    blank = session.last.image.copy()
    session.brush.class_index = 5
    session.begin_stroke(32, 32)
    session.move_stroke(50, 40)
    session.end_stroke(50, 40)
    qtbot.waitUntil(lambda: not np.array_equal(session.last.image, blank), timeout=60_000)
    window.document.undo_stack.undo()
    assert (session.labels() == 5).sum() == 0
    qtbot.waitUntil(lambda: np.array_equal(session.last.image, blank), timeout=60_000)


@needs_spade
def test_export_with_recipe_and_open_recipe(qtbot, make_window, real_engine, tmp_path):
    from engine.imageio import read_image

    window = make_window(real_engine)
    paint = _load_paint_model(qtbot, window, dict(SPADE_OPTIONS))
    session = paint.session
    session.set_seed(1234)
    qtbot.waitUntil(lambda: session.last is not None and session.last.seed == 1234, timeout=60_000)
    out = tmp_path / "painting.png"
    paint.panel.export_image_to(str(out))
    assert np.array_equal(read_image(out)[:, :, :3], session.last.image)
    received = []
    paint.panel.recipe_requested.connect(received.append)
    recipe = paint.panel.open_recipe_from(str(out))
    assert recipe["seed"] == 1234 and recipe["label_set"] == session.palette.name
    assert received == [recipe] and len(recipe["checkpoint_sha256"]) == 64
    json.dumps(recipe)


@needs_spade
def test_label_map_import_export_round_trip(qtbot, make_window, real_engine, tmp_path, monkeypatch):
    from engine.labelsets import write_color_png, write_index_png

    window = make_window(real_engine)
    paint = _load_paint_model(qtbot, window, dict(SPADE_OPTIONS))
    session, panel = paint.session, paint.panel
    labels = np.zeros((64, 64), np.int32)
    labels[10:30, 5:60] = 2
    labels[40:, :] = 7
    write_index_png(tmp_path / "index.png", labels)
    assert panel.import_labels_from(str(tmp_path / "index.png"))
    assert np.array_equal(session.labels(), labels)
    window.document.undo_stack.undo()
    assert (session.labels() == 0).all()
    color = tmp_path / "color.png"
    write_color_png(color, labels, session.palette.label_set)
    assert panel.import_labels_from(str(color))
    assert np.array_equal(session.labels(), labels)
    # a colour outside the palette is reported, and mapped to the nearest on request
    from PIL import Image

    rgb = session.palette.label_set.colorize(labels)
    rgb[0, 0] = rgb[0, 0] ^ 3
    Image.fromarray(rgb).save(tmp_path / "odd.png")
    warnings = []
    monkeypatch.setattr("gui.paint.panel.QMessageBox.question", lambda *a, **k: __import__("PySide6.QtWidgets").QtWidgets.QMessageBox.StandardButton.No)
    monkeypatch.setattr("gui.paint.panel.QMessageBox.warning", lambda _p, _t, text: warnings.append(text))
    assert not panel.import_labels_from(str(tmp_path / "odd.png"))
    assert warnings and "1 of 4096 pixels" in warnings[0]
    assert panel.import_labels_from(str(tmp_path / "odd.png"), nearest=True)
    assert np.array_equal(session.labels(), labels)


@needs_spade
def test_open_recipe_loads_the_model_and_restores_the_seed(qtbot, make_window, real_engine, tmp_path):
    window = make_window(real_engine)
    paint = _load_paint_model(qtbot, window, dict(SPADE_OPTIONS))
    session = paint.session
    session.set_seed(77)
    qtbot.waitUntil(lambda: session.last is not None and session.last.seed == 77, timeout=60_000)
    out = tmp_path / "seed77.png"
    paint.panel.export_image_to(str(out))
    recipe = paint.panel.open_recipe_from(str(out))

    # a fresh window with nothing loaded: the recipe brings the model and the seed back
    other = make_window(real_engine)
    other_paint = other.workspace("Paint")
    other_paint.open_recipe(recipe)
    qtbot.waitUntil(lambda: other_paint.session.model is not None, timeout=60_000)
    assert other_paint.session.seed == 77 and other_paint.session.model_options == dict(SPADE_OPTIONS)


@needs_spade
def test_overlay_view_blends_the_render_under_the_labels(qtbot, make_window, real_engine):
    window = make_window(real_engine)
    paint = _load_paint_model(qtbot, window, dict(SPADE_OPTIONS))
    qtbot.waitUntil(lambda: paint.session.last is not None, timeout=60_000)
    paint.panel.view_combo.setCurrentIndex(1)
    paint.panel.opacity_slider.setValue(30)
    view = paint.view
    assert view.mode == "overlay" and not view.output_view.isVisibleTo(view)
    assert view.label_view.overlay_image is paint.session.last.image and view.label_view.label_opacity == 0.3


def test_image_to_image_model_translates_the_document_image(qtbot, make_window, real_engine):
    path = compat_root() / "pix2pix_cyclegan" / "cyclegan_resnet" / "latest_net_G_A.pth"
    if not path.is_file():
        pytest.skip("no CycleGAN fixture")
    window = make_window(real_engine)
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, 32:] = (200, 120, 40)
    window.document.replace_image(image, "test image")
    paint = window.workspace("Paint")
    window.model_loader.load(str(path))
    qtbot.waitUntil(lambda: paint.session.model is not None, timeout=60_000)
    assert paint.session.translates_images and paint.session.label_layer() is None
    qtbot.waitUntil(lambda: paint.session.last is not None, timeout=60_000)
    expected = real_engine.submit(SynthesizeRequest(ModelRef(str(path)), image)).result(60)
    assert np.array_equal(paint.session.last.image, expected.image)


@needs_spade
def test_reopening_a_document_loads_its_paint_model_with_its_options_and_seed(qtbot, make_window, real_engine,
                                                                             tmp_path):
    from engine.ora import read_ora

    options = dict(SPADE_OPTIONS)
    window = make_window(real_engine, shutdown=lambda: None)
    paint = _load_paint_model(qtbot, window, options)
    paint.session.brush.class_index = 4
    paint.session.begin_stroke(20, 20)
    paint.session.end_stroke(30, 30)
    paint.style_panel.seed_spin.setValue(4242)
    path = tmp_path / "work.ora"
    assert window.files.save_document(str(path))
    saved, _ = read_ora(path)
    assert saved.state["paint"]["model"] == str(SPADE_SEG) and saved.state["paint"]["model_options"] == options

    again = make_window(real_engine, shutdown=lambda: None)
    session = again.workspace("Paint").session
    assert session.model is None
    assert again.files.open_document(str(path))
    qtbot.waitUntil(lambda: session.model is not None, timeout=60_000)
    assert session.model.path == str(SPADE_SEG) and session.model_options == options  # no question asked
    assert session.seed == 4242 and again.workspace("Paint").style_panel.seed_spin.value() == 4242
    assert (session.labels() == 4).sum() > 0 and not again.document.is_modified
    qtbot.waitUntil(lambda: session.last is not None and session.last.seed == 4242, timeout=60_000)
