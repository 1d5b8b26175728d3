"""The contract every workspace (Paint, Latent, Inpaint, Upscale, Train ...) implements.

The main window knows workspaces only through this class: it builds each one listed in
:data:`gui.workspaces.table.WORKSPACES` as ``Workspace(bridge, document_model, parent)``, puts its
:attr:`~Workspace.view` in the central area and its :attr:`~Workspace.panels` in docks, hands a
loaded model to the first workspace whose :meth:`~Workspace.accepts` says yes, connects
:attr:`~Workspace.load_model_requested` to its model loading, and asks every workspace to
:meth:`~Workspace.capture_state` before a save and :meth:`~Workspace.restore_state` after an open.
It never reads a workspace's session.

Adding a workspace: write its package (session, view, panels, a ``Workspace`` subclass) and add
the class to the table. Nothing here imports torch.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from engine.document import Document
from engine.types import ModelSummary

log = logging.getLogger(__name__)


class Workspace(QObject):
    """One workspace: a central view, its dock panels, the models it runs, and what of it a document keeps.

    Subclasses set :attr:`TITLE` (shown on its tab and used to name it to the user) and :attr:`KEY`
    (a stable lower-case id: saved layouts and ``document.state`` keys may use it), build
    :attr:`view` (or leave it None) and :attr:`panels` (widgets with a ``TITLE`` and a stable object
    name) in ``__init__``, and implement :meth:`accepts` and :meth:`use_model`.
    """

    TITLE = "Workspace"
    KEY = "workspace"
    #: True for a workspace that only hands models on to the one that runs them (Train's "Open in
    #: Paint"): its requests go to that workspace without asking "open it there instead?"
    HANDS_MODELS_ON = False
    #: emitted with (path, options dict) when the workspace needs a checkpoint loaded (its own
    #: Open…, a recipe or a saved document naming a model); the loaded model comes back through
    #: :meth:`use_model` when :meth:`accepts` takes it
    load_model_requested = Signal(str, object)

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.docs = document_model
        self.view: QWidget | None = None
        self.panels: list[QWidget] = []

    # ------------------------------------------------------------------ models

    def accepts(self, summary: ModelSummary) -> bool:
        """True when this workspace runs models like ``summary`` (by capability or family)."""
        return False

    def use_model(self, summary: ModelSummary, options: dict[str, Any] | None = None) -> None:
        """Make the freshly loaded ``summary`` (loaded with the official ``options``) this workspace's model."""
        raise NotImplementedError(f"{type(self).__name__} accepts a model but does not say how to use it")

    def request_model(self, path: str, options: dict[str, Any] | None = None) -> None:
        """Ask the window to load ``path`` with ``options`` (emits :attr:`load_model_requested`)."""
        self.load_model_requested.emit(str(path), dict(options or {}))

    # ------------------------------------------------------------------ the document

    def capture_state(self, document: Document) -> None:
        """Write what of this workspace belongs to the work into ``document`` (its ``state`` dict,
        label sets ...) just before it is saved. Default: nothing."""

    def restore_state(self, document: Document) -> list[str]:
        """Bring back what :meth:`capture_state` stored in the freshly opened ``document`` (loading
        its models through :meth:`request_model`). Returns a sentence for each thing that could not
        come back (e.g. a checkpoint that is gone); the document stays open. Default: nothing."""
        return []


@dataclass(frozen=True)
class SavedModel:
    """A model a document recorded for a workspace: checkpoint path, load options, the rest of the entry."""

    path: str
    options: dict[str, Any] = field(default_factory=dict)
    entry: dict[str, Any] = field(default_factory=dict)


def read_saved_model(document: Document, key: str, title: str, notes: list[str]) -> SavedModel | None:
    """The model entry ``document.state[key]`` (``{"model": path, "model_options": {...}, ...}``), or None
    when there is none or its checkpoint is gone (then a sentence naming it for ``title``'s workspace
    is appended to ``notes``)."""
    saved = document.state.get(key)
    if not isinstance(saved, dict) or not saved.get("model"):
        return None
    path = str(saved["model"])
    if not os.path.exists(path):
        log.info("the %s model of the document, %s, is gone", title, path)
        notes.append(f"Its {title} model {path} is not there any more; open it or another one with File > Open model.")
        return None
    options = saved.get("model_options")
    return SavedModel(path, dict(options) if isinstance(options, dict) else {}, dict(saved))
