"""The Latent explorer's state and live rendering, without widgets.

:class:`LatentSession` holds the :class:`~gui.latent.settings.LatentSettings` the panel edits,
turns every change into a ``LatentSampleRequest`` on the engine's ``"latent"`` channel (the
newest request wins, so a slider drag never waits for rendering and always ends on its last
value), and keeps the last result with its recipe.

Between grid seeds (dragging on the image) the latent is the bilinear blend of the four
neighbouring seeds' ws. Those ws come back with every render (``LatentSampleResult.ws``), so the
session asks the engine for each seed once (per truncation and class) and keeps them in a small
cache; the blended ws then goes to the engine as an explicit ``ws``.

Principal directions are requested once per model (the engine caches them per checkpoint).
Bookmarks and saved directions live in the document (:mod:`gui.latent.library`), as undoable edits.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.document import Document, Layer, rgb_to_rgba
from engine.errors import EngineError
from engine.latent_types import (
    NOISE_MODES,
    SEED_MAX,
    DirectionsRequest,
    DirectionsResult,
    LatentDirection,
    LatentSampleRequest,
    LatentSampleResult,
    StyleMix,
    class_mix_vector,
)
from engine.types import ModelRef, ModelSummary
from engine.version import APP_NAME, APP_VERSION
from gui.document.commands import DocumentCommand, ReplaceDocumentCommand
from gui.latent import library
from gui.latent.library import SetLibraryCommand
from gui.latent.model_info import (
    array_from_text,
    array_to_text,
    blend,
    class_names,
    grid_neighbours,
    model_size,
    num_layers,
    preset_range,
    runs,
)
from gui.latent.settings import LatentSettings, MixSource
from gui.recipes import RecipeOpener

log = logging.getLogger(__name__)

LATENT_CHANNEL = "latent"
DIRECTIONS_CHANNEL = "latent.directions"
DIRECTION_COUNT = 10
PSI_RANGE = (-1.0, 2.0)
BIGGAN_PSI_RANGE = (0.02, 1.0)  # BigGAN's truncation scales z and picks BatchNorm statistics: (0, 1]
WS_CACHE_SIZE = 256
THUMBNAIL_SIZE = 64
FPS_WINDOW_S = 2.0


@dataclass
class PrincipalDirections:
    """A model's principal directions of W: ``vectors`` [count, w_dim], ``std`` and ``explained`` [count]."""

    vectors: np.ndarray
    std: np.ndarray
    explained: np.ndarray

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


@dataclass
class LatentRender:
    """The last rendered image and everything needed to make it again."""

    image: np.ndarray
    ws: np.ndarray
    request: LatentSampleRequest
    settings: LatentSettings
    recipe: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    duration_s: float = 0.0


#: QUndoCommand.id() of latent settings steps (consecutive ones of the same kind merge)
LATENT_SETTINGS_COMMAND_ID = 0x4C53  # 'LS'
#: changes of the same kind closer together than this (seconds) are one undo step (a slider drag)
MERGE_WINDOW_S = 1.0


def describe_change(before: LatentSettings, after: LatentSettings) -> str:
    """What Edit > Undo calls a settings change ("Seed", "Truncation", "Style mixing", "Directions" …)."""
    if (before.seed_x, before.seed_y) != (after.seed_x, after.seed_y):
        return "Seed"
    if (before.psi, before.cutoff) != (after.psi, after.cutoff):
        return "Truncation"
    if before.mix != after.mix:
        return "Style mixing"
    if (before.pca, before.pca_layers, before.named) != (after.pca, after.pca_layers, after.named):
        return "Directions"
    if (before.class_index, before.class_mix) != (after.class_index, after.class_mix):
        return "Class"
    return "Latent settings"


class LatentSettingsCommand(DocumentCommand):
    """One undoable change of the Latent workspace's settings (seed, truncation, mixing,
    directions …); consecutive changes of the same kind within :data:`MERGE_WINDOW_S` merge, so a
    slider drag is one step. Pushing it does not re-apply the change (it is already shown)."""

    def __init__(self, session: "LatentSession", before: LatentSettings, after: LatentSettings):
        self.kind = describe_change(before, after)
        super().__init__(f"Latent: {self.kind}")
        self._session = session
        self._before, self._after = before, after
        self._time = time.monotonic()
        self._pushed = False

    def id(self) -> int:
        return LATENT_SETTINGS_COMMAND_ID

    def mergeWith(self, other) -> bool:
        if not isinstance(other, LatentSettingsCommand) or other._session is not self._session:
            return False
        if other.kind != self.kind or other._time - self._time > MERGE_WINDOW_S or self.released:
            return False
        self._after, self._time = other._after, other._time
        return True

    def apply(self) -> None:
        if not self._pushed:  # the push itself: the session already shows it
            self._pushed = True
            return
        self._session.restore_settings(self._after)

    def revert(self) -> None:
        self._session.restore_settings(self._before)


