"""Documents in the main window: Layers and History docks, .ora open/save, drops, autosave and recovery."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from engine.document import Document, Layer
from engine.ora import read_ora, write_ora
from gui.autosave import find_recoverable


@pytest.fixture
def warnings_shown(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: shown.append((title, text)))
    return shown


def opaque(value, shape=(16, 24)):
    pixels = np.full(shape + (4,), value, np.uint8)
    pixels[..., 3] = 255
    return pixels


def layered_document() -> Document:
    doc = Document(width=24, height=16)
    doc.insert(Layer(name="Photo", kind="image", pixels=opaque(40)))
    doc.insert(Layer(name="Labels", kind="labels", pixels=np.arange(16 * 24, dtype=np.int32).reshape(16, 24) % 5,
                     label_set="generic-5"))
    doc.insert(Layer(name="Render", kind="image", pixels=opaque(200), opacity=0.5, recipe={"seed": 7, "tool": "paint"}))
    doc.state["paint"] = {"seed": 7}
    return doc


def test_layers_panel_mirrors_the_document_and_edits_undoably(qtbot, make_window, fake_engine, tmp_path):
    window = make_window(fake_engine)
    path = tmp_path / "doc.ora"
    write_ora(path, layered_document())
    assert window.files.open_document(str(path))
    panel = window.layers_panel
    names = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert names == ["Render", "Labels", "Photo"]  # top first
    assert not window.document.is_modified and window.windowTitle().startswith("doc.ora[*]")

    item = panel.list.item(0)
    item.setCheckState(Qt.CheckState.Unchecked)  # the visibility checkbox
    assert not window.document.document.layers[2].visible
    assert window.isWindowModified() and window.document.undo_stack.undoText() == "Hide layer 'Render'"
    panel.list.setCurrentRow(0)
    panel.opacity_slider.setValue(80)
    panel.opacity_slider.setValue(20)
    assert window.document.document.layers[2].opacity == 0.2
    panel.lock_check.setChecked(True)
    panel.duplicate_button.click()
    assert [l.name for l in window.document.document.layers][-1] == "Render copy"
    panel.list.currentItem().setText("Second render")  # what an in-place rename does
    panel.down_button.click()
    panel.delete_button.click()
    panel.add_actions["mask"].trigger()
    assert [l.kind for l in window.document.document.layers] == ["image", "labels", "mask", "image"]  # above the selection
    history = window.history_panel.view
    assert history.model().rowCount() == window.document.undo_stack.count() + 1
    while window.document.undo_stack.index() > 1:
        window.undo_action.trigger()
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == ["Render", "Labels", "Photo"]
    assert not window.isWindowModified()


def test_save_as_ora_and_reopen_restores_everything(qtbot, make_window, fake_engine, tmp_path, monkeypatch):
    window = make_window(fake_engine)
    source = tmp_path / "in.ora"
    write_ora(source, layered_document())
    window.files.open_document(str(source))
    window.document.set_layer_opacity(window.document.document.layers[0].id, 0.75)
    target = str(tmp_path / "out.ora")
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (target[:-4], "ora"))
    assert window.files.save_as()  # the .ora ending is added
    assert window.document.path == target and not window.isWindowModified()
    assert window.windowTitle().startswith("out.ora")
    assert target in window.settings.recent_files()
    window.rebuild_recent_menu()
    assert window.recent_menu.actions()[0].text() == "out.ora  (document)"
    doc, warnings = read_ora(target)
    assert warnings == [] and doc.layers[0].opacity == 0.75 and doc.layers[2].recipe == {"seed": 7, "tool": "paint"}

    png = str(tmp_path / "flat.png")
    assert window.files.export_image(png)
    assert not window.isWindowModified() and window.document.path == target  # exporting is not saving
    labels = str(tmp_path / "labels.png")
    assert window.files.export_label_map(labels)
    from engine.labelsets import read_index_png

    np.testing.assert_array_equal(read_index_png(labels), doc.layers[1].pixels)


def test_opening_a_broken_document_keeps_the_current_one(qtbot, make_window, fake_engine, tmp_path, warnings_shown):
    window = make_window(fake_engine)
    window.document.replace_image(opaque(9)[..., :3], new_document=True)
    bad = tmp_path / "bad.ora"
    bad.write_bytes(b"PK\x03\x04 not really")
    assert not window.files.open_image(str(bad))  # .ora goes to open_document
    assert warnings_shown and warnings_shown[0][0] == "Could not open document" and "bad.ora" in warnings_shown[0][1]
    assert window.document.composite()[0, 0, 0] == 9


def _drop(window, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_dropping_an_image_adds_a_layer_and_a_checkpoint_loads(qtbot, make_window, fake_engine, tmp_path):
    window = make_window(fake_engine)
    window.document.replace_image(opaque(9), new_document=True)
    picture = tmp_path / "sticker.png"
    Image.fromarray(np.full((8, 4, 3), 250, np.uint8)).save(picture)
    _drop(window, picture)
    layers = window.document.document.layers
    assert [l.name for l in layers] == ["Image", "sticker.png"]
    assert layers[1].pixels.shape == (16, 24, 4) and layers[1].pixels[8, 12, 0] == 250 and layers[1].pixels[0, 0, 3] == 0
    window.undo_action.trigger()
    assert len(window.document.document.layers) == 1

    _drop(window, "/models/dropped.safetensors")
    qtbot.waitUntil(lambda: window.models_panel.has_model, timeout=10_000)


def test_closing_with_unsaved_layers_asks(qtbot, make_window, fake_engine, monkeypatch):
    window = make_window(fake_engine, confirm_close=True)
    window.show()
    window.document.new_document(8, 8)
    window.document.new_layer("labels")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Cancel)
    assert not window.close()
    assert asked and window.isVisible()
    window.confirm_close = False


def test_autosave_then_crash_then_recover(qtbot, make_window, fake_engine, tmp_path, monkeypatch):
    folder = tmp_path / "recovery"
    first = make_window(fake_engine, recovery_folder=str(folder))
    assert not first.files.check_recovery()  # nothing to recover at its start (what its start-up timer does)
    path = tmp_path / "work.ora"
    write_ora(path, layered_document())
    first.files.open_document(str(path))
    first.document.new_layer("mask", name="Hole")
    first.document.set_layer_opacity(first.document.document.layers[0].id, 0.5)
    assert first.files.autosaver.autosave_now()
    assert first.files.autosaver.wait()
    autosave = first.files.autosaver.ora_path
    assert autosave.exists() and not first.files.autosaver.autosave_now()  # nothing changed since
    assert find_recoverable(folder) == []  # its window is still running
    expected, _ = read_ora(autosave)

    first.files.autosaver.abandon()  # the process "dies": no clean exit, the files stay
    offers = []

    def accept(parent, title, text, *args, **kwargs):
        offers.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", accept)
    second = make_window(fake_engine, recovery_folder=str(folder))
    qtbot.waitUntil(lambda: second.document.document is not None, timeout=5_000)
    assert offers and "'work.ora'" in offers[0] and "did not close properly" in offers[0]
    recovered = second.document.document
    from tests.helpers import assert_documents_equal

    assert_documents_equal(expected, recovered)
    assert [l.name for l in recovered.layers][-1] == "Hole" and recovered.layers[0].opacity == 0.5
    assert second.document.path == str(path) and second.isWindowModified()
    assert not autosave.exists()  # taken over by the new window
    second.close()
    assert os.listdir(folder) == []  # a clean exit leaves nothing behind


def test_saving_removes_the_autosave(qtbot, make_window, fake_engine, tmp_path):
    window = make_window(fake_engine)
    window.document.new_document(8, 8)
    window.document.new_layer("image")
    assert window.files.autosaver.autosave_now() and window.files.autosaver.wait()
    assert window.files.autosaver.ora_path.exists()
    assert window.files.save_document(str(tmp_path / "saved.ora"))
    assert not window.files.autosaver.ora_path.exists()


def test_reopening_a_document_whose_models_are_gone_opens_it_and_says_so(qtbot, make_window, fake_engine, tmp_path,
                                                                         warnings_shown):
    doc = layered_document()
    gone = str(tmp_path / "moved-away" / "latest_net_G.pth")
    doc.state["paint"] = {"model": gone, "model_options": {"label_nc": 8}, "seed": 3, "style_path": None}
    doc.state["latent_model"] = {"model": str(tmp_path / "ffhq.pkl"), "model_options": {}, "settings": {"psi": 0.5}}
    path = tmp_path / "work.ora"
    write_ora(path, doc)
    window = make_window(fake_engine)
    loads = []
    window.load_model = lambda *args, **kwargs: loads.append(args)
    assert window.files.open_document(str(path))
    assert [l.name for l in window.document.document.layers] == ["Photo", "Labels", "Render"]
    message = window.statusBar().currentMessage()
    assert "Opened work.ora" in message and f"Paint model {gone} is not there" in message
    assert "ffhq.pkl is not there" in message and "File > Open model" in message
    assert loads == [] and warnings_shown == [] and not window.document.is_modified
