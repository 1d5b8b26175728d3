"""Seed, truncation, mixing and direction changes in the Latent workspace are undoable; a slider
drag is one step; loading a model is none."""

from __future__ import annotations

from gui.document import DocumentModel
from gui.latent.session import LatentSession

from tests.gui.test_latent_session import ScriptedBridge, summary


def _session():
    docs = DocumentModel()
    session = LatentSession(ScriptedBridge(), docs)
    session.set_model(summary())
    return session, docs.undo_stack


def test_loading_a_model_is_not_an_undo_step(qtbot):
    _session_, stack = _session()
    assert stack.count() == 0


def test_seed_and_truncation_changes_undo_and_redo(qtbot):
    session, stack = _session()
    start_seed, start_psi = session.settings.seed, session.settings.psi
    session.set_seed(start_seed + 5)
    session.set_psi(0.5)
    assert stack.count() == 2 and stack.undoText() == "Latent: Truncation"
    stack.undo()
    assert session.settings.psi == start_psi and session.settings.seed == start_seed + 5
    stack.undo()
    assert session.settings.seed == start_seed
    stack.redo()
    stack.redo()
    assert session.settings.seed == start_seed + 5 and session.settings.psi == 0.5
    assert stack.count() == 2  # undo/redo record nothing new


def test_a_slider_drag_is_one_step(qtbot):
    session, stack = _session()
    start = session.settings.psi
    for psi in (0.9, 0.8, 0.7, 0.6):
        session.set_psi(psi)
    for amount in (0.5, 1.0, 1.5):
        session.set_direction(0, amount)
    assert [stack.text(i) for i in range(stack.count())] == ["Latent: Truncation", "Latent: Directions"]
    stack.undo()
    assert session.settings.pca.get(0, 0.0) == 0.0 and session.settings.psi == 0.6
    stack.undo()
    assert session.settings.psi == start


def test_style_mixing_is_undoable(qtbot):
    session, stack = _session()
    source = session.add_mix_source(seed=7)
    assert session.settings.mix and stack.undoText() == "Latent: Style mixing"
    while stack.canUndo():
        stack.undo()
    assert session.settings.mix == []
    stack.redo()
    assert [m.seed for m in session.settings.mix] == [source.seed]
