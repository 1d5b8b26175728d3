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

from engine.document import Document
from gui.document.commands import DocumentCommand

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


class SetLibraryCommand(DocumentCommand):
    """Replace the document's latent library and set/remove arrays; undo puts them back.

    With no document open, ``new_document`` (an empty one of the render's size) is opened first.
    Its ``nbytes`` are the arrays (latents, thumbnails) only this step keeps alive, and ``release``
    forgets them, so bookmark steps fall under the undo memory bound like any other.
    """

    def __init__(self, document_model, library: dict[str, Any], arrays: dict[str, np.ndarray | None],
                 text: str, new_document: Document | None = None):
        super().__init__(text, document_model, new_document)
        self._library = copy.deepcopy(library)
        self._arrays = dict(arrays)
        self._old_library: Any = None
        self._old_arrays: dict[str, np.ndarray | None] = {}

    @property
    def nbytes(self) -> int:
        document = self._model.document
        alive = {id(array) for array in document.arrays.values()} if document is not None else set()
        held = {id(array): array for array in (*self._arrays.values(), *self._old_arrays.values())
                if array is not None and id(array) not in alive}
        return sum(int(array.nbytes) for array in held.values())

    def _forget(self) -> None:
        self._library, self._arrays, self._old_library, self._old_arrays = None, {}, None, {}

    def apply(self) -> None:
        doc = self._document()
        self._old_library = doc.state.get(STATE_KEY)
        self._old_arrays = {key: doc.arrays.get(key) for key in self._arrays}
        doc.state[STATE_KEY] = copy.deepcopy(self._library)
        _set_arrays(doc, self._arrays)

    def revert(self) -> None:
        doc = self._document()
        if self._old_library is None:
            doc.state.pop(STATE_KEY, None)
        else:
            doc.state[STATE_KEY] = self._old_library
        _set_arrays(doc, self._old_arrays)


def _set_arrays(doc: Document, arrays: dict[str, np.ndarray | None]) -> None:
    for key, value in arrays.items():
        if value is None:
            doc.arrays.pop(key, None)
        else:
            doc.arrays[key] = value
