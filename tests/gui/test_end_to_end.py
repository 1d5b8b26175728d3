"""A user's session end to end, driven offscreen through the GUI on the real engine.

Paint strokes in the Paint workspace, render with a SPADE compat fixture (VAE, so a style image
steers it), pick a style image, send the render to a new layer with its recipe, mask a region
(a mask layer from the Layers panel), upscale ×4 with an SRVGG fixture, save as .ora, close, reopen
in a new window, and check every layer (pixels exact) and recipe came back. Inpainting is skipped:
the Inpaint workspace is still a placeholder panel.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from tests.helpers import compat_root, save_tiny_inpainter

SPADE_VAE = compat_root() / "spade" / "vae" / "latest_net_G.pth"  # latest_net_E.pth next to it
SRVGG = compat_root() / "esrgan" / "SRVGGNetCompact_x4_params.pth"
SPADE_OPTIONS = {"label_nc": 6, "contain_dontcare_label": True, "no_instance": True, "crop_size": 256,
                 "aspect_ratio": 4.0}
needs_fixtures = pytest.mark.skipif(not SPADE_VAE.is_file() or not SRVGG.is_file(),
                                    reason="needs the SPADE VAE and SRVGG compat fixtures")


def _drag(qtbot, view, points):
    viewport = view.viewport()
    to_view = [view.mapFromScene(x, y) for x, y in points]
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=to_view[0])
    for p in to_view[1:]:
        qtbot.mouseMove(viewport, p)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=to_view[-1])


def _settled_render(qtbot, window, session, condition=lambda record: True):
    """The last render, once the paint channel has nothing left to deliver."""
    qtbot.waitUntil(lambda: session.last is not None and condition(session.last), timeout=60_000)
    qtbot.waitUntil(lambda: window.bridge.pending_count == 0, timeout=60_000)
    return session.last


@needs_fixtures
def test_paint_render_style_layer_mask_upscale_save_reopen(qtbot, make_window, real_engine, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    problems = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: problems.append((title, text)))
    window = make_window(real_engine)
    window.resize(1280, 800)
    window.show()
    paint = window.workspace("Paint")
    session = paint.session

    # a SPADE model with a style encoder, as a user loads it (options the file cannot tell)
    window.model_loader.load(str(SPADE_VAE), SPADE_OPTIONS)
    qtbot.waitUntil(lambda: session.model is not None or bool(problems), timeout=60_000)
    assert not problems
    labels = session.label_layer()
    assert labels is not None and labels.pixels.shape == (64, 256)

    # a few strokes with the mouse on the label view
    session.brush.size = 12
    for class_index, stroke in ((1, [(20, 20), (80, 30), (120, 40)]), (3, [(150, 10), (200, 50)]),
                                (5, [(30, 55), (240, 55)])):
        session.brush.class_index = class_index
        _drag(qtbot, paint.view.label_view, stroke)
    painted = session.labels().copy()
    assert {1, 3, 5} <= set(np.unique(painted).tolist())

    # a style image
    style = tmp_path / "style.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3)).astype(np.uint8)).save(style)
    assert paint.style_panel.use_style_file(str(style))
    render = _settled_render(qtbot, window, session, lambda r: r.recipe.get("style") == "image")
    assert render.image.shape[:2] == (64, 256) and render.recipe["style_path"] == str(style)

    # send the render to a new layer, with its recipe
    assert paint.panel.send_to_layer()
    doc = window.document.document
    assert [l.kind for l in doc.layers] == ["labels", "image"]
    assert doc.layers[1].recipe == render.recipe

    # mask a region and inpaint it (Inpaint workspace, a tiny random context encoder)
    inpaint = window.workspace("Inpaint")
    window.model_loader.load(str(save_tiny_inpainter(tmp_path / "ce.safetensors")))
    qtbot.waitUntil(lambda: inpaint.session.model is not None or bool(problems), timeout=60_000)
    assert not problems
    window.layers_panel.list.setCurrentRow(0)
    inpaint.session.set_tool("rect")
    inpaint.session.begin_stroke(100, 10)
    inpaint.session.move_stroke(159, 29)
    inpaint.session.end_stroke(159, 29)
    mask = window.document.document.top("mask").pixels.copy()
    assert mask[10:30, 100:160].all() and mask.sum() == 20 * 60
    before_fill = window.document.document.layers[1].pixels.copy()
    assert inpaint.session.run()
    qtbot.waitUntil(lambda: not inpaint.session.is_running, timeout=60_000)
    assert inpaint.session.apply()
    filled = window.document.document.layers[1].pixels
    assert np.array_equal(filled[~mask], before_fill[~mask]) and not np.array_equal(filled[mask], before_fill[mask])
    qtbot.waitUntil(lambda: window.bridge.pending_count == 0, timeout=60_000)

    # upscale ×4 and apply: every layer follows the new size, the recipe stays with its layer
    upscale = window.workspace("Upscale")
    window.model_loader.load(str(SRVGG))
    qtbot.waitUntil(lambda: upscale.session.model is not None or bool(problems), timeout=60_000)
    assert not problems
    qtbot.waitUntil(lambda: window.bridge.pending_count == 0, timeout=60_000)
    assert upscale.session.run()
    qtbot.waitUntil(lambda: upscale.session.last is not None, timeout=60_000)
    assert upscale.session.apply()
    doc = window.document.document
    assert (doc.width, doc.height) == (1024, 256)
    assert [l.kind for l in doc.layers] == ["labels", "image", "mask"]
    np.testing.assert_array_equal(doc.layers[0].pixels[::4, ::4], painted)  # nearest-neighbour labels
    assert doc.layers[2].pixels[40:120, 400:640].all()
    qtbot.waitUntil(lambda: window.bridge.pending_count == 0, timeout=60_000)

    # save as .ora
    target_path = str(tmp_path / "session.ora")
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (target_path, "ora"))
    window.save_action.trigger()
    assert window.document.path == target_path and not window.isWindowModified()
    assert window.windowTitle().startswith("session.ora")
    saved = window.document.document
    expected = [(l.id, l.name, l.kind, l.visible, l.opacity, l.locked, l.label_set, l.recipe, l.pixels.copy())
                for l in saved.layers]
    state = dict(saved.state)
    assert state["paint"]["style_path"] == str(style) and state["paint"]["model"] == str(SPADE_VAE)

    grab = window.grab()
    grab.save(str(tmp_path / "before_close.png"))
    window.close()

    # reopen in a new window: layers (pixels exact), recipes and state are back
    second = make_window(real_engine)
    second.resize(1280, 800)
    second.show()
    assert second.files.open_document(target_path)
    assert second.docks["Layers"].isVisibleTo(second) and second.windowTitle().startswith("session.ora")
    second.grab().save(str(tmp_path / "reopened.png"))
    reopened = second.document.document
    got = [(l.id, l.name, l.kind, l.visible, l.opacity, l.locked, l.label_set, l.recipe, l.pixels)
           for l in reopened.layers]
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert e[:8] == g[:8]
        assert e[8].dtype == g[8].dtype and np.array_equal(e[8], g[8])
    assert reopened.state == state
    assert reopened.label_sets[saved.layers[0].label_set] == saved.label_sets[saved.layers[0].label_set]
    recipes = [l.recipe for l in reopened.layers if l.recipe]
    assert len(recipes) == 1 and recipes[0]["tool"] == "upscale" and recipes[0]["model"] == str(SRVGG)
    assert recipes[0]["source"] is not None  # the recipe of the layer that was upscaled
    assert not problems
    assert [second.layers_panel.list.item(i).text() for i in range(3)] == [l.name for l in reversed(reopened.layers)]
