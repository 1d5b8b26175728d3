"""DocumentModel + commands: replacing the image is undoable and never loses the previous one."""

from __future__ import annotations

import numpy as np

from engine.document import Document, Layer
from gui.document import DocumentModel


def rgb(value, shape=(3, 5)):
    return np.full(shape + (3,), value, np.uint8)


def test_replace_image_undo_redo(qtbot):
    model = DocumentModel()
    changes = []
    model.changed.connect(lambda: changes.append(model.composite()))
    assert not model.has_image and model.composite() is None and not model.is_modified

    model.replace_image(rgb(10), text="First", path="/tmp/first.png", new_document=True)
    model.replace_image(rgb(20), text="Second")
    assert model.composite()[0, 0, 0] == 20 and model.is_modified
    assert model.path == "/tmp/first.png"  # replacing the layer keeps the file
    assert model.undo_stack.undoText() == "Second"

    model.undo_stack.undo()
    assert model.composite()[0, 0, 0] == 10
    model.undo_stack.undo()
    assert model.composite() is None and model.path is None
    model.undo_stack.redo()
    model.undo_stack.redo()
    assert model.composite()[0, 0, 0] == 20
    assert len(changes) == 6


def test_replacing_same_sized_image_keeps_other_layers(qtbot):
    model = DocumentModel()
    model.replace_image(rgb(10), new_document=True)
    labels = Layer(name="Labels", kind="labels", pixels=np.ones((3, 5), np.int32))
    model.document.insert(labels, 0)
    old_document = model.document

    model.replace_image(rgb(99))
    assert [layer.kind for layer in model.document.layers] == ["labels", "image"]
    assert model.document.layers[0] is labels
    assert old_document.top("image").pixels[0, 0, 0] == 10  # the old document is untouched, for undo


def test_different_size_starts_a_new_document(qtbot):
    model = DocumentModel()
    model.replace_image(rgb(10), new_document=True)
    model.replace_image(rgb(30, shape=(8, 8)))
    assert (model.document.width, model.document.height) == (8, 8)
    model.undo_stack.undo()
    assert (model.document.width, model.document.height) == (5, 3)


def test_mark_saved_makes_clean_and_sets_path(qtbot):
    model = DocumentModel()
    modified = []
    model.modified_changed.connect(modified.append)
    model.replace_image(rgb(1), new_document=True)
    model.mark_saved("/tmp/out.png")
    assert not model.is_modified and model.path == "/tmp/out.png" and model.display_name == "out.png"
    assert modified == [True, False]


def test_rgba_with_transparency_composites(qtbot):
    model = DocumentModel()
    image = np.zeros((2, 2, 4), np.uint8)
    image[0, 0] = (255, 0, 0, 255)
    model.replace_image(image, new_document=True)
    out = model.composite()
    assert out.shape == (2, 2, 4) and out[0, 0, 3] == 255 and out[1, 1, 3] == 0
    assert isinstance(model.document, Document)


def test_upscaled_image_keeps_label_and_mask_layers_resized(qtbot):
    model = DocumentModel()
    model.replace_image(rgb(10), new_document=True)
    labels = np.arange(15, dtype=np.int32).reshape(3, 5)
    model.document.insert(Layer(name="Labels", kind="labels", pixels=labels), 0)
    model.document.insert(Layer(name="Mask", kind="mask", pixels=labels > 7))
    model.replace_image(rgb(30, shape=(6, 10)), text="Upscale ×2", recipe={"tool": "upscale"})
    doc = model.document
    assert [l.kind for l in doc.layers] == ["labels", "image", "mask"] and (doc.width, doc.height) == (10, 6)
    np.testing.assert_array_equal(doc.layers[0].pixels[::2, ::2], labels)
    np.testing.assert_array_equal(doc.layers[2].pixels[::2, ::2], labels > 7)
    assert doc.layers[1].recipe == {"tool": "upscale"}
    model.undo_stack.undo()
    assert model.document.width == 5 and model.document.layers[0].pixels is labels
