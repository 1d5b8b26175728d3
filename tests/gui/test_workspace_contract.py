"""The Workspace contract: the window knows a workspace only through it, so one table entry adds one."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

import gui.main_window
from gui.workspaces.base import Workspace
from gui.workspaces.table import WORKSPACES


class ProbeWorkspace(Workspace):
    """A workspace written only against the contract; records what the window asks of it."""

    TITLE = "Probe"
    KEY = "probe"

    def __init__(self, bridge, document_model, parent=None):
        super().__init__(bridge, document_model, parent)
        self.view = QLabel("probe view")
        panel = QLabel("probe panel")
        panel.TITLE = "Probe"
        panel.setObjectName("probePanel")
        self.panels = [panel]
        self.used: list[tuple[str, dict]] = []
        self.restored: list[dict] = []

    def accepts(self, summary):
        return summary.path.endswith(".probe")

    def use_model(self, summary, options=None):
        self.used.append((summary.path, dict(options or {})))

    def capture_state(self, document):
        if self.used:
            document.state["probe"] = {"model": self.used[-1][0]}

    def restore_state(self, document):
        self.restored.append(dict(document.state.get("probe") or {}))
        return ["probe note"]


def test_one_table_entry_adds_a_workspace_with_view_panel_models_and_state(qtbot, make_window, fake_engine,
                                                                            monkeypatch, tmp_path):
    monkeypatch.setattr(gui.main_window, "WORKSPACES", (ProbeWorkspace,) + tuple(WORKSPACES))
    window = make_window(fake_engine)
    probe = window.workspace("probe")
    assert window.workspace("Probe") is probe and isinstance(probe, ProbeWorkspace)
    titles = [window.views.tabText(i) for i in range(window.views.count())]
    assert "Probe" in titles and window.docks["Probe"].widget() is probe.panels[0]

    window.model_loader.load(str(tmp_path / "a.probe"))
    qtbot.waitUntil(lambda: bool(probe.used), timeout=10_000)
    assert probe.used == [(str(tmp_path / "a.probe"), {})]
    assert window.views.currentWidget() is probe.view

    other = window.model_loader.load(str(tmp_path / "other.pth"))  # not for the probe: it goes elsewhere
    qtbot.waitUntil(lambda: other.future.done(), timeout=10_000)
    qtbot.wait(50)
    probe.request_model(str(tmp_path / "b.probe"), {"scale": 2})  # the workspace's own load request
    qtbot.waitUntil(lambda: len(probe.used) == 2, timeout=10_000)
    assert probe.used[1] == (str(tmp_path / "b.probe"), {"scale": 2})

    window.document.new_document(8, 8)
    path = tmp_path / "probe.ora"
    assert window.files.save_document(str(path))
    again = make_window(fake_engine)
    again_probe = again.workspace("probe")
    assert again.files.open_document(str(path))
    assert again_probe.restored == [{"model": str(tmp_path / "b.probe")}]


def test_every_listed_workspace_implements_the_contract(qtbot, make_window, fake_engine):
    window = make_window(fake_engine)
    assert [type(w) for w in window.workspaces] == list(WORKSPACES)
    keys = [w.KEY for w in window.workspaces]
    assert len(set(keys)) == len(keys)
    for workspace in window.workspaces:
        assert type(workspace).TITLE != Workspace.TITLE and workspace.panels
        for panel in workspace.panels:
            assert window.docks[panel.TITLE].widget() is panel and panel.objectName()


class SecondProbe(ProbeWorkspace):
    TITLE = "Probe 2"
    KEY = "probe2"

    def __init__(self, bridge, document_model, parent=None):
        super().__init__(bridge, document_model, parent)
        self.panels[0].TITLE = "Probe 2"
        self.panels[0].setObjectName("probe2Panel")


def test_a_model_goes_to_the_workspace_that_asked_for_it_when_it_accepts_it(qtbot, make_window, fake_engine,
                                                                             monkeypatch, tmp_path):
    monkeypatch.setattr(gui.main_window, "WORKSPACES", (ProbeWorkspace, SecondProbe) + tuple(WORKSPACES))
    window = make_window(fake_engine)
    first, second = window.workspace("probe"), window.workspace("probe2")
    second.request_model(str(tmp_path / "b.probe"))
    qtbot.waitUntil(lambda: bool(second.used), timeout=10_000)
    window.model_loader.load(str(tmp_path / "c.probe"))  # nobody asked: the first that accepts it
    qtbot.waitUntil(lambda: bool(first.used), timeout=10_000)
    assert [p for p, _ in first.used] == [str(tmp_path / "c.probe")]
    assert [p for p, _ in second.used] == [str(tmp_path / "b.probe")]


def test_the_window_modules_never_read_workspace_internals():
    """The window, its file actions and model loading know workspaces only through the contract."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "gui"
    for name in ("main_window.py", "file_actions.py", "model_loading.py"):
        text = (root / name).read_text(encoding="utf-8")
        assert not re.search(r"\.session\b", text), name
        assert not re.search(r"TITLE\s*==", text), name
