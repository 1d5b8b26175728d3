"""RecipeOpener: the one routine that restores a recipe (or a saved document's model) in Paint and Latent."""

from __future__ import annotations

import pytest

from engine.errors import EngineError
from gui.recipes import RecipeOpener


class Workspace:
    """Records what the opener asks of a workspace."""

    def __init__(self, current=None):
        self.current = current
        self.requested, self.applied, self.said = [], [], []
        self.opener = RecipeOpener("paint", lambda: self.current, lambda p, o: self.requested.append((p, o)),
                                   self.said.append)


def test_the_current_model_applies_at_once_and_another_one_loads_first(tmp_path):
    model, other = tmp_path / "a.pth", tmp_path / "b.pth"
    model.write_bytes(b"x")
    other.write_bytes(b"x")
    ws = Workspace(current=(str(model), {"label_nc": 8}))
    assert ws.opener.open({"model": str(model), "model_options": {"label_nc": 8}}, "now", ws.applied.append)
    assert ws.applied == ["now"] and ws.requested == []
    # same file, other options: it must be loaded again with them
    assert not ws.opener.open({"model": str(model), "model_options": {"label_nc": 9}}, "later", ws.applied.append)
    assert ws.requested == [(str(model), {"label_nc": 9})] and ws.applied == ["now"]
    assert not ws.opener.open({"model": str(other)}, "other", ws.applied.append)  # the newest request wins
    assert ws.opener.take(str(model)) is None and ws.opener.take(str(other)) == "other"
    assert ws.opener.take(str(other)) is None  # handed out once
    assert "Loading b.pth" in ws.said[-1]


def test_a_model_that_is_gone(tmp_path):
    gone = str(tmp_path / "gone.pth")
    ws = Workspace(current=None)
    with pytest.raises(EngineError, match="not on this computer"):
        ws.opener.open({"model": gone}, "x", ws.applied.append)
    with pytest.raises(EngineError, match="an unknown model"):
        ws.opener.open({}, "x", ws.applied.append)
    ws.current = (str(tmp_path / "loaded.pth"), {})
    assert ws.opener.open({"model": gone}, "y", ws.applied.append, what="document")
    assert ws.applied == ["y"] and ws.requested == []
    assert "This document was made with gone.pth" in ws.said[-1]
