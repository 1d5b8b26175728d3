"""Layer operations on the DocumentModel: each one undoable; the undo memory bound; .ora open/save."""

from __future__ import annotations

import numpy as np
import pytest

from engine.document import Layer
from engine.errors import DocumentError
from gui.document import DocumentModel
from gui.document.commands import PatchCommand


def rgba(value, shape=(6, 8)):
    pixels = np.full(shape + (4,), value, np.uint8)
    pixels[..., 3] = 255
    return pixels


@pytest.fixture
def model(qtbot):
    model = DocumentModel()
    model.replace_image(rgba(10), new_document=True, name="Base")
    return model


def snapshot(model):
    return [(l.id, l.name, l.kind, l.visible, l.opacity, l.blend_mode, l.locked, l.pixels.copy())
            for l in model.document.layers]


def same(a, b):
    return len(a) == len(b) and all(x[:7] == y[:7] and np.array_equal(x[7], y[7]) for x, y in zip(a, b))


def test_every_layer_operation_is_one_undo_step(model):
    base = model.document.layers[0].id
    states = [snapshot(model)]  # the state after every step, the open being the first
    operations = [
        lambda: model.new_layer("labels", label_set="generic-3"),
        lambda: model.duplicate_layer(base),
        lambda: model.rename_layer(model.document.layers[1].id, "Copy!"),
        lambda: model.move_layer(model.document.layers[2].id, 0),
        lambda: model.set_layer_visible(base, False),
        lambda: model.set_layer_opacity(model.document.layers[-1].id, 0.25),
        lambda: model.set_layer_locked(model.document.layers[0].id, True),
        lambda: model.set_layer_blend_mode(base, "normal"),  # already normal: no step
        lambda: model.delete_layer(base),
        lambda: model.new_layer("mask"),
        lambda: model.flatten(),
    ]
    for operation in operations:
        count = model.undo_stack.count()
        operation()
        if model.undo_stack.count() > count:
            states.append(snapshot(model))
    assert [l.name for l in model.document.layers] == ["Labels 1", "Flattened", "Mask 1"]
    assert model.document.layers[0].locked and model.document.layers[0].label_set == "generic-3"
    assert model.undo_stack.count() == len(states) == 11
    for expected in reversed(states[:-1]):
        model.undo_stack.undo()
        assert same(snapshot(model), expected)
    for expected in states[1:]:
        model.undo_stack.redo()
        assert same(snapshot(model), expected)


def test_opacity_drag_merges_into_one_step(model):
    layer = model.document.layers[0].id
    for value in (0.9, 0.7, 0.5, 0.3):
        model.set_layer_opacity(layer, value)
    assert model.undo_stack.count() == 2 and model.document.layers[0].opacity == 0.3
    model.undo_stack.undo()
    assert model.document.layers[0].opacity == 1.0


def test_hidden_layers_leave_the_composite(model):
    top = model.add_layer(Layer(name="Top", kind="image", pixels=rgba(200)))
    assert model.composite()[0, 0, 0] == 200
    model.set_layer_visible(top.id, False)
    assert model.composite()[0, 0, 0] == 10
    model.set_layer_visible(top.id, True)
    model.set_layer_opacity(top.id, 0.5)
    assert 100 < model.composite()[0, 0, 0] < 110


def test_bad_blend_mode_is_refused(model):
    with pytest.raises(ValueError):
        model.set_layer_blend_mode(model.document.layers[0].id, "multiply")


def _patch(model, layer_id, value):
    target = lambda: model.document.layer(layer_id).pixels
    before = target().copy()
    target()[...] = value
    return PatchCommand("Paint", target, (0, 0, 8, 6), before, target().copy(), notify=lambda rect: None)


def test_undo_memory_bound_drops_oldest_steps_and_stays_consistent(model):
    labels = model.new_layer("labels")
    model.set_undo_limits(megabytes=(3 * 2 * 48 * 4) / (1 << 20))  # room for 3 patches of 6x8 int32
    for value in range(1, 7):
        model.undo_stack.push(_patch(model, labels.id, value))
    assert model.undo_memory() <= 3 * 2 * 48 * 4
    # the oldest steps that fit no more are no-ops now: undoing everything stops at the oldest kept state
    while model.undo_stack.canUndo():
        model.undo_stack.undo()
    # open, add layer and patches 1..3 were dropped: their effects stay, as if they fell off the stack
    assert (model.document.layer(labels.id).pixels == 3).all()
    texts = [model.undo_stack.text(i) for i in range(model.undo_stack.count())]
    assert sum("history dropped" in t for t in texts) >= 2
    while model.undo_stack.canRedo():
        model.undo_stack.redo()
    assert (model.document.layer(labels.id).pixels == 6).all()


def test_undo_memory_bound_releases_whole_prefix(qtbot):
    model = DocumentModel()
    model.set_undo_limits(megabytes=(2 * 2 * 48 * 4) / (1 << 20))
    model.add_layer(Layer(name="L", kind="labels", pixels=np.zeros((6, 8), np.int32)))
    layer_id = model.document.layers[0].id
    for value in range(1, 6):
        model.undo_stack.push(_patch(model, layer_id, value))
    # the oldest steps (add layer, patches 1..3) were dropped: undoing all leaves patch 3's state
    while model.undo_stack.canUndo():
        model.undo_stack.undo()
    assert (model.document.layer(layer_id).pixels == 3).all()
    assert model.undo_memory() <= 2 * 2 * 48 * 4


def test_step_limit_applies_to_new_histories(qtbot):
    model = DocumentModel()
    model.set_undo_limits(steps=3)
    model.replace_image(rgba(1), new_document=True)
    for value in range(2, 8):
        model.replace_image(rgba(value))
    assert model.undo_stack.count() == 3


def test_save_and_open_ora(model, tmp_path):
    model.new_layer("labels")
    path = str(tmp_path / "doc.ora")
    model.save_ora(path)
    assert not model.is_modified and model.path == path
    other = DocumentModel()
    other.replace_image(rgba(99, (2, 2)), new_document=True)
    warnings = other.open_ora(path)
    assert warnings == [] and not other.is_modified and other.path == path
    assert [l.kind for l in other.document.layers] == ["image", "labels"]
    other.undo_stack.undo()  # the previous document comes back
    assert other.document.width == 2

    bad = tmp_path / "bad.ora"
    bad.write_bytes(b"garbage")
    with pytest.raises(DocumentError):
        other.open_ora(str(bad))
    assert other.document.width == 2


def test_saved_state_dropped_from_history_is_no_longer_clean(qtbot):
    model = DocumentModel()
    model.add_layer(Layer(name="L", kind="labels", pixels=np.zeros((6, 8), np.int32)))
    layer_id = model.document.layers[0].id
    model.undo_stack.push(_patch(model, layer_id, 1))
    model.mark_saved("/tmp/x.ora")
    model.set_undo_limits(megabytes=(2 * 48 * 4) / (1 << 20))  # one patch
    for value in (2, 3):
        model.undo_stack.push(_patch(model, layer_id, value))
    while model.undo_stack.canUndo():
        model.undo_stack.undo()
    assert (model.document.layer(layer_id).pixels == 2).all()
    assert model.is_modified  # what is shown is not what was saved, whatever the stack index
