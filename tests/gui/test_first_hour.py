"""Small things of the first hour: loading a model is not an edit; [ ] move the Size slider;
Help > Keyboard shortcuts lists every shortcut."""

from __future__ import annotations

from PySide6.QtCore import Qt

from engine.types import ModelSummary


def _paint_summary(path="/models/seg.pth"):
    return ModelSummary(path=path, family="spade", source_format="spade-official",
                        config={"label_nc": 8, "crop_size": 32}, parameter_count=10, networks=("netG",),
                        capabilities=("synthesize",))


def test_loading_a_model_does_not_mark_the_document_changed(qtbot, make_window, fake_engine):
    window = make_window(fake_engine)
    paint = window.workspace("paint")
    paint.use_model(_paint_summary())
    assert window.document.document is not None and paint.session.label_layer() is not None
    assert not window.document.is_modified and not window.isWindowModified()
    paint.session.set_labels(paint.session.labels() + 1)  # a real edit still counts
    assert window.document.is_modified


def test_bracket_keys_move_the_size_slider(qtbot, make_window, fake_engine):
    window = make_window(fake_engine)
    paint = window.workspace("paint")
    paint.use_model(_paint_summary())
    slider = paint.panel.size_slider
    before = slider.value()
    qtbot.keyClick(paint.view.label_view, Qt.Key.Key_BracketRight)
    assert slider.value() == round(paint.session.brush.size) > before
    for _ in range(40):
        qtbot.keyClick(paint.view.label_view, Qt.Key.Key_BracketLeft)
    assert paint.session.brush.size == slider.minimum() == slider.value()


def test_help_lists_every_shortcut(qtbot, make_window, fake_engine):
    from PySide6.QtGui import QAction, QKeySequence

    window = make_window(fake_engine)
    dialog = window.show_shortcuts()
    qtbot.addWidget(dialog)
    listed = {keys for _where, _what, keys in dialog.rows}
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            if not key.isEmpty() and action.text():
                assert any(key.toString(QKeySequence.SequenceFormat.NativeText) in keys for keys in listed), action.text()
    paint_keys = {k.shortcut().toString() for k in window.workspace("paint").panel.tool_buttons.values()}
    assert paint_keys <= listed
    assert "[ / ]" in listed and dialog.table.rowCount() == len(dialog.rows)


def test_label_set_chooser_names_the_classes_of_a_loaded_model(qtbot, make_window, fake_engine, tmp_path):
    import json

    from engine import labelsets

    window = make_window(fake_engine)
    paint = window.workspace("paint")
    summary = ModelSummary(path="/models/city.pth", family="spade", source_format="spade-official",
                           config={"label_nc": 35, "crop_size": 32}, parameter_count=10, networks=("netG",),
                           capabilities=("synthesize",))
    paint.use_model(summary)
    panel = paint.panel
    combo = panel.label_set_combo
    assert combo.isEnabled()
    assert [combo.itemData(i) for i in range(1, 1 + len(labelsets.BUILTIN_NAMES))] == list(labelsets.BUILTIN_NAMES)
    assert panel.choose_label_set("cityscapes")
    expected = labelsets.builtin("cityscapes")
    assert paint.session.palette.names[7] == expected.name_of(7)
    assert combo.currentData() == "cityscapes" and paint.session.model_options["label_set"] == "cityscapes"
    assert not panel.choose_label_set("ade20k")  # 150 classes for a 35-class model: refused, nothing changes
    assert "35" in panel.message.text() and paint.session.palette.names[7] == expected.name_of(7)
    custom = tmp_path / "mine.json"
    data = expected.to_dict()
    data["name"] = "mine"
    data["classes"] = [dict(c, name=f"thing {c['index']}") for c in data["classes"]]
    custom.write_text(json.dumps(data))
    assert panel.choose_label_set(str(custom))
    assert paint.session.palette.names[3] == "thing 3" and combo.currentData() == str(custom)


