"""Bookmarks and saved directions, kept in the open document (so they travel with the work).

They live in ``document.state["latent"]`` (JSON-able) with their vectors in ``document.arrays``::

    {"bookmarks": [{"id", "name", "model", "settings": LatentSettings.to_dict(),
                    "ws": ARRAY_KEY, "thumbnail": ARRAY_KEY}, ...],
     "directions": [{"name", "model", "components": [{"vector": ARRAY_KEY, "strength": float,
                                                     "layer_start": int, "layer_end": int|None}]}, ...]}

Every change is one undoable :class:`SetLibraryCommand` on the document's undo stack. The
nested dicts are never changed in place (documents share them shallowly after an image
replace), only replaced.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtGui import QUndoCommand

from engine.document import Document

STATE_KEY = "latent"
ARRAY_PREFIX = "latent."


@dataclass(frozen=True)
class DirectionComponent:
    """One part of a saved direction: move w along ``vector`` by ``strength`` on layers [start, end)."""

    vector: np.ndarray
    strength: float
    layer_start: int = 0
    layer_end: int | None = None


@dataclass(frozen=True)
class SavedDirection:
    name: str
    model: str
    components: tuple[DirectionComponent, ...]


@dataclass(frozen=True)
class Bookmark:
    id: str
    name: str
    model: str
    settings: dict[str, Any]
    ws: np.ndarray | None
    thumbnail: np.ndarray | None


def new_key(kind: str) -> str:
    return f"{ARRAY_PREFIX}{kind}.{uuid.uuid4().hex[:10]}"


def read_library(document: Document | None) -> dict[str, Any]:
    """The document's latent library (an empty one when there is none)."""
    if document is None:
        return {"bookmarks": [], "directions": []}
    library = document.state.get(STATE_KEY) or {}
    return {"bookmarks": list(library.get("bookmarks", [])), "directions": list(library.get("directions", []))}


def bookmarks(document: Document | None) -> list[Bookmark]:
    arrays = document.arrays if document is not None else {}
    return [Bookmark(id=str(entry["id"]), name=str(entry["name"]), model=str(entry.get("model", "")),
                     settings=dict(entry.get("settings", {})), ws=arrays.get(entry.get("ws")),
                     thumbnail=arrays.get(entry.get("thumbnail")))
            for entry in read_library(document)["bookmarks"]]


def saved_directions(document: Document | None) -> list[SavedDirection]:
    arrays = document.arrays if document is not None else {}
    out = []
    for entry in read_library(document)["directions"]:
        parts = tuple(DirectionComponent(arrays[c["vector"]], float(c["strength"]), int(c["layer_start"]),
                                         None if c.get("layer_end") is None else int(c["layer_end"]))
                      for c in entry.get("components", ()) if c.get("vector") in arrays)
        out.append(SavedDirection(str(entry["name"]), str(entry.get("model", "")), parts))
    return out


class SetLibraryCommand(QUndoCommand):
    """Replace the document's latent library and set/remove arrays; undo puts them back.

    With no document open, ``new_document`` (an empty one of the render's size) is opened first.
    """

    def __init__(self, document_model, library: dict[str, Any], arrays: dict[str, np.ndarray | None],
                 text: str, new_document: Document | None = None):
        super().__init__(text)
        self._docs = document_model
        self._new_document = new_document if document_model.document is None else None
        self._library = copy.deepcopy(library)
        self._arrays = dict(arrays)
        self._old_library: Any = None
        self._old_arrays: dict[str, np.ndarray | None] = {}

    def redo(self) -> None:
        if self._new_document is not None:
            self._docs._swap(self._new_document, self._docs.path)
        doc = self._docs.document
        self._old_library = doc.state.get(STATE_KEY)
        self._old_arrays = {key: doc.arrays.get(key) for key in self._arrays}
        doc.state[STATE_KEY] = copy.deepcopy(self._library)
        _set_arrays(doc, self._arrays)
        self._docs.changed.emit()

    def undo(self) -> None:
        doc = self._docs.document
        if self._old_library is None:
            doc.state.pop(STATE_KEY, None)
        else:
            doc.state[STATE_KEY] = self._old_library
        _set_arrays(doc, self._old_arrays)
        if self._new_document is not None:
            self._docs._swap(None, self._docs.path)
        else:
            self._docs.changed.emit()


def _set_arrays(doc: Document, arrays: dict[str, np.ndarray | None]) -> None:
    for key, value in arrays.items():
        if value is None:
            doc.arrays.pop(key, None)
        else:
            doc.arrays[key] = value