class LatentSession(QObject):
    """Latent exploration of one loaded model.

    ``bridge`` is the gui.engine_bridge.EngineBridge; ``document_model`` the gui.document.DocumentModel.
    Signals: ``settings_changed()`` after any change of :attr:`settings` (widgets re-sync);
    ``rendered(LatentRender)``; ``render_failed(str)``; ``model_changed()``;
    ``directions_changed()`` when principal directions arrive (or fail: :attr:`directions_error`);
    ``library_changed()`` when the document's bookmarks or saved directions change;
    ``thumbnail_ready(int, object)`` (mix source id, HxWx3 image); ``status(str)``;
    ``model_wanted(str, object)`` (path, options) when a recipe needs another model loaded.
    """

    settings_changed = Signal()
    rendered = Signal(object)
    render_failed = Signal(str)
    model_changed = Signal()
    directions_changed = Signal()
    library_changed = Signal()
    thumbnail_ready = Signal(int, object)
    status = Signal(str)
    model_wanted = Signal(str, object)

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.docs = document_model
        self.model: ModelSummary | None = None
        self.model_options: dict[str, Any] = {}
        self.settings = LatentSettings()
        self.layers = 1
        self.classes: list[str] = []
        self.directions: PrincipalDirections | None = None
        self.directions_error: str | None = None
        self.last: LatentRender | None = None
        self.live = True
        self.render_times: collections.deque[float] = collections.deque(maxlen=60)
        self._ws_cache: collections.OrderedDict[tuple, np.ndarray] = collections.OrderedDict()
        self._ws_pending: set[tuple] = set()
        self._thumbnails: dict[tuple, np.ndarray] = {}
        self.recipes = RecipeOpener("latent", self._current_model, self.model_wanted.emit, self.status.emit)
        self.docs.changed.connect(self.library_changed)
        self._recorded: LatentSettings | None = None  # settings of the last undo step (None: no model yet)
        self._restoring = False

    # ------------------------------------------------------------------ model

    @property
    def model_ref(self) -> ModelRef:
        assert self.model is not None
        return ModelRef(self.model.path, dict(self.model_options))

    @property
    def capabilities(self) -> tuple[str, ...]:
        return tuple(self.model.capabilities) if self.model is not None else ()

    @property
    def can_mix_styles(self) -> bool:
        return "style_mixing" in self.capabilities and self.layers > 1

    @property
    def is_conditional(self) -> bool:
        return bool(self.classes)

    @property
    def is_biggan(self) -> bool:
        return self.model is not None and self.model.family == "biggan"

    @property
    def psi_range(self) -> tuple[float, float]:
        """Truncation values this model takes (StyleGAN2: -1..2; BigGAN: (0, 1])."""
        return BIGGAN_PSI_RANGE if self.is_biggan else PSI_RANGE

    @property
    def has_directions(self) -> bool:
        """Principal directions of W exist for StyleGAN2-like models (BigGAN has no W space)."""
        return self.model is not None and "latent" in self.capabilities and not self.is_biggan

    @property
    def has_noise(self) -> bool:
        """Whether the generator has noise inputs (StyleGAN2 does; BigGAN does not)."""
        return self.model is not None and not self.is_biggan

    def set_model(self, summary: ModelSummary, options: dict[str, Any] | None = None) -> None:
        """Use a loaded latent-space model (a ModelSummary from a LoadModelRequest)."""
        same = self.model is not None and self.model.path == summary.path
        self.model = summary
        self.model_options = dict(options or {})
        self.layers = num_layers(summary)
        self.classes = class_names(summary)
        self._ws_cache.clear()
        self._ws_pending.clear()
        self._thumbnails.clear()
        self.directions = None
        self.directions_error = None
        waiting = self.recipes.take(summary.path)  # settings of a recipe or document that asked for this model
        if waiting is not None:
            self.settings = waiting
        elif not same:
            self.settings.pca.clear()
            self.settings.pca_layers.clear()
        self._clamp_settings()
        self._recorded = self.settings.copy()  # loading a model is not an undo step
        self.model_changed.emit()
        self.settings_changed.emit()
        self.request_directions()
        self.render_now()

    def _clamp_settings(self) -> None:
        s = self.settings
        low, high = self.psi_range
        s.psi = min(high, max(low, s.psi))
        if s.cutoff is not None:
            s.cutoff = max(0, min(self.layers, s.cutoff))
        if self.is_conditional:
            s.class_index = min(max(0, s.class_index or 0), len(self.classes) - 1)
            s.class_mix = {k: v for k, v in s.class_mix.items() if 0 <= k < len(self.classes)}
        else:
            s.class_index = None
            s.class_mix = {}
        for source in s.mix:
            source.layers = tuple(k for k in source.layers if 0 <= k < self.layers)
        if not self.can_mix_styles:
            s.mix = []

    # ------------------------------------------------------------------ editing the settings

    def update(self, **changes: Any) -> None:
        """Change settings fields (e.g. ``psi=0.5``) and render."""
        for name, value in changes.items():
            if not hasattr(self.settings, name):
                raise AttributeError(f"LatentSettings has no field {name!r}")
            setattr(self.settings, name, value)
        self._changed()

    def _changed(self) -> None:
        self._record_change()
        self.settings_changed.emit()
        self.render_now()

    def _record_change(self) -> None:
        """Push the change since the last recorded settings as an undo step (none while undoing)."""
        after = self.settings.copy()
        before, self._recorded = self._recorded, after
        if self._restoring or before is None or before == after:
            return
        self.docs.undo_stack.push(LatentSettingsCommand(self, before, after))

    def restore_settings(self, settings: LatentSettings) -> None:
        """Show ``settings`` again (Undo/Redo of a settings step): no new undo step is recorded."""
        self._restoring = True
        try:
            self.settings = settings.copy()
            self._clamp_settings()
            self._recorded = self.settings.copy()
            for source in self.settings.mix:
                self.request_thumbnail(source.id)
            self.settings_changed.emit()
            self.render_now()
        finally:
            self._restoring = False

    def set_seed(self, seed: int) -> None:
        """Jump to ``seed`` (grid position (seed, 0))."""
        seed = int(seed) % (SEED_MAX + 1)
        self.update(seed_x=float(seed), seed_y=0.0)

    def step_seed(self, delta: int) -> None:
        """Next (+1) / previous (-1) seed, from the nearest grid point."""
        self.set_seed(self.settings.seed + int(delta))

    def random_seed(self) -> int:
        seed = random.randrange(SEED_MAX + 1)
        self.set_seed(seed)
        return seed

    def move_on_grid(self, dx: float, dy: float) -> None:
        """Move through the seed grid by (dx, dy) cells (a drag on the image)."""
        self.update(seed_x=self.settings.seed_x + float(dx), seed_y=self.settings.seed_y + float(dy))

    def snap_to_grid(self) -> None:
        """Settle on the nearest seed (end of a drag)."""
        self.update(seed_x=float(round(self.settings.seed_x)), seed_y=float(round(self.settings.seed_y)))

    def set_psi(self, psi: float) -> None:
        low, high = self.psi_range
        self.update(psi=float(min(high, max(low, psi))))
        self.refresh_thumbnails()

    def set_cutoff(self, cutoff: int | None) -> None:
        self.update(cutoff=None if cutoff is None or cutoff >= self.layers else max(0, int(cutoff)))
        self.refresh_thumbnails()

    def set_class(self, index: int) -> None:
        self.update(class_index=int(index))
        self.refresh_thumbnails()

    def set_class_mix(self, weights: dict[int, float]) -> None:
        self.update(class_mix={int(k): max(0.0, float(v)) for k, v in weights.items()})
        self.refresh_thumbnails()

    def set_noise(self, mode: str, seed: int | None = None) -> None:
        if mode not in NOISE_MODES:
            raise ValueError(f"noise mode must be one of {NOISE_MODES}")
        self.update(noise_mode=mode, noise_seed=self.settings.noise_seed if seed is None else int(seed) % (SEED_MAX + 1))

    # style mixing

    def add_mix_source(self, seed: int | None = None, preset: str = "fine") -> MixSource:
        """A new mixing source taking the ``preset`` layers (from a random seed by default)."""
        source = MixSource(seed=random.randrange(SEED_MAX + 1) if seed is None else int(seed))
        self.settings.mix.append(source)
        start, end = preset_range(preset, self.layers)
        self.set_mix_layers(source.id, range(start, end))
        self.request_thumbnail(source.id)
        return source

    def mix_source(self, source_id: int) -> MixSource:
        return next(m for m in self.settings.mix if m.id == source_id)

    def remove_mix_source(self, source_id: int) -> None:
        self.settings.mix = [m for m in self.settings.mix if m.id != source_id]
        self._changed()

    def set_mix_seed(self, source_id: int, seed: int) -> None:
        self.mix_source(source_id).seed = int(seed) % (SEED_MAX + 1)
        self.request_thumbnail(source_id)
        self._changed()

    def set_mix_layers(self, source_id: int, layers) -> None:
        """Give ``layers`` to this source; each layer comes from one seed, so other sources lose them."""
        chosen = tuple(sorted({int(k) for k in layers if 0 <= int(k) < self.layers}))
        for source in self.settings.mix:
            if source.id == source_id:
                source.layers = chosen
            else:
                source.layers = tuple(k for k in source.layers if k not in chosen)
        self._changed()

    # directions

    def set_direction(self, index: int, sd: float) -> None:
        """Principal direction ``index`` at ``sd`` standard deviations."""
        self.settings.pca[int(index)] = float(sd)
        self._changed()

    def set_direction_layers(self, index: int, start: int, end: int | None) -> None:
        self.settings.pca_layers[int(index)] = (int(start), None if end is None or end >= self.layers else int(end))
        self._changed()

    def direction_layers(self, index: int) -> tuple[int, int | None]:
        return self.settings.pca_layers.get(int(index), (0, None))

    def set_named_amount(self, name: str, amount: float) -> None:
        self.settings.named[name] = float(amount)
        self._changed()

    def reset_directions(self) -> None:
        self.settings.pca.clear()
        self.settings.named.clear()
        self._changed()

    def apply_settings(self, settings: LatentSettings) -> None:
        """Take over ``settings`` wholesale (recall a bookmark, open a recipe) and render."""
        self.settings = settings.copy()
        self._clamp_settings()
        for source in self.settings.mix:
            self.request_thumbnail(source.id)
        self._changed()

    # ------------------------------------------------------------------ requests

    def class_vector(self, settings: LatentSettings | None = None) -> np.ndarray | None:
        """The class mix as a ``[classes]`` float32 vector summing to 1 (None: no mixing)."""
        settings = settings or self.settings
        weights = {k: v for k, v in settings.class_weights().items() if 0 <= k < len(self.classes)}
        if not self.is_conditional or len(weights) < 2:
            return None
        return class_mix_vector(len(self.classes), weights)

    def _class_fields(self, settings: LatentSettings) -> dict[str, Any]:
        vector = self.class_vector(settings)
        if vector is not None:
            return {"class_vector": vector}
        return {"class_index": settings.class_index if self.is_conditional else None}

    def _ws_key(self, seed: int, settings: LatentSettings) -> tuple:
        vector = self.class_vector(settings)
        klass = tuple(np.round(vector, 6).tolist()) if vector is not None else settings.class_index
        return (int(seed), float(settings.psi), settings.cutoff, klass)

    def seed_request(self, seed: int, settings: LatentSettings | None = None) -> LatentSampleRequest:
        """One seed alone at the current truncation and class (for its ws and thumbnails)."""
        settings = settings or self.settings
        return LatentSampleRequest(model=self.model_ref, seed=int(seed), psi=settings.psi, cutoff=settings.cutoff,
                                   noise_mode="const", **self._class_fields(settings))

    def mix_entries(self, settings: LatentSettings | None = None) -> tuple[StyleMix, ...]:
        settings = settings or self.settings
        return tuple(StyleMix(seed=source.seed, layer_start=start, layer_end=end)
                     for source in settings.mix for start, end in runs(source.layers))

    def direction_entries(self, settings: LatentSettings | None = None) -> tuple[LatentDirection, ...]:
        """The principal-direction sliders and saved directions as engine directions."""
        settings = settings or self.settings
        out: list[LatentDirection] = []
        if self.directions is not None:
            for index, sd in sorted(settings.pca.items()):
                if sd and 0 <= index < len(self.directions):
                    start, end = settings.pca_layers.get(index, (0, None))
                    out.append(LatentDirection(self.directions.vectors[index], float(sd * self.directions.std[index]),
                                               start, end))
        saved = {d.name: d for d in self.saved_directions()}
        for name, amount in sorted(settings.named.items()):
            if amount and name in saved:
                out.extend(LatentDirection(c.vector, float(c.strength * amount), c.layer_start, c.layer_end)
                           for c in saved[name].components)
        return tuple(out)

    def build_request(self, settings: LatentSettings | None = None) -> LatentSampleRequest | None:
        """The request for ``settings`` (default: the current ones); None without a model, or while
        the ws of the seeds around an off-grid position are still on their way (they are requested)."""
        if self.model is None:
            return None
        settings = settings or self.settings
        seed, ws = settings.seed, None
        if not settings.on_grid:
            blended = self._blended_ws(settings)
            if blended is None:
                return None
            seed, ws = blended
        return LatentSampleRequest(
            model=self.model_ref,
            seed=seed,
            psi=settings.psi,
            cutoff=settings.cutoff,
            noise_mode=settings.noise_mode if self.has_noise else "const",
            noise_seed=settings.noise_seed if self.has_noise else 0,
            mix=self.mix_entries(settings),
            directions=self.direction_entries(settings),
            ws=ws,
            **self._class_fields(settings),
        )

    def _blended_ws(self, settings: LatentSettings) -> tuple[int, np.ndarray | None] | None:
        """(first neighbour seed, bilinear blend of the neighbouring seeds' ws) at an off-grid
        position; None while some of those ws are not known yet (they are asked for)."""
        neighbours = grid_neighbours(settings.seed_x, settings.seed_y)
        if len(neighbours) == 1:
            return neighbours[0][0], None
        keys = [self._ws_key(seed, settings) for seed, _weight in neighbours]
        missing = [(corner, seed) for corner, ((seed, _w), key) in enumerate(zip(neighbours, keys))
                   if key not in self._ws_cache]
        if missing:
            for corner, seed in missing:
                self._fetch_ws(seed, settings, corner)
            return None
        for key in keys:
            self._ws_cache.move_to_end(key)
        return neighbours[0][0], blend([(self._ws_cache[key], weight) for key, (_seed, weight) in zip(keys, neighbours)])

    def _fetch_ws(self, seed: int, settings: LatentSettings, corner: int) -> None:
        """Ask for one seed's ws. One channel per grid corner: while a slider moves off-grid, only
        the newest ask per corner is rendered."""
        key = self._ws_key(seed, settings)
        if key in self._ws_pending:
            return
        self._ws_pending.add(key)
        self.bridge.submit(self.seed_request(seed, settings), f"latent.ws.{corner}",
                           on_result=lambda result, key=key: self._ws_arrived(key, result),
                           on_error=lambda message, _exc, key=key: self._ws_failed(key, message),
                           on_cancel=lambda key=key: self._ws_pending.discard(key))

    def _ws_arrived(self, key: tuple, result: LatentSampleResult) -> None:
        self._ws_pending.discard(key)
        self._store_ws(key, result.ws)
        if not self._ws_pending:
            self.render_now()

    def _ws_failed(self, key: tuple, message: str) -> None:
        self._ws_pending.discard(key)
        self.render_failed.emit(message)

    def _store_ws(self, key: tuple, ws: np.ndarray) -> None:
        self._ws_cache[key] = np.asarray(ws, np.float32)
        self._ws_cache.move_to_end(key)
        while len(self._ws_cache) > WS_CACHE_SIZE:
            self._ws_cache.popitem(last=False)

    # ------------------------------------------------------------------ rendering

    def render_now(self) -> None:
        """Submit the current settings on the ``latent`` channel (the newest request wins)."""
        if not self.live:
            return
        request = self.build_request()
        if request is None:
            return
        settings = self.settings.copy()
        self.bridge.submit(
            request, LATENT_CHANNEL,
            on_result=lambda result, request=request, settings=settings: self._on_result(request, settings, result),
            on_error=lambda message, _exc: self.render_failed.emit(message),
        )

    def _on_result(self, request: LatentSampleRequest, settings: LatentSettings, result: LatentSampleResult) -> None:
        if request.model.path != (self.model.path if self.model else None):
            return
        ws = np.asarray(result.ws, np.float32)
        if ws.ndim == 2 and ws.shape[0] != self.layers and ws.shape[0] > 0:
            self.layers = int(ws.shape[0])  # the config could not tell; the render does
            self.model_changed.emit()
        if request.ws is None and not request.mix and not request.directions:
            self._store_ws(self._ws_key(request.seed, settings), ws)
        record = LatentRender(image=result.image, ws=ws, request=request, settings=settings,
                              notes=tuple(result.notes), duration_s=float(result.duration_s))
        record.recipe = self.recipe(record)
        self.last = record
        self.render_times.append(time.perf_counter())
        self.rendered.emit(record)

    def frames_per_second(self) -> float | None:
        """Renders delivered per second over the last couple of seconds (None when idle)."""
        now = time.perf_counter()
        recent = [t for t in self.render_times if now - t <= FPS_WINDOW_S]
        if len(recent) < 2:
            return None
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else None

    # ------------------------------------------------------------------ thumbnails and directions

    def request_thumbnail(self, source_id: int) -> None:
        """Render a mixing source's seed alone; ``thumbnail_ready`` answers (once per seed and truncation)."""
        if self.model is None:
            return
        source = self.mix_source(source_id)
        key = self._ws_key(source.seed, self.settings)
        if key in self._thumbnails:
            self.thumbnail_ready.emit(source_id, self._thumbnails[key])
            return
        self.bridge.submit(self.seed_request(source.seed), f"latent.thumbnail.{source_id}",
                           on_result=lambda result, key=key: self._thumbnail_arrived(source_id, key, result),
                           on_error=lambda message, _exc: self.status.emit(f"Preview of a mixing seed failed: {message}"))

    def _thumbnail_arrived(self, source_id: int, key: tuple, result: LatentSampleResult) -> None:
        thumb = _thumbnail(result.image)
        self._thumbnails[key] = thumb
        self._store_ws(key, result.ws)
        self.thumbnail_ready.emit(source_id, thumb)

    def refresh_thumbnails(self) -> None:
        for source in self.settings.mix:
            self.request_thumbnail(source.id)

    def request_directions(self) -> None:
        """Ask for the model's principal directions of W (cached per checkpoint by the engine)."""
        if not self.has_directions:
            return
        path = self.model.path
        self.bridge.submit(DirectionsRequest(model=self.model_ref, count=DIRECTION_COUNT), DIRECTIONS_CHANNEL,
                           on_result=lambda result: self._directions_arrived(path, result),
                           on_error=lambda message, _exc: self._directions_failed(path, message))

    def _directions_arrived(self, path: str, result: DirectionsResult) -> None:
        if self.model is None or self.model.path != path:
            return
        self.directions = PrincipalDirections(np.asarray(result.directions, np.float32),
                                              np.asarray(result.std, np.float32),
                                              np.asarray(result.explained, np.float32))
        self.directions_error = None
        self.directions_changed.emit()
        if self.settings.pca:
            self.render_now()

    def _directions_failed(self, path: str, message: str) -> None:
        if self.model is None or self.model.path != path:
            return
        self.directions = None
        self.directions_error = message
        self.directions_changed.emit()

    # ------------------------------------------------------------------ recipes

    def recipe(self, record: LatentRender) -> dict[str, Any]:
        """What made this image: the ``gan-studio sample`` keys plus the full explorer state."""
        assert self.model is not None
        request, settings = record.request, record.settings
        vector = request.class_vector
        used = {name for name, amount in settings.named.items() if amount}
        return {
            "app": APP_NAME,
            "app_version": APP_VERSION,
            "tool": "latent",
            "model": self.model.path,
            "model_family": self.model.family,
            "model_format": self.model.source_format,
            "model_options": dict(self.model_options),
            "seed": int(request.seed),
            "psi": float(request.psi),
            "cutoff": request.cutoff,
            "class": request.class_index,
            "class_vector": None if vector is None else [float(v) for v in vector],
            "noise_mode": request.noise_mode,
            "noise_seed": int(request.noise_seed),
            "mix": [[m.seed, m.layer_start, m.layer_end] for m in request.mix],
            "directions": [{"vector": array_to_text(d.vector), "strength": d.strength,
                            "layer_start": d.layer_start, "layer_end": d.layer_end} for d in request.directions],
            "ws": array_to_text(record.ws),
            "state": settings.to_dict(),
            "named_directions": {
                d.name: [{"vector": array_to_text(c.vector), "strength": c.strength, "layer_start": c.layer_start,
                          "layer_end": c.layer_end} for c in d.components]
                for d in self.saved_directions() if d.name in used
            },
        }

    def export_png(self, path: str) -> str:
        """Write the last render with its recipe (text chunk ``gan_studio_recipe``). Raises OSError/EngineError."""
        from engine.imageio import write_recipe_png

        if self.last is None:
            raise EngineError("Nothing rendered yet: load a latent model first.")
        write_recipe_png(path, self.last.image, self.last.recipe)
        return path

    def _current_model(self) -> tuple[str, dict[str, Any]] | None:
        return None if self.model is None else (self.model.path, dict(self.model_options))

    def open_recipe(self, path: str) -> dict[str, Any]:
        """Restore the explorer from a PNG exported with a recipe; returns the recipe.

        When the recipe names another model, the settings wait for it and ``model_wanted``
        asks for it to be loaded (see :class:`gui.recipes.RecipeOpener`). Raises EngineError
        (unreadable file, no or damaged recipe, its model gone and none loaded).
        """
        from engine.imageio import read_recipe

        name = os.path.basename(path)
        recipe = read_recipe(path, tool="latent")
        try:
            settings = LatentSettings.from_dict(recipe.get("state") or recipe)
            self._import_named_directions(recipe.get("named_directions") or {}, str(recipe.get("model", "")))
        except ValueError as exc:
            raise EngineError(f"The recipe in {name} cannot be used: {exc}") from exc
        self.recipes.open(recipe, settings, self.apply_settings)
        return recipe

    def restore(self, model_path: str, options: dict[str, Any] | None = None,
                settings: dict[str, Any] | None = None) -> None:
        """Show ``model_path`` (loaded with ``options``) with ``settings`` (:meth:`LatentSettings.to_dict`
        output) as a saved document recorded them: applied at once when that model is the loaded one,
        else once it has loaded (``model_wanted`` asks for it). Unusable settings are skipped.
        Raises EngineError when the model is not on this computer and none is loaded."""
        wanted = None
        if settings:
            try:
                wanted = LatentSettings.from_dict(settings)
            except ValueError as exc:
                log.warning("the saved latent settings cannot be used: %s", exc)
        self.recipes.forget()
        self.recipes.open({"model": model_path, "model_options": dict(options or {})}, wanted,
                          lambda chosen: self.apply_settings(chosen) if chosen is not None else None, "document")

    def _import_named_directions(self, named: dict[str, Any], model: str) -> None:
        existing = {d.name for d in self.saved_directions()}
        fresh = {name: parts for name, parts in named.items() if name not in existing}
        if not fresh:
            return
        lib = library.read_library(self.docs.document)
        arrays: dict[str, np.ndarray | None] = {}
        for name, parts in fresh.items():
            components = []
            for part in parts:
                key = library.new_key("direction")
                arrays[key] = array_from_text(part["vector"])
                components.append({"vector": key, "strength": float(part["strength"]),
                                   "layer_start": int(part["layer_start"]), "layer_end": part.get("layer_end")})
            lib["directions"].append({"name": name, "model": model, "components": components})
        self._push_library(lib, arrays, "Add directions from recipe")

    # ------------------------------------------------------------------ the document's library

    def saved_directions(self) -> list[library.SavedDirection]:
        return library.saved_directions(self.docs.document)

    def bookmarks(self) -> list[library.Bookmark]:
        return library.bookmarks(self.docs.document)

    def _push_library(self, lib: dict[str, Any], arrays: dict[str, np.ndarray | None], text: str) -> None:
        new_document = None
        if self.docs.document is None:
            height, width = (self.last.image.shape[:2] if self.last is not None else model_size(self.model) or (256, 256))
            new_document = Document(width=int(width), height=int(height))
        self.docs.undo_stack.push(SetLibraryCommand(self.docs, lib, arrays, text, new_document))

    def add_bookmark(self, name: str) -> library.Bookmark:
        """Bookmark the last render (its settings and exact ws) in the document, undoably."""
        if self.last is None or self.model is None:
            raise EngineError("Nothing rendered yet to bookmark.")
        lib = library.read_library(self.docs.document)
        ws_key, thumb_key = library.new_key("ws"), library.new_key("thumbnail")
        entry = {"id": ws_key.rsplit(".", 1)[-1], "name": name.strip() or f"Seed {self.last.settings.seed}",
                 "model": self.model.path, "settings": self.last.settings.to_dict(), "ws": ws_key, "thumbnail": thumb_key}
        lib["bookmarks"].append(entry)
        self._push_library(lib, {ws_key: self.last.ws.copy(), thumb_key: _thumbnail(self.last.image)},
                           f"Bookmark {entry['name']}")
        return next(b for b in self.bookmarks() if b.id == entry["id"])

    def recall_bookmark(self, bookmark_id: str) -> None:
        bookmark = next(b for b in self.bookmarks() if b.id == bookmark_id)
        settings = LatentSettings.from_dict(bookmark.settings)
        if self.model is not None and bookmark.model and bookmark.model != self.model.path:
            self.status.emit(f"'{bookmark.name}' was made with {os.path.basename(bookmark.model)}; "
                             "its settings are applied to the loaded model.")
        self.apply_settings(settings)

    def rename_bookmark(self, bookmark_id: str, name: str) -> None:
        lib = library.read_library(self.docs.document)
        lib["bookmarks"] = [dict(b, name=name) if b["id"] == bookmark_id else b for b in lib["bookmarks"]]
        self._push_library(lib, {}, f"Rename bookmark to {name}")

    def remove_bookmark(self, bookmark_id: str) -> None:
        lib = library.read_library(self.docs.document)
        gone = [b for b in lib["bookmarks"] if b["id"] == bookmark_id]
        lib["bookmarks"] = [b for b in lib["bookmarks"] if b["id"] != bookmark_id]
        arrays = {key: None for b in gone for key in (b.get("ws"), b.get("thumbnail")) if key}
        self._push_library(lib, arrays, f"Delete bookmark {gone[0]['name'] if gone else ''}")

    def save_direction(self, name: str) -> library.SavedDirection:
        """Save the current principal-direction sliders as one named direction (in the document).

        The sliders go back to zero and the new direction's amount is 1, so the image stays."""
        name = name.strip()
        if not name:
            raise EngineError("Give the direction a name.")
        if any(d.name == name for d in self.saved_directions()):
            raise EngineError(f"There is already a direction called '{name}'; pick another name.")
        if self.directions is None or not any(self.settings.pca.values()):
            raise EngineError("Move one or more direction sliders first; their setting is what gets saved.")
        lib = library.read_library(self.docs.document)
        arrays: dict[str, np.ndarray | None] = {}
        components = []
        for index, sd in sorted(self.settings.pca.items()):
            if not sd or not 0 <= index < len(self.directions):
                continue
            key = library.new_key("direction")
            arrays[key] = self.directions.vectors[index].copy()
            start, end = self.settings.pca_layers.get(index, (0, None))
            components.append({"vector": key, "strength": float(sd * self.directions.std[index]),
                               "layer_start": start, "layer_end": end})
        lib["directions"].append({"name": name, "model": self.model.path if self.model else "", "components": components})
        stack = self.docs.undo_stack
        stack.beginMacro(f"Save direction {name}")  # the library entry and the sliders: one undo step
        try:
            self._push_library(lib, arrays, f"Save direction {name}")
            self.settings.pca.clear()
            self.settings.named[name] = 1.0
            self._changed()
        finally:
            stack.endMacro()
        return next(d for d in self.saved_directions() if d.name == name)

    def delete_direction(self, name: str) -> None:
        lib = library.read_library(self.docs.document)
        gone = [d for d in lib["directions"] if d["name"] == name]
        lib["directions"] = [d for d in lib["directions"] if d["name"] != name]
        arrays = {c["vector"]: None for d in gone for c in d.get("components", ())}
        self.settings.named.pop(name, None)
        self._push_library(lib, arrays, f"Delete direction {name}")
        self._changed()

    # ------------------------------------------------------------------ into the document

    def send_to_document(self) -> str:
        """Put the last render into the document as a new image layer (undoable); returns a message.

        Into the open document when it has the render's size, else as a new document (Undo
        brings the previous one back)."""
        if self.last is None:
            raise EngineError("Nothing rendered yet to send.")
        image = self.last.image
        height, width = image.shape[:2]
        name = f"Latent seed {self.last.settings.seed}"
        layer = Layer(name=name, kind="image", pixels=rgb_to_rgba(image), recipe=dict(self.last.recipe))
        doc = self.docs.document
        if doc is None or (doc.height, doc.width) == (height, width):
            new_document = Document(width=width, height=height) if doc is None else None
            self.docs.add_layer(layer, text="Send latent image to document", new_document=new_document)
            return f"Added '{name}' as a layer of the document."
        fresh = Document(width=width, height=height)
        fresh.insert(layer)
        self.docs.undo_stack.push(ReplaceDocumentCommand(self.docs, fresh, None, "Send latent image to a new document"))
        return (f"The document is {doc.width}×{doc.height} and the image {width}×{height}, so it opened as a new "
                "document; Edit > Undo brings the previous one back.")

    # ------------------------------------------------------------------ interpolation

    def interpolation_requests(self, bookmark_ids: list[str], frames_per_step: int, loop: bool = False) -> list[LatentSampleRequest]:
        """Explicit-ws frames through the bookmarks in order (w lerp; classes blend too)."""
        if self.model is None:
            raise EngineError("Load a latent model first.")
        by_id = {b.id: b for b in self.bookmarks()}
        chosen = [by_id[i] for i in bookmark_ids if i in by_id]
        if len(chosen) < 2:
            raise EngineError("Choose two or more bookmarks to interpolate between.")
        frames_per_step = max(2, int(frames_per_step))
        shapes = {None if b.ws is None else b.ws.shape for b in chosen}
        if None in shapes or len(shapes) != 1 or (self.last is not None and self.last.ws.shape not in shapes):
            raise EngineError("Some of these bookmarks were made with another model; interpolate between "
                              "bookmarks of the loaded model.")
        path = chosen + ([chosen[0]] if loop else [])
        vectors = [self._bookmark_class_vector(b) for b in path]
        psis = [LatentSettings.from_dict(b.settings).psi for b in path]
        requests = []
        for k in range(len(path) - 1):
            last_step = k == len(path) - 2 and not loop
            count = frames_per_step if last_step else frames_per_step - 1
            for t in np.linspace(0.0, 1.0, frames_per_step)[:count]:
                ws = (1 - t) * path[k].ws + t * path[k + 1].ws
                vector = None
                if vectors[k] is not None and vectors[k + 1] is not None:
                    vector = ((1 - t) * vectors[k] + t * vectors[k + 1]).astype(np.float32)
                # psi only matters with an explicit ws where it picks BigGAN's BatchNorm statistics
                psi = float((1 - t) * psis[k] + t * psis[k + 1])
                requests.append(LatentSampleRequest(
                    model=self.model_ref, seed=LatentSettings.from_dict(path[k].settings).seed, psi=psi,
                    ws=ws.astype(np.float32), class_vector=vector,
                    noise_mode=self.settings.noise_mode if self.has_noise else "const",
                    noise_seed=self.settings.noise_seed if self.has_noise else 0))
        return requests

    def _bookmark_class_vector(self, bookmark: library.Bookmark) -> np.ndarray | None:
        if not self.is_conditional:
            return None
        settings = LatentSettings.from_dict(bookmark.settings)
        vector = self.class_vector(settings)
        if vector is None:
            vector = np.zeros(len(self.classes), np.float32)
            vector[min(max(0, settings.class_index or 0), len(self.classes) - 1)] = 1.0
        return vector


def _thumbnail(image: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """A small copy of an HxWx3 uint8 image (longest side ``size``), for lists and previews."""
    height, width = image.shape[:2]
    step = max(1, int(math.ceil(max(height, width) / size)))
    if step == 1:
        return np.ascontiguousarray(image[:, :, :3]).copy()
    from PIL import Image

    small = Image.fromarray(np.ascontiguousarray(image[:, :, :3])).resize(
        (max(1, width * size // max(height, width)), max(1, height * size // max(height, width))), Image.Resampling.BILINEAR)
    return np.asarray(small, np.uint8).copy()
