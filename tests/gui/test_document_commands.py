"""The document package's command base: byte size, release, a new document when none is open;
bookmark steps under the undo memory bound; only gui/document/ swaps documents."""

from __future__ import annotations

import pathlib
import re

import numpy as np

from engine.document import Document, Layer
from gui.document import DocumentModel
from gui.document.commands import PatchCommand
from gui.document.layer_commands import InsertLayerCommand
from gui.latent import library
from gui.latent.library import SetLibraryCommand

SHAPE = (6, 8)  # height, width
PATCH_BYTES = 2 * SHAPE[0] * SHAPE[1] * 4  # before + after of a whole int32 label map


def _patch(model: DocumentModel, layer_id: str, value: int) -> PatchCommand:
    target = lambda: model.document.layer(layer_id).pixels
    before = target().copy()
    target()[...] = value
    return PatchCommand("Paint", target, (0, 0, SHAPE[1], SHAPE[0]), before, target().copy(), notify=lambda rect: None)


def _bookmark_library(model: DocumentModel, key: str) -> dict:
    lib = library.read_library(model.document)
    lib["bookmarks"].append({"id": key, "name": key, "model": "m.pkl", "settings": {}, "ws": key, "thumbnail": None})
    return lib


def test_the_byte_bound_holds_with_bookmark_steps(qtbot):
    model = DocumentModel()
    model.new_document(SHAPE[1], SHAPE[0])
    model.add_layer(Layer(name="L", kind="labels", pixels=np.zeros(SHAPE, np.int32)))
    layer_id = model.document.layers[0].id
    ws = np.ones((16, 64), np.float32)  # 4 KiB, more than the whole bound below
    model.undo_stack.push(SetLibraryCommand(model, _bookmark_library(model, "latent.ws.a"), {"latent.ws.a": ws},
                                            "Add bookmark"))
    model.undo_stack.push(SetLibraryCommand(model, {"bookmarks": [], "directions": []}, {"latent.ws.a": None},
                                            "Remove bookmark"))
    remove_step = model.undo_stack.command(model.undo_stack.count() - 1)
    assert remove_step.nbytes == ws.nbytes  # the removed latent lives only in the history now
    bound = 2 * PATCH_BYTES
    model.set_undo_limits(megabytes=bound / (1 << 20))
    for value in range(1, 6):
        model.undo_stack.push(_patch(model, layer_id, value))
    assert model.undo_memory() <= bound  # the bookmark steps did not pin the steps above them
    assert remove_step.released and remove_step.nbytes == 0 and "history dropped" in remove_step.text()
    while model.undo_stack.canUndo():  # dropped steps are no-ops: undo stops at the oldest kept state
        model.undo_stack.undo()
    assert (model.document.layer(layer_id).pixels == 3).all() and "latent.ws.a" not in model.document.arrays
    while model.undo_stack.canRedo():
        model.undo_stack.redo()
    assert (model.document.layer(layer_id).pixels == 5).all()


def test_a_bookmark_step_can_start_a_document_and_undo_closes_it(qtbot):
    model = DocumentModel()
    ws = np.ones((4, 4), np.float32)
    model.undo_stack.push(SetLibraryCommand(model, {"bookmarks": [], "directions": []}, {"latent.ws.b": ws},
                                            "Add bookmark", new_document=Document(width=8, height=6)))
    assert model.document is not None and model.document.arrays["latent.ws.b"] is ws
    model.undo_stack.undo()
    assert model.document is None
    assert model.undo_stack.command(0).nbytes == ws.nbytes  # held only by the history now
    model.undo_stack.redo()
    assert model.document.arrays["latent.ws.b"] is ws


def test_insert_layer_starts_a_document_when_none_is_open_and_release_drops_the_layer(qtbot):
    model = DocumentModel()
    changes = []
    model.changed.connect(lambda: changes.append(model.document))
    layer = Layer(name="Labels", kind="labels", pixels=np.zeros(SHAPE, np.int32))
    model.add_layer(layer, new_document=Document(width=SHAPE[1], height=SHAPE[0]))
    assert model.document.layers == [layer] and changes[-1] is model.document
    command = model.undo_stack.command(0)
    assert isinstance(command, InsertLayerCommand) and command.nbytes == 0  # the document holds it
    model.undo_stack.undo()
    assert model.document is None and changes[-1] is None
    assert command.nbytes == layer.pixels.nbytes  # only the history holds it now
    command.release()
    assert command.layer is None and command.nbytes == 0
    model.undo_stack.redo()  # a released step is a no-op both ways
    assert model.document is None


def test_only_the_document_package_swaps_documents():
    gui = pathlib.Path(__file__).resolve().parents[2] / "gui"
    offenders = [str(path.relative_to(gui)) for path in gui.rglob("*.py")
                 if path.parent.name != "document" and re.search(r"\._swap\(", path.read_text(encoding="utf-8"))]
    assert offenders == []