def test_a_workspaces_open_given_another_family_says_so_and_offers_where_it_belongs(qtbot, make_window, fake_engine,
                                                                                    monkeypatch):
    fake_engine.worker._handler = lambda request, ctx: ModelSummary(
        path=request.model.path, family="spade", source_format="spade-official", config={"label_nc": 8},
        parameter_count=1, networks=("netG",), capabilities=("label_map",))  # every file loads as a Paint model
    window = make_window(fake_engine)
    upscale, paint = window.workspace("upscale"), window.workspace("paint")
    asked, answers, messages = [], [False, True], []
    window.model_loader.status.connect(lambda text, _ms: messages.append(text))

    def confirm(requested_by, other, summary):
        asked.append((requested_by, other, window.current_workspace()))
        return answers.pop(0)

    monkeypatch.setattr(window.model_loader, "confirm_other_workspace", confirm)
    window.show_workspace(upscale)
    upscale.request_model("/models/seg.pth")
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert asked[0][:2] == (upscale, paint)
    assert paint.session.model is None and window.current_workspace() is upscale  # no silent jump
    assert "cannot run" in messages[-1] and "Upscale" in messages[-1]
    upscale.request_model("/models/seg.pth")
    qtbot.waitUntil(lambda: paint.session.model is not None, timeout=10_000)
    assert window.current_workspace() is paint


def _sized_summary(path, size):
    return ModelSummary(path=path, family="spade", source_format="spade-official",
                        config={"label_nc": 8, "crop_size": size}, parameter_count=10, networks=("netG",),
                        capabilities=("synthesize",))


def test_a_paint_model_of_another_size_adapts_the_document_asking_before_resampling(qtbot, make_window, fake_engine):
    import numpy as np

    from gui.paint.session import RenderRecord

    window = make_window(fake_engine)
    paint = window.workspace("paint")
    session = paint.session
    paint.use_model(_sized_summary("/m/a.pth", 32))
    assert (window.document.document.height, window.document.document.width) == (32, 32)
    paint.use_model(_sized_summary("/m/b.pth", 16))  # nothing painted yet: resized without a question
    assert window.document.document.width == 16 and not window.document.is_modified

    labels = session.labels().copy()
    labels[:8, :8] = 3
    session.set_labels(labels)
    asked = []
    session.confirm_resample = lambda old, new: asked.append((old, new)) or False
    paint.use_model(_sized_summary("/m/c.pth", 32))  # painted: asked; declined keeps the size and the work
    assert asked == [((16, 16), (32, 32))] and window.document.document.width == 16
    assert (session.labels()[:8, :8] == 3).all()
    session.last = RenderRecord(image=np.zeros((32, 32, 3), np.uint8), seed=1)
    assert "scaled" in session.send_to_layer()  # Send works: the render is scaled to the document
    assert window.document.document.layers[-1].size == (16, 16)

    session.confirm_resample = lambda old, new: True
    paint.use_model(_sized_summary("/m/d.pth", 32))
    doc = window.document.document
    assert doc.width == 32 and all(layer.size == (32, 32) for layer in doc.layers)
    assert (session.labels()[:16, :16] == 3).all() and set(np.unique(session.labels())) <= {0, 3}
    window.document.undo_stack.undo()  # one step brings the old size back
    assert window.document.document.width == 16


def test_paint_renders_show_progress_in_the_view_and_can_be_cancelled(qtbot, make_window, fake_engine):
    import numpy as np

    from engine.types import SynthesizeRequest

    started = []

    def handle(request, ctx):
        if isinstance(request, SynthesizeRequest):
            started.append(request)
            ctx.progress(0.25, "a quarter")
            for _ in range(500):  # a long render that stops at the next safe point when cancelled
                ctx.check_cancelled()
                fake_engine.release.wait(0.01)
            return None
        return fake_engine._handle(request, ctx)

    fake_engine.worker._handler = handle
    window = make_window(fake_engine)
    window.show()
    paint = window.workspace("paint")
    window.show_workspace(paint)
    paint.use_model(_sized_summary("/m/a.pth", 16))
    session, overlay = paint.session, paint.view.progress_overlay
    session.set_labels(np.full((16, 16), 2, np.int32))
    session.render_now()
    qtbot.waitUntil(lambda: bool(started) and overlay.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: overlay.bar.maximum() == 1000 and overlay.bar.value() == 250, timeout=10_000)
    messages = []
    session.status.connect(messages.append)
    overlay.cancel_button.click()
    qtbot.waitUntil(lambda: not overlay.isVisible(), timeout=10_000)
    assert session.last is None and any("cancelled" in m for m in messages)
