"""What the Inpaint and Upscale sessions share, without widgets.

:class:`ModelJobSession` keeps the models loaded in this session (newest first, at most
:data:`RECENT_MODELS`) with the options each was loaded with, the chosen one, and the bookkeeping
of one cancellable engine job at a time (a :class:`gui.jobs.TrackedJob`, started by
:meth:`ModelJobSession._submit`) whose result stays in ``last`` until it is applied or discarded.
Nothing here imports torch.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.types import ModelRef, ModelSummary
from gui.jobs import TrackedJob

#: how many loaded models a workspace's model picker remembers
RECENT_MODELS = 8


class ModelJobSession(QObject):
    """Recent models and run/cancel bookkeeping for a workspace that runs a model on the document.

    ``bridge`` is the gui.engine_bridge.EngineBridge; ``document_model`` the gui.document.DocumentModel.
    Signals: ``models_changed()`` (the model list or selection changed); ``running_changed(bool)``;
    ``progress(object, str)`` (fraction in [0, 1] or None, message); ``result_changed(object)``
    (the subclass's record, or None). Subclasses declare ``message`` and implement ``_say``.
    """

    models_changed = Signal()
    running_changed = Signal(bool)
    progress = Signal(object, str)
    result_changed = Signal(object)

    #: what :meth:`discard` says
    DISCARDED_TEXT = "Result discarded."

    def __init__(self, bridge, document_model, parent: QObject | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.docs = document_model
        self.models: list[ModelSummary] = []
        self._options: dict[str, dict[str, Any]] = {}
        self.model: ModelSummary | None = None
        self.last = None
        self.last_message = ""
        self.job = TrackedJob(bridge, self)
        self.job.running_changed.connect(self.running_changed)
        self.job.progress.connect(self.progress)

    def _say(self, text: str, *args) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ models

    def _remember_model(self, summary: ModelSummary, options: dict[str, Any] | None) -> None:
        """Put a freshly loaded model first in :attr:`models` (dropping the oldest) and choose it."""
        self.models = [summary] + [m for m in self.models if m.path != summary.path]
        del self.models[RECENT_MODELS:]
        self._options[summary.path] = dict(options or {})
        self.model = summary

    def _find(self, path: str) -> ModelSummary | None:
        return next((m for m in self.models if m.path == path), None)

    def _ref(self, summary: ModelSummary) -> ModelRef:
        return ModelRef(summary.path, dict(self._options.get(summary.path, {})))

    # ------------------------------------------------------------------ the job

    @property
    def is_running(self) -> bool:
        return self.job.is_running

    def source_image(self) -> np.ndarray | None:
        """The document image as the model will get it (HxWx4 uint8 RGBA), or None when there is none."""
        return self.docs.composite()

    def _submit(self, request, channel: str, on_result: Callable[[Any], None], cancel_text: str,
                *error_args) -> None:
        """Send ``request`` to the engine as the current job (replacing a running one):
        ``on_result(result)`` when it is done; an error (said with ``error_args``) or a cancel
        (said as ``cancel_text``) ends it with a message."""
        self.job.submit(request, channel, on_result,
                        on_error=lambda message, _exc: self._say(message, *error_args),
                        on_cancel=lambda: self._say(cancel_text))

    def cancel(self) -> None:
        self.job.cancel()

    # ------------------------------------------------------------------ the result

    @property
    def result_is_stale(self) -> bool:
        """True when another document was opened since the result was made (Apply will refuse)."""
        return self.last is not None and self.last.document is not self.docs.document

    def discard(self) -> None:
        if self.last is not None:
            self.last = None
            self.result_changed.emit(None)
            self._say(self.DISCARDED_TEXT)
